/**
 * Run records, checkpoints and the active-run markers in R2 (strongly consistent: the source of truth). Records are
 * JSON objects whose shape belongs to src/training/record.ts; here they are any object with an `updatedAt`.
 */
import { keys } from "./keys";
import { deletePrefix, listNames } from "./list";

interface StoredRecord {
  id: string;
  updatedAt: string;
}

export async function getRecord<R extends StoredRecord>(bucket: R2Bucket, runId: string): Promise<{ record: R; etag: string } | null> {
  const obj = await bucket.get(keys.runRecord(runId));
  if (obj === null) return null;
  return { record: (await obj.json()) as R, etag: obj.etag };
}

/** Writes a new record; false when one exists already. */
export async function createRecord(bucket: R2Bucket, record: StoredRecord): Promise<boolean> {
  const put = await bucket.put(keys.runRecord(record.id), JSON.stringify(record), { onlyIf: { etagDoesNotMatch: "*" } });
  return put !== null;
}

/**
 * Read-modify-write of a record with R2's etag condition, retried on a concurrent write. `change` returns the new
 * record, or null to leave it as it is. Returns the record as stored afterwards (null when there is none).
 */
export async function updateRecord<R extends StoredRecord>(bucket: R2Bucket, runId: string, change: (r: R) => R | null): Promise<R | null> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const current = await getRecord<R>(bucket, runId);
    if (current === null) return null;
    const updated = change(structuredClone(current.record));
    if (updated === null) return current.record;
    updated.updatedAt = new Date().toISOString();
    const put = await bucket.put(keys.runRecord(runId), JSON.stringify(updated), { onlyIf: { etagMatches: current.etag } });
    if (put !== null) return updated;
  }
  throw new Error(`updateRecord: run ${runId} kept changing under 10 attempts`);
}

/** Writes checkpoint `step` only if it does not exist; true when this call created it. */
export async function putCheckpoint(bucket: R2Bucket, runId: string, step: number, bytes: Uint8Array): Promise<boolean> {
  return (await bucket.put(keys.checkpoint(runId, step), bytes, { onlyIf: { etagDoesNotMatch: "*" } })) !== null;
}

export async function getCheckpointBytes(bucket: R2Bucket, runId: string, step: number): Promise<Uint8Array | null> {
  const obj = await bucket.get(keys.checkpoint(runId, step));
  return obj === null ? null : new Uint8Array(await obj.arrayBuffer());
}

export async function checkpointExists(bucket: R2Bucket, runId: string, step: number): Promise<boolean> {
  return (await bucket.head(keys.checkpoint(runId, step))) !== null;
}

/** A step message the queue consumer picked up: which step, its delivery attempt, and when. */
export interface Delivery {
  step: number;
  attempts: number;
  at: string;
}

/** Notes that the consumer picked up a message (overwrites the previous note: only the last one matters). */
export async function recordDelivery(bucket: R2Bucket, runId: string, delivery: Delivery): Promise<void> {
  await bucket.put(keys.delivery(runId), JSON.stringify(delivery));
}

/** The last step message the consumer picked up for a run, or null when none was (or its scratch is gone). */
export async function getDelivery(bucket: R2Bucket, runId: string): Promise<Delivery | null> {
  const obj = await bucket.get(keys.delivery(runId));
  return obj === null ? null : ((await obj.json()) as Delivery);
}

/** Deletes checkpoints older than `keepFrom` (they are never read again: only the latest two are kept). */
export async function pruneCheckpoints(bucket: R2Bucket, runId: string, keepFrom: number): Promise<void> {
  const old: string[] = [];
  for (let s = Math.max(0, keepFrom - 4); s < keepFrom; s++) old.push(keys.checkpoint(runId, s));
  await bucket.delete(old);
}

/**
 * Deletes what a run needs only while it trains: its checkpoints and its feedback snapshot. Called when a run ends
 * (the model, if any, is what remains) and by the sweep for runs that ended without it. Returns the objects deleted.
 */
export async function deleteRunScratch(bucket: R2Bucket, runId: string): Promise<number> {
  return (await deletePrefix(bucket, keys.checkpointPrefix(runId))) + (await deletePrefix(bucket, keys.feedbackSnapshotPrefix(runId)));
}

/** Deletes a run: its scratch, its active marker, then its record (last, so an interrupted delete can be repeated). */
export async function deleteRun(bucket: R2Bucket, runId: string): Promise<void> {
  await deleteRunScratch(bucket, runId);
  await bucket.delete([keys.activeRun(runId), keys.runRecord(runId)]);
}

export async function markActive(bucket: R2Bucket, runId: string): Promise<void> {
  await bucket.put(keys.activeRun(runId), runId);
}

export async function unmarkActive(bucket: R2Bucket, runId: string): Promise<void> {
  await bucket.delete(keys.activeRun(runId));
}

/** Ids of the runs that have not ended. */
export async function listActive(bucket: R2Bucket): Promise<string[]> {
  return listNames(bucket, keys.activeRunsPrefix);
}

/** Every run id, newest first (ids start with a time stamp). */
export async function listRunIds(bucket: R2Bucket): Promise<string[]> {
  const ids = await listNames(bucket, keys.runsPrefix, true);
  return ids.sort().reverse();
}
