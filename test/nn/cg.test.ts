import { describe, expect, test } from "vitest";
import { cgCreate, cgPoint, cgTell, type CgState } from "../../src/nn/cg";
import { fmincg } from "../../src/nn/fmincg";
import { createLayout } from "../../src/nn/layout";
import { nnCost } from "../../src/nn/network";
import { decodeOptimizerState, encodeOptimizerState } from "../../src/nn/state-codec";

type Fn = (x: Float64Array, grad: Float64Array) => number;

/** Σ 100(x(k+1) − x(k)²)² + (1 − x(k))², minimum 0 at x = 1. */
const rosenbrock: Fn = (x, g) => {
  let f = 0;
  g.fill(0);
  for (let k = 0; k + 1 < x.length; k++) {
    const a = x[k + 1] - x[k] * x[k];
    const b = 1 - x[k];
    f += 100 * a * a + b * b;
    g[k] += -400 * x[k] * a - 2 * b;
    g[k + 1] += 200 * a;
  }
  return f;
};

function maxAbsDiff(x: ArrayLike<number>, y: ArrayLike<number> | number): number {
  let d = 0;
  for (let k = 0; k < x.length; k++) d = Math.max(d, Math.abs(x[k] - (typeof y === "number" ? y : y[k])));
  return d;
}

function bytesOf(a: Float64Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

describe("fmincg minimizes", () => {
  test("2-D Rosenbrock from (−1.2, 1)", () => {
    const r = fmincg(rosenbrock, Float64Array.from([-1.2, 1]), 100);
    expect(maxAbsDiff(r.x, 1)).toBeLessThan(1e-8);
    expect(rosenbrock(r.x, new Float64Array(2))).toBeLessThan(1e-16);
    expect(r.costs.length).toBeLessThan(r.iterations + 1);
    for (let k = 1; k < r.costs.length; k++) expect(r.costs[k]).toBeLessThanOrEqual(r.costs[k - 1]);
  });

  test("10-D Rosenbrock from (−1.2, 1, −1.2, 1, …)", () => {
    const x0 = Float64Array.from({ length: 10 }, (_, k) => (k % 2 === 0 ? -1.2 : 1));
    const r = fmincg(rosenbrock, x0, 2000);
    expect(maxAbsDiff(r.x, 1)).toBeLessThan(1e-8);
    expect(rosenbrock(r.x, new Float64Array(10))).toBeLessThan(1e-16);
  });

  test("a convex quadratic ½xᵀAx − bᵀx, to its known minimum A⁻¹b", () => {
    const n = 8;
    // A = diag(1..n) + u uᵀ with u = sin(k+1): symmetric positive definite, condition number about 10.
    const A = new Float64Array(n * n);
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < n; c++) A[r * n + c] = (r === c ? r + 1 : 0) + Math.sin(r + 1) * Math.sin(c + 1);
    }
    const xStar = Float64Array.from({ length: n }, (_, k) => Math.cos(3 * k));
    const b = new Float64Array(n);
    for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) b[r] += A[r * n + c] * xStar[c];
    const quadratic: Fn = (x, g) => {
      let f = 0;
      for (let r = 0; r < n; r++) {
        let ax = 0;
        for (let c = 0; c < n; c++) ax += A[r * n + c] * x[c];
        g[r] = ax - b[r];
        f += 0.5 * x[r] * ax - b[r] * x[r];
      }
      return f;
    };
    const r = fmincg(quadratic, new Float64Array(n), 50);
    expect(maxAbsDiff(r.x, xStar)).toBeLessThan(1e-8);
  });
});

/** Runs fn to the end, optionally through an encode/decode round trip after every evaluation. */
function run(fn: Fn, x0: Float64Array, length: number, resume: boolean): { points: Float64Array[]; st: CgState } {
  let st = cgCreate(x0, { length });
  const grad = new Float64Array(x0.length);
  const points: Float64Array[] = [];
  for (let p = cgPoint(st); p !== null; p = cgPoint(st)) {
    points.push(p.slice());
    cgTell(st, fn(p.slice(), grad), grad);
    if (resume) st = decodeOptimizerState(encodeOptimizerState(st), "cg");
  }
  return { points, st };
}

