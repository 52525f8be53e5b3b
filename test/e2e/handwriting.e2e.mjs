/**
 * Real handwriting in the page's form (scripts/handwriting.ts) and `npm run eval:handwriting`, in Node.
 *
 * The library: data/handwriting/optdigits-a.json's 899 UCI digits come out as the page's preprocessing makes a
 * drawing (784 floats in [0, 1], centre of mass at pixel (14, 14), the digit scaled into a 20 × 20 box), in the
 * file's order with its labels; the upsampling follows its stated convention; the scores count what they say.
 *
 * The command, against a wrangler dev of its own (fresh local state; no dataset needed): with no model served it
 * fails in one line, exit 1; with one served (trained here in Node on MNIST, imported and promoted through the API)
 * its --json names that model and its predictions are the model's own on the library's images (the same network
 * run here with the project's numeric core), scored as the library scores them; --model pins another.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { boundingBox, centerOfMass } from "../../public/js/preprocess.js";
import { confusions, formatPerDigit, loadHandwriting, perDigit, toPageForm, upsampleBilinear } from "../../scripts/handwriting.ts";
import { createLayout } from "../../src/nn/layout.ts";
import { argmaxRow, createWorkspace, forward } from "../../src/nn/network.ts";
import { call, trainDigitModel } from "./fixtures.mjs";
import { ROOT, runScript, startWrangler } from "./server.mjs";

const FILE = JSON.parse(readFileSync(join(ROOT, "data", "handwriting", "optdigits-a.json"), "utf8"));

describe("scripts/handwriting.ts", () => {
  const hw = loadHandwriting();

  test("899 images of 784 floats in [0, 1], with the file's labels and indices, in its order", () => {
    expect(hw.images).toHaveLength(899);
    expect(hw.labels).toEqual(FILE.labels);
    expect(hw.indices).toEqual(FILE.indices);
    expect(hw.indices).toEqual(Array.from({ length: 899 }, (_, i) => 2 * i));
    for (const image of hw.images) {
      expect(image).toBeInstanceOf(Float32Array);
      expect(image).toHaveLength(784);
      expect(image.every((v) => v >= 0 && v <= 1)).toBe(true);
    }
    expect(hw.images.map((image, i) => Array.from(image)).slice(0, 3)).toEqual(FILE.images.slice(0, 3).map((v) => Array.from(toPageForm(v))));
  });

  test("each in the page's form: centre of mass within 0.05 px of (14, 14), the digit scaled into 20 × 20", () => {
    let tall = 0;
    for (const image of hw.images) {
      const com = centerOfMass(image, 28, 28);
      expect(Math.hypot(com.x - 14, com.y - 14)).toBeLessThan(0.05);
      const box = boundingBox(image, 28, 28);
      const [w, h] = [box.x1 - box.x0, box.y1 - box.y0];
      // The 20-pixel box lands at a fractional offset, so it touches at most 21 pixel rows or columns.
      expect(Math.max(w, h)).toBeLessThanOrEqual(21);
      expect(Math.max(w, h)).toBeGreaterThanOrEqual(20);
      if (h >= w) tall++;
    }
    expect(tall).toBeGreaterThan(800);
  });

  test("bilinear upsampling aligns pixel centres and clamps at the edges", () => {
    // One lit pixel at column 1 of row 0: output column j samples u = (j + ½) / 4 − ½.
    const src = new Float32Array(64);
    src[1] = 1;
    const up = upsampleBilinear(src, 8, 4);
    expect(Array.from(up.subarray(0, 12))).toEqual([0, 0, 0.125, 0.375, 0.625, 0.875, 0.875, 0.625, 0.375, 0.125, 0, 0]);
    // Rows 0 and 1 are clamped to source row 0; row 2 samples v = 0.125, between rows 0 and 1.
    expect(up[32 + 5]).toBeCloseTo(0.875, 6);
    expect(up[64 + 5]).toBeCloseTo(0.875 * 0.875, 6);
    // A constant image stays constant, up to the edges.
    const flat = upsampleBilinear(new Float32Array(64).fill(0.5), 8, 4);
    expect(flat.every((v) => Math.abs(v - 0.5) < 1e-7)).toBe(true);
  });

  test("perDigit, confusions and the table count what they say", () => {
    const labels = [0, 0, 1, 1, 1, 7];
    const predicted = [0, 8, 7, 7, 1, 7];
    const r = perDigit(labels, predicted);
    expect(r.overall).toEqual({ correct: 3, count: 6, accuracy: 0.5 });
    expect(r.digits[1]).toEqual({ digit: 1, correct: 1, count: 3, accuracy: 1 / 3 });
    expect(r.digits[2]).toEqual({ digit: 2, correct: 0, count: 0, accuracy: 0 });
    expect(confusions(labels, predicted)).toEqual([{ label: 1, predicted: 7, count: 2 }, { label: 0, predicted: 8, count: 1 }]);
    const table = formatPerDigit(r).split("\n");
    expect(table).toHaveLength(12);
    expect(table[2]).toMatch(/^1\s+3\s+1\s+33\.33%$/);
    expect(table[11]).toMatch(/^all\s+6\s+3\s+50\.00%$/);
  });
});

/** Runs `npm run eval:handwriting`'s script with `args`. */
const evalHandwriting = (args) => runScript("eval-handwriting.ts", args);

