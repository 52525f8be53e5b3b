import { describe, expect, test } from "vitest";
import { createLayout, type Loss } from "../../src/nn/layout";
import { crc32 } from "../../src/nn/checksum";
import { decodeModel, encodeModel, ModelFormatError } from "../../src/nn/model-codec";

/** Float32 values given by their bit patterns, so that the test says exactly which bits must survive. */
const SPECIAL_BITS = [
  0x00000000, // +0
  0x80000000, // −0
  0x00000001, // smallest subnormal
  0x807fffff, // largest negative subnormal
  0x00800000, // smallest normal
  0x7f7fffff, // largest finite
  0x7f800000, // +Infinity
  0xff800000, // −Infinity
  0x7fc00000, // quiet NaN
  0x7fa00001, // signalling NaN with a payload
  0xffc12345, // negative NaN with a payload
  0x3f800000, // 1
];

/** Params for `layers` whose bit patterns are the specials followed by a fixed pseudo-random sequence. */
function paramsFor(layers: number[]): Float32Array {
  const params = new Float32Array(createLayout(layers).count);
  const bits = new Uint32Array(params.buffer);
  let x = 0x9e3779b9;
  for (let i = 0; i < bits.length; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    bits[i] = i < SPECIAL_BITS.length ? SPECIAL_BITS[i] : x;
  }
  return params;
}

function bitsOf(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length);
}

function u32(bytes: Uint8Array, at: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(at, true);
}

function setU32(bytes: Uint8Array, at: number, value: number): Uint8Array {
  const copy = bytes.slice();
  new DataView(copy.buffer).setUint32(at, value, true);
  return copy;
}

const MODEL_400_25_10 = { layers: [400, 25, 10], loss: "sigmoid" as Loss, params: paramsFor([400, 25, 10]) };
// 25·401 + 10·26 = 10 285 weights: 16 header bytes + 3 sizes + 4 bytes per weight + 4 checksum bytes.
const BYTES_400_25_10 = 16 + 12 + 4 * 10_285 + 4;

describe("round trip", () => {
  const shapes: [number[], Loss][] = [
    [[400, 25, 10], "sigmoid"],
    [[400, 25, 10], "softmax"],
    [[2, 2, 2], "sigmoid"],
    [[3, 5, 4, 3], "softmax"],
    [[784, 128, 64, 10], "softmax"],
  ];
  test.each(shapes)("layers %j, loss %s: bit for bit", (layers, loss) => {
    const params = paramsFor(layers);
    const decoded = decodeModel(encodeModel({ layers, loss, params }));
    expect(decoded.layers).toEqual(layers);
    expect(decoded.loss).toBe(loss);
    expect(decoded.params).toBeInstanceOf(Float32Array);
    expect(bitsOf(decoded.params)).toEqual(bitsOf(params));
  });

  test("−0, subnormals, ±Infinity and NaN payloads keep their bits", () => {
    const decoded = decodeModel(encodeModel(MODEL_400_25_10));
    expect([...bitsOf(decoded.params).subarray(0, SPECIAL_BITS.length)]).toEqual(SPECIAL_BITS);
    expect(Object.is(decoded.params[1], -0)).toBe(true);
    expect(decoded.params[6]).toBe(Infinity);
    expect(decoded.params[7]).toBe(-Infinity);
  });

  test("params that are a view at an offset are encoded from their own bytes only", () => {
    const full = paramsFor([2, 2, 2]);
    const backing = new Float32Array(full.length + 3);
    backing.set(full, 2);
    const view = backing.subarray(2, 2 + full.length);
    expect(encodeModel({ layers: [2, 2, 2], loss: "sigmoid", params: view })).toEqual(
      encodeModel({ layers: [2, 2, 2], loss: "sigmoid", params: full }),
    );
  });

  test("decoded params are a fresh aligned copy, even from unaligned bytes", () => {
    const bytes = encodeModel(MODEL_400_25_10);
    const backing = new Uint8Array(bytes.length + 1);
    backing.set(bytes, 1);
    const unaligned = backing.subarray(1);
    const decoded = decodeModel(unaligned);
    expect(decoded.params.byteOffset).toBe(0);
    expect(decoded.params.buffer).not.toBe(backing.buffer);
    backing.fill(0);
    expect(bitsOf(decoded.params)).toEqual(bitsOf(MODEL_400_25_10.params));
  });
});

