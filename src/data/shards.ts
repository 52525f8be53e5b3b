/**
 * Datasets as R2 objects: `uint8` shards of up to SHARD_SIZE examples and one manifest that lists them.
 * Pixels stay bytes (MNIST's 60 000 training images are 47 MB as bytes, 188 MB as float32).
 *
 * Shard layout, little-endian:
 *
 *   offset      size    field
 *   0           4       magic, ASCII "EPDS"
 *   4           4       uint32 format version (1)
 *   8           4       uint32 count n
 *   12          4       uint32 rows
 *   16          4       uint32 cols
 *   20          n       labels, one byte each
 *   20 + n      n·r·c   pixels, row-major per example
 *   end − 4     4       uint32 CRC-32 of every byte before it
 *
 * The magic, version and CRC are the frame of src/nn/framing.ts.
 */
import { crc32 } from "../nn/checksum";
import { checkCrc, checkLength, newFrame, openFrame, sealFrame, type FrameFormat } from "../nn/framing";

/** Examples per shard: 1 000 MNIST images are 784 KB. */
export const SHARD_SIZE = 1000;

/** Thrown when a shard or manifest is not what it should be; the message says what was expected and found. */
export class DatasetFormatError extends Error {
  override name = "DatasetFormatError";
}

/** One shard of examples, decoded (views into the shard's bytes). */
export interface Shard {
  count: number;
  rows: number;
  cols: number;
  labels: Uint8Array;
  pixels: Uint8Array;
}

const HEADER = 20;

const SHARD_FORMAT: FrameFormat = {
  name: "dataset shard", magic: "EPDS", version: 1, headerBytes: HEADER, error: DatasetFormatError,
  wording: { version: (found) => `unsupported shard version ${found}` },
};

/** Encodes `count` examples (labels and row-major uint8 pixels) as one shard. */
export function encodeShard(labels: Uint8Array, pixels: Uint8Array, rows: number, cols: number): Uint8Array {
  const n = labels.length;
  if (pixels.length !== n * rows * cols) {
    throw new RangeError(`encodeShard: pixels has ${pixels.length} bytes, expected ${n} × ${rows} × ${cols} = ${n * rows * cols}`);
  }
  const { bytes: out, view } = newFrame(SHARD_FORMAT, HEADER + n + pixels.length + 4);
  view.setUint32(8, n, true);
  view.setUint32(12, rows, true);
  view.setUint32(16, cols, true);
  out.set(labels, HEADER);
  out.set(pixels, HEADER + n);
  return sealFrame(out);
}

/** Decodes a shard, checking magic, version, length and checksum; `name` is used in error messages. */
export function decodeShard(bytes: Uint8Array, name = "shard"): Shard {
  const view = openFrame(SHARD_FORMAT, bytes, name);
  const count = view.getUint32(8, true);
  const rows = view.getUint32(12, true);
  const cols = view.getUint32(16, true);
  checkLength(SHARD_FORMAT, bytes, name, HEADER + count + count * rows * cols + 4);
  checkCrc(SHARD_FORMAT, bytes, name);
  return {
    count,
    rows,
    cols,
    labels: bytes.subarray(HEADER, HEADER + count),
    pixels: bytes.subarray(HEADER + count, HEADER + count + count * rows * cols),
  };
}

/** One shard as listed in a manifest. */
export interface ShardEntry {
  key: string;
  count: number;
  bytes: number;
  crc32: number;
}

/** A split (train, validation or test): its examples in shards of SHARD_SIZE, in order. */
export interface SplitManifest {
  count: number;
  shardSize: number;
  shards: ShardEntry[];
}

/** What makes a dataset visible: written last, after every shard it lists. */
export interface DatasetManifest {
  name: string;
  /** Upload id: shard keys include it, so a re-upload never mixes with the shards of an earlier one. */
  version: string;
  rows: number;
  cols: number;
  classes: number;
  /** Examples runs train on. */
  train: SplitManifest;
  /** Examples set aside from the training data given: they choose (per-epoch curves, promotion, the refresh guard). */
  validation: SplitManifest;
  /** Examples that only report: measured once per model. */
  test: SplitManifest;
  /** CRC-32 over the shards' CRC-32s, train, validation, then test. */
  checksum: number;
  createdAt: string;
}

/** Every shard a manifest lists, train, validation, then test. */
export const allShards = (m: Pick<DatasetManifest, "train" | "validation" | "test">): ShardEntry[] => [...m.train.shards, ...m.validation.shards, ...m.test.shards];

/** The checksum of a manifest: CRC-32 over its shards' checksums, in order. */
export function manifestChecksum(splits: Pick<DatasetManifest, "train" | "validation" | "test">): number {
  const all = allShards(splits);
  const bytes = new Uint8Array(4 * all.length);
  const view = new DataView(bytes.buffer);
  all.forEach((s, i) => view.setUint32(4 * i, s.crc32, true));
  return crc32(bytes);
}

function isCount(n: unknown): n is number {
  return typeof n === "number" && Number.isInteger(n) && n >= 0;
}

function checkSplit(where: string, split: SplitManifest | undefined, name: string): void {
  if (typeof split !== "object" || split === null || !isCount(split.count) || !isCount(split.shardSize) || !Array.isArray(split.shards)) {
    throw new DatasetFormatError(`${where}: ${name} must be { count, shardSize, shards[] }`);
  }
  let total = 0;
  for (const [i, s] of split.shards.entries()) {
    if (typeof s?.key !== "string" || !isCount(s.count) || !isCount(s.bytes) || !isCount(s.crc32)) {
      throw new DatasetFormatError(`${where}: ${name}.shards[${i}] must be { key, count, bytes, crc32 }`);
    }
    total += s.count;
  }
  if (total !== split.count) throw new DatasetFormatError(`${where}: ${name}.shards hold ${total} examples, ${name}.count says ${split.count}`);
}

/**
 * Checks that a parsed manifest is one (fields, shard counts adding up to the split counts, checksum over the
 * listed shards) and returns it typed; `where` is used in error messages.
 */
export function checkManifest(value: unknown, where = "manifest"): DatasetManifest {
  const m = value as Partial<DatasetManifest> | null;
  if (typeof m !== "object" || m === null || Array.isArray(m)) throw new DatasetFormatError(`${where}: not a JSON object`);
  for (const field of ["name", "version", "createdAt"] as const) {
    if (typeof m[field] !== "string") throw new DatasetFormatError(`${where}: ${field} must be a string`);
  }
  for (const field of ["rows", "cols", "classes", "checksum"] as const) {
    if (!isCount(m[field])) throw new DatasetFormatError(`${where}: ${field} must be a non-negative integer`);
  }
  checkSplit(where, m.train, "train");
  checkSplit(where, m.validation, "validation");
  checkSplit(where, m.test, "test");
  const manifest = m as DatasetManifest;
  if (manifestChecksum(manifest) !== manifest.checksum) {
    throw new DatasetFormatError(`${where}: checksum ${manifest.checksum} does not match its shard list`);
  }
  return manifest;
}
