/**
 * Decoded models kept per isolate for serving: a small LRU keyed by model id and bounded by bytes (parameters plus
 * the forward workspace). Model blobs are immutable, so a cached model is never stale and nothing is invalidated;
 * a promotion only changes which id a request asks for.
 *
 * An isolate's requests share an entry and its workspace. That is safe because a prediction runs its whole batch
 * through `forward` synchronously, with no `await` between filling the workspace and reading it.
 */
import { createLayout, type Layout, type Loss } from "../nn/layout";
import { decodeModel, ModelFormatError, type EncodedModel } from "../nn/model-codec";
import { createWorkspace, type Workspace } from "../nn/network";
import { getModelBlob } from "./models";

/** At most this many models are kept per isolate. */
export const MODEL_CACHE_MAX_MODELS = 4;
/** At most this many bytes of parameters and workspaces are kept per isolate (an isolate has 128 MB in all). */
export const MODEL_CACHE_MAX_BYTES = 32 * 1024 * 1024;
/** Largest forward workspace per model: a batch with more rows is run in chunks of `maxRows`. */
export const WORKSPACE_MAX_BYTES = 4 * 1024 * 1024;

/** A model ready to serve: its shape, loss and float32 parameters (layout.ts order), and its scratch. */
export interface ServedModel {
  readonly id: string;
  readonly loss: Loss;
  readonly layout: Layout;
  readonly params: Float32Array;
  /** Most rows one forward call takes, so that the workspace stays within WORKSPACE_MAX_BYTES. */
  readonly maxRows: number;
  /** Grown on demand by workspaceFor; null until the first prediction. */
  ws: Workspace | null;
}

const entries = new Map<string, { model: ServedModel; bytes: number }>();
const loading = new Map<string, Promise<ServedModel | null>>();
let cachedBytes = 0;

/** Bytes of a float32 forward workspace per row: activations and deltas of every layer past the input, and z(L). */
function workspaceBytesPerRow(layout: Layout): number {
  const widths = layout.sizes.slice(1);
  return 4 * (2 * widths.reduce((a, b) => a + b, 0) + widths[widths.length - 1]);
}

/** Rows whose float32 forward workspace fits in `bytes` (at least 1). */
export function rowsWithin(layout: Layout, bytes: number = WORKSPACE_MAX_BYTES): number {
  return Math.max(1, Math.floor(bytes / workspaceBytesPerRow(layout)));
}

/** Drops a model from this isolate's cache (it was deleted). Other isolates drop it as they evict. */
export function forgetModel(id: string): void {
  const held = entries.get(id);
  if (held === undefined) return;
  entries.delete(id);
  cachedBytes -= held.bytes;
}

/** What this isolate holds, least recently used first. */
export function modelCacheStats(): { ids: string[]; bytes: number } {
  return { ids: [...entries.keys()], bytes: cachedBytes };
}

/** Counts `bytes` for `model` (replacing its previous count), then evicts the least recently used others. */
function remember(model: ServedModel, bytes: number): void {
  const old = entries.get(model.id);
  if (old !== undefined && old.model !== model) return; // evicted and reloaded meanwhile: keep the newer entry
  if (old !== undefined) cachedBytes -= old.bytes;
  entries.delete(model.id);
  if (bytes > MODEL_CACHE_MAX_BYTES) return; // too large to keep: served from this request's copy only
  entries.set(model.id, { model, bytes });
  cachedBytes += bytes;
  for (const [id, held] of entries) {
    if ((cachedBytes <= MODEL_CACHE_MAX_BYTES && entries.size <= MODEL_CACHE_MAX_MODELS) || id === model.id) break;
    entries.delete(id);
    cachedBytes -= held.bytes;
  }
}

/** Decodes a stored model; a blob that does not decode throws ModelFormatError naming the model. */
function decode(id: string, blob: Uint8Array): EncodedModel {
  try {
    return decodeModel(blob);
  } catch (e) {
    throw e instanceof ModelFormatError ? new ModelFormatError(`model ${id} cannot be read: ${e.message}`) : e;
  }
}

async function load(bucket: R2Bucket, id: string): Promise<ServedModel | null> {
  const blob = await getModelBlob(bucket, id);
  if (blob === null) return null;
  const { layers, loss, params } = decode(id, blob);
  const layout = createLayout(layers);
  const model: ServedModel = { id, loss, layout, params, maxRows: rowsWithin(layout), ws: null };
  remember(model, params.byteLength);
  return model;
}

/**
 * The model `id`, from this isolate's cache or decoded from R2 (concurrent misses share one read); null when no
 * such model exists. A blob that does not decode throws the codec's ModelFormatError, naming the model.
 */
export async function getServedModel(bucket: R2Bucket, id: string): Promise<ServedModel | null> {
  const hit = entries.get(id);
  if (hit !== undefined) {
    entries.delete(id);
    entries.set(id, hit);
    return hit.model;
  }
  let pending = loading.get(id);
  if (pending === undefined) {
    pending = load(bucket, id).finally(() => loading.delete(id));
    loading.set(id, pending);
  }
  return pending;
}

/**
 * A workspace of at least `rows` rows (1..model.maxRows) for the model, reused across requests. It grows to twice
 * its size or `rows`, whichever is more (capped at maxRows), so a stream of growing batches reallocates rarely.
 */
export function workspaceFor(model: ServedModel, rows: number): Workspace {
  if (!Number.isInteger(rows) || rows < 1 || rows > model.maxRows) {
    throw new RangeError(`workspaceFor: rows must be an integer in 1..${model.maxRows} for model ${model.id}, got ${rows}`);
  }
  if (model.ws !== null && model.ws.rows >= rows) return model.ws;
  const size = Math.min(model.maxRows, Math.max(rows, 2 * (model.ws?.rows ?? 0)));
  model.ws = createWorkspace(model.layout, size, Float32Array);
  if (entries.get(model.id)?.model === model) remember(model, model.params.byteLength + size * workspaceBytesPerRow(model.layout));
  return model.ws;
}
