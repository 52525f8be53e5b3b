/**
 * How large a network's pre-activations can get, to refuse weights whose float32 forward pass could overflow.
 *
 * Inputs are in [0, 1] (pixels / 255) and sigmoid hidden units are in [0, 1], so every unit j of every layer has
 * |z_j| ≤ |Θ[j, 0]| + Σ_i |Θ[j, i]|. Each partial sum of the dot product is bounded by the same sum, and float32
 * rounding adds at most a relative n·2⁻²⁴ (n ≤ 65 537 inputs: under 0.4%), so a bound below half of float32's
 * largest value means no forward pass on valid inputs can produce ±Infinity or NaN.
 */
import type { Layout } from "./layout";

/** The largest finite float32. */
export const FLOAT32_MAX = 3.4028234663852886e38;

/** The largest pre-activation bound of a network and where it is (0-based weight matrix and unit). */
export interface PreActivationBound {
  layer: number;
  unit: number;
  bound: number;
}

/** The largest |z| any unit can reach for inputs in [0, 1] (see the module comment), computed in float64. */
export function preActivationBound(layout: Layout, params: ArrayLike<number>): PreActivationBound {
  const { sizes, offsets } = layout;
  let worst: PreActivationBound = { layer: 0, unit: 0, bound: 0 };
  for (let l = 0; l + 1 < sizes.length; l++) {
    const O = sizes[l + 1];
    const sums = new Float64Array(O);
    for (let i = 0; i <= sizes[l]; i++) {
      const col = offsets[l] + i * O;
      for (let j = 0; j < O; j++) sums[j] += Math.abs(params[col + j]);
    }
    for (let j = 0; j < O; j++) {
      if (!(sums[j] <= worst.bound)) worst = { layer: l, unit: j, bound: sums[j] };
    }
  }
  return worst;
}

/** Why these weights could overflow a float32 forward pass, or null when they cannot. */
export function overflowProblem(layout: Layout, params: ArrayLike<number>): string | null {
  const worst = preActivationBound(layout, params);
  if (worst.bound <= FLOAT32_MAX / 2) return null;
  return (
    `weights could overflow float32: unit ${worst.unit + 1} of layer ${worst.layer + 2} can reach |z| = ${worst.bound.toPrecision(3)} ` +
    `(the sum of |Θ(${worst.layer + 1})| over its row), beyond ${(FLOAT32_MAX / 2).toPrecision(3)}`
  );
}
