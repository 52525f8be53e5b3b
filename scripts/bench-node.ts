/**
 * The Node side of `npm run bench`: TF.js's two trainers and its predictor (scripts/bench-tfjs.ts), and our own
 * WebAssembly kernels in Node too ("edgeprop-node"), so that ours and TF.js are also compared in the same runtime.
 * Each is measured as the bench Worker measures ours (bench/measure.ts): the same batches, digits and starting
 * weights, and single-image latency over 1 ms windows of a clock floored to whole milliseconds, as workerd's is.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  batchStart, createPredictor, createTrainer, latencyWindows, measurePrediction, measureTraining, predictorBytes, rate, sizesOf, trainBatch, trainerBytes,
  type Digits, type PredictFigures,
} from "../bench/measure";
import { createWasmKernels } from "../src/nn/kernels-wasm";
import { autodiffTrainer, handTrainer, liveTensors, tfjsPredictor, type TfjsTrainer } from "./bench-tfjs";
import { ROOT } from "./wrangler-dev";

export type NodeTrainImpl = "edgeprop-node" | "tfjs-wasm-hand" | "tfjs-wasm-autodiff";
export type NodePredictImpl = "edgeprop-node" | "tfjs-wasm";

const now = () => performance.now();
const msClock = () => Math.floor(performance.now());
let kernelsModule: WebAssembly.Module | null = null;
const wasmKernels = (bytes: number) => createWasmKernels((kernelsModule ??= new WebAssembly.Module(readFileSync(join(ROOT, "build", "kernels.wasm")))), bytes);

/**
 * A TF.js trainer's examples/s for at least `ms`; throws if its batches leave tensors behind (counted after a first
 * batch, which creates the optimizer's own variables).
 */
function tfjsTraining(t: TfjsTrainer, data: Digits, batch: number, ms: number): number {
  t.trainBatch(data);
  const before = liveTensors();
  const r = rate(() => t.trainBatch(data), now, ms);
  if (liveTensors() !== before) throw new Error(`TF.js leaks: ${before} tensors before, ${liveTensors()} after`);
  return (r.calls * batch * 1000) / r.ms;
}

/** Batches the trainers' losses are compared on before they are measured. */
export const AGREE_BATCHES = 3;

/**
 * The Node-side trainers of one network: each measures its examples/s for at least `ms`. `agree` trains the first
 * AGREE_BATCHES batches with ours and TF.js's two from the same weights and returns the largest relative difference of
 * their losses: they compute the same thing, or the comparison means nothing.
 */
export function nodeTrainers(net: string, batch: number): { agree: (data: Digits) => number; measure: Record<NodeTrainImpl, (data: Digits, ms: number) => number>; dispose: () => void } {
  const sizes = sizesOf(net);
  const ours = createTrainer(wasmKernels(trainerBytes(sizes, batch)), sizes, batch);
  const [hand, autodiff] = [handTrainer(sizes, batch), autodiffTrainer(sizes, batch)];
  return {
    agree(data) {
      let worst = 0;
      for (let b = 0; b < AGREE_BATCHES; b++) {
        const J = trainBatch(ours, data);
        for (const t of [hand, autodiff]) worst = Math.max(worst, Math.abs(t.trainBatch(data) - J) / Math.abs(J));
      }
      return worst;
    },
    measure: {
      "edgeprop-node": (data, ms) => measureTraining(ours, data, now, ms).examplesPerSecond,
      "tfjs-wasm-hand": (data, ms) => tfjsTraining(hand, data, batch, ms),
      "tfjs-wasm-autodiff": (data, ms) => tfjsTraining(autodiff, data, batch, ms),
    },
    dispose: () => [hand, autodiff].forEach((t) => t.dispose()),
  };
}

/** The Node-side predictors of one network: `windows` latency windows, then batches of `rows` for at least `ms`. */
export function nodePredictors(net: string, rows: number): { measure: Record<NodePredictImpl, (images: Float32Array[], test: Digits, windows: number, ms: number) => PredictFigures>; dispose: () => void } {
  const sizes = sizesOf(net);
  const ours = createPredictor(wasmKernels(predictorBytes(sizes, rows)), sizes, rows);
  const tf = tfjsPredictor(sizes, rows);
  return {
    measure: {
      "edgeprop-node": (images, test, windows, ms) => measurePrediction(ours, images, test, msClock, windows, ms),
      "tfjs-wasm": (images, test, windows, ms) => {
        let [i, k] = [0, 0];
        const latency = latencyWindows(() => tf.predictOne(images[i++ % images.length]), msClock, windows);
        const b = rate(() => tf.predictBatch(test, batchStart(k++, rows, test.count)), now, ms);
        return { ...latency, examplesPerSecond: (b.calls * rows * 1000) / b.ms };
      },
    },
    dispose: () => tf.dispose(),
  };
}
