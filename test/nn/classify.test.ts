/** The classifier helpers of src/nn/classify.ts against the forward pass they sit on. */
import { describe, expect, test } from "vitest";
import { classCounts, classify, rowProbabilities } from "../../src/nn/classify";
import { randInitialize } from "../../src/nn/init";
import { createLayout, type Layout, type Loss } from "../../src/nn/layout";
import { argmaxRow, createWorkspace, evaluateRows, forward } from "../../src/nn/network";
import { nextDouble, seedRng } from "../../src/nn/random";

const layout = createLayout([6, 5, 4]);
const K = 4;
const D = 6;

function weights(seed: number, scale = 1): Float32Array {
  const p = new Float32Array(layout.count);
  randInitialize(layout, seedRng(seed), p, 2);
  return p.map((v) => v * scale);
}

function rowsOf(n: number, seed: number): number[][] {
  const rng = seedRng(seed);
  return Array.from({ length: n }, () => Array.from({ length: 6 }, () => nextDouble(rng)));
}

/** The forward pass of all rows at once: outputs h and pre-activations z, row-major. */
function reference(l: Layout, loss: Loss, params: Float32Array, rows: number[][]): { h: Float32Array; z: Float32Array } {
  const ws = createWorkspace(l, rows.length, Float32Array);
  const h = forward(l, loss, params, Float32Array.from(rows.flat()), rows.length, ws) as Float32Array;
  return { h: h.slice(), z: (ws.zOut as Float32Array).slice() };
}

describe("rowProbabilities", () => {
  test("softmax outputs are the probabilities as they are", () => {
    const params = weights(1);
    const rows = rowsOf(3, 2);
    const { h } = reference(layout, "softmax", params, rows);
    const ws = createWorkspace(layout, 3, Float32Array);
    forward(layout, "softmax", params, Float32Array.from(rows.flat()), 3, ws);
    const p = new Float32Array(K);
    for (let r = 0; r < 3; r++) {
      rowProbabilities("softmax", ws, r, K, p);
      expect(Array.from(p)).toEqual(Array.from(h.subarray(r * K, r * K + K)));
    }
  });

  test("sigmoid outputs are normalized to h_k / Σ h_j, in float32", () => {
    const params = weights(3);
    const rows = rowsOf(2, 4);
    const { h } = reference(layout, "sigmoid", params, rows);
    const ws = createWorkspace(layout, 2, Float32Array);
    forward(layout, "sigmoid", params, Float32Array.from(rows.flat()), 2, ws);
    const p = new Float32Array(K);
    rowProbabilities("sigmoid", ws, 1, K, p);
    const row = Array.from(h.subarray(K, 2 * K));
    const sum = row.reduce((a, b) => a + b, 0);
    expect(Array.from(p)).toEqual(row.map((v) => Math.fround(v / sum)));
    expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
  });

  test("sigmoid outputs that all underflow to 0 give the softmax of z(L), the ratio's limit", () => {
    const params = weights(5);
    // Output biases of −1000 push every z_k far below where float32's sigmoid is 0.
    for (let k = 0; k < K; k++) params[layout.offsets[1] + k] -= 1000;
    const rows = rowsOf(1, 6);
    const { h, z } = reference(layout, "sigmoid", params, rows);
    expect(Array.from(h)).toEqual([0, 0, 0, 0]);
    const ws = createWorkspace(layout, 1, Float32Array);
    forward(layout, "sigmoid", params, Float32Array.from(rows.flat()), 1, ws);
    const p = new Float32Array(K);
    rowProbabilities("sigmoid", ws, 0, K, p);
    const max = Math.max(...z);
    const e = Array.from(z, (v) => Math.exp(v - max));
    const total = e.reduce((a, b) => a + b, 0);
    expect(Array.from(p)).toEqual(e.map((v) => Math.fround(v / total)));
  });
});

describe("classify", () => {
  test.each(["softmax", "sigmoid"] as const)("%s: the forward pass's probabilities and argmax, the same in chunks of any size", (loss) => {
    const params = weights(7);
    const rows = rowsOf(11, 8);
    const { h } = reference(layout, loss, params, rows);
    const whole = classify(layout, loss, params, rows, createWorkspace(layout, 11, Float32Array), new Float32Array(11 * D));
    expect(whole.map((p) => p.label)).toEqual(rows.map((_, r) => argmaxRow(h, r, K)));
    for (const chunk of [1, 3, 4]) expect(classify(layout, loss, params, rows, createWorkspace(layout, chunk, Float32Array), new Float32Array(chunk * D))).toEqual(whole);
  });

  test("the predicted class is the first of equal probabilities", () => {
    const params = new Float32Array(layout.count); // all outputs equal
    expect(classify(layout, "softmax", params, rowsOf(1, 9), createWorkspace(layout, 1, Float32Array), new Float32Array(D))[0]).toEqual({ label: 0, probabilities: [0.25, 0.25, 0.25, 0.25] });
  });

  test("float64 parameters give float64 probabilities", () => {
    const params = Float64Array.from(weights(10));
    const [p] = classify(layout, "sigmoid", params, rowsOf(1, 11), createWorkspace(layout, 1, Float64Array), new Float64Array(D));
    expect(p.probabilities.some((v) => v !== Math.fround(v))).toBe(true);
  });
});

describe("classCounts", () => {
  test("counts per class what evaluateRows counts on pixels / 255, whatever the chunk size", () => {
    const rng = seedRng(12);
    const n = 13;
    const pixels = Uint8Array.from({ length: n * 6 }, () => Math.floor(256 * nextDouble(rng)));
    const labels = Uint8Array.from({ length: n }, (_, i) => i % K);
    const params = weights(13);
    for (const loss of ["softmax", "sigmoid"] as const) {
      const X = Float32Array.from(pixels, (v) => v / 255);
      const ws = createWorkspace(layout, n, Float32Array);
      const expected = evaluateRows(layout, loss, params, X, labels, n, ws);
      const h = forward(layout, loss, params, X, n, ws);
      const perClass = new Uint32Array(K);
      for (let r = 0; r < n; r++) if (argmaxRow(h, r, K) === labels[r]) perClass[labels[r]]++;
      for (const rows of [1, 5, 13]) {
        const [correct, total] = [new Uint32Array(K), new Uint32Array(K)];
        classCounts(layout, loss, params, pixels, labels, createWorkspace(layout, rows, Float32Array), new Float32Array(rows * 6), correct, total);
        expect(correct.reduce((a, b) => a + b, 0)).toBe(expected.correct);
        expect(Array.from(correct)).toEqual(Array.from(perClass));
        expect(Array.from(total)).toEqual(Array.from({ length: K }, (_, k) => labels.filter((y) => y === k).length));
      }
    }
  });

  test("refuses pixels that are not labels × s1, and a scratch smaller than the workspace", () => {
    const ws = createWorkspace(layout, 2, Float32Array);
    const counts = () => [new Uint32Array(K), new Uint32Array(K)] as const;
    expect(() => classCounts(layout, "softmax", weights(1), new Uint8Array(11), new Uint8Array(2), ws, new Float32Array(12), ...counts())).toThrow(/classCounts: pixels has 11 bytes, expected 2 × 6/);
    expect(() => classCounts(layout, "softmax", weights(1), new Uint8Array(12), new Uint8Array(2), ws, new Float32Array(6), ...counts())).toThrow(/classCounts: X has 6 entries/);
  });
});
