/**
 * Labelled corrections sent from the page. Each is its own R2 object (a one-example shard, with its CRC-32) under a
 * fresh key, so concurrent writers never overwrite each other. Anonymous corrections are stored pending; only an
 * admin's review (src/storage/review.ts) makes them accepted, and a run that includes feedback snapshots the newest
 * accepted ones into shards when it starts, so its data stays fixed and nothing pending is ever trained on.
 */
import { splitShards } from "../data/build";
import { decodeShard, encodeShard, SHARD_SIZE, type ShardEntry, type SplitManifest } from "../data/shards";
import { CapacityError } from "../errors";
import { feedbackIdOf, feedbackIdTime, keys, timeId } from "./keys";

/** The most accepted corrections a run snapshots (the newest first). */
export const MAX_FEEDBACK = 20_000;
/** The largest pending cap: one R2 list page, so that one list call counts the pending corrections. */
export const MAX_PENDING_CAP = 1000;

/** Share of the accepted corrections held out (never trained on, only evaluated): one in HOLDOUT_EVERY. */
export const HOLDOUT_EVERY = 5;

/** Which part of the accepted corrections a correction belongs to, fixed by its id. */
export type CorrectionPart = "train" | "holdout";

/**
 * The part correction `id` belongs to, by a stable hash of its id (32-bit FNV-1a of its characters): the holdout
 * when the hash is a multiple of HOLDOUT_EVERY (20%), else training. The same id is always in the same part, on
 * every run and every machine, so a holdout correction is never trained on by any run.
 */
export function partOf(id: string): CorrectionPart {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % HOLDOUT_EVERY === 0 ? "holdout" : "train";
}

/** A stored correction, decoded. */
export interface Correction {
  id: string;
  label: number;
  rows: number;
  cols: number;
  pixels: Uint8Array;
  createdAt: string;
  /** When an admin accepted it (accepted corrections only). */
  acceptedAt?: string;
}

/** How many corrections wait for review and how many are accepted. */
export interface FeedbackCounts {
  pending: number;
  pendingMax: number;
  accepted: number;
}

/** The FEEDBACK_PENDING_MAX var as a number; a value that is not an integer in 0..MAX_PENDING_CAP is refused. */
export function pendingCapFrom(value: string | undefined): number {
  const n = Number(value);
  if (value === undefined || value.trim() === "" || !Number.isInteger(n) || n < 0 || n > MAX_PENDING_CAP) {
    throw new Error(`FEEDBACK_PENDING_MAX must be an integer in 0..${MAX_PENDING_CAP}, got ${JSON.stringify(value)}`);
  }
  return n;
}

/** Pending corrections, from one list page: exact up to MAX_PENDING_CAP, MAX_PENDING_CAP + 1 for any more. */
export async function countPending(bucket: R2Bucket): Promise<number> {
  const page = await bucket.list({ prefix: keys.feedbackPendingPrefix, limit: MAX_PENDING_CAP });
  return page.objects.length + (page.truncated ? 1 : 0);
}

/** The accepted counter and its etag (0 and null before the first accept), for a compare-and-swap. */
export async function readAcceptedCount(bucket: R2Bucket): Promise<{ accepted: number; etag: string | null }> {
  const obj = await bucket.get(keys.feedbackAcceptedCount);
  return obj === null ? { accepted: 0, etag: null } : { accepted: ((await obj.json()) as { accepted: number }).accepted, etag: obj.etag };
}

/** Both counts; `cap` is the pending cap in force. */
export async function feedbackCounts(bucket: R2Bucket, cap: number): Promise<FeedbackCounts> {
  const [pending, counter] = await Promise.all([countPending(bucket), readAcceptedCount(bucket)]);
  return { pending, pendingMax: cap, accepted: counter.accepted };
}

const queueFull = (cap: number) =>
  new CapacityError("feedback_queue_full", `${cap} corrections already await review, the most this server keeps: nothing was stored; try again once an admin has reviewed them`);

/**
 * Stores one anonymous correction as pending and returns its id (time-ordered) and the pending count. Throws
 * CapacityError `feedback_queue_full` (nothing stored) when `cap` corrections are pending. The count is taken again
 * after the write: concurrent posts may all pass the first count, but whichever counts last sees every write before
 * it, so no more than `cap` stay.
 */
export async function putPending(bucket: R2Bucket, pixels: Uint8Array, label: number, rows: number, cols: number, cap: number): Promise<{ id: string; pending: number }> {
  if ((await countPending(bucket)) >= cap) throw queueFull(cap);
  const id = timeId("", 6);
  const key = keys.feedbackPending(id);
  const put = await bucket.put(key, encodeShard(Uint8Array.of(label), pixels, rows, cols), { onlyIf: { etagDoesNotMatch: "*" } });
  if (put === null) throw new Error(`putPending: id ${id} exists already`);
  const pending = await countPending(bucket);
  if (pending > cap) {
    await bucket.delete(key);
    throw queueFull(cap);
  }
  return { id, pending };
}

