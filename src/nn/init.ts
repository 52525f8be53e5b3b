/** Random initialization that breaks symmetry, as the course's randInitializeWeights. */
import type { Floats, Layout } from "./layout";
import { nextDouble, type RngState } from "./random";

/** `"default"`: ε = √6/√(L_in + L_out) per matrix; a number: that ε for every matrix (the exercise uses 0.12). */
export type InitEpsilon = "default" | number;

/** ε for the weight matrix from a layer of `fanIn` units to one of `fanOut` units. */
export function initEpsilon(fanIn: number, fanOut: number): number {
  return Math.sqrt(6) / Math.sqrt(fanIn + fanOut);
}

/**
 * Fills params with uniform values in [−ε, ε] (bias columns included, as the course does), drawing in the flat
 * column-major order, the order Octave's rand(L_out, 1 + L_in) fills a matrix.
 */
export function randInitialize(layout: Layout, rng: RngState, params: Floats, epsilon: InitEpsilon = "default"): void {
  if (params.length !== layout.count) throw new RangeError(`randInitialize: params has ${params.length} entries, expected ${layout.count}`);
  if (epsilon !== "default" && !(Number.isFinite(epsilon) && epsilon > 0)) {
    throw new RangeError(`randInitialize: epsilon must be "default" or a positive number, got ${epsilon}`);
  }
  const { sizes, offsets } = layout;
  for (let l = 0; l + 1 < sizes.length; l++) {
    const eps = epsilon === "default" ? initEpsilon(sizes[l], sizes[l + 1]) : epsilon;
    const end = offsets[l] + sizes[l + 1] * (sizes[l] + 1);
    for (let t = offsets[l]; t < end; t++) params[t] = nextDouble(rng) * 2 * eps - eps;
  }
}
