/**
 * `npm run stress:chain -- [flags]`: the training chain under stress, to reproduce (or rule out) a wedged local
 * queue. It starts `npm start` (scripts/start.mjs, so wrangler dev exactly as a developer runs it) on a free port with
 * its own state, busy-loop processes beside it, then starts short runs one right after another while it plays the
 * page (GET /v1/runs/:id every second, /units every 2.5 s) and the local cron (POST /v1/cron/watchdog). Every line
 * wrangler prints is logged with its time; each step's time is printed, and a run that makes no progress for
 * --wedge-seconds is reported with the log lines around it. Run with --help for the flags.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { freePort, ROOT } from "./wrangler-dev";

const HELP = `npm run stress:chain -- [flags]

  --runs N             runs to start one after another (20)
  --load N             busy-loop processes beside the server (2)
  --step-work X        STEP_WORK of the server, example x parameter products per step (2e7: many short steps)
  --spec JSON          a run spec; give several to cycle through them, a file name to read one
                       (default '{"layers":[784,32,10],"optimizer":{"name":"adam"},"epochs":1,"trainLimit":5000}')
  --stall-seconds S    WATCHDOG_STALL_SECONDS of the server (60, as npm start)
  --watchdog-every S   seconds between POST /v1/cron/watchdog calls (60, as npm start)
  --wedge-seconds S    a run without progress (step, attempt or error) this long is reported as wedged (45)
  --give-up-seconds S  stop waiting for a wedged run to end this long after it was reported (300)
  --max-wedges N       stop after N wedged runs (2: the first, and whether a new run gets through after it)
  --no-page            no page traffic (run and units polling)
  --loopback-keepalive MS  idle timeout of miniflare's loopback connections (npm start: 0, none; 5000 is
                       miniflare's stock value, which can wedge the queue: see scripts/loopback-keepalive.cjs)
  --log FILE           every server line with its time (stress-chain.log)
  --help               this text

Exit code: 0 when every run succeeded, 1 when one failed or wedged.

Examples:
  npm run stress:chain -- --runs 150
      many short runs with the page's traffic (about 1 s a run)
  npm run stress:chain -- --no-page --step-work 8e9 --runs 20 --spec specs/mnist-98.json
      steps of about 5 s on a busy machine, the loopback idle in between: with --loopback-keepalive 5000
      (miniflare's stock) the queue wedged in the 2nd run here; with npm start's setting it does not
  npm run stress:chain -- --loopback-keepalive 100 --stall-seconds 20 --watchdog-every 15 --wedge-seconds 20
      the same race made frequent: a wedge within a few runs, and the watchdog's report of it`;

interface Options {
  runs: number; load: number; stepWork: string; specs: string[]; stallSeconds: number; watchdogEvery: number;
  wedgeSeconds: number; giveUpSeconds: number; page: boolean; log: string; loopbackKeepalive: number | null; maxWedges: number;
}

function parseOptions(argv: string[]): Options {
  const o: Options = {
    runs: 20, load: 2, stepWork: "2e7", specs: [],
    stallSeconds: 60, watchdogEvery: 60, wedgeSeconds: 45, giveUpSeconds: 300, page: true, log: "stress-chain.log", loopbackKeepalive: null, maxWedges: 2,
  };
  const numeric: Record<string, keyof Options> = {
    "--runs": "runs", "--load": "load", "--stall-seconds": "stallSeconds", "--watchdog-every": "watchdogEvery",
    "--wedge-seconds": "wedgeSeconds", "--give-up-seconds": "giveUpSeconds", "--loopback-keepalive": "loopbackKeepalive",
    "--max-wedges": "maxWedges",
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--help") {
      console.log(HELP);
      process.exit(0);
    } else if (a === "--no-page") o.page = false;
    else if (a in numeric && Number.isFinite(Number(argv[i + 1]))) (o as unknown as Record<string, number>)[numeric[a]] = Number(argv[++i]);
    else if (a === "--step-work" && argv[i + 1] !== undefined) o.stepWork = argv[++i];
    else if (a === "--spec" && argv[i + 1] !== undefined) o.specs.push(argv[i + 1].trim().startsWith("{") ? argv[++i] : readFileSync(argv[++i], "utf8"));
    else if (a === "--log" && argv[i + 1] !== undefined) o.log = argv[++i];
    else {
      console.error(`stress:chain: unknown or incomplete flag ${a}\n\n${HELP}`);
      process.exit(2);
    }
  }
  if (o.specs.length === 0) o.specs.push('{"layers":[784,32,10],"optimizer":{"name":"adam"},"epochs":1,"trainLimit":5000}');
  return o;
}

const opts = parseOptions(process.argv.slice(2));
const t0 = performance.now();
const clock = () => ((performance.now() - t0) / 1000).toFixed(2).padStart(8);
const log = createWriteStream(opts.log);
const say = (line: string) => {
  console.log(`${clock()} ${line}`);
  log.write(`${clock()} ${line}\n`);
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The last server lines, for the report around a wedge. */
const recent: string[] = [];
/** Per step of the current run: when its "applied" line came, and when the queue's completion line after it came. */
let steps: { step: number; outcome: string; at: number; completedAt: number | null }[] = [];

