/**
 * Refresh runs: the served model fine-tuned on the corrections its users sent and an admin accepted, never worse at
 * what it knew.
 *
 * A refresh is an ordinary run (bit-exact, stepped through the queue, watched by the watchdog) whose spec has
 * `refresh` and starts from the served model (`init.model`). Its training set is the training split of the accepted
 * corrections (newest first, capped) and a seeded replay sample of the dataset's training set, `replay` examples per
 * correction (plan.ts replayShardsOf); the holdout split (src/storage/feedback.ts partOf: 20% by a stable hash of the
 * id) is only evaluated. When it finishes, the parent and the refreshed model are both measured on the holdout and on
 * the dataset's validation and test sets, per digit and example by example; the refreshed model is promoted only when
 * its holdout gain is larger than chance, its validation loss is not, and its validation accuracy falls by at most
 * maxValidationDrop points (REFRESH_MAX_VALIDATION_DROP), and only if the parent is still served. The test set only
 * reports.
 *
 * The daily cron starts one when at least REFRESH_MIN_CORRECTIONS accepted training corrections are newer than the
 * served model's data and than the last refresh started from it; `refresh/state.json` remembers that start and the
 * newest refresh runs.
 */
import { configOf } from "../config";
import type { AugmentSpec as AugmentParts } from "../data/distort";
import type { Env } from "../env";
import { ConflictError } from "../errors";
import { countAcceptedSince, feedbackCounts, type FeedbackCounts } from "../storage/feedback";
import { keys } from "../storage/keys";
import { getModelMeta, getServingRecord, type ModelMeta, type ModelParent, type RefreshReport } from "../storage/models";
import { getRecord } from "../storage/runs";
import { ENDED, recordView, type RunRecord } from "./record";
import { RunSpecSchema, type RunSpec } from "./spec";

/**
 * How POST /v1/refresh trains unless told otherwise: five epochs of momentum at a small learning rate, each training
 * example (each of the three copies of a correction, each replayed MNIST digit) mildly augmented. Measured on the
 * 899 real handwritten digits of data/handwriting/ (npm run demo:refresh -- --try): the former 0.05 for three epochs
 * with 10 replayed digits per correction and no repeat took the held-out corrections as high but cost 0.2–0.4
 * validation points; a smaller rate over more replayed digits keeps MNIST while the corrections, three copies of each
 * in an epoch, keep their weight.
 */
export const REFRESH_TRAINING: {
  optimizer: { name: "momentum"; learningRate: number; momentum: number };
  batchSize: number;
  epochs: number;
  seed: number;
  augment: AugmentParts | null;
} = {
  optimizer: { name: "momentum", learningRate: 0.02, momentum: 0.9 },
  batchSize: 32,
  epochs: 5,
  seed: 1,
  augment: { rotate: 10, shear: 10, scale: 0.1, translate: 1 },
};

/** The name refresh runs started by POST /v1/refresh and the cron carry. */
export const REFRESH_NAME = "refresh";
/** Refresh runs remembered, newest first. */
const KEPT_RUNS = 20;

// ---------------------------------------------------------------------------------------------------------------------
// State: the last refresh started and the newest refresh runs

export interface RefreshState {
  /** The last refresh started, and from which model. */
  last: { runId: string; parentModelId: string; startedAt: string } | null;
  /** Refresh runs, newest first, at most KEPT_RUNS. */
  runs: string[];
}

async function readState(bucket: R2Bucket): Promise<{ state: RefreshState; etag: string | null }> {
  const obj = await bucket.get(keys.refreshState);
  return obj === null ? { state: { last: null, runs: [] }, etag: null } : { state: (await obj.json()) as RefreshState, etag: obj.etag };
}

/** Notes a refresh run's start (compare-and-swap on the state's etag, retried on a concurrent change). */
export async function noteRefreshStarted(bucket: R2Bucket, runId: string, parentModelId: string, startedAt: string): Promise<void> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const { state, etag } = await readState(bucket);
    const next: RefreshState = { last: { runId, parentModelId, startedAt }, runs: [runId, ...state.runs.filter((r) => r !== runId)].slice(0, KEPT_RUNS) };
    const onlyIf = etag === null ? { etagDoesNotMatch: "*" } : { etagMatches: etag };
    if ((await bucket.put(keys.refreshState, JSON.stringify(next), { onlyIf })) !== null) return;
  }
  throw new Error("noteRefreshStarted: the refresh state kept changing under 10 attempts");
}

