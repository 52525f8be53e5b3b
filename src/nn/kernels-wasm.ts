/**
 * Float32 kernels in WebAssembly SIMD (128-bit, no relaxed-SIMD fused multiply-add: its results may differ between
 * machines, which would break bit-exact runs). The module is `assembly/kernels.ts` compiled ahead of time by
 * `scripts/build-wasm.mjs`; Workers cannot compile WebAssembly at run time, so the Worker imports the compiled
 * module (src/kernels.ts) and Node scripts read it from `build/kernels.wasm`. This file only instantiates it.
 *
 * Each set of kernels owns one fixed linear memory of the size asked for: it never grows (a growth would detach every
 * view into it), and `floats` hands out zeroed, 16-byte aligned float32 views from it, never freed. Everything the
 * kernels read or write (weights, gradients, inputs, activations) must be one of those views.
 */
import type { Kernels } from "./kernels";
import type { Floats, FloatsConstructor } from "./layout";

/** The kernels' exports, as assembly/kernels.ts declares them: pointers are byte offsets into the memory. */
interface KernelExports {
  linearForward(out: number, inp: number, W: number, n: number, I: number, O: number): void;
  weightGradient(grad: number, delta: number, inp: number, n: number, I: number, O: number): void;
  inputGradient(dInp: number, delta: number, inp: number, W: number, n: number, I: number, O: number): void;
}

/** Bytes below the first buffer: left to the module's own static data (it has none today). */
const RESERVED = 1024;
const PAGE = 65536;
/** The largest memory a set of kernels may ask for: a quarter of an isolate's 128 MB. */
export const MAX_KERNEL_BYTES = 32 * 1024 * 1024;

/** WebAssembly kernels with their memory, and how much of it the buffers handed out so far use. */
export interface WasmKernels extends Kernels {
  readonly memory: WebAssembly.Memory;
  /** Bytes handed out by `floats` so far (of `capacity`). */
  used(): number;
  readonly capacity: number;
}

/** Bytes a float32 buffer of `length` takes in a kernels' memory (16-byte aligned). */
export const kernelBytes = (length: number): number => Math.ceil((4 * length) / 16) * 16;

/**
 * Instantiates the compiled kernels with a fixed memory of at least `bytes` for buffers (kernelBytes of each buffer
 * that will be asked for). Synchronous: a precompiled module instantiates without compiling.
 */
export function createWasmKernels(module: WebAssembly.Module, bytes: number): WasmKernels {
  if (!Number.isInteger(bytes) || bytes < 0 || bytes > MAX_KERNEL_BYTES) {
    throw new RangeError(`createWasmKernels: bytes must be an integer in 0..${MAX_KERNEL_BYTES}, got ${bytes}`);
  }
  const pages = Math.ceil((RESERVED + bytes) / PAGE);
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
  const k = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as KernelExports;
  const capacity = pages * PAGE;
  let next = RESERVED;

  /** The byte offset of a buffer of these kernels, refusing anything else. */
  const at = (a: Floats, what: string): number => {
    if (!(a instanceof Float32Array) || a.buffer !== memory.buffer) {
      throw new RangeError(`wasm-simd kernels: ${what} must be a float32 buffer of these kernels (from their floats())`);
    }
    return a.byteOffset;
  };

  return {
    name: "wasm-simd",
    memory,
    capacity,
    used: () => next - RESERVED,

    floats(Type: FloatsConstructor, length: number): Floats {
      if (Type !== Float32Array) throw new RangeError("wasm-simd kernels: float32 only (the float64 path uses the JS kernels)");
      const size = kernelBytes(length);
      if (next + size > capacity) {
        throw new RangeError(`wasm-simd kernels: a buffer of ${length} floats does not fit: ${next - RESERVED} of ${capacity - RESERVED} bytes are used`);
      }
      const view = new Float32Array(memory.buffer, next, length);
      next += size;
      return view;
    },

    linearForward(out, inp, params, off, n, I, O) {
      k.linearForward(at(out, "out"), at(inp, "inp"), at(params, "params") + 4 * off, n, I, O);
    },

    weightGradient(grad, delta, inp, off, n, I, O) {
      k.weightGradient(at(grad, "grad") + 4 * off, at(delta, "delta"), at(inp, "inp"), n, I, O);
    },

    inputGradient(dInp, delta, inp, params, off, n, I, O) {
      k.inputGradient(at(dInp, "dInp"), at(delta, "delta"), at(inp, "inp"), at(params, "params") + 4 * off, n, I, O);
    },
  };
}
