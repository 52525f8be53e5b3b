/**
 * What `npm run bench` measures inside workerd (bench/worker.ts), over typed arrays and a clock, nothing of the
 * platform: training batches (a production step's work per batch: gather, costGradient, momentumStep), single-image
 * and batch prediction, the augmentation of a batch's examples, and the WebAssembly SIMD multiply+add peak. Profiling and the dense kernels alone are in
 * bench/profile.ts.
 *
 * The Worker's clock has 1 ms resolution (performance.now() is Date.now() in workerd), so nothing here subtracts two
 * readings around one short call: `rate` starts on a tick of the clock and counts the calls that fit in a whole
 * number of milliseconds. The Node side (TF.js) uses the same function with Node's clock.
 */
import type { Augmenter } from "../src/data/distort";
import { kernelBytes } from "../src/nn/kernels-wasm";
import type { Kernels } from "../src/nn/kernels";
import { rowProbabilities } from "../src/nn/classify";
import { randInitialize } from "../src/nn/init";
import { createLayout, type Floats, type Layout } from "../src/nn/layout";
import { argmaxRow, costGradient, createWorkspace, forward, type Workspace } from "../src/nn/network";
import { momentumCreate, momentumStep, type MomentumState } from "../src/nn/optimizers";
import { seedRng } from "../src/nn/random";
import { pixelsToUnit } from "../src/nn/pixels";
import { stepBufferBytes } from "../src/training/buffers";

/** Pixels per digit (28 × 28) and classes. */
export const D = 784;
export const K = 10;
/** The training set size the regularization's m refers to (as a run on MNIST passes it). */
const TRAIN_COUNT = 60_000;
/** Momentum as specs/mnist-98.json trains. */
export const MOMENTUM = { learningRate: 0.2, momentum: 0.9 } as const;

/** Digits as the IDX files hold them: count × 784 pixel bytes and one label byte each. */
export interface Digits {
  count: number;
  pixels: Uint8Array;
  labels: Uint8Array;
}

/** A clock in milliseconds. */
export type Clock = () => number;

/**
 * Calls `fn` from a tick of `now` until at least `ms` milliseconds have passed; returns the calls made and the
 * milliseconds they took. With a clock of 1 ms resolution the figure is off by at most the one call that crosses
 * the end, and by under 1 ms when a call is longer than that.
 */
export function rate(fn: () => void, now: Clock, ms: number): { calls: number; ms: number } {
  const t0 = now();
  let start = now();
  while (start === t0) start = now();
  let calls = 0;
  let t = start;
  do {
    fn();
    calls++;
    t = now();
  } while (t - start < ms);
  return { calls, ms: t - start };
}

/** The first row of batch k of n rows, walking through `count` digits: the same batches for every implementation. */
export const batchStart = (k: number, n: number, count: number): number => (k * n) % (count - n + 1);

/** Fills n rows of X with digits from..from+n, each pixel byte / 255 (as a training step gathers them). */
export function gather(X: Floats, pixels: Uint8Array, from: number, n: number): void {
  pixelsToUnit(X, 0, pixels, from * D, n * D);
}

/** Network sizes "784-128-10" → [784, 128, 10]. */
export const sizesOf = (net: string): number[] => net.split("-").map(Number);

/** Multiply-adds counted per example in training: forward 2P, backward 4P (P parameters). */
export const TRAIN_FLOPS_PER_PARAM = 6;

/** A network in training: weights, gradient, velocity, a batch and its scratch, all from one set of kernels. */
export interface Trainer {
  layout: Layout;
  kernels: Kernels;
  batch: number;
  params: Floats;
  grad: Floats;
  X: Floats;
  ws: Workspace;
  opt: MomentumState;
  /** The next batch's index. */
  next: number;
}

/** Bytes of WebAssembly memory a trainer of these sizes and batch takes: a training step's buffers. */
export const trainerBytes = (sizes: readonly number[], batch: number): number => stepBufferBytes(createLayout(sizes), batch, true);

