/** Feedback appended under concurrent writers, trained on by runs that include it; the hidden-unit pictures. */
import { env, exports } from "cloudflare:workers";
import { beforeAll, describe, expect, test, vi } from "vitest";
import { decodeShard } from "../../src/data/shards";
import { listFeedbackKeys } from "../../src/storage/feedback";
import { getRecord } from "../../src/storage/runs";
import type { RunRecord } from "../../src/training/record";
import { asNewClient } from "../helpers/client";
import { storeMnist } from "../helpers/mnist";

const JSON_HEADERS = { "content-type": "application/json" };
const ADMIN = { ...JSON_HEADERS, authorization: "Bearer test-admin-token" };
const post = (path: string, body: unknown, headers: Record<string, string> = JSON_HEADERS) =>
  exports.default.fetch(`http://edgeprop${path}`, { method: "POST", headers: asNewClient(headers), body: JSON.stringify(body) });

/** A crude "1": a vertical bar. */
const bar = (x: number) => Array.from({ length: 784 }, (_, i) => (i % 28 >= x && i % 28 < x + 3 && i >= 4 * 28 && i < 24 * 28 ? 1 : 0));

beforeAll(async () => {
  await storeMnist("mnist-f", 1500, 400);
});

describe("POST /v1/feedback", () => {
  test("50 concurrent corrections are all kept, each readable", async () => {
    const responses = await Promise.all(Array.from({ length: 50 }, (_, k) => post("/v1/feedback", { image: bar(8 + (k % 10)), label: 1 })));
    expect(responses.map((r) => r.status)).toEqual(new Array(50).fill(201));
    const ids = await Promise.all(responses.map(async (r) => ((await r.json()) as { id: string }).id));
    expect(new Set(ids).size).toBe(50);
    const stored = await listFeedbackKeys(env.STORE_BUCKET);
    expect(stored).toHaveLength(50);
    const first = decodeShard(new Uint8Array(await (await env.STORE_BUCKET.get(stored[0]))!.arrayBuffer()));
    expect(first).toMatchObject({ count: 1, rows: 28, cols: 28 });
    expect(first.labels[0]).toBe(1);
    const count = (await (await exports.default.fetch("http://edgeprop/v1/feedback")).json()) as { count: number };
    expect(count.count).toBe(50);
  });

  test.each([
    ["a short image", { image: [0, 1], label: 3 }, /784 numbers/],
    ["pixels outside [0, 1]", { image: bar(5).map((p) => p * 2), label: 3 }, /\[0, 1\]/],
    ["a label of 10", { image: bar(5), label: 10 }, /label must be 0..9/],
    ["a fractional label", { image: bar(5), label: 2.5 }, /integer/],
    ["unknown keys", { image: bar(5), label: 1, note: "x" }, /unknown key "note"/],
    ["no label", { image: bar(5) }, /label/],
  ])("%s → 400", async (_name, body, message) => {
    const res = await post("/v1/feedback", body);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(message);
  });
});

describe("a run with includeFeedback", () => {
  let run: RunRecord;
  test("snapshots the corrections and trains on them next to the dataset", async () => {
    const res = await post("/v1/runs", { dataset: "mnist-f", layers: [784, 20, 10], optimizer: { name: "adam", learningRate: 0.003 }, epochs: 2, batchSize: 50, includeFeedback: true, promote: "never" }, ADMIN);
    expect(res.status).toBe(202);
    run = (await res.json()) as RunRecord;
    expect(run.plan).toMatchObject({ baseCount: 1500, trainCount: 1550, feedback: { count: 50 } });
    // Corrections sent after the start are not part of this run.
    await post("/v1/feedback", { image: bar(3), label: 1 });
    const done = await vi.waitUntil(async () => {
      const r = (await getRecord<RunRecord>(env.STORE_BUCKET, run.id))!.record;
      return r.status === "succeeded" || r.status === "failed" ? r : false;
    }, { timeout: 60_000, interval: 100 });
    expect(done.status).toBe("succeeded");
    expect(done.examplesSeen).toBe(2 * 1550);
  });

  test("GET /v1/runs/:id/units and /v1/models/:id/units picture the first layer", async () => {
    const res = await exports.default.fetch(`http://edgeprop/v1/runs/${run.id}/units?max=8`);
    expect(res.status).toBe(200);
    const units = (await res.json()) as { units: number; rows: number; cols: number; pixels: string; step: number };
    expect(units).toMatchObject({ units: 8, rows: 28, cols: 28 });
    const bytes = Uint8Array.from(atob(units.pixels), (ch) => ch.charCodeAt(0));
    expect(bytes.length).toBe(8 * 784);
    for (let u = 0; u < 8; u++) {
      const unit = bytes.subarray(u * 784, (u + 1) * 784);
      expect(Math.min(...unit)).toBe(0);
      expect(Math.max(...unit)).toBe(255);
    }
    const record = (await getRecord<RunRecord>(env.STORE_BUCKET, run.id))!.record;
    const model = (await (await exports.default.fetch(`http://edgeprop/v1/models/${record.modelId}/units`)).json()) as { units: number };
    expect(model.units).toBe(20);
    expect((await exports.default.fetch("http://edgeprop/v1/runs/run-nope/units")).status).toBe(404);
    expect((await exports.default.fetch("http://edgeprop/v1/models/nope/units")).status).toBe(404);
    expect((await exports.default.fetch(`http://edgeprop/v1/runs/${run.id}/units?max=0`)).status).toBe(400);
  });
});
