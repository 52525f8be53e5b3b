/** The course's picture of the hidden layer: each first-layer unit's input weights as an image. */
import type { Floats, Layout } from "./layout";

/**
 * The input weights of the first `max` hidden units of layer 2 (bias excluded), each scaled on its own to 0..255
 * (min → 0, max → 255; a constant unit is 128), unit after unit: units × s1 bytes.
 */
export function unitImages(layout: Layout, params: Floats, max: number): { units: number; pixels: Uint8Array } {
  if (params.length !== layout.count) throw new RangeError(`unitImages: params has ${params.length} entries, expected ${layout.count}`);
  const D = layout.sizes[0];
  const H = layout.sizes[1];
  const units = Math.max(0, Math.min(H, Math.floor(max)));
  const pixels = new Uint8Array(units * D);
  for (let j = 0; j < units; j++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < D; i++) {
      const w = params[(i + 1) * H + j];
      if (w < lo) lo = w;
      if (w > hi) hi = w;
    }
    const scale = hi > lo ? 255 / (hi - lo) : 0;
    for (let i = 0; i < D; i++) pixels[j * D + i] = scale === 0 ? 128 : Math.round((params[(i + 1) * H + j] - lo) * scale);
  }
  return { units, pixels };
}
