/** The shared frame of the binary formats: magic, version, exact length and CRC-32, each refused with its own reason. */
import { describe, expect, test } from "vitest";
import { crc32 } from "../../src/nn/checksum";
import { checkCrc, checkLength, newFrame, openFrame, sealFrame, type FrameFormat } from "../../src/nn/framing";

class ToyFormatError extends Error {
  override name = "ToyFormatError";
}

/** A toy format: the frame, one uint32 body length n at byte 8, then n body bytes. */
const TOY: FrameFormat = { name: "toy", magic: "TOY1", version: 3, headerBytes: 12, error: ToyFormatError };

function encodeToy(body: number[]): Uint8Array {
  const { bytes, view } = newFrame(TOY, 12 + body.length + 4);
  view.setUint32(8, body.length, true);
  bytes.set(body, 12);
  return sealFrame(bytes);
}

function decodeToy(bytes: Uint8Array, format: FrameFormat = TOY): number[] {
  const view = openFrame(format, bytes, "decodeToy");
  const n = view.getUint32(8, true);
  checkLength(format, bytes, "decodeToy", 12 + n + 4, `a body of ${n}`);
  checkCrc(format, bytes, "decodeToy");
  return Array.from(bytes.subarray(12, 12 + n));
}

const edited = (bytes: Uint8Array, at: number, value: number): Uint8Array => {
  const copy = bytes.slice();
  new DataView(copy.buffer).setUint32(at, value, true);
  return copy;
};

describe("a frame", () => {
  const good = encodeToy([1, 2, 3, 250]);

  test("is the magic's characters, the version, the body and the CRC-32 of everything before it", () => {
    expect(Array.from(good.subarray(0, 4), (c) => String.fromCharCode(c)).join("")).toBe("TOY1");
    expect(new DataView(good.buffer).getUint32(4, true)).toBe(3);
    expect(new DataView(good.buffer).getUint32(good.length - 4, true)).toBe(crc32(good.subarray(0, good.length - 4)));
    expect(decodeToy(good)).toEqual([1, 2, 3, 250]);
  });

  test("reads from a view into a larger buffer", () => {
    const padded = new Uint8Array(good.length + 7);
    padded.set(good, 5);
    expect(decodeToy(padded.subarray(5, 5 + good.length))).toEqual([1, 2, 3, 250]);
  });

  test.each([
    ["too few bytes for the fixed header", good.subarray(0, 11), "decodeToy: 11 bytes are too short for a toy header (need at least 12)"],
    ["another format's magic", edited(good, 0, 0x4e4e5045), 'decodeToy: bad magic: not an edgeprop toy: expected 0x31594f54 ("TOY1"), found 0x4e4e5045'],
    ["another version", edited(good, 4, 4), "decodeToy: unsupported version 4, this build reads version 3"],
    ["a truncated body", good.subarray(0, good.length - 1), "decodeToy: a body of 4: 19 bytes, expected 20 (truncated at byte 19)"],
    ["trailing bytes", Uint8Array.from([...good, 0, 0]), "decodeToy: a body of 4: 22 bytes, expected 20 (2 trailing bytes)"],
  ])("refuses %s, naming the format and the problem", (_what, bytes, message) => {
    expect(() => decodeToy(bytes)).toThrow(new ToyFormatError(message));
  });

  test("refuses a flipped bit anywhere, body or checksum, with both CRCs", () => {
    for (const at of [12, 15, good.length - 2]) {
      const flipped = good.slice();
      flipped[at] ^= 0x04;
      expect(() => decodeToy(flipped)).toThrow(ToyFormatError);
      expect(() => decodeToy(flipped)).toThrow(/^decodeToy: checksum mismatch: stored CRC-32 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8} \(the toy is corrupted\)$/);
    }
  });

  test("a format's own wording replaces the shared one where it says so", () => {
    const worded: FrameFormat = { ...TOY, wording: { version: (found) => `toy version ${found} is not read here` } };
    expect(() => decodeToy(edited(good, 4, 9), worded)).toThrow("decodeToy: toy version 9 is not read here");
    expect(() => decodeToy(edited(good, 0, 0), worded)).toThrow(/bad magic/);
  });

  test("refuses what is not bytes, and frames too small to hold a CRC", () => {
    expect(() => openFrame(TOY, [1, 2] as unknown as Uint8Array, "decodeToy")).toThrow(TypeError);
    expect(() => newFrame(TOY, 15)).toThrow(/newFrame: a toy needs at least 16 bytes/);
    expect(() => newFrame({ ...TOY, magic: "TOY" }, 16)).toThrow(/magic must be 4 ASCII characters/);
  });
});
