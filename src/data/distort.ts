/**
 * Data augmentation as Simard et al. (2003) and Ciresan et al. (2010) distorted MNIST: a random affine map (rotation,
 * shear, scale, translation) and an elastic displacement field, resampled bilinearly. Pure and exact: the draws come
 * from (seed, epoch, index) alone, so any example of any epoch is augmented alone, repeatably, bit for bit.
 *
 * Coordinates. Pixel (r, c) is row r (downwards), column c; its centred coordinates are x = c − cx, y = r − cy with
 * cx = (cols − 1)/2, cy = (rows − 1)/2 (x right, y down, in pixels).
 *
 * Draws. Counter-based: draw i (i = 0, 1, …) of an example is b_i = f(f(k0 + i·γ) ⊕ k1) (uint32 arithmetic, f
 * murmur3's fmix32, γ = 0x9e3779b9), its key k_j = f(f(f(seed ⊕ KEY_WORDS[j]) ⊕ epoch) ⊕ index), and it is used as
 * u_i = (b_i + 0.5)/2³¹ − 1, uniform in (−1, 1) and symmetric. Draws 0..5 are angle = rotate·u₀, shear = shear·u₁
 * (degrees), sx = 1 + scale·u₂, sy = 1 + scale·u₃, tx = translate·u₄, ty = translate·u₅ (pixels), whatever the spec
 * holds (an absent part has value 0), so a part draws the same alone as with the others; with elastic, draws 6 + q
 * are ex[q] (the column displacement) and draws 6 + rows·cols + q are ey[q] (the row one), q = r·cols + c.
 *
 * The map. The content moves by u = A v + t in centred coordinates, A = R(θ)·Sh(φ)·S(sx, sy): scale first, then
 * shear, then rotation, then translation t = (tx, ty). R(θ) = [cos θ, sin θ; −sin θ, cos θ] turns content
 * counterclockwise as displayed for θ > 0 (y points down); Sh(φ) = [1, tan φ; 0, 1] moves lower rows right for φ > 0.
 * Output pixel p = (x, y) takes its value from the source position
 *   s(p) = A⁻¹ (p − t) + α·(gx(p), gy(p)),   A⁻¹ = S⁻¹·Sh(φ)⁻¹·R(θ)ᵀ,
 * where g is the elastic field at the output pixel, added in source pixels (so alone: out(p) = in(p + αg(p))).
 * Elastic: g = G_σ ∗ (ex, ey), a separable Gaussian: taps k = −R..R with R = ⌈3σ⌉ and weights
 * w_k = exp(−k²/2σ²) / Σ_{|j|≤R} exp(−j²/2σ²) (the truncated kernel sums to 1), zero padding outside the frame (no
 * renormalization at the borders), down the columns first, then along the rows.
 * Sampling: bilinear on the 0..255 pixels, zero outside the frame, then divided by 255 (so the output is in [0, 1]).
 *
 * Exactness. Only IEEE +, −, ×, ÷, floor, ceil and int32 arithmetic, the same on every engine: sin, cos, tan and exp
 * are Taylor polynomials here, not Math's (whose last bit may differ between engines and versions). With no part (or
 * every part 0) the output is exactly pixelsToUnit's p / 255.
 */
import type { Floats } from "../nn/layout";
import { pixelsToUnit } from "../nn/pixels";

/** Each part optional: rotate and shear in degrees (±), scale a fraction (1 ± it per axis), translate in pixels (±). */
export interface AugmentSpec {
  rotate?: number;
  shear?: number;
  scale?: number;
  translate?: number;
  elastic?: { alpha: number; sigma: number };
}

/** The largest value each part accepts (and the smallest elastic sigma): past these a digit is no longer a digit. */
export const AUGMENT_LIMITS = {
  rotate: 90,
  shear: 60,
  scale: 0.5,
  translate: 14,
  alpha: 100,
  sigma: { min: 0.5, max: 16 },
} as const;

