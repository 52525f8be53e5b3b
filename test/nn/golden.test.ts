/**
 * The numeric core against golden values from an independent float64 numpy implementation
 * (scripts/golden_nn.py, which checks itself with the course's numerical gradient, a 40-digit mpmath evaluation
 * and the course's published values before writing test/nn/golden.json).
 *
 * The suite runs inside workerd, so the golden file is imported as a module rather than read from disk.
 */
import { describe, expect, test } from "vitest";
import { createLayout, type Loss } from "../../src/nn/layout";
import { nnCost } from "../../src/nn/network";
import golden from "./golden.json";

interface GoldenCase {
  name: string;
  layers: number[];
  loss: Loss;
  lambda: number;
  m: number;
  params: number[];
  X: number[][];
  y: number[];
  cost: number;
  gradient: number[];
}

const cases = golden.cases as GoldenCase[];

/** X (m rows of D) flattened row-major: row r, column c at r*D + c. */
function flatX(c: GoldenCase, Type: Float32ArrayConstructor | Float64ArrayConstructor): Float32Array | Float64Array {
  const D = c.layers[0];
  const out = new Type(c.m * D);
  c.X.forEach((row, r) => {
    expect(row).toHaveLength(D);
    row.forEach((v, col) => {
      out[r * D + col] = v;
    });
  });
  return out;
}

function maxAbs(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s = Math.max(s, Math.abs(v[i]));
  return s;
}

test("golden file is complete", () => {
  expect(golden.generator).toBe("scripts/golden_nn.py");
  expect(cases.length).toBeGreaterThanOrEqual(10);
  for (const c of cases) {
    const layout = createLayout(c.layers);
    expect(c.params, c.name).toHaveLength(layout.count);
    expect(c.gradient, c.name).toHaveLength(layout.count);
    expect(c.X, c.name).toHaveLength(c.m);
    expect(c.y, c.name).toHaveLength(c.m);
  }
});

describe("float64 agrees with the golden values to 1e-12 relative", () => {
  test.each(cases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const layout = createLayout(c.layers);
    const params = Float64Array.from(c.params);
    const grad = new Float64Array(layout.count).fill(Number.NaN);
    const J = nnCost(layout, c.loss, params, flatX(c, Float64Array), c.y, c.lambda, grad);

    expect(Math.abs(J - c.cost)).toBeLessThanOrEqual(1e-12 * Math.abs(c.cost));

    const scale = Math.max(maxAbs(c.gradient), 1e-300);
    let worst = 0;
    for (let i = 0; i < layout.count; i++) worst = Math.max(worst, Math.abs(grad[i] - c.gradient[i]));
    expect(worst).toBeLessThanOrEqual(1e-12 * scale);
    // the inputs are not touched
    expect(Array.from(params)).toEqual(c.params);
  });
});

describe("float32 (the same code) agrees with the golden cost to 1e-5 relative", () => {
  test.each(cases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const layout = createLayout(c.layers);
    const grad = new Float32Array(layout.count);
    const J = nnCost(layout, c.loss, Float32Array.from(c.params), flatX(c, Float32Array), c.y, c.lambda, grad);
    expect(Math.abs(J - c.cost)).toBeLessThanOrEqual(1e-5 * Math.abs(c.cost));
    expect(grad.every(Number.isFinite)).toBe(true);
  });
});
