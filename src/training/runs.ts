/** Starting, cancelling and finishing runs: the run lifecycle around the steps. */
import { configOf } from "../config";
import type { Env } from "../env";
import { ConflictError, InvalidInputError, NotFoundError } from "../errors";
import { decodeModel, encodeModel } from "../nn/model-codec";
import { readManifest } from "../storage/datasets";
import { timeId } from "../storage/keys";
import { MAX_FEEDBACK, snapshotFeedback } from "../storage/feedback";
import { deleteModel, getModelBlob, getModelMeta, MAX_LINEAGE, putModel, type ModelMeta, type ModelParent } from "../storage/models";
import { createRecord, deleteRunScratch, getRecord, listActive, markActive, putCheckpoint, unmarkActive, updateRecord } from "../storage/runs";
import { encodeCheckpoint, type Checkpoint } from "./checkpoint";
import { initialCheckpoint, makePlan } from "./plan";
import { ENDED, type RunRecord } from "./record";
import { promoteModel } from "./promotion";
import { measureRefresh, refreshSummary, refreshVerdict } from "./guard";
import { noteRefreshStarted } from "./refresh";
import type { RefreshReport } from "../storage/models";
import { parentOf, specProblems, type RunSpec } from "./spec";

/** A new run id: a time stamp (so ids sort by creation) and 8 random hex digits. */
export function newRunId(now = Date.now()): string {
  return timeId("run-", 4, now);
}

/**
 * The weights a warm start begins from: model `id`'s, which must exist (NotFoundError `model_not_found`) and have the
 * spec's layers and loss (InvalidInputError naming the mismatch).
 */
async function warmStartWeights(env: Env, spec: RunSpec, id: string): Promise<Float32Array> {
  const blob = await getModelBlob(env.STORE_BUCKET, id);
  if (blob === null) throw new NotFoundError("model_not_found", `init.model: there is no model ${id}`);
  const model = decodeModel(blob);
  const problems = [
    ...(model.layers.join("-") === spec.layers.join("-") ? [] : [`its layers ${model.layers.join("-")} are not the spec's ${spec.layers.join("-")}`]),
    ...(model.loss === spec.loss ? [] : [`its loss ${model.loss} is not the spec's ${spec.loss}`]),
  ];
  if (problems.length > 0) throw new InvalidInputError("invalid_request", `init.model ${id} cannot start this run: ${problems.join("; ")}`);
  return model.params;
}

/**
 * Starts a run: checks the spec against its dataset (NotFoundError `dataset_not_found` when it does not exist,
 * InvalidInputError when the spec does not fit it) and its starting model (warmStartWeights), snapshots the
 * corrections it trains on (a refresh's training and holdout splits: ConflictError `no_corrections` when it has none
 * to train on), writes checkpoint 0 and the record, marks the run active and enqueues its first step (unless
 * `enqueue` is false: tests use that to lose the first message on purpose).
 */
