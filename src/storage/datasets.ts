/** Datasets in R2: writing shards then the manifest, reading manifests, and a per-isolate shard cache. */
import { buildDataset, type DatasetShape, type ShardObject, type SplitData } from "../data/build";
import { allShards, checkManifest, DatasetFormatError, decodeShard, type DatasetManifest, type Shard, type SplitManifest } from "../data/shards";
import { keys, timeId } from "./keys";
import { deletePrefix, listNames } from "./list";

export type { SplitData } from "../data/build";

/** Shard puts in flight at once while writing a dataset (each holds one encoded shard in memory). */
const PUT_CONCURRENCY = 4;

/** A fresh, key-safe dataset version id: time-ordered, with random bits so that two uploads never share one. */
export function newDatasetVersion(): string {
  return timeId("v", 6);
}

async function putShard(bucket: R2Bucket, shard: ShardObject): Promise<void> {
  // Create-only: a version's shards are immutable, so a version id that is already in use is an error, never an overwrite.
  const written = await bucket.put(shard.key, shard.bytes, { onlyIf: { etagDoesNotMatch: "*" } });
  if (written === null) throw new Error(`writeDataset: ${shard.key} already exists; a dataset version must be fresh`);
}

/**
 * Deletes the shards a replaced manifest listed. Only the version the manifest pointed at just before our switch:
 * versions are never reused, so no manifest can point at it again, while sweeping every other version could delete
 * the shards of a concurrent upload whose manifest is not written yet.
 */
async function deleteReplaced(bucket: R2Bucket, previous: DatasetManifest | null, current: DatasetManifest): Promise<void> {
  if (previous === null || previous.version === current.version) return;
  const stale = allShards(previous).map((s) => s.key);
  try {
    for (let i = 0; i < stale.length; i += 1000) await bucket.delete(stale.slice(i, i + 1000));
  } catch (err) {
    // The switch has happened; leftover shards are only storage, so the write still succeeds.
    console.error(`writeDataset: could not delete the replaced version ${previous.version} of ${current.name}`, err);
  }
}

/**
 * Stores a dataset: every shard under the (fresh) `version` prefix, then the manifest, so that a dataset is listed or
 * trained on only once all of it is in R2. A crash half-way leaves unlisted shards, never a half dataset. Writing a
 * name again switches its manifest to the new version in one put, then deletes the shards of the version it replaced
 * (runs pinned to that version stop: src/training checks the manifest's version before each step).
 * The last `validation` training examples become the validation split (buildDataset). The input is checked before
 * anything is written (checkDataset: RangeError).
 */
export async function writeDataset(
  bucket: R2Bucket, name: string, version: string, shape: DatasetShape, train: SplitData, test: SplitData, validation: number,
): Promise<DatasetManifest> {
  const objects = buildDataset(name, version, shape, train, test, validation, new Date().toISOString(), (split, i) => keys.shard(name, version, split, i));
  for (;;) {
    const batch: ShardObject[] = [];
    let next = objects.next();
    while (!next.done) {
      batch.push(next.value);
      if (batch.length === PUT_CONCURRENCY) break;
      next = objects.next();
    }
    await Promise.all(batch.map((shard) => putShard(bucket, shard)));
    if (next.done) {
      const manifest = next.value;
      // A broken earlier manifest names nothing we could safely delete: it is just replaced.
      const previous = await readManifest(bucket, name).catch(() => null);
      await bucket.put(keys.datasetManifest(name), JSON.stringify(manifest), { httpMetadata: { contentType: "application/json" } });
      await deleteReplaced(bucket, previous, manifest);
      return manifest;
    }
  }
}

/**
 * Deletes a dataset: its manifest first (from then on it is not listed or trained on), then the shards of the version
 * the manifest named. Shards of other versions (an upload under way, or one that crashed) are left to the sweep,
 * which removes them once they are old enough. Returns false when there was no such dataset.
 */
export async function deleteDataset(bucket: R2Bucket, name: string): Promise<boolean> {
  // A manifest that does not parse is deleted too; it names no shards we could safely delete.
  const manifest = await readManifest(bucket, name).catch(() => null);
  if (manifest === null && (await bucket.head(keys.datasetManifest(name))) === null) return false;
  await bucket.delete(keys.datasetManifest(name));
  if (manifest !== null) await deletePrefix(bucket, keys.datasetVersionPrefix(name, manifest.version));
  return true;
}

/** The manifest of a visible dataset, or null; a manifest that is not one throws DatasetFormatError. */
export async function readManifest(bucket: R2Bucket, name: string): Promise<DatasetManifest | null> {
  const key = keys.datasetManifest(name);
  const obj = await bucket.get(key);
  if (obj === null) return null;
  const text = await obj.text();
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new DatasetFormatError(`${key}: not valid JSON`);
  }
  return checkManifest(value, key);
}