function onServerLine(line: string): void {
  const text = line.replace(/\x1b\[[0-9;]*m/g, "");
  log.write(`${clock()} | ${text}\n`);
  recent.push(`${clock()} | ${text}`);
  if (recent.length > 40) recent.shift();
  const now = performance.now();
  const step = /step (run-\S+)#(\d+): (\w[\w-]*)/.exec(text);
  if (step !== null) steps.push({ step: Number(step[2]), outcome: step[3], at: now, completedAt: null });
  if (/QUEUE edgeprop-train \d+\/\d+/.test(text)) {
    const open = steps.find((s) => s.completedAt === null);
    if (open !== undefined) open.completedAt = now;
  }
}

function startServer(port: number, state: string): ChildProcess {
  const child = spawn(process.execPath, [join(ROOT, "scripts", "start.mjs"), "--persist-to", state, "--var", `STEP_WORK:${opts.stepWork}`,
    "--var", `WATCHDOG_STALL_SECONDS:${opts.stallSeconds}`], {
    cwd: ROOT, detached: true, stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env, PORT: String(port), EDGEPROP_LOCAL_CRON: "0", NO_COLOR: "1",
      ...(opts.loopbackKeepalive === null ? {} : { EDGEPROP_LOOPBACK_KEEPALIVE_MS: String(opts.loopbackKeepalive) }),
    },
  });
  for (const stream of [child.stdout!, child.stderr!]) createInterface({ input: stream }).on("line", onServerLine);
  return child;
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // Already gone.
  }
}

type Json = Record<string, any>;

async function call(url: string, init: RequestInit = {}): Promise<{ status: number; body: Json | null }> {
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(30_000) });
    const text = await res.text();
    return { status: res.status, body: text.startsWith("{") ? (JSON.parse(text) as Json) : null };
  } catch (err) {
    return { status: 0, body: { error: String(err) } };
  }
}

/** Follows one run as the page does until it ends (or is given up); returns its record and whether it wedged. */
async function followRun(base: string, token: string, n: number): Promise<{ record: Json | null; wedged: boolean; seconds: number }> {
  const started = performance.now();
  steps = [];
  const spec = opts.specs[(n - 1) % opts.specs.length];
  const res = await call(`${base}/v1/runs`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: spec });
  if (res.status !== 202 || res.body === null) throw new Error(`POST /v1/runs answered ${res.status}: ${JSON.stringify(res.body)}`);
  const id = res.body.id as string;
  say(`run ${n}: ${id} started`);
  let record: Json | null = null;
  let progressKey = "";
  let progressAt = performance.now();
  let wedgedAt: number | null = null;
  let unitsAt = 0;
  for (;;) {
    const got = await call(`${base}/v1/runs/${id}`);
    if (got.status === 200 && got.body !== null) record = got.body;
    if (record !== null && ["succeeded", "failed", "diverged", "cancelled"].includes(record.status)) break;
    const key = JSON.stringify([record?.step, record?.lastError, record?.status, steps.length]);
    if (key !== progressKey) [progressKey, progressAt] = [key, performance.now()];
    if (wedgedAt === null && performance.now() - progressAt > opts.wedgeSeconds * 1000) {
      wedgedAt = performance.now();
      const last = steps[steps.length - 1];
      say(`WEDGE run ${n}: ${id} has not moved for ${opts.wedgeSeconds} s at step ${record?.step} (status ${record?.status}); last step line: ` +
        `${last ? `#${last.step} ${last.outcome}, queue completion ${last.completedAt === null ? "NEVER logged" : "logged"}` : "none"}`);
      for (const line of recent) say(`  ${line}`);
    }
    if (wedgedAt !== null && performance.now() - wedgedAt > opts.giveUpSeconds * 1000) {
      say(`run ${n}: giving up on ${id} after ${opts.giveUpSeconds} s`);
      break;
    }
    if (opts.page && performance.now() - unitsAt > 2500) {
      unitsAt = performance.now();
      void call(`${base}/v1/runs/${id}/units?max=64`);
    }
    await sleep(1000);
  }
  const seconds = (performance.now() - started) / 1000;
  // The queue's completion line of the last step comes after the record says the run ended.
  for (let i = 0; i < 30 && steps.some((s) => s.completedAt === null); i++) await sleep(100);
  const times = steps.map((s, i) => (s.at - (i === 0 ? started : steps[i - 1].at)) / 1000);
  const uncompleted = steps.filter((s) => s.completedAt === null).map((s) => s.step);
  say(`run ${n}: ${id} ${record?.status ?? "?"}${record?.error ? ` (${record.error})` : ""} in ${seconds.toFixed(1)} s, ${steps.length} step lines, ` +
    `step time max ${Math.max(0, ...times).toFixed(2)} s, median ${median(times).toFixed(2)} s` +
    `${uncompleted.length > 0 ? `; no queue completion line after step(s) ${uncompleted.join(",")}` : ""}`);
  for (const [i, s] of steps.entries()) log.write(`${clock()} step ${s.step} ${s.outcome} after ${times[i].toFixed(3)} s, queue line ${s.completedAt === null ? "missing" : `+${((s.completedAt - s.at) / 1000).toFixed(3)} s`}\n`);
  return { record, wedged: wedgedAt !== null, seconds };
}

