/**
 * The IDX format of the MNIST files: a big-endian header of two zero bytes, a type byte, a dimension-count
 * byte (together the "magic number"), one uint32 per dimension, then the data in row-major order.
 *
 * Only the unsigned-byte type (0x08) is supported: it is the one MNIST uses, and pixels stay uint8 all the way
 * to the shards in R2. Decoding never copies the data: it returns a view into the bytes it was given.
 */

/** Thrown for any malformed or unexpected IDX input; the message names the function and the problem. */
export class IdxError extends Error {
  override name = "IdxError";
}

/** Magic number of an IDX file of unsigned bytes with 3 dimensions (count × rows × cols): MNIST images. */
export const IDX_IMAGES_MAGIC = 0x00000803;
/** Magic number of an IDX file of unsigned bytes with 1 dimension (count): MNIST labels. */
export const IDX_LABELS_MAGIC = 0x00000801;

const UBYTE = 0x08;
const TYPE_NAMES: Record<number, string> = {
  0x08: "unsigned byte",
  0x09: "signed byte",
  0x0b: "int16",
  0x0c: "int32",
  0x0d: "float32",
  0x0e: "float64",
};

/** A decoded IDX file: its dimensions and a view of its data (dims[0] × dims[1] × … bytes). */
export interface Idx {
  dims: number[];
  data: Uint8Array;
}

/** MNIST-style images: `count` images of rows × cols pixels, row-major, one byte per pixel. */
export interface IdxImages {
  count: number;
  rows: number;
  cols: number;
  pixels: Uint8Array;
}

/** MNIST-style labels: one byte per example, each below the number of classes. */
export interface IdxLabels {
  count: number;
  labels: Uint8Array;
}

function hex(b: number): string {
  return "0x" + b.toString(16).padStart(2, "0");
}

function readU32(bytes: Uint8Array, at: number): number {
  return ((bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3]) >>> 0;
}

function checkBytes(fn: string, bytes: Uint8Array): void {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`${fn}: bytes must be a Uint8Array`);
  if (bytes.length < 4) {
    throw new IdxError(`${fn}: ${bytes.length} bytes are too short for an IDX header (need at least 4)`);
  }
}

function unsupportedType(fn: string, type: number): IdxError {
  const name = TYPE_NAMES[type] ? ` (${TYPE_NAMES[type]})` : "";
  return new IdxError(`${fn}: unsupported IDX type ${hex(type)}${name}; only ${hex(UBYTE)} (unsigned byte) is supported`);
}

/**
 * Decodes any IDX file of unsigned bytes. The data must be exactly the product of the dimensions: truncated
 * files and trailing bytes are both rejected. `data` is a view into `bytes`, not a copy.
 */
export function decodeIdx(bytes: Uint8Array): Idx {
  return decodeChecked("decodeIdx", bytes);
}

function decodeChecked(fn: string, bytes: Uint8Array): Idx {
  checkBytes(fn, bytes);
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw new IdxError(`${fn}: not an IDX file: the first two bytes must be 0, found ${hex(bytes[0])} ${hex(bytes[1])}`);
  }
  if (bytes[2] !== UBYTE) throw unsupportedType(fn, bytes[2]);
  const ndims = bytes[3];
  if (ndims === 0) throw new IdxError(`${fn}: the header declares 0 dimensions, expected at least 1`);
  const start = 4 + 4 * ndims;
  if (bytes.length < start) {
    throw new IdxError(`${fn}: ${bytes.length} bytes are too short for an IDX header with ${ndims} dimensions (need ${start})`);
  }
  const dims: number[] = [];
  let size = 1;
  for (let d = 0; d < ndims; d++) {
    const n = readU32(bytes, 4 + 4 * d);
    if (n === 0) throw new IdxError(`${fn}: dimension ${d} is 0; every dimension must be at least 1`);
    dims.push(n);
    size *= n;
  }
  const actual = bytes.length - start;
  if (actual !== size) {
    const what = actual < size ? "truncated" : `${actual - size} trailing bytes`;
    throw new IdxError(`${fn}: dimensions ${dims.join(" × ")} need ${size} data bytes, found ${actual} (${what})`);
  }
  return { dims, data: bytes.subarray(start, start + size) };
}

