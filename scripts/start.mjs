#!/usr/bin/env node
// `npm start`: wrangler dev on port 8787 (or $PORT) with local simulated KV, R2 and Queues, offline.
// Writes .dev.vars with a random ADMIN_TOKEN when it is absent; an existing .dev.vars is used as it is.
// Loads MNIST into local R2 first (scripts/load-mnist.ts: does nothing when it is already there).
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, writeFileSync } from "node:fs";
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
const wrangler = spawn("npx", ["wrangler", "dev", "--port", port, "--ip", "127.0.0.1", ...process.argv.slice(2)], {
  cwd: root,
  env,
  stdio: "inherit",
});
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => wrangler.kill(sig));
wrangler.on("exit", (code) => process.exit(code ?? 0));
