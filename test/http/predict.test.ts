/** POST /v1/predict through the Worker, with real models imported over HTTP and the real local R2 and KV. */
import { env, exports } from "cloudflare:workers";
import { beforeAll, describe, expect, test } from "vitest";
import { randInitialize } from "../../src/nn/init";
import { createLayout, type Loss } from "../../src/nn/layout";
import { nextDouble, seedRng } from "../../src/nn/random";
import { MAX_PREDICT_BATCH } from "../../src/routes/predict";
import { MODEL_CACHE_MAX_BYTES, MODEL_CACHE_MAX_MODELS, modelCacheStats, rowsWithin } from "../../src/storage/model-cache";
import { keys } from "../../src/storage/keys";
import { asNewClient } from "../helpers/client";
import { wasmForward } from "../helpers/forward";

const JSON_HEADERS = { "content-type": "application/json" };
const ADMIN = { ...JSON_HEADERS, authorization: "Bearer test-admin-token" };

interface Net { id: string; layers: number[]; loss: Loss; params: Float32Array }
interface Prediction { digit: number; probabilities: number[] }
interface PredictBody { modelId: string; predictions: Prediction[] }
interface ErrorBody { error: { code: string; message: string } }

function post(path: string, body: unknown, headers: Record<string, string> = JSON_HEADERS): Promise<Response> {
  return exports.default.fetch(`http://edgeprop${path}`, { method: "POST", headers: asNewClient(headers), body: typeof body === "string" ? body : JSON.stringify(body) });
}

/** Imports a network over HTTP: `params` (or seeded random weights) sent as doubles, kept here as the float32 the server stores. */
async function importNet(layers: number[], loss: Loss, seed: number, params?: number[]): Promise<Net> {
  const layout = createLayout(layers);
  const init = new Float64Array(layout.count);
  randInitialize(layout, seedRng(seed), init);
  const weights = params ?? Array.from(init);
  const res = await post("/v1/models", { layers, loss, params: weights }, ADMIN);
  expect(res.status).toBe(201);
  return { id: ((await res.json()) as { id: string }).id, layers, loss, params: Float32Array.from(weights) };
}

async function promote(net: Net): Promise<void> {
  expect((await post(`/v1/models/${net.id}/promote`, "", ADMIN)).status).toBe(200);
}

/** `n` images of `D` pixels in [0, 1], most of them 0 as in MNIST. */
function images(n: number, D: number, seed: number): number[][] {
  const rng = seedRng(seed);
  return Array.from({ length: n }, () => Array.from({ length: D }, () => (nextDouble(rng) < 0.6 ? 0 : nextDouble(rng))));
}

/** What the API must answer, computed here with src/nn: float32 forward, sigmoid outputs normalized to sum to 1. */
function expected(net: Net, imgs: number[][]): Prediction[] {
  const layout = createLayout(net.layers);
  const D = net.layers[0];
  const K = net.layers[net.layers.length - 1];
  const { h } = wasmForward(layout, net.loss, net.params, imgs);
  return imgs.map((_, r) => {
    const out = Array.from(h.subarray(r * K, r * K + K));
    const sum = out.reduce((a, b) => a + b, 0);
    const probabilities = net.loss === "softmax" ? out : out.map((v) => Math.fround(v / sum));
    return { digit: probabilities.indexOf(Math.max(...probabilities)), probabilities };
  });
}

async function predict(body: unknown): Promise<PredictBody> {
  const res = await post("/v1/predict", body);
  expect(res.status, JSON.stringify(await res.clone().json())).toBe(200);
  return (await res.json()) as PredictBody;
}

let A: Net; // 784-16-10 softmax
let B: Net; // 784-12-10, the course's sigmoid outputs
let imported: Promise<void> | undefined;

/** Imports A and B once for the whole file (whichever describe runs first), then serves A. */
async function serveA(): Promise<void> {
  imported ??= (async () => {
    A = await importNet([784, 16, 10], "softmax", 1);
    B = await importNet([784, 12, 10], "sigmoid", 2);
  })();
  await imported;
  await promote(A);
}

