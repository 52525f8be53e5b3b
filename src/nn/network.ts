/**
 * Forward propagation, cost and backpropagation of a fully connected sigmoid network, generic over the float
 * type: the same code runs in float64 (cost API, gradient checking) and float32 (training, serving).
 *
 * Buffers are row-major N × s(l) (one example per row); weights use the layout of layout.ts (column-major Θ, as
 * Octave), so each inner loop runs over a contiguous column of Θ. Backward *adds* into the gradient buffer. The hot
 * loops are the workspace's kernels (kernels.ts): the plain JS reference, or WebAssembly SIMD for float32.
 */
import { sigmoid, softplus } from "./activations";
import { jsKernels, type Kernels } from "./kernels";
import type { Floats, FloatsConstructor, Layout, Loss } from "./layout";

/** Scratch for a batch of up to `rows` examples, allocated once per batch size and reused. */
export interface Workspace {
  readonly rows: number;
  /** The kernels that run the hot loops; its buffers (and X, params, grad passed with it) are theirs. */
  readonly kernels: Kernels;
  /** acts[l]: N × s(l+1) activations of layer l+2 (hidden layers, then the output layer's h). */
  readonly acts: Floats[];
  /** deltas[l]: N × s(l+1) errors δ of the same layers. */
  readonly deltas: Floats[];
  /** N × K output pre-activations z(L), for the stable cost. */
  readonly zOut: Floats;
}

/**
 * Allocates a workspace for `rows` examples with the float type `Type` of the parameters, from `kernels` (the JS
 * reference by default; WebAssembly kernels allocate in their own memory and take float32 only).
 */
export function createWorkspace(layout: Layout, rows: number, Type: FloatsConstructor, kernels: Kernels = jsKernels): Workspace {
  if (!Number.isInteger(rows) || rows < 1) throw new RangeError(`createWorkspace: rows must be a positive integer, got ${rows}`);
  const widths = layout.sizes.slice(1);
  return {
    rows,
    kernels,
    acts: widths.map((s) => kernels.floats(Type, rows * s)),
    deltas: widths.map((s) => kernels.floats(Type, rows * s)),
    zOut: kernels.floats(Type, rows * widths[widths.length - 1]),
  };
}

function checkShapes(fn: string, layout: Layout, params: Floats, X: Floats, n: number, ws: Workspace): void {
  if (params.length !== layout.count) throw new RangeError(`${fn}: params has ${params.length} entries, expected ${layout.count}`);
  if (!Number.isInteger(n) || n < 1 || n > ws.rows) throw new RangeError(`${fn}: n = ${n} must be in 1..${ws.rows} (workspace rows)`);
  if (X.length < n * layout.sizes[0]) throw new RangeError(`${fn}: X has ${X.length} entries, expected at least ${n} × ${layout.sizes[0]}`);
}

/**
 * Forward propagation of n rows of X (N × D, row-major). Fills ws.acts and ws.zOut and returns the output
 * activations (N × K): sigmoid outputs for loss "sigmoid", softmax probabilities for "softmax".
 */
export function forward(layout: Layout, loss: Loss, params: Floats, X: Floats, n: number, ws: Workspace): Floats {
  checkShapes("forward", layout, params, X, n, ws);
  const { sizes, offsets } = layout;
  const last = sizes.length - 2;
  let inp = X;
  for (let l = 0; l <= last; l++) {
    const I = sizes[l];
    const O = sizes[l + 1];
    const out = l === last ? ws.zOut : ws.acts[l];
    ws.kernels.linearForward(out, inp, params, offsets[l], n, I, O);
    if (l < last) {
      for (let t = 0; t < n * O; t++) out[t] = sigmoid(out[t]);
    }
    inp = out;
  }
  const K = sizes[last + 1];
  outputActivation(loss, ws.zOut, ws.acts[last], n, K);
  return ws.acts[last];
}

