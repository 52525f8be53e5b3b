/** Test fixtures: real MNIST digits (from the host, through the test-only HOST_FILES binding) stored as a dataset. */
import { env } from "cloudflare:workers";
import { decodeIdxImages, decodeIdxLabels } from "../../src/data/idx";
import type { DatasetManifest } from "../../src/data/shards";
import { writeDataset } from "../../src/storage/datasets";

async function hostFile(name: string): Promise<Uint8Array> {
  const res = await env.HOST_FILES.fetch(`http://host/mnist/${name}`);
  if (!res.ok) throw new Error(`HOST_FILES: ${name}: ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

/**
 * Writes the first `trainCount` MNIST training digits as dataset `name`'s training split, the next `validationCount`
 * (default: as many as the test digits) as its validation split, and the first `testCount` test digits.
 */
export async function storeMnist(name: string, trainCount: number, testCount: number, validationCount = testCount): Promise<DatasetManifest> {
  const [trI, trL, teI, teL] = await Promise.all([
    hostFile("train-images-idx3-ubyte"), hostFile("train-labels-idx1-ubyte"),
    hostFile("t10k-images-idx3-ubyte"), hostFile("t10k-labels-idx1-ubyte"),
  ]);
  const train = decodeIdxImages(trI);
  const test = decodeIdxImages(teI);
  const given = trainCount + validationCount;
  return writeDataset(
    env.STORE_BUCKET, name, "v1", { rows: 28, cols: 28, classes: 10 },
    { pixels: train.pixels.subarray(0, given * 784), labels: decodeIdxLabels(trL).labels.subarray(0, given) },
    { pixels: test.pixels.subarray(0, testCount * 784), labels: decodeIdxLabels(teL).labels.subarray(0, testCount) },
    validationCount,
  );
}

/** MNIST digits from..from+count of a split, as stored (bytes), with their labels. */
export async function mnistDigits(split: "train" | "t10k", from: number, count: number): Promise<{ pixels: Uint8Array; labels: Uint8Array }> {
  const [images, labels] = await Promise.all([hostFile(`${split}-images-idx3-ubyte`), hostFile(`${split}-labels-idx1-ubyte`)]);
  return {
    pixels: decodeIdxImages(images).pixels.slice(from * 784, (from + count) * 784),
    labels: decodeIdxLabels(labels).labels.slice(from, from + count),
  };
}
