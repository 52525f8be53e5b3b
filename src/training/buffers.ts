/**
 * The buffers a step works in, taken from the kernels its plan names: for the WebAssembly kernels one fixed memory
 * sized here from the network and the rows of a batch, allocated once before the loop (nothing is allocated while it
 * runs); for the JS kernels plain typed arrays.
 */
import type { KernelFactory, KernelName, Kernels } from "../nn/kernels";
import { kernelBytes } from "../nn/kernels-wasm";
import type { Layout } from "../nn/layout";
import { createWorkspace, type Workspace } from "../nn/network";

/** A step's float32 buffers: the weights (a copy of the checkpoint's), a gradient if it trains, a batch and a workspace. */
export interface StepBuffers {
  kernels: Kernels;
  params: Float32Array;
  grad: Float32Array | null;
  X: Float32Array;
  ws: Workspace;
}

/** Bytes of a float32 workspace of `rows` rows in kernel memory (as createWorkspace allocates it). */
function workspaceBytes(layout: Layout, rows: number): number {
  const widths = layout.sizes.slice(1);
  return [...widths, ...widths, widths[widths.length - 1]].reduce((sum, s) => sum + kernelBytes(rows * s), 0);
}

/** Bytes the buffers of stepBuffers take in kernel memory. */
export function stepBufferBytes(layout: Layout, rows: number, withGrad: boolean): number {
  return kernelBytes(layout.count) * (withGrad ? 2 : 1) + kernelBytes(rows * layout.sizes[0]) + workspaceBytes(layout, rows);
}

/** Allocates a step's buffers for batches of up to `rows` examples and copies `params` in. */
export function stepBuffers(make: KernelFactory, name: KernelName, layout: Layout, rows: number, params: Float32Array, withGrad: boolean): StepBuffers {
  const kernels = make(name, stepBufferBytes(layout, rows, withGrad));
  const weights = kernels.floats(Float32Array, layout.count) as Float32Array;
  weights.set(params);
  return {
    kernels,
    params: weights,
    grad: withGrad ? (kernels.floats(Float32Array, layout.count) as Float32Array) : null,
    X: kernels.floats(Float32Array, rows * layout.sizes[0]) as Float32Array,
    ws: createWorkspace(layout, rows, Float32Array, kernels),
  };
}
