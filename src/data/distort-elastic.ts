/**
 * The elastic displacement field of src/data/distort.ts (its header, "Elastic"): an example's raw uniforms ex, ey
 * (draws 6.. and 6 + rows·cols..) smoothed by the separable truncated Gaussian, down the columns then along the rows,
 * α in the second pass's taps. The JavaScript loops here are the reference; src/data/distort-wasm.ts runs the same
 * operations in the same order in WebAssembly SIMD (assembly/distort.ts), with the same bits as the result.
 */
import { fillUniform, gaussianKernel } from "./draws";

/** α·G_σ ∗ (ex, ey) of one example at a time, into gx and gy (rows × cols float64 each, the image's layout). */
export interface ElasticField {
  /** Where the loops run: "js" (here) or "wasm-simd" (distort-wasm.ts). */
  readonly impl: "js" | "wasm-simd";
  readonly gx: Float64Array;
  readonly gy: Float64Array;
  /** The field of the example keyed (k0, k1) (draws.ts's exampleKey) into gx, gy. Allocates nothing. */
  compute(k0: number, k1: number): void;
}

/** An elastic field for rows × cols images, alpha and sigma (checked by the caller: distort.ts's limits). */
export type ElasticFieldFactory = (rows: number, cols: number, alpha: number, sigma: number) => ElasticField;

/** The Gaussian's taps for sigma, and the same times alpha (the second pass's, so that α costs no multiply of its own). */
export function elasticTaps(alpha: number, sigma: number): { kernel: Float64Array; kernelAlpha: Float64Array } {
  const kernel = gaussianKernel(sigma);
  return { kernel, kernelAlpha: kernel.map((w) => alpha * w) };
}

/**
 * One pass of the Gaussian down the columns of two n × m fields, written transposed (m × n): b[c·n + i] is
 * Σ_k w[k − i + R]·a[k·m + c] over the rows k of the frame within R of i, from the lowest, two columns at a time (four
 * independent sums, so that the adds overlap). Two passes smooth along both axes and restore the orientation.
 */
function smoothDownTransposed(
  ax: Float64Array,
  ay: Float64Array,
  bx: Float64Array,
  by: Float64Array,
  w: Float64Array,
  n: number,
  m: number,
): void {
  const R = (w.length - 1) >> 1;
  const m2 = m & ~1;
  for (let i = 0; i < n; i++) {
    const lo = i - R < 0 ? 0 : i - R;
    const hi = i + R > n - 1 ? n - 1 : i + R;
    const t = R - i;
    for (let c = 0; c < m2; c += 2) {
      let x0 = 0, x1 = 0, y0 = 0, y1 = 0;
      for (let k = lo, at = lo * m + c; k <= hi; k++, at += m) {
        const wk = w[k + t];
        x0 += wk * ax[at];
        x1 += wk * ax[at + 1];
        y0 += wk * ay[at];
        y1 += wk * ay[at + 1];
      }
      const o = c * n + i;
      bx[o] = x0;
      bx[o + n] = x1;
      by[o] = y0;
      by[o + n] = y1;
    }
  }
  if (m2 < m) smoothLastColumn(ax, ay, bx, by, w, n, m);
}

/** smoothDownTransposed's last column when m is odd (apart: inside the loop above it slows the loop by a third). */
function smoothLastColumn(
  ax: Float64Array,
  ay: Float64Array,
  bx: Float64Array,
  by: Float64Array,
  w: Float64Array,
  n: number,
  m: number,
): void {
  const R = (w.length - 1) >> 1;
  const c = m - 1;
  for (let i = 0; i < n; i++) {
    const lo = i - R < 0 ? 0 : i - R;
    const hi = i + R > n - 1 ? n - 1 : i + R;
    let x = 0, y = 0;
    for (let k = lo, at = lo * m + c; k <= hi; k++, at += m) {
      x += w[k + R - i] * ax[at];
      y += w[k + R - i] * ay[at];
    }
    bx[c * n + i] = x;
    by[c * n + i] = y;
  }
}

/**
 * (gx, gy) = the two passes over (ex, ey) of rows × cols images: taps `kernel` down the columns into (hx, hy),
 * transposed, then `kernelAlpha` down those columns, which are the image's rows. Every field holds rows × cols.
 */
export function smoothField(
  ex: Float64Array,
  ey: Float64Array,
  hx: Float64Array,
  hy: Float64Array,
  gx: Float64Array,
  gy: Float64Array,
  kernel: Float64Array,
  kernelAlpha: Float64Array,
  rows: number,
  cols: number,
): void {
  smoothDownTransposed(ex, ey, hx, hy, kernel, rows, cols);
  smoothDownTransposed(hx, hy, gx, gy, kernelAlpha, cols, rows);
}

/** The JavaScript elastic field: its buffers made once, its draws and passes here. */
export const jsElasticField: ElasticFieldFactory = (rows, cols, alpha, sigma) => {
  const n = rows * cols;
  const { kernel, kernelAlpha } = elasticTaps(alpha, sigma);
  const [ex, ey, hx, hy, gx, gy] = Array.from({ length: 6 }, () => new Float64Array(n));
  return {
    impl: "js",
    gx,
    gy,
    compute(k0, k1) {
      fillUniform(ex, k0, k1, 6);
      fillUniform(ey, k0, k1, 6 + n);
      smoothField(ex, ey, hx, hy, gx, gy, kernel, kernelAlpha, rows, cols);
    },
  };
};
