/**
 * The bench Worker of `npm run bench` (scripts/bench.ts starts it with `wrangler dev -c bench/wrangler.toml`): our
 * kernels measured inside workerd, the production runtime, one measurement per request. Its own entry and config, so
 * the app is untouched; it has no bindings and keeps the digits it is sent in the isolate's memory.
 *
 * - `PUT /digits/train|test?images=BYTES`: an IDX images file followed by its IDX labels file (BYTES: the first's
 *   length). Measurements answer 409 until both are here (again after the isolate restarts).
 * - `GET /clock`: whether performance.now() advances during CPU work here (it does not in production), and its step.
 * - `POST /measure` with `{ task, impl, net, batch, ms, windows, spec, steps, augment }`: runs it, answers its figures
 *   (bench/measure.ts, bench/profile.ts).
 *
 * Timing is inside the Worker (see measure.ts's `rate`); a request's own overhead is not in any figure.
 */
// The app's own module imports: importing src/kernels.ts also installs the WebAssembly elastic field as
// createAugmenter's default, as in the app's Worker, so that "augment" measures what a training step runs.
import { kernelsModule } from "../src/kernels";
import peakModule from "../build/bench-peak.wasm";
import { createAugmenter, type Augmenter, type AugmentSpec } from "../src/data/distort";
import { jsElasticField } from "../src/data/distort-elastic";
import { decodeIdxImages, decodeIdxLabels } from "../src/data/idx";
import { decodeShard, encodeShard } from "../src/data/shards";
import { decodeCheckpoint, encodeCheckpoint } from "../src/training/checkpoint";
import { initialCheckpoint } from "../src/training/plan";
import type { RunSpec } from "../src/training/spec";
import { jsKernels, type Kernels } from "../src/nn/kernels";
import { createWasmKernels, kernelBytes } from "../src/nn/kernels-wasm";
import {
  createPredictor, createTrainer, imagesOf, measureAugmentation, measurePeak, measurePrediction, measureTraining, predictorBytes, rate, sizesOf, trainerBytes,
  type Digits, type PeakExports, type Predictor, type Trainer,
} from "./measure";
import { kernelBuffers, measureKernels, pixelDensity, profilePrediction, profileStep } from "./profile";

/** What `POST /measure` takes. */
interface MeasureRequest {
  task: "train" | "predict" | "peak" | "kernel" | "profile" | "profile-predict" | "overhead" | "augment";
  impl?: "edgeprop" | "edgeprop-js";
  net?: string;
  batch?: number;
  /** Milliseconds each figure runs for at least. */
  ms: number;
  /** predict: latency windows of 1 ms. */
  windows?: number;
  /** overhead: the run spec whose checkpoint a step decodes, copies and encodes. */
  spec?: RunSpec;
  /** overhead: history entries in it (one per step done). */
  steps?: number;
  /**
   * augment: the run spec's augment (impl edgeprop: createAugmenter as the app's Worker makes it; edgeprop-js: with
   * its JS elastic loops), timed in turns with training batches of `net` and `batch`.
   */
  augment?: AugmentSpec;
}

const now = () => performance.now();
const digits: { train?: Digits; test?: Digits } = {};
const trainers = new Map<string, Trainer>();
const predictors = new Map<string, { model: Predictor; images: Float32Array[] }>();
let peak: PeakExports | null = null;
const augmenters = new Map<string, Augmenter>();

class BadRequest extends Error {}

/** Kernels for `impl` with room for `bytes` of buffers (the JS kernels need none). */
function kernelsFor(impl: MeasureRequest["impl"], bytes: number): Kernels {
  if (impl === "edgeprop") return createWasmKernels(kernelsModule, bytes);
  if (impl === "edgeprop-js") return jsKernels;
  throw new BadRequest(`impl must be "edgeprop" or "edgeprop-js", got ${JSON.stringify(impl)}`);
}

/** The predictor of `impl`, `net` and batches of `rows`, made once per isolate. */
function predictor(impl: MeasureRequest["impl"], net: string, rows: number, test: Digits): { model: Predictor; images: Float32Array[] } {
  const key = `${impl}/${net}/${rows}`;
  let p = predictors.get(key);
  if (p === undefined) {
    p = { model: createPredictor(kernelsFor(impl, predictorBytes(sizesOf(net), rows)), sizesOf(net), rows), images: imagesOf(test, 100) };
    predictors.set(key, p);
  }
  return p;
}

/** The trainer of `impl`, `net` and batches of `batch`, made once per isolate. */
function trainer(impl: MeasureRequest["impl"], net: string, batch: number): Trainer {
  const key = `${impl}/${net}/${batch}`;
  let t = trainers.get(key);
  if (t === undefined) {
    t = createTrainer(kernelsFor(impl, trainerBytes(sizesOf(net), batch)), sizesOf(net), batch);
    trainers.set(key, t);
  }
  return t;
}

function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new BadRequest(`${what} is required`);
  return value;
}

