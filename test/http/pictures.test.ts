/**
 * What the page draws besides predictions: the examples a run trains on, as stored and as it augments them
 * (GET /v1/runs/:id/augmented), and the real handwriting it measures the served model on (GET /v1/handwriting).
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, test, vi } from "vitest";
import handwriting from "../../data/handwriting/optdigits-a.json";
import { epochOrder } from "../../src/data/batches";
import { createAugmenter } from "../../src/data/distort";
import { loadShard, readManifest } from "../../src/storage/datasets";
import type { RunRecord } from "../../src/training/record";
import { ok } from "../../src/client";
import { TEST_ADMIN_TOKEN, workerClient } from "../helpers/api";
import { storeMnist } from "../helpers/mnist";

const admin = workerClient(TEST_ADMIN_TOKEN);
const anonymous = workerClient();
const AUGMENT = { rotate: 15, shear: 15, scale: 0.15, translate: 2, elastic: { alpha: 34, sigma: 4 } };

const waitForEnd = (id: string) =>
  vi.waitUntil(async () => {
    const r = await ok(anonymous.v1.runs[":id"].$get({ param: { id } }));
    return r.status !== "queued" && r.status !== "running" && r.promoted !== null ? r : false;
  }, { timeout: 60_000, interval: 50 });

let augmented: RunRecord;
let plain: RunRecord;

beforeAll(async () => {
  await storeMnist("mnist-pic", 1200, 100);
  const spec = { dataset: "mnist-pic", layers: [784, 8, 10], optimizer: { name: "adam" as const }, epochs: 1, seed: 9, promote: "never" as const };
  augmented = (await waitForEnd((await ok(admin.v1.runs.$post({ json: { ...spec, augment: AUGMENT } }))).id)) as unknown as RunRecord;
  plain = (await waitForEnd((await ok(admin.v1.runs.$post({ json: spec }))).id)) as unknown as RunRecord;
});

describe("GET /v1/runs/:id/augmented", () => {
  test("the first examples of the epoch's order, as stored and exactly as the run's step augments them", async () => {
    const res = await anonymous.v1.runs[":id"].augmented.$get({ param: { id: augmented.id }, query: { count: "5", epoch: "1" } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Extract<Awaited<ReturnType<typeof res.json>>, { examples: unknown }>;
    expect(body).toMatchObject({ runId: augmented.id, epoch: 1, rows: 28, cols: 28, augment: AUGMENT });
    const order = epochOrder(9, 1, 1200, 1000);
    expect(body.examples.map((e) => e.index)).toEqual(Array.from(order.subarray(0, 5)));
    const manifest = (await readManifest(env.STORE_BUCKET, "mnist-pic"))!;
    const augmenter = createAugmenter(AUGMENT, 28, 28);
    const out = new Float32Array(784);
    for (const e of body.examples) {
      const shard = await loadShard(env.STORE_BUCKET, manifest.train, Math.floor(e.index / 1000));
      const at = (e.index % 1000) * 784;
      expect(e.label).toBe(shard.labels[e.index % 1000]);
      expect(e.original).toEqual(Array.from(shard.pixels.subarray(at, at + 784)));
      augmenter.apply(shard.pixels, at, 9, 1, e.index, out, 0);
      expect(e.augmented).toEqual(Array.from(out, (v) => Math.round(255 * v)));
      expect(e.augmented).not.toEqual(e.original);
    }
  });

  test("a run without augment trains on its examples as they are; bad queries and unknown runs are refused", async () => {
    const body = await ok(anonymous.v1.runs[":id"].augmented.$get({ param: { id: plain.id }, query: {} }));
    expect(body.augment).toBeNull();
    expect(body.examples).toHaveLength(8);
    for (const e of body.examples) expect(e.augmented).toEqual(e.original);
    const tooMany = await anonymous.v1.runs[":id"].augmented.$get({ param: { id: plain.id }, query: { count: "17" } });
    expect(tooMany.status).toBe(400);
    expect(((await tooMany.json()) as unknown as { error: { message: string } }).error.message).toMatch(/count must be an integer in 1..16/);
    expect((await anonymous.v1.runs[":id"].augmented.$get({ param: { id: "run-0mxe1obbb-00000000" }, query: {} })).status).toBe(404);
  });
});

describe("GET /v1/handwriting", () => {
  test("the 899 digits as stored, with their labels and licence, cacheable", async () => {
    const res = await anonymous.v1.handwriting.$get();
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toMatch(/immutable/);
    const body = await res.json();
    expect(body.count).toBe(899);
    expect(body.images).toEqual(handwriting.images);
    expect(body.labels).toEqual(handwriting.labels);
    expect(body.licence).toMatch(/CC BY 4.0/);
  });
});
