import { describe, expect, test } from "vitest";
import { sigmoid, sigmoidGradient } from "../../src/nn/activations";
import { checkGradients, debugProblem, numericalGradient, relativeDifference } from "../../src/nn/gradcheck";
import { initEpsilon, randInitialize } from "../../src/nn/init";
import { createLayout } from "../../src/nn/layout";
import { createWorkspace, forward, nnCost } from "../../src/nn/network";
import { nextDouble, nextInt, seedRng, shuffle } from "../../src/nn/random";

describe("sigmoid", () => {
  test("sigmoidGradient matches the course's published values", () => {
    const got = [-1, -0.5, 0, 0.5, 1].map(sigmoidGradient);
    const want = [0.196612, 0.235004, 0.25, 0.235004, 0.196612];
    got.forEach((g, i) => expect(g).toBeCloseTo(want[i], 6));
  });
  test("sigmoid saturates without NaN", () => {
    expect(sigmoid(0)).toBe(0.5);
    expect(sigmoid(1000)).toBe(1);
    expect(sigmoid(-1000)).toBe(0);
  });
});

describe("the course's debug network (3-5-3, m = 5)", () => {
  const first5 = [-9.2783e-3, 8.8991e-3, -8.3601e-3, 7.6281e-3, -6.748e-3];
  test.each([
    [0, 2.100951, -3.0498e-6],
    [3, 2.14636, -1.6768e-2],
  ])("λ = %d: cost %f and the published gradient entries", (lambda, cost, sixth) => {
    const { layout, params, X, y } = debugProblem([3, 5, 3], 5);
    const grad = new Float64Array(layout.count);
    expect(nnCost(layout, "sigmoid", params, X, y, lambda, grad)).toBeCloseTo(cost, 6);
    first5.forEach((g, i) => expect(Math.abs(grad[i] - g)).toBeLessThan(5e-8));
    expect(Math.abs(grad[5] - sixth)).toBeLessThan(5e-8 * Math.max(1, Math.abs(sixth) * 1e4));
  });

  test.each([
    ["λ = 0", [3, 5, 3], 0, 5, "sigmoid"],
    ["λ = 3", [3, 5, 3], 3, 5, "sigmoid"],
    ["softmax loss", [3, 5, 3], 0, 5, "softmax"],
    ["softmax loss, λ = 3", [3, 5, 3], 3, 5, "softmax"],
    ["two hidden layers", [3, 5, 4, 3], 0, 5, "sigmoid"],
    ["three hidden layers, softmax, λ = 1", [4, 6, 5, 4, 3], 1, 7, "softmax"],
  ] as const)("gradient check, %s: relative difference < 1e-9", (_name, sizes, lambda, m, loss) => {
    const check = checkGradients(sizes, lambda, m, loss);
    expect(check.relativeDifference).toBeLessThan(1e-9);
    expect(check.numerical.length).toBe(createLayout(sizes).count);
  });

  test("a wrong gradient is caught by the check", () => {
    const { layout, params, X, y } = debugProblem([3, 5, 3], 5);
    const analytical = new Float64Array(layout.count);
    nnCost(layout, "sigmoid", params, X, y, 0, analytical);
    analytical[7] += 1e-4;
    const numerical = numericalGradient((p) => nnCost(layout, "sigmoid", p, X, y, 0), params);
    expect(relativeDifference(numerical, analytical)).toBeGreaterThan(1e-6);
  });
});

describe("float32 and float64 run the same code", () => {
  test("cost, gradient and outputs agree to float32 precision", () => {
    const layout = createLayout([20, 16, 12, 10]);
    const rng = seedRng(7);
    const p64 = new Float64Array(layout.count);
    randInitialize(layout, rng, p64);
    const X64 = new Float64Array(30 * 20).map(() => nextDouble(rng));
    const y = Array.from({ length: 30 }, () => nextInt(rng, 10));
    for (const loss of ["sigmoid", "softmax"] as const) {
      const g64 = new Float64Array(layout.count);
      const g32 = new Float32Array(layout.count);
      const p32 = Float32Array.from(p64);
      const X32 = Float32Array.from(X64);
      const J64 = nnCost(layout, loss, p64, X64, y, 0.5, g64);
      const J32 = nnCost(layout, loss, p32, X32, y, 0.5, g32);
      expect(Math.abs(J32 - J64) / J64).toBeLessThan(1e-5);
      expect(relativeDifference(g32, g64)).toBeLessThan(1e-5);
    }
  });

  test("softmax outputs are probabilities", () => {
    const layout = createLayout([5, 4, 6]);
    const p = new Float64Array(layout.count);
    randInitialize(layout, seedRng(3), p, 4);
    const X = new Float64Array(3 * 5).map((_, i) => Math.cos(i));
    const h = forward(layout, "softmax", p, X, 3, createWorkspace(layout, 3, Float64Array));
    for (let r = 0; r < 3; r++) {
      const row = h.subarray(r * 6, r * 6 + 6);
      expect(Array.from(row).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 14);
    }
  });

  test("saturated units give a finite cost", () => {
    const layout = createLayout([2, 3, 3]);
    const p = new Float64Array(layout.count).fill(400);
    const g = new Float64Array(layout.count);
    for (const loss of ["sigmoid", "softmax"] as const) {
      const J = nnCost(layout, loss, p, new Float64Array([1, 1]), [0], 0, g);
      expect(Number.isFinite(J)).toBe(true);
      expect(g.every(Number.isFinite)).toBe(true);
    }
  });
});

