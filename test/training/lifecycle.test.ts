/**
 * What a run leaves behind and how it ends: retention (an ended run keeps its record and model, not its checkpoints
 * or feedback snapshot; storage stays bounded over many runs), the sweep of orphans, and the race between a cancel
 * and the step that finishes the run.
 */
import { env, exports } from "cloudflare:workers";
import { beforeAll, describe, expect, test, vi } from "vitest";
import { encodeShard } from "../../src/data/shards";
import { keys } from "../../src/storage/keys";
import { getModelBlob, getServingRecord, putModel } from "../../src/storage/models";
import { getRecord, updateRecord } from "../../src/storage/runs";
import { encodeModel } from "../../src/nn/model-codec";
import { processStep } from "../../src/training/consumer";
import { watchdog } from "../../src/training/cron";
import { initialCheckpoint } from "../../src/training/plan";
import { ENDED, type RunRecord } from "../../src/training/record";
import { finishRun, startRun } from "../../src/training/runs";
import { RunSpecSchema } from "../../src/training/spec";
import { sweep, SWEEP_GRACE_MS } from "../../src/training/sweep";
import { storeMnist } from "../helpers/mnist";

const spec = RunSpecSchema.parse({ dataset: "mnist", layers: [784, 8, 10], optimizer: { name: "adam", learningRate: 0.003 }, batchSize: 50, epochs: 2, promote: "always" });
const ADMIN = { authorization: "Bearer test-admin-token" };

const record = async (id: string) => (await getRecord<RunRecord>(env.STORE_BUCKET, id))!.record;
const waitForEnd = (id: string) =>
  vi.waitUntil(async () => {
    const r = await record(id);
    return ENDED.includes(r.status) && r.promoted !== null ? r : ENDED.includes(r.status) && r.status !== "succeeded" ? r : false;
  }, { timeout: 60_000, interval: 50 });

/** Keys under a prefix. */
async function keysUnder(prefix: string): Promise<string[]> {
  const out: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await env.STORE_BUCKET.list({ prefix, cursor });
    out.push(...page.objects.map((o) => o.key));
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return out;
}

const cancel = (id: string) => exports.default.fetch(`http://edgeprop/v1/runs/${id}/cancel`, { method: "POST", headers: ADMIN });

beforeAll(async () => {
  await storeMnist("mnist", 600, 200);
});

describe("retention", () => {
  test("a succeeded run keeps its record and model; its checkpoints are deleted", async () => {
    const run = await startRun(env, spec);
    const done = await waitForEnd(run.id);
    expect(done.step).toBeGreaterThanOrEqual(4); // two epochs, two evaluations: several checkpoints were written
    expect(done).toMatchObject({ status: "succeeded", promoted: true, promotionReason: "promoted" });
    expect(await keysUnder(keys.checkpointPrefix(run.id))).toEqual([]);
    expect(await keysUnder(keys.runPrefix(run.id))).toEqual([keys.runRecord(run.id)]);
    expect(await getModelBlob(env.STORE_BUCKET, done.modelId!)).not.toBeNull();
    expect(await env.STORE_BUCKET.head(keys.activeRun(run.id))).toBeNull();
  });

  test("a cancelled run's checkpoints are deleted, also one a step in flight writes after the cancel", async () => {
    const run = await startRun(env, { ...spec, epochs: 50 });
    await vi.waitUntil(async () => (await record(run.id)).step >= 2, { timeout: 30_000, interval: 20 });
    expect((await cancel(run.id)).status).toBe(200);
    // The step under way when the cancel landed writes its checkpoint and finds the run ended.
    await vi.waitUntil(async () => (await keysUnder(keys.checkpointPrefix(run.id))).length === 0, { timeout: 10_000, interval: 50 });
    await new Promise((r) => setTimeout(r, 300));
    expect(await keysUnder(keys.checkpointPrefix(run.id))).toEqual([]);
    expect((await record(run.id)).status).toBe("cancelled");
  });

  test("storage stays bounded over many runs: each ended run adds its record and its model, nothing else", async () => {
    const before = await keysUnder("");
    const n = 6;
    for (let i = 0; i < n; i++) {
      const run = await startRun(env, { ...spec, epochs: 1, seed: 100 + i, promote: "never" });
      expect((await waitForEnd(run.id)).status).toBe("succeeded");
    }
    const after = await keysUnder("");
    const added = after.filter((k) => !before.includes(k));
    expect(added.filter((k) => k.startsWith("models/"))).toHaveLength(n);
    expect(added.filter((k) => k.endsWith("/record.json"))).toHaveLength(n);
    expect(added).toHaveLength(2 * n);
    expect(after.filter((k) => k.includes("/ckpt/") || k.startsWith(keys.feedbackSnapshotsPrefix) || k.startsWith(keys.activeRunsPrefix))).toEqual([]);
  });
});

