/**
 * Nothing lost, nothing applied twice: duplicated, failing and replayed messages through the real local queue
 * leave the final weights identical, byte for byte, to an undisturbed run of the same spec; the dead-letter
 * queue, the watchdog and the scheduled run.
 */
import { createExecutionContext, createMessageBatch, createScheduledController, getQueueResult, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, test, vi } from "vitest";
import worker from "../../src";
import type { TrainMessage } from "../../src/env";
import { decodeModel } from "../../src/nn/model-codec";
import { clearShardCache, readManifest } from "../../src/storage/datasets";
import { keys } from "../../src/storage/keys";
import { getModelBlob, getServingRecord, setServing } from "../../src/storage/models";
import { getDelivery, getRecord } from "../../src/storage/runs";
import { SCHEDULED_NAME, startScheduledRun, watchdog } from "../../src/training/cron";
import type { RunRecord } from "../../src/training/record";
import { startRun } from "../../src/training/runs";
import { RunSpecSchema } from "../../src/training/spec";
import { storeMnist } from "../helpers/mnist";

const spec = RunSpecSchema.parse({
  dataset: "mnist-r", layers: [784, 24, 10], optimizer: { name: "momentum", learningRate: 0.1 },
  batchSize: 50, epochs: 2, seed: 5, promote: "never",
});

const record = async (id: string) => (await getRecord<RunRecord>(env.STORE_BUCKET, id))!.record;

async function waitForEnd(id: string): Promise<RunRecord> {
  return vi.waitUntil(async () => {
    const r = await record(id);
    return ["failed", "diverged", "cancelled"].includes(r.status) || (r.status === "succeeded" && r.promoted !== null) ? r : false;
  }, { timeout: 60_000, interval: 50 });
}

async function finalWeights(r: RunRecord): Promise<Uint8Array> {
  expect(r.status).toBe("succeeded");
  const params = decodeModel((await getModelBlob(env.STORE_BUCKET, r.modelId!))!).params;
  return new Uint8Array(params.buffer, params.byteOffset, params.byteLength);
}

let reference: Uint8Array;
let referenceRun: RunRecord;

beforeAll(async () => {
  await storeMnist("mnist-r", 2000, 500);
  referenceRun = await waitForEnd((await startRun(env, spec)).id);
  reference = await finalWeights(referenceRun);
});

describe("exactly once, whatever the queue does", () => {
  test("the undisturbed run took several steps and saw each example once per epoch", () => {
    expect(referenceRun.step).toBeGreaterThanOrEqual(6);
    expect(referenceRun.examplesSeen).toBe(2 * 2000);
  });

  test("duplicated messages, a step that throws once and replayed old messages change nothing", async () => {
    // Make the first evaluation step fail once: remove a validation shard until the failure is recorded.
    const manifest = (await readManifest(env.STORE_BUCKET, "mnist-r"))!;
    const shardKey = manifest.validation.shards[0].key;
    const shardBytes = await (await env.STORE_BUCKET.get(shardKey))!.arrayBuffer();
    await env.STORE_BUCKET.delete(shardKey);
    clearShardCache();

    const run = await startRun(env, spec);
    await env.TRAIN_QUEUE.sendBatch([0, 0, 0].map((step) => ({ body: { runId: run.id, step } })));
    const failed = await vi.waitUntil(async () => {
      const r = await record(run.id);
      return r.lastError !== null ? r : false;
    }, { timeout: 30_000, interval: 50 });
    expect(failed.lastError!.message).toMatch(/missing from R2/);
    expect(failed.status).toBe("running");
    await env.TRAIN_QUEUE.sendBatch([0, 1, 1, 2].map((step) => ({ body: { runId: run.id, step } })));
    await env.STORE_BUCKET.put(shardKey, shardBytes);

    const done = await waitForEnd(run.id);
    expect(done.examplesSeen).toBe(2 * 2000);
    expect(done.step).toBe(referenceRun.step);
    expect(await finalWeights(done)).toEqual(reference);
    // Replays after the end are ignored.
    await env.TRAIN_QUEUE.sendBatch([1, done.step].map((step) => ({ body: { runId: run.id, step } })));
    await new Promise((r) => setTimeout(r, 300));
    expect((await record(run.id)).updatedAt).toBe(done.updatedAt);
  });

  test("cutting the run into steps of another size gives the same weights", async () => {
    const run = await startRun({ ...env, STEP_WORK: "7e7" }, spec);
    expect(run.plan.examplesPerStep).toBeGreaterThan(referenceRun.plan.examplesPerStep);
    const done = await waitForEnd(run.id);
    expect(done.step).toBeLessThan(referenceRun.step);
    expect(await finalWeights(done)).toEqual(reference);
  });
});