function outputActivation(loss: Loss, z: Floats, h: Floats, n: number, K: number): void {
  if (loss === "sigmoid") {
    for (let t = 0; t < n * K; t++) h[t] = sigmoid(z[t]);
    return;
  }
  for (let r = 0; r < n; r++) {
    const o = r * K;
    let max = -Infinity;
    for (let k = 0; k < K; k++) if (z[o + k] > max) max = z[o + k];
    let sum = 0;
    for (let k = 0; k < K; k++) {
      const e = Math.exp(z[o + k] - max);
      h[o + k] = e;
      sum += e;
    }
    for (let k = 0; k < K; k++) h[o + k] /= sum;
  }
}

/** Σ over n rows of the unregularized loss, from the output pre-activations (stable: no log of 0). */
function dataLoss(loss: Loss, z: Floats, y: ArrayLike<number>, n: number, K: number): number {
  let total = 0;
  for (let r = 0; r < n; r++) {
    const o = r * K;
    const label = y[r];
    if (loss === "sigmoid") {
      // −y log h − (1−y) log(1−h) with h = g(z): softplus(−z) for the labelled unit, softplus(z) for the others.
      for (let k = 0; k < K; k++) total += k === label ? softplus(-z[o + k]) : softplus(z[o + k]);
    } else {
      let max = -Infinity;
      for (let k = 0; k < K; k++) if (z[o + k] > max) max = z[o + k];
      let sum = 0;
      for (let k = 0; k < K; k++) sum += Math.exp(z[o + k] - max);
      total += Math.log(sum) - (z[o + label] - max);
    }
  }
  return total;
}

/** Σ Θ² over every weight matrix, bias columns excluded. */
export function sumSquaredWeights(layout: Layout, params: Floats): number {
  const { sizes, offsets } = layout;
  let s = 0;
  for (let l = 0; l + 1 < sizes.length; l++) {
    const end = offsets[l] + sizes[l + 1] * (sizes[l] + 1);
    for (let t = offsets[l] + sizes[l + 1]; t < end; t++) s += params[t] * params[t];
  }
  return s;
}

/**
 * The course's nnCostFunction for any depth: returns J over the n rows of X (labels y in 0..K−1) with L2
 * regularization λ/(2m)·ΣΘ² (bias columns excluded), m = n. When `grad` is given it is overwritten with ∂J/∂params
 * in the flat layout: D = Δ/m plus (λ/m)·Θ on every column but the bias column.
 *
 * `regM` (default n) is the m of the regularization term only: a mini-batch of n rows drawn from a training set of
 * M examples passes M, so that its J and gradient estimate those of the whole set, (1/M)Σloss + λ/(2M)ΣΘ².
 */
