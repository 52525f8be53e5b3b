/**
 * Corrections under concurrent anonymous writers are all kept, pending; runs never train on pending ones, and train
 * on exactly the accepted ones once an admin accepts them; the hidden-unit pictures.
 */
import { env, exports } from "cloudflare:workers";
import { beforeAll, describe, expect, test, vi } from "vitest";
import { decodeShard } from "../../src/data/shards";
import { partOf } from "../../src/storage/feedback";
import { keys } from "../../src/storage/keys";
import { getRecord } from "../../src/storage/runs";
import type { RunRecord } from "../../src/training/record";
import { asNewClient } from "../helpers/client";
import { storeMnist } from "../helpers/mnist";

const JSON_HEADERS = { "content-type": "application/json" };
const ADMIN = { ...JSON_HEADERS, authorization: "Bearer test-admin-token" };
/** A client of its own per request (the feedback route is rate-limited per CF-Connecting-IP). */
const post = (path: string, body: unknown, headers: Record<string, string> = JSON_HEADERS) =>
  exports.default.fetch(`http://edgeprop${path}`, { method: "POST", headers: asNewClient(headers), body: JSON.stringify(body) });
const counts = async () => (await (await exports.default.fetch("http://edgeprop/v1/feedback")).json()) as { pending: number; accepted: number };

/** A crude "1": a vertical bar at column x, told apart by a lit pixel `marker` (0..111) above the bar. */
const bar = (x: number, marker = -1) => Array.from({ length: 784 }, (_, i) => (i === marker || (i % 28 >= x && i % 28 < x + 3 && i >= 4 * 28 && i < 24 * 28) ? 1 : 0));

async function sendAll(markers: number[], label: number): Promise<string[]> {
  const ids = [];
  for (const m of markers) {
    const res = await post("/v1/feedback", { image: bar(8 + (m % 10), m), label });
    expect(res.status).toBe(201);
    ids.push(((await res.json()) as { id: string }).id);
    await new Promise((r) => setTimeout(r, 3)); // distinct time stamps, so "newest first" is one order
  }
  return ids;
}

/** The markers of the examples in a run's feedback snapshot, in order. */
async function snapshotMarkers(run: RunRecord): Promise<number[]> {
  const out = [];
  for (const entry of run.plan.feedback?.shards ?? []) {
    const shard = decodeShard(new Uint8Array(await (await env.STORE_BUCKET.get(entry.key))!.arrayBuffer()));
    for (let i = 0; i < shard.count; i++) out.push(shard.pixels.subarray(i * 784, i * 784 + 4 * 28).indexOf(255));
  }
  return out;
}

const SPEC = { dataset: "mnist-f", layers: [784, 20, 10], optimizer: { name: "adam", learningRate: 0.003 }, epochs: 2, batchSize: 50, includeFeedback: true, promote: "never" };

beforeAll(async () => {
  await storeMnist("mnist-f", 1500, 400);
});

describe("POST /v1/feedback", () => {
  test("50 concurrent corrections from 50 clients are all kept, pending, each readable", async () => {
    const before = await counts();
    const responses = await Promise.all(Array.from({ length: 50 }, (_, k) => post("/v1/feedback", { image: bar(8 + (k % 10)), label: 1 })));
    expect(responses.map((r) => r.status)).toEqual(new Array(50).fill(201));
    const bodies = await Promise.all(responses.map(async (r) => (await r.json()) as { id: string; status: string }));
    expect(new Set(bodies.map((b) => b.id)).size).toBe(50);
    expect(new Set(bodies.map((b) => b.status))).toEqual(new Set(["pending"]));
    for (const { id } of bodies) {
      const item = decodeShard(new Uint8Array(await (await env.STORE_BUCKET.get(keys.feedbackPending(id)))!.arrayBuffer()));
      expect(item).toMatchObject({ count: 1, rows: 28, cols: 28 });
      expect(item.labels[0]).toBe(1);
      expect(await env.STORE_BUCKET.head(keys.feedbackAccepted(id))).toBeNull();
    }
    expect(await counts()).toMatchObject({ pending: before.pending + 50, accepted: before.accepted });
  });

  test.each([
    ["a short image", { image: [0, 1], label: 3 }, /784 numbers/],
    ["pixels outside [0, 1]", { image: bar(5).map((p) => p * 2), label: 3 }, /\[0, 1\]/],
    ["a label of 10", { image: bar(5), label: 10 }, /label must be 0..9/],
    ["a fractional label", { image: bar(5), label: 2.5 }, /integer/],
    ["unknown keys", { image: bar(5), label: 1, note: "x" }, /unknown key "note"/],
    ["no label", { image: bar(5) }, /label/],
  ])("%s → 400", async (_name, body, message) => {
    const before = await counts();
    const res = await post("/v1/feedback", body);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(message);
    expect(await counts()).toEqual(before);
  });
});

