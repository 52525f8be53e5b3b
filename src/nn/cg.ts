/**
 * Nonlinear conjugate gradient as the course's fmincg (Carl Edward Rasmussen's Polak–Ribière CG with a line search
 * under the Wolfe–Powell conditions), ported statement by statement, as an ask/tell state machine.
 *
 * A training run may evaluate the cost in a different queue step, even a different process, from the one that
 * asked for it. So the loop of fmincg.m is cut at each of its four evaluations: `cgPoint` says where the next
 * evaluation is wanted, `cgTell` takes f and ∇f there and runs the original statements up to the next evaluation.
 * Every variable that lives across an evaluation is a field of the state, so state-codec.ts can store it exactly.
 *
 * Where Octave's sqrt of a negative number gives a complex step, JavaScript gives NaN and the NaN/Inf tests bisect
 * (in the shrink branch Octave would go on with the complex value; bisecting is the accepted behaviour of ports).
 * min and max skip NaN as Octave's do.
 */

const RHO = 0.01; // RHO and SIG are the constants of the Wolfe–Powell conditions
const SIG = 0.5;
const INT = 0.1; // don't re-evaluate within 0.1 of the limit of the current bracket
const EXT = 3.0; // extrapolate at most 3 times the current bracket
const MAX = 20; // at most 20 evaluations per line search
const RATIO = 100; // largest allowed slope ratio
/** Octave's realmin: the smallest normal double (not Number.MIN_VALUE, which is subnormal). */
const REALMIN = 2.2250738585072014e-308;

/**
 * Where fmincg.m stands: "start" waits for the first evaluation, "first" for the one at the start of a line search,
 * "shrink" and "extrapolate" for the ones in its two loops, "done" for none.
 */
export type CgPhase = "start" | "first" | "shrink" | "extrapolate" | "done";
export const CG_PHASES: readonly CgPhase[] = ["start", "first", "shrink", "extrapolate", "done"];

/** Why the minimization ended: the length budget ran out, or two line searches in a row failed. */
export type CgStop = "length" | "line-search-failed";
export const CG_STOPS: readonly CgStop[] = ["length", "line-search-failed"];

/** The state of one minimization: fmincg.m's variables under their names there (X is x, fX is costs). */
export interface CgState {
  readonly kind: "cg";
  /** Line searches when positive, function evaluations when negative. */
  readonly length: number;
  /** Expected reduction in f of the first line search (fmincg's optional second length entry; 1 by default). */
  readonly red: number;
  phase: CgPhase;
  /** Why it ended, once phase is "done". */
  stop: CgStop | null;
  /** fmincg's run-length counter: line searches or evaluations, as length says. */
  i: number;
  /** Evaluations told so far. */
  evaluations: number;
  /** Whether the previous line search failed. */
  lsFailed: boolean;
  /** Evaluations left in the current line search. */
  M: number;
  /** Upper limit of the step in the current line search, −1 while there is none. */
  limit: number;
  /** Values f, slopes d along s and steps z of fmincg's points 0 to 3 (z relative as in fmincg). */
  f0: number; f1: number; f2: number; f3: number;
  d1: number; d2: number; d3: number;
  z1: number; z2: number; z3: number;
  /** Current point; the next evaluation is wanted here while phase is not "done". Read only. */
  readonly x: Float64Array;
  /** Point before the current line search, restored when it fails. */
  readonly x0: Float64Array;
  readonly df0: Float64Array;
  /** df1 and df2 trade places (fmincg swaps them), so they are not readonly. */
  df1: Float64Array;
  df2: Float64Array;
  /** Search direction. */
  readonly s: Float64Array;
  /** f after each successful line search (fmincg's fX). */
  readonly costs: number[];
}

export interface CgOptions {
  /** fmincg's length: maximum line searches when positive, maximum evaluations when negative. */
  length: number;
  /** Expected reduction in f of the first line search; 1 by default. */
  red?: number;
}

