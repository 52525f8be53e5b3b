/**
 * The bilinear resampling of src/data/distort.ts (its header, "The map" and "Sampling"): each output pixel takes the
 * 0..255 image's bilinear value at its source position A⁻¹ (p − t) + (gx, gy), zero outside the frame, divided by 255.
 */
import type { Floats } from "../nn/layout";

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

/** out[outOffset + q] = the bilinear sample / 255 at the source position of output pixel q (the header's s(p)). */
export function sampleInto(
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