/** The refresh run under way, if any. */
async function activeRefresh(bucket: R2Bucket, state: RefreshState): Promise<RunRecord | null> {
  if (state.last === null) return null;
  const found = await getRecord<RunRecord>(bucket, state.last.runId);
  return found !== null && !ENDED.includes(found.record.status) ? found.record : null;
}

// ---------------------------------------------------------------------------------------------------------------------
// Starting one

/** What POST /v1/refresh may change of a refresh run. */
export interface RefreshOptions {
  corrections?: number;
  replay?: number;
  maxValidationDrop?: number;
  repeat?: number;
  augment?: AugmentParts | null;
  epochs?: number;
  learningRate?: number;
  batchSize?: number;
  seed?: number;
}

/** startRun, passed in so that this module does not import runs.ts (which imports it). */
type StartRun = (env: Env, spec: RunSpec) => Promise<RunRecord>;

/**
 * The run spec of a refresh of model `parent` (the served one) with `options`: its layers and loss, momentum at a
 * small learning rate for a few epochs (REFRESH_TRAINING), the served dataset.
 */
function refreshSpec(env: Env, parent: ModelMeta, options: RefreshOptions): RunSpec {
  const epochs = options.epochs ?? REFRESH_TRAINING.epochs;
  const augment = options.augment === undefined ? REFRESH_TRAINING.augment : options.augment;
  return RunSpecSchema.parse({
    name: REFRESH_NAME,
    dataset: configOf(env).servingDataset,
    layers: parent.layers,
    loss: parent.loss,
    optimizer: { ...REFRESH_TRAINING.optimizer, ...(options.learningRate === undefined ? {} : { learningRate: options.learningRate }) },
    batchSize: options.batchSize ?? REFRESH_TRAINING.batchSize,
    epochs,
    seed: options.seed ?? REFRESH_TRAINING.seed,
    evalEvery: epochs,
    ...(augment === null ? {} : { augment }),
    init: { model: parent.id },
    refresh: {
      ...(options.corrections === undefined ? {} : { corrections: options.corrections }),
      ...(options.replay === undefined ? {} : { replay: options.replay }),
      ...(options.maxValidationDrop === undefined ? {} : { maxValidationDrop: options.maxValidationDrop }),
      ...(options.repeat === undefined ? {} : { repeat: options.repeat }),
    },
  });
}

/** What a refresh starts from: the served model and its metadata, and the refresh state; or why it cannot start. */
type Ready = { ok: true; parent: ModelMeta; state: RefreshState } | { ok: false; code: "no_served_model" | "refresh_active"; reason: string };

/** Whether a refresh can start now: a model is served (and its metadata is there), and no refresh is running. */
async function readyToRefresh(bucket: R2Bucket): Promise<Ready> {
  const [served, { state }] = await Promise.all([getServingRecord(bucket), readState(bucket)]);
  if (served === null) return { ok: false, code: "no_served_model", reason: "no model is served" };
  const active = await activeRefresh(bucket, state);
  if (active !== null) return { ok: false, code: "refresh_active", reason: `refresh run ${active.id} is still ${active.status}` };
  const parent = await getModelMeta(bucket, served.serving.modelId);
  if (parent === null) return { ok: false, code: "no_served_model", reason: `the served model ${served.serving.modelId} is gone` };
  return { ok: true, parent, state };
}

/**
 * Starts a refresh of the served model (ConflictError `no_served_model`, `refresh_active` while one runs, and
 * `no_corrections` from startRun).
 */
export async function startRefresh(env: Env, options: RefreshOptions, start: StartRun): Promise<RunRecord> {
  const ready = await readyToRefresh(env.STORE_BUCKET);
  if (!ready.ok) {
    const hint = ready.code === "no_served_model" ? ": a refresh fine-tunes the served model; promote one first" : ": wait for it, or cancel it";
    throw new ConflictError(ready.code, ready.reason + hint);
  }
  return start(env, refreshSpec(env, ready.parent, options));
}

// ---------------------------------------------------------------------------------------------------------------------
// The cron, and what the page shows

/**
 * Since when accepted corrections count as new for the served model (`served`): its data's time (its run's start;
 * an import's creation), or the start of the last refresh from it, whichever is later.
 */
