/**
 * The elastic field on WebAssembly SIMD (src/data/distort-wasm.ts, assembly/distort.ts compiled to build/distort.wasm
 * and imported as the Worker imports it) against the JavaScript one (src/data/distort-elastic.ts), inside workerd:
 * every bit of the field and of the augmented image the same, over the golden cases, many random (seed, epoch, index)
 * draws with every part, and odd, tiny and non-square frames; and the Worker's augmenters use it.
 */
import { describe, expect, test } from "vitest";
import { AUGMENT_LIMITS, createAugmenter, exampleKey, type AugmentSpec } from "../../src/data/distort";
import { jsElasticField } from "../../src/data/distort-elastic";
import { MAX_ELASTIC_BYTES, wasmElasticFields } from "../../src/data/distort-wasm";
import { distortModule } from "../../src/kernels";
import golden from "./fixtures/augment-golden.json";

const wasm = wasmElasticFields(distortModule);
const images = golden.images.map((i) => ({ rows: i.rows, cols: i.cols, pixels: Uint8Array.from(i.pixels) }));
const cases = golden.cases as { name: string; image: number; spec: AugmentSpec; seed: number; epoch: number; index: number; output: number[] }[];
const L = AUGMENT_LIMITS;

/** A seeded stream of uint32 (xorshift32), so that the "random" cases are the same every run. */
function stream(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>>= 0);
  };
}

/** How many elements of two float arrays differ in any bit (0 and −0 differ, a NaN equals only the same NaN). */
function bitsDiffer(a: Float32Array | Float64Array, b: Float32Array | Float64Array): number {
  expect(a.length).toBe(b.length);
  const bytes = a.BYTES_PER_ELEMENT;
  const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength), y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  let differ = 0;
  for (let q = 0; q < a.length; q++) {
    for (let k = q * bytes; k < (q + 1) * bytes; k++) {
      if (x[k] !== y[k]) {
        differ++;
        break;
      }
    }
  }
  return differ;
}

/** A random image of rows × cols: mostly 0 with strokes of 255 and grey, as digits are. */
function randomImage(next: () => number, rows: number, cols: number): Uint8Array {
  const px = new Uint8Array(rows * cols);
  for (let q = 0; q < px.length; q++) {
    const u = next() % 8;
    px[q] = u < 5 ? 0 : u < 7 ? 255 : next() & 255;
  }
  return px;
}

/** A random spec with every part, elastic included, anywhere in AUGMENT_LIMITS. */
function randomSpec(next: () => number): AugmentSpec {
  const u = () => next() / 2 ** 32;
  return {
    rotate: L.rotate * u(), shear: L.shear * u(), scale: L.scale * u(), translate: L.translate * u(),
    elastic: { alpha: L.alpha * u(), sigma: L.sigma.min + (L.sigma.max - L.sigma.min) * u() ** 2 },
  };
}

