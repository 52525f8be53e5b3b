/**
 * Digits as the page's canvas tends to produce them, made from MNIST by a fixed transformation: strokes thickened by
 * one pixel in every direction (a 3 × 3 maximum filter: a finger or a mouse draws wider lines than MNIST's pen) and
 * the digit moved off MNIST's centring by (dx, dy) pixels (MNIST centres each digit's mass; a drawing is where it was
 * drawn). Pure and deterministic: the refresh tests and `npm run demo:refresh` make their corrections with it.
 */

/** The default shift: 4 pixels right and 3 down. */
export const CANVAS_SHIFT = { dx: 4, dy: 3 } as const;

/** A 3 × 3 maximum filter of one rows × cols image: every pixel becomes the brightest of its neighbourhood. */
export function thicken(pixels: Uint8Array, rows: number, cols: number): Uint8Array {
  const out = new Uint8Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      let max = 0;
      for (let i = Math.max(0, r - 1); i <= Math.min(rows - 1, r + 1); i++) {
        for (let j = Math.max(0, c - 1); j <= Math.min(cols - 1, c + 1); j++) max = Math.max(max, pixels[i * cols + j]);
      }
      out[r * cols + c] = max;
    }
  }
  return out;
}

/** One rows × cols image moved dx pixels right and dy down (negative: left, up); what leaves the frame is lost. */
export function shift(pixels: Uint8Array, rows: number, cols: number, dx: number, dy: number): Uint8Array {
  const out = new Uint8Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const from = r - dy;
    if (from < 0 || from >= rows) continue;
    for (let c = 0; c < cols; c++) {
      const j = c - dx;
      if (j >= 0 && j < cols) out[r * cols + c] = pixels[from * cols + j];
    }
  }
  return out;
}

/** An MNIST digit as the canvas draws it: thickened, then shifted by CANVAS_SHIFT (or the shift given). */
export function canvasStyle(pixels: Uint8Array, rows: number, cols: number, { dx, dy }: { dx: number; dy: number } = CANVAS_SHIFT): Uint8Array {
  return shift(thicken(pixels, rows, cols), rows, cols, dx, dy);
}