/** A trainer with weights drawn from seed 1, zero velocity, batch `batch`. */
export function createTrainer(kernels: Kernels, sizes: readonly number[], batch: number): Trainer {
  const layout = createLayout(sizes);
  const params = kernels.floats(Float32Array, layout.count);
  randInitialize(layout, seedRng(1), params);
  return {
    layout, kernels, batch, params,
    grad: kernels.floats(Float32Array, layout.count),
    X: kernels.floats(Float32Array, batch * D),
    ws: createWorkspace(layout, batch, Float32Array, kernels),
    opt: momentumCreate(params, MOMENTUM),
    next: 0,
  };
}

/** One training batch as a step does it: gather, cost and gradient (softmax, λ = 0), momentum. Returns J. */
export function trainBatch(t: Trainer, data: Digits): number {
  const from = batchStart(t.next++, t.batch, data.count);
  gather(t.X, data.pixels, from, t.batch);
  const y = data.labels.subarray(from, from + t.batch);
  const J = costGradient(t.layout, "softmax", t.params, t.X, y, t.batch, 0, t.grad, t.ws, TRAIN_COUNT);
  momentumStep(t.opt, t.params, t.grad);
  return J;
}

/** Examples per second of training for at least `ms` (one figure of a run). */
export function measureTraining(t: Trainer, data: Digits, now: Clock, ms: number): { examplesPerSecond: number; batches: number; loss: number } {
  let loss = 0;
  const { calls, ms: took } = rate(() => (loss = trainBatch(t, data)), now, ms);
  return { examplesPerSecond: (calls * t.batch * 1000) / took, batches: calls, loss };
}

/** A served model: weights, one image's input and scratch, a batch's input and scratch, the probabilities. */
export interface Predictor {
  layout: Layout;
  kernels: Kernels;
  params: Floats;
  x1: Floats;
  ws1: Workspace;
  Xb: Floats;
  wsb: Workspace;
  p: Floats;
  rows: number;
}

/** Bytes of WebAssembly memory a predictor takes. */
export function predictorBytes(sizes: readonly number[], rows: number): number {
  const P = createLayout(sizes).count;
  const widths = sizes.slice(1);
  const ws = (n: number) => widths.reduce((s, w) => s + 2 * kernelBytes(n * w), kernelBytes(n * widths[widths.length - 1]));
  return kernelBytes(P) + kernelBytes(D) + ws(1) + kernelBytes(rows * D) + ws(rows) + kernelBytes(K);
}

/** A predictor with weights drawn from seed 1 and batches of up to `rows` images. */
export function createPredictor(kernels: Kernels, sizes: readonly number[], rows: number): Predictor {
  const layout = createLayout(sizes);
  const params = kernels.floats(Float32Array, layout.count);
  randInitialize(layout, seedRng(1), params);
  return {
    layout, kernels, params, rows,
    x1: kernels.floats(Float32Array, D),
    ws1: createWorkspace(layout, 1, Float32Array, kernels),
    Xb: kernels.floats(Float32Array, rows * D),
    wsb: createWorkspace(layout, rows, Float32Array, kernels),
    p: kernels.floats(Float32Array, K),
  };
}

/** One image (784 values in [0, 1]) as serving answers it: forward, probabilities, the digit. */
export function predictOne(m: Predictor, image: Floats): number {
  m.x1.set(image);
  forward(m.layout, "softmax", m.params, m.x1, 1, m.ws1);
  rowProbabilities("softmax", m.ws1, 0, K, m.p);
  return argmaxRow(m.p, 0, K);
}

/** Digits from..from+rows predicted in one forward pass (pixels / 255 gathered as a step does): how many are right. */
export function predictBatch(m: Predictor, data: Digits, from: number): number {
  gather(m.Xb, data.pixels, from, m.rows);
  const h = forward(m.layout, "softmax", m.params, m.Xb, m.rows, m.wsb);
  let right = 0;
  for (let r = 0; r < m.rows; r++) if (argmaxRow(h, r, K) === data.labels[from + r]) right++;
  return right;
}

/** The first `n` digits as rows of 784 values in [0, 1], for single-image prediction. */
export function imagesOf(data: Digits, n: number): Float32Array[] {
  return Array.from({ length: n }, (_, r) => Float32Array.from(data.pixels.subarray(r * D, (r + 1) * D), (v) => v / 255));
}

