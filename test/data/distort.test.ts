/**
 * The data augmentation (src/data/distort.ts) against golden values from an independent numpy implementation
 * (scripts/golden_augment.py, which checks itself against scipy and hand-made points before writing
 * test/data/fixtures/augment-golden.json), and its own properties: the identity is pixelsToUnit exactly, the draws
 * depend on (seed, epoch, index) only, `apply` is drawParams + distortInto bit for bit, outputs stay in [0, 1], and the
 * conventions of the file's header on hand-made points.
 */
import { describe, expect, test } from "vitest";
import {
  AUGMENT_LIMITS,
  createAugmenter,
  createDistortParams,
  createDistortScratch,
  distortInto,
  drawParams,
  gaussianKernel,
  taylorCos,
  taylorExpNeg,
  taylorSin,
  type AugmentSpec,
  type DistortParams,
} from "../../src/data/distort";
import { pixelsToUnit } from "../../src/nn/pixels";
import golden from "./fixtures/augment-golden.json";

interface GoldenCase {
  name: string;
  image: number;
  spec: AugmentSpec;
  seed: number;
  epoch: number;
  index: number;
  draws: { angle: number; shear: number; sx: number; sy: number; tx: number; ty: number };
  fields: { at: number[]; ex: number[]; ey: number[] } | null;
  output: number[];
}

const images = golden.images.map((i) => ({ rows: i.rows, cols: i.cols, pixels: Uint8Array.from(i.pixels) }));
const cases = golden.cases as GoldenCase[];
const ALL: AugmentSpec = { rotate: 15, shear: 15, scale: 0.15, translate: 2, elastic: { alpha: 34, sigma: 4 } };
const digit = images[0];

/** The augmented image of `pixels` under hand-set params (what drawParams would have drawn). */
function distortWith(pixels: Uint8Array, rows: number, cols: number, set: Partial<DistortParams>): Float32Array {
  const p = Object.assign(createDistortParams(rows, cols), set);
  const out = new Float32Array(rows * cols);
  distortInto(pixels, 0, rows, cols, p, out, 0, createDistortScratch(rows, cols));
  return out;
}

describe("distort against numpy (scripts/golden_augment.py)", () => {
  test("the golden file covers every part alone and together, on MNIST digits and a frame that is not square", () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
    expect(images.some((i) => i.rows !== i.cols)).toBe(true);
    const parts = ["rotate", "shear", "scale", "translate", "elastic", "all", "extreme", "identity"];
    for (const part of parts) expect(cases.some((c) => c.name.endsWith(`-${part}`))).toBe(true);
  });

  test.each(cases.map((c) => [c.name, c] as const))("%s: the same draws exactly, every pixel within 1e-5", (_, c) => {
    const { rows, cols, pixels } = images[c.image];
    const p = drawParams(c.spec, rows, cols, c.seed, c.epoch, c.index);
    expect({ angle: p.angle, shear: p.shear, sx: p.sx, sy: p.sy, tx: p.tx, ty: p.ty }).toEqual(c.draws);
    if (c.fields !== null) {
      expect(c.fields.at.map((q) => p.ex[q])).toEqual(c.fields.ex);
      expect(c.fields.at.map((q) => p.ey[q])).toEqual(c.fields.ey);
    }
    const out = new Float32Array(rows * cols);
    distortInto(pixels, 0, rows, cols, p, out, 0, createDistortScratch(rows, cols));
    let worst = 0;
    for (let q = 0; q < out.length; q++) worst = Math.max(worst, Math.abs(out[q] - c.output[q]));
    expect(worst).toBeLessThan(1e-5);
  });

  test("the golden outputs are not trivial: each case moves the digit, and sigma matters", () => {
    const unit = Array.from(digit.pixels, (v) => v / 255);
    for (const c of cases.filter((c) => c.image === 0 && !c.name.endsWith("identity"))) {
      expect(c.output.reduce((s, v, q) => s + Math.abs(v - unit[q]), 0), c.name).toBeGreaterThan(1);
    }
    const c = cases.find((c) => c.name === "image0-elastic")!;
    const p = drawParams({ elastic: { alpha: 34, sigma: 3 } }, 28, 28, c.seed, c.epoch, c.index);
    const out = new Float32Array(784);
    distortInto(digit.pixels, 0, 28, 28, p, out, 0, createDistortScratch(28, 28));
    expect(Math.max(...out.map((v, q) => Math.abs(v - c.output[q])))).toBeGreaterThan(0.1);
  });
});

