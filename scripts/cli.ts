/**
 * The scripts' one argument parser. Each script declares its flags in a table (name, type, help text, default), and
 * both its usage text and the checks of what it is given come from that table.
 *
 * Exit codes: 0 done (and `--help`/`-h`, which print the usage); 2 a usage error (an unknown or misspelt flag, a
 * missing or bad value, a bad argument), one line on stderr; 1 a failure while running (an API error, a server that
 * cannot be reached, a run that did not succeed), one line on stderr, no stack trace.
 */
import { existsSync, readFileSync } from "node:fs";
import { EdgepropError, UnreachableError } from "../src/client";

/** How a flag's value is read: `boolean` flags take none; `integers` is a comma list such as 784,128,10. */
export type FlagType = "string" | "number" | "integer" | "integers" | "boolean";

/** One flag of a script's table. */
export interface Flag {
  readonly type: FlagType;
  readonly help: string;
  /** The value's placeholder in the usage, e.g. URL or N. */
  readonly value?: string;
  readonly default?: string | number | boolean;
  /** Bounds of a number, an integer, or each of the integers (inclusive). */
  readonly min?: number;
  readonly max?: number;
  /** The values a string may take. */
  readonly choices?: readonly string[];
}

/** A script: its name (as `npm run <name>`), what it does, its flags, and its positional argument if it takes one. */
export interface Command<F extends Record<string, Flag>> {
  readonly name: string;
  readonly about: string;
  readonly flags: F;
  readonly positional?: { readonly name: string; readonly help: string };
}

type ValueOf<T extends FlagType> = T extends "number" | "integer" ? number : T extends "integers" ? number[] : T extends "boolean" ? boolean : string;

/** The parsed flags: a flag with a default (and every boolean) always has a value. */
export type Values<F extends Record<string, Flag>> = {
  -readonly [K in keyof F]: F[K] extends { default: unknown } | { type: "boolean" } ? ValueOf<F[K]["type"]> : ValueOf<F[K]["type"]> | undefined;
};

/** What a script was given: its flags and its positional argument (null when none). */
export interface Args<F extends Record<string, Flag>> {
  flags: Values<F>;
  positional: string | null;
}

/** A mistake in how the script was called: reported as one line, exit 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** Declares a script (keeps the flag table's literal types, from which the parsed values are typed). */
export const defineCommand = <const F extends Record<string, Flag>>(command: Command<F>): Command<F> => command;

/** The --url flag of the scripts that talk to a server. */
export const URL_FLAG = {
  type: "string", value: "URL", help: "the edgeprop server (default: $EDGEPROP_URL, else http://127.0.0.1:$PORT, else http://127.0.0.1:8787)",
} as const satisfies Flag;

/** The --token flag of scripts that call admin routes. */
export const TOKEN_FLAG = { type: "string", value: "TOKEN", help: "the admin token (default: $ADMIN_TOKEN, else ADMIN_TOKEN in .dev.vars)" } as const satisfies Flag;

/** --token, else $ADMIN_TOKEN, else ADMIN_TOKEN in .dev.vars (what npm start writes). */
export function adminToken(token: string | undefined): string | undefined {
  if (token !== undefined) return token;
  if (process.env.ADMIN_TOKEN) return process.env.ADMIN_TOKEN;
  if (existsSync(".dev.vars")) return /^ADMIN_TOKEN=(.*)$/m.exec(readFileSync(".dev.vars", "utf8"))?.[1]?.trim();
  return undefined;
}

/** The server a script talks to: --url, else EDGEPROP_URL, else http://127.0.0.1:$PORT, else http://127.0.0.1:8787. */
export function serverUrl(url: string | undefined, env: Record<string, string | undefined> = process.env): string {
  const [from, value] = url !== undefined ? ["--url", url] : env.EDGEPROP_URL ? ["EDGEPROP_URL", env.EDGEPROP_URL] : env.PORT ? ["PORT", env.PORT] : ["", "8787"];
  if (from === "PORT" || from === "") {
    const port = Number(value);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`PORT must be a port number (1..65535), got ${JSON.stringify(value)}`);
    return `http://127.0.0.1:${port}`;
  }
  let parsed: URL | null = null;
  try {
    parsed = new URL(value);
  } catch {
    parsed = null;
  }
  if (parsed === null || (parsed.protocol !== "http:" && parsed.protocol !== "https:")) {
    throw new UsageError(`${from} must be an http(s) URL such as http://127.0.0.1:8787, got ${JSON.stringify(value)}`);
  }
  return value.replace(/\/+$/, "");
}

/** `--name VALUE` as the usage shows it. */
const flagSyntax = (name: string, flag: Flag): string => (flag.type === "boolean" ? `--${name}` : `--${name} ${flag.value ?? (flag.type === "string" ? "TEXT" : "N")}`);

