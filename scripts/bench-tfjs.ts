/**
 * TF.js 4.22 with its WebAssembly backend in Node, the comparison of `npm run bench`: the same networks, batches,
 * digits and starting weights as our kernels (bench/measure.ts), trained in two ways, and the same predictions.
 *
 * - `autodiff`: the loss (sigmoid hidden layers, softmax cross-entropy) under `optimizer.minimize` with
 *   `tf.train.momentum` (v ← μv + g, p ← p − lr·v: ours with v scaled by −lr).
 * - `hand`: the gradients written out as ops in one `tf.tidy` (fused matMul + bias + sigmoid forward, δ = (h − y)/m,
 *   dW = aᵀδ, db = Σδ, δ ← δWᵀ ⊙ a(1 − a)), and the momentum update as ops assigned to variables. The transposes
 *   are explicit ops: the backend's matMul with transposeA or transposeB set runs about 12× slower here (3.3 against
 *   41 GFLOP/s for 128×784 by 784×800), while a transpose and a plain matMul cost about 1.3× the plain one. Autodiff
 *   keeps TF.js's own gradients, which use the transposed matMul.
 *
 * Best configuration: the SIMD build (checked), fused matMul where TF.js allows it (with gradients it fuses only a
 * linear activation), one thread: the threaded build is off in Node (TF.js's flag says so, tensorflow/tfjs#3830) and
 * forcing it fails (its pthread workers start from a blob: URL, which Node's worker_threads refuse); Workers have
 * no threads either. Every batch reads its loss (as a training step does) and leaves no tensor behind.
 */
