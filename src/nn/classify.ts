/**
 * The network as a classifier, on top of `forward`: class probabilities and the predicted class of each row (what
 * serving answers), and per-class counts over uint8 images as the datasets store them (what an import and a refresh
 * are measured with).
 * Serving, evaluation and training all run the same forward pass.
 */
import type { Floats, Layout, Loss } from "./layout";
import { argmaxRow, forward, type Workspace } from "./network";
import { pixelsToUnit } from "./pixels";

/** One row's prediction: the most probable class (the first on ties) and one probability per class. */
export interface Prediction {
  label: number;
  probabilities: number[];
}

/**
 * Row r of the outputs `forward` just wrote into ws, as K probabilities summing to 1, into `p`: softmax outputs as
 * they are; the course's K independent sigmoid outputs normalized to h_k / Σ_j h_j, or, when every one underflowed to
 * 0, the softmax of z(L), which that ratio tends to as all z_k → −∞.
 */
export function rowProbabilities(loss: Loss, ws: Workspace, r: number, K: number, p: Floats): void {
  const h = ws.acts[ws.acts.length - 1];
  let sum = 0;
  for (let k = 0; k < K; k++) sum += h[r * K + k];
  if (loss === "softmax" || sum > 0) {
    const scale = loss === "softmax" ? 1 : sum;
    for (let k = 0; k < K; k++) p[k] = h[r * K + k] / scale;
    return;
  }
  const z = ws.zOut;
  let max = -Infinity;
  for (let k = 0; k < K; k++) if (z[r * K + k] > max) max = z[r * K + k];
  let total = 0;
  for (let k = 0; k < K; k++) total += Math.exp(z[r * K + k] - max);
  for (let k = 0; k < K; k++) p[k] = Math.exp(z[r * K + k] - max) / total;
}

/**
 * Predicts every row (each s1 inputs) with forward passes of at most ws.rows rows through the scratch X (at least
 * ws.rows × s1, of the workspace's kernels); probabilities come in the parameters' float type. The rows' lengths are
 * the caller's to check.
 */
export function classify(layout: Layout, loss: Loss, params: Floats, rows: readonly ArrayLike<number>[], ws: Workspace, X: Floats): Prediction[] {
  const D = layout.sizes[0];
  const K = layout.sizes[layout.sizes.length - 1];
  if (X.length < ws.rows * D) throw new RangeError(`classify: X has ${X.length} entries, expected at least ${ws.rows} × ${D}`);
  const chunk = Math.min(rows.length, ws.rows);
  const p = new (params instanceof Float32Array ? Float32Array : Float64Array)(K);
  const out: Prediction[] = [];
  for (let start = 0; start < rows.length; start += chunk) {
    const n = Math.min(chunk, rows.length - start);
    for (let r = 0; r < n; r++) X.set(rows[start + r], r * D);
    forward(layout, loss, params, X, n, ws);
    for (let r = 0; r < n; r++) {
      rowProbabilities(loss, ws, r, K, p);
      out.push({ label: argmaxRow(p, 0, K), probabilities: Array.from(p) });
    }
  }
  return out;
}

/**
 * Per class k: how many of the n = labels.length images in `pixels` have label k (`total[k]`) and how many of them are
 * classified k (`correct[k]`), added to the counts given; forward passes of at most ws.rows rows through the scratch X
 * (at least ws.rows × s1), each pixel byte / 255.
 */
export function classCounts(
  layout: Layout, loss: Loss, params: Floats, pixels: Uint8Array, labels: Uint8Array, ws: Workspace, X: Floats,
  correct: Uint32Array, total: Uint32Array,
): void {
  const D = layout.sizes[0];
  const K = layout.sizes[layout.sizes.length - 1];
  const n = labels.length;
  if (pixels.length !== n * D) throw new RangeError(`classCounts: pixels has ${pixels.length} bytes, expected ${n} × ${D}`);
  if (X.length < ws.rows * D) throw new RangeError(`classCounts: X has ${X.length} entries, expected at least ${ws.rows} × ${D}`);
  if (correct.length < K || total.length < K) throw new RangeError(`classCounts: the counts need ${K} entries`);
  for (let from = 0; from < n; from += ws.rows) {
    const m = Math.min(ws.rows, n - from);
    pixelsToUnit(X, 0, pixels, from * D, m * D);
    const h = forward(layout, loss, params, X, m, ws);
    for (let r = 0; r < m; r++) {
      const y = labels[from + r];
      if (y >= K) continue;
      total[y]++;
      if (argmaxRow(h, r, K) === y) correct[y]++;
    }
  }
}

/**
 * The predicted class of each of the n = labels.length images in `pixels` (each byte / 255) into `predicted` from
 * `at` on, with forward passes of at most ws.rows rows through the scratch X (at least ws.rows × s1). Two models'
 * predictions on the same images tell which examples each gets right (a refresh's paired comparison).
 */
export function predictImages(
  layout: Layout, loss: Loss, params: Floats, pixels: Uint8Array, n: number, ws: Workspace, X: Floats, predicted: Uint8Array, at: number,
): void {
  const D = layout.sizes[0];
  const K = layout.sizes[layout.sizes.length - 1];
  if (pixels.length !== n * D) throw new RangeError(`predictImages: pixels has ${pixels.length} bytes, expected ${n} × ${D}`);
  if (X.length < ws.rows * D) throw new RangeError(`predictImages: X has ${X.length} entries, expected at least ${ws.rows} × ${D}`);
  if (predicted.length < at + n) throw new RangeError(`predictImages: predicted has ${predicted.length} entries, expected at least ${at} + ${n}`);
  if (K > 256) throw new RangeError(`predictImages: ${K} classes do not fit a byte`);
  for (let from = 0; from < n; from += ws.rows) {
    const m = Math.min(ws.rows, n - from);
    pixelsToUnit(X, 0, pixels, from * D, m * D);
    const h = forward(layout, loss, params, X, m, ws);
    for (let r = 0; r < m; r++) predicted[at + from + r] = argmaxRow(h, r, K);
  }
}