function describeMagic(magic: number): string {
  if (magic === IDX_IMAGES_MAGIC) return " (an IDX image file)";
  if (magic === IDX_LABELS_MAGIC) return " (an IDX label file)";
  return "";
}

/**
 * Checks the magic number before anything else, so that a label file passed as images (or any foreign file)
 * is reported as such. A header that differs only in its type byte is reported as an unsupported type.
 */
function expectMagic(fn: string, bytes: Uint8Array, magic: number, kind: string): void {
  checkBytes(fn, bytes);
  const found = readU32(bytes, 0);
  if (found === magic) return;
  if ((found & 0xffff00ff) === (magic & 0xffff00ff)) throw unsupportedType(fn, bytes[2]);
  throw new IdxError(`${fn}: expected an IDX ${kind} file (magic ${magic}), found ${found}${describeMagic(found)}`);
}

/** Decodes an IDX image file (magic 2051: count × rows × cols unsigned bytes). `pixels` is a view, not a copy. */
export function decodeIdxImages(bytes: Uint8Array): IdxImages {
  const fn = "decodeIdxImages";
  expectMagic(fn, bytes, IDX_IMAGES_MAGIC, "image");
  const { dims, data } = decodeChecked(fn, bytes);
  return { count: dims[0], rows: dims[1], cols: dims[2], pixels: data };
}

/**
 * Decodes an IDX label file (magic 2049: count unsigned bytes) and checks that every label is in
 * 0..classes−1. `labels` is a view, not a copy.
 */
export function decodeIdxLabels(bytes: Uint8Array, classes = 10): IdxLabels {
  const fn = "decodeIdxLabels";
  if (!Number.isInteger(classes) || classes < 1 || classes > 256) {
    throw new RangeError(`${fn}: classes must be an integer in 1..256, got ${classes}`);
  }
  expectMagic(fn, bytes, IDX_LABELS_MAGIC, "label");
  const { dims, data } = decodeChecked(fn, bytes);
  for (let i = 0; i < data.length; i++) {
    if (data[i] >= classes) {
      throw new IdxError(`${fn}: label ${i} is ${data[i]}, outside 0..${classes - 1}`);
    }
  }
  return { count: dims[0], labels: data };
}

/**
 * Encodes unsigned bytes as an IDX file with the given dimensions (1..255 of them, each 1..2³²−1, their
 * product equal to data.length). Used by tests and to build upload fixtures.
 */
export function encodeIdx(dims: readonly number[], data: Uint8Array): Uint8Array {
  const fn = "encodeIdx";
  if (!Array.isArray(dims) || dims.length < 1 || dims.length > 255) {
    throw new RangeError(`${fn}: dims must list 1..255 dimensions, got ${Array.isArray(dims) ? dims.length : typeof dims}`);
  }
  if (!(data instanceof Uint8Array)) throw new TypeError(`${fn}: data must be a Uint8Array`);
  let size = 1;
  dims.forEach((n, d) => {
    if (!Number.isInteger(n) || n < 1 || n > 0xffffffff) {
      throw new RangeError(`${fn}: dims[${d}] must be an integer in 1..${0xffffffff}, got ${n}`);
    }
    size *= n;
  });
  if (data.length !== size) {
    throw new RangeError(`${fn}: dims ${dims.join(" × ")} need ${size} bytes of data, got ${data.length}`);
  }
  const start = 4 + 4 * dims.length;
  const out = new Uint8Array(start + size);
  const view = new DataView(out.buffer);
  out[2] = UBYTE;
  out[3] = dims.length;
  dims.forEach((n, d) => view.setUint32(4 + 4 * d, n, false));
  out.set(data, start);
  return out;
}
