/**
 * Deleting models, runs and datasets over HTTP (admin) with their refusals, and what may be served: promotion refuses
 * a model that does not fit the served dataset, imports refuse weights whose float32 forward pass could overflow.
 */
import { env, exports } from "cloudflare:workers";
import { beforeAll, describe, expect, test, vi } from "vitest";
import { randInitialize } from "../../src/nn/init";
import { createLayout } from "../../src/nn/layout";
import { seedRng } from "../../src/nn/random";
import { keys } from "../../src/storage/keys";
import { getRecord } from "../../src/storage/runs";
import { ENDED, type RunRecord } from "../../src/training/record";
import { storeMnist } from "../helpers/mnist";

const ADMIN = { "content-type": "application/json", authorization: "Bearer test-admin-token" };

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = ADMIN): Promise<{ status: number; body: any }> {
  const res = await exports.default.fetch(`http://edgeprop${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

function randomParams(layers: number[], seed: number): number[] {
  const layout = createLayout(layers);
  const p = new Float64Array(layout.count);
  randInitialize(layout, seedRng(seed), p);
  return Array.from(p);
}

async function importModel(layers: number[], seed = 1, params = randomParams(layers, seed)): Promise<string> {
  const res = await call("POST", "/v1/models", { layers, loss: "softmax", params });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id;
}

async function keysUnder(prefix: string): Promise<string[]> {
  return (await env.STORE_BUCKET.list({ prefix })).objects.map((o) => o.key);
}

const waitForEnd = (id: string) =>
  vi.waitUntil(async () => {
    const r = (await getRecord<RunRecord>(env.STORE_BUCKET, id))!.record;
    return ENDED.includes(r.status) && r.promoted !== null ? r : false;
  }, { timeout: 60_000, interval: 50 });

const RUN = { dataset: "mnist", layers: [784, 6, 10], optimizer: { name: "adam" }, batchSize: 50, epochs: 1, promote: "never" };

beforeAll(async () => {
  await storeMnist("mnist", 500, 200);
});

describe("promotion and imports: only what fits and stays finite is served", () => {
  test("a model whose input size or classes do not fit the served dataset → 409 naming the mismatch", async () => {
    const tiny = await importModel([2, 2, 2]);
    const res = await call("POST", `/v1/models/${tiny}/promote`);
    expect(res.status).toBe(409);
    expect(res.body.error).toMatchObject({ code: "shape_mismatch", message: expect.stringMatching(/layers 2-2-2 do not fit the served dataset "mnist": input size 2 is not 784, 2 classes are not 10/) });
    const five = await importModel([784, 4, 5]);
    expect((await call("POST", `/v1/models/${five}/promote`)).body.error.message).toMatch(/5 classes are not 10$/);
    const fits = await importModel([784, 4, 10]);
    expect(await call("POST", `/v1/models/${fits}/promote`)).toMatchObject({ status: 200, body: { servingModelId: fits } });
  });

  test("weights that could overflow float32 → 400 naming the unit; large but safe weights import and predict", async () => {
    const big = randomParams([2, 2, 2], 3).map((v) => v * 3e38);
    const res = await call("POST", "/v1/models", { layers: [2, 2, 2], params: big });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/weights could overflow float32: unit \d of layer \d can reach \|z\| = /);
    const safe = randomParams([2, 2, 2], 3).map((v) => v * 1e37);
    const id = await importModel([2, 2, 2], 3, safe);
    const predicted = await call("POST", "/v1/predict", { image: [1, 1], model: id }, { "content-type": "application/json" });
    expect(predicted.status).toBe(200);
    expect(predicted.body.predictions[0].probabilities.every(Number.isFinite)).toBe(true);
  });
});

describe("DELETE /v1/models/:id", () => {
  test("deletes a model that is not served; the served one → 409; unknown → 404; no token → 401", async () => {
    const served = await importModel([784, 3, 10], 4);
    const other = await importModel([784, 3, 10], 5);
    expect((await call("POST", `/v1/models/${served}/promote`)).status).toBe(200);
    expect(await call("DELETE", `/v1/models/${served}`)).toMatchObject({ status: 409, body: { error: { code: "model_served" } } });
    expect((await call("DELETE", `/v1/models/${other}`, undefined, {})).status).toBe(401);
    expect(await call("DELETE", `/v1/models/${other}`)).toEqual({ status: 200, body: { deleted: other } });
    expect((await call("GET", `/v1/models/${other}`)).status).toBe(404);
    expect((await call("GET", "/v1/models")).body.models.map((m: { id: string }) => m.id)).not.toContain(other);
    expect(await env.STORE_BUCKET.head(keys.model(other))).toBeNull();
    expect((await call("DELETE", `/v1/models/${other}`)).status).toBe(404);
    expect((await call("POST", "/v1/predict", { image: new Array(784).fill(0), model: other }, { "content-type": "application/json" })).status).toBe(404);
  });
});

describe("DELETE /v1/runs/:id and DELETE /v1/datasets/:name", () => {
  test("an active run → 409 for the run and its dataset; once ended, the run goes and its model stays", async () => {
    await storeMnist("busy", 300, 100);
    const started = await call("POST", "/v1/runs", { ...RUN, dataset: "busy", epochs: 30 });
    expect(started.status).toBe(202);
    const id = started.body.id;
    expect(await call("DELETE", `/v1/runs/${id}`)).toMatchObject({ status: 409, body: { error: { code: "run_active" } } });
    const busy = await call("DELETE", "/v1/datasets/busy");
    expect(busy).toMatchObject({ status: 409, body: { error: { code: "dataset_in_use", message: expect.stringContaining(id) } } });
    expect((await call("POST", `/v1/runs/${id}/cancel`)).status).toBe(200);
    expect(await call("DELETE", `/v1/runs/${id}`)).toEqual({ status: 200, body: { deleted: id } });
    expect((await call("GET", `/v1/runs/${id}`)).status).toBe(404);
    expect(await keysUnder(keys.runPrefix(id))).toEqual([]);
    expect((await call("DELETE", `/v1/runs/${id}`)).status).toBe(404);

    const done = await waitForEnd((await call("POST", "/v1/runs", RUN)).body.id);
    expect(await call("DELETE", `/v1/runs/${done.id}`)).toEqual({ status: 200, body: { deleted: done.id } });
    expect((await call("GET", `/v1/models/${done.modelId}`)).status).toBe(200);
  });

  test("a dataset no run uses is deleted with its shards; unknown → 404; no token → 401", async () => {
    await storeMnist("other", 300, 100);
    expect((await call("DELETE", "/v1/datasets/other", undefined, {})).status).toBe(401);
    expect(await call("DELETE", "/v1/datasets/other")).toEqual({ status: 200, body: { deleted: "other" } });
    expect(await keysUnder(keys.datasetPrefix("other"))).toEqual([]);
    expect((await call("GET", "/v1/datasets/other")).status).toBe(404);
    expect((await call("DELETE", "/v1/datasets/other")).status).toBe(404);
    expect((await call("POST", "/v1/runs", { ...RUN, dataset: "other" })).status).toBe(404);
  });
});

describe("a cancel says whether it cancelled", () => {
  test("200 with the cancelled run the first time; 409 naming the status after", async () => {
    const id = (await call("POST", "/v1/runs", { ...RUN, epochs: 30 })).body.id;
    expect(await call("POST", `/v1/runs/${id}/cancel`)).toMatchObject({ status: 200, body: { id, status: "cancelled" } });
    expect(await call("POST", `/v1/runs/${id}/cancel`)).toMatchObject({ status: 409, body: { error: { code: "run_ended", message: expect.stringMatching(/already ended: cancelled/) } } });
  });
});
