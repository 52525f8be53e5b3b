/**
 * The Worker's configuration: every var of wrangler.toml's [vars], parsed here and nowhere else into a typed Config.
 * Like nanoGPT's configurator, but strict: a missing or malformed value is refused with a ConfigError that names the
 * var, the value and what is allowed; nothing falls back to a default.
 *
 * configOf(env) parses an env's vars once (production hands every request of an isolate the same env) and returns
 * a Config whose field throws its var's ConfigError when read, so a bad var stops exactly what depends on it: an
 * HTTP request that needs it answers 500 `misconfigured` (src/app.ts), a queue step fails, is recorded and retried
 * (src/index.ts), the watchdog cron fails, and the scheduled run gives it as the reason it started nothing; CORS
 * refuses cross-origin requests while CORS_ORIGINS is bad (src/routes/cors.ts).
 */
import type { Env } from "./env";
import { MAX_PENDING_CAP, pendingCapFrom } from "./storage/feedback";
import { ID_PATTERN } from "./storage/keys";
import { PROMOTE_POLICIES, RunSpecSchema, type RunSpec } from "./training/spec";

/** CORS_ORIGINS, parsed. */
export interface CorsOrigins {
  /** `*` was listed: any origin may call the public routes. */
  readonly anyOrigin: boolean;
  /** Origins listed by name: they may call every route, admin ones included. */
  readonly named: ReadonlySet<string>;
}

/** Every var, parsed. */
export interface Config {
  /** STEP_WORK: example × parameter products per training step (src/training/plan.ts). */
  readonly stepWork: number;
  /** WATCHDOG_STALL_SECONDS: seconds without progress after which the watchdog re-sends a run's step. */
  readonly watchdogStallSeconds: number;
  /** SCHEDULED_RUN_SPEC: the run the daily cron starts, or null for none. */
  readonly scheduledRunSpec: RunSpec | null;
  /** PROMOTE_POLICY: what a finished run's model does to the served one, unless its spec says. */
  readonly promotePolicy: (typeof PROMOTE_POLICIES)[number];
  /** CORS_ORIGINS: who may call the API from a browser on another origin. */
  readonly corsOrigins: CorsOrigins;
  /** FEEDBACK_PENDING_MAX: most corrections waiting for review. */
  readonly feedbackPendingMax: number;
  /** SERVING_DATASET: the dataset whose shape every served model must have. */
  readonly servingDataset: string;
  /** REFRESH_MIN_CORRECTIONS: new accepted training corrections that make the daily cron start a refresh. */
  readonly refreshMinCorrections: number;
  /** REFRESH_MAX_VALIDATION_DROP: most a refresh may lower the validation accuracy (points) and be promoted, however chance would excuse it. */
  readonly refreshMaxValidationDrop: number;
}

