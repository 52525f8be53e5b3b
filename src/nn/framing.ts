/**
 * The frame every binary format here shares (models, optimizer states, checkpoints, dataset shards), llm.c's
 * checkpoint header made common. Every field is little-endian:
 *
 *   offset   size   field
 *   0        4      magic, four ASCII characters (e.g. "EPNN")
 *   4        4      uint32 format version
 *   8        …      the format's own header fields and body
 *   end − 4  4      uint32 CRC-32 (IEEE) of every byte before it
 *
 * Writing: newFrame, fill the body, sealFrame. Reading: openFrame (a whole fixed header, magic, version), then
 * checkLength once the format's header says how long the frame must be, then checkCrc; a format that must parse a
 * header to learn its length (a checkpoint's JSON) checks the CRC first, so that it never trusts damaged bytes.
 * Every error is the format's own class, and its message names the format and the problem.
 */
import { crc32 } from "./checksum";

/** How a format words each problem; each takes the figures the message needs. */
export interface FrameWording {
  short(length: number, need: number): string;
  magic(expected: number, found: number): string;
  version(found: number, expected: number): string;
  /** `what`: what the expected length was derived from (e.g. "layers 400-25-10"), or "". */
  length(length: number, expected: number, what: string): string;
}

/** One binary format: its magic, version, fixed header size and error class. */
export interface FrameFormat {
  /** What the bytes are, in messages: "model", "optimizer state", "checkpoint", "dataset shard". */
  readonly name: string;
  /** Four ASCII characters. */
  readonly magic: string;
  readonly version: number;
  /** Bytes of the fixed header: magic, version and the format's fixed fields (the CRC excluded). */
  readonly headerBytes: number;
  readonly error: new (message: string) => Error;
  /** Phrases the format used before the frame was shared, which its tests pin; the rest is FRAME_WORDING's. */
  readonly wording?: Partial<FrameWording>;
}

/** The magic as a little-endian uint32: the four characters in byte order. */
function magicNumber(magic: string): number {
  if (!/^[\x20-\x7e]{4}$/.test(magic)) throw new RangeError(`framing: magic must be 4 ASCII characters, got ${JSON.stringify(magic)}`);
  return (magic.charCodeAt(0) | (magic.charCodeAt(1) << 8) | (magic.charCodeAt(2) << 16) | (magic.charCodeAt(3) << 24)) >>> 0;
}

/** An unsigned 32-bit number as 0x and 8 hex digits. */
export function hex32(n: number): string {
  return "0x" + n.toString(16).padStart(8, "0");
}

/** The shared wording, for `format`. */
function wording(format: FrameFormat): FrameWording {
  return {
    short: (length, need) => `${length} bytes are too short for a ${format.name} header (need at least ${need})`,
    magic: (expected, found) => `bad magic: not an edgeprop ${format.name}: expected ${hex32(expected)} ("${format.magic}"), found ${hex32(found)}`,
    version: (found, expected) => `unsupported version ${found}, this build reads version ${expected}`,
    length: (length, expected, what) =>
      `${what === "" ? "" : `${what}: `}${length} bytes, expected ${expected} (${length < expected ? `truncated at byte ${length}` : `${length - expected} trailing bytes`})`,
    ...format.wording,
  };
}

function fail(format: FrameFormat, where: string, problem: string): never {
  throw new format.error(`${where}: ${problem}`);
}

/** A frame of `length` bytes (CRC included) with its magic and version written; fill the rest, then sealFrame. */
export function newFrame(format: FrameFormat, length: number): { bytes: Uint8Array; view: DataView } {
  if (!Number.isSafeInteger(length) || length < format.headerBytes + 4) {
    throw new RangeError(`newFrame: a ${format.name} needs at least ${format.headerBytes + 4} bytes, got ${length}`);
  }
  const bytes = new Uint8Array(length);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, magicNumber(format.magic), true);
  view.setUint32(4, format.version, true);
  return { bytes, view };
}

/** Writes the CRC-32 of every byte before the last four into them; returns `bytes`. */
export function sealFrame(bytes: Uint8Array): Uint8Array {
  const end = bytes.length - 4;
  new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).setUint32(end, crc32(bytes.subarray(0, end)), true);
  return bytes;
}

/**
 * Checks that `bytes` hold a whole fixed header of `format`, its magic and its version; returns a view of them.
 * `where` starts every message (the decoding function, or the object's name).
 */
export function openFrame(format: FrameFormat, bytes: Uint8Array, where: string): DataView {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`${where}: bytes must be a Uint8Array`);
  const words = wording(format);
  if (bytes.length < format.headerBytes) fail(format, where, words.short(bytes.length, format.headerBytes));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, true);
  const expected = magicNumber(format.magic);
  if (magic !== expected) fail(format, where, words.magic(expected, magic));
  const version = view.getUint32(4, true);
  if (version !== format.version) fail(format, where, words.version(version, format.version));
  return view;
}

/** Checks that the frame is exactly `expected` bytes long (CRC included); `what` says where that length comes from. */
export function checkLength(format: FrameFormat, bytes: Uint8Array, where: string, expected: number, what = ""): void {
  if (bytes.length !== expected) fail(format, where, wording(format).length(bytes.length, expected, what));
}

/** Checks the CRC-32 in the last four bytes against every byte before them. */
export function checkCrc(format: FrameFormat, bytes: Uint8Array, where: string): void {
  const end = bytes.length - 4;
  const stored = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(end, true);
  const computed = crc32(bytes.subarray(0, end));
  if (stored !== computed) {
    fail(format, where, `checksum mismatch: stored CRC-32 ${hex32(stored)}, computed ${hex32(computed)} (the ${format.name} is corrupted)`);
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Copies the bytes of float entries (bit for bit: −0, subnormals and NaN payloads survive), reversing each entry's
 * bytes on a big-endian host so that the stored form is always little-endian.
 */
export function copyLittleEndian(dst: Uint8Array, src: Uint8Array, bytesPerEntry: number): void {
  dst.set(src);
  if (LITTLE_ENDIAN) return;
  for (let i = 0; i < src.length; i += bytesPerEntry) dst.subarray(i, i + bytesPerEntry).reverse();
}
