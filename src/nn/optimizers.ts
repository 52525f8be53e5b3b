/**
 * First-order optimizers over the flat parameter vector: gradient descent (batch or mini-batch, as the gradient
 * given), gradient descent with momentum, and Adam.
 *
 * Each has a state (hyperparameters and vectors of the params' float type, nothing else, so that state-codec.ts can
 * store it exactly) and a step that updates params in place from a gradient without allocating. The arithmetic is
 * in float64 and each stored value is rounded to the vectors' type, so a float32 run repeats bit for bit too.
 *
 * FIRST_ORDER is the registry: an optimizer is one entry (its options with their ranges and defaults, its state's
 * stored fields, create and step). The run spec's schema (src/training/spec.ts), the state codec and the training
 * step read everything from it, so adding an optimizer is its state type, its step and its entry, here.
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

/** Zeros of the params' length and float type. */
function zerosLike(fn: string, params: Floats): Floats {
  if (params instanceof Float32Array) return new Float32Array(params.length);
  if (params instanceof Float64Array) return new Float64Array(params.length);
  throw new TypeError(`${fn}: params must be a Float32Array or a Float64Array`);
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

/**
 * A hyperparameter a run spec may set (as `optimizer.<option>`): the state's scalar that holds it, its range
 * (min excluded unless minIncluded; max always excluded) and its default (none: the spec must give it).
 */
export interface Hyperparameter {
  readonly field: string;
  readonly min: number;
  readonly max: number;
  readonly minIncluded?: boolean;
  readonly default?: number;
}

const learningRate = (fallback?: number): Hyperparameter => ({ field: "lr", min: 0, max: Infinity, default: fallback });

/** One first-order optimizer: everything the spec, the codec and the step need to know of it. */
export interface FirstOrderOptimizer<S extends { readonly kind: string }> {
  /** One line for the spec's documentation. */
  readonly summary: string;
  /** The options a run spec gives it, by name. */
  readonly options: Readonly<Record<string, Hyperparameter>>;
  /** The state's stored scalars and vectors, in their stored order: reordering them changes the stored bytes. */
  readonly scalars: readonly (keyof S & string)[];
  readonly vectors: readonly (keyof S & string)[];
  /** A fresh state for `params` from options already defaulted and checked (createFirstOrder). */
  create(params: Floats, options: Readonly<Record<string, number>>): S;
  step(st: S, p: Floats, g: Floats): void;
}

/** The first-order optimizers, by state kind (the spec's `optimizer.name`). */
export const FIRST_ORDER = {
  sgd: {
    summary: "gradient descent, p ← p − lr·g",
    options: { learningRate: learningRate() },
    scalars: ["lr"],
    vectors: [],
    create: (_params, o): SgdState => ({ kind: "sgd", lr: o.learningRate }),
    step: sgdStep,
  } satisfies FirstOrderOptimizer<SgdState>,
  momentum: {
    summary: "gradient descent with momentum, v ← μ·v − lr·g, p ← p + v",
    options: { learningRate: learningRate(), momentum: { field: "mu", min: 0, minIncluded: true, max: 1, default: 0.9 } },
    scalars: ["lr", "mu"],
    vectors: ["v"],
    create: (params, o): MomentumState => ({
      kind: "momentum", lr: o.learningRate, mu: o.momentum, v: zerosLike("momentumCreate", params),
    }),
    step: momentumStep,
  } satisfies FirstOrderOptimizer<MomentumState>,
  adam: {
    summary: "Adam with bias correction",
    options: {
      learningRate: learningRate(0.001),
      beta1: { field: "beta1", min: 0, max: 1, default: 0.9 },
      beta2: { field: "beta2", min: 0, max: 1, default: 0.999 },
      epsilon: { field: "eps", min: 0, max: Infinity, default: 1e-8 },
    },
    scalars: ["lr", "beta1", "beta2", "eps", "t"],
    vectors: ["m", "v"],
    create: (params, o): AdamState => ({
      kind: "adam", lr: o.learningRate, beta1: o.beta1, beta2: o.beta2, eps: o.epsilon, t: 0,
      m: zerosLike("adamCreate", params), v: zerosLike("adamCreate", params),
    }),
    step: adamStep,
  } satisfies FirstOrderOptimizer<AdamState>,
};

/** A first-order optimizer's name: its state's kind, the spec's `optimizer.name`. */
export type FirstOrderName = keyof typeof FIRST_ORDER;
/** The first-order optimizers' names, in the registry's order. */
export const FIRST_ORDER_NAMES = Object.keys(FIRST_ORDER) as FirstOrderName[];
/** The state of first-order optimizer N. */
export type FirstOrderStateOf<N extends FirstOrderName> = ReturnType<(typeof FIRST_ORDER)[N]["create"]>;
/** The state of any first-order optimizer. */
export type FirstOrderState = FirstOrderStateOf<FirstOrderName>;

/** Whether `name` is a first-order optimizer's. */
export function isFirstOrder(name: string): name is FirstOrderName {
  return Object.hasOwn(FIRST_ORDER, name);
}

/** Optimizer `name`'s registry entry, typed for any of their states (each entry only ever sees its own). */
export function firstOrder(name: FirstOrderName): FirstOrderOptimizer<FirstOrderState> {
  return FIRST_ORDER[name] as unknown as FirstOrderOptimizer<FirstOrderState>;
}

/** A hyperparameter's range in words: "> 0", "in [0, 1)". */
export function rangeText(h: Hyperparameter): string {
  if (h.max === Infinity) return `${h.minIncluded ? "≥" : ">"} ${h.min}`;
  return `in ${h.minIncluded ? "[" : "("}${h.min}, ${h.max})`;
}

/** Whether x is a number in the hyperparameter's range. */
export function inRange(h: Hyperparameter, x: unknown): x is number {
  return typeof x === "number" && (h.minIncluded ? x >= h.min : x > h.min) && x < h.max;
}

/**
 * A fresh state of optimizer `name` for `params` (zero vectors of their float type) from the options a spec gives;
 * an option left out takes its default, and one out of its range is refused with a RangeError naming it.
 */
export function createFirstOrder<N extends FirstOrderName>(name: N, params: Floats, options: Readonly<Record<string, unknown>>): FirstOrderStateOf<N> {
  const entry = firstOrder(name);
  const values: Record<string, number> = {};
  for (const [option, h] of Object.entries(entry.options)) {
    const x = options[option] ?? h.default;
    if (!inRange(h, x)) throw new RangeError(`${name}Create: ${option} must be ${rangeText(h)}, got ${String(x)}`);
    values[option] = x;
  }
  return entry.create(params, values) as FirstOrderStateOf<N>;
}

/** Gradient descent with learning rate `learningRate`. */
export function sgdCreate(options: { learningRate: number }): SgdState {
  return createFirstOrder("sgd", new Float64Array(0), options);
}

/** Momentum (μ = 0.9 by default) with zero velocity for `params`. */
export function momentumCreate(params: Floats, options: { learningRate: number; momentum?: number }): MomentumState {
  return createFirstOrder("momentum", params, options);
}

/** Adam with zero moments for `params`; defaults lr = 0.001, β1 = 0.9, β2 = 0.999, ε = 1e-8. */
export function adamCreate(params: Floats, options: { learningRate?: number; beta1?: number; beta2?: number; epsilon?: number } = {}): AdamState {
  return createFirstOrder("adam", params, options);
}

/** One step of whichever first-order optimizer `st` is. */
export function optimizerStep(st: FirstOrderState, p: Floats, g: Floats): void {
  firstOrder(st.kind).step(st, p, g);
}
