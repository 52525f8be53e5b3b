/** Starting, cancelling and finishing runs: the run lifecycle around the steps. */
import type { Env } from "../env";
import { ApiError } from "../errors";
import { encodeModel } from "../nn/model-codec";
import { readManifest } from "../storage/datasets";
import { timeId } from "../storage/keys";
import { snapshotFeedback } from "../storage/feedback";
import { getServingRecord, putModel, setServing, type ModelMeta } from "../storage/models";
import { createRecord, markActive, putCheckpoint, unmarkActive, updateRecord } from "../storage/runs";
import { encodeCheckpoint, type Checkpoint } from "./checkpoint";
import { initialCheckpoint, makePlan, stepWorkFrom } from "./plan";
import { ENDED, type RunRecord } from "./record";
import { specProblems, type RunSpec } from "./spec";

/** A new run id: a time stamp (so ids sort by creation) and 8 random hex digits. */
export function newRunId(now = Date.now()): string {
  return timeId("run-", 4, now);
}

/**
 * Starts a run: checks the spec against its dataset, writes checkpoint 0 and the record, marks the run active and
 * enqueues its first step (unless `enqueue` is false: tests use that to lose the first message on purpose).
 */
export async function startRun(env: Env, spec: RunSpec, options: { enqueue?: boolean } = {}): Promise<RunRecord> {
  const manifest = await readManifest(env.STORE_BUCKET, spec.dataset);
  if (manifest === null) {
    throw new ApiError(404, "dataset_not_found", `dataset "${spec.dataset}" does not exist: npm start loads "mnist" locally; upload others with PUT /v1/datasets/:name`);
  }
  const problems = specProblems(spec, manifest);
  if (problems.length > 0) throw new ApiError(400, "invalid_request", problems.join("; "));
  const id = newRunId();
  const feedback = spec.includeFeedback ? await snapshotFeedback(env.STORE_BUCKET, id, manifest.rows, manifest.cols, manifest.classes) : null;
  const plan = makePlan(spec, manifest, stepWorkFrom(env.STEP_WORK), feedback);
  const now = new Date().toISOString();
  await putCheckpoint(env.STORE_BUCKET, id, 0, encodeCheckpoint(initialCheckpoint(spec)));
  const record: RunRecord = {
    id, name: spec.name ?? null, spec, dataset: { name: manifest.name, version: manifest.version }, plan,
    status: "queued", step: 0, phase: "train", epoch: spec.optimizer.name === "cg" ? 0 : 1, progress: 0, examplesSeen: 0,
    createdAt: now, updatedAt: now, startedAt: null, finishedAt: null, etaSeconds: null, throughput: null,
    history: [], evaluations: [], modelId: null, promoted: null, error: null, lastError: null, revivals: 0,
    feedbackExamples: feedback?.count ?? 0,
  };
  await createRecord(env.STORE_BUCKET, record);
  await markActive(env.STORE_BUCKET, id);
  if (options.enqueue !== false) await env.TRAIN_QUEUE.send({ runId: id, step: 0 });
  return record;
}

/** Ends a run that has not ended with `status` and a reason; returns the record, or null when it had ended. */
export async function endRun(env: Env, runId: string, status: "failed" | "diverged" | "cancelled", error: string): Promise<RunRecord | null> {
  let changed = false;
  const record = await updateRecord<RunRecord>(env.STORE_BUCKET, runId, (r) => {
    if (ENDED.includes(r.status)) return null;
    changed = true;
    return { ...r, status, error, finishedAt: new Date().toISOString(), etaSeconds: null };
  });
  await unmarkActive(env.STORE_BUCKET, runId);
  return changed ? record : null;
}

/** Whether the model with `accuracy` should replace the served one under `policy`. */
function shouldPromote(policy: string, accuracy: number | null, served: number | null | undefined): boolean {
  if (policy === "always") return true;
  if (policy === "never") return false;
  return served === undefined || (accuracy ?? -1) > (served ?? -1);
}

/**
 * Finishes a run whose last checkpoint is done: stores its model (create-only, id from the run id, so a retry
 * finds its own blob), promotes it by the policy, and marks the run succeeded. Every part is safe to repeat.
 */
export async function finishRun(env: Env, record: RunRecord, ck: Checkpoint): Promise<void> {
  const spec = record.spec;
  const last = ck.evaluations[ck.evaluations.length - 1];
  const meta: ModelMeta = {
    id: `m-${record.id.slice(4)}`, layers: spec.layers, loss: spec.loss, testAccuracy: last?.testAccuracy ?? null,
    dataset: record.dataset.name, runId: record.id, createdAt: new Date().toISOString(), spec,
  };
  await putModel(env.STORE_BUCKET, env.SERVING_KV, meta, encodeModel({ layers: spec.layers, loss: spec.loss, params: ck.params }));
  const policy = spec.promote ?? env.PROMOTE_POLICY ?? "better";
  let promoted = false;
  for (let attempt = 0; attempt < 5; attempt++) {
    const current = await getServingRecord(env.STORE_BUCKET);
    if (current?.serving.modelId === meta.id) {
      promoted = true;
      break;
    }
    if (!shouldPromote(policy, meta.testAccuracy, current?.serving.testAccuracy)) break;
    const serving = { modelId: meta.id, testAccuracy: meta.testAccuracy, promotedAt: new Date().toISOString() };
    if (await setServing(env.STORE_BUCKET, env.SERVING_KV, serving, current?.etag ?? null)) {
      promoted = true;
      break;
    }
  }
  await updateRecord<RunRecord>(env.STORE_BUCKET, record.id, (r) =>
    r.status === "succeeded" ? null : { ...r, status: "succeeded", modelId: meta.id, promoted, progress: 1, etaSeconds: 0, finishedAt: new Date().toISOString() },
  );
  await unmarkActive(env.STORE_BUCKET, record.id);
}
