/** Runs from POST /v1/runs to a served model, through the real local queue, R2 and KV. */
import { env, exports } from "cloudflare:workers";
import type { InferRequestType, InferResponseType } from "hono/client";
import { beforeAll, describe, expect, test, vi } from "vitest";
import { EdgepropError, ok, type EdgepropClient } from "../../src/client";
import { decodeModel } from "../../src/nn/model-codec";
import { getModelBlob } from "../../src/storage/models";
import { ENDED } from "../../src/training/record";
import { TEST_ADMIN_TOKEN, workerClient } from "../helpers/api";
import { storeMnist } from "../helpers/mnist";

const ADMIN = { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, "content-type": "application/json" };
const api = workerClient(TEST_ADMIN_TOKEN);

type Run = InferResponseType<EdgepropClient["v1"]["runs"][":id"]["$get"], 200>;
type RunSpec = InferRequestType<EdgepropClient["v1"]["runs"]["$post"]>["json"];

/** POST /v1/runs with any body, as it is sent (the validation tests send invalid ones). */
async function postRun(spec: unknown): Promise<Response> {
  return exports.default.fetch("http://edgeprop/v1/runs", { method: "POST", headers: ADMIN, body: JSON.stringify(spec) });
}

const startRun = (spec: RunSpec) => ok(api.v1.runs.$post({ json: spec }));
const getRun = (id: string) => ok(api.v1.runs[":id"].$get({ param: { id } }));
const servingModelId = async () => (await ok(api.healthz.$get())).servingModelId;

async function waitForEnd(id: string, timeout = 90_000): Promise<Run> {
  return vi.waitUntil(async () => {
    const r = await getRun(id);
    return ENDED.includes(r.status) && !(r.status === "succeeded" && r.promoted === null) ? r : false;
  }, { timeout, interval: 100 });
}

beforeAll(async () => {
  await storeMnist("mnist-mini", 3000, 1000);
});

