/**
 * Labelled corrections sent from the page. Each accepted example is its own R2 object (a one-example shard, with
 * its CRC-32) under a fresh key, so concurrent writers never overwrite each other and no accepted example is lost.
 * A run that includes feedback snapshots every example into shards when it starts, so its data stays fixed.
 */
import { splitShards } from "../data/build";
import { decodeShard, encodeShard, SHARD_SIZE, type ShardEntry, type SplitManifest } from "../data/shards";
import { keys, timeId } from "./keys";
import { listNames } from "./list";

/** The most corrections a run snapshots (the oldest first). */
export const MAX_FEEDBACK = 20_000;

/** Stores one labelled example; returns its id (time-ordered). */
export async function putFeedback(bucket: R2Bucket, pixels: Uint8Array, label: number, rows: number, cols: number): Promise<string> {
  const id = timeId("", 6);
  const put = await bucket.put(keys.feedbackItem(id), encodeShard(Uint8Array.of(label), pixels, rows, cols), { onlyIf: { etagDoesNotMatch: "*" } });
  if (put === null) throw new Error(`putFeedback: id ${id} exists already`);
  return id;
}

/** Keys of every stored correction, oldest first. */
export async function listFeedbackKeys(bucket: R2Bucket): Promise<string[]> {
  return (await listNames(bucket, keys.feedbackPrefix)).map((name) => keys.feedbackPrefix + name).sort();
}

/**
 * Writes the corrections of shape rows × cols (up to MAX_FEEDBACK, oldest first) as shards for run `runId` and
 * returns them as a split, or null when there are none.
 */
export async function snapshotFeedback(bucket: R2Bucket, runId: string, rows: number, cols: number, classes: number): Promise<SplitManifest | null> {
  const itemKeys = (await listFeedbackKeys(bucket)).slice(0, MAX_FEEDBACK);
  const D = rows * cols;
  const labels: number[] = [];
  const pixels = new Uint8Array(itemKeys.length * D);
  for (let i = 0; i < itemKeys.length; i += 50) {
    const objects = await Promise.all(itemKeys.slice(i, i + 50).map((k) => bucket.get(k)));
    for (const [j, obj] of objects.entries()) {
      if (obj === null) continue;
      const item = decodeShard(new Uint8Array(await obj.arrayBuffer()), itemKeys[i + j]);
      if (item.rows !== rows || item.cols !== cols || item.labels[0] >= classes) continue;
      pixels.set(item.pixels, labels.length * D);
      labels.push(item.labels[0]);
    }
  }
  if (labels.length === 0) return null;
  const shards: ShardEntry[] = [];
  const data = { labels: Uint8Array.from(labels), pixels: pixels.subarray(0, labels.length * D) };
  for (const shard of splitShards("train", data, { rows, cols }, (_split, s) => keys.feedbackSnapshotShard(runId, s), shards)) {
    await bucket.put(shard.key, shard.bytes);
  }
  return { count: labels.length, shardSize: SHARD_SIZE, shards };
}
