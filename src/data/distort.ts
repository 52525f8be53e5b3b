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
 *
 * Files. The draws and the Taylor maths are in draws.ts, the elastic field's loops in distort-elastic.ts (JavaScript)
 * and distort-wasm.ts (the same operations in WebAssembly SIMD, the same bits), the bilinear sampling in
 * distort-sample.ts; the spec, the map and the augmenter here.
 */
import type { Floats } from "../nn/layout";
import { pixelsToUnit } from "../nn/pixels";
import { elasticTaps, jsElasticField, smoothField, type ElasticField, type ElasticFieldFactory } from "./distort-elastic";
import { sampleInto } from "./distort-sample";
import { exampleKey, fillUniform, taylorCos, taylorSin, uniform } from "./draws";

export { exampleKey, gaussianKernel, KEY_WORDS, taylorCos, taylorExpNeg, taylorSin } from "./draws";
export type { ElasticField, ElasticFieldFactory } from "./distort-elastic";

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

function checkExample(seed: number, epoch: number, index: number): void {
  if (!isUint32(seed) || !isUint32(epoch) || !isUint32(index)) {
    throw new RangeError(`drawParams: seed, epoch and index must be uint32, got ${seed}, ${epoch}, ${index}`);
  }
}

/** Draws 0..5 (the affine map) of the example keyed (k0, k1) into p, and the spec's elastic part. */
function drawAffine(spec: AugmentSpec, k0: number, k1: number, p: DistortParams): void {
  p.angle = (spec.rotate ?? 0) * uniform(k0, k1, 0);
  p.shear = (spec.shear ?? 0) * uniform(k0, k1, 1);
  p.sx = 1 + (spec.scale ?? 0) * uniform(k0, k1, 2);
  p.sy = 1 + (spec.scale ?? 0) * uniform(k0, k1, 3);
  p.tx = (spec.translate ?? 0) * uniform(k0, k1, 4);
  p.ty = (spec.translate ?? 0) * uniform(k0, k1, 5);
  p.elastic = spec.elastic ?? null;
}

function draw(spec: AugmentSpec, seed: number, epoch: number, index: number, p: DistortParams): void {
  checkExample(seed, epoch, index);
  const k0 = exampleKey(0, seed, epoch, index), k1 = exampleKey(1, seed, epoch, index);
  drawAffine(spec, k0, k1, p);
  if (p.elastic === null) return;
  fillUniform(p.ex, k0, k1, 6);
  fillUniform(p.ey, k0, k1, 6 + p.ex.length);
}

/** Scratch for distortInto on rows × cols images. */
export function createDistortScratch(rows: number, cols: number): DistortScratch {
  checkImage("createDistortScratch", rows, cols);
  const n = rows * cols;
  const f = (length = n) => new Float64Array(length);
  const [hx, hy, gx, gy, zero] = [f(), f(), f(), f(), f()];
  return { rows, cols, hx, hy, gx, gy, zero, sigma: NaN, alpha: NaN, kernel: f(0), kernelAlpha: f(0), m: f(4) };
}

/** α·G_σ ∗ (ex, ey) into scratch.gx, scratch.gy: down the columns, then along the rows, α in the second pass's taps. */
function smoothFields(p: DistortParams, scratch: DistortScratch): void {
  const { alpha, sigma } = p.elastic!;
  if (scratch.sigma !== sigma || scratch.alpha !== alpha) {
    ({ kernel: scratch.kernel, kernelAlpha: scratch.kernelAlpha } = elasticTaps(alpha, sigma));
    scratch.sigma = sigma;
    scratch.alpha = alpha;
  }
  const { hx, hy, gx, gy, kernel, kernelAlpha } = scratch;
  smoothField(p.ex, p.ey, hx, hy, gx, gy, kernel, kernelAlpha, p.rows, p.cols);
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

/** Throws unless the n pixels at pixels[offset..] and the n floats at out[outOffset..] are in their buffers. */
function checkBuffers(fn: string, pixels: Uint8Array, offset: number, n: number, out: Floats, outOffset: number): void {
  if (!(offset >= 0 && offset + n <= pixels.length)) {
    throw new RangeError(`${fn}: pixels hold ${pixels.length} bytes, the image is at ${offset}..${offset + n}`);
  }
  if (!(outOffset >= 0 && outOffset + n <= out.length)) {
    throw new RangeError(`${fn}: out holds ${out.length} floats, the image goes to ${outOffset}..${outOffset + n}`);
  }
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
  checkBuffers("distortInto", pixels, offset, n, out, outOffset);
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

/** The augmentation of rows × cols images by one spec: params and scratch made once, so `apply` allocates nothing. */
export interface Augmenter {
  readonly spec: AugmentSpec;
  /** Where the elastic field's loops run ("js" or "wasm-simd": the same bits), or null without an elastic part. */
  readonly elastic: ElasticField["impl"] | null;
  /** drawParams(spec, rows, cols, seed, epoch, index) then distortInto(pixels, offset, …, out, outOffset), bit for bit. */
  apply(pixels: Uint8Array, offset: number, seed: number, epoch: number, index: number, out: Floats, at: number): void;
}

/**
 * The elastic fields createAugmenter makes unless told: the JavaScript loops, until the runtime that holds the
 * compiled WebAssembly installs its own (src/kernels.ts does, in the Worker). Both give the same bits
 * (test/data/distort-wasm.test.ts), so which one is installed changes no output, only the time.
 */
let defaultElasticFields: ElasticFieldFactory = jsElasticField;

/** Installs the elastic fields createAugmenter makes from now on (jsElasticField again to undo). */
export function useElasticFields(factory: ElasticFieldFactory): void {
  defaultElasticFields = factory;
}

/** The augmenter of `spec` (checked here) for rows × cols images, its elastic field from `fields`. */
export function createAugmenter(given: AugmentSpec, rows: number, cols: number, fields = defaultElasticFields): Augmenter {
  checkAugmentSpec(given);
  checkImage("createAugmenter", rows, cols);
  const spec: AugmentSpec = { ...given, ...(given.elastic && { elastic: { ...given.elastic } }) };
  const n = rows * cols;
  const params = createDistortParams(rows, cols);
  const field = spec.elastic === undefined ? null : fields(rows, cols, spec.elastic.alpha, spec.elastic.sigma);
  const zero = new Float64Array(field === null ? n : 0);
  const m = new Float64Array(4);
  return {
    spec,
    elastic: field?.impl ?? null,
    apply(pixels, offset, seed, epoch, index, out, outOffset) {
      checkExample(seed, epoch, index);
      const k0 = exampleKey(0, seed, epoch, index), k1 = exampleKey(1, seed, epoch, index);
      drawAffine(spec, k0, k1, params);
      checkBuffers("apply", pixels, offset, n, out, outOffset);
      if (isIdentity(params)) return pixelsToUnit(out, outOffset, pixels, offset, n);
      inverseAffine(params, m);
      if (field !== null) field.compute(k0, k1);
      sampleInto(pixels, offset, rows, cols, m, params.tx, params.ty, field?.gx ?? zero, field?.gy ?? zero, out, outOffset);
    },
  };
}