/** The names under datasets/ (visible or not: an upload under way has shards and no manifest yet), sorted. */
export async function listDatasetNames(bucket: R2Bucket): Promise<string[]> {
  // By name: R2 lists "datasets/mnist-small/" before "datasets/mnist/" ("-" sorts before "/").
  return (await listNames(bucket, keys.datasetsPrefix, true)).sort();
}

/**
 * The manifests of the visible datasets among `names` (those whose manifest was written), in that order. A manifest
 * that does not check out is logged and left out: one damaged object does not hide the others.
 */
export async function readManifests(bucket: R2Bucket, names: readonly string[]): Promise<DatasetManifest[]> {
  const manifests = await Promise.all(
    names.map((name) =>
      readManifest(bucket, name).catch((err: unknown) => {
        if (!(err instanceof DatasetFormatError)) throw err;
        console.error(`readManifests: skipping dataset ${name}: ${err.message}`);
        return null;
      }),
    ),
  );
  return manifests.filter((m): m is DatasetManifest => m !== null);
}

/**
 * Most bytes of decoded shards an isolate keeps (an isolate has 128 MB in all): MNIST's 70 shards are 55 MB, so a
 * run's steps read each shard from R2 once, not once an epoch (an LRU smaller than the set it cycles through would
 * miss nearly every time). A training step that needs more memory for itself lowers it (shardCacheFor).
 */
export const SHARD_CACHE_BYTES = 64 * 1024 * 1024;
/** Least bytes the cache keeps, whatever a step takes. */
export const SHARD_CACHE_MIN_BYTES = 16 * 1024 * 1024;

const cache = new Map<string, { shard: Shard; bytes: number }>();
let cachedBytes = 0;
let capacity = SHARD_CACHE_BYTES;

/**
 * Sets the cache's capacity to what is left of `budget` bytes after `reserved` (a step's own peak), between
 * SHARD_CACHE_MIN_BYTES and SHARD_CACHE_BYTES, evicting the least recently used shards beyond it. Returns it.
 */
export function shardCacheFor(budget: number, reserved: number): number {
  capacity = Math.max(SHARD_CACHE_MIN_BYTES, Math.min(SHARD_CACHE_BYTES, budget - reserved));
  evict(null);
  return capacity;
}

/** Evicts the least recently used shards (never `keep`) until the cache is within its capacity. */
function evict(keep: string | null): void {
  for (const [k, held] of cache) {
    if (cachedBytes <= capacity) break;
    if (k === keep) continue;
    cache.delete(k);
    cachedBytes -= held.bytes;
  }
}

/** Empties this isolate's shard cache (tests use it to force reads from R2). */
export function clearShardCache(): void {
  cache.clear();
  cachedBytes = 0;
}

function remember(key: string, shard: Shard, bytes: number): void {
  // Two concurrent misses on one key both land here: count its bytes once.
  const old = cache.get(key);
  if (old !== undefined) cachedBytes -= old.bytes;
  cache.delete(key);
  cache.set(key, { shard, bytes });
  cachedBytes += bytes;
  evict(key);
}

/**
 * Shard `index` of a split, from this isolate's cache or R2, checked against its manifest entry (size, count and
 * CRC-32). The cache evicts the least recently used shards beyond its capacity; shard keys are immutable, so
 * a cached shard is never stale.
 */
export async function loadShard(bucket: R2Bucket, split: SplitManifest, index: number): Promise<Shard> {
  const entry = split.shards[index];
  if (entry === undefined) throw new RangeError(`loadShard: no shard ${index} (split has ${split.shards.length})`);
  const hit = cache.get(entry.key);
  if (hit !== undefined) {
    cache.delete(entry.key);
    cache.set(entry.key, hit);
    return hit.shard;
  }
  const obj = await bucket.get(entry.key);
  if (obj === null) throw new DatasetFormatError(`dataset shard ${entry.key} is missing from R2`);
  const bytes = new Uint8Array(await obj.arrayBuffer());
  if (bytes.length !== entry.bytes) throw new DatasetFormatError(`dataset shard ${entry.key} has ${bytes.length} bytes, its manifest says ${entry.bytes}`);
  const shard = decodeShard(bytes, entry.key);
  const crc32 = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(bytes.length - 4, true);
  if (crc32 !== entry.crc32) throw new DatasetFormatError(`dataset shard ${entry.key} is not the one its manifest lists (CRC-32 ${crc32}, expected ${entry.crc32})`);
  if (shard.count !== entry.count) throw new DatasetFormatError(`dataset shard ${entry.key} holds ${shard.count} examples, its manifest says ${entry.count}`);
  remember(entry.key, shard, entry.bytes);
  return shard;
}