describe("resuming from the encoded state after every evaluation", () => {
  const x4 = Float64Array.from([-1.2, 1, -1.2, 1]);
  const cases: { name: string; x0: Float64Array; length: number; stop: string }[] = [
    { name: "4-D Rosenbrock, length 60", x0: x4, length: 60, stop: "length" },
    { name: "4-D Rosenbrock, length −250", x0: x4, length: -250, stop: "length" },
    // run to the end: the last line searches fail, so the restart and the stop are resumed too
    { name: "2-D Rosenbrock, length 1000", x0: Float64Array.from([-1.2, 1]), length: 1000, stop: "line-search-failed" },
    { name: "2-D Rosenbrock, length −1000", x0: Float64Array.from([-1.2, 1]), length: -1000, stop: "line-search-failed" },
  ];
  for (const { name, x0, length, stop } of cases) {
    test(`gives the same iterates, bit for bit: ${name}`, () => {
      const a = run(rosenbrock, x0, length, false);
      const b = run(rosenbrock, x0, length, true);
      expect(a.st.stop).toBe(stop);
      expect(b.points.length).toBe(a.points.length);
      a.points.forEach((p, k) => expect(bytesOf(b.points[k])).toEqual(bytesOf(p)));
      expect(bytesOf(b.st.x)).toEqual(bytesOf(a.st.x));
      expect(b.st.costs).toEqual(a.st.costs);
      expect(encodeOptimizerState(b.st)).toEqual(encodeOptimizerState(a.st));
      expect([b.st.i, b.st.evaluations, b.st.stop]).toEqual([a.st.i, a.st.evaluations, a.st.stop]);
      if (stop === "length" && length < 0) expect(a.st.evaluations).toBe(-length);
      if (stop === "length" && length > 0) expect(a.st.i).toBe(length);
    });
  }

  test("the straight-through driver takes the same path", () => {
    const a = run(rosenbrock, x4, 60, false);
    const r = fmincg(rosenbrock, x4, 60);
    expect(bytesOf(r.x)).toEqual(bytesOf(a.st.x));
    expect(r.costs).toEqual(a.st.costs);
    expect([r.iterations, r.evaluations]).toEqual([a.st.i, a.st.evaluations]);
  });
});

describe("on a small network", () => {
  test("CG reaches a lower cost than the best of several gradient-descent rates, for the same evaluations", () => {
    const layout = createLayout([4, 6, 3]);
    const m = 40;
    const X = Float64Array.from({ length: m * 4 }, (_, t) => Math.sin(t + 1));
    // Labels from a fixed linear rule, so that there is something to learn.
    const y = Array.from({ length: m }, (_, r) => {
      const scores = [0, 1, 2].map((k) => [0, 1, 2, 3].reduce((s, c) => s + X[r * 4 + c] * Math.cos(5 * k + c), 0));
      return scores.indexOf(Math.max(...scores));
    });
    const lambda = 0.1;
    const cost: Fn = (p, g) => nnCost(layout, "sigmoid", p, X, y, lambda, g);
    const init = Float64Array.from({ length: layout.count }, (_, t) => 0.12 * Math.sin(t + 1));
    const evaluations = 100;

    const cg = fmincg(cost, init, -evaluations);
    expect(cg.evaluations).toBe(evaluations);
    const jCg = nnCost(layout, "sigmoid", cg.x, X, y, lambda);

    const grad = new Float64Array(layout.count);
    const jGd = [0.3, 1, 3, 10].map((lr) => {
      const p = init.slice();
      for (let t = 0; t < evaluations; t++) {
        cost(p, grad);
        for (let k = 0; k < p.length; k++) p[k] -= lr * grad[k];
      }
      return nnCost(layout, "sigmoid", p, X, y, lambda);
    });
    const jInit = nnCost(layout, "sigmoid", init, X, y, lambda);
    expect(Math.min(...jGd)).toBeLessThan(jInit);
    expect(jCg).toBeLessThan(Math.min(...jGd));
  });
});

describe("line-search failures", () => {
  /** f = ½|x|² with the gradient's sign flipped: −∇f is uphill, so every line search fails. */
  const uphill: Fn = (x, g) => {
    let f = 0;
    for (let k = 0; k < x.length; k++) {
      f += 0.5 * x[k] * x[k];
      g[k] = -x[k];
    }
    return f;
  };

  for (const length of [100, -1000]) {
    test(`two in a row end the run at the last good point (length ${length})`, () => {
      const x0 = Float64Array.from([1, -2, 3]);
      const { st } = run(uphill, x0, length, false);
      expect(st.phase).toBe("done");
      expect(st.stop).toBe("line-search-failed");
      expect(bytesOf(st.x)).toEqual(bytesOf(x0));
      expect(st.costs).toEqual([]);
      // the first evaluation, then two line searches of at most 1 + MAX (20) evaluations each
      expect(st.evaluations).toBeLessThanOrEqual(1 + 2 * 21);
      expect(cgPoint(st)).toBeNull();
      expect(() => cgTell(st, 0, new Float64Array(3))).toThrow(/ended/);
    });
  }

  test("a NaN cost ends the run without throwing", () => {
    const r = fmincg((x, g) => (g.fill(Number.NaN), Number.NaN), Float64Array.from([1, 2]), 10);
    expect(r.evaluations).toBeLessThanOrEqual(1 + 2 * 21);
  });
});

describe("argument checks", () => {
  test("cgCreate and cgTell name what is wrong", () => {
    expect(() => cgCreate(new Float64Array(2), { length: 1.5 })).toThrow(/cgCreate: options.length/);
    expect(() => cgCreate([1, 2] as unknown as Float64Array, { length: 1 })).toThrow(/cgCreate: x0/);
    const st = cgCreate(new Float64Array(2), { length: 1 });
    expect(() => cgTell(st, 0, new Float64Array(3))).toThrow(/cgTell: grad has 3 entries, expected 2/);
  });
});
