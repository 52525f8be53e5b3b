/**
 * The elastic field of src/data/distort-elastic.ts on WebAssembly SIMD: assembly/distort.ts compiled ahead of time
 * (scripts/build-wasm.mjs → build/distort.wasm) does the draws and both Gaussian passes, the same operations in the
 * same order as the JavaScript, so the same bits (test/data/distort-wasm.test.ts); about 3× faster on 28 × 28 images
 * (bench/distort.ts). The Worker imports the compiled module (src/kernels.ts installs this as createAugmenter's
 * default), Node scripts read the file; this file only instantiates it and takes the module as an argument.
 *
 * Each field owns one instance and a fixed memory (never grown, so the views into it stay valid): the raw uniforms,
 * the transposed first pass and the field (rows × cols float64 each), then the two sets of taps. The field's gx and gy
 * are views into that memory, read by the JavaScript sampling (distort-sample.ts: in WebAssembly it ran no faster).
 */
import { elasticTaps, jsElasticField, type ElasticFieldFactory } from "./distort-elastic";

/** assembly/distort.ts's export: pointers are byte offsets into the memory. */
interface DistortExports {
  elasticField(ex: number, ey: number, hx: number, hy: number, gx: number, gy: number, w: number, wAlpha: number, R: number, rows: number, cols: number, k0: number, k1: number): void;
}

/** Bytes below the first buffer: left to the module's own static data (it has none today). */
const RESERVED = 1024;
const PAGE = 65536;
/** The largest memory one field takes (images up to about 580 × 580); larger images take the JavaScript loops. */
export const MAX_ELASTIC_BYTES = 16 * 1024 * 1024;

const aligned = (bytes: number): number => Math.ceil(bytes / 16) * 16;

/** Elastic fields on the compiled module `module`, or the JavaScript ones for images whose buffers would not fit. */
export function wasmElasticFields(module: WebAssembly.Module): ElasticFieldFactory {
  return (rows, cols, alpha, sigma) => {
    const n = rows * cols;
    const { kernel, kernelAlpha } = elasticTaps(alpha, sigma);
    const field = aligned(8 * n), taps = aligned(8 * kernel.length);
    const bytes = RESERVED + 6 * field + 2 * taps;
    if (bytes > MAX_ELASTIC_BYTES) return jsElasticField(rows, cols, alpha, sigma);
    const pages = Math.ceil(bytes / PAGE);
    const memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
    const wasm = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as DistortExports;
    const [ex, ey, hx, hy, gx, gy] = [0, 1, 2, 3, 4, 5].map((i) => RESERVED + i * field);
    const w = RESERVED + 6 * field, wAlpha = w + taps;
    new Float64Array(memory.buffer, w, kernel.length).set(kernel);
    new Float64Array(memory.buffer, wAlpha, kernel.length).set(kernelAlpha);
    const R = (kernel.length - 1) >> 1;
    return {
      impl: "wasm-simd",
      gx: new Float64Array(memory.buffer, gx, n),
      gy: new Float64Array(memory.buffer, gy, n),
      compute(k0, k1) {
        wasm.elasticField(ex, ey, hx, hy, gx, gy, w, wAlpha, R, rows, cols, k0, k1);
      },
    };
  };
}