function measure(q: MeasureRequest, train: Digits, test: Digits): unknown {
  switch (q.task) {
    case "train":
      return measureTraining(trainer(q.impl, need(q.net, "net"), need(q.batch, "batch")), train, now, q.ms);
    case "predict": {
      const p = predictor(q.impl, need(q.net, "net"), need(q.batch, "batch"), test);
      return measurePrediction(p.model, p.images, test, now, need(q.windows, "windows"), q.ms);
    }
    case "profile-predict":
      return { phases: profilePrediction(predictor(q.impl, need(q.net, "net"), need(q.batch, "batch"), test).model, test, now, q.ms), pixelDensity: pixelDensity(test) };
    case "peak":
      peak ??= new WebAssembly.Instance(peakModule, {}).exports as unknown as PeakExports;
      return { gflops: measurePeak(peak, now, q.ms) };
    case "kernel": {
      const [n, sizes] = [need(q.batch, "batch"), sizesOf(need(q.net, "net"))];
      const k = kernelsFor("edgeprop", kernelBuffers(n, sizes[0], sizes[1]).reduce((s, len) => s + kernelBytes(len), 0));
      return measureKernels(k, n, sizes[0], sizes[1], now, q.ms);
    }
    case "profile": {
      const [impl, net, batch] = [q.impl, need(q.net, "net"), need(q.batch, "batch")];
      const t = createTrainer(kernelsFor(impl, trainerBytes(sizesOf(net), batch)), sizesOf(net), batch);
      return { phases: profileStep(t, train, now, q.ms), pixelDensity: pixelDensity(train) };
    }
    case "overhead":
      return stepOverhead(need(q.spec, "spec"), need(q.steps, "steps"), train, q.ms);
    case "augment": {
      // Beside training batches of `net` on the WebAssembly kernels (as runs train), in turns.
      const [spec, net, batch] = [need(q.augment, "augment"), need(q.net, "net"), need(q.batch, "batch")];
      if (q.impl !== "edgeprop" && q.impl !== "edgeprop-js") throw new BadRequest(`impl must be "edgeprop" or "edgeprop-js", got ${JSON.stringify(q.impl)}`);
      const key = `${q.impl}/${JSON.stringify(spec)}`;
      let a = augmenters.get(key);
      if (a === undefined) {
        a = q.impl === "edgeprop" ? createAugmenter(spec, 28, 28) : createAugmenter(spec, 28, 28, jsElasticField);
        augmenters.set(key, a);
      }
      return { ...measureAugmentation(a, trainer("edgeprop", net, batch), train, now, q.ms), elastic: a.elastic };
    }
    default:
      throw new BadRequest(`unknown task ${JSON.stringify((q as { task: unknown }).task)}`);
  }
}

/**
 * A step's work around its batches: decodeCheckpoint of what R2 returned, runStep's structuredClone and
 * encodeCheckpoint of the next one, on a checkpoint of `spec` with `steps` history entries; and decodeShard (with its
 * CRC-32) of a shard of 1 000 digits read from R2 (src/training/consumer.ts, step.ts, src/storage/datasets.ts).
 */
function stepOverhead(spec: RunSpec, steps: number, train: Digits, ms: number): { msPerCheckpoint: number; msPerShard: number; checkpointBytes: number } {
  const ck = initialCheckpoint(spec);
  for (let s = 1; s <= steps; s++) ck.history.push({ step: s, epoch: 1, examplesSeen: s * 8300, loss: 0.1, trainAccuracy: 0.97 });
  const bytes = encodeCheckpoint(ck);
  const checkpoint = rate(() => encodeCheckpoint(structuredClone(decodeCheckpoint(bytes))), now, ms);
  const shardBytes = encodeShard(train.labels.subarray(0, 1000), train.pixels.subarray(0, 1000 * 784), 28, 28);
  const shard = rate(() => decodeShard(shardBytes), now, ms);
  return { msPerCheckpoint: checkpoint.ms / checkpoint.calls, msPerShard: shard.ms / shard.calls, checkpointBytes: bytes.length };
}

/**
 * How performance.now() behaves during CPU work: whether it advances over ~50 M additions, and its smallest step
 * among the first 20 it takes while polled.
 */
function clockProbe(): { advances: boolean; resolutionMs: number | null } {
  const t0 = now();
  let x = 0;
  for (let i = 0; i < 50_000_000; i++) x += i & 7;
  const t1 = now();
  const steps: number[] = [];
  for (let i = 0, last = now(); i < 100_000_000 && steps.length < 20; i++) {
    const t = now();
    if (t !== last) steps.push(t - last);
    last = t;
  }
  return { advances: t1 > t0 && x > 0, resolutionMs: steps.length > 0 ? Math.min(...steps) : null };
}

async function handle(request: Request): Promise<Response> {
  const url = new URL(request.url);
  if (url.pathname === "/healthz") return new Response("ok");
  if (url.pathname === "/clock") return Response.json(clockProbe());
  const split = /^\/digits\/(train|test)$/.exec(url.pathname)?.[1] as "train" | "test" | undefined;
  if (request.method === "PUT" && split !== undefined) {
    const body = new Uint8Array(await request.arrayBuffer());
    const at = Number(url.searchParams.get("images"));
    const images = decodeIdxImages(body.subarray(0, at));
    const labels = decodeIdxLabels(body.subarray(at));
    if (images.rows * images.cols !== 784 || labels.count !== images.count) throw new BadRequest("expected 28 × 28 images and one label each");
    digits[split] = { count: images.count, pixels: images.pixels, labels: labels.labels };
    return new Response(null, { status: 204 });
  }
  if (request.method === "POST" && url.pathname === "/measure") {
    if (digits.train === undefined || digits.test === undefined) return new Response("no digits: PUT /digits/train and /digits/test first", { status: 409 });
    return Response.json(measure((await request.json()) as MeasureRequest, digits.train, digits.test));
  }
  return new Response("not found", { status: 404 });
}

export default {
  async fetch(request) {
    try {
      return await handle(request);
    } catch (error) {
      const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      return new Response(message, { status: error instanceof BadRequest ? 400 : 500 });
    }
  },
} satisfies ExportedHandler;