describe("the stored layout", () => {
  test("header fields, weights and checksum sit where the format says", () => {
    const bytes = encodeModel({ ...MODEL_400_25_10, loss: "softmax" });
    expect(bytes.length).toBe(BYTES_400_25_10);
    expect(String.fromCharCode(...bytes.subarray(0, 4))).toBe("EPNN");
    expect([u32(bytes, 4), u32(bytes, 8), u32(bytes, 12)]).toEqual([1, 1, 3]);
    expect([u32(bytes, 16), u32(bytes, 20), u32(bytes, 24)]).toEqual([400, 25, 10]);
    expect(u32(bytes, 28)).toBe(SPECIAL_BITS[0]);
    expect(u32(bytes, 32)).toBe(0x80000000);
    expect(u32(bytes, 28 + 4 * 9)).toBe(0x7fa00001);
    expect(u32(bytes, bytes.length - 4)).toBe(crc32(bytes.subarray(0, bytes.length - 4)));
    expect(u32(encodeModel(MODEL_400_25_10), 8)).toBe(0);
  });

  test("crc32 is the standard CRC-32 (check values of the IEEE polynomial)", () => {
    const ascii = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
    expect(crc32(ascii("123456789"))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
    expect(crc32(ascii("The quick brown fox jumps over the lazy dog"))).toBe(0x414fa339);
  });
});

describe("decodeModel rejects", () => {
  const good = encodeModel(MODEL_400_25_10);

  test("a flipped weight byte or checksum byte: checksum mismatch", () => {
    const flipped = good.slice();
    flipped[28 + 4 * 5000 + 2] ^= 0x10;
    expect(() => decodeModel(flipped)).toThrow(ModelFormatError);
    expect(() => decodeModel(flipped)).toThrow(/^decodeModel: checksum mismatch: stored CRC-32 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}/);
    const badSum = good.slice();
    badSum[badSum.length - 1] ^= 0xff;
    expect(() => decodeModel(badSum)).toThrow(/checksum mismatch/);
  });

  test("truncated and trailing bytes, with expected and actual byte counts", () => {
    expect(() => decodeModel(good.subarray(0, good.length - 1))).toThrow(
      new ModelFormatError(`decodeModel: layers 400-25-10 need ${BYTES_400_25_10} bytes, got ${BYTES_400_25_10 - 1} (truncated)`),
    );
    expect(() => decodeModel(good.subarray(0, 100))).toThrow(`need ${BYTES_400_25_10} bytes, got 100 (truncated)`);
    const longer = new Uint8Array(good.length + 4);
    longer.set(good);
    expect(() => decodeModel(longer)).toThrow(`need ${BYTES_400_25_10} bytes, got ${BYTES_400_25_10 + 4} (4 trailing bytes)`);
  });

  test("fewer bytes than a header", () => {
    expect(() => decodeModel(good.subarray(0, 10))).toThrow(
      new ModelFormatError("decodeModel: 10 bytes are too short for a model header (need at least 16)"),
    );
    expect(() => decodeModel(new Uint8Array(0))).toThrow(/0 bytes are too short/);
  });

  test("a layer count the bytes cannot hold", () => {
    expect(() => decodeModel(setU32(good, 12, 0xffffffff))).toThrow(
      /decodeModel: the header declares 4294967295 layers, .* but there are only 41172 bytes \(truncated\)/,
    );
  });

  test("a foreign magic number", () => {
    const zip = good.slice();
    zip.set([0x50, 0x4b, 0x03, 0x04], 0);
    expect(() => decodeModel(zip)).toThrow(
      new ModelFormatError('decodeModel: not an edgeprop model: expected magic 0x4e4e5045 ("EPNN"), found 0x04034b50'),
    );
  });

  test("an unsupported version", () => {
    expect(() => decodeModel(setU32(good, 4, 99))).toThrow(
      new ModelFormatError("decodeModel: unsupported format version 99, this build reads version 1"),
    );
  });

  test("an unknown loss code", () => {
    expect(() => decodeModel(setU32(good, 8, 2))).toThrow(
      new ModelFormatError("decodeModel: unknown loss code 2, expected 0 (sigmoid) or 1 (softmax)"),
    );
  });

  test("invalid layer sizes, with createLayout's reason", () => {
    expect(() => decodeModel(setU32(good, 20, 0))).toThrow(
      "decodeModel: invalid layer sizes [400, 0, 10]: createLayout: layers[1] must be an integer in 1..65536, got 0",
    );
    expect(() => decodeModel(setU32(good, 24, 1))).toThrow(/invalid layer sizes \[400, 25, 1\]: .*at least 2 units/);
    expect(() => decodeModel(setU32(good, 12, 2))).toThrow(/invalid layer sizes \[400, 25\]: createLayout: layers needs at least 3 sizes/);
  });
});

describe("encodeModel rejects", () => {
  test("params whose length does not match the layers", () => {
    const params = new Float32Array(10_284);
    expect(() => encodeModel({ layers: [400, 25, 10], loss: "sigmoid", params })).toThrow(
      new RangeError("encodeModel: params has 10284 entries, expected 10285 for layers 400-25-10"),
    );
  });

  test("an unknown loss, params that are not float32, invalid layers", () => {
    const params = paramsFor([2, 2, 2]);
    expect(() => encodeModel({ layers: [2, 2, 2], loss: "tanh" as Loss, params })).toThrow(
      "encodeModel: loss must be one of sigmoid, softmax, got tanh",
    );
    expect(() => encodeModel({ layers: [2, 2, 2], loss: "sigmoid", params: new Float64Array(params) as unknown as Float32Array })).toThrow(
      new TypeError("encodeModel: params must be a Float32Array"),
    );
    expect(() => encodeModel({ layers: [2, 2], loss: "sigmoid", params })).toThrow(/createLayout: layers needs at least 3 sizes/);
  });
});
