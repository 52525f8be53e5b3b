/**
 * Where the time of a training batch and of a batch prediction goes, and how fast the dense kernels run alone, for
 * `npm run bench` (inside workerd).
 *
 * `profileStep` and `profilePrediction` time each phase of a batch on its own, for at least `ms` each, on the buffers
 * of a trainer or predictor that has just done a batch: the kernels through its Kernels, and the JS parts of
 * costGradient and forward (src/nn/network.ts, λ = 0) and momentumStep as they are written there, copied here loop
 * for loop because network.ts runs them inside one function. The whole batch is timed too: the phases should add up
 * to it (a gap means this copy no longer matches network.ts).
 */
import { sigmoid } from "../src/nn/activations";
import type { Kernels } from "../src/nn/kernels";
import type { Floats } from "../src/nn/layout";
import { argmaxRow } from "../src/nn/network";
import { momentumStep } from "../src/nn/optimizers";
import { batchStart, D, gather, K, predictBatch, rate, trainBatch, type Clock, type Digits, type Predictor, type Trainer } from "./measure";

/** One phase of a training batch: its name and ms per batch. */
export interface Phase {
  phase: string;
  msPerBatch: number;
}

/** The phases of a batch, each timed alone for at least `ms`, then the whole batch (phase "batch"). */
export function profileStep(t: Trainer, data: Digits, now: Clock, ms: number): Phase[] {
  trainBatch(t, data);
  const { layout: { sizes, offsets }, kernels: k, params, grad, X, ws, batch: n } = t;
  const last = sizes.length - 2;
  const from = batchStart(0, n, data.count);
  const y = data.labels.subarray(from, from + n);
  const input = (l: number): Floats => (l === 0 ? X : ws.acts[l - 1]);
  const h = ws.acts[last];
  const phases: [string, () => void][] = [
    ["gather (pixels / 255)", () => gather(X, data.pixels, from, n)],
    ["kernel linearForward", () => {
      for (let l = 0; l <= last; l++) k.linearForward(l === last ? ws.zOut : ws.acts[l], input(l), params, offsets[l], n, sizes[l], sizes[l + 1]);
    }],
    ["sigmoid of hidden layers", () => {
      for (let l = 0; l < last; l++) {
        const a = ws.acts[l];
        for (let i = 0; i < n * sizes[l + 1]; i++) a[i] = sigmoid(a[i]);
      }
    }],
    ["softmax, loss, output delta", () => softmaxLossDelta(ws.zOut, h, ws.deltas[last], y, n)],
    ["kernel weightGradient", () => {
      for (let l = last; l >= 0; l--) k.weightGradient(grad, ws.deltas[l], input(l), offsets[l], n, sizes[l], sizes[l + 1]);
    }],
    ["kernel inputGradient", () => {
      for (let l = last; l > 0; l--) k.inputGradient(ws.deltas[l - 1], ws.deltas[l], input(l), params, offsets[l], n, sizes[l], sizes[l + 1]);
    }],
    ["zero the gradient", () => grad.fill(0)],
    ["momentum step", () => momentumStep(t.opt, params, grad)],
  ];
  const out = phases.map(([phase, fn]) => {
    const r = rate(fn, now, ms);
    return { phase, msPerBatch: r.ms / r.calls };
  });
  const whole = rate(() => trainBatch(t, data), now, ms);
  return [...out, { phase: "batch", msPerBatch: whole.ms / whole.calls }];
}

/** The phases of a batch prediction (predictBatch: gather, forward, argmax), each timed alone, then the whole. */
export function profilePrediction(m: Predictor, data: Digits, now: Clock, ms: number): Phase[] {
  const from = batchStart(0, m.rows, data.count);
  predictBatch(m, data, from);
  const { layout: { sizes, offsets }, kernels: k, params, Xb: X, wsb: ws, rows: n } = m;
  const last = sizes.length - 2;
  const h = ws.acts[last];
  const phases: [string, () => void][] = [
    ["gather (pixels / 255)", () => gather(X, data.pixels, from, n)],
    ["kernel linearForward", () => {
      for (let l = 0; l <= last; l++) k.linearForward(l === last ? ws.zOut : ws.acts[l], l === 0 ? X : ws.acts[l - 1], params, offsets[l], n, sizes[l], sizes[l + 1]);
    }],
    ["sigmoid of hidden layers", () => {
      for (let l = 0; l < last; l++) {
        const a = ws.acts[l];
        for (let i = 0; i < n * sizes[l + 1]; i++) a[i] = sigmoid(a[i]);
      }
    }],
    ["softmax and argmax", () => {
      softmax(ws.zOut, h, n);
      for (let r = 0; r < n; r++) argmaxRow(h, r, K);
    }],
  ];
  const out = phases.map(([phase, fn]) => {
    const r = rate(fn, now, ms);
    return { phase, msPerBatch: r.ms / r.calls };
  });
  const whole = rate(() => predictBatch(m, data, from), now, ms);
  return [...out, { phase: "batch", msPerBatch: whole.ms / whole.calls }];
}

