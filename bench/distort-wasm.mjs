#!/usr/bin/env node
// An experiment, not wired in: the elastic distortion's loops in WebAssembly SIMD (assembly/distort.ts), checked bit
// for bit against src/data/distort.ts and timed beside it. Compiles assembly/distort.ts to build/distort.wasm with the
// kernels' flags, then, on the golden file's MNIST digits, compares every output float of both and prints
// µs/example for each (the fastest of 290 rounds of 100 examples). Run with `npx tsx bench/distort-wasm.mjs`.
import { readFileSync, mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  createAugmenter,
  drawParams,
  exampleKey,
  gaussianKernel,
  inverseAffine,
} from "../src/data/distort.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const out = `${root}build/distort.wasm`;
const { default: asc } = await import("assemblyscript/asc");
mkdirSync(`${root}build`, { recursive: true });
const flags = ["-O3", "--enable", "simd", "--importMemory", "--runtime", "stub", "--noAssert", "--use", "abort="];
const { error, stderr } = await asc.main([`${root}assembly/distort.ts`, "-o", out, ...flags]);
if (error) throw new Error(`AssemblyScript failed: ${error.message}\n${stderr.toString()}`);

const memory = new WebAssembly.Memory({ initial: 2, maximum: 2 });
const wasm = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(out)), { env: { memory } }).exports;
const D = 784, F = D * 8;
const at = { pixels: 1024, ex: 2048, ey: 2048 + F, hx: 2048 + 2 * F, hy: 2048 + 3 * F, gx: 2048 + 4 * F, gy: 2048 + 5 * F, zero: 2048 + 6 * F, w: 2048 + 7 * F, out: 2048 + 7 * F + 1024 };
const bytes = new Uint8Array(memory.buffer);
const outView = new Float32Array(memory.buffer, at.out, D);
const wView = new Float64Array(memory.buffer, at.w, 97);
const m = new Float64Array(4);

/** The wasm augmenter of one spec: JS draws the six affine numbers and A⁻¹, wasm does the rest. */
function wasmAugmenter(spec) {
  const affine = { ...spec, elastic: undefined };
  const params = drawParams(affine, 28, 28, 0, 0, 0);
  let R = 0;
  if (spec.elastic) {
    const w = gaussianKernel(spec.elastic.sigma);
    R = (w.length - 1) >> 1;
    wView.set(w.map((v) => spec.elastic.alpha * v), 0);
    wView.set(w, 48);
  }
  return (pixels, offset, seed, epoch, index, X, xOffset) => {
    drawParams(affine, 28, 28, seed, epoch, index, params);
    inverseAffine(params, m);
    bytes.set(pixels.subarray(offset, offset + D), at.pixels);
    let gx = at.zero, gy = at.zero;
    if (spec.elastic) {
      const k0 = exampleKey(0, seed, epoch, index), k1 = exampleKey(1, seed, epoch, index);
      wasm.fillUniform(at.ex, D, k0, k1, 6);
      wasm.fillUniform(at.ey, D, k0, k1, 6 + D);
      wasm.smoothDownTransposed(at.ex, at.ey, at.hx, at.hy, at.w + 48 * 8, R, 28, 28);
      wasm.smoothDownTransposed(at.hx, at.hy, at.gx, at.gy, at.w, R, 28, 28);
      gx = at.gx;
      gy = at.gy;
    }
    wasm.sample(at.pixels, 28, 28, m[0], m[1], m[2], m[3], params.tx, params.ty, gx, gy, at.out);
    X.set(outView, xOffset);
  };
}

const golden = JSON.parse(readFileSync(`${root}test/data/fixtures/augment-golden.json`, "utf8"));
const digits = golden.images.filter((i) => i.rows * i.cols === D);
const N = 3000;
const pixels = new Uint8Array(N * D);
for (let i = 0; i < N; i++) pixels.set(digits[i % digits.length].pixels, i * D);
const A = new Float32Array(D), B = new Float32Array(D), X = new Float32Array(128 * D);

const AFFINE = { rotate: 15, shear: 15, scale: 0.15, translate: 2 };
const ELASTIC = { elastic: { alpha: 34, sigma: 4 } };
for (const [name, spec] of [["affine", AFFINE], ["elastic", ELASTIC], ["affine + elastic", { ...AFFINE, ...ELASTIC }]]) {
  const js = createAugmenter(spec, 28, 28), wa = wasmAugmenter(spec);
  let differ = 0;
  for (let i = 0; i < 500; i++) {
    js.apply(pixels, i * D, 7, 2, i, A, 0);
    wa(pixels, i * D, 7, 2, i, B, 0);
    for (let q = 0; q < D; q++) if (!Object.is(A[q], B[q])) differ++;
  }
  const best = [Infinity, Infinity];
  for (let round = 0, i = 0; round < 300; round++, i += 100) {
    [js.apply, wa].forEach((f, k) => {
      const t0 = performance.now();
      for (let j = i; j < i + 100; j++) f(pixels, (j % N) * D, 1, 3, j, X, (j & 127) * D);
      if (round >= 10) best[k] = Math.min(best[k], ((performance.now() - t0) / 100) * 1000);
    });
  }
  console.log(`${name.padEnd(18)} js ${best[0].toFixed(2).padStart(6)} µs  wasm ${best[1].toFixed(2).padStart(6)} µs  floats that differ: ${differ} of ${500 * D}`);
}
