/**
 * The queue consumer: one message `{ runId, step }` applies step `step` of a run, at most once whatever the queue
 * does. A step is applied only if checkpoint `step` exists and `step + 1` does not; checkpoints are written
 * create-only, so a duplicate, a retry or a replayed old message never trains twice.
 *
 * After a checkpoint is written: send the next message, then update the record. A record at `step + 1` therefore
 * means the next message was sent; a message that finds checkpoint `step + 1` written but the record behind it
 * finishes that follow-up (re-sending is harmless).
 */
import type { Shard } from "../data/shards";
import type { Env, TrainMessage } from "../env";
import { loadShard, readManifest } from "../storage/datasets";
import { checkpointExists, deleteRunScratch, getCheckpointBytes, getRecord, pruneCheckpoints, putCheckpoint, updateRecord } from "../storage/runs";
import { decodeCheckpoint, encodeCheckpoint, type Checkpoint } from "./checkpoint";
import { displayEpoch, progressOf, shardsNeeded } from "./plan";
import { ENDED, type RunRecord } from "./record";
import { endRun, finishRun, needsSettling, settleRun } from "./runs";
import { runStep } from "./step";

/** The dead-letter queue's name, as in wrangler.toml. */
export const DEAD_LETTER_QUEUE_NAME = "edgeprop-train-dlq";

/** Seconds before retry n (1-based) of a failed step: 2, 4, 8, … capped at a minute. */
export const retryDelay = (attempts: number): number => Math.min(60, 2 ** Math.max(1, attempts));

/** What a message did. */
export type StepOutcome = "applied" | "finished" | "diverged" | "duplicate" | "followed-up" | "ignored";

/** Applies the step a message names (see the module comment); throws on a failure worth retrying. */
export async function processStep(env: Env, msg: TrainMessage): Promise<StepOutcome> {
  const { runId, step } = msg;
  const found = await getRecord<RunRecord>(env.STORE_BUCKET, runId);
  if (found === null) return "ignored";
  const record = found.record;
  if (ENDED.includes(record.status)) {
    if (!needsSettling(record)) return "ignored";
    await settleRun(env, record);
    return "finished";
  }
  if (await checkpointExists(env.STORE_BUCKET, runId, step + 1)) {
    if (record.step > step) return "duplicate";
    const bytes = await getCheckpointBytes(env.STORE_BUCKET, runId, step + 1);
    if (bytes === null) return "ignored";
    await followUp(env, record, decodeCheckpoint(bytes));
    return "followed-up";
  }
  const bytes = await getCheckpointBytes(env.STORE_BUCKET, runId, step);
  if (bytes === null) return "ignored"; // a replayed message for a pruned step, or one from the future
  const ck = decodeCheckpoint(bytes);
  if (ck.phase === "done") return (await finishRun(env, record, ck)) === "succeeded" ? "finished" : "ignored";
  const shards = await loadShards(env, record, ck);
  const result = runStep(record.spec, record.plan, ck, (source, index) => {
    const shard = shards.get(`${source}/${index}`);
    if (shard === undefined) throw new Error(`step ${step}: shard ${source}/${index} was not loaded`);
    return shard;
  });
  if (result.diverged !== null) {
    await endRun(env, runId, "diverged", result.diverged);
    return "diverged";
  }
  if (!(await putCheckpoint(env.STORE_BUCKET, runId, step + 1, encodeCheckpoint(result.next)))) return "duplicate";
  await followUp(env, record, result.next);
  return "applied";
}

async function loadShards(env: Env, record: RunRecord, ck: Checkpoint): Promise<Map<string, Shard>> {
  const need = shardsNeeded(record.spec, record.plan, ck);
  const out = new Map<string, Shard>();
  if (need.length === 0) return out;
  const manifest = await readManifest(env.STORE_BUCKET, record.dataset.name);
  if (manifest === null || manifest.version !== record.dataset.version) {
    throw new Error(`dataset ${record.dataset.name} version ${record.dataset.version} is no longer in R2`);
  }
  for (const { source, shard } of need) {
    const split = source === "train" ? manifest.train : source === "test" ? manifest.test : record.plan.feedback;
    if (split === null) throw new Error(`step ${ck.step}: the run has no feedback snapshot`);
    out.set(`${source}/${shard}`, await loadShard(env.STORE_BUCKET, split, shard));
  }
  return out;
}

/** After checkpoint `ck.step` is stored: enqueue it, bring the record up to it, drop old checkpoints. */
async function followUp(env: Env, record: RunRecord, ck: Checkpoint): Promise<void> {
  await env.TRAIN_QUEUE.send({ runId: record.id, step: ck.step });
  const now = Date.now();
  const stored = await updateRecord<RunRecord>(env.STORE_BUCKET, record.id, (r) => {
    if (r.step >= ck.step || ENDED.includes(r.status)) return null;
    const startedAt = r.startedAt ?? new Date(now).toISOString();
    const elapsed = (now - Date.parse(startedAt)) / 1000;
    const progress = progressOf(r.spec, r.plan, ck);
    const at = new Map(r.history.map((h) => [h.step, h.at]));
    return {
      ...r,
      status: "running", step: ck.step, phase: ck.phase, epoch: displayEpoch(r.spec, ck), progress, examplesSeen: ck.examplesSeen, startedAt,
      throughput: elapsed > 0 ? ck.examplesSeen / elapsed : null,
      etaSeconds: progress > 0 && elapsed > 0 ? (elapsed * (1 - progress)) / progress : null,
      history: ck.history.map((h) => ({ ...h, at: at.get(h.step) ?? new Date(now).toISOString() })),
      evaluations: ck.evaluations,
      lastError: null, revivals: 0,
    };
  });
  // The run ended while this step was applied (a cancel, the watchdog): the checkpoint just written is not needed.
  if (stored === null || ENDED.includes(stored.status)) await deleteRunScratch(env.STORE_BUCKET, record.id);
  else await pruneCheckpoints(env.STORE_BUCKET, record.id, ck.step - 1);
}

/** Notes a failed attempt in the record before the message is retried (a failure is never acked unrecorded). */
export async function recordFailure(env: Env, msg: TrainMessage, error: unknown, attempts: number): Promise<void> {
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  await updateRecord<RunRecord>(env.STORE_BUCKET, msg.runId, (r) =>
    ENDED.includes(r.status) ? null : { ...r, lastError: { step: msg.step, message, attempts, at: new Date().toISOString() } },
  );
}

/** A step that exhausted its retries: the run fails with the reason, unless it has moved past that step. */
export async function processDeadLetter(env: Env, msg: TrainMessage): Promise<void> {
  const found = await getRecord<RunRecord>(env.STORE_BUCKET, msg.runId);
  if (found === null || ENDED.includes(found.record.status) || found.record.step > msg.step) return;
  const last = found.record.lastError;
  const why = last !== null && last.step === msg.step ? `: ${last.message}` : "";
  await endRun(env, msg.runId, "failed", `step ${msg.step} failed after its retries${why}`);
}
