#!/usr/bin/env node
// `npm start`: wrangler dev on port 8787 (or $PORT) with local simulated KV, R2 and Queues, offline.
// Writes .dev.vars with a random ADMIN_TOKEN when it is absent; an existing .dev.vars is used as it is.
// Loads MNIST into local R2 first (scripts/load-mnist.ts: does nothing when it is already there).
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const devVars = `${root}.dev.vars`;
if (!existsSync(devVars)) {
  writeFileSync(devVars, `ADMIN_TOKEN=${randomBytes(24).toString("hex")}\n`, { mode: 0o600 });
  console.log(`edgeprop: wrote ${devVars} with a random ADMIN_TOKEN (use it as: Authorization: Bearer <token>)`);
} else {
  console.log(`edgeprop: using the ADMIN_TOKEN in ${devVars}`);
}

const port = process.env.PORT || "8787";
const env = { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false" };

const loader = spawnSync("npx", ["tsx", "scripts/load-mnist.ts"], { cwd: root, env, stdio: "inherit" });
if (loader.status !== 0) {
  console.error("edgeprop: loading MNIST into local R2 failed (see above); not starting wrangler dev");
  process.exit(loader.status ?? 1);
}
// Locally a step's message lives in memory: a reload of wrangler dev (an edited source file) loses it. Cron does
// not fire by itself locally, and wrangler 4.86 cannot deliver a scheduled event to a Worker with static assets,
// so this script runs the watchdog through its admin route every minute, with a 60 s stall threshold (production:
// the cron every 5 minutes, WATCHDOG_STALL_SECONDS of wrangler.toml). EDGEPROP_LOCAL_CRON=0 turns it off.
const STALL_SECONDS = "60";
const wrangler = spawn(
  "npx",
  ["wrangler", "dev", "--port", port, "--ip", "127.0.0.1", "--var", `WATCHDOG_STALL_SECONDS:${STALL_SECONDS}`, ...process.argv.slice(2)],
  { cwd: root, env, stdio: "inherit" },
);
const token = /^ADMIN_TOKEN=(.*)$/m.exec(readFileSync(devVars, "utf8"))?.[1]?.trim();
const runWatchdog = () =>
  fetch(`http://127.0.0.1:${port}/v1/cron/watchdog`, { method: "POST", headers: { authorization: `Bearer ${token}` } }).catch(() => {});
const cron = process.env.EDGEPROP_LOCAL_CRON === "0" || !token ? null : setInterval(runWatchdog, 60_000);
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => wrangler.kill(sig));
wrangler.on("exit", (code) => {
  if (cron) clearInterval(cron);
  process.exit(code ?? 0);
});
