/**
 * Bounded work per anonymous request: requests past a route's work cap or body limit are refused (413) before the
 * work, naming the cap. The over-cap requests below would take from minutes to hours of CPU if they ran, so a cap
 * checked after the work would show as a test timeout, not as a pass.
 */
import { exports } from "cloudflare:workers";
import { beforeAll, describe, expect, test } from "vitest";
import { parameterCount } from "../../src/nn/layout";
import { MAX_COST_PARAMS, MAX_COST_WORK, MAX_GRADCHECK_WORK } from "../../src/routes/nn";
import { MAX_COST_BODY_BYTES, MAX_FEEDBACK_BODY_BYTES, MAX_PREDICT_BODY_BYTES } from "../../src/routes/policy";
import { MAX_PREDICT_WORK } from "../../src/routes/predict";
import { MAX_TRAIN_PARAMS } from "../../src/training/spec";
import { asNewClient } from "../helpers/client";

interface ErrorBody { error: { code: string; message: string } }
const ADMIN = { "content-type": "application/json", authorization: "Bearer test-admin-token" };

function post(path: string, body: string, headers: Record<string, string> = { "content-type": "application/json" }) {
  return exports.default.fetch(`http://edgeprop${path}`, { method: "POST", headers: asNewClient(headers), body });
}

/** `{"layers", "params": zeros, "X": m rows of D zeros, "y": zeros}` as text, built without a large object. */
function costBody(layers: number[], m: number): string {
  const zeros = (n: number) => (n === 0 ? "" : "0" + ",0".repeat(n - 1));
  const row = `[${zeros(layers[0])}]`;
  return `{"layers":${JSON.stringify(layers)},"params":[${zeros(parameterCount(layers))}],"X":[${row}${`,${row}`.repeat(m - 1)}],"y":[${zeros(m)}]}`;
}

async function expectRefused(res: Response, status: number, code: string, ...parts: string[]) {
  const body = (await res.json()) as ErrorBody;
  expect(res.status, JSON.stringify(body)).toBe(status);
  expect(body.error.code).toBe(code);
  for (const part of parts) expect(body.error.message).toContain(part);
}

describe("POST /v1/nn/cost", () => {
  test("500 000 rows × 249 998 parameters (1.25e11 products, ~8 min of CPU) → 413 too_much_work, naming the cap and the rows allowed", async () => {
    const layers = [1, 62_499, 2];
    const body = costBody(layers, 500_000);
    expect(body.length).toBeLessThan(MAX_COST_BODY_BYTES);
    const rows = Math.floor(MAX_COST_WORK / parameterCount(layers));
    await expectRefused(await post("/v1/nn/cost", body), 413, "too_much_work", `at most ${MAX_COST_WORK}`, "500000 rows × 249998 parameters", `at most ${rows} rows`);
  });

  test("at the cap it answers; one row more is refused", async () => {
    const layers = [1, 1000, 2];
    const rows = Math.floor(MAX_COST_WORK / parameterCount(layers));
    const ok = await post("/v1/nn/cost", costBody(layers, rows));
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { gradient: number[] }).gradient).toHaveLength(parameterCount(layers));
    await expectRefused(await post("/v1/nn/cost", costBody(layers, rows + 1)), 413, "too_much_work", `send at most ${rows} rows`);
  });

  test(`a network over ${MAX_COST_PARAMS} parameters → 400 naming the cap`, async () => {
    await expectRefused(await post("/v1/nn/cost", costBody([1, 62_500, 2], 1)), 400, "invalid_request", `at most ${MAX_COST_PARAMS} parameters`, "have 250002");
  });

  test(`a body over ${MAX_COST_BODY_BYTES} bytes → 413 payload_too_large, before it is parsed`, async () => {
    await expectRefused(await post("/v1/nn/cost", costBody([1, 1700, 1700, 2], 10)), 413, "payload_too_large", `exceeds ${MAX_COST_BODY_BYTES} bytes`, "POST /v1/nn/cost");
  });
});

test("POST /v1/nn/gradcheck past its work cap → 413 naming the m allowed; at the cap it answers", async () => {
  const layers = [1, 249, 2];
  const P = parameterCount(layers);
  const m = Math.floor(MAX_GRADCHECK_WORK / (2 * P * P));
  await expectRefused(await post("/v1/nn/gradcheck", JSON.stringify({ layers, m: 50 })), 413, "too_much_work", `use m ≤ ${m}`);
  expect((await post("/v1/nn/gradcheck", JSON.stringify({ layers, m }))).status).toBe(200);
});

describe("POST /v1/predict with the largest model a run may train (784-1000-500-10)", () => {
  const layers = [784, 1000, 500, 10];
  const P = parameterCount(layers);
  const most = Math.floor(MAX_PREDICT_WORK / P);
  const dense = (n: number) => JSON.stringify(Array.from({ length: n }, (_, i) => Array.from({ length: 784 }, (_, j) => ((i + j) % 10) / 10)));
  let id = "";

  beforeAll(async () => {
    const imported = await post("/v1/models", `{"layers":${JSON.stringify(layers)},"loss":"softmax","params":[0${",0".repeat(P - 1)}]}`, ADMIN);
    expect(imported.status).toBe(201);
    id = ((await imported.json()) as { id: string }).id;
  });

  test("pinned: 256 dense images → 413 naming the cap and the batch allowed; that batch answers", async () => {
    await expectRefused(await post("/v1/predict", `{"model":"${id}","images":${dense(256)}}`), 413, "too_much_work", `at most ${MAX_PREDICT_WORK}`, `256 images × ${P} parameters of model ${id}`, `at most ${most} images`);
    const ok = await post("/v1/predict", `{"model":"${id}","images":${dense(most)}}`);
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { predictions: unknown[] }).predictions).toHaveLength(most);
  });

  test("its weights are exported whole (streamed)", async () => {
    const res = await exports.default.fetch(`http://edgeprop/v1/models/${id}/weights`);
    expect(res.headers.get("content-type")).toBe("application/json");
    const body = (await res.json()) as { id: string; layers: number[]; params: number[] };
    expect(body).toMatchObject({ id, layers, loss: "softmax" });
    expect(body.params).toHaveLength(P);
    expect(body.params.every((v) => v === 0)).toBe(true);
  });

  test("served: the same cap applies to the served model", async () => {
    expect((await post(`/v1/models/${id}/promote`, "", ADMIN)).status).toBe(200);
    await expectRefused(await post("/v1/predict", `{"images":${dense(most + 1)}}`), 413, "too_much_work", `send at most ${most} images`);
  });
});

test("a model larger than a run may train is not imported (400, naming the cap)", async () => {
  const res = await post("/v1/models", JSON.stringify({ layers: [784, 2000, 10], params: [] }), ADMIN);
  await expectRefused(res, 400, "invalid_request", `at most ${MAX_TRAIN_PARAMS}`, "1590010 parameters");
});

test.each([
  ["/v1/predict", MAX_PREDICT_BODY_BYTES],
  ["/v1/feedback", MAX_FEEDBACK_BODY_BYTES],
])("POST %s: a body over %d bytes → 413 payload_too_large", async (path, limit) => {
  await expectRefused(await post(path, `{"image":[${"0,".repeat(limit / 2)}0]}`), 413, "payload_too_large", `exceeds ${limit} bytes`);
});
