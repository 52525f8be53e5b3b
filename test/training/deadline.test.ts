/**
 * No step waits forever: a binding call that never answers is cut with an error naming it (real local R2, a put
 * whose body never ends), and a step that runs past its deadline fails, is recorded and retried, and the run still
 * ends with the weights of an undisturbed one.
 */
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, test, vi } from "vitest";
import type { TrainMessage } from "../../src/env";
import { decodeModel } from "../../src/nn/model-codec";
import { Deadline, DeadlineError } from "../../src/storage/deadline";
import { keys } from "../../src/storage/keys";
import { getModelBlob } from "../../src/storage/models";
import { getDelivery, getRecord } from "../../src/storage/runs";
import { handleBatch, STEP_LIMITS } from "../../src/training/consumer";
import { ENDED, type RunRecord } from "../../src/training/record";
import { startRun } from "../../src/training/runs";
import { RunSpecSchema } from "../../src/training/spec";
import { storeMnist } from "../helpers/mnist";

const spec = RunSpecSchema.parse({ dataset: "mnist-d", layers: [784, 16, 10], optimizer: { name: "adam" }, batchSize: 50, epochs: 1, seed: 3, promote: "never" });

const record = async (id: string) => (await getRecord<RunRecord>(env.STORE_BUCKET, id))!.record;
const waitForEnd = (id: string) =>
  vi.waitUntil(async () => {
    const r = await record(id);
    return ENDED.includes(r.status) ? r : false;
  }, { timeout: 60_000, interval: 50 });
const weights = async (r: RunRecord) => decodeModel((await getModelBlob(env.STORE_BUCKET, r.modelId!))!).params;

beforeAll(async () => {
  await storeMnist("mnist-d", 1000, 200);
});

describe("a Deadline over the real bindings", () => {
  test("an R2 call that never answers is cut at the call limit, with an error naming the call", async () => {
    const body = new FixedLengthStream(8);
    const writer = body.writable.getWriter();
    void writer.write(new Uint8Array(4)); // half the promised bytes, and none of the rest yet: R2 waits for them
    const bound = new Deadline("a probe", { callMs: 200, totalMs: 60_000 }).bind(env);
    const put = bound.STORE_BUCKET.put("probe/never-ends", body.readable);
    await expect(put).rejects.toThrow(DeadlineError);
    await expect(put).rejects.toThrow("R2 put probe/never-ends did not answer within 0.2 s");
    // The call itself goes on (nothing can cancel it): given the rest of its body, it completes unseen.
    await writer.write(new Uint8Array(4));
    await writer.close();
    await vi.waitUntil(async () => (await env.STORE_BUCKET.head("probe/never-ends")) !== null, { timeout: 10_000, interval: 20 });
  });

  test("past the work's own deadline no call is started", async () => {
    const deadline = new Deadline("a probe", { callMs: 60_000, totalMs: 1000 }, Date.now() - 5000);
    await expect(deadline.bind(env).SERVING_KV.put("probe", "x")).rejects.toThrow("KV put probe was not started: a probe is past its 1 s deadline");
    expect(await env.SERVING_KV.get("probe")).toBeNull();
  });

  test("bound bindings answer as the bindings do, R2 bodies included", async () => {
    const bound = new Deadline("a probe", STEP_LIMITS).bind(env);
    await bound.STORE_BUCKET.put("probe/ok.json", JSON.stringify({ a: 1 }));
    expect(await (await bound.STORE_BUCKET.get("probe/ok.json"))!.json()).toEqual({ a: 1 });
    expect((await bound.STORE_BUCKET.head("probe/ok.json"))!.size).toBe(7);
    expect((await bound.STORE_BUCKET.list({ prefix: "probe/" })).objects.map((o) => o.key)).toContain("probe/ok.json");
    await bound.SERVING_KV.put("probe-ok", "1");
    expect(await bound.SERVING_KV.get("probe-ok")).toBe("1");
  });
});

describe("the step's deadline", () => {
  test("a step past its deadline is recorded and retried, and the run ends with the weights of an undisturbed one", async () => {
    const reference = await waitForEnd((await startRun(env, spec)).id);
    expect(reference.status).toBe("succeeded");

    const run = await startRun(env, spec, { enqueue: false });
    const batch = createMessageBatch<TrainMessage>("edgeprop-train", [{ id: "m1", timestamp: new Date(), attempts: 1, body: { runId: run.id, step: 0 } }]);
    const ctx = createExecutionContext();
    vi.spyOn(console, "error").mockImplementation(() => {});
    // A millisecond: no real step (R2 reads, a checkpoint decode, a batch of training, R2 writes) fits in it.
    await handleBatch(batch, env, { callMs: 30_000, totalMs: 1 });
    vi.restoreAllMocks();
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks).toEqual([]);
    expect(result.retryMessages).toEqual([expect.objectContaining({ msgId: "m1" })]);
    const failed = await record(run.id);
    expect(failed.lastError).toMatchObject({ step: 0, attempts: 1, message: expect.stringMatching(/^DeadlineError: .*(did not answer within|past its) .*deadline/) });
    expect(failed.lastError!.message).toContain(`step ${run.id}#0`);
    expect(await env.STORE_BUCKET.head(keys.checkpoint(run.id, 1))).toBeNull();

    await env.TRAIN_QUEUE.send({ runId: run.id, step: 0 }); // the retry, with the Worker's own limits
    const done = await waitForEnd(run.id);
    expect(done.status).toBe("succeeded");
    expect(await weights(done)).toEqual(await weights(reference));
    expect(await getDelivery(env.STORE_BUCKET, run.id)).toBeNull(); // scratch, gone with the checkpoints
  });
});
