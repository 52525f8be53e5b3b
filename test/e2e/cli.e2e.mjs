/**
 * The npm scripts as a user runs them (through tsx, as package.json does): `--help`/`-h` print the usage and exit 0;
 * an unknown or misspelt flag and a bad value fail with one line on stderr, no stack trace, exit 2; an unreachable
 * server is named with the hint to run npm start, exit 1, and the server comes from --url, then EDGEPROP_URL, then
 * PORT. Nothing trains and no server is started: each run ends while its arguments are read or at its first request.
 */
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { parseArgs, serverUrl, URL_FLAG, UsageError } from "../../scripts/cli.ts";
import { freePort, ROOT, runScript } from "./server.mjs";


/** Runs `npm run <name>`'s script with `args`. */
const run = runScript;

/** Exactly one line on stderr, and no stack trace. */
function expectOneLine(stderr, pattern) {
  const lines = stderr.trimEnd().split("\n");
  expect(lines, stderr).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(lines[0]).not.toMatch(/\n\s+at |Error:/);
}

const CLIS = [
  { name: "train", script: "train.ts", unknown: ["--epoch", "1", "--bogus", "1"], unknownLine: /^train: unknown flag --epoch: did you mean --epochs\? \(npm run train -- --help\)$/, bad: ["--epochs", "abc"], badLine: /^train: --epochs needs an integer, got "abc"/ },
  { name: "course", script: "course.ts", unknown: ["--iteration", "3"], unknownLine: /^course: unknown flag --iteration: did you mean --iterations\?/, bad: ["--lambda", "-1"], badLine: /^course: --lambda needs a number ≥ 0, got "-1"/ },
  { name: "bench", script: "bench.ts", unknown: ["--bogus", "1"], unknownLine: /^bench: unknown flag --bogus \(npm run bench -- --help\)$/, bad: ["--runs", "1.5"], badLine: /^bench: --runs needs an integer in 1\.\.100, got "1\.5"/ },
  { name: "bench:http", script: "bench-http.ts", unknown: ["--bogus", "1"], unknownLine: /^bench:http: unknown flag --bogus/, bad: ["--n", "many"], badLine: /^bench:http: --n needs an integer in 1\.\.100000, got "many"/ },
  { name: "bench:edge", script: "bench-edge.ts", unknown: ["--run", "3"], unknownLine: /^bench:edge: unknown flag --run: did you mean --runs\?/, bad: ["--runs", "0"], badLine: /^bench:edge: --runs needs an integer in 1\.\.100, got "0"/ },
  { name: "demo:refresh", script: "demo-refresh.ts", unknown: ["--tries", "x.json"], unknownLine: /^demo:refresh: unknown flag --tries \(npm run demo:refresh -- --help\)/, bad: ["--spec"], badLine: /^demo:refresh: --spec needs a value/ },
  { name: "load-mnist", script: "load-mnist.ts", unknown: ["--remote", "--bogus"], unknownLine: /^load-mnist: unknown flag --bogus/, bad: ["--remote=yes"], badLine: /^load-mnist: --remote takes no value/ },
];

describe.concurrent.each(CLIS)("npm run $name", ({ name, script, unknown, unknownLine, bad, badLine }) => {
  test("--help and -h print the same usage, exit 0", async () => {
    const [long, short] = await Promise.all([run(script, ["--help"]), run(script, ["-h"])]);
    expect(long).toMatchObject({ code: 0, stderr: "" });
    expect(long.stdout).toMatch(new RegExp(`^usage: npm run ${name} -- `));
    expect(long.stdout).toMatch(/-h, --help {2,}print this help/);
    expect(short).toEqual(long);
  });

  test("an unknown or misspelt flag: one line, exit 2", async () => {
    const res = await run(script, unknown);
    expect(res.code).toBe(2);
    expectOneLine(res.stderr, unknownLine);
  });

  test("a bad value: one line naming the flag, what it needs and what it got, exit 2", async () => {
    const res = await run(script, bad);
    expect(res.code).toBe(2);
    expectOneLine(res.stderr, badLine);
  });
});

describe.concurrent("an unreachable server", () => {
  const SPEC = ["--layers", "784,16,10", "--optimizer", "adam"];
  const hint = (url) => new RegExp(`cannot reach the edgeprop server at ${url.replaceAll(".", "\\.")} \\(ECONNREFUSED\\): start it with npm start`);

  test.each([["train", "train.ts", SPEC], ["bench:http", "bench-http.ts", []]])("npm run %s names it with the hint to run npm start, exit 1", async (name, script, args) => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const res = await run(script, [...args, "--url", url]);
    expect(res.code).toBe(1);
    expectOneLine(res.stderr, new RegExp(`^${name}: ${hint(url).source}`));
  });

  test("the server is --url, else EDGEPROP_URL, else http://127.0.0.1:$PORT", async () => {
    const [a, b, c] = [await freePort(), await freePort(), await freePort()];
    const [byFlag, byUrl, byPort] = await Promise.all([
      run("bench-http.ts", ["--url", `http://127.0.0.1:${a}`], { EDGEPROP_URL: `http://127.0.0.1:${b}`, PORT: String(c) }),
      run("bench-http.ts", [], { EDGEPROP_URL: `http://127.0.0.1:${b}/`, PORT: String(c) }),
      run("bench-http.ts", [], { PORT: String(c) }),
    ]);
    expect(byFlag.stderr).toMatch(hint(`http://127.0.0.1:${a}`));
    expect(byUrl.stderr).toMatch(hint(`http://127.0.0.1:${b}`));
    expect(byPort.stderr).toMatch(hint(`http://127.0.0.1:${c}`));
  });

  test("a URL or PORT that is not one: one line, exit 2", async () => {
    const [url, port] = await Promise.all([run("train.ts", [...SPEC, "--url", "ftp://x"]), run("bench-http.ts", [], { PORT: "eighty" })]);
    expect([url.code, port.code]).toEqual([2, 2]);
    expectOneLine(url.stderr, /^train: --url must be an http\(s\) URL such as http:\/\/127\.0\.0\.1:8787, got "ftp:\/\/x"/);
    expectOneLine(port.stderr, /^bench:http: PORT must be a port number \(1\.\.65535\), got "eighty"/);
  });
});

describe("scripts/cli.ts", () => {
  test("with no --url, EDGEPROP_URL or PORT, the server is http://127.0.0.1:8787", () => {
    expect(serverUrl(undefined, {})).toBe("http://127.0.0.1:8787");
  });

  test("values are typed and defaulted by the table; a flag given twice or without its value is refused", () => {
    const command = { name: "t", about: "", flags: { url: URL_FLAG, n: { type: "integer", min: 1, default: 3, help: "" }, ids: { type: "integers", help: "" }, on: { type: "boolean", help: "" } } };
    expect(parseArgs(command, ["--ids=1,2", "--on"])).toEqual({ flags: { url: undefined, n: 3, ids: [1, 2], on: true }, positional: null });
    expect(() => parseArgs(command, ["--n", "1", "--n", "2"])).toThrow(new UsageError("--n is given twice"));
    expect(() => parseArgs(command, ["--n"])).toThrow(new UsageError("--n needs a value (--n N)"));
  });
});