describe("augmented runs, with a learning-rate schedule", () => {
  const augmented = RunSpecSchema.parse({
    ...spec, augment: { rotate: 15, shear: 15, scale: 0.15, translate: 2, elastic: { alpha: 34, sigma: 4 } }, augmentEpochs: 1, lrDecay: 0.8,
  });

  test("give the same weights bit for bit however they are cut into steps, duplicated and retried, and differ from the plain run", async () => {
    const a = await waitForEnd((await startRun(env, augmented)).id);
    const weights = await finalWeights(a);
    expect(weights).not.toEqual(reference);
    expect(a.examplesSeen).toBe(2 * 2000);

    // Another step size, duplicated and replayed messages, and a step that fails once (a training shard missing).
    const manifest = (await readManifest(env.STORE_BUCKET, "mnist-r"))!;
    const shardKey = manifest.train.shards[1].key;
    const shardBytes = await (await env.STORE_BUCKET.get(shardKey))!.arrayBuffer();
    await env.STORE_BUCKET.delete(shardKey);
    clearShardCache();
    const run = await startRun({ ...env, STEP_WORK: "7e7" }, augmented);
    expect(run.plan.examplesPerStep).not.toBe(a.plan.examplesPerStep);
    await env.TRAIN_QUEUE.sendBatch([0, 0].map((step) => ({ body: { runId: run.id, step } })));
    await vi.waitUntil(async () => (await record(run.id)).lastError !== null, { timeout: 30_000, interval: 50 });
    await env.TRAIN_QUEUE.sendBatch([0, 1, 1].map((step) => ({ body: { runId: run.id, step } })));
    await env.STORE_BUCKET.put(shardKey, shardBytes);
    const b = await waitForEnd(run.id);
    expect(b.step).not.toBe(a.step);
    expect(await finalWeights(b)).toEqual(weights);
    // The validation and test figures are of unaugmented examples: the same model measures the same.
    const measured = (r: RunRecord) => r.evaluations.map((e) => [e.validationLoss, e.validationAccuracy]);
    expect(measured(b)).toEqual(measured(a));
    expect(b.test).toEqual(a.test);
  });
});

describe("cg evaluations that span steps", () => {
  test("give the same weights as whole evaluations in one step", async () => {
    const cg = RunSpecSchema.parse({ dataset: "mnist-r", layers: [784, 12, 10], loss: "sigmoid", optimizer: { name: "cg", iterations: 6 }, lambda: 1, init: 0.12, evalEvery: 3, promote: "never" });
    const whole = await startRun({ ...env, STEP_WORK: "1e9" }, cg);
    const spanning = await startRun({ ...env, STEP_WORK: "1e7" }, cg);
    expect(whole.plan.evalsPerStep).toBeGreaterThanOrEqual(1);
    expect(spanning.plan).toMatchObject({ evalsPerStep: 0, examplesPerStep: 1000 });
    const [a, b] = await Promise.all([waitForEnd(whole.id), waitForEnd(spanning.id)]);
    expect(b.step).toBeGreaterThan(a.step);
    expect(b.history.map((h) => h.loss)).toEqual(a.history.map((h) => h.loss));
    expect(await finalWeights(b)).toEqual(await finalWeights(a));
  });
});

describe("the handler, fed batches directly", () => {
  test("a failing step is retried (not acked) and its failure recorded first", async () => {
    const run = await startRun(env, spec, { enqueue: false });
    await env.STORE_BUCKET.delete(keys.checkpoint(run.id, 0));
    await env.STORE_BUCKET.put(keys.checkpoint(run.id, 0), new Uint8Array([1, 2, 3]));
    const batch = createMessageBatch<TrainMessage>("edgeprop-train", [{ id: "m1", timestamp: new Date(), attempts: 1, body: { runId: run.id, step: 0 } }]);
    const ctx = createExecutionContext();
    await worker.queue(batch, env, ctx);
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks).toEqual([]);
    expect(result.retryMessages).toEqual([expect.objectContaining({ msgId: "m1" })]);
    expect((await record(run.id)).lastError).toMatchObject({ step: 0, attempts: 1, message: expect.stringMatching(/CheckpointFormatError/) });
  });

  test("a step sent to the dead-letter queue marks the run failed with the reason", async () => {
    const run = await startRun(env, spec, { enqueue: false });
    const ctx = createExecutionContext();
    const fail = createMessageBatch<TrainMessage>("edgeprop-train", [{ id: "a", timestamp: new Date(), attempts: 6, body: { runId: run.id, step: 0 } }]);
    await env.STORE_BUCKET.put(keys.checkpoint(run.id, 0), new Uint8Array([9]));
    await worker.queue(fail, env, ctx);
    const dead = createMessageBatch<TrainMessage>("edgeprop-train-dlq", [{ id: "b", timestamp: new Date(), attempts: 1, body: { runId: run.id, step: 0 } }]);
    await worker.queue(dead, env, ctx);
    expect((await getQueueResult(dead, ctx)).explicitAcks).toEqual(["b"]);
    const r = await record(run.id);
    expect(r.status).toBe("failed");
    expect(r.error).toMatch(/step 0 failed after its retries: CheckpointFormatError/);
    expect(await env.STORE_BUCKET.head(keys.activeRun(run.id))).toBeNull();
  });
});