/** Starts a minimization from a copy of x0; the first evaluation is wanted at x0. */
export function cgCreate(x0: Float64Array, options: CgOptions): CgState {
  if (!(x0 instanceof Float64Array)) throw new TypeError("cgCreate: x0 must be a Float64Array");
  const { length, red = 1 } = options;
  if (!Number.isSafeInteger(length)) throw new RangeError(`cgCreate: options.length must be an integer, got ${length}`);
  if (!Number.isFinite(red) || red <= 0) throw new RangeError(`cgCreate: options.red must be a positive number, got ${red}`);
  const n = x0.length;
  return {
    kind: "cg", length, red, phase: "start", stop: null, i: 0, evaluations: 0, lsFailed: false, M: 0, limit: -1,
    f0: 0, f1: 0, f2: 0, f3: 0, d1: 0, d2: 0, d3: 0, z1: 0, z2: 0, z3: 0,
    x: Float64Array.from(x0), x0: new Float64Array(n), df0: new Float64Array(n), df1: new Float64Array(n),
    df2: new Float64Array(n), s: new Float64Array(n), costs: [],
  };
}

/** The point at which the next evaluation is wanted (the state's own buffer: do not modify), or null when done. */
export function cgPoint(st: CgState): Float64Array | null {
  return st.phase === "done" ? null : st.x;
}

/**
 * Takes f and its gradient at cgPoint(st) and advances the state to the next point wanted, or to the end.
 * grad is copied, never kept.
 */
export function cgTell(st: CgState, f: number, grad: Float64Array): void {
  if (st.phase === "done") throw new Error("cgTell: the minimization has ended, there is no evaluation to tell");
  if (typeof f !== "number") throw new TypeError(`cgTell: f must be a number, got ${typeof f}`);
  if (grad.length !== st.x.length) throw new RangeError(`cgTell: grad has ${grad.length} entries, expected ${st.x.length}`);
  st.evaluations++;
  const byEvaluations = st.length < 0 ? 1 : 0;
  if (st.phase === "start") {
    st.f1 = f;
    st.df1.set(grad);
    st.i = st.i + byEvaluations;
    negate(st.s, st.df1);
    st.d1 = -dot(st.s, st.s);
    st.z1 = st.red / (1 - st.d1);
    nextLineSearch(st);
    return;
  }
  st.f2 = f;
  st.df2.set(grad);
  if (st.phase === "first") {
    st.i = st.i + byEvaluations;
    st.d2 = dot(st.df2, st.s);
    st.f3 = st.f1;
    st.d3 = st.d1;
    st.z3 = -st.z1;
    st.M = st.length > 0 ? MAX : min(MAX, -st.length - st.i);
    st.limit = -1;
  } else {
    st.M = st.M - 1;
    st.i = st.i + byEvaluations;
    st.d2 = dot(st.df2, st.s);
    if (st.phase === "shrink") st.z3 = st.z3 - st.z2;
  }
  lineSearch(st);
}

/** The head of fmincg's outer loop: ends, or starts a line search by stepping z1 along s. */
function nextLineSearch(st: CgState): void {
  if (!(st.i < Math.abs(st.length))) {
    finish(st, "length");
    return;
  }
  st.i = st.i + (st.length > 0 ? 1 : 0);
  st.x0.set(st.x);
  st.f0 = st.f1;
  st.df0.set(st.df1);
  step(st.x, st.z1, st.s);
  st.phase = "first";
}

/** One pass of the line search's `while 1` body, up to the next evaluation or the end of the line search. */
function lineSearch(st: CgState): void {
  const { f1, f2, f3, d1, d2, d3, z1, z3 } = st;
  if ((f2 > f1 + z1 * RHO * d1 || d2 > -SIG * d1) && st.M > 0) {
    st.limit = z1; // tighten the bracket
    let z2: number;
    if (f2 > f1) {
      z2 = z3 - (0.5 * d3 * z3 * z3) / (d3 * z3 + f2 - f3); // quadratic fit
    } else {
      const A = (6 * (f2 - f3)) / z3 + 3 * (d2 + d3); // cubic fit
      const B = 3 * (f3 - f2) - z3 * (d3 + 2 * d2);
      z2 = (Math.sqrt(B * B - A * d2 * z3 * z3) - B) / A;
    }
    if (!Number.isFinite(z2)) z2 = z3 / 2; // NaN (where Octave has a complex value) or infinite: bisect
    z2 = max(min(z2, INT * z3), (1 - INT) * z3); // not too close to the bracket's ends
    moveBy(st, z2, "shrink");
    return;
  }
  if (f2 > f1 + z1 * RHO * d1 || d2 > -SIG * d1) {
    endLineSearch(st, false);
  } else if (d2 > SIG * d1) {
    endLineSearch(st, true);
  } else if (st.M === 0) {
    endLineSearch(st, false);
  } else {
    const z2 = extrapolation(st);
    st.f3 = f2; // point 3 becomes point 2
    st.d3 = d2;
    st.z3 = -z2;
    moveBy(st, z2, "extrapolate");
  }
}

