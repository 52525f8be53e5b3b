import { exports } from "cloudflare:workers";
import { describe, expect, test } from "vitest";
import { checkGradients, debugProblem } from "../../src/nn/gradcheck";
import { nnCost } from "../../src/nn/network";
import { asNewClient } from "../helpers/client";

function post(path: string, body: unknown, headers: Record<string, string> = { "content-type": "application/json" }) {
  return exports.default.fetch(`http://edgeprop${path}`, {
    method: "POST",
    headers: asNewClient(headers),
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

function debugBody(lambda: number) {
  const { params, X, y } = debugProblem([3, 5, 3], 5);
  const rows = Array.from({ length: 5 }, (_, r) => Array.from(X.subarray(r * 3, r * 3 + 3)));
  return { layers: [3, 5, 3], params: Array.from(params), X: rows, y: Array.from(y), lambda };
}

describe("POST /v1/nn/cost", () => {
  test.each([
    [0, 2.100951],
    [3, 2.14636],
  ])("the course's debug network at λ = %d gives the same numbers as the core", async (lambda, published) => {
    const res = await post("/v1/nn/cost", debugBody(lambda));
    expect(res.status).toBe(200);
    const body = (await res.json()) as { cost: number; gradient: number[] };
    const { layout, params, X, y } = debugProblem([3, 5, 3], 5);
    const grad = new Float64Array(layout.count);
    const cost = nnCost(layout, "sigmoid", params, X, y, lambda, grad);
    expect(body.cost).toBe(cost);
    expect(body.cost).toBeCloseTo(published, 6);
    expect(body.gradient).toEqual(Array.from(grad));
    expect(body.gradient[0]).toBeCloseTo(-9.2783e-3, 7);
  });

  test("softmax loss and defaults", async () => {
    const res = await post("/v1/nn/cost", { ...debugBody(0), loss: "softmax" });
    const { layout, params, X, y } = debugProblem([3, 5, 3], 5);
    expect(((await res.json()) as { cost: number }).cost).toBe(nnCost(layout, "softmax", params, X, y, 0));
  });

  const base = debugBody(0);
  test.each([
    ["a wrong parameter count, naming the expected count", { ...base, params: base.params.slice(1) }, /params has 37 numbers; layers \[3,5,3\] need 38/],
    ["ragged X", { ...base, X: [...base.X.slice(0, 4), [0.1, 0.2]] }, /X\[4\]: row has 2 numbers, expected 3/],
    ["non-numeric X", { ...base, X: [...base.X.slice(0, 4), [0.1, "a", 0.3]] }, /X\[4\]\[1\]/],
    ["X not an array", { ...base, X: "abc" }, /X/],
    ["labels out of range", { ...base, y: [1, 2, 0, 1, 3] }, /y\[4\]: label 3 is out of range 0..2/],
    ["negative labels", { ...base, y: [1, 2, 0, 1, -1] }, /y\[4\]: label -1 is out of range/],
    ["fractional labels", { ...base, y: [1, 2, 0, 1, 1.5] }, /y\[4\]: labels must be integers/],
    ["y and X of different lengths", { ...base, y: [1, 2, 0, 1] }, /y has 4 labels, X has 5 rows/],
    ["negative lambda", { ...base, lambda: -1 }, /lambda must be ≥ 0/],
    ["non-numeric lambda", { ...base, lambda: "big" }, /lambda must be a finite number/],
    ["unknown loss", { ...base, loss: "hinge" }, /loss must be one of sigmoid, softmax, got "hinge"/],
    ["too few layers", { ...base, layers: [3, 3] }, /layers needs at least 3 sizes/],
    ["a zero layer size", { ...base, layers: [3, 0, 3] }, /layers\[1\]/],
    ["a fractional layer size", { ...base, layers: [3, 5.5, 3] }, /layers\[1\]/],
    ["a single output unit", { ...base, layers: [3, 5, 1] }, /at least 2 units/],
    ["unknown keys", { ...base, theta: [] }, /unknown key "theta"/],
    ["a missing field", { layers: [3, 5, 3] }, /params/],
    ["an array instead of an object", [1, 2, 3], /expected object/],
  ])("%s → 400", async (_name, body, message) => {
    const res = await post("/v1/nn/cost", body);
    expect(res.status).toBe(400);
    const err = (await res.json()) as { error: { code: string; message: string } };
    expect(err.error.code).toBe("invalid_request");
    expect(err.error.message).toMatch(message);
  });

  test("a non-finite lambda (1e999 parses as Infinity) → 400", async () => {
    const text = JSON.stringify(base).replace('"lambda":0', '"lambda":1e999');
    const res = await post("/v1/nn/cost", text);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/lambda/);
  });

  test("malformed JSON → 400 invalid_json", async () => {
    const res = await post("/v1/nn/cost", '{"layers": [3, 5');
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: "invalid_json" } });
  });

  test("a body that is not JSON → 415 naming the content type to use", async () => {
    const res = await post("/v1/nn/cost", "layers=3", { "content-type": "text/plain" });
    expect(res.status).toBe(415);
    expect(await res.json()).toMatchObject({ error: { code: "unsupported_media_type", message: expect.stringMatching(/application\/json/) } });
  });

  test("a body over the size limit → 413", async () => {
    const huge = `{"layers":[3,5,3],"params":[${"0,".repeat(9_000_000)}0]}`;
    const res = await post("/v1/nn/cost", huge);
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ error: { code: "payload_too_large" } });
  });
});