export async function startRun(env: Env, spec: RunSpec, options: { enqueue?: boolean } = {}): Promise<RunRecord> {
  const { stepWork } = configOf(env);
  const manifest = await readManifest(env.STORE_BUCKET, spec.dataset);
  if (manifest === null) {
    throw new NotFoundError("dataset_not_found", `dataset "${spec.dataset}" does not exist: npm start loads "mnist" locally; upload others with PUT /v1/datasets/:name`);
  }
  const problems = specProblems(spec, manifest);
  if (problems.length > 0) throw new InvalidInputError("invalid_request", problems.join("; "));
  const parentModelId = parentOf(spec);
  const start = parentModelId === null ? undefined : await warmStartWeights(env, spec, parentModelId);
  const id = newRunId();
  const bucket = env.STORE_BUCKET;
  const shape = [bucket, id, manifest.rows, manifest.cols, manifest.classes] as const;
  let plan;
  let refresh: RefreshReport | null = null;
  if (spec.refresh !== undefined) {
    const feedback = await snapshotFeedback(...shape, spec.refresh.corrections, "train");
    if (feedback === null) throw new ConflictError("no_corrections", "no accepted corrections to refresh on (of the training split: one in five is held out): accept some first (POST /v1/feedback/review)");
    const holdout = await snapshotFeedback(...shape, MAX_FEEDBACK, "holdout");
    plan = makePlan(spec, manifest, stepWork, { feedback, holdout, replay: spec.refresh.replay * feedback.count, repeat: spec.refresh.repeat });
    refresh = {
      corrections: feedback.count, holdout: holdout?.count ?? 0, replay: plan.baseCount,
      maxValidationDrop: spec.refresh.maxValidationDrop ?? configOf(env).refreshMaxValidationDrop, before: null, after: null, changes: null,
    };
  } else {
    const feedback = spec.includeFeedback ? await snapshotFeedback(...shape) : null;
    plan = makePlan(spec, manifest, stepWork, { feedback });
  }
  const now = new Date().toISOString();
  await putCheckpoint(bucket, id, 0, encodeCheckpoint(initialCheckpoint(spec, start)));
  const record: RunRecord = {
    id, name: spec.name ?? null, spec, dataset: { name: manifest.name, version: manifest.version }, plan,
    status: "queued", step: 0, phase: "train", epoch: spec.optimizer.name === "cg" ? 0 : 1, progress: 0, examplesSeen: 0,
    createdAt: now, updatedAt: now, startedAt: null, finishedAt: null, etaSeconds: null, throughput: null,
    history: [], evaluations: [], validationAccuracy: null, test: null, modelId: null, promoted: null, promotionReason: null, error: null, lastError: null, revivals: 0, resends: [],
    feedbackExamples: plan.feedback?.count ?? 0,
    kind: spec.refresh === undefined ? "train" : "refresh", parentModelId, refresh,
  };
  await createRecord(bucket, record);
  await markActive(bucket, id);
  if (refresh !== null) await noteRefreshStarted(bucket, id, parentModelId!, now);
  if (options.enqueue !== false) await env.TRAIN_QUEUE.send({ runId: id, step: 0 });
  return record;
}

/** The records of the runs that have not ended (those marked active whose record says so). */
export async function activeRuns(env: Env): Promise<RunRecord[]> {
  const found = await Promise.all((await listActive(env.STORE_BUCKET)).map((id) => getRecord<RunRecord>(env.STORE_BUCKET, id)));
  return found.flatMap((f) => (f === null || ENDED.includes(f.record.status) ? [] : [f.record]));
}

/**
 * Ends a run that has not ended with `status` and a reason, then deletes its checkpoints and feedback snapshot.
 * Returns the record this call ended, or null when it had ended already (a concurrent end, a finish, a cancel).
 */
export async function endRun(env: Env, runId: string, status: "failed" | "diverged" | "cancelled", error: string): Promise<RunRecord | null> {
  let changed = false;
  const record = await updateRecord<RunRecord>(env.STORE_BUCKET, runId, (r) => {
    // Set on every attempt: a write that lost its etag race is retried on the record that beat it.
    changed = !ENDED.includes(r.status);
    return changed ? { ...r, status, error, finishedAt: new Date().toISOString(), etaSeconds: null } : null;
  });
  if (record !== null && !needsSettling(record)) await retire(env, runId);
  return changed ? record : null;
}

/** A run that ended: its scratch goes (the model, if any, is what remains) and the watchdog stops looking at it. */
export async function retire(env: Env, runId: string): Promise<void> {
  await deleteRunScratch(env.STORE_BUCKET, runId);
  await unmarkActive(env.STORE_BUCKET, runId);
}

/** A run that succeeded but whose promotion was not decided yet (its finishing step was interrupted after the commit). */
export const needsSettling = (r: RunRecord): boolean => r.status === "succeeded" && r.promoted === null;

/**
 * Finishes a run whose last checkpoint is done. The model is stored first (create-only, id from the run id, so a
 * retry finds its own blob); then the record is switched to succeeded only if it has not ended meanwhile — an
 * etag-conditional write, retried on a concurrent change, so a cancel that was answered "cancelled" always wins and
 * the model it would have produced is deleted, never promoted. Then settleRun promotes by the policy.
 */
