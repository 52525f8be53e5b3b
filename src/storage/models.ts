/**
 * Models: immutable blobs in R2 (`models/<id>.bin`, the model codec's format), their small metadata in KV for
 * listing at the edge, and the serving pointer (R2 `serving.json` is the truth; KV `serving` the fast copy that
 * predictions read, eventually consistent).
 */
import { keys } from "./keys";

/** What a model is, in KV metadata (≤ 1 KB) and in its R2 object's custom metadata. */
export interface ModelMeta {
  id: string;
  layers: number[];
  loss: "sigmoid" | "softmax";
  /** Accuracy on the dataset's validation set, when measured: what promotion compares. */
  validationAccuracy: number | null;
  /** Accuracy on the dataset's test set, when measured: reported, never compared. */
  testAccuracy: number | null;
  dataset: string | null;
  runId: string | null;
  createdAt: string;
  /** A label given at import (POST /v1/models); absent for trained models. */
  name?: string | null;
  /** The run spec a trained model came from; kept in R2 only (KV metadata is limited to 1 KB). */
  spec?: Record<string, unknown>;
  /** The model its run started from (a warm start or a refresh); absent or null for one trained from random weights or imported. */
  parent?: ModelParent | null;
  /** Its ancestors, nearest first, at most MAX_LINEAGE; kept in R2 only. */
  lineage?: string[];
  /** When the data it was trained on was taken (its run's start); absent for imports (their createdAt). */
  dataAt?: string;
  /**
   * A refreshed model's data and its parent's and its own accuracies (R2 custom metadata holds 2 KB: the per-digit
   * figures are in its run's record); kept in R2 only.
   */
  refresh?: RefreshSummary;
}

/** A refresh in a model's metadata: what it trained on, and the accuracies before and after. */
export interface RefreshSummary {
  corrections: number;
  holdout: number;
  replay: number;
  before: { holdout: number | null; validation: number | null; test: number | null } | null;
  after: { holdout: number | null; validation: number | null; test: number | null } | null;
}

/** One digit's figures: how many examples have that label and how many of them the model gets right. */
export interface DigitFigure {
  digit: number;
  correct: number;
  count: number;
}

/** Accuracy over a set of examples (null when it has none), and per digit. */
export interface Figures {
  accuracy: number | null;
  correct: number;
  count: number;
  perDigit: DigitFigure[];
}

/** A model measured on the holdout corrections and on the dataset's validation and test sets. */
export interface RefreshFigures {
  holdout: Figures;
  validation: Figures;
  test: Figures;
}

/**
 * How two models' answers differ on the same examples: `gained` examples the second gets right and the first wrong,
 * `lost` the other way round. The guard's tests of chance read these (McNemar's exact test).
 */
export interface PairedChange {
  gained: number;
  lost: number;
}

/** What a refresh run trained on, and its parent's and its own figures once it has finished. */
export interface RefreshReport {
  /** Corrections of the training split it trained on. */
  corrections: number;
  /** Corrections of the holdout split it was measured on (never trained on). */
  holdout: number;
  /** Examples of the dataset's training set replayed. */
  replay: number;
  /** Most the validation accuracy may drop, in points, for the refresh to be promoted (besides the test of chance). */
  maxValidationDrop: number;
  before: RefreshFigures | null;
  after: RefreshFigures | null;
  /** The refreshed model against its parent, example by example, on the holdout and the validation set. */
  changes: { holdout: PairedChange; validation: PairedChange } | null;
}


/** The model a model's run started from. */
export interface ModelParent {
  modelId: string;
  /** "refresh": fine-tuned on corrections by a refresh run; "warm": any other run started from it. */
  kind: "warm" | "refresh";
  /** Accepted corrections the run trained on. */
  corrections: number;
}

/** Ancestors a model's metadata lists (R2 custom metadata holds 2 KB in all). */
export const MAX_LINEAGE = 10;

/** The served model and why. */
export interface ServingRecord {
  modelId: string;
  validationAccuracy: number | null;
  testAccuracy: number | null;
  promotedAt: string;
}

/**
 * Stores a model blob create-only, then its metadata in KV. Returns false when a blob with this id exists (a model
 * id names one immutable model; a retried finalization finds its own blob and carries on).
 */
export async function putModel(bucket: R2Bucket, kv: KVNamespace, meta: ModelMeta, blob: Uint8Array): Promise<boolean> {
  const put = await bucket.put(keys.model(meta.id), blob, {
    onlyIf: { etagDoesNotMatch: "*" },
    customMetadata: { meta: JSON.stringify(meta) },
  });
  const { spec: _spec, lineage: _lineage, refresh: _refresh, ...listed } = meta;
  await kv.put(keys.modelMeta(meta.id), "", { metadata: listed });
  return put !== null;
}