describe("shape checks name the function and argument", () => {
  const layout = createLayout([3, 5, 3]);
  test("wrong parameter count", () => {
    expect(() => nnCost(layout, "sigmoid", new Float64Array(37), new Float64Array(3), [0], 0)).toThrow(/params has 37 entries, expected 38/);
  });
  test("label out of range", () => {
    expect(() => nnCost(layout, "sigmoid", new Float64Array(38), new Float64Array(3), [3], 0)).toThrow(/y\[0\] = 3/);
  });
  test("bad layers", () => {
    expect(() => createLayout([3, 3])).toThrow(/at least 3 sizes/);
    expect(() => createLayout([3, 0, 3])).toThrow(/layers\[1\]/);
    expect(() => createLayout([3, 2.5, 3])).toThrow(/layers\[1\]/);
  });
});

describe("random initialization and the seeded generator", () => {
  test("values stay in [−ε, ε] per matrix, with ε = √6/√(L_in + L_out) by default", () => {
    const layout = createLayout([400, 25, 10]);
    const p = new Float64Array(layout.count);
    randInitialize(layout, seedRng(1), p);
    const e1 = initEpsilon(400, 25);
    const e2 = initEpsilon(25, 10);
    const t1 = p.subarray(0, layout.offsets[1]);
    const t2 = p.subarray(layout.offsets[1]);
    expect(Math.max(...t1.map(Math.abs))).toBeLessThanOrEqual(e1);
    expect(Math.max(...t1.map(Math.abs))).toBeGreaterThan(0.99 * e1);
    expect(Math.max(...t2.map(Math.abs))).toBeLessThanOrEqual(e2);
    expect(Math.abs(t1.reduce((a, b) => a + b, 0) / t1.length)).toBeLessThan(0.01 * e1);
    const fixed = new Float64Array(layout.count);
    randInitialize(layout, seedRng(1), fixed, 0.12);
    expect(Math.max(...fixed.map(Math.abs))).toBeLessThanOrEqual(0.12);
  });

  test("the same seed gives the same weights bit for bit; another seed does not", () => {
    const layout = createLayout([30, 10, 5]);
    const a = new Float32Array(layout.count);
    const b = new Float32Array(layout.count);
    const c = new Float32Array(layout.count);
    randInitialize(layout, seedRng(42), a);
    randInitialize(layout, seedRng(42), b);
    randInitialize(layout, seedRng(43), c);
    expect(new Uint8Array(a.buffer)).toEqual(new Uint8Array(b.buffer));
    expect(new Uint8Array(a.buffer)).not.toEqual(new Uint8Array(c.buffer));
  });

  test("generator state serializes and resumes exactly", () => {
    const s = seedRng(2026);
    for (let i = 0; i < 10; i++) nextDouble(s);
    const saved = JSON.parse(JSON.stringify(s));
    const straight = Array.from({ length: 20 }, () => nextDouble(s));
    expect(Array.from({ length: 20 }, () => nextDouble(saved))).toEqual(straight);
  });

  test("uniform draws cover [0, 1) evenly and shuffles are permutations", () => {
    const s = seedRng(5);
    const bins = new Array(10).fill(0);
    for (let i = 0; i < 100_000; i++) bins[Math.floor(nextDouble(s) * 10)]++;
    bins.forEach((b) => expect(Math.abs(b - 10_000)).toBeLessThan(500));
    const a = Array.from({ length: 100 }, (_, i) => i);
    shuffle(s, a);
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(a).not.toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(() => seedRng(1.5)).toThrow(/safe integer/);
  });
});