describe("cron", () => {
  test("the watchdog revives a run whose message was dropped", async () => {
    const run = await startRun(env, spec, { enqueue: false });
    expect((await watchdog(env)).revived).not.toContain(run.id); // not stalled yet
    const { revived } = await watchdog(env, Date.now() + 301_000);
    expect(revived).toContain(run.id);
    expect(await finalWeights(await waitForEnd(run.id))).toEqual(reference);
  });

  test("a run that makes no progress however often it is revived is marked failed", async () => {
    const run = await startRun(env, spec, { enqueue: false });
    await env.STORE_BUCKET.delete(keys.checkpoint(run.id, 0));
    let now = Date.now();
    for (let i = 0; i < 3; i++) {
      now += 301_000;
      expect((await watchdog(env, now)).revived).toContain(run.id);
      // The consumer picks the re-send up (and finds no checkpoint to apply): a step that fails, not a queue that stalls.
      const before = (await record(run.id)).resends!.at(-1)!.lastDelivery;
      await vi.waitUntil(async () => ((await getDelivery(env.STORE_BUCKET, run.id))?.at ?? null) !== before, { timeout: 10_000, interval: 20 });
    }
    now += 301_000;
    const pass = await watchdog(env, now);
    expect(pass).toMatchObject({ failed: [run.id], wedged: [] });
    expect(await record(run.id)).toMatchObject({ status: "failed", error: expect.stringMatching(/stalled: no progress at step 0 after 3 re-sends/) });
  });

  test("the scheduled handler starts the configured run once, not again while it is active", async () => {
    const configured = { ...env, SCHEDULED_RUN_SPEC: JSON.stringify({ dataset: "mnist-r", layers: [784, 8, 10], optimizer: { name: "adam" }, epochs: 1, promote: "never" }) };
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron: "0 3 * * *", scheduledTime: Date.now() }), configured, ctx);
    await waitOnExecutionContext(ctx);
    const again = await startScheduledRun(configured);
    expect(again.started).toBeNull();
    expect(again.reason).toMatch(new RegExp(`of "${SCHEDULED_NAME}" is still`));
    const ids = (await env.STORE_BUCKET.list({ prefix: "runs-active/" })).objects.map((o) => o.key.slice("runs-active/".length));
    const scheduled = (await Promise.all(ids.map(record))).filter((r) => r.name === SCHEDULED_NAME);
    expect(scheduled).toHaveLength(1);
    const done = await waitForEnd(scheduled[0].id);
    expect(done.status).toBe("succeeded");
    const next = await startScheduledRun(configured);
    expect(next.started).toMatch(/^run-/);
  });

  test("the watchdog brings a stale KV serving pointer in line with R2", async () => {
    const current = await getServingRecord(env.STORE_BUCKET);
    expect(await setServing(env.STORE_BUCKET, env.SERVING_KV, { modelId: "m-truth", validationAccuracy: 0.9, testAccuracy: 0.9, promotedAt: new Date().toISOString() }, current?.etag ?? null)).toBe(true);
    await env.SERVING_KV.put("serving", "m-stale");
    expect((await watchdog(env)).servingPointerFixed).toBe(true);
    expect(await env.SERVING_KV.get("serving")).toBe("m-truth");
    expect((await watchdog(env)).servingPointerFixed).toBe(false);
  });

  test("no or an invalid scheduled spec starts nothing", async () => {
    expect((await startScheduledRun(env)).reason).toMatch(/no SCHEDULED_RUN_SPEC/);
    expect((await startScheduledRun({ ...env, SCHEDULED_RUN_SPEC: "{" })).reason).toMatch(/not JSON/);
    expect((await startScheduledRun({ ...env, SCHEDULED_RUN_SPEC: '{"layers":[784,8,10]}' })).reason).toMatch(/invalid: optimizer/);
  });
});

describe("the cron jobs over HTTP (admin)", () => {
  test("POST /v1/cron/watchdog and /v1/cron/training answer with what they did; no token → 401", async () => {
    const { exports } = await import("cloudflare:workers");
    const auth = { authorization: "Bearer test-admin-token" };
    const w = await exports.default.fetch("http://edgeprop/v1/cron/watchdog", { method: "POST", headers: auth });
    expect(w.status).toBe(200);
    expect(await w.json()).toMatchObject({ revived: expect.any(Array), failed: expect.any(Array) });
    const t = await exports.default.fetch("http://edgeprop/v1/cron/training", { method: "POST", headers: auth });
    expect(await t.json()).toMatchObject({ started: null, reason: expect.stringMatching(/no SCHEDULED_RUN_SPEC/) });
    expect((await exports.default.fetch("http://edgeprop/v1/cron/watchdog", { method: "POST" })).status).toBe(401);
  });
});
