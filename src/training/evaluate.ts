/** A model's accuracy on a stored dataset's test set, shard by shard (an imported model is measured with it). */
import { kernelFactory } from "../kernels";
import { evaluateImages } from "../nn/classify";
import type { Layout, Loss } from "../nn/layout";
import { loadShard, readManifest } from "../storage/datasets";
import { rowsWithin } from "../storage/model-cache";
import { stepBuffers } from "./buffers";

/** Most rows of one forward pass while measuring (a whole shard holds 1 000). */
const EVAL_ROWS = 1000;

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
  // On the WebAssembly kernels, as the model will be served.
  const buffers = stepBuffers(kernelFactory, "wasm-simd", layout, Math.min(rowsWithin(layout), EVAL_ROWS), params, false);
  let correct = 0;
  for (let s = 0; s < manifest.test.shards.length; s++) {
    const shard = await loadShard(bucket, manifest.test, s);
    correct += evaluateImages(layout, loss, buffers.params, shard.pixels, shard.labels, buffers.ws, buffers.X).correct;
  }
  return correct / total;
}
