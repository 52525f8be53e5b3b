import { describe, expect, test } from "vitest";
import { buildDataset, checkDataset, DatasetInputError, decodeIdxDataset, defaultValidationCount, drainBuild, type ShardObject } from "../../src/data/build";
import { encodeIdx } from "../../src/data/idx";
import { decodeShard, manifestChecksum } from "../../src/data/shards";

const shape = { rows: 2, cols: 3, classes: 4 };
const key = (split: string, i: number) => `${split}/${i}`;

function split(n: number) {
  return { pixels: Uint8Array.from({ length: n * 6 }, (_, i) => i & 0xff), labels: Uint8Array.from({ length: n }, (_, i) => i % 4) };
}

describe("buildDataset", () => {
  test("yields every shard, train, validation (the last training examples given) then test, then the manifest that lists them", () => {
    const train = split(2001 + 7);
    const shards: ShardObject[] = [];
    const manifest = drainBuild(buildDataset("d", "v1", shape, train, split(5), 7, "2026-01-02T03:04:05.000Z", key), (s) => shards.push(s));
    expect(shards.map((s) => s.key)).toEqual(["train/0", "train/1", "train/2", "validation/0", "test/0"]);
    expect(manifest.train.shards.map((s) => s.count)).toEqual([1000, 1000, 1]);
    expect(manifest).toMatchObject({ name: "d", version: "v1", rows: 2, cols: 3, classes: 4, createdAt: "2026-01-02T03:04:05.000Z", train: { count: 2001 }, validation: { count: 7 }, test: { count: 5 } });
    expect(manifest.checksum).toBe(manifestChecksum(manifest));
    // The validation split holds exactly the last 7 training examples given, and no training shard holds them.
    expect(decodeShard(shards[3].bytes).pixels).toEqual(train.pixels.subarray(2001 * 6));
    expect(decodeShard(shards[3].bytes).labels).toEqual(train.labels.subarray(2001));
    for (const s of shards) {
      expect(s.entry.bytes).toBe(s.bytes.length);
      expect(decodeShard(s.bytes).count).toBe(s.entry.count);
    }
    expect(decodeShard(shards[2].bytes).pixels).toEqual(train.pixels.subarray(2000 * 6, 2001 * 6));
  });

  test("the checksum depends on the data only, not on name, version or time", () => {
    const a = drainBuild(buildDataset("a", "v1", shape, split(30), split(3), 2, "t1", key));
    const b = drainBuild(buildDataset("b", "v2", shape, split(30), split(3), 2, "t2", key));
    const c = drainBuild(buildDataset("a", "v1", shape, split(31), split(3), 2, "t1", key));
    expect(b.checksum).toBe(a.checksum);
    expect(c.checksum).not.toBe(a.checksum);
  });

  test("checks its input when called, before the first shard", () => {
    expect(() => buildDataset("d", "v", shape, split(0), split(1), 1, "t", key)).toThrow(/train split has no examples/);
    expect(() => checkDataset({ ...shape, rows: 0 }, split(2), split(1), 1)).toThrow(/rows must be an integer/);
    expect(() => checkDataset({ ...shape, classes: 3 }, split(4), split(1), 1)).toThrow(/train label 3 is 3, outside 0..2/);
    expect(() => checkDataset(shape, split(2), { pixels: new Uint8Array(5), labels: new Uint8Array(1) }, 1)).toThrow(/test pixels hold 5 bytes/);
    expect(() => checkDataset(shape, split(2), split(1), 2)).toThrow(/validation must be an integer in 1..1 \(of the 2 training examples\), got 2/);
    expect(() => checkDataset(shape, split(2), split(1), 0)).toThrow(/validation must be an integer in 1..1/);
  });

  test("defaultValidationCount: the last twelfth, MNIST's classic 5 000 of 60 000", () => {
    expect(defaultValidationCount(60_000)).toBe(5_000);
    expect(defaultValidationCount(1_200)).toBe(100);
    expect(defaultValidationCount(5)).toBe(1);
  });
});

describe("decodeIdxDataset", () => {
  const files = () => ({
    trainImages: encodeIdx([4, 2, 3], new Uint8Array(24).fill(9)),
    trainLabels: encodeIdx([4], Uint8Array.of(0, 1, 2, 3)),
    testImages: encodeIdx([2, 2, 3], new Uint8Array(12).fill(7)),
    testLabels: encodeIdx([2], Uint8Array.of(3, 0)),
  });

  test("decodes the four files into a shape and two splits (views, not copies)", () => {
    const f = files();
    const d = decodeIdxDataset(f, 4);
    expect(d.shape).toEqual({ rows: 2, cols: 3, classes: 4 });
    expect(Array.from(d.train.labels)).toEqual([0, 1, 2, 3]);
    expect(d.test.pixels.buffer).toBe(f.testImages.buffer);
  });

  test.each([
    ["labels ≥ classes", (f: ReturnType<typeof files>) => f, 3, "trainLabels", /label 3 is 3, outside 0..2/],
    ["a truncated file", (f: ReturnType<typeof files>) => ({ ...f, testImages: f.testImages.subarray(0, 20) }), 4, "testImages", /truncated/],
    ["counts that differ", (f: ReturnType<typeof files>) => ({ ...f, testLabels: encodeIdx([3], Uint8Array.of(0, 0, 0)) }), 4, "testLabels", /3 labels, but testImages holds 2 images/],
    ["sizes that differ", (f: ReturnType<typeof files>) => ({ ...f, testImages: encodeIdx([2, 3, 2], new Uint8Array(12)) }), 4, "testImages", /3 × 2, but trainImages are 2 × 3/],
  ])("names the field at fault: %s", (_what, change, classes, field, message) => {
    let error: unknown;
    try {
      decodeIdxDataset(change(files()), classes);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(DatasetInputError);
    expect((error as DatasetInputError).field).toBe(field);
    expect((error as Error).message).toMatch(new RegExp(`^${field}: `));
    expect((error as Error).message).toMatch(message);
  });
});