/** The usage text: how to call the script, what it does, and every flag with its help and default. */
export function usage<F extends Record<string, Flag>>(command: Command<F>): string {
  const positional = command.positional ? ` [${command.positional.name}]` : "";
  const rows: [string, string][] = [
    ...(command.positional ? [[command.positional.name, command.positional.help] as [string, string]] : []),
    ...Object.entries(command.flags).map(([name, flag]): [string, string] => {
      const choices = flag.choices ? ` (${flag.choices.join(", ")})` : "";
      const fallback = flag.default === undefined || flag.type === "boolean" ? "" : ` [default: ${String(flag.default)}]`;
      return [flagSyntax(name, flag), `${flag.help}${choices}${fallback}`];
    }),
    ["-h, --help", "print this help"],
  ];
  const width = Math.max(...rows.map(([left]) => left.length));
  return [`usage: npm run ${command.name} --${positional} [flags]`, "", command.about, "", ...rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`)].join("\n");
}

/** Levenshtein distance, for "did you mean". */
function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length];
}

/** "unknown flag --epoch: did you mean --epochs?" */
function unknownFlag(command: Command<Record<string, Flag>>, given: string): UsageError {
  const name = given.replace(/^-+/, "").split("=")[0];
  const close = Object.keys(command.flags).filter((known) => distance(name, known) <= Math.max(1, Math.floor(known.length / 4)) || known.startsWith(name));
  const hint = close.length > 0 ? `: did you mean ${close.map((k) => `--${k}`).join(" or ")}?` : "";
  return new UsageError(`unknown flag ${given.split("=")[0]}${hint}`);
}

/** A flag's value, read and checked as its type says; throws UsageError naming the flag, what it needs and what it got. */
function readValue(name: string, flag: Flag, text: string): string | number | number[] {
  const range = flag.min !== undefined && flag.max !== undefined ? ` in ${flag.min}..${flag.max}` : flag.min !== undefined ? ` ≥ ${flag.min}` : flag.max !== undefined ? ` ≤ ${flag.max}` : "";
  const inRange = (n: number) => (flag.min === undefined || n >= flag.min) && (flag.max === undefined || n <= flag.max);
  const number = (s: string) => (s.trim() === "" ? NaN : Number(s));
  switch (flag.type) {
    case "number":
    case "integer": {
      const n = number(text);
      const ok = flag.type === "number" ? Number.isFinite(n) : Number.isSafeInteger(n);
      if (!ok || !inRange(n)) throw new UsageError(`--${name} needs ${flag.type === "number" ? "a number" : "an integer"}${range}, got ${JSON.stringify(text)}`);
      return n;
    }
    case "integers": {
      const list = text.split(",").map(number);
      if (!list.every((n) => Number.isSafeInteger(n) && inRange(n))) {
        throw new UsageError(`--${name} needs integers${range} separated by commas, e.g. ${flag.value ?? "1,2,3"}; got ${JSON.stringify(text)}`);
      }
      return list;
    }
    default:
      if (flag.choices !== undefined && !flag.choices.includes(text)) throw new UsageError(`--${name} must be one of ${flag.choices.join(", ")}; got ${JSON.stringify(text)}`);
      return text;
  }
}

/**
 * Parses `argv` (without node and the script) by the command's table: `--flag value`, `--flag=value`, a boolean
 * `--flag`, and at most one positional argument if the command takes one. Throws UsageError for anything else.
 */
export function parseArgs<F extends Record<string, Flag>>(command: Command<F>, argv: readonly string[]): Args<F> {
  const flags: Record<string, unknown> = {};
  let positional: string | null = null;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith("-") || arg === "-") {
      if (command.positional === undefined) throw new UsageError(`unexpected argument ${JSON.stringify(arg)}: this script takes flags only`);
      if (positional !== null) throw new UsageError(`unexpected argument ${JSON.stringify(arg)}: only one ${command.positional.name} is taken`);
      positional = arg;
      continue;
    }
    const [name, inline] = arg.startsWith("--") && arg.includes("=") ? [arg.slice(2, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg.slice(2), undefined];
    const flag = arg.startsWith("--") && Object.hasOwn(command.flags, name) ? command.flags[name] : undefined;
    if (flag === undefined) throw unknownFlag(command, arg);
    if (name in flags) throw new UsageError(`--${name} is given twice`);
    if (flag.type === "boolean") {
      if (inline !== undefined) throw new UsageError(`--${name} takes no value`);
      flags[name] = true;
      continue;
    }
    const text = inline ?? (argv[i + 1] !== undefined && !argv[i + 1].startsWith("--") ? argv[++i] : undefined);
    if (text === undefined) throw new UsageError(`--${name} needs a value (${flagSyntax(name, flag)})`);
    flags[name] = readValue(name, flag, text);
  }
  for (const [name, flag] of Object.entries(command.flags)) {
    if (!(name in flags)) flags[name] = flag.type === "boolean" ? false : flag.default;
  }
  return { flags: flags as Values<F>, positional };
}

/** The one line a failure is reported with, and the exit code. */
function failure(command: Command<Record<string, Flag>>, error: unknown): [string, number] {
  const name = command.name;
  if (error instanceof UsageError) return [`${name}: ${error.message} (npm run ${name} -- --help)`, 2];
  if (error instanceof UnreachableError) {
    return [`${name}: cannot reach the edgeprop server at ${error.url} (${error.reason}): start it with npm start, or pass --url (or set EDGEPROP_URL)`, 1];
  }
  if (error instanceof EdgepropError) return [`${name}: the server answered ${error.status} ${error.code}: ${error.message}`, 1];
  return [`${name}: ${error instanceof Error ? error.message : String(error)}`, 1];
}

/**
 * Runs a script: `--help`/`-h` print the usage (exit 0); otherwise parses the arguments and calls `main`. A failure
 * (usage, or while running) is reported as one line on stderr with exit code 2 (usage) or 1.
 */
export async function runCommand<F extends Record<string, Flag>>(command: Command<F>, main: (args: Args<F>) => Promise<void> | void, argv = process.argv.slice(2)): Promise<void> {
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log(usage(command));
    return;
  }
  try {
    await main(parseArgs(command, argv));
  } catch (error) {
    const [line, code] = failure(command as unknown as Command<Record<string, Flag>>, error);
    console.error(line);
    process.exitCode = code;
  }
}