/** The p-quantile (0..1) of xs by the nearest rank. */
export function quantile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))];
}

/**
 * Latency of a single call in µs, p50 and p99 over `windows` consecutive windows of back-to-back calls, one per tick
 * of the clock: each window's figure is its length (1 ms, or more when a call spans ticks) over the calls that
 * ended in it. A clock of 1 ms resolution cannot time one call of a few µs; a window averages about 1 ms of calls.
 */
export function latencyWindows(fn: () => void, now: Clock, windows: number): { p50Micros: number; p99Micros: number } {
  const perCall: number[] = [];
  const t0 = now();
  let start = now();
  while (start === t0) start = now();
  let calls = 0;
  while (perCall.length < windows) {
    fn();
    calls++;
    const t = now();
    if (t !== start) {
      perCall.push(((t - start) * 1000) / calls);
      start = t;
      calls = 0;
    }
  }
  return { p50Micros: quantile(perCall, 0.5), p99Micros: quantile(perCall, 0.99) };
}

/** Prediction figures of one run: single-image latency and batch throughput (images/s). */
export interface PredictFigures {
  p50Micros: number;
  p99Micros: number;
  examplesPerSecond: number;
}

/** One run of the prediction measurements: `windows` latency windows (none: NaN), then batches for at least `ms`. */
export function measurePrediction(m: Predictor, images: readonly Floats[], test: Digits, now: Clock, windows: number, ms: number): PredictFigures {
  let i = 0;
  const latency = windows > 0 ? latencyWindows(() => predictOne(m, images[i++ % images.length]), now, windows) : { p50Micros: NaN, p99Micros: NaN };
  let k = 0;
  const batches = rate(() => predictBatch(m, test, batchStart(k++, m.rows, test.count)), now, ms);
  return { ...latency, examplesPerSecond: (batches.calls * m.rows * 1000) / batches.ms };
}

/** The WebAssembly SIMD peak module's export (bench/assembly/peak.ts): `steps` steps of 12 chains, 96 flops a step. */
export interface PeakExports {
  peak12(steps: number, m: number, c: number): number;
}
export const PEAK_FLOPS_PER_STEP = 96;

/** GFLOP/s of the peak loop for at least `ms`. */
export function measurePeak(peak: PeakExports, now: Clock, ms: number): number {
  const steps = 200_000;
  const { calls, ms: took } = rate(() => peak.peak12(steps, 0.5, 1), now, ms);
  return (calls * steps * PEAK_FLOPS_PER_STEP) / (took * 1e6);
}

/**
 * Microseconds per augmented example beside those of a training example, measured in turns (slices of at least
 * `slice` ms, until each has had `ms`) so that the machine's other work weighs on both alike: batches of the trainer's
 * size augmented into its X as a training step's gather does (src/training/step.ts: augmenter.apply into row r, each
 * example its own index), then its training batches (trainBatch, which gathers without augmenting).
 */
export function measureAugmentation(augmenter: Augmenter, t: Trainer, data: Digits, now: Clock, ms: number, slice = 25): { microsPerExample: number; trainMicrosPerExample: number } {
  let k = 0;
  const augmentBatch = () => {
    const from = batchStart(k++, t.batch, data.count);
    for (let r = 0; r < t.batch; r++) augmenter.apply(data.pixels, (from + r) * D, 1, 3, from + r, t.X, r * D);
  };
  const sums = { augment: { calls: 0, ms: 0 }, train: { calls: 0, ms: 0 } };
  while (sums.augment.ms < ms || sums.train.ms < ms) {
    for (const [sum, fn] of [[sums.augment, augmentBatch], [sums.train, () => trainBatch(t, data)]] as const) {
      const r = rate(fn, now, Math.min(slice, ms));
      sum.calls += r.calls;
      sum.ms += r.ms;
    }
  }
  const micros = (s: { calls: number; ms: number }) => (s.ms * 1000) / (s.calls * t.batch);
  return { microsPerExample: micros(sums.augment), trainMicrosPerExample: micros(sums.train) };
}
