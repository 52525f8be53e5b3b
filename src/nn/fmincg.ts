/** The course's fmincg run straight through, over the ask/tell state machine of cg.ts. */
import { cgCreate, cgPoint, cgTell } from "./cg";

/** Result of fmincg: the final point, f after each successful line search, the counter i, evaluations used. */
export interface CgResult {
  x: Float64Array;
  costs: number[];
  iterations: number;
  evaluations: number;
}

/**
 * Minimizes `fn` from x0 as the course's fmincg(f, X, optimset('MaxIter', length)). fn(x, grad) returns f(x) and
 * overwrites grad with ∇f(x); x is a scratch copy it may not keep.
 */
export function fmincg(fn: (x: Float64Array, grad: Float64Array) => number, x0: Float64Array, length: number): CgResult {
  const st = cgCreate(x0, { length });
  const x = new Float64Array(x0.length);
  const grad = new Float64Array(x0.length);
  for (let p = cgPoint(st); p !== null; p = cgPoint(st)) {
    x.set(p);
    cgTell(st, fn(x, grad), grad);
  }
  return { x: st.x, costs: st.costs, iterations: st.i, evaluations: st.evaluations };
}
