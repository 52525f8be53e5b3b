/**
 * A drawing turned into an MNIST input, the way the MNIST digits were made: the digit's bounding box scaled to fit
 * a 20×20 box keeping its aspect ratio (anti-aliased), then placed in a 28×28 field so that its centre of mass is
 * at the field's centre (14, 14).
 *
 * Pure functions over arrays, no DOM: the page and the Node tests use the same code.
 *
 * The centre of mass is in pixel indices (x = Σ v·column / Σ v). MNIST put it at index (14, 14), not at the
 * geometric middle (13.5, 13.5): over the first 50 test digits it averages (14.05, 14.04), each within half a pixel
 * (the digits were shifted by whole pixels). Resampling works in continuous coordinates, where pixel (r, c) covers
 * [c, c+1) × [r, r+1) and index c is the point c + ½.
 */

/** Side of the MNIST field and of the box the digit is scaled into. */
export const FIELD = 28;
export const BOX = 20;
/** Where MNIST put a digit's centre of mass, in pixel indices (x and y). */
export const CENTER = 14;

/**
 * Bounding box of the pixels with ink > 0, or null for an empty drawing.
 * @param {ArrayLike<number>} ink  w × h intensities in [0, 1], row-major
 * @returns {{ x0: number, y0: number, x1: number, y1: number } | null}  x1, y1 exclusive
 */
export function boundingBox(ink, w, h) {
  let x0 = w, y0 = h, x1 = -1, y1 = -1;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (ink[y * w + x] > 0) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  return x1 < 0 ? null : { x0, y0, x1: x1 + 1, y1: y1 + 1 };
}

/**
 * Centre of mass of an image in pixel indices, or null when it has no mass.
 * @param {ArrayLike<number>} img  w × h, row-major
 */
export function centerOfMass(img, w, h) {
  let m = 0, sx = 0, sy = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = img[y * w + x];
      m += v;
      sx += v * x;
      sy += v * y;
    }
  }
  return m > 0 ? { x: sx / m, y: sy / m, mass: m } : null;
}

/**
 * Area-weighted resampling (a box filter, which anti-aliases): each source pixel of the box `b` is mapped to the
 * square of side `scale` at (ox + (x − b.x0)·scale, oy + (y − b.y0)·scale) in the target and adds its ink times
 * the area it covers to each target pixel it overlaps. Target pixels outside [0, tw) × [0, th) are dropped.
 */
function resample(ink, w, b, scale, ox, oy, tw, th) {
  const out = new Float32Array(tw * th);
  for (let y = b.y0; y < b.y1; y++) {
    const ty0 = oy + (y - b.y0) * scale;
    const ty1 = ty0 + scale;
    for (let x = b.x0; x < b.x1; x++) {
      const v = ink[y * w + x];
      if (v <= 0) continue;
      const tx0 = ox + (x - b.x0) * scale;
      const tx1 = tx0 + scale;
      for (let r = Math.max(0, Math.floor(ty0)); r < Math.min(th, Math.ceil(ty1)); r++) {
        const dy = Math.min(ty1, r + 1) - Math.max(ty0, r);
        if (dy <= 0) continue;
        for (let c = Math.max(0, Math.floor(tx0)); c < Math.min(tw, Math.ceil(tx1)); c++) {
          const dx = Math.min(tx1, c + 1) - Math.max(tx0, c);
          if (dx > 0) out[r * tw + c] += v * dx * dy;
        }
      }
    }
  }
  for (let i = 0; i < out.length; i++) out[i] = Math.min(1, out[i]);
  return out;
}

/**
 * The MNIST input for a drawing: 784 intensities in [0, 1], row-major 28×28, or null when nothing is drawn.
 * @param {ArrayLike<number>} ink  w × h intensities in [0, 1], row-major (1 = ink)
 * @returns {Float32Array | null}
 */
export function toMnist(ink, w, h) {
  const b = boundingBox(ink, w, h);
  if (b === null) return null;
  const scale = BOX / Math.max(b.x1 - b.x0, b.y1 - b.y0);
  // The digit's centre of mass in the scaled box (continuous coordinates), measured on the source: the box filter
  // keeps it, up to the discretization of the target grid.
  let m = 0, sx = 0, sy = 0;
  for (let y = b.y0; y < b.y1; y++) {
    for (let x = b.x0; x < b.x1; x++) {
      const v = ink[y * w + x];
      m += v;
      sx += v * (x - b.x0 + 0.5);
      sy += v * (y - b.y0 + 0.5);
    }
  }
  const cx = (sx / m) * scale;
  const cy = (sy / m) * scale;
  return resample(ink, w, b, scale, CENTER + 0.5 - cx, CENTER + 0.5 - cy, FIELD, FIELD);
}

/**
 * Ink of an RGBA image (canvas ImageData) from its alpha channel: the pad draws opaque strokes on a transparent
 * canvas, so alpha is the coverage of each pixel, anti-aliased edges included.
 * @param {Uint8ClampedArray} rgba
 */
export function inkFromAlpha(rgba, w, h) {
  const ink = new Float32Array(w * h);
  for (let i = 0; i < w * h; i++) ink[i] = rgba[4 * i + 3] / 255;
  return ink;
}
