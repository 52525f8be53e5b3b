/**
 * First-order optimizers over the flat parameter vector: gradient descent (batch or mini-batch, as the gradient
 * given), gradient descent with momentum, and Adam.
 *
 * Each has a state (hyperparameters and vectors of the params' float type, nothing else, so that state-codec.ts can
 * store it exactly) and a step that updates params in place from a gradient without allocating. The arithmetic is
 * in float64 and each stored value is rounded to the vectors' type, so a float32 run repeats bit for bit too.
 */
import type { Floats } from "./layout";

/** Gradient descent: p ← p − lr·g. */
export interface SgdState {
  readonly kind: "sgd";
  /** Learning rate; may be changed between steps (a schedule). */
  lr: number;
}

/** Gradient descent with momentum: v ← μ·v − lr·g; p ← p + v. */
export interface MomentumState {
  readonly kind: "momentum";
  lr: number;
  mu: number;
  /** Velocity, same length and float type as the params. */
  readonly v: Floats;
}

/**
 * Adam (Kingma & Ba, 2015) with bias correction: m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²;
 * p ← p − lr·m̂ / (√v̂ + ε) with m̂ = m/(1−β1ᵗ), v̂ = v/(1−β2ᵗ).
 */
export interface AdamState {
  readonly kind: "adam";
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** Steps taken. */
  t: number;
  /** First and second moment estimates, same length and float type as the params. */
  readonly m: Floats;
  readonly v: Floats;
}

export type FirstOrderState = SgdState | MomentumState | AdamState;

function checkRate(fn: string, name: string, x: number, lo: number, hi: number): void {
  if (!(Number.isFinite(x) && x > lo && x < hi)) throw new RangeError(`${fn}: ${name} must be in (${lo}, ${hi}), got ${x}`);
}

function zerosLike(fn: string, params: Floats): Floats {
  if (params instanceof Float32Array) return new Float32Array(params.length);
  if (params instanceof Float64Array) return new Float64Array(params.length);
  throw new TypeError(`${fn}: params must be a Float32Array or a Float64Array`);
}

/** Gradient descent with learning rate `learningRate`. */
export function sgdCreate(options: { learningRate: number }): SgdState {
  checkRate("sgdCreate", "learningRate", options.learningRate, 0, Infinity);
  return { kind: "sgd", lr: options.learningRate };
}

/** Momentum (μ = 0.9 by default) with zero velocity for `params`. */
export function momentumCreate(params: Floats, options: { learningRate: number; momentum?: number }): MomentumState {
  const fn = "momentumCreate";
  const { learningRate, momentum = 0.9 } = options;
  checkRate(fn, "learningRate", learningRate, 0, Infinity);
  if (!(momentum >= 0 && momentum < 1)) throw new RangeError(`${fn}: momentum must be in [0, 1), got ${momentum}`);
  return { kind: "momentum", lr: learningRate, mu: momentum, v: zerosLike(fn, params) };
}

/** Adam with zero moments for `params`; defaults lr = 0.001, β1 = 0.9, β2 = 0.999, ε = 1e-8. */
export function adamCreate(
  params: Floats, options: { learningRate?: number; beta1?: number; beta2?: number; epsilon?: number } = {},
): AdamState {
  const fn = "adamCreate";
  const { learningRate = 0.001, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8 } = options;
  checkRate(fn, "learningRate", learningRate, 0, Infinity);
  checkRate(fn, "beta1", beta1, 0, 1);
  checkRate(fn, "beta2", beta2, 0, 1);
  checkRate(fn, "epsilon", epsilon, 0, Infinity);
  return { kind: "adam", lr: learningRate, beta1, beta2, eps: epsilon, t: 0, m: zerosLike(fn, params), v: zerosLike(fn, params) };
}

/** The shape checks of a step: g matches params in length. */
function checkGrad(fn: string, p: Floats, g: Floats): void {
  if (g.length !== p.length) throw new RangeError(`${fn}: grad has ${g.length} entries, params ${p.length}`);
}

/** A state vector matches params in length and float type (a float64 state must not drive float32 params). */
function checkVector(fn: string, p: Floats, u: Floats): void {
  if (u.length !== p.length) throw new RangeError(`${fn}: the state's vectors have ${u.length} entries, params ${p.length}`);
  if (u.constructor !== p.constructor) {
    throw new TypeError(`${fn}: the state's vectors are ${u.constructor.name}, params ${p.constructor.name}`);
  }
}

/** One gradient-descent step: p ← p − lr·g. */
export function sgdStep(st: SgdState, p: Floats, g: Floats): void {
  checkGrad("sgdStep", p, g);
  const lr = st.lr;
  for (let k = 0; k < p.length; k++) p[k] -= lr * g[k];
}

/** One momentum step: v ← μ·v − lr·g; p ← p + v. */
export function momentumStep(st: MomentumState, p: Floats, g: Floats): void {
  const { lr, mu, v } = st;
  checkGrad("momentumStep", p, g);
  checkVector("momentumStep", p, v);
  for (let k = 0; k < p.length; k++) {
    v[k] = mu * v[k] - lr * g[k];
    p[k] += v[k];
  }
}

/** One Adam step (t counts from 1 at the first step). */
export function adamStep(st: AdamState, p: Floats, g: Floats): void {
  const { lr, beta1, beta2, eps, m, v } = st;
  checkGrad("adamStep", p, g);
  checkVector("adamStep", p, m);
  checkVector("adamStep", p, v);
  st.t += 1;
  const c1 = 1 - beta1 ** st.t;
  const c2 = 1 - beta2 ** st.t;
  for (let k = 0; k < p.length; k++) {
    const gk = g[k];
    m[k] = beta1 * m[k] + (1 - beta1) * gk;
    v[k] = beta2 * v[k] + (1 - beta2) * gk * gk;
    p[k] -= (lr * (m[k] / c1)) / (Math.sqrt(v[k] / c2) + eps);
  }
}

/** One step of whichever first-order optimizer `st` is. */
export function optimizerStep(st: FirstOrderState, p: Floats, g: Floats): void {
  if (st.kind === "sgd") sgdStep(st, p, g);
  else if (st.kind === "momentum") momentumStep(st, p, g);
  else adamStep(st, p, g);
}
