#!/usr/bin/env node
// `npm start`: wrangler dev on port 8787 (or $PORT) with local simulated KV, R2 and Queues, offline.
// Writes .dev.vars with a random ADMIN_TOKEN when it is absent; an existing .dev.vars is used as it is.
// Loads MNIST into local R2 first (scripts/load-mnist.ts: does nothing when it is already there).
// Arguments go to `wrangler dev`; `--persist-to DIR` goes to the loader too, so both use the state in DIR.
//
// Every child runs in a process group of its own (wrangler starts workerd and esbuild; npx would add more), so
// that SIGINT or SIGTERM stops all of it: the signal goes to the group, SIGKILL follows after a grace period, and
// this script exits 128 + the signal's number. When wrangler exits by itself, what it left behind is killed too and
// its exit code is ours.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { constants } from "node:os";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
/** Milliseconds a signalled group has to exit before it is killed. */
const GRACE_MS = Number(process.env.EDGEPROP_STOP_GRACE_MS) || 5000;
const tsx = `${root}node_modules/tsx/dist/cli.mjs`;
// wrangler's own entry, started the way its bin/wrangler.js starts it, minus that wrapper: the wrapper neither
// forwards signals nor keeps the exit status of a wrangler killed by one (it exits 0).
const wranglerCli = `${root}node_modules/wrangler/wrangler-dist/cli.js`;
/** Keeps miniflare's loopback from dropping idle connections, which can wedge the local queue (see the file). */
const loopbackFix = `${root}scripts/loopback-keepalive.cjs`;

/** The running child (loader, then wrangler): its pid leads its process group. */
let current = null;
/** The signal being handled, and when it came. */
let stopping = null;
let stoppingAt = 0;

/** Sends `signal` to the whole group of `child`; false when the group is gone. */
function signalGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Starts `args` under node in a group of its own; resolves to its exit code (128 + n for a signal). */
function run(args, env) {
  const child = spawn(process.execPath, args, { cwd: root, env, stdio: "inherit", detached: true });
  current = child;
  return new Promise((resolve) => {
    child.once("error", (err) => {
      console.error(`edgeprop: could not start ${args[0]}: ${err.message}`);
      resolve(1);
    });
    child.once("exit", (code, signal) => {
      // The group may outlive its leader (workerd after a crashed wrangler): nothing of it may stay behind.
      signalGroup(child, "SIGKILL");
      resolve(code ?? 128 + (constants.signals[signal] ?? 0));
    });
  });
}

/**
 * SIGINT/SIGTERM/SIGHUP: the current group gets the signal, then SIGKILL after GRACE_MS (or at a second signal);
 * exit 128 + the signal's number.
 */
function stop(signal) {
  const code = 128 + constants.signals[signal];
  if (stopping !== null) {
    // Ctrl-C reaches npm and this script at once, and npm forwards it: only a later one is a second Ctrl-C.
    if (current !== null && Date.now() - stoppingAt > 1000 && signalGroup(current, "SIGKILL")) console.error(`edgeprop: ${signal} again: killed`);
    return;
  }
  stopping = signal;
  stoppingAt = Date.now();
  if (cron !== null) clearInterval(cron);
  const child = current;
  if (child === null || child.exitCode !== null || child.signalCode !== null || !signalGroup(child, signal)) process.exit(code);
  const kill = setTimeout(() => {
    console.error(`edgeprop: still running ${GRACE_MS} ms after ${signal}: killing it`);
    signalGroup(child, "SIGKILL");
  }, GRACE_MS);
  child.once("exit", () => {
    clearTimeout(kill);
    signalGroup(child, "SIGKILL");
    process.exit(code);
  });
}

let cron = null;
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(sig, () => stop(sig));

const devVars = `${root}.dev.vars`;
if (!existsSync(devVars)) {
  writeFileSync(devVars, `ADMIN_TOKEN=${randomBytes(24).toString("hex")}\n`, { mode: 0o600 });
  console.log(`edgeprop: wrote ${devVars} with a random ADMIN_TOKEN (use it as: Authorization: Bearer <token>)`);
} else {
  console.log(`edgeprop: using the ADMIN_TOKEN in ${devVars}`);
}

const port = process.env.PORT || "8787";
const env = { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false" };
const args = process.argv.slice(2);
const persistAt = args.findIndex((a) => a === "--persist-to" || a.startsWith("--persist-to="));
const persistTo = persistAt < 0 ? null : args[persistAt].includes("=") ? args[persistAt].split(/=(.*)/s)[1] : args[persistAt + 1];

const loaded = await run([tsx, "scripts/load-mnist.ts", ...(persistTo ? ["--persist-to", persistTo] : [])], env);
if (stopping === null && loaded !== 0) {
  console.error("edgeprop: loading MNIST into local R2 failed (see above); not starting wrangler dev");
  process.exit(loaded);
}
if (stopping === null) {
  // Locally a step's message lives in memory: a reload of wrangler dev (an edited source file) loses it. Cron does
  // not fire by itself locally, and wrangler 4.86 cannot deliver a scheduled event to a Worker with static assets,
  // so this script runs the watchdog through its admin route every minute, with a 60 s stall threshold (production:
  // the cron every 5 minutes, WATCHDOG_STALL_SECONDS of wrangler.toml). EDGEPROP_LOCAL_CRON=0 turns it off.
  const STALL_SECONDS = "60";
  const exited = run(["--no-warnings", "--experimental-vm-modules", "--require", loopbackFix, wranglerCli, "dev", "--port", port, "--ip", "127.0.0.1", "--var", `WATCHDOG_STALL_SECONDS:${STALL_SECONDS}`, ...args], env);
  const token = /^ADMIN_TOKEN=(.*)$/m.exec(readFileSync(devVars, "utf8"))?.[1]?.trim();
  const runWatchdog = () =>
    fetch(`http://127.0.0.1:${port}/v1/cron/watchdog`, { method: "POST", headers: { authorization: `Bearer ${token}` } })
      .then((res) => res.json())
      .then(({ revived = [], failed = [], wedged = [] }) => {
        if (revived.length + failed.length > 0) console.log(`edgeprop: watchdog: revived ${revived.join(", ") || "none"}; failed ${failed.join(", ") || "none"}`);
        for (const w of wedged) console.error(`edgeprop: watchdog: run ${w.runId}: ${w.message}`);
      })
      .catch(() => {});
  cron = process.env.EDGEPROP_LOCAL_CRON === "0" || !token ? null : setInterval(runWatchdog, 60_000);
  const code = await exited;
  if (stopping === null) {
    if (cron !== null) clearInterval(cron);
    process.exit(code);
  }
}