/** The predicted digit of each image by `model` ({ layers, loss, params }), with the project's numeric core in Node. */
function predictLocally(model, images) {
  const layout = createLayout(model.layers);
  const n = images.length;
  const X = new Float32Array(n * 784);
  images.forEach((image, i) => X.set(image, i * 784));
  const ws = createWorkspace(layout, n, Float32Array);
  const h = forward(layout, model.loss, Float32Array.from(model.params), X, n, ws);
  return Array.from({ length: n }, (_, r) => argmaxRow(h, r, 10));
}

describe("npm run eval:handwriting against wrangler dev", () => {
  const token = randomBytes(16).toString("hex");
  const hw = loadHandwriting();
  let server;
  let model;

  beforeAll(async () => {
    // Trained before the server starts (seconds of CPU between two requests would let it drop the kept-alive connection).
    model = trainDigitModel({ hidden: 32, trainCount: 20_000, epochs: 3 });
    server = await startWrangler({ token, logFile: join(ROOT, "test-results", "wrangler-handwriting.log") });
  });
  afterAll(async () => {
    await server?.stop();
  });

  test("with no model served: one line saying so, exit 1", async () => {
    const res = await evalHandwriting(["--url", server.url]);
    expect(res.code).toBe(1);
    expect(res.stderr.trimEnd().split("\n")).toEqual([expect.stringMatching(new RegExp(`^eval:handwriting: no model is served at ${server.url.replaceAll(".", "\\.")}: train one`))]);
  });

  test("--json: the served model's predictions on the library's images, scored as the library scores them; --model pins one", async () => {
    const body = { layers: model.layers, loss: model.loss, params: model.params };
    const served = await call(server.url, "/v1/models", { method: "POST", token, body });
    const other = await call(server.url, "/v1/models", { method: "POST", token, body: { ...body, name: "pinned" } });
    expect([served.status, other.status]).toEqual([201, 201]);
    expect((await call(server.url, `/v1/models/${served.body.id}/promote`, { method: "POST", token })).status).toBe(200);

    const res = await evalHandwriting(["--url", server.url, "--json"]);
    expect(res.code, res.stderr).toBe(0);
    const lines = res.stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(1);
    const out = JSON.parse(lines[0]);
    expect(out.model).toMatchObject({ id: served.body.id, layers: [784, 32, 10], loss: "softmax", serving: true, pinned: false });
    // 784-32-10 has 25 450 parameters: 256 images a request fit the route's work cap.
    expect(out.batchSize).toBe(256);
    expect(out.predicted).toHaveLength(899);
    const local = predictLocally(model, hw.images);
    // The Worker's WebAssembly kernels round differently from the JavaScript reference only in the last bits of float32.
    const differ = local.filter((d, i) => d !== out.predicted[i]).length;
    expect(differ).toBeLessThanOrEqual(2);
    const scored = perDigit(hw.labels, out.predicted);
    expect(out.overall).toEqual(scored.overall);
    expect(out.perDigit).toEqual(scored.digits);
    expect(out.perDigit.map((d) => d.count)).toEqual([90, 93, 86, 90, 93, 91, 91, 88, 88, 89]);
    expect(out.confusions).toEqual(confusions(hw.labels, out.predicted, 10));
    // A model trained on MNIST alone recognizes most of them.
    expect(out.overall.accuracy).toBeGreaterThan(0.5);

    const pinned = JSON.parse((await evalHandwriting(["--url", server.url, "--json", "--model", other.body.id])).stdout);
    expect(pinned.model).toMatchObject({ id: other.body.id, serving: false, pinned: true });
    expect(pinned.predicted).toEqual(out.predicted);

    const text = await evalHandwriting(["--url", server.url]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(`model ${served.body.id} (served), layers 784-32-10, softmax`);
    expect(text.stdout).toContain(formatPerDigit(scored));
    expect(text.stdout).toMatch(/most common confusions/);
  });

  test("--model that does not exist: one line naming it, exit 1", async () => {
    const res = await evalHandwriting(["--url", server.url, "--model", "m-nosuchmodel"]);
    expect(res.code).toBe(1);
    expect(res.stderr.trimEnd().split("\n")).toEqual([expect.stringMatching(/^eval:handwriting: no model m-nosuchmodel at /)]);
  });
});