/**
 * Deletes a model's blob, then its KV listing entry. Whether it may be deleted (not served) is the caller's
 * business; a listing entry left by an interrupted delete is removed by the sweep (src/training/sweep.ts).
 */
export async function deleteModel(bucket: R2Bucket, kv: KVNamespace, id: string): Promise<void> {
  await bucket.delete(keys.model(id));
  await kv.delete(keys.modelMeta(id));
}

/** Metadata of one model, from R2 (the source of truth). */
export async function getModelMeta(bucket: R2Bucket, id: string): Promise<ModelMeta | null> {
  const head = await bucket.head(keys.model(id));
  return head === null ? null : (JSON.parse(head.customMetadata?.meta ?? "null") as ModelMeta | null);
}

/** The encoded model (model-codec format), or null when there is no model `id`. */
export async function getModelBlob(bucket: R2Bucket, id: string): Promise<Uint8Array | null> {
  const obj = await bucket.get(keys.model(id));
  return obj === null ? null : new Uint8Array(await obj.arrayBuffer());
}

/** The order of listings, descending: creation time, then id. */
export const modelOrderKey = (m: ModelMeta): string => `${m.createdAt} ${m.id}`;

/** Every model's metadata from KV (may lag R2 by up to a minute elsewhere), newest first (descending modelOrderKey). */
export async function listModels(kv: KVNamespace): Promise<ModelMeta[]> {
  const out: ModelMeta[] = [];
  let cursor: string | undefined;
  do {
    const page = await kv.list<ModelMeta>({ prefix: keys.modelMetaPrefix, cursor });
    for (const k of page.keys) if (k.metadata) out.push(k.metadata);
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor !== undefined);
  return out.sort((a, b) => (modelOrderKey(a) < modelOrderKey(b) ? 1 : modelOrderKey(a) > modelOrderKey(b) ? -1 : 0));
}

/** The served model according to R2 (strongly consistent), with its etag for a conditional switch. */
export async function getServingRecord(bucket: R2Bucket): Promise<{ serving: ServingRecord; etag: string } | null> {
  const obj = await bucket.get(keys.servingRecord);
  return obj === null ? null : { serving: (await obj.json()) as ServingRecord, etag: obj.etag };
}

/**
 * Points serving at a model: R2 first, conditionally on the record read (`etag`, or none existing when null), then
 * the KV copy. Returns false when someone else switched it in between.
 */
export async function setServing(bucket: R2Bucket, kv: KVNamespace, serving: ServingRecord, etag: string | null): Promise<boolean> {
  const onlyIf = etag === null ? { etagDoesNotMatch: "*" } : { etagMatches: etag };
  const put = await bucket.put(keys.servingRecord, JSON.stringify(serving), { onlyIf });
  if (put === null) return false;
  await putPointer(kv, serving.modelId);
  return true;
}

/**
 * Writes the KV copy of the pointer once R2 has switched. KV takes one write per second per key: a refused write
 * is tried again after a second, and if that fails too the watchdog's syncServingPointer repairs it (R2 is the
 * truth), so a promotion never fails after R2 has switched.
 */
async function putPointer(kv: KVNamespace, modelId: string): Promise<void> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await kv.put(keys.servingPointer, modelId);
      return;
    } catch (err) {
      console.error(`KV serving pointer write failed (attempt ${attempt + 1}):`, err);
      if (attempt === 0) await new Promise((resolve) => setTimeout(resolve, 1100));
    }
  }
}

/** The served model id as the edge sees it (KV, cached for `cacheTtl` seconds at the edge). */
export async function getServingId(kv: KVNamespace, cacheTtl = 30): Promise<string | null> {
  return kv.get(keys.servingPointer, { cacheTtl });
}

/**
 * Makes the KV pointer agree with R2's serving record (two promotions racing can leave their KV writes in the
 * other order). The watchdog cron runs this; returns true when KV had to be corrected.
 */
export async function syncServingPointer(bucket: R2Bucket, kv: KVNamespace): Promise<boolean> {
  const truth = await getServingRecord(bucket);
  if (truth === null) return false;
  if ((await kv.get(keys.servingPointer)) === truth.serving.modelId) return false;
  await putPointer(kv, truth.serving.modelId);
  return true;
}