function newSince(served: ModelMeta | null, servedId: string, state: RefreshState): string {
  const dataAt = served?.dataAt ?? served?.createdAt ?? new Date(0).toISOString();
  const last = state.last !== null && state.last.parentModelId === servedId ? state.last.startedAt : null;
  return last !== null && last > dataAt ? last : dataAt;
}

/**
 * The daily check: starts a refresh of the served model when at least REFRESH_MIN_CORRECTIONS accepted corrections of
 * the training split are new to it (newSince), no refresh is running and a model is served. Returns the run started,
 * or why none was. Once started, the same corrections do not start another.
 */
export async function maybeStartRefresh(env: Env, start: StartRun): Promise<{ started: string | null; reason: string }> {
  const threshold = configOf(env).refreshMinCorrections;
  const ready = await readyToRefresh(env.STORE_BUCKET);
  if (!ready.ok) return { started: null, reason: ready.reason };
  const since = newSince(ready.parent, ready.parent.id, ready.state);
  // Counted up to the threshold: enough is all the check needs to know.
  const fresh = await countAcceptedSince(env.STORE_BUCKET, "train", since, threshold);
  if (fresh < threshold) {
    return { started: null, reason: `${fresh} new accepted correction${fresh === 1 ? "" : "s"} since ${since}, fewer than REFRESH_MIN_CORRECTIONS (${threshold})` };
  }
  const record = await start(env, refreshSpec(env, ready.parent, {}));
  return { started: record.id, reason: `${fresh}+ new accepted corrections since ${since}` };
}

/** A refresh run as GET /v1/refresh lists it. */
export interface RefreshRun {
  runId: string;
  status: RunRecord["status"];
  createdAt: string;
  finishedAt: string | null;
  parentModelId: string | null;
  modelId: string | null;
  promoted: boolean | null;
  promotionReason: string | null;
  error: string | null;
  refresh: RefreshReport | null;
}

/** What GET /v1/refresh answers. */
export interface RefreshStatus {
  served: { modelId: string; validationAccuracy: number | null; testAccuracy: number | null; createdAt: string | null; parent: ModelParent | null; lineage: string[] } | null;
  review: FeedbackCounts;
  /** Accepted training corrections new to the served model (admin only: it lists them all); null otherwise. */
  newCorrections: number | null;
  threshold: number;
  active: string | null;
  recent: RefreshRun[];
}

/** Refresh runs GET /v1/refresh shows. */
const RECENT = 5;

/** The served model's lineage, the review queue, the newest refresh runs; the count of new corrections for admins. */
export async function refreshStatus(env: Env, admin: boolean): Promise<RefreshStatus> {
  const config = configOf(env);
  const bucket = env.STORE_BUCKET;
  const [served, { state }, review] = await Promise.all([getServingRecord(bucket), readState(bucket), feedbackCounts(bucket, config.feedbackPendingMax)]);
  const meta = served === null ? null : await getModelMeta(bucket, served.serving.modelId);
  const records = await Promise.all(state.runs.slice(0, RECENT).map((id) => getRecord<RunRecord>(bucket, id)));
  const recent = records.flatMap((f) => (f === null ? [] : [summaryOf(f.record)]));
  return {
    served: served === null ? null : {
      modelId: served.serving.modelId, validationAccuracy: served.serving.validationAccuracy ?? meta?.validationAccuracy ?? null, testAccuracy: served.serving.testAccuracy, createdAt: meta?.createdAt ?? null,
      parent: meta?.parent ?? null, lineage: meta?.lineage ?? [],
    },
    review,
    newCorrections: admin && served !== null ? await countAcceptedSince(bucket, "train", newSince(meta, served.serving.modelId, state)) : null,
    threshold: config.refreshMinCorrections,
    active: recent.find((r) => !ENDED.includes(r.status))?.runId ?? null,
    recent,
  };
}

function summaryOf(record: RunRecord): RefreshRun {
  const r = recordView(record);
  return {
    runId: r.id, status: r.status, createdAt: r.createdAt, finishedAt: r.finishedAt, parentModelId: r.parentModelId,
    modelId: r.modelId, promoted: r.promoted, promotionReason: r.promotionReason, error: r.error, refresh: r.refresh,
  };
}