describe("the sweep", () => {
  test("deletes leftovers of ended and vanished runs, orphan dataset versions and stale model entries, and nothing else", async () => {
    const ended = await startRun(env, { ...spec, epochs: 1, promote: "never" });
    await waitForEnd(ended.id);
    const shard = encodeShard(Uint8Array.of(1), new Uint8Array(784), 28, 28);
    // Left behind by crashes: a checkpoint and a snapshot of an ended run, and of a run whose record never came.
    await env.STORE_BUCKET.put(keys.checkpoint(ended.id, 9), new Uint8Array(8));
    await env.STORE_BUCKET.put(keys.feedbackSnapshotShard(ended.id, 0), shard);
    await env.STORE_BUCKET.put(keys.checkpoint("run-ghost", 0), new Uint8Array(8));
    await env.STORE_BUCKET.put(keys.feedbackSnapshotShard("run-ghost", 0), shard);
    // A crashed upload of mnist (a version its manifest does not name) and of a dataset that never got a manifest.
    await env.STORE_BUCKET.put(keys.shard("mnist", "v-crashed", "train", 0), shard);
    await env.STORE_BUCKET.put(keys.shard("half", "v1", "train", 0), shard);
    // A model listing whose blob is gone.
    await env.SERVING_KV.put(keys.modelMeta("m-gone"), "", { metadata: { id: "m-gone" } });
    const datasetBefore = await keysUnder(keys.datasetPrefix("mnist"));

    // Fresh orphans without an owner are within the grace period: only the ended run's leftovers go.
    expect(await sweep(env)).toEqual({ checkpoints: 1, snapshots: 1, datasetShards: 0, modelEntries: 1 });
    expect(await keysUnder(keys.checkpointPrefix("run-ghost"))).toHaveLength(1);

    const later = await sweep(env, Date.now() + SWEEP_GRACE_MS + 1000);
    expect(later).toEqual({ checkpoints: 1, snapshots: 1, datasetShards: 2, modelEntries: 0 });
    expect(await keysUnder(keys.checkpointPrefix("run-ghost"))).toEqual([]);
    expect(await keysUnder(keys.feedbackSnapshotsPrefix)).toEqual([]);
    expect(await keysUnder(keys.datasetPrefix("half"))).toEqual([]);
    expect(await keysUnder(keys.datasetPrefix("mnist"))).toEqual(datasetBefore.filter((k) => !k.includes("v-crashed")));
    expect(await env.SERVING_KV.get(keys.modelMeta("m-gone"))).toBeNull();
    // The live dataset still trains.
    expect((await waitForEnd((await startRun(env, { ...spec, epochs: 1, promote: "never" })).id)).status).toBe("succeeded");
  });

  test("POST /v1/cron/sweep runs it (admin)", async () => {
    const res = await exports.default.fetch("http://edgeprop/v1/cron/sweep", { method: "POST", headers: ADMIN });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ checkpoints: 0, snapshots: 0, datasetShards: 0, modelEntries: 0 });
    expect((await exports.default.fetch("http://edgeprop/v1/cron/sweep", { method: "POST" })).status).toBe(401);
  });
});

