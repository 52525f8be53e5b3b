/**
 * The queue consumer: one message `{ runId, step }` applies step `step` of a run, at most once whatever the queue
 * does. A step is applied only if checkpoint `step` exists and `step + 1` does not; checkpoints are written
 * create-only, so a duplicate, a retry or a replayed old message never trains twice.
 *
 * After a checkpoint is written: send the next message, then update the record. A record at `step + 1` therefore
 * means the next message was sent; a message that finds checkpoint `step + 1` written but the record behind it
 * finishes that follow-up (re-sending is harmless).
 *
 * Nothing here may wait forever: the handler gives each message a Deadline (src/storage/deadline.ts) that bounds
 * every R2, KV and queue call and the whole step, so a hung call becomes a recorded, retried failure instead of an
 * invocation that never returns (locally, one such invocation stops the queue for good). The consumer notes every
 * message it picks up (storage/runs.ts recordDelivery), which lets the watchdog tell a consumer that does not deliver.
 */
import type { Shard } from "../data/shards";
import type { Env, TrainMessage } from "../env";
import { kernelFactory } from "../kernels";
import { loadShard, readManifest, shardCacheFor } from "../storage/datasets";
import { Deadline, type DeadlineLimits } from "../storage/deadline";
import { checkpointExists, deleteRunScratch, getCheckpointBytes, getRecord, pruneCheckpoints, putCheckpoint, recordDelivery, updateRecord } from "../storage/runs";
import { breathe } from "./yielding";
import { decodeCheckpoint, encodeCheckpoint, type Checkpoint } from "./checkpoint";
import { displayEpoch, progressOf, shardsNeeded, type Source } from "./plan";
import { ENDED, type RunRecord } from "./record";
import { endRun, finishRun, needsSettling, settleRun } from "./runs";
import { stepRun } from "./step";

/** The dead-letter queue's name, as in wrangler.toml. */
export const DEAD_LETTER_QUEUE_NAME = "edgeprop-train-dlq";

/**
 * Limits of one step message. A call: R2, KV and queue calls answer in milliseconds locally and well within a second
 * in production (the largest checkpoint is about 16 MB), so 30 s never cuts a slow call and finds a hung one in half
 * a minute. The step: sized to a fraction of a second of CPU (STEP_WORK), it waits on a few dozen calls at most; 5 minutes is five
 * times its whole CPU limit (cpu_ms 60 s), and with FAILURE_LIMITS the invocation ends within 6 of the consumer's 15
 * minutes of wall clock, so the platform never cuts it off before the failure is recorded.
 */
export const STEP_LIMITS: DeadlineLimits = { callMs: 30_000, totalMs: 5 * 60_000 };

/** Limits of recording a failed step (a few record updates), after STEP_LIMITS ran out or the step threw. */
export const FAILURE_LIMITS: DeadlineLimits = { callMs: 30_000, totalMs: 60_000 };

/**
 * The queue handler: each message of a batch applies its step (or, on the dead-letter queue, fails its run) within
 * `limits`; a failure is recorded within FAILURE_LIMITS and the message retried with backoff.
 */
export async function handleBatch(batch: MessageBatch<TrainMessage>, env: Env, limits: DeadlineLimits = STEP_LIMITS): Promise<void> {
  for (const msg of batch.messages) {
    const { runId, step } = msg.body;
    if (batch.queue === DEAD_LETTER_QUEUE_NAME) {
      const deadline = new Deadline(`dead letter ${runId}#${step}`, limits);
      await deadline.run(() => processDeadLetter(deadline.bind(env), msg.body));
      msg.ack();
      continue;
    }
    const deadline = new Deadline(`step ${runId}#${step}`, limits);
    try {
      const outcome = await deadline.run(() => processStep(deadline.bind(env), msg.body, msg.attempts));
      console.log(`step ${runId}#${step}: ${outcome}`);
      msg.ack();
    } catch (error) {
      console.error(`step ${runId}#${step} failed (attempt ${msg.attempts}):`, error);
      const recording = new Deadline(`recording the failure of ${runId}#${step}`, FAILURE_LIMITS);
      await recording.run(() => recordFailure(recording.bind(env), msg.body, error, msg.attempts)).catch((e) => console.error("could not record the failure:", e));
      msg.retry({ delaySeconds: retryDelay(msg.attempts) });
    }
  }
}

/** Seconds before retry n (1-based) of a failed step: 2, 4, 8, … capped at a minute. */
export const retryDelay = (attempts: number): number => Math.min(60, 2 ** Math.max(1, attempts));

/** What a message did. */
export type StepOutcome = "applied" | "finished" | "diverged" | "duplicate" | "followed-up" | "ignored";

/**
 * Applies the step a message names (see the module comment), `attempts` being its delivery attempt; throws on a
 * failure worth retrying.
 */
