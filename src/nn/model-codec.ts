/**
 * The binary model format: what a trained model is in R2, read back exactly as it was written.
 *
 * Every field is little-endian:
 *
 *   offset        size    field
 *   0             4       magic, ASCII "EPNN"
 *   4             4       uint32 format version (1)
 *   8             4       uint32 loss code (0 = sigmoid, 1 = softmax)
 *   12            4       uint32 layer count L
 *   16            4·L     uint32 layer sizes s1..sL
 *   16 + 4·L      4·P     float32 parameters in the flat layout of layout.ts (P = createLayout(sizes).count)
 *   end − 4       4       uint32 CRC-32 (IEEE) of every byte before it
 *
 * Every header field is 4 bytes wide, so the weights start on a 4-byte boundary without padding bytes.
 */
import { crc32 } from "./checksum";
import { createLayout, LOSSES, type Loss } from "./layout";

/** Thrown when bytes are not a model this codec can read; the message says what was expected and found. */
export class ModelFormatError extends Error {
  override name = "ModelFormatError";
}

/** A model as stored: its shape, its output loss and its parameters in the flat layout of layout.ts. */
export interface EncodedModel {
  layers: number[];
  loss: Loss;
  params: Float32Array;
}

/** ASCII "EPNN", read as a little-endian uint32. */
const MAGIC = 0x4e4e5045;
export const MODEL_FORMAT_VERSION = 1;
const HEADER_BYTES = 16;
const LOSS_CODES: Record<Loss, number> = { sigmoid: 0, softmax: 1 };

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Copies `n` float32 values as raw bytes (bit for bit: -0, subnormals and NaN payloads survive), swapping the
 * byte order on a big-endian host so that the stored form is always little-endian.
 */
function copyFloatBytes(dst: Uint8Array, src: Uint8Array, n: number): void {
  dst.set(src.subarray(0, 4 * n));
  if (LITTLE_ENDIAN) return;
  for (let i = 0; i < 4 * n; i += 4) {
    const a = dst[i];
    const b = dst[i + 1];
    dst[i] = dst[i + 3];
    dst[i + 1] = dst[i + 2];
    dst[i + 2] = b;
    dst[i + 3] = a;
  }
}

function hex32(n: number): string {
  return "0x" + n.toString(16).padStart(8, "0");
}

/** Encodes a model; throws a RangeError when the layers are invalid or params does not fit them. */
export function encodeModel(model: EncodedModel): Uint8Array {
  const fn = "encodeModel";
  const { layers, loss, params } = model;
  if (!LOSSES.includes(loss)) throw new RangeError(`${fn}: loss must be one of ${LOSSES.join(", ")}, got ${String(loss)}`);
  if (!(params instanceof Float32Array)) throw new TypeError(`${fn}: params must be a Float32Array`);
  const layout = createLayout(layers);
  if (params.length !== layout.count) {
    throw new RangeError(`${fn}: params has ${params.length} entries, expected ${layout.count} for layers ${layers.join("-")}`);
  }
  const weightsAt = HEADER_BYTES + 4 * layers.length;
  const total = weightsAt + 4 * layout.count + 4;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, MODEL_FORMAT_VERSION, true);
  view.setUint32(8, LOSS_CODES[loss], true);
  view.setUint32(12, layers.length, true);
  layers.forEach((s, l) => view.setUint32(HEADER_BYTES + 4 * l, s, true));
  const raw = new Uint8Array(params.buffer, params.byteOffset, params.byteLength);
  copyFloatBytes(out.subarray(weightsAt), raw, layout.count);
  view.setUint32(total - 4, crc32(out.subarray(0, total - 4)), true);
  return out;
}

/**
 * Decodes a model written by encodeModel. The header is checked first (magic, version, loss code, layer sizes,
 * exact length), then the checksum; any problem throws a ModelFormatError. The returned params are a fresh
 * Float32Array that shares no memory with `bytes`.
 */
export function decodeModel(bytes: Uint8Array): EncodedModel {
  const fn = "decodeModel";
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`${fn}: bytes must be a Uint8Array`);
  if (bytes.length < HEADER_BYTES) {
    throw new ModelFormatError(`${fn}: ${bytes.length} bytes are too short for a model header (need at least ${HEADER_BYTES})`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, true);
  if (magic !== MAGIC) {
    throw new ModelFormatError(`${fn}: not an edgeprop model: expected magic ${hex32(MAGIC)} ("EPNN"), found ${hex32(magic)}`);
  }
  const version = view.getUint32(4, true);
  if (version !== MODEL_FORMAT_VERSION) {
    throw new ModelFormatError(`${fn}: unsupported format version ${version}, this build reads version ${MODEL_FORMAT_VERSION}`);
  }
  const lossCode = view.getUint32(8, true);
  const loss = LOSSES.find((name) => LOSS_CODES[name] === lossCode);
  if (loss === undefined) {
    throw new ModelFormatError(`${fn}: unknown loss code ${lossCode}, expected 0 (sigmoid) or 1 (softmax)`);
  }
  const count = view.getUint32(12, true);
  const weightsAt = HEADER_BYTES + 4 * count;
  if (bytes.length < weightsAt) {
    throw new ModelFormatError(`${fn}: the header declares ${count} layers, which need ${weightsAt} header bytes, but there are only ${bytes.length} bytes (truncated)`);
  }
  const layers: number[] = [];
  for (let l = 0; l < count; l++) layers.push(view.getUint32(HEADER_BYTES + 4 * l, true));
  let paramCount: number;
  try {
    paramCount = createLayout(layers).count;
  } catch (e) {
    throw new ModelFormatError(`${fn}: invalid layer sizes [${layers.join(", ")}]: ${(e as Error).message}`);
  }
  const expected = weightsAt + 4 * paramCount + 4;
  if (bytes.length !== expected) {
    const what = bytes.length < expected ? "truncated" : `${bytes.length - expected} trailing bytes`;
    throw new ModelFormatError(`${fn}: layers ${layers.join("-")} need ${expected} bytes, got ${bytes.length} (${what})`);
  }
  const stored = view.getUint32(expected - 4, true);
  const computed = crc32(bytes.subarray(0, expected - 4));
  if (stored !== computed) {
    throw new ModelFormatError(`${fn}: checksum mismatch: stored CRC-32 ${hex32(stored)}, computed ${hex32(computed)} (the model is corrupted)`);
  }
  const params = new Float32Array(paramCount);
  copyFloatBytes(new Uint8Array(params.buffer), bytes.subarray(weightsAt), paramCount);
  return { layers, loss, params };
}