describe("a cancel racing the step that finishes the run", () => {
  /** A run that never trains (its message is not sent) and a checkpoint that says it is done. */
  async function finishable() {
    const run = await startRun(env, spec, { enqueue: false });
    const ck = { ...initialCheckpoint(spec), phase: "done" as const, evaluations: [{ step: 0, epoch: 1, trainLoss: null, trainAccuracy: null, validationLoss: 1, validationAccuracy: 0.99 }], test: { loss: 1, accuracy: 0.99, count: 10 } };
    return { run, ck };
  }

  test("a cancel answered 200 wins over a finishing step that read the record before it", async () => {
    const { run, ck } = await finishable();
    const servedBefore = (await getServingRecord(env.STORE_BUCKET))?.serving.modelId ?? null;
    const read = await record(run.id); // what the finishing step read
    expect((await cancel(run.id)).status).toBe(200);
    expect(await finishRun(env, read, ck)).toBe("ended");
    const after = await record(run.id);
    expect(after).toMatchObject({ status: "cancelled", modelId: null, promoted: null });
    expect(await getModelBlob(env.STORE_BUCKET, `m-${run.id.slice(4)}`)).toBeNull();
    expect((await getServingRecord(env.STORE_BUCKET))?.serving.modelId ?? null).toBe(servedBefore);
  });

  test("run concurrently, exactly one wins: cancelled and never promoted, or succeeded and the cancel refused", async () => {
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    // One starts, the other 0 to 12 ms later, each way round, so that the cancel lands at many points of the finish.
    for (const offset of [-12, -6, -3, -1, 0, 1, 2, 3, 4, 6, 12]) {
      const { run, ck } = await finishable();
      const read = await record(run.id);
      const [outcome, res] = await Promise.all([
        sleep(Math.max(0, offset)).then(() => finishRun(env, read, ck)),
        sleep(Math.max(0, -offset)).then(() => cancel(run.id)),
      ]);
      const after = await record(run.id);
      const served = (await getServingRecord(env.STORE_BUCKET))?.serving.modelId;
      if (res.status === 200) {
        expect(outcome).toBe("ended");
        expect(after.status).toBe("cancelled");
        expect(served).not.toBe(`m-${run.id.slice(4)}`);
        expect(await getModelBlob(env.STORE_BUCKET, `m-${run.id.slice(4)}`)).toBeNull();
      } else {
        expect(res.status).toBe(409);
        expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/succeeded.*not cancelled|already ended: succeeded/);
        expect(outcome).toBe("succeeded");
        expect(after).toMatchObject({ status: "succeeded", promoted: true });
        expect(served).toBe(after.modelId);
      }
    }
  });

  test("a finish interrupted after its commit is settled by the message's retry or by the watchdog", async () => {
    for (const resume of ["retry", "watchdog"] as const) {
      const { run, ck } = await finishable();
      // The commit happened (model stored, record succeeded), then the isolate died before the promotion.
      const modelId = `m-${run.id.slice(4)}`;
      await putModel(env.STORE_BUCKET, env.SERVING_KV, { id: modelId, layers: spec.layers, loss: spec.loss, validationAccuracy: 0.99, testAccuracy: 0.99, dataset: "mnist", runId: run.id, createdAt: new Date().toISOString() }, encodeModel({ layers: spec.layers, loss: spec.loss, params: ck.params }));
      await updateRecord<RunRecord>(env.STORE_BUCKET, run.id, (r) => ({ ...r, status: "succeeded", modelId, promoted: null }));
      if (resume === "retry") expect(await processStep(env, { runId: run.id, step: 0 })).toBe("finished");
      else await watchdog(env);
      expect(await record(run.id)).toMatchObject({ status: "succeeded", promoted: true, promotionReason: "promoted" });
      expect((await getServingRecord(env.STORE_BUCKET))?.serving.modelId).toBe(modelId);
      expect(await env.STORE_BUCKET.head(keys.activeRun(run.id))).toBeNull();
      expect((await cancel(run.id)).status).toBe(409);
    }
  });
});
