/**
 * Every R2 key and KV key the Worker uses, built in this one module.
 *
 * R2 (`STORE_BUCKET`, the source of truth):
 *   datasets/<name>/manifest.json               what makes a dataset visible; written after its shards
 *   datasets/<name>/<version>/<split>/<i>.bin   uint8 shards (immutable)
 *   runs/<runId>/record.json                    the run record (status, progress, history)
 *   runs/<runId>/ckpt/<step>.bin                checkpoints, written create-only, one per step
 *   runs/<runId>/ckpt/delivery.json             the last step message the queue consumer picked up (the watchdog's
 *                                               evidence that it delivers); scratch, deleted with the checkpoints
 *   runs-active/<runId>                         marker of a run not yet ended, for the watchdog
 *   models/<modelId>.bin                        immutable model blobs
 *   serving.json                                the served model (source of truth; KV holds the fast copy)
 *   feedback/pending/<id>.bin                   anonymous corrections awaiting review, one-example shards, oldest first
 *   feedback/accepted/<inv>-<id>.bin            accepted corrections; <inv> is the id's time counted down from 36^9 − 1,
 *                                               so R2's ascending listing gives the newest first
 *   feedback/accepted-count.json                how many are accepted (display only; compare-and-swap; recount repairs)
 *   feedback/<id>.bin                           the layout before review existed: moved to pending by the review listing
 *   feedback-snapshots/<runId>/<i>.bin           the corrections a run trains on, as shards, fixed at its start
 *   feedback-snapshots/<runId>/holdout-<i>.bin   a refresh run's holdout corrections, as shards, fixed at its start
 *   refresh/state.json                          the last refresh run started (and from which model), the newest refresh runs
 *
 * KV (`SERVING_KV`, read at the edge, eventually consistent):
 *   serving                                     the id of the model being served
 *   model:<modelId>                             small model metadata, in the key's metadata for listing
 */

export const keys = {
  datasetManifest: (name: string) => `datasets/${name}/manifest.json`,
  datasetsPrefix: "datasets/",
  datasetPrefix: (name: string) => `datasets/${name}/`,
  datasetVersionPrefix: (name: string, version: string) => `datasets/${name}/${version}/`,
  shard: (name: string, version: string, split: "train" | "validation" | "test", index: number) =>
    `datasets/${name}/${version}/${split}/${String(index).padStart(5, "0")}.bin`,
  runRecord: (runId: string) => `runs/${runId}/record.json`,
  runPrefix: (runId: string) => `runs/${runId}/`,
  checkpoint: (runId: string, step: number) => `runs/${runId}/ckpt/${String(step).padStart(8, "0")}.bin`,
  checkpointPrefix: (runId: string) => `runs/${runId}/ckpt/`,
  delivery: (runId: string) => `runs/${runId}/ckpt/delivery.json`,
  activeRun: (runId: string) => `runs-active/${runId}`,
  activeRunsPrefix: "runs-active/",
  runsPrefix: "runs/",
  model: (modelId: string) => `models/${modelId}.bin`,
  modelsPrefix: "models/",
  servingRecord: "serving.json",
  feedbackPrefix: "feedback/",
  feedbackLegacy: (id: string) => `feedback/${id}.bin`,
  feedbackPendingPrefix: "feedback/pending/",
  feedbackPending: (id: string) => `feedback/pending/${id}.bin`,
  feedbackAcceptedPrefix: "feedback/accepted/",
  feedbackAccepted: (id: string) => `feedback/accepted/${countdown(id)}-${id}.bin`,
  feedbackAcceptedCount: "feedback/accepted-count.json",
  feedbackSnapshotShard: (runId: string, index: number) => `feedback-snapshots/${runId}/${String(index).padStart(5, "0")}.bin`,
  feedbackSnapshotPrefix: (runId: string) => `feedback-snapshots/${runId}/`,
  refreshState: "refresh/state.json",
  holdoutSnapshotShard: (runId: string, index: number) => `feedback-snapshots/${runId}/holdout-${String(index).padStart(5, "0")}.bin`,
  feedbackSnapshotsPrefix: "feedback-snapshots/",
  servingPointer: "serving",
  modelMeta: (modelId: string) => `model:${modelId}`,
  modelMetaPrefix: "model:",
} as const;

/** Correction ids, as timeId("", 6) makes them: the time in base 36 (9 digits), a dash, 12 hex digits. */
export const FEEDBACK_ID_PATTERN = /^[0-9a-z]{9}-[0-9a-f]{12}$/;

/** Base-36 digits of the time stamp (ms since the epoch) that starts a correction id. */
const TIME_DIGITS = 9;

/** The time stamp (ms since the epoch) of a correction id. */
export function feedbackIdTime(id: string): number {
  return parseInt(id.slice(0, TIME_DIGITS), 36);
}

/** The id's time counted down from the largest 9-digit time: a later id gives a smaller string. */
function countdown(id: string): string {
  return (36 ** TIME_DIGITS - 1 - feedbackIdTime(id)).toString(36).padStart(TIME_DIGITS, "0");
}

/** The correction id in a pending, accepted or legacy key, or null for any other key. */
export function feedbackIdOf(key: string): string | null {
  const m = /^feedback\/(?:pending\/|accepted\/[0-9a-z]{9}-)?([0-9a-z]{9}-[0-9a-f]{12})\.bin$/.exec(key);
  return m === null ? null : m[1];
}

/** Dataset names and model ids: lowercase letters, digits and dashes, so they are safe in keys and URLs. */
export const ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** Run ids, as newRunId (src/training/runs.ts) makes them with timeId("run-", 4): a stricter ID_PATTERN. */
export const RUN_ID_PATTERN = /^run-[a-z0-9-]{1,40}$/;

/**
 * A fresh id that sorts by creation time: `prefix`, the time in base 36 (9 digits), a dash, and `randomBytes`
 * random bytes in hex. Run ids, import ids, dataset versions and feedback ids are all made here.
 */
export function timeId(prefix: string, randomBytes: number, now = Date.now()): string {
  const rand = [...crypto.getRandomValues(new Uint8Array(randomBytes))].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${prefix}${now.toString(36).padStart(9, "0")}-${rand}`;
}