function median(xs: number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function waitHealthy(base: string, server: ChildProcess): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (server.exitCode !== null) throw new Error(`npm start exited (${server.exitCode}); see ${opts.log}`);
    if ((await call(`${base}/healthz`)).status === 200) return;
    await sleep(300);
  }
  throw new Error(`npm start did not answer /healthz in 3 minutes; see ${opts.log}`);
}

async function main(): Promise<number> {
  const state = mkdtempSync(join(tmpdir(), "edgeprop-stress-"));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const hogs = Array.from({ length: opts.load }, () => spawn(process.execPath, ["-e", "for(;;){}"], { stdio: "ignore" }));
  say(`npm start on ${base} (state ${state}), loopback keep-alive ${opts.loopbackKeepalive ?? "0 (npm start's)"} ms, STEP_WORK ${opts.stepWork}, ${opts.load} busy loops, specs ${opts.specs.map((x) => x.replace(/\s+/g, "")).join(" | ")}`);
  const server = startServer(port, state);
  // Ctrl-C or SIGTERM: the finally below still stops the server group and the busy loops.
  let interrupted: (reason: Error) => void = () => {};
  const interruption = new Promise<never>((_, reject) => (interrupted = reject));
  for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => interrupted(new Error(`interrupted by ${sig}`)));
  let cron: NodeJS.Timeout | null = null;
  const results: { wedged: boolean; status: string }[] = [];
  try {
    await Promise.race([waitHealthy(base, server), interruption]);
    // npm start wrote .dev.vars if it was absent.
    const token = /^ADMIN_TOKEN=(.*)$/m.exec(readFileSync(join(ROOT, ".dev.vars"), "utf8"))?.[1]?.trim() ?? "";
    say("server up");
    cron = setInterval(async () => {
      const w = await call(`${base}/v1/cron/watchdog`, { method: "POST", headers: { authorization: `Bearer ${token}` } });
      say(`watchdog: ${w.status} ${JSON.stringify(w.body)}`);
    }, opts.watchdogEvery * 1000);
    for (let n = 1; n <= opts.runs; n++) {
      const { record, wedged } = await Promise.race([followRun(base, token, n), interruption]);
      results.push({ wedged, status: record?.status ?? "unknown" });
      if (results.filter((r) => r.wedged).length >= opts.maxWedges) break;
    }
  } finally {
    if (cron !== null) clearInterval(cron);
    for (const hog of hogs) hog.kill("SIGKILL");
    killGroup(server, "SIGTERM");
    await Promise.race([new Promise((r) => server.once("exit", r)), sleep(10_000)]);
    killGroup(server, "SIGKILL");
    rmSync(state, { recursive: true, force: true });
  }
  const wedged = results.filter((r) => r.wedged).length;
  const ok = results.filter((r) => r.status === "succeeded").length;
  say(`done: ${results.length} runs, ${ok} succeeded, ${wedged} wedged; log in ${opts.log}`);
  log.end();
  return ok === results.length ? 0 : 1;
}

main().then((code) => process.exit(code), (err) => {
  say(`stress:chain: ${(err as Error).message}`);
  process.exit(1);
});