export async function processStep(env: Env, msg: TrainMessage, attempts = 1): Promise<StepOutcome> {
  const { runId, step } = msg;
  const found = await getRecord<RunRecord>(env.STORE_BUCKET, runId);
  if (found === null) return "ignored";
  const record = found.record;
  if (ENDED.includes(record.status)) {
    if (!needsSettling(record)) return "ignored";
    await settleRun(env, record);
    return "finished";
  }
  await recordDelivery(env.STORE_BUCKET, runId, { step, attempts, at: new Date().toISOString() });
  if (await checkpointExists(env.STORE_BUCKET, runId, step + 1)) {
    if (record.step > step) return "duplicate";
    const bytes = await getCheckpointBytes(env.STORE_BUCKET, runId, step + 1);
    if (bytes === null) return "ignored";
    await followUp(env, record, decodeCheckpoint(bytes));
    return "followed-up";
  }
  const bytes = writtenHere(runId, step) ?? (await getCheckpointBytes(env.STORE_BUCKET, runId, step));
  if (bytes === null) return "ignored"; // a replayed message for a pruned step, or one from the future
  const ck = decodeCheckpoint(bytes);
  if (ck.phase === "done") return (await finishRun(env, record, ck)) === "succeeded" ? "finished" : "ignored";
  const shards = await loadShards(env, record, ck);
  const run = stepRun(record.spec, record.plan, ck, (source, index) => {
    const shard = shards[source][index];
    if (shard === undefined) throw new Error(`step ${step}: shard ${source}/${index} was not loaded`);
    return shard;
  }, kernelFactory);
  // Between batches the isolate's requests (predictions) go first (./yielding.ts): a step holds the thread for one
  // batch at a time.
  let part = run.next();
  while (!part.done) {
    await breathe();
    part = run.next();
  }
  const result = part.value;
  if (result.diverged !== null) {
    await endRun(env, runId, "diverged", result.diverged);
    return "diverged";
  }
  const written = encodeCheckpoint(result.next);
  if (!(await putCheckpoint(env.STORE_BUCKET, runId, step + 1, written))) return "duplicate";
  lastWritten = { runId, step: step + 1, bytes: written }; // (R2's put copies the bytes: they stay usable)
  await followUp(env, record, result.next);
  return "applied";
}

/**
 * The checkpoint the last step applied in this isolate wrote. Checkpoints are immutable once written (create-only),
 * so when the run's next step comes to the same isolate (as it usually does) it reads these bytes instead of fetching
 * them from R2 again: a step's start then waits on less I/O, and the predictions the isolate serves meanwhile with it.
 * One checkpoint at most, replaced by the next.
 */
let lastWritten: { runId: string; step: number; bytes: Uint8Array } | null = null;

/** Checkpoint `step` of `runId` if this isolate wrote it last, else null. */
const writtenHere = (runId: string, step: number): Uint8Array | null =>
  lastWritten !== null && lastWritten.runId === runId && lastWritten.step === step ? lastWritten.bytes : null;

/** The shards a step reads, by source and index (looked up for every example it copies: no key is built). */
type LoadedShards = Record<Source, Shard[]>;

/**
 * Of an isolate's 128 MB, what a step and the shard cache may share; the rest is the runtime's, the served models'
 * and the requests'.
 */
const STEP_AND_SHARDS_BYTES = 100 * 1024 * 1024;

/**
 * A step's own peak, estimated from its parameters: a first-order step about 12 float32 vectors of their size (see
 * spec.ts MAX_TRAIN_PARAMS), cg six float64 vectors twice and their encodings.
 */
const stepPeakBytes = (record: RunRecord): number => record.plan.paramCount * (record.spec.optimizer.name === "cg" ? 112 : 48);

async function loadShards(env: Env, record: RunRecord, ck: Checkpoint): Promise<LoadedShards> {
  // As much of the dataset stays in this isolate as the step leaves room for: later steps read it from memory.
  shardCacheFor(STEP_AND_SHARDS_BYTES, stepPeakBytes(record));
  const need = shardsNeeded(record.spec, record.plan, ck);
  const out: LoadedShards = { train: [], validation: [], test: [], feedback: [] };
  if (need.length === 0) return out;
  const manifest = await readManifest(env.STORE_BUCKET, record.dataset.name);
  if (manifest === null || manifest.version !== record.dataset.version) {
    throw new Error(`dataset ${record.dataset.name} version ${record.dataset.version} is no longer in R2`);
  }
  for (const { source, shard } of need) {
    const split = source === "feedback" ? record.plan.feedback : manifest[source];
    if (split === null) throw new Error(`step ${ck.step}: the run has no feedback snapshot`);
    out[source][shard] = await loadShard(env.STORE_BUCKET, split, shard);
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
      lastError: null, revivals: 0, resends: [],
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