describe("a small run through the queue", () => {
  let run: Run; // as POST /v1/runs answered
  let done: Run; // as it ended
  beforeAll(async () => {
    const res = await api.v1.runs.$post({ json: { dataset: "mnist-mini", layers: [784, 32, 10], loss: "softmax", optimizer: { name: "adam", learningRate: 0.003 }, batchSize: 50, epochs: 2, seed: 11 } });
    expect(res.status).toBe(202);
    run = await ok(res);
    done = await waitForEnd(run.id);
  });

  test("POST /v1/runs answers 202 with the queued run", () => {
    expect(run).toMatchObject({ status: "queued", step: 0, dataset: { name: "mnist-mini" } });
    expect(run.plan).toMatchObject({ trainCount: 3000, validationCount: 1000, testCount: 1000 });
  });

  test("it succeeds, with its history, validation curve, one test measurement and a promoted model", async () => {
    expect(done.status).toBe("succeeded");
    expect(done.progress).toBe(1);
    expect(done.step).toBeGreaterThan(4); // 3000 examples in steps of ~785, two epochs, evaluations, done
    expect(done.evaluations).toHaveLength(2);
    const last = done.evaluations[1];
    expect(last.validationAccuracy).toBeGreaterThan(0.8);
    expect(done.validationAccuracy).toBe(last.validationAccuracy);
    // The test set is measured once, after the last validation, and only reported.
    expect(done.test).toMatchObject({ count: 1000 });
    expect(done.test!.accuracy).toBeGreaterThan(0.8);
    expect(last.trainAccuracy).toBeGreaterThan(0.8);
    expect(done.history.length).toBeGreaterThan(2);
    expect(done.history.every((h) => Number.isFinite(h.loss) && typeof h.at === "string")).toBe(true);
    expect(done.throughput).toBeGreaterThan(0);
    expect(done.promoted).toBe(true);

    const models = await ok(api.v1.models.$get({ query: {} }));
    expect(models.servingModelId).toBe(done.modelId);
    expect(models.models.find((m) => m.id === done.modelId)).toMatchObject({ validationAccuracy: last.validationAccuracy, testAccuracy: done.test!.accuracy });
    const one = await ok(api.v1.models[":id"].$get({ param: { id: done.modelId! } }));
    expect(one).toMatchObject({ runId: run.id, spec: { layers: [784, 32, 10], seed: 11 } });
    const blob = await getModelBlob(env.STORE_BUCKET, done.modelId!);
    expect(decodeModel(blob!).layers).toEqual([784, 32, 10]);
    expect(await servingModelId()).toBe(done.modelId);
  });

  test("GET /v1/runs lists it without the per-step history", async () => {
    const list = await ok(api.v1.runs.$get({ query: {} }));
    const mine = list.runs.find((r) => r.id === run.id)!;
    expect(mine.status).toBe("succeeded");
    expect(mine).not.toHaveProperty("history");
    expect(mine.steps).toBeGreaterThan(2);
  });

  test("a worse model is not promoted under the default policy", async () => {
    const started = await startRun({ dataset: "mnist-mini", layers: [784, 8, 10], optimizer: { name: "sgd", learningRate: 0.01 }, epochs: 1, seed: 3 });
    const worse = await waitForEnd(started.id);
    expect(worse.status).toBe("succeeded");
    expect(worse.promoted).toBe(false);
    expect(worse.promotionReason).toMatch(/^validation accuracy [0-9.]+% does not beat the served m-.*'s [0-9.]+%$/);
    expect(await servingModelId()).toBe(done.modelId);
  });
});

describe("the course's network with cg through the chain", () => {
  test("784-25-10, sigmoid loss, λ = 1, fmincg on 1 000 digits", async () => {
    const started = await startRun({ dataset: "mnist-mini", layers: [784, 25, 10], loss: "sigmoid", optimizer: { name: "cg", iterations: 8 }, lambda: 1, trainLimit: 1000, init: 0.12, evalEvery: 4, promote: "never" });
    const done = await waitForEnd(started.id);
    expect(done.status).toBe("succeeded");
    expect(done.evaluations.length).toBe(2);
    const costs = done.history.map((h) => h.loss);
    expect(costs.length).toBe(8);
    for (let i = 1; i < costs.length; i++) expect(costs[i]).toBeLessThan(costs[i - 1]);
    expect(done.evaluations[1].validationAccuracy).toBeGreaterThan(0.6);
    expect(done.test!.accuracy).toBeGreaterThan(0.6);
    expect(done.promoted).toBe(false);
  });
});

describe("failures", () => {
  test("an absurd learning rate ends diverged and changes nothing served", async () => {
    const before = await servingModelId();
    const started = await startRun({ dataset: "mnist-mini", layers: [784, 16, 10], optimizer: { name: "sgd", learningRate: 1e9 }, epochs: 1, promote: "always" });
    const done = await waitForEnd(started.id);
    expect(done.status).toBe("diverged");
    expect(done.error).toMatch(/exceeds 100× that of guessing|non-finite|became/);
    expect(done.modelId).toBeNull();
    expect(await servingModelId()).toBe(before);
  });

  test("cancel stops a run; cancelling again is 409", async () => {
    const run = await startRun({ dataset: "mnist-mini", layers: [784, 64, 10], optimizer: { name: "momentum", learningRate: 0.1 }, epochs: 50 });
    const cancel = () => ok(api.v1.runs[":id"].cancel.$post({ param: { id: run.id } }));
    expect(await cancel()).toMatchObject({ status: "cancelled" });
    const again = await cancel().catch((e: unknown) => e);
    expect(again).toBeInstanceOf(EdgepropError);
    expect(again).toMatchObject({ status: 409, code: "run_ended" });
    await new Promise((r) => setTimeout(r, 500));
    const later = await getRun(run.id);
    expect(later.status).toBe("cancelled");
    expect(later.step).toBeLessThan(5);
  });
});

describe("POST /v1/runs validation", () => {
  const good = { dataset: "mnist-mini", layers: [784, 16, 10], optimizer: { name: "adam" } };
  test.each([
    ["unknown keys, listed", { ...good, learning_rate: 1, foo: 2 }, 400, /unknown keys "learning_rate", "foo"/],
    ["layers[0] not the dataset's pixels", { ...good, layers: [400, 25, 10] }, 400, /layers\[0\] must be 784/],
    ["last layer not the classes", { ...good, layers: [784, 25, 9] }, 400, /last layer must be 10/],
    ["unknown optimizer", { ...good, optimizer: { name: "rmsprop" } }, 400, /optimizer/],
    ["optimizer without learning rate", { ...good, optimizer: { name: "sgd" } }, 400, /learningRate/],
    ["negative lambda", { ...good, lambda: -1 }, 400, /lambda/],
    ["epochs for cg", { ...good, optimizer: { name: "cg" }, epochs: 3 }, 400, /cg minimizes one fixed cost over the full training set for optimizer.iterations: remove epochs/],
    ["a network too large for cg", { ...good, layers: [784, 1000, 10], optimizer: { name: "cg" } }, 400, /795010 parameters; training with cg in a Worker allows at most 400000/],
    ["a fractional batch size", { ...good, batchSize: 1.5 }, 400, /batchSize/],
    ["a network too large for an isolate", { ...good, layers: [784, 2000, 10] }, 400, /1590010 parameters; training in a Worker allows at most 1500000/],
    ["a missing dataset", { ...good, dataset: "nope" }, 404, /dataset "nope" does not exist/],
  ])("%s", async (_name, spec, status, message) => {
    const res = await postRun(spec);
    expect(res.status).toBe(status);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(message);
  });

  test("admin token required: none → 401, wrong → 403", async () => {
    const body = JSON.stringify(good);
    const none = await exports.default.fetch("http://edgeprop/v1/runs", { method: "POST", headers: { "content-type": "application/json" }, body });
    expect(none.status).toBe(401);
    const wrong = await exports.default.fetch("http://edgeprop/v1/runs", { method: "POST", headers: { ...ADMIN, authorization: "Bearer nope" }, body });
    expect(wrong.status).toBe(403);
  });

  test("admin routes are refused (503) when the Worker has no ADMIN_TOKEN", async () => {
    const { app } = await import("../../src/app");
    const res = await app.fetch(new Request("http://edgeprop/v1/runs", { method: "POST", headers: ADMIN, body: JSON.stringify(good) }), { ...env, ADMIN_TOKEN: undefined });
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ error: { code: "admin_not_configured" } });
  });

  test("unknown run → 404", async () => {
    expect((await exports.default.fetch("http://edgeprop/v1/runs/run-nothing")).status).toBe(404);
  });
});
