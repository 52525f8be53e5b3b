/**
 * The forward pass as the Worker serves and trains: on the WebAssembly SIMD kernels (src/kernels.ts), which are
 * tested equal to the JS reference within float32 rounding (test/nn/kernels.test.ts).
 */
import { wasmKernels } from "../../src/kernels";
import { kernelBytes } from "../../src/nn/kernels-wasm";
import type { Layout, Loss } from "../../src/nn/layout";
import { createWorkspace, forward, type Workspace } from "../../src/nn/network";

/** The output activations (N × K, a copy) and the workspace of a float32 forward pass of `rows` on the kernels. */
export function wasmForward(layout: Layout, loss: Loss, params: ArrayLike<number>, rows: readonly ArrayLike<number>[]): { h: Float32Array; ws: Workspace } {
  const n = rows.length;
  const D = layout.sizes[0];
  const widths = layout.sizes.slice(1).reduce((a, b) => a + b, 0);
  const k = wasmKernels(kernelBytes(layout.count) + kernelBytes(n * D) + 3 * kernelBytes(n * widths) + 1024);
  const p = k.floats(Float32Array, layout.count) as Float32Array;
  p.set(params);
  const X = k.floats(Float32Array, n * D) as Float32Array;
  rows.forEach((row, r) => X.set(row, r * D));
  const ws = createWorkspace(layout, n, Float32Array, k);
  return { h: (forward(layout, loss, p, X, n, ws) as Float32Array).slice(), ws };
}
