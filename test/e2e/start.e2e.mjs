/**
 * `npm start` leaves nothing behind: started on a free port with its own state (--persist-to), it is stopped with
 * SIGTERM, with SIGINT, and by killing wrangler under it; each time the port closes, every process it started is gone
 * within seconds, and the exit code says why. And miniflare's loopback under it keeps an idle keep-alive connection
 * open past Node's default 5 s (scripts/loopback-keepalive.cjs: without it the local queue can wedge).
 */
import { spawn } from "node:child_process";
import { createWriteStream, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { freePort, ROOT } from "./server.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let state;
let started = null;

/** Parent pid and state of every process, from /proc. */
function processTable() {
  const table = new Map();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const [stateChar, ppid] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      table.set(Number(name), { ppid: Number(ppid), zombie: stateChar === "Z" });
    } catch {
      // Gone meanwhile.
    }
  }
  return table;
}

/** `pid` and all its descendants. */
function tree(pid) {
  const table = processTable();
  const out = [pid];
  for (let i = 0; i < out.length; i++) for (const [p, { ppid }] of table) if (ppid === out[i]) out.push(p);
  return out;
}

const living = (pids) => {
  const table = processTable();
  return pids.filter((p) => table.has(p) && !table.get(p).zombie);
};
const commandOf = (pid) => readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");

function portOpen(port) {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("error", () => resolve(false));
  });
}

/** Starts `npm start` and waits for /healthz; its pid leads a group of its own, for the cleanup of a failed test. */
async function npmStart(name) {
  const port = await freePort();
  const log = createWriteStream(join(ROOT, "test-results", `start-${name}.log`));
  const args = ["start", "--", "--persist-to", state, "--inspector-port", String(await freePort()), "--show-interactive-dev-session=false"];
  const child = spawn("npm", args, {
    cwd: ROOT, detached: true, stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, PORT: String(port), EDGEPROP_LOCAL_CRON: "0", NO_COLOR: "1" },
  });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  const exit = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  started = { child, exit };
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`npm start exited with ${child.exitCode}; see test-results/start-${name}.log`);
    const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false);
    if (ok) return { child, exit, port, pids: tree(child.pid) };
    await sleep(300);
  }
  throw new Error(`npm start did not answer /healthz; see test-results/start-${name}.log`);
}

/** Waits until `npm start` has exited, its port is closed and none of `pids` lives; returns its exit code. */
async function expectAllGone({ exit, port, pids }) {
  const { code } = await Promise.race([exit, sleep(15_000).then(() => ({ code: "still running after 15 s" }))]);
  for (let i = 0; i < 50 && (living(pids).length > 0 || (await portOpen(port))); i++) await sleep(100);
  expect(living(pids).map((p) => commandOf(p).join(" "))).toEqual([]);
  expect(await portOpen(port)).toBe(false);
  return code;
}

/** A request on `socket` (keep-alive HTTP/1.1), resolved with the status line of its answer. */
function request(socket) {
  return new Promise((resolve) => {
    socket.once("data", (data) => resolve(String(data).split("\r\n")[0]));
    socket.write("GET /core/public-url HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n");
  });
}

beforeAll(() => {
  mkdirSync(join(ROOT, "test-results"), { recursive: true });
  state = mkdtempSync(join(tmpdir(), "edgeprop-start-"));
});

afterEach(() => {
  // A failed test leaves its npm start running: everything under it goes (start.mjs's children have groups of their own).
  if (started !== null) {
    for (const pid of tree(started.child.pid)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // Gone.
      }
    }
  }
  started = null;
});

afterAll(() => {
  rmSync(state, { recursive: true, force: true });
});

describe("npm start", () => {
  test("miniflare's loopback keeps an idle keep-alive connection past Node's default 5 s", async () => {
    const server = await npmStart("loopback");
    const workerd = server.pids.find((p) => commandOf(p)[0].endsWith("workerd"));
    const loopback = commandOf(workerd).find((a) => a.startsWith("--external-addr=loopback="));
    const [host, port] = loopback.split("=")[2].split(":");
    const socket = connect(Number(port), host);
    let closedByLoopback = false;
    socket.on("close", () => (closedByLoopback = true));
    socket.on("error", () => {});
    await new Promise((resolve) => socket.once("connect", resolve));
    expect(await request(socket)).toMatch(/^HTTP\/1\.1 200/);
    await sleep(6500); // past Node's default keepAliveTimeout (5 s)
    expect(closedByLoopback, "the loopback closed an idle keep-alive connection").toBe(false);
    expect(await request(socket)).toMatch(/^HTTP\/1\.1 200/);
    socket.destroy();
    process.kill(server.child.pid, "SIGTERM");
    await expectAllGone(server);
  });

  test("SIGTERM to npm stops wrangler dev and workerd; exit 143", async () => {
    const server = await npmStart("sigterm");
    process.kill(server.child.pid, "SIGTERM");
    expect(await expectAllGone(server)).toBe(143);
  });

  test("SIGINT to its process group, as Ctrl-C in a terminal sends it, stops everything too; exit 130", async () => {
    const server = await npmStart("sigint");
    expect(server.pids.length).toBeGreaterThanOrEqual(3);
    process.kill(-server.child.pid, "SIGINT");
    expect(await expectAllGone(server)).toBe(130);
  });

  test("when wrangler dies on its own, what it left (workerd) is stopped and its exit code is kept", async () => {
    const server = await npmStart("wrangler-killed");
    const wrangler = server.pids.find((p) => commandOf(p).some((a) => a.endsWith("wrangler-dist/cli.js")));
    process.kill(wrangler, "SIGKILL");
    expect(await expectAllGone(server)).toBe(137);
  });
});