/** The correction stored at `key`, or null when there is none. */
export async function readCorrection(bucket: R2Bucket, key: string): Promise<Correction | null> {
  const obj = await bucket.get(key);
  const id = feedbackIdOf(key);
  if (obj === null || id === null) {
    await obj?.body.cancel();
    return null;
  }
  const shard = decodeShard(new Uint8Array(await obj.arrayBuffer()), key);
  const acceptedAt = obj.customMetadata?.acceptedAt;
  return {
    id, label: shard.labels[0], rows: shard.rows, cols: shard.cols, pixels: shard.pixels,
    createdAt: new Date(feedbackIdTime(id)).toISOString(), ...(acceptedAt === undefined ? {} : { acceptedAt }),
  };
}

/**
 * One page of corrections in R2's order (pending: oldest first; accepted: newest first), after the correction
 * `after` (an id) when given. `next` is the id to continue after, or null on the last page.
 */
export async function listCorrections(bucket: R2Bucket, state: "pending" | "accepted", limit: number, after?: string): Promise<{ items: Correction[]; next: string | null }> {
  const keyOf = state === "pending" ? keys.feedbackPending : keys.feedbackAccepted;
  const prefix = state === "pending" ? keys.feedbackPendingPrefix : keys.feedbackAcceptedPrefix;
  const page = await bucket.list({ prefix, limit, ...(after === undefined ? {} : { startAfter: keyOf(after) }) });
  const found = await Promise.all(page.objects.map((o) => readCorrection(bucket, o.key)));
  const last = page.objects[page.objects.length - 1];
  return { items: found.filter((c) => c !== null), next: page.truncated && last !== undefined ? feedbackIdOf(last.key) : null };
}

/** An accepted correction as listed: its key and when it was accepted (null if not recorded). */
interface ListedAccepted {
  key: string;
  acceptedAt: string | null;
}

/**
 * Accepted corrections looked at by a snapshot at most, newest first: 20 list calls more than MAX_FEEDBACK, room for
 * MAX_FEEDBACK of the training part (four in five) and a bound on the work however many are accepted.
 */
const MAX_LISTED = 2 * MAX_FEEDBACK;

/**
 * The newest accepted corrections of `part`, newest first (their keys sort that way), at most `max`, reading at most
 * `maxListed` listed corrections.
 */
async function newestAccepted(bucket: R2Bucket, part: CorrectionPart, max: number, maxListed: number): Promise<ListedAccepted[]> {
  const out: ListedAccepted[] = [];
  let listed = 0;
  let cursor: string | undefined;
  do {
    // `include` (R2's list option for custom metadata) is missing from this project's older workers-types.
    const options: R2ListOptions & { include: "customMetadata"[] } = { prefix: keys.feedbackAcceptedPrefix, cursor, limit: 1000, include: ["customMetadata"] };
    const page = await bucket.list(options);
    for (const o of page.objects) {
      listed++;
      const id = feedbackIdOf(o.key);
      if (id === null || partOf(id) !== part) continue;
      out.push({ key: o.key, acceptedAt: o.customMetadata?.acceptedAt ?? null });
      if (out.length >= max) return out;
    }
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor !== undefined && listed < maxListed);
  return out;
}

/**
 * How many accepted corrections of `part` were accepted after `since` (an ISO time), counting up to `max`: the
 * newest MAX_FEEDBACK accepted are looked at (a correction accepted later may have been sent earlier, so all of them
 * are listed, 1 000 a call).
 */
export async function countAcceptedSince(bucket: R2Bucket, part: CorrectionPart, since: string, max = MAX_FEEDBACK): Promise<number> {
  const t = Date.parse(since);
  const all = await newestAccepted(bucket, part, MAX_FEEDBACK, MAX_FEEDBACK);
  let n = 0;
  for (const c of all) if (c.acceptedAt !== null && Date.parse(c.acceptedAt) > t && ++n >= max) break;
  return n;
}

/**
 * Writes the accepted corrections of shape rows × cols (the newest `max` of the training part, newest first, among
 * the newest MAX_LISTED accepted) as shards for run `runId` and returns them as a split, or null when there are none. Pending corrections are never
 * read, and holdout corrections (partOf) never train: `part` "holdout" snapshots those instead, for a refresh's
 * before-and-after figures, under their own keys.
 */
export async function snapshotFeedback(bucket: R2Bucket, runId: string, rows: number, cols: number, classes: number, max = MAX_FEEDBACK, part: CorrectionPart = "train"): Promise<SplitManifest | null> {
  const itemKeys = (await newestAccepted(bucket, part, max, MAX_LISTED)).map((c) => c.key);
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
  const keyOf = part === "train" ? keys.feedbackSnapshotShard : keys.holdoutSnapshotShard;
  for (const shard of splitShards("train", data, { rows, cols }, (_split, s) => keyOf(runId, s), shards)) {
    await bucket.put(shard.key, shard.bytes);
  }
  return { count: labels.length, shardSize: SHARD_SIZE, shards };
}