describe("distort's conventions on hand-made points (the file header)", () => {
  const point = (rows: number, cols: number, r: number, c: number) => {
    const img = new Uint8Array(rows * cols);
    img[r * cols + c] = 255;
    return img;
  };
  const brightest = (out: Float32Array, cols: number) => {
    const q = out.indexOf(Math.max(...out));
    return [Math.floor(q / cols), q % cols, out[q]];
  };

  test("+90° turns content counterclockwise: the pixel 3 right of the centre ends 3 above it", () => {
    const [r, c, v] = brightest(distortWith(point(9, 11, 4, 8), 9, 11, { angle: 90 }), 11);
    expect([r, c]).toEqual([1, 5]);
    expect(v).toBeCloseTo(1, 6);
  });

  test("+tx moves content right, +ty down; sx = 2 doubles x distances; a +45° shear moves lower rows right", () => {
    expect(brightest(distortWith(point(9, 11, 4, 8), 9, 11, { tx: 2, ty: 1 }), 11)).toEqual([5, 10, 1]);
    expect(brightest(distortWith(point(9, 11, 4, 7), 9, 11, { sx: 2 }), 11)).toEqual([4, 9, 1]);
    const [r, c, v] = brightest(distortWith(point(9, 11, 6, 5), 9, 11, { shear: 45 }), 11);
    expect([r, c]).toEqual([6, 7]);
    expect(v).toBeCloseTo(1, 6);
  });

  test("the elastic field adds to the source position: a field of +1 column takes each pixel from its right", () => {
    const rows = 7, cols = 9;
    const ramp = Uint8Array.from({ length: rows * cols }, (_, q) => q);
    const ex = new Float64Array(rows * cols).fill(1);
    const ey = new Float64Array(rows * cols);
    const out = distortWith(ramp, rows, cols, { elastic: { alpha: 1, sigma: 0.5 }, ex, ey });
    for (let r = 2; r < rows - 2; r++) {
      for (let c = 2; c < cols - 2; c++) expect(out[r * cols + c] * 255).toBeCloseTo(ramp[r * cols + c + 1], 4);
    }
  });

  test("the deterministic sin, cos and exp are Math's within a few ulps; the kernel has ⌈3σ⌉ taps a side, sums to 1", () => {
    for (let t = -Math.PI / 2; t <= Math.PI / 2; t += 0.01) {
      expect(Math.abs(taylorSin(t) - Math.sin(t))).toBeLessThan(4e-16);
      expect(Math.abs(taylorCos(t) - Math.cos(t))).toBeLessThan(4e-16);
    }
    for (let x = 0; x <= 20; x += 0.125) expect(Math.abs(taylorExpNeg(x) / Math.exp(-x) - 1)).toBeLessThan(1e-14);
    for (const [sigma, taps] of [[0.5, 5], [1.5, 11], [4, 25], [4.1, 27]]) {
      const w = gaussianKernel(sigma);
      expect(w.length).toBe(taps);
      expect(Math.abs(w.reduce((s, v) => s + v, 0) - 1)).toBeLessThan(1e-15);
    }
  });
});

