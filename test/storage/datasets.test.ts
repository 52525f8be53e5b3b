import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, test } from "vitest";
import { allShards, DatasetFormatError, SHARD_SIZE } from "../../src/data/shards";
import { clearShardCache, listDatasetNames, loadShard, newDatasetVersion, readManifest, readManifests, SHARD_CACHE_BYTES, SHARD_CACHE_MIN_BYTES, shardCacheFor, writeDataset } from "../../src/storage/datasets";
import { keys } from "../../src/storage/keys";

const bucket = env.STORE_BUCKET;
const shape = { rows: 4, cols: 4, classes: 10 };

/** `n` examples of 4 × 4 whose pixels and labels are known functions of the example index and `salt`. */
function split(n: number, salt: number) {
  const pixels = new Uint8Array(n * 16);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (Math.floor(i / 16) * 31 + (i % 16) + salt) & 0xff;
  const labels = Uint8Array.from({ length: n }, (_, i) => (i * 7 + salt) % 10);
  return { pixels, labels };
}

beforeEach(() => clearShardCache());

describe("writeDataset, readManifest, loadShard", () => {
  test("a dataset of 2 500 + 100 validation + 700 examples is 3 + 1 + 1 shards that load back exactly", async () => {
    const train = split(2600, 1);
    const test_ = split(700, 2);
    const written = await writeDataset(bucket, "synth", "v1", shape, train, test_, 100);
    const manifest = await readManifest(bucket, "synth");
    expect(manifest).toEqual(written);
    expect(manifest).toMatchObject({ name: "synth", version: "v1", rows: 4, cols: 4, classes: 10, train: { count: 2500, shardSize: SHARD_SIZE }, validation: { count: 100 }, test: { count: 700 } });
    expect(manifest!.train.shards.map((s) => s.count)).toEqual([1000, 1000, 500]);
    expect(manifest!.test.shards.map((s) => s.count)).toEqual([700]);
    expect(manifest!.train.shards[2].key).toBe(keys.shard("synth", "v1", "train", 2));
    expect(Date.parse(manifest!.createdAt)).not.toBeNaN();

    for (let s = 0; s < 3; s++) {
      const shard = await loadShard(bucket, manifest!.train, s);
      const to = Math.min(2500, (s + 1) * 1000);
      expect(shard).toMatchObject({ count: to - s * 1000, rows: 4, cols: 4 });
      expect(shard.labels).toEqual(train.labels.subarray(s * 1000, to));
      expect(shard.pixels).toEqual(train.pixels.subarray(s * 16000, to * 16));
    }
    const testShard = await loadShard(bucket, manifest!.test, 0);
    expect(testShard.pixels).toEqual(test_.pixels);
    const validationShard = await loadShard(bucket, manifest!.validation, 0);
    expect(validationShard.labels).toEqual(train.labels.subarray(2500));
    expect(validationShard.pixels).toEqual(train.pixels.subarray(2500 * 16));
  });

  test("loadShard serves a second read from the isolate's cache", async () => {
    const manifest = await writeDataset(bucket, "cached", "v1", shape, split(30, 3), split(10, 4), 1);
    const first = await loadShard(bucket, manifest.train, 0);
    await bucket.delete(manifest.train.shards[0].key);
    expect(await loadShard(bucket, manifest.train, 0)).toBe(first);
    clearShardCache();
    await expect(loadShard(bucket, manifest.train, 0)).rejects.toThrow(/missing from R2/);
    await expect(loadShard(bucket, manifest.train, 5)).rejects.toThrow(RangeError);
  });

  test("loadShard refuses garbage at a shard key, and a valid shard that is not the listed one", async () => {
    const manifest = await writeDataset(bucket, "corrupt", "v1", shape, split(1500, 5), split(10, 6), 1);
    const [a, b] = manifest.train.shards;
    const garbage = new Uint8Array(a.bytes).fill(0x5a);
    await bucket.put(a.key, garbage);
    await expect(loadShard(bucket, manifest.train, 0)).rejects.toThrow(DatasetFormatError);
    await expect(loadShard(bucket, manifest.train, 0)).rejects.toThrow(/bad magic/);

    const flipped = new Uint8Array(await (await bucket.get(b.key))!.arrayBuffer());
    flipped[100] ^= 1;
    await bucket.put(b.key, flipped);
    await expect(loadShard(bucket, manifest.train, 1)).rejects.toThrow(/checksum mismatch/);

    const other = await writeDataset(bucket, "corrupt-other", "v1", shape, split(1500, 9), split(10, 6), 1);
    await bucket.put(b.key, await (await bucket.get(other.train.shards[1].key))!.arrayBuffer());
    await expect(loadShard(bucket, manifest.train, 1)).rejects.toThrow(/not the one its manifest lists/);
  });

  test("writeDataset checks its input before writing anything", async () => {
    await expect(writeDataset(bucket, "bad", "v1", shape, { pixels: new Uint8Array(15), labels: new Uint8Array(1) }, split(1, 0), 1)).rejects.toThrow(/train pixels hold 15 bytes/);
    await expect(writeDataset(bucket, "bad", "v1", shape, split(5, 0), { pixels: new Uint8Array(16), labels: Uint8Array.of(10) }, 1)).rejects.toThrow(/test label 0 is 10/);
    await expect(writeDataset(bucket, "bad", "v1", shape, split(0, 0), split(1, 0), 1)).rejects.toThrow(/no examples/);
    expect((await bucket.list({ prefix: "datasets/bad/" })).objects).toHaveLength(0);
  });

  test("writing a name again switches the manifest, then deletes only the replaced version's shards", async () => {
    const old = await writeDataset(bucket, "swap", "v1", shape, split(1500, 0), split(10, 0), 1);
    const orphan = keys.shard("swap", "crashed", "train", 0);
    await bucket.put(orphan, new Uint8Array(8));
    const now = await writeDataset(bucket, "swap", "v2", shape, split(10, 1), split(10, 1), 1);
    expect((await readManifest(bucket, "swap"))!.version).toBe("v2");
    for (const s of allShards(old)) expect(await bucket.head(s.key)).toBeNull();
    for (const s of allShards(now)) expect(await bucket.head(s.key)).not.toBeNull();
    // Another upload's shards (here: one that crashed) are never swept: it could still be in progress.
    expect(await bucket.head(orphan)).not.toBeNull();
  });

  test("a version's shards are never overwritten: reusing a version id is refused", async () => {
    await writeDataset(bucket, "reuse", "v1", shape, split(10, 0), split(10, 0), 1);
    await expect(writeDataset(bucket, "reuse", "v1", shape, split(20, 1), split(10, 0), 1)).rejects.toThrow(/already exists/);
    expect((await readManifest(bucket, "reuse"))!.train.count).toBe(9);
  });

  test("readManifest: null for an unknown dataset; a broken manifest is an error, not a dataset", async () => {
    expect(await readManifest(bucket, "nowhere")).toBeNull();
    await bucket.put(keys.datasetManifest("broken"), "{ not json");
    await expect(readManifest(bucket, "broken")).rejects.toThrow(/not valid JSON/);
    const good = await writeDataset(bucket, "tampered", "v1", shape, split(10, 0), split(10, 0), 1);
    await bucket.put(keys.datasetManifest("tampered"), JSON.stringify({ ...good, checksum: good.checksum ^ 1 }));
    await expect(readManifest(bucket, "tampered")).rejects.toThrow(/checksum .* does not match/);
    await bucket.put(keys.datasetManifest("tampered"), JSON.stringify({ ...good, train: { ...good.train, count: 11 } }));
    await expect(readManifest(bucket, "tampered")).rejects.toThrow(/hold 9 examples, train.count says 11/);
    await bucket.delete([keys.datasetManifest("broken"), keys.datasetManifest("tampered")]);
  });
});

