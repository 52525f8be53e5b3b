/**
 * What a run trains on, as pictures: the first examples of an epoch's order as stored and as the run augments them
 * (the same draws a step makes: seed, epoch, index), for the page's Training panel.
 */
import { epochOrder } from "../data/batches";
import { createAugmenter } from "../data/distort";
import { pixelsToUnit } from "../nn/pixels";
import { loadShard, readManifest } from "../storage/datasets";
import { ConflictError } from "../errors";
import { locateExample } from "./plan";
import type { RunRecord } from "./record";
import { augmentsEpoch } from "./step";

/** One training example: its index in the run's training set, its label, and its pixels before and after (0..255). */
export interface PreviewExample {
  index: number;
  label: number;
  original: number[];
  augmented: number[];
}

/** Most examples one preview shows. */
export const MAX_PREVIEW = 16;

/**
 * The first `count` dataset examples (corrections are skipped: their snapshot goes when the run ends) of the run's
 * `epoch` order, and each augmented as that epoch's step augments it (unchanged when the spec has no augment).
 * ConflictError `dataset_changed` when the dataset the run trained on was replaced.
 */
export async function previewExamples(bucket: R2Bucket, record: RunRecord, epoch: number, count: number): Promise<PreviewExample[]> {
  const { spec, plan } = record;
  const manifest = await readManifest(bucket, record.dataset.name);
  if (manifest === null || manifest.version !== record.dataset.version) {
    throw new ConflictError("dataset_changed", `dataset ${record.dataset.name} version ${record.dataset.version}, which run ${record.id} trained on, is no longer stored`);
  }
  const { rows, cols } = plan.image;
  const D = rows * cols;
  const augmenter = !augmentsEpoch(spec, epoch) ? null : createAugmenter(spec.augment!, rows, cols);
  const order = epochOrder(spec.seed, epoch, plan.trainCount, plan.shardSize);
  const out: PreviewExample[] = [];
  const unit = new Float32Array(D);
  const where = { source: "train" as const, shard: 0, offset: 0 };
  for (let i = 0; i < order.length && out.length < count; i++) {
    const index = order[i];
    if (index >= plan.baseCount) continue;
    const at = locateExample(plan, "train", index, { ...where });
    const shard = await loadShard(bucket, manifest.train, at.shard);
    const from = at.offset * D;
    if (augmenter === null) pixelsToUnit(unit, 0, shard.pixels, from, D);
    else augmenter.apply(shard.pixels, from, spec.seed, epoch, index, unit, 0);
    out.push({
      index, label: shard.labels[at.offset],
      original: Array.from(shard.pixels.subarray(from, from + D)),
      augmented: Array.from(unit, (v) => Math.round(255 * v)),
    });
  }
  return out;
}