const PARTS = ["rotate", "shear", "scale", "translate", "elastic"];

/** One example's draws (see the header); ex and ey hold the raw uniforms, meaningful when elastic is not null. */
export interface DistortParams {
  rows: number;
  cols: number;
  angle: number;
  shear: number;
  sx: number;
  sy: number;
  tx: number;
  ty: number;
  elastic: { alpha: number; sigma: number } | null;
  ex: Float64Array;
  ey: Float64Array;
}

/** Scratch of distortInto: the smoothed fields, the kernel of the last (sigma, alpha) seen, A⁻¹. Made once. */
export interface DistortScratch {
  rows: number;
  cols: number;
  hx: Float64Array;
  hy: Float64Array;
  gx: Float64Array;
  gy: Float64Array;
  zero: Float64Array;
  sigma: number;
  alpha: number;
  kernel: Float64Array;
  kernelAlpha: Float64Array;
  m: Float64Array;
}

/** The two words that make the two halves of an example's key (the first fractional digits of π). */
export const KEY_WORDS = [0x243f6a88, 0x85a308d3] as const;

/** murmur3's 32-bit finalizer, a bijection of uint32 (as an int32: callers take >>> 0). */
function fmix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

const GAMMA = 0x9e3779b9 | 0;
const TWO_M31 = 1 / 2147483648;

/** Half j (0 or 1) of the key of example (seed, epoch, index), as an int32. */
export function exampleKey(j: number, seed: number, epoch: number, index: number): number {
  return fmix32(fmix32(fmix32(seed ^ KEY_WORDS[j]) ^ epoch) ^ index);
}

/** Draw i of the example keyed (k0, k1), uniform in (−1, 1). */
function uniform(k0: number, k1: number, i: number): number {
  return ((fmix32(fmix32((k0 + Math.imul(i, GAMMA)) | 0) ^ k1) >>> 0) + 0.5) * TWO_M31 - 1;
}

/** a[q] = draw first + q of the example keyed (k0, k1), for every q (fmix32 inlined: the elastic fields' hot loop). */
function fillUniform(a: Float64Array, k0: number, k1: number, first: number): void {
  for (let q = 0, h = (k0 + Math.imul(first, GAMMA)) | 0; q < a.length; q++, h = (h + GAMMA) | 0) {
    let z = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    z = (z ^ (z >>> 16) ^ k1) | 0;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    a[q] = (((z ^ (z >>> 16)) >>> 0) + 0.5) * TWO_M31 - 1;
  }
}

function checkPart(name: string, v: number | undefined, min: number, max: number, optional = true): void {
  if (optional && v === undefined) return;
  if (!(typeof v === "number" && v >= min && v <= max)) {
    throw new RangeError(`augment spec: ${name} must be a number in ${min}..${max}, got ${v}`);
  }
}

/** Throws a RangeError naming the first part of the spec unknown or out of AUGMENT_LIMITS. */
export function checkAugmentSpec(spec: AugmentSpec): void {
  const L = AUGMENT_LIMITS;
  const unknown = Object.keys(spec).filter((k) => !PARTS.includes(k));
  if (unknown.length > 0) {
    throw new RangeError(`augment spec: unknown part ${unknown.join(", ")} (known: ${PARTS.join(", ")})`);
  }
  checkPart("rotate", spec.rotate, 0, L.rotate);
  checkPart("shear", spec.shear, 0, L.shear);
  checkPart("scale", spec.scale, 0, L.scale);
  checkPart("translate", spec.translate, 0, L.translate);
  if (spec.elastic === undefined) return;
  checkPart("elastic.alpha", spec.elastic.alpha, 0, L.alpha, false);
  checkPart("elastic.sigma", spec.elastic.sigma, L.sigma.min, L.sigma.max, false);
}

