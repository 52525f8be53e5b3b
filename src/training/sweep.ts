/**
 * The sweep: deletes what nothing will read again, the leftovers of interrupted work. The daily cron runs it, and an
 * operator can (POST /v1/cron/sweep). Ending a run already deletes its scratch; the sweep catches what a crash or a
 * race left behind:
 *
 *  - checkpoints and feedback snapshots of runs that have ended, or whose record is gone once they are older than
 *    SWEEP_GRACE_MS (a starting run writes them just before its record);
 *  - dataset shards of versions no manifest names (a crashed upload, an interrupted delete or replacement), once
 *    older than SWEEP_GRACE_MS (an upload under way writes its manifest last);
 *  - KV listing entries of models whose blob is gone (an interrupted model delete).
 */
import type { Env } from "../env";
import { readManifest } from "../storage/datasets";
import { keys } from "../storage/keys";
import { deleteKeys, listObjects, type Listed } from "../storage/list";
import { getRecord } from "../storage/runs";
import { ENDED, type RunRecord } from "./record";
import { needsSettling } from "./runs";

/** Age below which an object whose owner is not (yet) visible is left alone. */
export const SWEEP_GRACE_MS = 60 * 60 * 1000;

/** How many objects of each kind a sweep deleted. */
export interface SweepReport {
  checkpoints: number;
  snapshots: number;
  datasetShards: number;
  modelEntries: number;
}

/** Groups listed objects by the path segment after `prefix` (a run id, a dataset name). */
function byOwner(objects: Listed[], prefix: string): Map<string, Listed[]> {
  const groups = new Map<string, Listed[]>();
  for (const o of objects) {
    const owner = o.key.slice(prefix.length).split("/")[0];
    groups.set(owner, [...(groups.get(owner) ?? []), o]);
  }
  return groups;
}

/** Keys of a run's scratch objects that may go: all of an ended run's, and the old ones of a run with no record. */
async function runScratch(env: Env, runId: string, objects: Listed[], cutoff: number): Promise<string[]> {
  const found = await getRecord<RunRecord>(env.STORE_BUCKET, runId);
  if (found === null) return objects.filter((o) => o.uploaded.getTime() < cutoff).map((o) => o.key);
  const r = found.record;
  return ENDED.includes(r.status) && !needsSettling(r) ? objects.map((o) => o.key) : [];
}

async function sweepRuns(env: Env, prefix: string, select: (o: Listed) => boolean, cutoff: number): Promise<number> {
  const doomed: string[] = [];
  for (const [runId, objects] of byOwner((await listObjects(env.STORE_BUCKET, prefix)).filter(select), prefix)) {
    doomed.push(...(await runScratch(env, runId, objects, cutoff)));
  }
  await deleteKeys(env.STORE_BUCKET, doomed);
  return doomed.length;
}

async function sweepDatasets(env: Env, cutoff: number): Promise<number> {
  const doomed: string[] = [];
  for (const [name, objects] of byOwner(await listObjects(env.STORE_BUCKET, keys.datasetsPrefix), keys.datasetsPrefix)) {
    let version: string | null;
    try {
      version = (await readManifest(env.STORE_BUCKET, name))?.version ?? null;
    } catch {
      continue; // a manifest we cannot read names nothing we could safely delete
    }
    for (const o of objects) {
      if (o.key === keys.datasetManifest(name) || o.uploaded.getTime() >= cutoff) continue;
      if (version === null || !o.key.startsWith(keys.datasetVersionPrefix(name, version))) doomed.push(o.key);
    }
  }
  await deleteKeys(env.STORE_BUCKET, doomed);
  return doomed.length;
}

async function sweepModelEntries(env: Env): Promise<number> {
  let removed = 0;
  let cursor: string | undefined;
  do {
    const page = await env.SERVING_KV.list({ prefix: keys.modelMetaPrefix, cursor });
    for (const k of page.keys) {
      const id = k.name.slice(keys.modelMetaPrefix.length);
      if ((await env.STORE_BUCKET.head(keys.model(id))) !== null) continue;
      await env.SERVING_KV.delete(k.name);
      removed++;
    }
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor !== undefined);
  return removed;
}

/** Runs the sweep (see the module comment). */
export async function sweep(env: Env, now = Date.now()): Promise<SweepReport> {
  const cutoff = now - SWEEP_GRACE_MS;
  const isCheckpoint = (o: Listed) => o.key.split("/")[2] === "ckpt";
  return {
    checkpoints: await sweepRuns(env, keys.runsPrefix, isCheckpoint, cutoff),
    snapshots: await sweepRuns(env, keys.feedbackSnapshotsPrefix, () => true, cutoff),
    datasetShards: await sweepDatasets(env, cutoff),
    modelEntries: await sweepModelEntries(env),
  };
}
