/** Gradient checking as the course's checkNNGradients, for any depth and either loss. */
import { createLayout, type Layout, type Loss } from "./layout";
import { nnCost } from "./network";

/** Central-difference step of the course. */
export const GRADCHECK_EPSILON = 1e-4;

/**
 * Numerical gradient of f at params by central differences: (f(θ + e·u_i) − f(θ − e·u_i)) / 2e for each i.
 * params is restored before returning.
 */
export function numericalGradient(f: (params: Float64Array) => number, params: Float64Array, e = GRADCHECK_EPSILON): Float64Array {
  const grad = new Float64Array(params.length);
  for (let i = 0; i < params.length; i++) {
    const saved = params[i];
    params[i] = saved - e;
    const loss1 = f(params);
    params[i] = saved + e;
    const loss2 = f(params);
    params[i] = saved;
    grad[i] = (loss2 - loss1) / (2 * e);
  }
  return grad;
}

/** ‖a − b‖ / ‖a + b‖, the course's relative difference (0 when both are zero). */
export function relativeDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    diff += (a[i] - b[i]) ** 2;
    sum += (a[i] + b[i]) ** 2;
  }
  return sum === 0 ? 0 : Math.sqrt(diff) / Math.sqrt(sum);
}

/**
 * The course's debugInitializeWeights: a fanOut × (1 + fanIn) matrix filled column by column with
 * sin(1), sin(2), … divided by 10, returned column-major.
 */
export function debugInitializeWeights(fanOut: number, fanIn: number): Float64Array {
  const w = new Float64Array(fanOut * (1 + fanIn));
  for (let t = 0; t < w.length; t++) w[t] = Math.sin(t + 1) / 10;
  return w;
}

export interface DebugProblem {
  layout: Layout;
  params: Float64Array;
  /** m × s1, row-major. */
  X: Float64Array;
  /** Labels mod(i, K) for i = 1..m (the course's 1 + mod(i, K), 0-based). */
  y: Int32Array;
}

/** The course's small deterministic problem for a network of the given sizes and m examples. */
export function debugProblem(sizes: readonly number[], m: number): DebugProblem {
  const layout = createLayout(sizes);
  const params = new Float64Array(layout.count);
  for (let l = 0; l + 1 < sizes.length; l++) params.set(debugInitializeWeights(sizes[l + 1], sizes[l]), layout.offsets[l]);
  const D = sizes[0];
  const K = sizes[sizes.length - 1];
  // X = debugInitializeWeights(m, D − 1): an m × D matrix, column-major; stored here row-major.
  const colMajor = debugInitializeWeights(m, D - 1);
  const X = new Float64Array(m * D);
  for (let i = 0; i < m; i++) for (let j = 0; j < D; j++) X[i * D + j] = colMajor[j * m + i];
  const y = new Int32Array(m);
  for (let i = 0; i < m; i++) y[i] = (i + 1) % K;
  return { layout, params, X, y };
}

export interface GradientCheck {
  relativeDifference: number;
  numerical: Float64Array;
  analytical: Float64Array;
  cost: number;
}

/** Backpropagation against central differences on the debug problem (defaults: the course's 3-5-3, m = 5). */
export function checkGradients(sizes: readonly number[] = [3, 5, 3], lambda = 0, m = 5, loss: Loss = "sigmoid"): GradientCheck {
  const { layout, params, X, y } = debugProblem(sizes, m);
  const analytical = new Float64Array(layout.count);
  const cost = nnCost(layout, loss, params, X, y, lambda, analytical);
  const numerical = numericalGradient((p) => nnCost(layout, loss, p, X, y, lambda), params);
  return { relativeDifference: relativeDifference(numerical, analytical), numerical, analytical, cost };
}
