/**
 * The WebAssembly SIMD kernels against the JS reference (src/nn/kernels.ts), inside workerd with the module the
 * Worker imports: on random shapes (odd sizes, one row, many rows, outputs narrower and wider than a SIMD vector),
 * zero-heavy and dense inputs, every output within float32 rounding of the exact value (computed in float64 by the
 * reference): |wasm − exact| ≤ (terms + 2) · 2⁻²³ · Σ|terms|.
 */
import { describe, expect, test } from "vitest";
import { kernelFactory, kernelsModule, wasmKernels } from "../../src/kernels";
import { jsKernels } from "../../src/nn/kernels";
import { createWasmKernels, kernelBytes } from "../../src/nn/kernels-wasm";
import { nextDouble, seedRng, type RngState } from "../../src/nn/random";

const EPS32 = 2 ** -23;

interface Shape { n: number; I: number; O: number; zeros: number }

const SHAPES: Shape[] = [
  { n: 1, I: 1, O: 1, zeros: 0 },
  { n: 1, I: 784, O: 10, zeros: 0.8 },
  { n: 3, I: 17, O: 5, zeros: 0 },
  { n: 7, I: 33, O: 4, zeros: 0.5 },
  { n: 128, I: 784, O: 128, zeros: 0.8 },
  { n: 100, I: 128, O: 10, zeros: 0 },
  { n: 5, I: 31, O: 33, zeros: 0.3 },
  { n: 2, I: 64, O: 800, zeros: 0 },
  { n: 9, I: 800, O: 17, zeros: 0.9 },
  { n: 64, I: 3, O: 1, zeros: 0.5 },
];

const uniform = (rng: RngState, lo: number, hi: number) => lo + (hi - lo) * nextDouble(rng);

/** Random float32-representable values: inputs in [0, 1] (zeros with probability `zeros`), weights and δ in ±1. */
function data(rng: RngState, s: Shape) {
  const f32 = (n: number, f: () => number) => Float64Array.from(Float32Array.from({ length: n }, f));
  return {
    inp: f32(s.n * s.I, () => (nextDouble(rng) < s.zeros ? 0 : uniform(rng, 0, 1))),
    params: f32(3 + s.O * (s.I + 1) + 2, () => uniform(rng, -1, 1)), // a Θ at offset 3, with room around it
    delta: f32(s.n * s.O, () => uniform(rng, -1, 1)),
    grad: f32(3 + s.O * (s.I + 1) + 2, () => uniform(rng, -0.1, 0.1)),
  };
}

/** The same values in float32 buffers of the kernels. */
function on(k: ReturnType<typeof wasmKernels>, values: Float64Array): Float32Array {
  const a = k.floats(Float32Array, values.length) as Float32Array;
  a.set(values);
  return a;
}

function expectWithinRounding(what: string, got: Float32Array, exact: Float64Array, bound: Float64Array): void {
  for (let t = 0; t < exact.length; t++) {
    const err = Math.abs(got[t] - exact[t]);
    if (!(err <= bound[t])) expect.fail(`${what}[${t}]: ${got[t]} vs exact ${exact[t]} (error ${err}, bound ${bound[t]})`);
  }
}

const bytesFor = (s: Shape) => 4 * kernelBytes(3 + s.O * (s.I + 1) + 2) + 2 * kernelBytes(s.n * s.I) + 2 * kernelBytes(s.n * s.O);

describe.each(SHAPES)("n $n, I $I, O $O, zeros $zeros", (s) => {
  const rng = seedRng(s.n * 1_000_003 + s.I * 1009 + s.O);
  const d = data(rng, s);
  const off = 3;

  test("linearForward", () => {
    const exact = new Float64Array(s.n * s.O);
    jsKernels.linearForward(exact, d.inp, d.params, off, s.n, s.I, s.O);
    const abs = new Float64Array(s.n * s.O);
    jsKernels.linearForward(abs, d.inp, d.params.map(Math.abs), off, s.n, s.I, s.O);
    const k = wasmKernels(bytesFor(s));
    const out = k.floats(Float32Array, s.n * s.O) as Float32Array;
    k.linearForward(out, on(k, d.inp), on(k, d.params), off, s.n, s.I, s.O);
    expectWithinRounding("out", out, exact, abs.map((a) => (s.I + 2) * EPS32 * a));
  });

  test("weightGradient adds into the gradient", () => {
    const exact = Float64Array.from(d.grad);
    jsKernels.weightGradient(exact, d.delta, d.inp, off, s.n, s.I, s.O);
    const abs = d.grad.map(Math.abs);
    jsKernels.weightGradient(abs, d.delta.map(Math.abs), d.inp, off, s.n, s.I, s.O);
    const k = wasmKernels(bytesFor(s));
    const grad = on(k, d.grad);
    k.weightGradient(grad, on(k, d.delta), on(k, d.inp), off, s.n, s.I, s.O);
    expectWithinRounding("grad", grad, exact, abs.map((a) => (s.n + 2) * EPS32 * a));
  });

  test("inputGradient", () => {
    const exact = new Float64Array(s.n * s.I);
    jsKernels.inputGradient(exact, d.delta, d.inp, d.params, off, s.n, s.I, s.O);
    const abs = new Float64Array(s.n * s.I);
    jsKernels.inputGradient(abs, d.delta.map(Math.abs), d.inp, d.params.map(Math.abs), off, s.n, s.I, s.O);
    const k = wasmKernels(bytesFor(s));
    const dInp = k.floats(Float32Array, s.n * s.I) as Float32Array;
    k.inputGradient(dInp, on(k, d.delta), on(k, d.inp), on(k, d.params), off, s.n, s.I, s.O);
    expectWithinRounding("dInp", dInp, exact, abs.map((a) => (s.O + 4) * EPS32 * a));
  });
});

describe("the WebAssembly kernels' memory", () => {
  test("is fixed: buffers come from it, zeroed and aligned, until it is full", () => {
    const k = createWasmKernels(kernelsModule, 1000);
    const a = k.floats(Float32Array, 10) as Float32Array;
    expect(a.every((v) => v === 0)).toBe(true);
    expect(a.byteOffset % 16).toBe(0);
    expect(k.used()).toBe(kernelBytes(10));
    expect(() => k.floats(Float32Array, 100_000)).toThrow(/does not fit/);
    expect(() => k.floats(Float64Array, 4)).toThrow(/float32 only/);
  });

  test("refuses buffers that are not its own", () => {
    const k = wasmKernels(4096);
    const out = k.floats(Float32Array, 4) as Float32Array;
    expect(() => k.linearForward(out, new Float32Array(4), k.floats(Float32Array, 8), 0, 1, 1, 4)).toThrow(/inp must be a float32 buffer of these kernels/);
  });

  test("the factory gives the JS kernels for plans made before the WebAssembly ones", () => {
    expect(kernelFactory("js", 1 << 20)).toBe(jsKernels);
    expect(kernelFactory("wasm-simd", 1 << 20).name).toBe("wasm-simd");
  });
});