/** forward's softmax of the output layer, z into h (network.ts's outputActivation). */
function softmax(z: Floats, h: Floats, n: number): void {
  for (let r = 0; r < n; r++) {
    const o = r * K;
    let max = -Infinity;
    for (let j = 0; j < K; j++) if (z[o + j] > max) max = z[o + j];
    let sum = 0;
    for (let j = 0; j < K; j++) {
      const e = Math.exp(z[o + j] - max);
      h[o + j] = e;
      sum += e;
    }
    for (let j = 0; j < K; j++) h[o + j] /= sum;
  }
}

/** costGradient's output layer: softmax of z into h, the loss's sum, δ = (h − y)/m (network.ts's loops). */
function softmaxLossDelta(z: Floats, h: Floats, dOut: Floats, y: ArrayLike<number>, n: number): number {
  let total = 0;
  softmax(z, h, n);
  for (let r = 0; r < n; r++) {
    const o = r * K;
    let max = -Infinity;
    for (let j = 0; j < K; j++) if (z[o + j] > max) max = z[o + j];
    let sum = 0;
    for (let j = 0; j < K; j++) sum += Math.exp(z[o + j] - max);
    total += Math.log(sum) - (z[o + y[r]] - max);
  }
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < K; j++) dOut[r * K + j] = (h[r * K + j] - (j === y[r] ? 1 : 0)) / n;
  }
  return total;
}

/** One dense kernel's speed: which kernel, its shape n × I × O, GFLOP/s counting 2·n·I·O. */
export interface KernelFigure {
  kernel: "linearForward" | "weightGradient" | "inputGradient";
  shape: string;
  gflops: number;
}

/** The buffers `measureKernels` takes for a shape, in floats: params, inp, out, grad, dInp, delta. */
export const kernelBuffers = (n: number, I: number, O: number): number[] => [O * (I + 1), n * I, n * O, O * (I + 1), n * I, n * O];

/**
 * The three kernels alone on dense inputs (uniform in [0, 1): no zero to skip), n rows of I inputs to O outputs, each
 * for at least `ms`.
 */
export function measureKernels(k: Kernels, n: number, I: number, O: number, now: Clock, ms: number): KernelFigure[] {
  const [params, inp, out, grad, dInp, delta] = kernelBuffers(n, I, O).map((len) => k.floats(Float32Array, len));
  let s = 12345;
  const next = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32);
  for (const a of [params, inp, delta]) for (let i = 0; i < a.length; i++) a[i] = next();
  for (let i = 0; i < params.length; i++) params[i] -= 0.5;
  const flops = 2 * n * I * O;
  const figure = (kernel: KernelFigure["kernel"], fn: () => void): KernelFigure => {
    const r = rate(fn, now, ms);
    return { kernel, shape: `${n}x${I}x${O}`, gflops: (r.calls * flops) / (r.ms * 1e6) };
  };
  return [
    figure("linearForward", () => k.linearForward(out, inp, params, 0, n, I, O)),
    figure("weightGradient", () => k.weightGradient(grad, delta, inp, 0, n, I, O)),
    figure("inputGradient", () => k.inputGradient(dInp, delta, inp, params, 0, n, I, O)),
  ];
}

/** Nonzero pixels over all pixels of the digits: the share of the first layer's products the kernels do not skip. */
export function pixelDensity(data: Digits): number {
  let nonzero = 0;
  for (let i = 0; i < data.count * D; i++) if (data.pixels[i] !== 0) nonzero++;
  return nonzero / (data.count * D);
}
