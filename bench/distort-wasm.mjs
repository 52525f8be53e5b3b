#!/usr/bin/env node
// The augmentation's elastic field on WebAssembly SIMD (src/data/distort-wasm.ts, build/distort.wasm from
// assembly/distort.ts, what the app's Worker installs as createAugmenter's default) beside its JavaScript loops, in
// Node: builds the modules (scripts/build-wasm.mjs), checks on the golden file's MNIST digits that every output float
// of both is the same, and prints µs/example for each (the fastest of 290 rounds of 100 examples, into one float32
// batch row after another). Run with `npx tsx bench/distort-wasm.mjs`; `npm run bench` measures the same inside
// workerd. A .mjs, not a .ts: the project's typecheck sees bench/*.ts with the Workers' types, which have no node:fs.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { createAugmenter } from "../src/data/distort.ts";
import { jsElasticField } from "../src/data/distort-elastic.ts";
import { wasmElasticFields } from "../src/data/distort-wasm.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
execFileSync(process.execPath, [`${root}scripts/build-wasm.mjs`], { stdio: "ignore" });
const wasm = wasmElasticFields(new WebAssembly.Module(readFileSync(`${root}build/distort.wasm`)));

const D = 784;
const golden = JSON.parse(readFileSync(`${root}test/data/fixtures/augment-golden.json`, "utf8"));
const digits = golden.images.filter((i) => i.rows * i.cols === D);
const N = 3000;
const pixels = new Uint8Array(N * D);
for (let i = 0; i < N; i++) pixels.set(digits[i % digits.length].pixels, i * D);
const A = new Float32Array(D), B = new Float32Array(D), X = new Float32Array(128 * D);

const mnist99 = JSON.parse(readFileSync(`${root}specs/mnist-99.json`, "utf8")).augment;
const { elastic, ...affine } = mnist99;
for (const [name, spec] of [["affine (mnist-99)", affine], ["elastic (mnist-99)", { elastic }], ["affine + elastic (mnist-99)", mnist99]]) {
  const js = createAugmenter(spec, 28, 28, jsElasticField), wa = createAugmenter(spec, 28, 28, wasm);
  let differ = 0;
  for (let i = 0; i < 500; i++) {
    js.apply(pixels, i * D, 7, 2, i, A, 0);
    wa.apply(pixels, i * D, 7, 2, i, B, 0);
    for (let q = 0; q < D; q++) if (!Object.is(A[q], B[q])) differ++;
  }
  const best = [Infinity, Infinity];
  for (let round = 0, i = 0; round < 300; round++, i += 100) {
    [js, wa].forEach((aug, k) => {
      const t0 = performance.now();
      for (let j = i; j < i + 100; j++) aug.apply(pixels, (j % N) * D, 1, 3, j, X, (j & 127) * D);
      if (round >= 10) best[k] = Math.min(best[k], ((performance.now() - t0) / 100) * 1000);
    });
  }
  const elastics = `${js.elastic ?? "-"}/${wa.elastic ?? "-"}`;
  console.log(`${name.padEnd(28)} js ${best[0].toFixed(2).padStart(6)} µs  wasm ${best[1].toFixed(2).padStart(6)} µs  (elastic loops ${elastics})  floats that differ: ${differ} of ${500 * D}`);
}
