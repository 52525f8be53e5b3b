/**
 * Measuring a model on a stored split, shard by shard, on the WebAssembly kernels as it is served: an imported
 * model's test accuracy, and a refresh's before-and-after figures (per class).
 */
import type { SplitManifest } from "../data/shards";
import { kernelFactory } from "../kernels";
import { classCounts } from "../nn/classify";
import type { Layout, Loss } from "../nn/layout";
import { loadShard, readManifest } from "../storage/datasets";
import { rowsWithin } from "../storage/model-cache";
import { stepBuffers } from "./buffers";

/** Most rows of one forward pass while measuring (a whole shard holds 1 000). */
const EVAL_ROWS = 1000;

/**
 * Per class k, how many examples of `split` have label k (`total`) and how many of them the model classifies k
 * (`correct`); zeros for no split.
 */
export async function classCountsOn(
  bucket: R2Bucket, split: SplitManifest | null, layout: Layout, loss: Loss, params: Float32Array,
): Promise<{ correct: Uint32Array; total: Uint32Array }> {
  const K = layout.sizes[layout.sizes.length - 1];
  const correct = new Uint32Array(K);
  const total = new Uint32Array(K);
  if (split === null || split.count === 0) return { correct, total };
  const buffers = stepBuffers(kernelFactory, "wasm-simd", layout, Math.min(rowsWithin(layout), EVAL_ROWS), params, false);
  for (let s = 0; s < split.shards.length; s++) {
    const shard = await loadShard(bucket, split, s);
    classCounts(layout, loss, buffers.params, shard.pixels, shard.labels, buffers.ws, buffers.X, correct, total);
  }
  return { correct, total };
}

/**
 * Accuracy on the test set of dataset `name` when the model's input size and classes are its pixels and classes and
 * the work (parameters × test examples) is at most `maxWork`; null otherwise, or when the dataset does not exist or
 * its manifest cannot be read.
 */
export async function measureTestAccuracy(bucket: R2Bucket, name: string, layout: Layout, loss: Loss, params: Float32Array, maxWork: number): Promise<number | null> {
  const manifest = await readManifest(bucket, name).catch(() => null);
  const D = layout.sizes[0];
  const K = layout.sizes[layout.sizes.length - 1];
  if (manifest === null || manifest.rows * manifest.cols !== D || manifest.classes !== K) return null;
  const total = manifest.test.count;
  if (total === 0 || layout.count * total > maxWork) return null;
  const { correct } = await classCountsOn(bucket, manifest.test, layout, loss, params);
  return correct.reduce((a, b) => a + b, 0) / total;
}
