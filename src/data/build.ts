/**
 * Building a dataset's R2 objects, purely: the shards one at a time, then the manifest that lists them.
 *
 * One builder serves every writer: writeDataset (the Worker, and local R2 through getPlatformProxy) and the
 * MNIST loader's `--remote` path (files handed to `wrangler r2 object put`). Shards are yielded one by one so a
 * Worker never holds a second copy of a whole upload; the manifest is the generator's return value, so it can only
 * be had after every shard was produced, and a writer that writes in that order never exposes a half dataset.
 */
import { decodeIdxImages, decodeIdxLabels, IdxError } from "./idx";
import { encodeShard, manifestChecksum, SHARD_SIZE, type DatasetManifest, type ShardEntry, type SplitManifest } from "./shards";

/** The three splits of every dataset, in manifest order: validation is carved from the training examples given. */
export type SplitName = "train" | "validation" | "test";

/**
 * Training examples set aside for validation when an upload does not say: the last twelfth, rounded down (MNIST's
 * classic last 5 000 of 60 000), at least one.
 */
export function defaultValidationCount(trainExamples: number): number {
  return Math.max(1, Math.floor(trainExamples / 12));
}

/** Pixels per example (rows × cols, uint8) and the number of classes (labels are 0..classes−1). */
export interface DatasetShape {
  rows: number;
  cols: number;
  classes: number;
}

/** One split to store: `count` examples of rows × cols uint8 pixels (row-major) and their `count` labels. */
export interface SplitData {
  pixels: Uint8Array;
  labels: Uint8Array;
}

/** A shard ready to write: its R2 key, its bytes, and its manifest entry. */
export interface ShardObject {
  split: SplitName;
  key: string;
  bytes: Uint8Array;
  entry: ShardEntry;
}

/** Builds the R2 key of shard `index` of `split` (src/storage/keys.ts owns key names; src/data may not import it). */
export type ShardKey = (split: SplitName, index: number) => string;

/** Thrown for an upload that is not a consistent dataset; `field` names the form field at fault. */
export class DatasetInputError extends Error {
  override name = "DatasetInputError";
  constructor(readonly field: string, message: string) {
    super(`${field}: ${message}`);
  }
}

/** The four IDX files of a dataset (MNIST's, or an upload's form fields of the same names). */
export interface IdxFiles {
  trainImages: Uint8Array;
  trainLabels: Uint8Array;
  testImages: Uint8Array;
  testLabels: Uint8Array;
}

function decodeField<T>(field: keyof IdxFiles, decode: () => T): T {
  try {
    return decode();
  } catch (err) {
    if (err instanceof IdxError) throw new DatasetInputError(field, err.message);
    throw err;
  }
}

/**
 * Decodes and cross-checks a dataset given as IDX files: each file decodes (images 3-D, labels 1-D, uint8), labels
 * are in 0..classes−1, each split has as many labels as images, and both splits have the same image size. Throws
 * DatasetInputError naming the field at fault; the returned pixels and labels are views into the files' bytes.
 */
export function decodeIdxDataset(files: IdxFiles, classes: number): { shape: DatasetShape; train: SplitData; test: SplitData } {
  const trainImages = decodeField("trainImages", () => decodeIdxImages(files.trainImages));
  const trainLabels = decodeField("trainLabels", () => decodeIdxLabels(files.trainLabels, classes));
  const testImages = decodeField("testImages", () => decodeIdxImages(files.testImages));
  const testLabels = decodeField("testLabels", () => decodeIdxLabels(files.testLabels, classes));
  if (trainLabels.count !== trainImages.count) {
    throw new DatasetInputError("trainLabels", `${trainLabels.count} labels, but trainImages holds ${trainImages.count} images`);
  }
  if (testLabels.count !== testImages.count) {
    throw new DatasetInputError("testLabels", `${testLabels.count} labels, but testImages holds ${testImages.count} images`);
  }
  if (testImages.rows !== trainImages.rows || testImages.cols !== trainImages.cols) {
    throw new DatasetInputError("testImages", `images are ${testImages.rows} × ${testImages.cols}, but trainImages are ${trainImages.rows} × ${trainImages.cols}`);
  }
  return {
    shape: { rows: trainImages.rows, cols: trainImages.cols, classes },
    train: { pixels: trainImages.pixels, labels: trainLabels.labels },
    test: { pixels: testImages.pixels, labels: testLabels.labels },
  };
}

function checkPositiveInt(fn: string, what: string, n: number, max: number): void {
  if (!Number.isInteger(n) || n < 1 || n > max) throw new RangeError(`${fn}: ${what} must be an integer in 1..${max}, got ${n}`);
}

/**
 * Checks a dataset before anything is built or written: positive sizes, consistent lengths, labels in range, and a
 * validation count that leaves at least one training example.
 */
