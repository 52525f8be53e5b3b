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
 * Every header field is 4 bytes wide, so the weights start on a 4-byte boundary without padding bytes. The magic,
 * version and CRC are the frame of framing.ts.
 */
import { checkCrc, checkLength, copyLittleEndian, hex32, newFrame, openFrame, sealFrame, type FrameFormat } from "./framing";
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

export const MODEL_FORMAT_VERSION = 1;
const HEADER_BYTES = 16;
const LOSS_CODES: Record<Loss, number> = { sigmoid: 0, softmax: 1 };

const MODEL_FORMAT: FrameFormat = {
  name: "model", magic: "EPNN", version: MODEL_FORMAT_VERSION, headerBytes: HEADER_BYTES, error: ModelFormatError,
  wording: {
    magic: (expected, found) => `not an edgeprop model: expected magic ${hex32(expected)} ("EPNN"), found ${hex32(found)}`,
    version: (found, expected) => `unsupported format version ${found}, this build reads version ${expected}`,
    length: (length, expected, what) => `${what} need ${expected} bytes, got ${length} (${length < expected ? "truncated" : `${length - expected} trailing bytes`})`,
  },
};

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
  const { bytes: out, view } = newFrame(MODEL_FORMAT, total);
  view.setUint32(8, LOSS_CODES[loss], true);
  view.setUint32(12, layers.length, true);
  layers.forEach((s, l) => view.setUint32(HEADER_BYTES + 4 * l, s, true));
  const raw = new Uint8Array(params.buffer, params.byteOffset, params.byteLength);
  copyLittleEndian(out.subarray(weightsAt), raw, 4);
  return sealFrame(out);
}

/**
 * Decodes a model written by encodeModel. The header is checked first (magic, version, loss code, layer sizes,
 * exact length), then the checksum; any problem throws a ModelFormatError. The returned params are a fresh
 * Float32Array that shares no memory with `bytes`.
 */
export function decodeModel(bytes: Uint8Array): EncodedModel {
  const fn = "decodeModel";
  const view = openFrame(MODEL_FORMAT, bytes, fn);
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
  checkLength(MODEL_FORMAT, bytes, fn, weightsAt + 4 * paramCount + 4, `layers ${layers.join("-")}`);
  checkCrc(MODEL_FORMAT, bytes, fn);
  const params = new Float32Array(paramCount);
  copyLittleEndian(new Uint8Array(params.buffer), bytes.subarray(weightsAt, weightsAt + 4 * paramCount), 4);
  return { layers, loss, params };
}