describe("predictions", () => {
  beforeAll(serveA);

  test("one image: the served model's float32 forward pass, named in modelId", async () => {
    const img = images(1, 784, 2)[0];
    const body = await predict({ image: img });
    expect(body.modelId).toBe(A.id);
    expect(body.predictions).toEqual(expected(A, [img]));
    expect(body.predictions[0].probabilities).toHaveLength(10);
    expect(body.predictions[0].probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
  });

  test("a batch, and a batch at the limit, answer in order", async () => {
    for (const n of [37, MAX_PREDICT_BATCH]) {
      const imgs = images(n, 784, n);
      const body = await predict({ images: imgs });
      expect(body.modelId).toBe(A.id);
      expect(body.predictions).toEqual(expected(A, imgs));
    }
  });

  test("a pinned model answers; a sigmoid-loss model's outputs are normalized to sum to 1", async () => {
    const imgs = images(5, 784, 3);
    const body = await predict({ images: imgs, model: B.id });
    expect(body.modelId).toBe(B.id);
    expect(body.predictions).toEqual(expected(B, imgs));
    for (const p of body.predictions) expect(p.probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
  });

  test("a batch larger than a wide model's workspace is run in chunks, with the same answers", async () => {
    const wide = await importNet([4, 3000, 10], "softmax", 4);
    expect(rowsWithin(createLayout(wide.layers))).toBeLessThan(MAX_PREDICT_BATCH);
    const imgs = images(MAX_PREDICT_BATCH, 4, 5);
    expect((await predict({ images: imgs, model: wide.id })).predictions).toEqual(expected(wide, imgs));
  });

  test("sigmoid outputs that all underflow to 0 fall back to their limit, the softmax of z(L)", async () => {
    // [2, 2, 2]: Θ2's bias column is (−201, −200), every other weight 0, so z(L) = (−201, −200) for any image.
    const net = await importNet([2, 2, 2], "sigmoid", 0, [0, 0, 0, 0, 0, 0, -201, -200, 0, 0, 0, 0]);
    const body = await predict({ image: [0.5, 0.5], model: net.id });
    const e = 1 / (1 + Math.E);
    expect(body.predictions).toEqual([{ digit: 1, probabilities: [Math.fround(e), Math.fround(1 - e)] }]);
  });
});

describe("bad input → 4xx, never 5xx", () => {
  beforeAll(serveA);
  const img = () => images(1, 784, 9)[0];
  const cases: [string, unknown, number, RegExp][] = [
    ["malformed JSON", '{"image": [0, 0', 400, /not valid JSON/],
    ["no image", {}, 400, /needs image \(one image\) or images/],
    ["both image and images", { image: img(), images: [img()] }, 400, /either image \(one\) or images \(a batch\), not both/],
    ["a wrong length, naming the expected count and the model", { image: img().slice(1) }, 400, /image has 783 pixels; model m-imp-[a-z0-9-]+ \(layers 784-16-10\) expects 784/],
    ["a batch of the wrong length", { images: [[0, 1], [1, 0]] }, 400, /images have 2 pixels each; model m-imp-.* expects 784/],
    ["a pixel below 0", { image: [...img().slice(0, 5), -0.1, ...img().slice(6)] }, 400, /image\[5\]: pixels must be in \[0, 1\]/],
    ["a pixel above 1", { images: [img(), [...img().slice(0, 783), 1.5]] }, 400, /images\[1\]\[783\]: pixels must be in \[0, 1\]/],
    ["a string pixel", { image: [0.5, "a", ...img().slice(2)] }, 400, /image\[1\]: pixels must be numbers/],
    ["a null pixel", { image: [null, ...img().slice(1)] }, 400, /image\[0\]: pixels must be numbers/],
    ["image not an array", { image: "0,0,0" }, 400, /image: an image must be an array of numbers/],
    ["images not arrays of arrays", { images: [0.5, 0.5] }, 400, /images\[0\]: an image must be an array/],
    ["images not an array", { images: { a: 1 } }, 400, /images: images must be an array of images/],
    ["an empty image", { image: [] }, 400, /at least one pixel/],
    ["an empty batch", { images: [] }, 400, /images needs at least one image/],
    ["a batch over the limit", { images: Array.from({ length: MAX_PREDICT_BATCH + 1 }, () => img()) }, 400, new RegExp(`at most ${MAX_PREDICT_BATCH} images`)],
    ["a ragged batch", { images: [img(), img(), img().slice(1)] }, 400, /images\[2\]: has 783 pixels, images\[0\] has 784/],
    ["an unknown pinned model", { image: img(), model: "m-nothing" }, 404, /no model m-nothing/],
    ["a pinned id that is not an id", { image: img(), model: "../serving" }, 400, /model: not a model id/],
    ["unknown keys", { image: img(), labels: [3] }, 400, /unknown key "labels"/],
    ["an array body", [img()], 400, /expected object/],
  ];
  test.each(cases)("%s", async (_name, body, status, message) => {
    const res = await post("/v1/predict", body);
    expect(res.status).toBe(status);
    expect(((await res.json()) as ErrorBody).error.message).toMatch(message);
  });

  test("a non-finite pixel (1e999 parses as Infinity) → 400", async () => {
    const res = await post("/v1/predict", `{"image":[1e999${",0".repeat(783)}]}`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as ErrorBody).error.message).toMatch(/image\[0\]/);
  });

  test("a body that is not JSON → 415", async () => {
    const res = await post("/v1/predict", "image=0,0", { "content-type": "text/plain" });
    expect(res.status).toBe(415);
    expect(await res.json()).toMatchObject({ error: { code: "unsupported_media_type" } });
  });
});

describe("promotion", () => {
  beforeAll(serveA);

  test("predict answers with A; after promoting B, with B", async () => {
    await promote(A);
    const imgs = images(3, 784, 11);
    expect(await predict({ images: imgs })).toEqual({ modelId: A.id, predictions: expected(A, imgs) });
    await promote(B);
    expect(await predict({ images: imgs })).toEqual({ modelId: B.id, predictions: expected(B, imgs) });
  });

  test("a burst of predictions during repeated switches: no errors, each answer wholly from the model it names", async () => {
    const imgs = images(8, 784, 12);
    const want = { [A.id]: expected(A, imgs), [B.id]: expected(B, imgs) };
    const predictMany = (n: number) => Promise.all(Array.from({ length: n }, () => post("/v1/predict", { images: imgs })));
    const answers: Response[] = [];
    for (let wave = 0; wave < 6; wave++) {
      // Predictions racing the switch, and more sent once it has answered (those must see the new model).
      const racing = predictMany(10);
      const after = post(`/v1/models/${(wave % 2 === 0 ? B : A).id}/promote`, "", ADMIN).then((res) => {
        expect(res.status).toBe(200);
        return predictMany(3);
      });
      answers.push(...(await racing));
      const late = await after;
      answers.push(...late);
      expect(((await late[0].clone().json()) as PredictBody).modelId).toBe((wave % 2 === 0 ? B : A).id);
    }
    expect(answers.map((r) => r.status)).toEqual(Array(answers.length).fill(200));
    const seen = new Set<string>();
    for (const res of answers) {
      const body = (await res.json()) as PredictBody;
      expect([A.id, B.id]).toContain(body.modelId);
      expect(body.predictions).toEqual(want[body.modelId]);
      seen.add(body.modelId);
    }
    expect(seen.size).toBe(2);
  });
});

describe("the per-isolate model cache", () => {
  test("a model is decoded once and kept: it still answers after its blob is gone from R2", async () => {
    const net = await importNet([784, 8, 10], "softmax", 21);
    const img = images(1, 784, 21)[0];
    await predict({ image: img, model: net.id });
    await env.STORE_BUCKET.delete(keys.model(net.id));
    expect((await predict({ image: img, model: net.id })).predictions).toEqual(expected(net, [img]));
  });

  test(`it keeps at most ${MODEL_CACHE_MAX_MODELS} models, evicting the least recently used`, async () => {
    const nets: Net[] = [];
    for (let s = 0; s <= MODEL_CACHE_MAX_MODELS; s++) nets.push(await importNet([784, 6, 10], "softmax", 30 + s));
    const img = images(1, 784, 30)[0];
    for (const net of nets) await predict({ image: img, model: net.id });
    const stats = modelCacheStats();
    expect(stats.ids).toEqual(nets.slice(1).map((n) => n.id));
    expect(stats.bytes).toBeLessThanOrEqual(MODEL_CACHE_MAX_BYTES);
    for (const net of [nets[0], nets[MODEL_CACHE_MAX_MODELS]]) await env.STORE_BUCKET.delete(keys.model(net.id));
    expect((await post("/v1/predict", { image: img, model: nets[0].id })).status).toBe(404); // evicted, so read again: gone
    expect((await post("/v1/predict", { image: img, model: nets[MODEL_CACHE_MAX_MODELS].id })).status).toBe(200); // cached
  });
});