describe("the WebAssembly elastic field is the JavaScript one, bit for bit", () => {
  test("importing src/kernels.ts (as the Worker does) makes createAugmenter use it; without an elastic part there is none", () => {
    expect(createAugmenter({ rotate: 8, elastic: { alpha: 34, sigma: 4 } }, 28, 28).elastic).toBe("wasm-simd");
    expect(createAugmenter({ rotate: 8 }, 28, 28).elastic).toBeNull();
    expect(createAugmenter({ elastic: { alpha: 34, sigma: 4 } }, 28, 28, jsElasticField).elastic).toBe("js");
  });

  test.each(cases.map((c) => [c.name, c] as const))("golden %s: the same bits, float32 and float64, and numpy's within 1e-5", (_, c) => {
    const { rows, cols, pixels } = images[c.image];
    const [js, wa] = [jsElasticField, wasm].map((f) => createAugmenter(c.spec, rows, cols, f));
    for (const Type of [Float32Array, Float64Array]) {
      const a = new Type(rows * cols), b = new Type(rows * cols);
      js.apply(pixels, 0, c.seed, c.epoch, c.index, a, 0);
      wa.apply(pixels, 0, c.seed, c.epoch, c.index, b, 0);
      expect(bitsDiffer(a, b)).toBe(0);
      let worst = 0;
      for (let q = 0; q < b.length; q++) worst = Math.max(worst, Math.abs(b[q] - c.output[q]));
      expect(worst).toBeLessThan(1e-5);
    }
  });

  test("the fields themselves: 400 random examples and (alpha, sigma), on frames from 2 × 2 to 40 × 33, odd and even", () => {
    const next = stream(99);
    const sizes = [[2, 2], [2, 3], [3, 2], [5, 7], [7, 5], [17, 23], [23, 17], [28, 28], [29, 31], [40, 33], [4, 97]];
    let compared = 0;
    for (let i = 0; i < 400; i++) {
      const [rows, cols] = sizes[i % sizes.length];
      const { elastic } = randomSpec(next);
      const [a, b] = [jsElasticField, wasm].map((f) => f(rows, cols, elastic!.alpha, elastic!.sigma));
      expect(b.impl).toBe("wasm-simd");
      const [seed, epoch, index] = [next(), next() % 1000, next()];
      const k0 = exampleKey(0, seed, epoch, index), k1 = exampleKey(1, seed, epoch, index);
      a.compute(k0, k1);
      b.compute(k0, k1);
      expect(bitsDiffer(a.gx, b.gx) + bitsDiffer(a.gy, b.gy), `${rows}×${cols} ${JSON.stringify(elastic)} ${seed} ${epoch} ${index}`).toBe(0);
      compared += 2 * rows * cols;
      expect(b.gx.some((v) => v !== 0)).toBe(elastic!.alpha > 0);
    }
    expect(compared).toBeGreaterThan(200_000);
  });

  test("augmented images, every part: 3000 draws of specs/mnist-99.json's augment on MNIST digits, one augmenter each, any order", () => {
    const spec: AugmentSpec = { rotate: 8, shear: 8, scale: 0.08, elastic: { alpha: 34, sigma: 4 } };
    const [js, wa] = [jsElasticField, wasm].map((f) => createAugmenter(spec, 28, 28, f));
    const next = stream(7);
    const a = new Float32Array(784 * 2), b = new Float32Array(784 * 2);
    let differ = 0;
    for (let i = 0; i < 3000; i++) {
      const [seed, epoch, index] = [next(), next() % 200, next() % 60_000];
      const { pixels } = images[i % 3];
      const at = 784 * (i & 1);
      js.apply(pixels, 0, seed, epoch, index, a, at);
      wa.apply(pixels, 0, seed, epoch, index, b, at);
      differ += bitsDiffer(a.subarray(at, at + 784), b.subarray(at, at + 784));
    }
    expect(differ).toBe(0);
  });

  test("augmented images on odd and tiny frames: 600 random specs and draws, float32 and float64, at offsets", () => {
    const next = stream(2024);
    const sizes = [[2, 2], [3, 5], [9, 11], [17, 23], [27, 28], [31, 29], [13, 64]];
    for (let i = 0; i < 600; i++) {
      const [rows, cols] = sizes[i % sizes.length];
      const n = rows * cols;
      const spec = randomSpec(next);
      const pixels = randomImage(next, rows * 2, cols);
      const [seed, epoch, index] = [next(), next(), next()];
      const [js, wa] = [jsElasticField, wasm].map((f) => createAugmenter(spec, rows, cols, f));
      const Type = i % 2 === 0 ? Float32Array : Float64Array;
      const a = new Type(n + 3), b = new Type(n + 3);
      js.apply(pixels, n, seed, epoch, index, a, 3);
      wa.apply(pixels, n, seed, epoch, index, b, 3);
      expect(bitsDiffer(a, b), `${rows}×${cols} ${JSON.stringify(spec)} ${seed} ${epoch} ${index}`).toBe(0);
    }
  });

  test("a field's memory is its own and fixed: two fields interleaved give what each gives alone", () => {
    const [f, g] = [wasm(28, 28, 34, 4), wasm(28, 28, 8, 1.5)];
    const alone = jsElasticField(28, 28, 34, 4);
    for (let i = 0; i < 20; i++) {
      f.compute(i, 5);
      g.compute(i + 1, 6);
      alone.compute(i, 5);
      expect(bitsDiffer(f.gx, alone.gx) + bitsDiffer(f.gy, alone.gy)).toBe(0);
    }
    expect(f.gx.buffer).not.toBe(g.gx.buffer);
  });

  test(`images whose buffers pass ${MAX_ELASTIC_BYTES / 2 ** 20} MB take the JavaScript loops`, () => {
    expect(wasm(600, 600, 34, 4).impl).toBe("js");
    expect(wasm(500, 500, 34, 4).impl).toBe("wasm-simd");
  });
});
