/**
 * src/nn/cg.ts against the course's own fmincg.m, run by Octave 7.3 on a stated synthetic problem
 * (test/nn/fixtures/fmincg-octave.json, copied from the reference outputs produced outside the project): the same
 * costs after each line search and the same final parameters, to float64 rounding that grows along the run.
 */
import { describe, expect, test } from "vitest";
import { fmincg } from "../../src/nn/fmincg";
import { createLayout } from "../../src/nn/layout";
import { nnCost } from "../../src/nn/network";
import golden from "./fixtures/fmincg-octave.json";

const { layers, m, lambda, iterations } = golden.problem;
const layout = createLayout(layers);
const D = layers[0];
const K = layers[layers.length - 1];

/** X(i, j) = sin(i + (j−1)·m) with 1-based i, j, stored row-major. */
const X = new Float64Array(m * D);
for (let i = 1; i <= m; i++) for (let j = 1; j <= D; j++) X[(i - 1) * D + (j - 1)] = Math.sin(i + (j - 1) * m);

/** Label of row i: the index of the largest of X(i, 1..K), the first on ties. */
const y = Array.from({ length: m }, (_, r) => {
  let best = 0;
  for (let k = 1; k < K; k++) if (X[r * D + k] > X[r * D + best]) best = k;
  return best;
});

/** Each Θ(l)(:) filled with 0.12·sin(k), k counted from 1 within each matrix. */
const initial = new Float64Array(layout.count);
for (let l = 0; l + 1 < layers.length; l++) {
  const size = layers[l + 1] * (layers[l] + 1);
  for (let k = 1; k <= size; k++) initial[layout.offsets[l] + k - 1] = 0.12 * Math.sin(k);
}

const result = fmincg((x, grad) => nnCost(layout, "sigmoid", x, X, y, lambda, grad), initial, iterations);
const relative = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), Number.MIN_VALUE);

describe("fmincg against Octave running the course's fmincg.m", () => {
  test("the problem is the one stated: labels of every class, 204 parameters", () => {
    expect(new Set(y).size).toBe(K);
    expect(layout.count).toBe(golden.finalParams.length);
  });

  test(`${iterations} line searches, as Octave made`, () => {
    expect(result.costs).toHaveLength(golden.costs.length);
  });

  test("the first 10 costs agree within 1e-10 relative", () => {
    for (let t = 0; t < 10; t++) expect(relative(result.costs[t], golden.costs[t]), `cost ${t + 1}`).toBeLessThan(1e-10);
  });

  test("all 40 costs agree within 1e-7 relative", () => {
    for (let t = 0; t < golden.costs.length; t++) expect(relative(result.costs[t], golden.costs[t]), `cost ${t + 1}`).toBeLessThan(1e-7);
  });

  test("the final parameters agree within 1e-6", () => {
    let worst = 0;
    for (let t = 0; t < golden.finalParams.length; t++) worst = Math.max(worst, Math.abs(result.x[t] - golden.finalParams[t]));
    expect(worst).toBeLessThan(1e-6);
  });
});
