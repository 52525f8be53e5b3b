/**
 * `wrangler dev` for the browser tests: the one implementation is scripts/wrangler-dev.ts (npm run bench:edge uses it
 * too); and running the project's scripts as a user does.
 */
import { spawn as spawnChild } from "node:child_process";
import { join } from "node:path";
import { ROOT } from "../../scripts/wrangler-dev.ts";

export { freePort, ROOT, startWrangler } from "../../scripts/wrangler-dev.ts";

/** Runs scripts/`script` with tsx and `args`; the environment has no EDGEPROP_URL or PORT unless `env` gives them. */
export function runScript(script, args, env = {}) {
  const { EDGEPROP_URL: _url, PORT: _port, ...base } = process.env;
  return new Promise((resolve, reject) => {
    const child = spawnChild(join(ROOT, "node_modules", ".bin", "tsx"), [join("scripts", script), ...args], { cwd: ROOT, env: { ...base, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b) => (stdout += b));
    child.stderr.on("data", (b) => (stderr += b));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}