describe("listDatasetNames and readManifests", () => {
  test("lists datasets whose manifest exists and skips one with shards only", async () => {
    await writeDataset(bucket, "listed-b", "v1", shape, split(10, 0), split(10, 0), 1);
    await writeDataset(bucket, "listed-a", newDatasetVersion(), shape, split(1001, 0), split(3, 0), 1);
    await bucket.put(keys.shard("unlisted", "v1", "train", 0), new Uint8Array(40));
    const names = (await readManifests(bucket, await listDatasetNames(bucket))).map((m) => m.name);
    expect(names).toContain("listed-a");
    expect(names).toContain("listed-b");
    expect(names).not.toContain("unlisted");
    expect(names.indexOf("listed-a")).toBeLessThan(names.indexOf("listed-b"));
  });

  test("sorts by name and leaves out a damaged manifest without hiding the others", async () => {
    await writeDataset(bucket, "sort", "v1", shape, split(10, 0), split(10, 0), 1);
    await writeDataset(bucket, "sort-more", "v1", shape, split(10, 0), split(10, 0), 1);
    await bucket.put(keys.datasetManifest("sort-damaged"), "{}");
    const names = (await readManifests(bucket, await listDatasetNames(bucket))).map((m) => m.name);
    expect(names.filter((n) => n.startsWith("sort"))).toEqual(["sort", "sort-more"]);
    await bucket.delete(keys.datasetManifest("sort-damaged"));
  });

  test("newDatasetVersion is key-safe and fresh", () => {
    const a = newDatasetVersion();
    expect(a).toMatch(/^[a-z0-9-]+$/);
    expect(newDatasetVersion()).not.toBe(a);
  });
});

describe("the shard cache's capacity", () => {
  test("is what a step leaves of its budget, between the least and the most it keeps", () => {
    const MB = 1024 * 1024;
    expect(shardCacheFor(100 * MB, 11 * MB)).toBe(SHARD_CACHE_BYTES); // 784-300-10's step: the cap, 64 MB
    expect(shardCacheFor(100 * MB, 62 * MB)).toBe(38 * MB); // 784-1000-500-10's
    expect(shardCacheFor(100 * MB, 95 * MB)).toBe(SHARD_CACHE_MIN_BYTES);
    shardCacheFor(100 * MB, 0);
  });
});
