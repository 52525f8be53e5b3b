/**
 * Measuring a model on a stored split, shard by shard, on the WebAssembly kernels as it is served: an imported
 * model's validation and test accuracies, and a refresh's before-and-after figures (per class, and example by example).
 */
import type { SplitManifest } from "../data/shards";
import { kernelFactory } from "../kernels";
import { predictImages } from "../nn/classify";
import type { Layout, Loss } from "../nn/layout";
import { loadShard, readManifest } from "../storage/datasets";
import { rowsWithin } from "../storage/model-cache";
import { stepBuffers } from "./buffers";

/** Most rows of one forward pass while measuring (a whole shard holds 1 000). */
const EVAL_ROWS = 1000;

/** A model's answers on a stored split: each example's label and the class the model predicts, in the split's order. */
export interface SplitAnswers {
  labels: Uint8Array;
  predicted: Uint8Array;
}

/** The labels of `split` and what the model predicts for each of its examples (empty for no split). */
export async function answersOn(bucket: R2Bucket, split: SplitManifest | null, layout: Layout, loss: Loss, params: Float32Array): Promise<SplitAnswers> {
  const n = split?.count ?? 0;
  const out = { labels: new Uint8Array(n), predicted: new Uint8Array(n) };
  if (split === null || n === 0) return out;
  const buffers = stepBuffers(kernelFactory, "wasm-simd", layout, Math.min(rowsWithin(layout), EVAL_ROWS), params, false);
  let at = 0;
  for (let s = 0; s < split.shards.length; s++) {
    const shard = await loadShard(bucket, split, s);
    predictImages(layout, loss, buffers.params, shard.pixels, shard.count, buffers.ws, buffers.X, out.predicted, at);
    out.labels.set(shard.labels, at);
    at += shard.count;
  }
  return out;
}

/** What an imported model is measured on: a dataset's validation and test accuracies (null when not measured). */
export interface Accuracies {
  validationAccuracy: number | null;
  testAccuracy: number | null;
}

/**
 * Accuracy on the validation and test sets of dataset `name` when the model's input size and classes are its pixels and classes and
 * the work (parameters × examples of both) is at most `maxWork`; nulls otherwise, or when the dataset does not exist
 * or its manifest cannot be read.
 */
export async function measureAccuracies(bucket: R2Bucket, name: string, layout: Layout, loss: Loss, params: Float32Array, maxWork: number): Promise<Accuracies> {
  const none = { validationAccuracy: null, testAccuracy: null };
  const manifest = await readManifest(bucket, name).catch(() => null);
  const D = layout.sizes[0];
  const K = layout.sizes[layout.sizes.length - 1];
  if (manifest === null || manifest.rows * manifest.cols !== D || manifest.classes !== K) return none;
  if (layout.count * (manifest.validation.count + manifest.test.count) > maxWork) return none;
  const accuracy = async (split: SplitManifest) => {
    if (split.count === 0) return null;
    const { labels, predicted } = await answersOn(bucket, split, layout, loss, params);
    let correct = 0;
    for (let i = 0; i < labels.length; i++) if (predicted[i] === labels[i]) correct++;
    return correct / split.count;
  };
  return { validationAccuracy: await accuracy(manifest.validation), testAccuracy: await accuracy(manifest.test) };
}