export function checkDataset(shape: DatasetShape, train: SplitData, test: SplitData, validation: number): void {
  const fn = "checkDataset";
  checkPositiveInt(fn, "rows", shape.rows, 0xffffffff);
  checkPositiveInt(fn, "cols", shape.cols, 0xffffffff);
  checkPositiveInt(fn, "classes", shape.classes, 256);
  const D = shape.rows * shape.cols;
  for (const [split, data] of [["train", train], ["test", test]] as const) {
    const n = data.labels.length;
    if (n < 1) throw new RangeError(`${fn}: the ${split} split has no examples`);
    if (data.pixels.length !== n * D) {
      throw new RangeError(`${fn}: ${split} pixels hold ${data.pixels.length} bytes, expected ${n} labels × ${shape.rows} × ${shape.cols} = ${n * D}`);
    }
    const bad = data.labels.findIndex((y) => y >= shape.classes);
    if (bad >= 0) throw new RangeError(`${fn}: ${split} label ${bad} is ${data.labels[bad]}, outside 0..${shape.classes - 1}`);
  }
  const n = train.labels.length;
  if (!Number.isInteger(validation) || validation < 1 || validation >= n) {
    throw new RangeError(`${fn}: validation must be an integer in 1..${n - 1} (of the ${n} training examples), got ${validation}`);
  }
}

/** The first `from`..`to` examples of a split's data (views, no copy). */
function slice(data: SplitData, D: number, from: number, to: number): SplitData {
  return { pixels: data.pixels.subarray(from * D, to * D), labels: data.labels.subarray(from, to) };
}

/**
 * The shards of one split, one at a time (SHARD_SIZE examples each, in order); each one's manifest entry is also
 * pushed to `entries`. The builder of datasets uses it, and so does a run's snapshot of the feedback corrections.
 */
export function* splitShards(split: SplitName, data: SplitData, shape: Pick<DatasetShape, "rows" | "cols">, shardKey: ShardKey, entries: ShardEntry[]): Generator<ShardObject> {
  const D = shape.rows * shape.cols;
  const count = data.labels.length;
  for (let s = 0; s * SHARD_SIZE < count; s++) {
    const from = s * SHARD_SIZE;
    const to = Math.min(count, from + SHARD_SIZE);
    const bytes = encodeShard(data.labels.subarray(from, to), data.pixels.subarray(from * D, to * D), shape.rows, shape.cols);
    const crc32 = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(bytes.length - 4, true);
    const entry = { key: shardKey(split, s), count: to - from, bytes: bytes.length, crc32 };
    entries.push(entry);
    yield { split, key: entry.key, bytes, entry };
  }
}

function* build(
  name: string, version: string, shape: DatasetShape, data: Record<SplitName, SplitData>, createdAt: string, shardKey: ShardKey,
): Generator<ShardObject, DatasetManifest, void> {
  const entries: Record<SplitName, ShardEntry[]> = { train: [], validation: [], test: [] };
  for (const split of ["train", "validation", "test"] as const) yield* splitShards(split, data[split], shape, shardKey, entries[split]);
  const split = (s: SplitName): SplitManifest => ({ count: data[s].labels.length, shardSize: SHARD_SIZE, shards: entries[s] });
  const splits = { train: split("train"), validation: split("validation"), test: split("test") };
  return { name, version, ...shape, ...splits, checksum: manifestChecksum(splits), createdAt };
}

/**
 * A dataset's objects: yields every shard (train, validation, then test, each in order), then returns the manifest
 * listing them. The last `validation` examples of `train` become the validation split (no run trains on them; they
 * choose), the others the training split. Write each yielded shard, then the returned manifest, last. The input is
 * checked here, before the first shard is built (checkDataset); `createdAt` is an ISO timestamp chosen by the caller
 * (src/data knows no clock).
 */
export function buildDataset(
  name: string, version: string, shape: DatasetShape, train: SplitData, test: SplitData, validation: number, createdAt: string, shardKey: ShardKey,
): Generator<ShardObject, DatasetManifest, void> {
  checkDataset(shape, train, test, validation);
  const D = shape.rows * shape.cols;
  const n = train.labels.length;
  const data = { train: slice(train, D, 0, n - validation), validation: slice(train, D, n - validation, n), test };
  return build(name, version, shape, data, createdAt, shardKey);
}

/** Runs a build to its end, handing each shard to `onShard` as it is built; returns the manifest. */
export function drainBuild(objects: Generator<ShardObject, DatasetManifest, void>, onShard: (shard: ShardObject) => void = () => {}): DatasetManifest {
  for (;;) {
    const next = objects.next();
    if (next.done) return next.value;
    onShard(next.value);
  }
}