export async function finishRun(env: Env, record: RunRecord, ck: Checkpoint): Promise<"succeeded" | "ended"> {
  const spec = record.spec;
  const last = ck.evaluations[ck.evaluations.length - 1];
  if (ck.test === null) throw new Error(`finishRun: run ${record.id}'s last checkpoint has no test figures`);
  // A refresh measures its parent and itself on the holdout and the test set (deterministic: a retry gets the same).
  const refresh = record.refresh == null ? null : { ...record.refresh, ...(await measureRefresh(env, record, ck.params)) };
  const meta: ModelMeta = {
    id: `m-${record.id.slice(4)}`, layers: spec.layers, loss: spec.loss, validationAccuracy: last?.validationAccuracy ?? null, testAccuracy: ck.test.accuracy,
    dataset: record.dataset.name, runId: record.id, createdAt: new Date().toISOString(), spec, dataAt: record.createdAt,
    ...(await lineageOf(env, record)),
    ...(refresh === null ? {} : { refresh: refreshSummary(refresh) }),
  };
  await putModel(env.STORE_BUCKET, env.SERVING_KV, meta, encodeModel({ layers: spec.layers, loss: spec.loss, params: ck.params }));
  let committed = false;
  const stored = await updateRecord<RunRecord>(env.STORE_BUCKET, record.id, (r) => {
    committed = !ENDED.includes(r.status); // set on every attempt, as in endRun
    return committed ? { ...r, status: "succeeded", validationAccuracy: meta.validationAccuracy, test: ck.test, modelId: meta.id, promoted: null, promotionReason: null, progress: 1, etaSeconds: 0, finishedAt: new Date().toISOString(), ...(refresh === null ? {} : { refresh }) } : null;
  });
  if (!committed) {
    if (stored?.modelId !== meta.id) await deleteModel(env.STORE_BUCKET, env.SERVING_KV, meta.id);
    if (stored !== null && needsSettling(stored)) await settleRun(env, stored);
    else await retire(env, record.id);
    return "ended";
  }
  await settleRun(env, stored!, ck.params);
  return "succeeded";
}

/** A run's model's parent and lineage: the model it started from and that model's ancestors. */
async function lineageOf(env: Env, record: RunRecord): Promise<{ parent: ModelParent | null; lineage?: string[] }> {
  const parentId = record.parentModelId ?? null;
  if (parentId === null) return { parent: null };
  const parentMeta = await getModelMeta(env.STORE_BUCKET, parentId);
  const corrections = record.refresh?.corrections ?? record.feedbackExamples;
  return {
    parent: { modelId: parentId, kind: record.kind === "refresh" ? "refresh" : "warm", corrections },
    lineage: [parentId, ...(parentMeta?.lineage ?? [])].slice(0, MAX_LINEAGE),
  };
}

/**
 * Decides a succeeded run's promotion, records it with the reason, and retires the run: a refresh by its guard
 * (refreshVerdict, and only while its parent is still served) unless its spec says "never"; any other run by its
 * spec's policy, else PROMOTE_POLICY. Safe to repeat: the message retry or the watchdog finishes a run interrupted
 * after its commit.
 */
export async function settleRun(env: Env, record: RunRecord, params?: Float32Array): Promise<void> {
  const meta = await getModelMeta(env.STORE_BUCKET, record.modelId!);
  if (meta === null) throw new Error(`settleRun: run ${record.id} succeeded but its model ${record.modelId} is missing`);
  const weights = params ?? decodeModel((await getModelBlob(env.STORE_BUCKET, meta.id))!).params;
  const result = await promote(env, record, meta, weights);
  if (!result.promoted && result.code === "conflict") throw new Error(`settleRun: ${result.reason}`);
  await updateRecord<RunRecord>(env.STORE_BUCKET, record.id, (r) =>
    needsSettling(r) ? { ...r, promoted: result.promoted, promotionReason: result.reason } : null,
  );
  await retire(env, record.id);
}

/** Promotes a succeeded run's model as settleRun says. */
async function promote(env: Env, record: RunRecord, meta: ModelMeta, weights: Float32Array): ReturnType<typeof promoteModel> {
  if (record.refresh == null) return promoteModel(env, meta, weights, record.spec.promote ?? configOf(env).promotePolicy);
  if (record.spec.promote === "never") return { promoted: false, code: "policy", reason: "not promoted: the refresh's promote policy is never" };
  const verdict = refreshVerdict(record.refresh);
  if (!verdict.promote) return { promoted: false, code: "policy", reason: verdict.reason };
  return promoteModel(env, meta, weights, "always", { onlyIfServing: record.parentModelId!, reason: verdict.reason });
}
