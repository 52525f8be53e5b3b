/** The model registry over HTTP: list, show, export, import (with test accuracy on "mnist") and promote. */
import { env, exports } from "cloudflare:workers";
import { beforeAll, describe, expect, test } from "vitest";
import type { DatasetManifest } from "../../src/data/shards";
import { randInitialize } from "../../src/nn/init";
import { createLayout, type Layout, type Loss } from "../../src/nn/layout";
import { adamCreate, adamStep } from "../../src/nn/optimizers";
import { argmaxRow, costGradient, createWorkspace } from "../../src/nn/network";
import { seedRng } from "../../src/nn/random";
import { MAX_IMPORT_EVAL_WORK } from "../../src/routes/models";
import { loadShard } from "../../src/storage/datasets";
import { getServingId, getServingRecord } from "../../src/storage/models";
import { asNewClient } from "../helpers/client";
import { wasmForward } from "../helpers/forward";
import { storeMnist } from "../helpers/mnist";

const JSON_HEADERS = { "content-type": "application/json" };
const ADMIN = { ...JSON_HEADERS, authorization: "Bearer test-admin-token" };

interface ModelBody { id: string; layers: number[]; loss: Loss; validationAccuracy: number | null; testAccuracy: number | null; dataset: string | null; runId: string | null; createdAt: string; serving: boolean; name?: string | null }
interface WeightsBody { id: string; layers: number[]; loss: Loss; params: number[] }
interface ErrorBody { error: { code: string; message: string } }

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = ADMIN): Promise<{ status: number; body: any }> {
  const res = await exports.default.fetch(`http://edgeprop${path}`, { method, headers: asNewClient(headers), body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

/** Seeded random weights as doubles (not float32 values), as an Octave session would send them. */
function randomParams(layers: number[], seed: number, epsilon: number | "default" = "default"): number[] {
  const layout = createLayout(layers);
  const p = new Float64Array(layout.count);
  randInitialize(layout, seedRng(seed), p, epsilon);
  return Array.from(p);
}

async function importModel(body: Record<string, unknown>): Promise<ModelBody> {
  const res = await call("POST", "/v1/models", body);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as ModelBody;
}

/** Test images of the stored "mnist" dataset as float32 rows (pixels / 255) and their labels. */
async function mnistSplit(manifest: DatasetManifest, split: "train" | "test"): Promise<{ X: Float32Array; y: Uint8Array }> {
  const m = manifest[split];
  const X = new Float32Array(m.count * 784);
  const y = new Uint8Array(m.count);
  for (let s = 0; s < m.shards.length; s++) {
    const shard = await loadShard(env.STORE_BUCKET, m, s);
    for (let i = 0; i < shard.pixels.length; i++) X[s * m.shardSize * 784 + i] = shard.pixels[i] / 255;
    y.set(shard.labels, s * m.shardSize);
  }
  return { X, y };
}

/** A few epochs of Adam with src/nn on the training split: a real, better-than-chance model. */
function train(layout: Layout, X: Float32Array, y: Uint8Array): Float32Array {
  const params = new Float32Array(layout.count);
  randInitialize(layout, seedRng(5), params);
  const adam = adamCreate(params, { learningRate: 0.01 });
  const batch = 50;
  const ws = createWorkspace(layout, batch, Float32Array);
  const grad = new Float32Array(layout.count);
  for (let epoch = 0; epoch < 4; epoch++) {
    for (let b = 0; b + batch <= y.length; b += batch) {
      costGradient(layout, "softmax", params, X.subarray(b * 784), y.subarray(b), batch, 0, grad, ws);
      adamStep(adam, params, grad);
    }
  }
  return params;
}

let mnist: DatasetManifest;
beforeAll(async () => {
  mnist = await storeMnist("mnist", 2000, 10_000);
});

describe("POST /v1/models: import", () => {
  test("answers 201 with the metadata of a fresh m-imp- model, then lists and shows it", async () => {
    const model = await importModel({ layers: [3, 5, 3], loss: "softmax", params: randomParams([3, 5, 3], 1), name: "tiny one" });
    expect(model.id).toMatch(/^m-imp-[0-9a-z]+-[0-9a-f]{8}$/);
    expect(model).toMatchObject({ layers: [3, 5, 3], loss: "softmax", testAccuracy: null, dataset: null, runId: null, serving: false, name: "tiny one" });
    expect(Date.parse(model.createdAt)).toBeGreaterThan(0);
    expect((await call("GET", `/v1/models/${model.id}`)).body).toEqual(model);
    expect(((await call("GET", "/v1/models")).body.models as ModelBody[]).find((m) => m.id === model.id)).toEqual(model);
  });

  test("the loss defaults to the course's sigmoid", async () => {
    expect((await importModel({ layers: [2, 2, 2], params: randomParams([2, 2, 2], 2) })).loss).toBe("sigmoid");
  });

  test("round trip: GET weights returns the same numbers as float32, and predictions are the kernels' forward pass", async () => {
    const layers = [784, 20, 10];
    const sent = randomParams(layers, 3);
    const model = await importModel({ layers, loss: "softmax", params: sent });
    const weights = (await call("GET", `/v1/models/${model.id}/weights`)).body as WeightsBody;
    const f32 = Float32Array.from(sent);
    expect(weights).toEqual({ id: model.id, layers, loss: "softmax", params: Array.from(f32) });
    const again = await importModel({ layers, loss: "softmax", params: weights.params });
    expect(((await call("GET", `/v1/models/${again.id}/weights`)).body as WeightsBody).params).toEqual(weights.params);

    const { X } = await mnistSplit(mnist, "test");
    const images = Array.from({ length: 4 }, (_, r) => Array.from(X.subarray(r * 784, r * 784 + 784)));
    const layout = createLayout(layers);
    const { h } = wasmForward(layout, "softmax", f32, images);
    const res = await call("POST", "/v1/predict", { images, model: model.id }, JSON_HEADERS);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      modelId: model.id,
      predictions: images.map((_, r) => ({ digit: argmaxRow(h, r, 10), probabilities: Array.from(h.subarray(r * 10, r * 10 + 10)) })),
    });
  });

  test("the course's 400-25-10 network imports like any other shape and predicts as Octave's formulas say", async () => {
    const layers = [400, 25, 10];
    const sent = randomParams(layers, 4, 0.12);
    const model = await importModel({ layers, loss: "sigmoid", params: sent });
    expect(model).toMatchObject({ layers, loss: "sigmoid", testAccuracy: null }); // "mnist" has 784 pixels, not 400
    expect(((await call("GET", `/v1/models/${model.id}/weights`)).body as WeightsBody).params).toHaveLength(25 * 401 + 10 * 26);

    const image = Array.from({ length: 400 }, (_, i) => ((i * 37) % 11) / 10);
    // Θ1 = reshape(nn_params(1:25*401), 25, 401); Θ2 = reshape(rest, 10, 26); h = g(Θ2 [1; g(Θ1 [1; x])]), in float64.
    const theta = (off: number, rows: number) => (j: number, i: number) => Math.fround(sent[off + i * rows + j]);
    const layer = (t: (j: number, i: number) => number, rows: number, a: number[]) =>
      Array.from({ length: rows }, (_, j) => 1 / (1 + Math.exp(-a.reduce((s, v, i) => s + t(j, i + 1) * v, t(j, 0)))));
    const hOctave = layer(theta(25 * 401, 10), 10, layer(theta(0, 25), 25, image));
    const sum = hOctave.reduce((a, b) => a + b, 0);
    const res = await call("POST", "/v1/predict", { image, model: model.id }, JSON_HEADERS);
    expect(res.status).toBe(200);
    const p = (res.body.predictions as { digit: number; probabilities: number[] }[])[0];
    p.probabilities.forEach((v, k) => expect(v).toBeCloseTo(hOctave[k] / sum, 6));
    expect(p.digit).toBe(hOctave.indexOf(Math.max(...hOctave)));

    const wrong = await call("POST", "/v1/predict", { image: Array(784).fill(0), model: model.id }, JSON_HEADERS);
    expect(wrong.status).toBe(400);
    expect(wrong.body.error.message).toMatch(new RegExp(`image has 784 pixels; model ${model.id} \\(layers 400-25-10\\) expects 400`));
  });

  test(`measures validationAccuracy and testAccuracy on "mnist" when the shape fits and params × their examples ≤ ${MAX_IMPORT_EVAL_WORK}`, async () => {
    const layout = createLayout([784, 16, 10]);
    const trainSet = await mnistSplit(mnist, "train");
    const params = train(layout, trainSet.X, trainSet.y);
    const model = await importModel({ layers: [784, 16, 10], loss: "softmax", params: Array.from(params) });

    const { X, y } = await mnistSplit(mnist, "test");
    let correct = 0;
    for (let from = 0; from < y.length; from += 1000) {
      const rows = Array.from({ length: Math.min(1000, y.length - from) }, (_, r) => X.subarray((from + r) * 784, (from + r + 1) * 784));
      const { h } = wasmForward(layout, "softmax", params, rows);
      rows.forEach((_, r) => (correct += argmaxRow(h, r, 10) === y[from + r] ? 1 : 0));
    }
    expect(model.testAccuracy).toBe(correct / y.length);
    expect(model.testAccuracy).toBeGreaterThan(0.8);
    expect(model.validationAccuracy).toBeGreaterThan(0.8);
    expect(model.validationAccuracy).not.toBe(model.testAccuracy);
    expect(model.dataset).toBe("mnist");
  });

  test("leaves the accuracies null when the work is over the bound or the classes do not fit", async () => {
    const big = [784, 378, 10]; // 300 520 parameters × 20 000 validation and test digits > 4.5e9
    expect(createLayout(big).count * (mnist.validation.count + mnist.test.count)).toBeGreaterThan(MAX_IMPORT_EVAL_WORK);
    expect(await importModel({ layers: big, params: Array(createLayout(big).count).fill(0) })).toMatchObject({ validationAccuracy: null, testAccuracy: null, dataset: null });
    expect(await importModel({ layers: [784, 4, 5], params: randomParams([784, 4, 5], 6) })).toMatchObject({ testAccuracy: null, dataset: null });
  });

  const good = { layers: [2, 2, 2], loss: "sigmoid", params: randomParams([2, 2, 2], 7) };
  test.each([
    ["a wrong parameter count, naming the expected one", { ...good, params: good.params.slice(1) }, /params has 11 numbers; layers \[2,2,2\] need 12/],
    ["a value beyond float32", { ...good, params: [...good.params.slice(0, 11), 1e39] }, /params\[11\]: 1e\+39 is beyond float32's range/],
    ["a non-number", { ...good, params: [...good.params.slice(0, 11), "0.5"] }, /params\[11\]: params must hold finite numbers/],
    ["params not an array", { ...good, params: "1 2 3" }, /params: params must be an array/],
    ["missing params", { layers: [2, 2, 2] }, /params/],
    ["missing layers", { params: good.params }, /layers/],
    ["too few layers", { ...good, layers: [2, 2] }, /layers needs at least 3 sizes/],
    ["a fractional layer size", { ...good, layers: [2, 2.5, 2] }, /layers\[1\]/],
    ["an unknown loss", { ...good, loss: "hinge" }, /loss must be one of sigmoid, softmax, got "hinge"/],
    ["a name too long", { ...good, name: "x".repeat(65) }, /name has at most 64 characters/],
    ["a name that is not a string", { ...good, name: 3 }, /name must be a string/],
    ["unknown keys", { ...good, theta1: [], id: "m-mine" }, /unknown keys "theta1", "id"/],
    ["an array body", [good], /expected object/],
  ])("%s → 400", async (_name, body, message) => {
    const res = await call("POST", "/v1/models", body);
    expect(res.status).toBe(400);
    expect((res.body as ErrorBody).error).toMatchObject({ code: "invalid_request", message: expect.stringMatching(message) });
  });

  test("a non-finite number (1e999 parses as Infinity) → 400; a body that is not JSON → 415", async () => {
    const text = JSON.stringify(good).replace(/\]\}$/, ",1e999]}").replace(/"params":\[[^,]+,/, '"params":[');
    expect((await call("POST", "/v1/models", text)).status).toBe(400);
    expect((await call("POST", "/v1/models", "layers=2,2,2", { ...ADMIN, "content-type": "text/plain" })).status).toBe(415);
  });

  test("needs the admin token: none → 401, wrong → 403, none configured → 503", async () => {
    expect((await call("POST", "/v1/models", good, JSON_HEADERS)).status).toBe(401);
    expect((await call("POST", "/v1/models", good, { ...ADMIN, authorization: "Bearer nope" })).status).toBe(403);
    const { app } = await import("../../src/app");
    const res = await app.fetch(new Request("http://edgeprop/v1/models", { method: "POST", headers: ADMIN, body: JSON.stringify(good) }), { ...env, ADMIN_TOKEN: undefined });
    expect(res.status).toBe(503);
  });
});

describe("POST /v1/models/:id/promote", () => {
  let X: ModelBody;
  let Y: ModelBody;
  beforeAll(async () => {
    X = await importModel({ layers: [784, 3, 10], params: randomParams([784, 3, 10], 8) });
    Y = await importModel({ layers: [784, 3, 10], params: randomParams([784, 3, 10], 9) });
  });

  test("switches R2's record and KV's pointer, answering the previous model", async () => {
    const before = (await call("GET", "/healthz")).body.servingModelId as string | null;
    expect(await call("POST", `/v1/models/${X.id}/promote`)).toEqual({ status: 200, body: { servingModelId: X.id, previousModelId: before } });
    expect(await call("POST", `/v1/models/${Y.id}/promote`)).toEqual({ status: 200, body: { servingModelId: Y.id, previousModelId: X.id } });
    expect((await getServingRecord(env.STORE_BUCKET))?.serving.modelId).toBe(Y.id);
    expect(await getServingId(env.SERVING_KV)).toBe(Y.id);
    expect((await call("GET", "/healthz")).body.servingModelId).toBe(Y.id);
    const list = (await call("GET", "/v1/models")).body as { servingModelId: string; models: ModelBody[] };
    expect(list.servingModelId).toBe(Y.id);
    expect(list.models.filter((m) => m.serving).map((m) => m.id)).toEqual([Y.id]);
    expect((await call("GET", `/v1/models/${Y.id}`)).body.serving).toBe(true);
    expect((await call("POST", "/v1/predict", { image: Array(784).fill(0) }, JSON_HEADERS)).body.modelId).toBe(Y.id);
  });

  test("promoting the served model again is a no-op answering itself as the previous one", async () => {
    await call("POST", `/v1/models/${X.id}/promote`);
    expect(await call("POST", `/v1/models/${X.id}/promote`)).toEqual({ status: 200, body: { servingModelId: X.id, previousModelId: X.id } });
  });

  test("two concurrent promotions both succeed, the second retrying on the etag conflict", async () => {
    const before = (await getServingRecord(env.STORE_BUCKET))?.serving.modelId ?? null;
    const [x, y] = await Promise.all([call("POST", `/v1/models/${X.id}/promote`), call("POST", `/v1/models/${Y.id}/promote`)]);
    expect([x.status, y.status]).toEqual([200, 200]);
    const last = (await getServingRecord(env.STORE_BUCKET))!.serving.modelId;
    const [first, second] = last === X.id ? [y, x] : [x, y];
    expect(first.body.previousModelId).toBe(before);
    expect(second.body.previousModelId).toBe(first.body.servingModelId);
  });

  test("needs the admin token; an unknown model → 404; an invalid id → 400", async () => {
    expect((await call("POST", `/v1/models/${X.id}/promote`, undefined, {})).status).toBe(401);
    expect((await call("POST", `/v1/models/${X.id}/promote`, undefined, { authorization: "Bearer nope" })).status).toBe(403);
    expect((await call("POST", "/v1/models/m-nothing/promote")).status).toBe(404);
    expect((await call("POST", "/v1/models/NOPE!/promote")).status).toBe(400);
  });
});

test("/openapi.json renders and describes predict and the model routes, with the bearer scheme", async () => {
  const res = await call("GET", "/openapi.json");
  expect(res.status).toBe(200);
  const paths = res.body.paths as Record<string, Record<string, { security?: unknown }>>;
  expect(Object.keys(paths["/v1/predict"])).toContain("post");
  expect(Object.keys(paths["/v1/models"])).toEqual(expect.arrayContaining(["get", "post"]));
  expect(Object.keys(paths["/v1/models/{id}/weights"])).toContain("get");
  expect(paths["/v1/models/{id}/promote"].post.security).toEqual([{ bearer: [] }]);
  expect(res.body.components.securitySchemes.bearer).toEqual({ type: "http", scheme: "bearer" });
});
