/**
 * The seam for the hot loops of forward and backward propagation: an affine layer forward, the accumulation of its
 * weight gradient, and the products that carry δ back to its inputs. As llm.c keeps `matmul_forward_naive` beside
 * the fast one, `jsKernels` here are the plain loops: the reference, and the float64 path (the cost API, gradient
 * checking). Fast float32 kernels (kernels-wasm.ts) implement the same interface and are tested equal to these within
 * float32 rounding (test/nn/kernels.test.ts).
 *
 * Shapes, for one layer with Θ of shape O × (I+1) stored column-major at `off` in `params` (column 0 multiplies the
 * bias unit; element (j, i) is params[off + i·O + j]): `inp` is N × I and `out`, `delta` are N × O, all row-major.
 */
import type { Floats, FloatsConstructor } from "./layout";

/** The kernels a run or a served model uses: fixed in a run's plan, so its weights stay bit-exact. */
export const KERNEL_NAMES = ["js", "wasm-simd"] as const;
export type KernelName = (typeof KERNEL_NAMES)[number];

export interface Kernels {
  readonly name: KernelName;
  /**
   * A zeroed buffer of `length` floats of type `Type` that these kernels can work on. The JS kernels take any typed
   * array; WebAssembly kernels work on float32 buffers in their own memory only.
   */
  floats(Type: FloatsConstructor, length: number): Floats;
  /** out[r, j] = Θ[j, 0] + Σ_i Θ[j, i+1] · inp[r, i] for the n rows. */
  linearForward(out: Floats, inp: Floats, params: Floats, off: number, n: number, I: number, O: number): void;
  /** Adds δᵀ·[1 inp] into the gradient of Θ: grad[off + j] += Σ_r δ[r, j]; grad[off + (i+1)·O + j] += Σ_r δ[r, j]·inp[r, i]. */
  weightGradient(grad: Floats, delta: Floats, inp: Floats, off: number, n: number, I: number, O: number): void;
  /**
   * dInp[r, i] = (Σ_j Θ[j, i+1] · δ[r, j]) · a(1 − a), a = inp[r, i] = g(z): the course's δ of a sigmoid layer,
   * from the δ of the layer above it.
   */
  inputGradient(dInp: Floats, delta: Floats, inp: Floats, params: Floats, off: number, n: number, I: number, O: number): void;
}

/** Makes the kernels named `name` with room for `bytes` of buffers (the JS kernels ignore it). */
export type KernelFactory = (name: KernelName, bytes: number) => Kernels;

/** The JS reference kernels only: for code paths and tests that need no WebAssembly. */
export const jsOnly: KernelFactory = (name) => {
  if (name !== "js") throw new Error(`kernels "${name}" are not available here`);
  return jsKernels;
};

/** The reference kernels: plain loops over any typed array, float64 or float32 (zero inputs skipped). */
export const jsKernels: Kernels = {
  name: "js",

  floats: (Type, length) => new Type(length),

  linearForward(out, inp, params, off, n, I, O) {
    for (let r = 0; r < n; r++) {
      const o = r * O;
      for (let j = 0; j < O; j++) out[o + j] = params[off + j];
      const a = r * I;
      for (let i = 0; i < I; i++) {
        const x = inp[a + i];
        if (x === 0) continue;
        const col = off + (i + 1) * O;
        for (let j = 0; j < O; j++) out[o + j] += params[col + j] * x;
      }
    }
  },

  weightGradient(grad, delta, inp, off, n, I, O) {
    for (let r = 0; r < n; r++) {
      const o = r * O;
      for (let j = 0; j < O; j++) grad[off + j] += delta[o + j];
      const a = r * I;
      for (let i = 0; i < I; i++) {
        const x = inp[a + i];
        if (x === 0) continue;
        const col = off + (i + 1) * O;
        for (let j = 0; j < O; j++) grad[col + j] += delta[o + j] * x;
      }
    }
  },

  inputGradient(dInp, delta, inp, params, off, n, I, O) {
    for (let r = 0; r < n; r++) {
      const o = r * O;
      const a = r * I;
      for (let i = 0; i < I; i++) {
        const col = off + (i + 1) * O;
        let s = 0;
        for (let j = 0; j < O; j++) s += params[col + j] * delta[o + j];
        const x = inp[a + i];
        dInp[a + i] = s * (x * (1 - x));
      }
    }
  },
};
