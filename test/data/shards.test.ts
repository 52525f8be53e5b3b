/** The dataset shard codec and manifests, and the seeded order of examples per epoch (its shard locality). */
import { describe, expect, test } from "vitest";
import { epochOrder, GROUP_SHARDS } from "../../src/data/batches";
import { checkManifest, DatasetFormatError, decodeShard, encodeShard, manifestChecksum, type SplitManifest } from "../../src/data/shards";
import { crc32 } from "../../src/nn/checksum";

/** How many distinct shards hold the examples order[from, to). */
const shardsTouched = (order: Uint32Array, from: number, to: number, shardSize: number): number =>
  new Set(Array.from(order.subarray(from, to), (i) => Math.floor(i / shardSize))).size;

const labels = Uint8Array.of(3, 1, 4);
const pixels = Uint8Array.from({ length: 3 * 2 * 5 }, (_, i) => (i * 37) & 0xff);

/** A little-endian uint32 as 4 bytes, written by hand. */
function le32(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
}

function withByte(bytes: Uint8Array, at: number, value: number): Uint8Array {
  const copy = bytes.slice();
  copy[at] = value;
  return copy;
}

describe("shard codec", () => {
  test("crc32 is the standard CRC-32 (check value of \"123456789\")", () => {
    expect(crc32(new TextEncoder().encode("123456789"))).toBe(0xcbf43926);
  });

  test("encodeShard writes the documented layout, byte by byte", () => {
    const bytes = encodeShard(labels, pixels, 2, 5);
    const body = [...new TextEncoder().encode("EPDS"), ...le32(1), ...le32(3), ...le32(2), ...le32(5), ...labels, ...pixels];
    expect(Array.from(bytes.subarray(0, body.length))).toEqual(body);
    expect(Array.from(bytes.subarray(body.length))).toEqual(le32(crc32(Uint8Array.from(body))));
  });

  test("round trip, also from a view at an offset into a larger buffer", () => {
    const bytes = encodeShard(labels, pixels, 2, 5);
    const padded = new Uint8Array(bytes.length + 7);
    padded.set(bytes, 3);
    for (const view of [bytes, padded.subarray(3, 3 + bytes.length)]) {
      const shard = decodeShard(view);
      expect(shard).toMatchObject({ count: 3, rows: 2, cols: 5 });
      expect(shard.labels).toEqual(labels);
      expect(shard.pixels).toEqual(pixels);
    }
  });

  test("an empty shard round-trips", () => {
    expect(decodeShard(encodeShard(new Uint8Array(0), new Uint8Array(0), 28, 28)).count).toBe(0);
  });

  test("encodeShard checks the pixel count", () => {
    expect(() => encodeShard(labels, pixels.subarray(1), 2, 5)).toThrow(/pixels has 29 bytes, expected 3 × 2 × 5 = 30/);
  });

  const good = encodeShard(labels, pixels, 2, 5);
  test.each([
    ["too short", good.subarray(0, 10), /10 bytes are too short/],
    ["bad magic", withByte(good, 0, 0x41), /bad magic/],
    ["another version", withByte(good, 4, 2), /unsupported shard version 2/],
    ["truncated", good.subarray(0, good.length - 1), /56 bytes, expected 57/],
    ["trailing bytes", Uint8Array.from([...good, 0]), /58 bytes, expected 57/],
    ["a count that does not fit", withByte(good, 8, 4), /57 bytes, expected 68/],
    ["a flipped pixel", withByte(good, 30, good[30] ^ 0x10), /checksum mismatch/],
    ["a flipped label", withByte(good, 21, 9), /checksum mismatch/],
    ["a damaged checksum", withByte(good, good.length - 1, good[good.length - 1] ^ 1), /checksum mismatch/],
  ])("decodeShard refuses %s", (_what, bytes, message) => {
    expect(() => decodeShard(bytes, "s.bin")).toThrow(DatasetFormatError);
    expect(() => decodeShard(bytes, "s.bin")).toThrow(message);
    expect(() => decodeShard(bytes, "s.bin")).toThrow(/^s\.bin: /);
  });
});

function splitOf(crcs: number[], count = crcs.length): SplitManifest {
  return { count, shardSize: 1, shards: crcs.map((crc32, i) => ({ key: `k${i}`, count: 1, bytes: 25, crc32 })) };
}

