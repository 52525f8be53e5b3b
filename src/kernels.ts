/**
 * The compiled WebAssembly SIMD kernels (build/kernels.wasm, made from assembly/kernels.ts by scripts/build-wasm.mjs)
 * as the Worker imports them: a precompiled module, since Workers compile no WebAssembly at run time. src/nn stays
 * free of it (Node scripts read the same file themselves) and takes the module as an argument.
 */
import kernelsModule from "../build/kernels.wasm";
import { jsKernels, type KernelFactory } from "./nn/kernels";
import { createWasmKernels, type WasmKernels } from "./nn/kernels-wasm";

export { kernelsModule };

/** WebAssembly SIMD kernels with a fixed memory of at least `bytes` for their buffers. */
export function wasmKernels(bytes: number): WasmKernels {
  return createWasmKernels(kernelsModule, bytes);
}

/** The kernels a plan names, with room for `bytes` of buffers: the JS reference, or the WebAssembly SIMD ones. */
export const kernelFactory: KernelFactory = (name, bytes) => (name === "js" ? jsKernels : wasmKernels(bytes));