/** The step of the cubic extrapolation, bounded as fmincg bounds it. */
function extrapolation(st: CgState): number {
  const { f2, f3, d2, d3, z1, z3, limit } = st;
  const A = (6 * (f2 - f3)) / z3 + 3 * (d2 + d3);
  const B = 3 * (f3 - f2) - z3 * (d3 + 2 * d2);
  let z2 = (-d2 * z3 * z3) / (B + Math.sqrt(B * B - A * d2 * z3 * z3));
  if (!Number.isFinite(z2) || z2 < 0) {
    // NaN (where Octave has a complex value), infinite, or the wrong sign
    z2 = limit < -0.5 ? z1 * (EXT - 1) : (limit - z1) / 2;
  } else if (limit > -0.5 && z2 + z1 > limit) {
    z2 = (limit - z1) / 2;
  } else if (limit < -0.5 && z2 + z1 > z1 * EXT) {
    z2 = z1 * (EXT - 1.0);
  } else if (z2 < -z3 * INT) {
    z2 = -z3 * INT;
  } else if (limit > -0.5 && z2 < (limit - z1) * (1.0 - INT)) {
    z2 = (limit - z1) * (1.0 - INT);
  }
  return z2;
}

/** z1 = z1 + z2; X = X + z2*s; then wait for the evaluation there. */
function moveBy(st: CgState, z2: number, phase: CgPhase): void {
  st.z2 = z2;
  st.z1 = st.z1 + z2;
  step(st.x, z2, st.s);
  st.phase = phase;
}

/** After the line search: on success a new Polak–Ribière direction, on failure a restart along −∇f or the end. */
function endLineSearch(st: CgState, success: boolean): void {
  if (success) {
    st.f1 = st.f2;
    st.costs.push(st.f1);
    const { s, df1, df2 } = st;
    const beta = (dot(df2, df2) - dot(df1, df2)) / dot(df1, df1);
    for (let k = 0; k < s.length; k++) s[k] = beta * s[k] - df2[k];
    swapGradients(st);
    st.d2 = dot(st.df1, s);
    if (st.d2 > 0) {
      // the new slope must be negative, otherwise use steepest descent
      negate(s, st.df1);
      st.d2 = -dot(s, s);
    }
    st.z1 = st.z1 * min(RATIO, st.d1 / (st.d2 - REALMIN));
    st.d1 = st.d2;
    st.lsFailed = false;
  } else {
    st.x.set(st.x0);
    st.f1 = st.f0;
    st.df1.set(st.df0);
    if (st.lsFailed || st.i > Math.abs(st.length)) {
      finish(st, st.lsFailed ? "line-search-failed" : "length");
      return;
    }
    // As fmincg: the swap after the restore makes the restart direction −df2, the last gradient evaluated.
    swapGradients(st);
    negate(st.s, st.df1);
    st.d1 = -dot(st.s, st.s);
    st.z1 = 1 / (1 - st.d1);
    st.lsFailed = true;
  }
  nextLineSearch(st);
}

function finish(st: CgState, stop: CgStop): void {
  st.phase = "done";
  st.stop = stop;
}

function swapGradients(st: CgState): void {
  const tmp = st.df1;
  st.df1 = st.df2;
  st.df2 = tmp;
}

function dot(a: Float64Array, b: Float64Array): number {
  let sum = 0;
  for (let k = 0; k < a.length; k++) sum += a[k] * b[k];
  return sum;
}

/** x = x + z*s, elementwise. */
function step(x: Float64Array, z: number, s: Float64Array): void {
  for (let k = 0; k < x.length; k++) x[k] = x[k] + z * s[k];
}

/** s = −g. */
function negate(s: Float64Array, g: Float64Array): void {
  for (let k = 0; k < s.length; k++) s[k] = -g[k];
}

/** Octave's two-argument min and max: a NaN argument is skipped. */
function min(x: number, y: number): number {
  return Number.isNaN(y) ? x : x <= y ? x : y;
}

function max(x: number, y: number): number {
  return Number.isNaN(y) ? x : x >= y ? x : y;
}

/**
 * The best point known: the start of the current line search (the last accepted point) while one is under way,
 * otherwise the current point (before the first evaluation, or the final point once done).
 */
export function cgBest(st: CgState): Float64Array {
  return st.phase === "first" || st.phase === "shrink" || st.phase === "extrapolate" ? st.x0 : st.x;
}
