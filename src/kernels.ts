/**
 * The compiled WebAssembly SIMD modules as the Worker imports them: precompiled, since Workers compile no WebAssembly
 * at run time. build/kernels.wasm (assembly/kernels.ts, the float32 dense kernels) and build/distort.wasm
 * (assembly/distort.ts, the augmentation's elastic field), both made by scripts/build-wasm.mjs. src/nn and src/data
 * stay free of them (Node scripts read the same files themselves) and take a module as an argument.
 *
 * Importing this module installs the WebAssembly elastic field as createAugmenter's default (src/data/distort.ts):
 * the same bits as the JavaScript one, about 3× faster, for every augmenter the Worker makes (training steps, the
 * augmented preview).
 */
import kernelsModule from "../build/kernels.wasm";
import distortModule from "../build/distort.wasm";
import { useElasticFields } from "./data/distort";
import { wasmElasticFields } from "./data/distort-wasm";
import { jsKernels, type KernelFactory } from "./nn/kernels";
import { createWasmKernels, type WasmKernels } from "./nn/kernels-wasm";

export { distortModule, kernelsModule };

useElasticFields(wasmElasticFields(distortModule));

/** WebAssembly SIMD kernels with a fixed memory of at least `bytes` for their buffers. */
export function wasmKernels(bytes: number): WasmKernels {
  return createWasmKernels(kernelsModule, bytes);
}

/** The kernels a plan names, with room for `bytes` of buffers: the JS reference, or the WebAssembly SIMD ones. */
export const kernelFactory: KernelFactory = (name, bytes) => (name === "js" ? jsKernels : wasmKernels(bytes));