export function costGradient(
  layout: Layout, loss: Loss, params: Floats, X: Floats, y: ArrayLike<number>, n: number,
  lambda: number, grad: Floats | null, ws: Workspace, regM: number = n,
): number {
  checkShapes("costGradient", layout, params, X, n, ws);
  if (y.length < n) throw new RangeError(`costGradient: y has ${y.length} labels, expected ${n}`);
  const { sizes, offsets } = layout;
  const last = sizes.length - 2;
  const K = sizes[last + 1];
  for (let r = 0; r < n; r++) {
    if (!Number.isInteger(y[r]) || y[r] < 0 || y[r] >= K) throw new RangeError(`costGradient: y[${r}] = ${y[r]} is not a label in 0..${K - 1}`);
  }
  const h = forward(layout, loss, params, X, n, ws);
  const m = n;
  // λ = 0 (most training) needs no pass over the weights for the regularization term.
  const J = dataLoss(loss, ws.zOut, y, n, K) / m + (lambda === 0 ? 0 : (lambda / (2 * regM)) * sumSquaredWeights(layout, params));
  if (grad === null) return J;
  if (grad.length !== layout.count) throw new RangeError(`costGradient: grad has ${grad.length} entries, expected ${layout.count}`);

  // δ(L) = (h − y)/m for both losses (sigmoid + cross-entropy, softmax + categorical cross-entropy): the course's
  // D = Δ/m, with the 1/m taken into δ so that backpropagation yields D directly, without a pass over the gradient.
  const dOut = ws.deltas[last];
  for (let r = 0; r < n; r++) {
    for (let k = 0; k < K; k++) dOut[r * K + k] = (h[r * K + k] - (k === y[r] ? 1 : 0)) / m;
  }
  grad.fill(0);
  for (let l = last; l >= 0; l--) {
    const inp = l === 0 ? X : ws.acts[l - 1];
    ws.kernels.weightGradient(grad, ws.deltas[l], inp, offsets[l], n, sizes[l], sizes[l + 1]);
    if (l > 0) ws.kernels.inputGradient(ws.deltas[l - 1], ws.deltas[l], inp, params, offsets[l], n, sizes[l], sizes[l + 1]);
  }
  if (lambda !== 0) {
    for (let l = 0; l <= last; l++) {
      const end = offsets[l] + sizes[l + 1] * (sizes[l] + 1);
      for (let t = offsets[l] + sizes[l + 1]; t < end; t++) grad[t] += (lambda / regM) * params[t];
    }
  }
  return J;
}

/**
 * Adds the course's regularization for m examples to a gradient of the data term: (λ/m)·Θ on every column but the
 * bias column. Returns the cost term λ/(2m)·ΣΘ².
 */
export function regularize(layout: Layout, params: Floats, lambda: number, m: number, grad: Floats): number {
  const { sizes, offsets } = layout;
  for (let l = 0; l + 1 < sizes.length; l++) {
    const end = offsets[l] + sizes[l + 1] * (sizes[l] + 1);
    for (let t = offsets[l] + sizes[l + 1]; t < end; t++) grad[t] += (lambda / m) * params[t];
  }
  return (lambda / (2 * m)) * sumSquaredWeights(layout, params);
}

/** Convenience for one-off calls (cost API, checks): allocates a workspace of the parameters' float type. */
export function nnCost(
  layout: Layout, loss: Loss, params: Floats, X: Floats, y: ArrayLike<number>, lambda: number, grad: Floats | null = null,
): number {
  const n = y.length;
  const Type = params instanceof Float32Array ? Float32Array : Float64Array;
  return costGradient(layout, loss, params, X, y, n, lambda, grad, createWorkspace(layout, n, Type));
}

/** Index of the largest of the K outputs of row r (the predicted class; the first on ties). */
export function argmaxRow(h: Floats, r: number, K: number): number {
  let best = 0;
  for (let k = 1; k < K; k++) if (h[r * K + k] > h[r * K + best]) best = k;
  return best;
}

/** Forward only: Σ over n rows of the unregularized loss, and how many rows are classified correctly. */
export function evaluateRows(
  layout: Layout, loss: Loss, params: Floats, X: Floats, y: ArrayLike<number>, n: number, ws: Workspace,
): { lossSum: number; correct: number } {
  const K = layout.sizes[layout.sizes.length - 1];
  const h = forward(layout, loss, params, X, n, ws);
  let correct = 0;
  for (let r = 0; r < n; r++) if (argmaxRow(h, r, K) === y[r]) correct++;
  return { lossSum: dataLoss(loss, ws.zOut, y, n, K), correct };
}

/** How many of the n rows whose outputs were just computed (ws after forward or costGradient) are classified correctly. */
export function countCorrect(layout: Layout, ws: Workspace, y: ArrayLike<number>, n: number): number {
  const K = layout.sizes[layout.sizes.length - 1];
  const h = ws.acts[ws.acts.length - 1];
  let correct = 0;
  for (let r = 0; r < n; r++) if (argmaxRow(h, r, K) === y[r]) correct++;
  return correct;
}