function checkImage(fn: string, rows: number, cols: number): void {
  for (const [name, v] of [["rows", rows], ["cols", cols]] as const) {
    if (!Number.isInteger(v) || v < 2 || v > 4096) {
      throw new RangeError(`${fn}: ${name} must be an integer in 2..4096, got ${v}`);
    }
  }
}

/** Params for rows × cols images, to be filled by drawParams (the fields allocated once). */
export function createDistortParams(rows: number, cols: number): DistortParams {
  checkImage("createDistortParams", rows, cols);
  const n = rows * cols;
  const ex = new Float64Array(n), ey = new Float64Array(n);
  return { rows, cols, angle: 0, shear: 0, sx: 1, sy: 1, tx: 0, ty: 0, elastic: null, ex, ey };
}

function isUint32(v: number): boolean {
  return Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
}

/** The draws of example `index` of `epoch` of a run with `seed` (each a uint32), into `out` (made when absent). */
export function drawParams(
  spec: AugmentSpec,
  rows: number,
  cols: number,
  seed: number,
  epoch: number,
  index: number,
  out?: DistortParams,
): DistortParams {
  checkAugmentSpec(spec);
  const p = out ?? createDistortParams(rows, cols);
  if (p.rows !== rows || p.cols !== cols) {
    throw new RangeError(`drawParams: out is for ${p.rows}×${p.cols} images, not ${rows}×${cols}`);
  }
  draw(spec, seed, epoch, index, p);
  return p;
}

function draw(spec: AugmentSpec, seed: number, epoch: number, index: number, p: DistortParams): void {
  if (!isUint32(seed) || !isUint32(epoch) || !isUint32(index)) {
    throw new RangeError(`drawParams: seed, epoch and index must be uint32, got ${seed}, ${epoch}, ${index}`);
  }
  const k0 = exampleKey(0, seed, epoch, index), k1 = exampleKey(1, seed, epoch, index);
  p.angle = (spec.rotate ?? 0) * uniform(k0, k1, 0);
  p.shear = (spec.shear ?? 0) * uniform(k0, k1, 1);
  p.sx = 1 + (spec.scale ?? 0) * uniform(k0, k1, 2);
  p.sy = 1 + (spec.scale ?? 0) * uniform(k0, k1, 3);
  p.tx = (spec.translate ?? 0) * uniform(k0, k1, 4);
  p.ty = (spec.translate ?? 0) * uniform(k0, k1, 5);
  p.elastic = spec.elastic ?? null;
  if (p.elastic === null) return;
  fillUniform(p.ex, k0, k1, 6);
  fillUniform(p.ey, k0, k1, 6 + p.ex.length);
}

/** sin t for |t| ≤ π/2: Taylor to t²⁵ (error below 1e-20), Horner's order. */
export function taylorSin(t: number): number {
  const t2 = t * t;
  let s = 1;
  for (let k = 12; k >= 1; k--) s = 1 - ((t2 / (2 * k)) / (2 * k + 1)) * s;
  return t * s;
}

/** cos t for |t| ≤ π/2: Taylor to t²⁴, Horner's order. */
export function taylorCos(t: number): number {
  const t2 = t * t;
  let c = 1;
  for (let k = 12; k >= 1; k--) c = 1 - ((t2 / (2 * k - 1)) / (2 * k)) * c;
  return c;
}

/** e^−x for x ≥ 0: halved until x ≤ 1/2 (exactly), Taylor to x¹⁸ there, then squared back. */
export function taylorExpNeg(x: number): number {
  let m = 0;
  for (; x > 0.5; m++) x /= 2;
  let e = 1;
  for (let k = 18; k >= 1; k--) e = 1 - (x / k) * e;
  for (; m > 0; m--) e *= e;
  return e;
}

/** The normalized truncated Gaussian of the header: 2R + 1 taps, R = ⌈3σ⌉, centre at index R. */
export function gaussianKernel(sigma: number): Float64Array {
  const R = Math.ceil(3 * sigma);
  const w = new Float64Array(2 * R + 1);
  let sum = 0;
  for (let k = -R; k <= R; k++) sum += w[k + R] = taylorExpNeg((k * k) / (2 * sigma * sigma));
  for (let k = 0; k < w.length; k++) w[k] /= sum;
  return w;
}

