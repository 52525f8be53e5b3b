/**
 * Decoded models kept per isolate for serving: a small LRU keyed by model id and bounded by bytes. Each model lives
 * in the fixed memory of its own WebAssembly SIMD kernels: its weights, a batch and a forward workspace of `rows`
 * rows, allocated once when it is loaded. Model blobs are immutable, so a cached model is never stale and nothing is
 * invalidated; a promotion only changes which id a request asks for.
 *
 * An isolate's requests share an entry and its buffers. That is safe because a prediction runs its whole batch
 * through `forward` synchronously, with no `await` between filling the buffers and reading them.
 */
import { wasmKernels } from "../kernels";
import { kernelBytes } from "../nn/kernels-wasm";
import { createLayout, type Layout, type Loss } from "../nn/layout";
import { decodeModel, ModelFormatError, type EncodedModel } from "../nn/model-codec";
import { createWorkspace, type Workspace } from "../nn/network";
import { getModelBlob } from "./models";

/** At most this many models are kept per isolate. */
export const MODEL_CACHE_MAX_MODELS = 4;
/** At most this many bytes of parameters and workspaces are kept per isolate (an isolate has 128 MB in all). */
export const MODEL_CACHE_MAX_BYTES = 32 * 1024 * 1024;
/** Largest forward workspace per model: a batch with more rows is run in chunks of `rows`. */
export const WORKSPACE_MAX_BYTES = 4 * 1024 * 1024;
/** Most rows of one forward pass while serving (a predict request sends at most 256 images). */
export const SERVE_ROWS = 256;

/** A model ready to serve: its shape, loss and float32 parameters (layout.ts order), and its scratch. */
export interface ServedModel {
  readonly id: string;
  readonly loss: Loss;
  readonly layout: Layout;
  /** In its kernels' memory, as are X and ws. */
  readonly params: Float32Array;
  /** Rows of one forward pass: at most SERVE_ROWS, and within WORKSPACE_MAX_BYTES. */
  readonly rows: number;
  /** A batch of `rows` inputs and a workspace of `rows` rows. */
  readonly X: Float32Array;
  readonly ws: Workspace;
  /** Bytes of its kernels' memory. */
  readonly bytes: number;
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

/** A model's weights in the memory of its own kernels, with a batch and a workspace of `rows` rows. */
export function servedModel(id: string, loss: Loss, layout: Layout, weights: Float32Array): ServedModel {
  const rows = Math.min(SERVE_ROWS, rowsWithin(layout));
  const widths = layout.sizes.slice(1);
  const wsBytes = [...widths, ...widths, widths[widths.length - 1]].reduce((sum, w) => sum + kernelBytes(rows * w), 0);
  const kernels = wasmKernels(kernelBytes(layout.count) + kernelBytes(rows * layout.sizes[0]) + wsBytes);
  const params = kernels.floats(Float32Array, layout.count) as Float32Array;
  params.set(weights);
  const X = kernels.floats(Float32Array, rows * layout.sizes[0]) as Float32Array;
  return { id, loss, layout, params, rows, X, ws: createWorkspace(layout, rows, Float32Array, kernels), bytes: kernels.capacity };
}

async function load(bucket: R2Bucket, id: string): Promise<ServedModel | null> {
  const blob = await getModelBlob(bucket, id);
  if (blob === null) return null;
  const { layers, loss, params } = decode(id, blob);
  const model = servedModel(id, loss, createLayout(layers), params);
  remember(model, model.bytes);
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
