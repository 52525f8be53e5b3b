/**
 * Microseconds per augmented 28 × 28 example (src/data/distort.ts): the unaugmented copy (pixelsToUnit), affine
 * only, elastic only, and both, on the MNIST digits of the golden file, into one float32 batch row after another.
 * Run with `npx tsx bench/distort.ts`. Each figure is the fastest of 300 rounds of 100 examples, so that a shared
 * machine's other work shows less. The JavaScript loops only (in Node nothing installs the WebAssembly elastic field):
 * bench/distort-wasm.mjs compares the two, `npm run bench` measures what the Worker runs.
 */
import { createAugmenter, type AugmentSpec } from "../src/data/distort";
import { pixelsToUnit } from "../src/nn/pixels";
import golden from "../test/data/fixtures/augment-golden.json";

const D = 784;
const digits = golden.images.filter((i) => i.rows * i.cols === D);
const N = 3000;
/** Rounds of ROUND examples: short, so that some of them run while the machine's other work does not. */
const ROUNDS = 300, ROUND = 100;
const pixels = new Uint8Array(N * D);
for (let i = 0; i < N; i++) pixels.set(digits[i % digits.length].pixels, i * D);
const X = new Float32Array(128 * D);

const AFFINE = { rotate: 15, shear: 15, scale: 0.15, translate: 2 };
const ELASTIC = { elastic: { alpha: 34, sigma: 4 } };
const SPECS: [string, AugmentSpec | null][] = [
  ["copy (pixelsToUnit)", null],
  ["affine", AFFINE],
  ["elastic", ELASTIC],
  ["affine + elastic", { ...AFFINE, ...ELASTIC }],
];

function microseconds(run: (i: number) => void): number {
  for (let i = 0; i < N; i++) run(i);
  let best = Infinity;
  for (let round = 0, i = 0; round < ROUNDS; round++) {
    const t0 = performance.now();
    for (const end = i + ROUND; i < end; i++) run(i % N);
    best = Math.min(best, (performance.now() - t0) / ROUND);
  }
  return best * 1000;
}

for (const [name, spec] of SPECS) {
  const aug = spec === null ? null : createAugmenter(spec, 28, 28);
  const us = microseconds((i) => (aug === null ? pixelsToUnit(X, (i & 127) * D, pixels, i * D, D) : aug.apply(pixels, i * D, 1, 3, i, X, (i & 127) * D)));
  console.log(`${name.padEnd(20)} ${us.toFixed(2).padStart(7)} µs/example`);
}