import * as tf from "@tensorflow/tfjs-core";
import { getThreadsCount, setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { batchStart, D, gather, K, MOMENTUM, type Digits } from "../bench/measure";
import { randInitialize } from "../src/nn/init";
import { createLayout } from "../src/nn/layout";
import { seedRng } from "../src/nn/random";

/** What the backend runs with. */
export interface TfjsInfo {
  version: string;
  backend: string;
  simd: boolean;
  threads: number;
}

/**
 * Registers TF.js's gradients (which @tensorflow/tfjs, the union package, does on import; tfjs-core alone does not),
 * points the backend at the package's .wasm files, checks SIMD and starts it. `gradients` is tfjs-core's
 * dist/register_all_gradients.js bundled as CommonJS (scripts/bench.ts builds it: the file is an ES module with
 * extensionless imports, which Node cannot load). Like the union package's Node bundle, it carries its own copy of
 * the ops it uses; TF.js keeps its engine and registries global for that.
 */
export async function initTfjs(gradients: string): Promise<TfjsInfo> {
  createRequire(import.meta.url)(gradients);
  setWasmPaths(fileURLToPath(new URL("../node_modules/@tensorflow/tfjs-backend-wasm/dist/", import.meta.url)));
  const simd = (await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT")) as boolean;
  if (!simd) throw new Error("TF.js wasm: WASM_HAS_SIMD_SUPPORT is false, the comparison would not be TF.js at its best");
  if (!(await tf.setBackend("wasm"))) throw new Error("TF.js wasm: the backend did not start");
  await tf.ready();
  return { version: tf.version_core, backend: tf.getBackend(), simd, threads: getThreadsCount() };
}

/** Weights and biases as variables, from the same draw as ours (seed 1): Θ column-major is [bias; W] row-major. */
function variablesOf(sizes: readonly number[]): { W: tf.Variable<tf.Rank.R2>[]; b: tf.Variable<tf.Rank.R1>[] } {
  const layout = createLayout(sizes);
  const params = new Float32Array(layout.count);
  randInitialize(layout, seedRng(1), params);
  const W: tf.Variable<tf.Rank.R2>[] = [];
  const b: tf.Variable<tf.Rank.R1>[] = [];
  for (let l = 0; l + 1 < sizes.length; l++) {
    const [I, O, off] = [sizes[l], sizes[l + 1], layout.offsets[l]];
    b.push(tf.variable(tf.tensor1d(params.subarray(off, off + O))));
    W.push(tf.variable(tf.tensor2d(params.subarray(off + O, off + O + I * O), [I, O])));
  }
  return { W, b };
}

/** a·W + b through the backend's fused matMul (its bias, and its activation where given). */
const dense = (a: tf.Tensor2D, W: tf.Tensor2D, bias: tf.Tensor1D, activation?: "sigmoid"): tf.Tensor2D =>
  tf.fused.matMul({ a, b: W, bias, activation }) as tf.Tensor2D;

/** A network in training: one batch at a time, returning its loss. */
export interface TfjsTrainer {
  trainBatch(data: Digits): number;
  dispose(): void;
}

/** The batch's inputs and one-hot labels, gathered as ours are. */
function batchTensors(X: Float32Array, Y: Float32Array, data: Digits, from: number, n: number): [tf.Tensor2D, tf.Tensor2D] {
  gather(X, data.pixels, from, n);
  Y.fill(0);
  for (let r = 0; r < n; r++) Y[r * K + data.labels[from + r]] = 1;
  return [tf.tensor2d(X, [n, D]), tf.tensor2d(Y, [n, K])];
}

/** Training by automatic differentiation: the loss under optimizer.minimize. */
export function autodiffTrainer(sizes: readonly number[], n: number): TfjsTrainer {
  const { W, b } = variablesOf(sizes);
  const opt = tf.train.momentum(MOMENTUM.learningRate, MOMENTUM.momentum);
  const [X, Y] = [new Float32Array(n * D), new Float32Array(n * K)];
  let next = 0;
  return {
    trainBatch(data) {
      const from = batchStart(next++, n, data.count);
      const loss = tf.tidy(() => {
        const [xs, ys] = batchTensors(X, Y, data, from, n);
        return opt.minimize(() => {
          let a: tf.Tensor2D = xs;
          for (let l = 0; l < W.length - 1; l++) a = tf.sigmoid(dense(a, W[l], b[l]));
          return tf.losses.softmaxCrossEntropy(ys, dense(a, W[W.length - 1], b[b.length - 1])) as tf.Scalar;
        }, true, [...W, ...b])!;
      });
      const J = loss.dataSync()[0];
      loss.dispose();
      return J;
    },
    dispose: () => {
      opt.dispose();
      tf.dispose([...W, ...b]);
    },
  };
}

/** Training with the gradients written out as ops, and momentum as ops: v ← μv − lr·g, p ← p + v. */
export function handTrainer(sizes: readonly number[], n: number): TfjsTrainer {
  const { W, b } = variablesOf(sizes);
  const vW = W.map((w) => tf.variable(tf.zerosLike(w)));
  const vb = b.map((c) => tf.variable(tf.zerosLike(c)));
  const { learningRate: lr, momentum: mu } = MOMENTUM;
  const update = (p: tf.Variable, v: tf.Variable, g: tf.Tensor) => {
    const next = tf.sub(tf.mul(v, mu), tf.mul(g, lr));
    v.assign(next);
    p.assign(tf.add(p, next));
  };
  const [X, Y] = [new Float32Array(n * D), new Float32Array(n * K)];
  const last = W.length - 1;
  let next = 0;
  return {
    trainBatch(data) {
      const from = batchStart(next++, n, data.count);
      const loss = tf.tidy(() => {
        const [xs, ys] = batchTensors(X, Y, data, from, n);
        const acts: tf.Tensor2D[] = [xs];
        for (let l = 0; l < last; l++) acts.push(dense(acts[l], W[l], b[l], "sigmoid"));
        const logp = tf.logSoftmax(dense(acts[last], W[last], b[last]));
        const J = tf.div(tf.neg(tf.sum(tf.mul(ys, logp))), n);
        let delta: tf.Tensor2D = tf.div(tf.sub(tf.exp(logp), ys), n);
        for (let l = last; l >= 0; l--) {
          const [gW, gb] = [tf.matMul(tf.transpose(acts[l]), delta), tf.sum(delta, 0)];
          if (l > 0) delta = tf.mul(tf.matMul(delta, tf.transpose(W[l])), tf.mul(acts[l], tf.sub(1, acts[l])));
          update(W[l], vW[l], gW);
          update(b[l], vb[l], gb);
        }
        return J;
      });
      const J = loss.dataSync()[0];
      loss.dispose();
      return J;
    },
    dispose: () => tf.dispose([...W, ...b, ...vW, ...vb]),
  };
}

/** A served model in TF.js: one image, or a batch of digits (how many it gets right). */
export interface TfjsPredictor {
  predictOne(image: Float32Array): number;
  predictBatch(data: Digits, from: number): number;
  dispose(): void;
}

/** Prediction with fused matMul + bias + sigmoid, then softmax; batches of `rows` digits. */
export function tfjsPredictor(sizes: readonly number[], rows: number): TfjsPredictor {
  const { W, b } = variablesOf(sizes);
  const probabilities = (x: tf.Tensor2D): tf.Tensor2D => {
    let a = x;
    for (let l = 0; l < W.length - 1; l++) a = dense(a, W[l], b[l], "sigmoid");
    return tf.softmax(dense(a, W[W.length - 1], b[b.length - 1]));
  };
  const Xb = new Float32Array(rows * D);
  return {
    predictOne(image) {
      const p = tf.tidy(() => probabilities(tf.tensor2d(image, [1, D])));
      const h = p.dataSync();
      p.dispose();
      let best = 0;
      for (let k = 1; k < K; k++) if (h[k] > h[best]) best = k;
      return best;
    },
    predictBatch(data, from) {
      gather(Xb, data.pixels, from, rows);
      const digits = tf.tidy(() => tf.argMax(probabilities(tf.tensor2d(Xb, [rows, D])), 1));
      const d = digits.dataSync();
      digits.dispose();
      let right = 0;
      for (let r = 0; r < rows; r++) if (d[r] === data.labels[from + r]) right++;
      return right;
    },
    dispose: () => tf.dispose([...W, ...b]),
  };
}

/** Tensors alive now: a loop that leaks shows it growing. */
export const liveTensors = (): number => tf.memory().numTensors;