/** A var that is missing or malformed; the message names it, its value and what is allowed. */
export class ConfigError extends Error {
  override name = "ConfigError";
  constructor(
    readonly varName: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Largest STEP_WORK: about 27 s of CPU on the slowest path, the JavaScript float64 kernels of `cg` runs (about 1.1e9
 * products per second), under half of limits.cpu_ms; 2–6 s on the WebAssembly kernels.
 */
export const MAX_STEP_WORK = 3e10;

/** A var: its name, what it may be (in words), and its parser, which throws an Error saying what is wrong. */
interface Var<T> {
  readonly name: string;
  readonly allowed: string;
  parse(text: string): T;
}

const DECIMAL = /^[0-9]+(\.[0-9]+)?([eE]\+?[0-9]+)?$/;

/** A number var: decimal digits (an exponent allowed), within what `ok` accepts. */
function numberVar(name: string, allowed: string, ok: (n: number) => boolean): Var<number> {
  return {
    name,
    allowed,
    parse: (text) => {
      const n = DECIMAL.test(text) ? Number(text) : Number.NaN;
      if (!ok(n)) throw new Error(`${name} must be ${allowed}, got ${JSON.stringify(text)}`);
      return n;
    },
  };
}

/**
 * Parses CORS_ORIGINS. Each entry (trimmed) is `*` or an origin exactly as browsers send it: `http` or `https`,
 * lowercase host, optional port, no path, no trailing slash. Empty: no cross-origin access. Throws naming the first
 * bad entry, so that a typo never silently allows or refuses a different origin.
 */
export function parseCorsOrigins(text: string): CorsOrigins {
  const named = new Set<string>();
  let anyOrigin = false;
  if (text.trim() === "") return { anyOrigin, named };
  for (const raw of text.split(",")) {
    const entry = raw.trim();
    if (entry === "*") {
      anyOrigin = true;
      continue;
    }
    let origin: string | null = null;
    try {
      const url = new URL(entry);
      if (url.protocol === "http:" || url.protocol === "https:") origin = url.origin;
    } catch {
      origin = null;
    }
    if (origin !== entry) {
      throw new Error(`CORS_ORIGINS entry ${JSON.stringify(entry)} is not "*" or an origin such as https://app.example.com (http or https, lowercase host, optional port, no path, no trailing slash)`);
    }
    named.add(origin);
  }
  return { anyOrigin, named };
}

/** SCHEDULED_RUN_SPEC: empty for none, else a run spec as JSON, checked as POST /v1/runs checks one. */
function parseScheduledRunSpec(text: string): RunSpec | null {
  if (text.trim() === "") return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new Error(`SCHEDULED_RUN_SPEC is not JSON: ${(e as Error).message}`);
  }
  const result = RunSpecSchema.safeParse(parsed);
  if (!result.success) throw new Error(`SCHEDULED_RUN_SPEC is invalid: ${result.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  return result.data;
}

const VARS: { readonly [K in keyof Config]: Var<Config[K]> } = {
  stepWork: numberVar("STEP_WORK", `a number of example × parameter products > 0 and ≤ ${MAX_STEP_WORK} (2e9 is 0.15–0.4 s of CPU on the WebAssembly kernels)`, (n) => n > 0 && n <= MAX_STEP_WORK),
  watchdogStallSeconds: numberVar("WATCHDOG_STALL_SECONDS", "a whole number of seconds in 30..86400", (n) => Number.isInteger(n) && n >= 30 && n <= 86_400),
  scheduledRunSpec: { name: "SCHEDULED_RUN_SPEC", allowed: "empty (no scheduled run) or a run spec as JSON, as POST /v1/runs takes", parse: parseScheduledRunSpec },
  promotePolicy: {
    name: "PROMOTE_POLICY",
    allowed: PROMOTE_POLICIES.map((p) => `"${p}"`).join(", "),
    parse: (text) => {
      const policy = PROMOTE_POLICIES.find((p) => p === text);
      if (policy === undefined) throw new Error(`PROMOTE_POLICY must be one of ${VARS.promotePolicy.allowed}, got ${JSON.stringify(text)}`);
      return policy;
    },
  },
  corsOrigins: { name: "CORS_ORIGINS", allowed: 'a comma list of "*" and origins such as https://app.example.com, or empty', parse: parseCorsOrigins },
  feedbackPendingMax: { name: "FEEDBACK_PENDING_MAX", allowed: `an integer in 0..${MAX_PENDING_CAP}`, parse: pendingCapFrom },
  servingDataset: {
    name: "SERVING_DATASET",
    allowed: "a dataset name (lowercase letters, digits and dashes, such as mnist)",
    parse: (text) => {
      if (!ID_PATTERN.test(text)) throw new Error(`SERVING_DATASET must be ${VARS.servingDataset.allowed}, got ${JSON.stringify(text)}`);
      return text;
    },
  },
  refreshMinCorrections: numberVar("REFRESH_MIN_CORRECTIONS", "a whole number of corrections in 1..20000", (n) => Number.isInteger(n) && n >= 1 && n <= 20_000),
  refreshMaxValidationDrop: numberVar("REFRESH_MAX_VALIDATION_DROP", "a number of accuracy points in 0..100", (n) => n >= 0 && n <= 100),
};

const KEYS = Object.keys(VARS) as (keyof Config)[];

/** The names of the vars, as in wrangler.toml's [vars]. */
export const VAR_NAMES: readonly string[] = KEYS.map((key) => VARS[key].name);

/** Strings in an env that are not vars: the secrets. */
const SECRETS: readonly string[] = ["ADMIN_TOKEN"];

/** An env, or anything holding vars by name (wrangler.toml's [vars] in tests). */
export type Vars = Partial<Record<keyof Env, unknown>> | Readonly<Record<string, unknown>>;

function parseVar<T>(v: Var<T>, value: unknown): T | ConfigError {
  if (typeof value !== "string") return new ConfigError(v.name, `${v.name} is not set: it must be ${v.allowed} (wrangler.toml [vars])`);
  try {
    return v.parse(value);
  } catch (e) {
    return new ConfigError(v.name, (e as Error).message);
  }
}

/** Every var of `vars` parsed, each field reading as its value or throwing its ConfigError. */
function parseConfig(vars: Readonly<Record<string, unknown>>): Config {
  const config = {};
  for (const key of KEYS) {
    const result = parseVar<unknown>(VARS[key], vars[VARS[key].name]);
    Object.defineProperty(config, key, {
      enumerable: true,
      get: () => {
        if (result instanceof ConfigError) throw result;
        return result;
      },
    });
  }
  const unknown = Object.keys(vars).filter((k) => typeof vars[k] === "string" && !VAR_NAMES.includes(k) && !SECRETS.includes(k));
  if (unknown.length > 0) console.warn(`edgeprop: unknown vars ${unknown.join(", ")} are ignored (the vars are ${VAR_NAMES.join(", ")})`);
  return Object.freeze(config) as Config;
}

const configs = new WeakMap<object, Config>();

/**
 * The config of `env`, parsed once per env object. Reading a field whose var is missing or malformed throws its
 * ConfigError (the same one each time); the other fields read as usual.
 */
export function configOf(env: Vars): Config {
  let config = configs.get(env);
  if (config === undefined) {
    config = parseConfig(env as Readonly<Record<string, unknown>>);
    configs.set(env, config);
  }
  return config;
}
