/**
 * The augmentation's draws and deterministic maths (src/data/distort.ts's header, "Draws" and "Exactness"):
 * counter-based uniforms from an example's key, and sin, cos, e^−x and the truncated Gaussian as Taylor polynomials in
 * IEEE +, −, ×, ÷ only, so that every engine computes the same bits.
 */

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
export function uniform(k0: number, k1: number, i: number): number {
  return ((fmix32(fmix32((k0 + Math.imul(i, GAMMA)) | 0) ^ k1) >>> 0) + 0.5) * TWO_M31 - 1;
}

/** a[q] = draw first + q of the example keyed (k0, k1), for every q (fmix32 inlined: the elastic fields' hot loop). */
export function fillUniform(a: Float64Array, k0: number, k1: number, first: number): void {
  for (let q = 0, h = (k0 + Math.imul(first, GAMMA)) | 0; q < a.length; q++, h = (h + GAMMA) | 0) {
    let z = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    z = (z ^ (z >>> 16) ^ k1) | 0;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    a[q] = (((z ^ (z >>> 16)) >>> 0) + 0.5) * TWO_M31 - 1;
  }
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

/** The normalized truncated Gaussian of distort.ts's header: 2R + 1 taps, R = ⌈3σ⌉, centre at index R. */
export function gaussianKernel(sigma: number): Float64Array {
  const R = Math.ceil(3 * sigma);
  const w = new Float64Array(2 * R + 1);
  let sum = 0;
  for (let k = -R; k <= R; k++) sum += w[k + R] = taylorExpNeg((k * k) / (2 * sigma * sigma));
  for (let k = 0; k < w.length; k++) w[k] /= sum;
  return w;
}