/** Scratch for distortInto on rows × cols images. */
export function createDistortScratch(rows: number, cols: number): DistortScratch {
  checkImage("createDistortScratch", rows, cols);
  const n = rows * cols;
  const f = (length = n) => new Float64Array(length);
  const [hx, hy, gx, gy, zero] = [f(), f(), f(), f(), f()];
  return { rows, cols, hx, hy, gx, gy, zero, sigma: NaN, alpha: NaN, kernel: f(0), kernelAlpha: f(0), m: f(4) };
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

/** α·G_σ ∗ (ex, ey) into scratch.gx, scratch.gy: down the columns, then along the rows, α in the second pass's taps. */
function smoothFields(p: DistortParams, scratch: DistortScratch): void {
  const { alpha, sigma } = p.elastic!;
  if (scratch.sigma !== sigma || scratch.alpha !== alpha) {
    scratch.kernel = gaussianKernel(sigma);
    scratch.kernelAlpha = scratch.kernel.map((w) => alpha * w);
    scratch.sigma = sigma;
    scratch.alpha = alpha;
  }
  const { rows, cols } = p;
  smoothDownTransposed(p.ex, p.ey, scratch.hx, scratch.hy, scratch.kernel, rows, cols);
  smoothDownTransposed(scratch.hx, scratch.hy, scratch.gx, scratch.gy, scratch.kernelAlpha, cols, rows);
}

/** A⁻¹ of the header, row-major into m[0..3]: S⁻¹·Sh⁻¹·Rᵀ, Sh⁻¹·Rᵀ being [cos − tan·sin, −sin − tan·cos; sin, cos]. */
export function inverseAffine(p: DistortParams, m: Float64Array): void {
  const th = (p.angle * Math.PI) / 180, ph = (p.shear * Math.PI) / 180;
  const cos = taylorCos(th), sin = taylorSin(th), tan = taylorSin(ph) / taylorCos(ph);
  m[0] = (cos - tan * sin) / p.sx;
  m[1] = (-sin - tan * cos) / p.sx;
  m[2] = sin / p.sy;
  m[3] = cos / p.sy;
}

function isIdentity(p: DistortParams): boolean {
  return p.elastic === null && p.angle === 0 && p.shear === 0 && p.sx === 1 && p.sy === 1 && p.tx === 0 && p.ty === 0;
}

/** The bilinear sample at (ys, xs) of an image whose 2 × 2 block at (r0, c0) straddles the frame's edge. */
function edgeSample(
  px: Uint8Array,
  offset: number,
  rows: number,
  cols: number,
  r0: number,
  c0: number,
  fr: number,
  fc: number,
): number {
  const i = offset + r0 * cols + c0;
  const top = r0 >= 0, bottom = r0 + 1 < rows, left = c0 >= 0, right = c0 + 1 < cols;
  const p00 = top && left ? px[i] : 0;
  const p01 = top && right ? px[i + 1] : 0;
  const p10 = bottom && left ? px[i + cols] : 0;
  const p11 = bottom && right ? px[i + cols + 1] : 0;
  const upper = p00 + fc * (p01 - p00);
  return upper + fr * (p10 + fc * (p11 - p10) - upper);
}

/**
 * The augmented image (header) of the rows × cols uint8 image at pixels[offset..], as floats in [0, 1] into
 * out[outOffset..]. Allocates nothing (but the kernel when the elastic sigma or alpha differ from the last call's).
 */
export function distortInto(
  pixels: Uint8Array,
  offset: number,
  rows: number,
  cols: number,
  p: DistortParams,
  out: Floats,
  outOffset: number,
  scratch: DistortScratch,
): void {
  const n = rows * cols;
  if (p.rows !== rows || p.cols !== cols || scratch.rows !== rows || scratch.cols !== cols) {
    const sizes = `params (${p.rows}×${p.cols}) and scratch (${scratch.rows}×${scratch.cols})`;
    throw new RangeError(`distortInto: ${sizes} must be for ${rows}×${cols} images`);
  }
  if (!(offset >= 0 && offset + n <= pixels.length)) {
    throw new RangeError(`distortInto: pixels hold ${pixels.length} bytes, the image is at ${offset}..${offset + n}`);
  }
  if (!(outOffset >= 0 && outOffset + n <= out.length)) {
    throw new RangeError(`distortInto: out holds ${out.length} floats, the image goes to ${outOffset}..${outOffset + n}`);
  }
  if (isIdentity(p)) return pixelsToUnit(out, outOffset, pixels, offset, n);
  inverseAffine(p, scratch.m);
  let gx = scratch.zero, gy = scratch.zero;
  if (p.elastic !== null) {
    smoothFields(p, scratch);
    gx = scratch.gx;
    gy = scratch.gy;
  }
  sampleInto(pixels, offset, rows, cols, scratch.m, p.tx, p.ty, gx, gy, out, outOffset);
}

/** out[outOffset + q] = the bilinear sample / 255 at the source position of output pixel q (the header's s(p)). */
function sampleInto(
  pixels: Uint8Array,
  offset: number,
  rows: number,
  cols: number,
  m: Float64Array,
  tx: number,
  ty: number,
  gx: Float64Array,
  gy: Float64Array,
  out: Floats,
  outOffset: number,
): void {
  const m00 = m[0], m01 = m[1], m10 = m[2], m11 = m[3];
  const cx = (cols - 1) / 2, cy = (rows - 1) / 2;
  for (let r = 0, q = 0; r < rows; r++) {
    const y = r - cy - ty;
    const bx = cx + m01 * y, by = cy + m11 * y;
    for (let c = 0; c < cols; c++, q++) {
      const x = c - cx - tx;
      const xs = bx + m00 * x + gx[q], ys = by + m10 * x + gy[q];
      const r0 = Math.floor(ys), c0 = Math.floor(xs);
      let v = 0;
      if (r0 >= 0 && r0 < rows - 1 && c0 >= 0 && c0 < cols - 1) {
        const i = offset + r0 * cols + c0, fr = ys - r0, fc = xs - c0;
        const p00 = pixels[i], p10 = pixels[i + cols];
        const upper = p00 + fc * (pixels[i + 1] - p00);
        v = upper + fr * (p10 + fc * (pixels[i + cols + 1] - p10) - upper);
      } else if (r0 >= -1 && r0 < rows && c0 >= -1 && c0 < cols) {
        v = edgeSample(pixels, offset, rows, cols, r0, c0, ys - r0, xs - c0);
      }
      out[outOffset + q] = v / 255;
    }
  }
}

/** The augmentation of rows × cols images by one spec: params and scratch made once, so `apply` allocates nothing. */
export interface Augmenter {
  readonly spec: AugmentSpec;
  /** drawParams(spec, rows, cols, seed, epoch, index) then distortInto(pixels, offset, …, out, outOffset). */
  apply(pixels: Uint8Array, offset: number, seed: number, epoch: number, index: number, out: Floats, at: number): void;
}

/** The augmenter of `spec` (checked here) for rows × cols images. */
export function createAugmenter(given: AugmentSpec, rows: number, cols: number): Augmenter {
  checkAugmentSpec(given);
  const spec: AugmentSpec = { ...given, ...(given.elastic && { elastic: { ...given.elastic } }) };
  const params = createDistortParams(rows, cols);
  const scratch = createDistortScratch(rows, cols);
  return {
    spec,
    apply(pixels, offset, seed, epoch, index, out, outOffset) {
      draw(spec, seed, epoch, index, params);
      distortInto(pixels, offset, rows, cols, params, out, outOffset, scratch);
    },
  };
}