describe("a run with includeFeedback", () => {
  test("never trains on pending or holdout corrections; once some are accepted, trains on exactly those of the training split, newest first", async () => {
    const ids = await sendAll([100, 101, 102, 103, 104, 105, 106, 107], 7);
    const early = await post("/v1/runs", SPEC, ADMIN);
    expect(early.status).toBe(202);
    const unreviewed = (await early.json()) as RunRecord;
    expect(unreviewed.plan).toMatchObject({ baseCount: 1500, trainCount: 1500, feedback: null });
    expect(unreviewed.feedbackExamples).toBe(0);
    expect((await post(`/v1/runs/${unreviewed.id}/cancel`, {}, ADMIN)).status).toBe(200);

    const review = await post("/v1/feedback/review", { accept: ids.slice(0, 5), reject: ids.slice(5, 7) }, ADMIN);
    expect(review.status).toBe(200);
    const res = await post("/v1/runs", SPEC, ADMIN);
    expect(res.status).toBe(202);
    const run = (await res.json()) as RunRecord;
    // One in five accepted corrections (by a hash of its id) is held out for refreshes and never trained on.
    const markers = [100, 101, 102, 103, 104].filter((_, i) => partOf(ids[i]) === "train").reverse();
    const n = markers.length;
    expect(n).toBeGreaterThan(0);
    expect(run.plan).toMatchObject({ baseCount: 1500, trainCount: 1500 + n, feedback: { count: n } });
    expect(run.feedbackExamples).toBe(n);
    expect(await snapshotMarkers(run)).toEqual(markers);
    expect((await getRecord<RunRecord>(env.STORE_BUCKET, run.id))!.record.feedbackExamples).toBe(n);

    // Corrections sent and accepted after the start are not part of this run.
    const late = await sendAll([110], 1);
    await post("/v1/feedback/review", { accept: late }, ADMIN);
    const done = await vi.waitUntil(async () => {
      const r = (await getRecord<RunRecord>(env.STORE_BUCKET, run.id))!.record;
      return r.status === "succeeded" || r.status === "failed" ? r : false;
    }, { timeout: 60_000, interval: 100 });
    expect(done.status).toBe("succeeded");
    expect(done.examplesSeen).toBe(2 * (1500 + n));
    expect(done.feedbackExamples).toBe(n);
  });
});

describe("GET /v1/runs/:id/units and /v1/models/:id/units picture the first layer", () => {
  const UNITS_SPEC = { dataset: "mnist-f", layers: [784, 20, 10], optimizer: { name: "adam", learningRate: 0.003 }, batchSize: 50, promote: "never" };
  /** Every one of `count` units of a units answer is scaled on its own to 0..255. */
  function expectScaled(units: { units: number; rows: number; cols: number; pixels: string }, count: number): void {
    expect(units).toMatchObject({ units: count, rows: 28, cols: 28 });
    const bytes = Uint8Array.from(atob(units.pixels), (ch) => ch.charCodeAt(0));
    expect(bytes.length).toBe(count * 784);
    for (let u = 0; u < count; u++) {
      const unit = bytes.subarray(u * 784, (u + 1) * 784);
      expect(Math.min(...unit)).toBe(0);
      expect(Math.max(...unit)).toBe(255);
    }
  }
  const units = async (path: string) => {
    const res = await exports.default.fetch(`http://edgeprop${path}`);
    expect(res.status).toBe(200);
    return (await res.json()) as { units: number; rows: number; cols: number; pixels: string; step: number };
  };

  test("of a run while it trains (its latest checkpoint), then of its model once it has ended", async () => {
    const res = await post("/v1/runs", { ...UNITS_SPEC, epochs: 40 }, ADMIN);
    const run = (await res.json()) as RunRecord;
    await vi.waitUntil(async () => (await getRecord<RunRecord>(env.STORE_BUCKET, run.id))!.record.step >= 1, { timeout: 30_000, interval: 20 });
    expectScaled(await units(`/v1/runs/${run.id}/units?max=8`), 8);
    expect((await post(`/v1/runs/${run.id}/cancel`, {}, ADMIN)).status).toBe(200);
    // Cancelled without a model: its checkpoints are gone, so there is nothing to picture.
    expect((await exports.default.fetch(`http://edgeprop/v1/runs/${run.id}/units`)).status).toBe(404);

    const finished = (await (await post("/v1/runs", { ...UNITS_SPEC, epochs: 1 }, ADMIN)).json()) as RunRecord;
    const done = await vi.waitUntil(async () => {
      const r = (await getRecord<RunRecord>(env.STORE_BUCKET, finished.id))!.record;
      return r.status === "succeeded" && r.promoted !== null ? r : false;
    }, { timeout: 60_000, interval: 50 });
    expectScaled(await units(`/v1/runs/${done.id}/units?max=8`), 8);
    expect((await units(`/v1/models/${done.modelId}/units`)).units).toBe(20);
  });

  test("unknown ids → 404; max out of range → 400", async () => {
    expect((await exports.default.fetch("http://edgeprop/v1/runs/run-nope/units")).status).toBe(404);
    expect((await exports.default.fetch("http://edgeprop/v1/models/nope/units")).status).toBe(404);
    expect((await exports.default.fetch("http://edgeprop/v1/runs/run-nope/units?max=0")).status).toBe(400);
  });
});