describe("POST /v1/nn/gradcheck", () => {
  test("defaults are the course's: 3-5-3, m = 5, λ = 0; same numbers as the core", async () => {
    const res = await post("/v1/nn/gradcheck", {});
    expect(res.status).toBe(200);
    const body = (await res.json()) as { relativeDifference: number; numerical: number[]; analytical: number[]; layers: number[]; m: number };
    const check = checkGradients();
    expect(body.relativeDifference).toBe(check.relativeDifference);
    expect(body.relativeDifference).toBeLessThan(1e-9);
    expect(body.numerical).toEqual(Array.from(check.numerical));
    expect(body.analytical).toEqual(Array.from(check.analytical));
    expect(body.layers).toEqual([3, 5, 3]);
    expect(body.m).toBe(5);
  });

  test("no body at all uses the defaults", async () => {
    const res = await exports.default.fetch("http://edgeprop/v1/nn/gradcheck", { method: "POST", headers: asNewClient() });
    expect(res.status).toBe(200);
  });

  test("layers, lambda, m and loss are honoured", async () => {
    const res = await post("/v1/nn/gradcheck", { layers: [4, 6, 5, 3], lambda: 3, m: 7, loss: "softmax" });
    const body = (await res.json()) as { relativeDifference: number; numerical: number[] };
    expect(body.relativeDifference).toBe(checkGradients([4, 6, 5, 3], 3, 7, "softmax").relativeDifference);
    expect(body.relativeDifference).toBeLessThan(1e-9);
  });

  test.each([
    ["too large a network", { layers: [100, 50, 10] }, /at most 1000 parameters/],
    ["m too large", { m: 1000 }, /m must be at most 50/],
    ["unknown loss", { loss: "mse" }, /loss must be one of/],
    ["unknown keys", { epsilon: 1e-3 }, /unknown key "epsilon"/],
    ["negative lambda", { lambda: -3 }, /lambda/],
  ])("%s → 400", async (_name, body, message) => {
    const res = await post("/v1/nn/gradcheck", body);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(message);
  });
});

test("unknown routes → 404 JSON", async () => {
  const res = await exports.default.fetch("http://edgeprop/v1/nope");
  expect(res.status).toBe(404);
  expect(await res.json()).toMatchObject({ error: { code: "not_found" } });
});

test("GET /openapi.json describes the nn routes", async () => {
  const res = await exports.default.fetch("http://edgeprop/openapi.json");
  const doc = (await res.json()) as { paths: Record<string, unknown> };
  expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(["/v1/nn/cost", "/v1/nn/gradcheck"]));
});
