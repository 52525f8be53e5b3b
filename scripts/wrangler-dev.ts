/**
 * `wrangler dev` for the browser tests, `npm run bench:edge` and `npm run bench` (which runs its own Worker): a free
 * port, its own fresh local state (--persist-to a temporary folder), and its own ADMIN_TOKEN given through --env-file,
 * which makes wrangler skip the project's .dev.vars entirely.
 */
import { spawn } from "node:child_process";
import { createWriteStream, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../", import.meta.url));
const WRANGLER = join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js");
/** Preloaded into wrangler (as npm start does): miniflare's loopback keeps idle connections, see the file. */
const LOOPBACK_FIX = join(ROOT, "scripts", "loopback-keepalive.cjs");

/** A TCP port that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** A running `wrangler dev`. `pid` is wrangler's, which leads the process group of all it started (workerd too). */
export interface DevServer {
  url: string;
  port: number;
  pid: number;
  stop: () => Promise<void>;
}

/**
 * Starts wrangler dev and waits until GET /healthz answers: the app, or the Worker of another wrangler config
 * (`config`, relative to the project's root).
 */
export async function startWrangler({ token, vars = {}, logFile, timeoutMs = 90_000, config, prepare }: {
  token: string; vars?: Record<string, string>; logFile: string; timeoutMs?: number; config?: string;
  /** Runs before wrangler dev starts, given the fresh state folder (its --persist-to): to load datasets into it. */
  prepare?: (persistTo: string) => Promise<void>;
}): Promise<DevServer> {
  const state = mkdtempSync(join(tmpdir(), "edgeprop-e2e-"));
  if (prepare !== undefined) {
    try {
      await prepare(join(state, "state"));
    } catch (err) {
      rmSync(state, { recursive: true, force: true });
      throw err;
    }
  }
  const envFile = join(state, "e2e.env");
  writeFileSync(envFile, `ADMIN_TOKEN=${token}\n`, { mode: 0o600 });
  const [port, inspectorPort] = [await freePort(), await freePort()];
  const args = [
    "--require", LOOPBACK_FIX, WRANGLER, "dev", "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(inspectorPort),
    "--persist-to", join(state, "state"), "--env-file", envFile, "--show-interactive-dev-session=false",
    ...(config === undefined ? [] : ["--config", join(ROOT, config)]),
    ...Object.entries(vars).flatMap(([k, v]) => ["--var", `${k}:${v}`]),
  ];
  const log = createWriteStream(logFile);
  // Its own process group (detached), so that stop() ends wrangler and the workerd it started, and nothing else.
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false", CI: "1", NO_COLOR: "1" },
  });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  let alive = true;
  void exited.then(() => (alive = false));
  const pid = child.pid!;

  async function stop(): Promise<void> {
    if (alive) {
      try {
        process.kill(-pid, "SIGTERM");
      } catch {
        // Already gone.
      }
      const timer = setTimeout(() => {
        try {
          process.kill(-pid, "SIGKILL");
        } catch {
          // Already gone.
        }
      }, 5000);
      await exited;
      clearTimeout(timer);
    }
    log.end();
    rmSync(state, { recursive: true, force: true });
  }

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!alive) {
      await stop();
      throw new Error(`wrangler dev exited before it served (see ${logFile})`);
    }
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) return { url, port, pid, stop };
      await res.body?.cancel();
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  await stop();
  throw new Error(`wrangler dev did not answer /healthz within ${timeoutMs} ms (see ${logFile})`);
}
