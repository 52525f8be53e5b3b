/**
 * The first layer's hidden units as pictures, as the course shows them: unit j's 784 input weights Θ1(j, 1..784)
 * (bias excluded) laid out as a 28×28 image, one tile per unit, in a grid. The API sends each unit min-max scaled
 * to 0..255 (`GET /v1/runs/:id/units`, `GET /v1/models/:id/units`).
 */
import { decodeBase64 } from "./api.js";

/** Gap between tiles, in image pixels. */
const GAP = 1;

/**
 * Draws `data` ({ units, rows, cols, pixels: base64 of units × rows × cols bytes }) into `canvas`; returns the
 * number of units drawn.
 * @param {HTMLCanvasElement} canvas
 */
export function drawUnits(canvas, data) {
  const { units, rows, cols } = data;
  const bytes = decodeBase64(data.pixels);
  if (units < 1 || bytes.length !== units * rows * cols) throw new Error(`units: expected ${units}×${rows}×${cols} bytes, got ${bytes.length}`);
  const across = Math.ceil(Math.sqrt(units));
  const down = Math.ceil(units / across);
  canvas.width = across * (cols + GAP) + GAP;
  canvas.height = down * (rows + GAP) + GAP;
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(canvas.width, canvas.height);
  img.data.fill(255); // white gaps, opaque
  for (let u = 0; u < units; u++) {
    const left = GAP + (u % across) * (cols + GAP);
    const top = GAP + Math.floor(u / across) * (rows + GAP);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const v = bytes[u * rows * cols + r * cols + c];
        const at = 4 * ((top + r) * canvas.width + left + c);
        img.data[at] = img.data[at + 1] = img.data[at + 2] = v;
      }
    }
  }
  ctx.putImageData(img, 0, 0);
  canvas.dataset.units = String(units);
  return units;
}