describe("manifest", () => {
  test("manifestChecksum is the CRC-32 of the shards' CRC-32s, little-endian, train, validation then test", () => {
    const bytes = Uint8Array.from([...le32(0xdeadbeef), ...le32(1), ...le32(7), ...le32(0x80000000)]);
    const splits = (train: number[], validation: number[], test: number[]) => ({ train: splitOf(train), validation: splitOf(validation), test: splitOf(test) });
    expect(manifestChecksum(splits([0xdeadbeef, 1], [7], [0x80000000]))).toBe(crc32(bytes));
    expect(manifestChecksum(splits([1, 0xdeadbeef], [7], [0x80000000]))).not.toBe(crc32(bytes));
    expect(manifestChecksum(splits([0xdeadbeef, 1], [0x80000000], [7]))).not.toBe(crc32(bytes));
    expect(manifestChecksum(splits([], [], []))).toBe(0);
  });

  test("checkManifest accepts a consistent manifest and names what is wrong in others", () => {
    const train = splitOf([5, 6]);
    const test_ = splitOf([7]);
    const validation = splitOf([8]);
    const m = { name: "d", version: "v", rows: 1, cols: 1, classes: 2, train, validation, test: test_, checksum: manifestChecksum({ train, validation, test: test_ }), createdAt: "2026-01-01T00:00:00Z" };
    expect(checkManifest(m)).toBe(m);
    expect(() => checkManifest([], "m.json")).toThrow(/m.json: not a JSON object/);
    expect(() => checkManifest({ ...m, version: 3 })).toThrow(/version must be a string/);
    expect(() => checkManifest({ ...m, rows: -1 })).toThrow(/rows must be a non-negative integer/);
    expect(() => checkManifest({ ...m, test: { count: 1 } })).toThrow(/test must be/);
    expect(() => checkManifest({ ...m, train: { ...train, shards: [{ key: "a" }] } })).toThrow(/train.shards\[0\]/);
    expect(() => checkManifest({ ...m, train: splitOf([5, 6], 3) })).toThrow(/hold 2 examples, train.count says 3/);
    expect(() => checkManifest({ ...m, checksum: m.checksum + 1 })).toThrow(/does not match its shard list/);
  });
});

function isPermutation(order: Uint32Array, count: number): boolean {
  const seen = new Uint8Array(count);
  for (const i of order) {
    if (i >= count || seen[i]) return false;
    seen[i] = 1;
  }
  return order.length === count;
}

describe("epochOrder", () => {
  test.each([
    [60_000, 1000],
    [2_500, 1000],
    [10_001, 1000],
    [7, 1000],
    [1, 1],
  ])("is a permutation of %i examples in shards of %i", (count, shardSize) => {
    expect(isPermutation(epochOrder(1, 0, count, shardSize), count)).toBe(true);
    expect(isPermutation(epochOrder(42, 3, count, shardSize), count)).toBe(true);
  });

  test("is a pure function of (seed, epoch) that differs across epochs and seeds", () => {
    const a = epochOrder(7, 2, 60_000, 1000);
    expect(epochOrder(7, 2, 60_000, 1000)).toEqual(a);
    expect(epochOrder(7, 3, 60_000, 1000)).not.toEqual(a);
    expect(epochOrder(8, 2, 60_000, 1000)).not.toEqual(a);
    expect(epochOrder(0, 0, 60_000, 1000)).not.toEqual(epochOrder(0, 1, 60_000, 1000));
  });

  test("shuffles within groups: not the identity, and not only shard order", () => {
    const order = epochOrder(1, 0, 60_000, 1000);
    let inPlace = 0;
    for (let i = 0; i < order.length; i++) if (order[i] === i) inPlace++;
    expect(inPlace).toBeLessThan(600);
    expect(shardsTouched(order, 0, 100, 1000)).toBeGreaterThan(1);
  });

  test.each([
    [60_000, 1000],
    [10_500, 1000],
    [2_500, 1000],
  ])("every window of 1 000 examples (of %i, shards of %i) touches at most 2·GROUP_SHARDS shards", (count, shardSize) => {
    for (const [seed, epoch] of [[1, 0], [1, 1], [99, 4]]) {
      const order = epochOrder(seed, epoch, count, shardSize);
      let widest = 0;
      for (let from = 0; from < count; from += 125) {
        widest = Math.max(widest, shardsTouched(order, from, Math.min(count, from + 1000), shardSize));
      }
      expect(widest).toBeLessThanOrEqual(2 * GROUP_SHARDS);
      expect(widest).toBeGreaterThan(1);
    }
  });

  test("the last, partial shard is visited in full", () => {
    const order = epochOrder(3, 0, 10_500, 1000);
    const tail = Array.from(order).filter((i) => i >= 10_000);
    expect(tail.sort((x, y) => x - y)).toEqual(Array.from({ length: 500 }, (_, k) => 10_000 + k));
  });

  test("refuses a count or shard size that is not a positive integer", () => {
    expect(() => epochOrder(1, 0, 0, 1000)).toThrow(/count must be a positive integer/);
    expect(() => epochOrder(1, 0, 10, 0)).toThrow(/shardSize must be a positive integer/);
    expect(() => epochOrder(1, 0, 2.5, 1000)).toThrow(RangeError);
  });
});