describe("createAugmenter", () => {
  const X = (n = 1) => new Float32Array(n * 784);

  test("with no part, or every part 0, the output is exactly pixelsToUnit's (float32 and float64)", () => {
    const zeros: AugmentSpec = { rotate: 0, shear: 0, scale: 0, translate: 0, elastic: { alpha: 0, sigma: 4 } };
    for (const spec of [{}, zeros]) {
      for (const out of [new Float32Array(784), new Float64Array(784)]) {
        const want = out.slice();
        pixelsToUnit(want, 0, digit.pixels, 0, 784);
        createAugmenter(spec, 28, 28).apply(digit.pixels, 0, 1, 2, 3, out, 0);
        expect(out).toEqual(want);
      }
    }
  });

  test("apply is drawParams + distortInto, bit for bit, at any offsets, whatever it did before", () => {
    const aug = createAugmenter(ALL, 28, 28);
    const big = new Uint8Array(784 * 3);
    big.set(digit.pixels, 784 * 2);
    const a = X(2);
    aug.apply(images[1].pixels, 0, 9, 1, 5, a, 0);
    aug.apply(big, 784 * 2, 9, 4, 17, a, 784);
    const p = drawParams(ALL, 28, 28, 9, 4, 17);
    const b = X();
    distortInto(digit.pixels, 0, 28, 28, p, b, 0, createDistortScratch(28, 28));
    expect(a.subarray(784)).toEqual(b);
  });

  test("the same (seed, epoch, index) gives the same bits in another augmenter; another seed, epoch, index does not", () => {
    const run = (seed: number, epoch: number, index: number) => {
      const out = X();
      createAugmenter(ALL, 28, 28).apply(digit.pixels, 0, seed, epoch, index, out, 0);
      return out;
    };
    const base = run(1, 2, 3);
    expect(run(1, 2, 3)).toEqual(base);
    for (const [s, e, i] of [[2, 2, 3], [1, 3, 3], [1, 2, 4]]) expect(run(s, e, i)).not.toEqual(base);
  });

  test("a scratch reused across elastic sigmas gives what a fresh one gives", () => {
    const scratch = createDistortScratch(28, 28);
    for (const sigma of [4, 1.5, 4]) {
      const p = drawParams({ elastic: { alpha: 20, sigma } }, 28, 28, 1, 1, 1);
      const reused = X(), fresh = X();
      distortInto(digit.pixels, 0, 28, 28, p, reused, 0, scratch);
      distortInto(digit.pixels, 0, 28, 28, p, fresh, 0, createDistortScratch(28, 28));
      expect(reused).toEqual(fresh);
    }
  });

  test("outputs stay in [0, 1] at the largest values of every part", () => {
    const L = AUGMENT_LIMITS;
    const elastic = { alpha: L.alpha, sigma: L.sigma.min };
    const aug = createAugmenter({ rotate: L.rotate, shear: L.shear, scale: L.scale, translate: L.translate, elastic }, 28, 28);
    const out = X();
    let sum = 0, outside = 0;
    for (let i = 0; i < 200; i++) {
      aug.apply(images[i % 3].pixels, 0, 5, 0, i, out, 0);
      for (const v of out) {
        if (!(v >= 0 && v <= 1)) outside++;
        sum += v;
      }
    }
    expect(outside).toBe(0);
    expect(sum).toBeGreaterThan(0);
  });

  test("the draws look uniform in (−1, 1): mean, variance, and no correlation between neighbouring examples", () => {
    const spec: AugmentSpec = { rotate: 1, elastic: { alpha: 1, sigma: 1 } };
    const p = createDistortParams(28, 28), q = createDistortParams(28, 28);
    let n = 0, sum = 0, sq = 0, cross = 0, lo = 1, hi = -1;
    for (let i = 0; i < 50; i++) {
      drawParams(spec, 28, 28, 3, 1, i, p);
      drawParams(spec, 28, 28, 3, 1, i + 1, q);
      for (let k = 0; k < 784; k++) {
        const u = p.ex[k];
        n += 1;
        sum += u;
        sq += u * u;
        cross += u * q.ex[k];
        lo = Math.min(lo, u, p.ey[k]);
        hi = Math.max(hi, u, p.ey[k]);
      }
    }
    expect(Math.abs(sum / n)).toBeLessThan(0.02);
    expect(Math.abs(sq / n - 1 / 3)).toBeLessThan(0.01);
    expect(Math.abs(cross / n)).toBeLessThan(0.01);
    expect(lo).toBeGreaterThan(-1);
    expect(hi).toBeLessThan(1);
    expect(hi - lo).toBeGreaterThan(1.99);
  });

  test("refuses parts out of range, non-uint32 seeds, and buffers too small, naming what is wrong", () => {
    expect(() => createAugmenter({ rotate: 91 }, 28, 28)).toThrow(/rotate must be a number in 0..90, got 91/);
    expect(() => createAugmenter({ scale: -0.1 }, 28, 28)).toThrow(/scale must be/);
    const refused = (spec: object) => expect(() => createAugmenter(spec as AugmentSpec, 28, 28));
    refused({ elastic: { alpha: 34, sigma: 0.1 } }).toThrow(/elastic.sigma must be a number in 0.5..16, got 0.1/);
    expect(() => createAugmenter({ translate: NaN }, 28, 28)).toThrow(/translate/);
    refused({ rotation: 15 }).toThrow(/unknown part rotation \(known: rotate, shear/);
    refused({ elastic: { sigma: 4 } }).toThrow(/elastic.alpha must be a number in 0..100, got undefined/);
    expect(() => drawParams({}, 28, 28, -1, 0, 0)).toThrow(/seed, epoch and index must be uint32/);
    expect(() => drawParams({}, 28, 28, 0, 0, 2 ** 32)).toThrow(/uint32/);
    const aug = createAugmenter(ALL, 28, 28);
    expect(() => aug.apply(digit.pixels, 1, 0, 0, 0, X(), 0)).toThrow(/pixels hold 784 bytes/);
    expect(() => aug.apply(digit.pixels, 0, 0, 0, 0, X(), 1)).toThrow(/out holds 784 floats/);
    const p27 = createDistortParams(27, 28);
    expect(() => distortInto(digit.pixels, 0, 28, 28, p27, X(), 0, createDistortScratch(28, 28))).toThrow(/params \(27×28\)/);
  });
});
