/**
 * Real handwriting that is not MNIST (GET /v1/handwriting: the UCI optical digits, 8 × 8, values 0..16) in the form
 * the page sends for a drawing, so that the page, `npm run eval:handwriting` and `npm run demo:refresh` measure the
 * served model on the same inputs:
 *
 * 1. ink = value / 16 (each value counts the set pixels of a 4 × 4 block of the original 32 × 32 bitmap);
 * 2. upsampled to 32 × 32 bilinearly, pixel centres aligned: output index j (0..31) samples the source at
 *    u = (j + ½) / 4 − ½ in source pixel indices, clamped to [0, 7] at the edges, interpolated between ⌊u⌋ and ⌊u⌋ + 1;
 *    the same in x and y;
 * 3. the pad's own preprocessing (preprocess.js toMnist): bounding box scaled into 20 × 20, centred by centre of mass.
 *
 * Pure functions over arrays, no DOM.
 */
import { toMnist } from "./preprocess.js";

/** Side of the source digits, of the upsampled drawing, and the largest source value. */
export const SOURCE_SIDE = 8;
export const UPSAMPLED_SIDE = 32;
export const SOURCE_MAX = 16;

/**
 * Bilinear upsampling of a side × side image by `factor`, pixel centres aligned and the edges clamped: output index j
 * samples source coordinate u = (j + ½) / factor − ½, clamped to [0, side − 1].
 * @param {ArrayLike<number>} src  side × side, row-major
 * @returns {Float32Array}  (side·factor)², row-major
 */
export function upsampleBilinear(src, side, factor) {
  const out = side * factor;
  // Per output index: the lower source index and the weight of the upper one (the same for rows and columns).
  const lo = new Int32Array(out);
  const w = new Float64Array(out);
  for (let j = 0; j < out; j++) {
    const u = Math.min(side - 1, Math.max(0, (j + 0.5) / factor - 0.5));
    lo[j] = Math.min(side - 2, Math.floor(u));
    w[j] = u - lo[j];
  }
  const img = new Float32Array(out * out);
  for (let y = 0; y < out; y++) {
    const r0 = lo[y] * side;
    const r1 = r0 + side;
    const wy = w[y];
    for (let x = 0; x < out; x++) {
      const c0 = lo[x];
      const wx = w[x];
      const top = src[r0 + c0] * (1 - wx) + src[r0 + c0 + 1] * wx;
      const bottom = src[r1 + c0] * (1 - wx) + src[r1 + c0 + 1] * wx;
      img[y * out + x] = top * (1 - wy) + bottom * wy;
    }
  }
  return img;
}

/**
 * One 8 × 8 digit (values 0..16) as the page's input: 784 intensities in [0, 1].
 * @param {ArrayLike<number>} values
 * @returns {Float32Array}
 */
export function toPageForm(values) {
  if (values.length !== SOURCE_SIDE * SOURCE_SIDE) throw new Error(`a digit has ${SOURCE_SIDE * SOURCE_SIDE} values, got ${values.length}`);
  const ink = Float32Array.from(values, (v) => v / SOURCE_MAX);
  const image = toMnist(upsampleBilinear(ink, SOURCE_SIDE, UPSAMPLED_SIDE / SOURCE_SIDE), UPSAMPLED_SIDE, UPSAMPLED_SIDE);
  if (image === null) throw new Error("an empty digit");
  return image;
}
