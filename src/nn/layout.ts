/**
 * Network shapes and the flat parameter layout.
 *
 * Dimension letters used across src/nn: N rows in a batch (examples), D inputs (s1), H hidden units,
 * K classes (sL). Θ(l) has shape s(l+1) × (s(l)+1); column 0 multiplies the bias unit.
 *
 * The flat parameter vector is [Θ(1)(:); Θ(2)(:); …], each matrix unrolled column-major exactly as Octave's
 * `Theta(:)`. The kernels use the same layout internally, so weights from the course's Octave exercise need
 * no conversion: element (j, i) of Θ(l) is params[offsets[l] + i * s(l+1) + j].
 */

/** A float buffer: float64 for the cost API and gradient checking, float32 for training and serving. */
export type Floats = Float32Array | Float64Array;

/** A float buffer constructor, to allocate scratch of the same precision as the parameters. */
export type FloatsConstructor = Float32ArrayConstructor | Float64ArrayConstructor;

/** Output units and loss: the course's sigmoid outputs with its cross-entropy J, or softmax with categorical cross-entropy. */
export const LOSSES = ["sigmoid", "softmax"] as const;
export type Loss = (typeof LOSSES)[number];

/** Largest layer width and parameter count accepted anywhere: keeps a bad request from allocating gigabytes. */
export const MAX_LAYER_SIZE = 65_536;
export const MAX_PARAMS = 50_000_000;

export interface Layout {
  /** Layer sizes s1..sL (L ≥ 3). */
  readonly sizes: readonly number[];
  /** offsets[l] is where Θ(l+1) starts in the flat vector (0-based l, one per weight matrix). */
  readonly offsets: readonly number[];
  /** Total number of parameters: Σ s(l+1)·(s(l)+1). */
  readonly count: number;
}

/** Σ s(l+1)·(s(l)+1): the number of parameters of a network with these layer sizes (not validated). */
export function parameterCount(sizes: readonly number[]): number {
  let count = 0;
  for (let l = 0; l + 1 < sizes.length; l++) count += sizes[l + 1] * (sizes[l] + 1);
  return count;
}

/** Builds the layout of a network with the given layer sizes; throws a RangeError naming the problem. */
export function createLayout(sizes: readonly number[]): Layout {
  if (!Array.isArray(sizes) || sizes.length < 3) {
    throw new RangeError("createLayout: layers needs at least 3 sizes (input, one or more hidden, output)");
  }
  sizes.forEach((s, l) => {
    if (!Number.isInteger(s) || s < 1 || s > MAX_LAYER_SIZE) {
      throw new RangeError(`createLayout: layers[${l}] must be an integer in 1..${MAX_LAYER_SIZE}, got ${s}`);
    }
  });
  if (sizes[sizes.length - 1] < 2) {
    throw new RangeError("createLayout: the output layer needs at least 2 units (classes)");
  }
  const offsets: number[] = [];
  for (let l = 0; l + 1 < sizes.length; l++) offsets.push(parameterCount(sizes.slice(0, l + 1)));
  const count = parameterCount(sizes);
  if (count > MAX_PARAMS) {
    throw new RangeError(`createLayout: ${count} parameters exceed the limit of ${MAX_PARAMS}`);
  }
  return { sizes: [...sizes], offsets, count };
}
