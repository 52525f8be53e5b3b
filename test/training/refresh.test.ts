/**
 * Warm starts and refresh runs, through the real local queue, R2 and KV: a warm-started cg run is the course's fmincg
 * run straight through from the same weights, a warm-started first-order run continues from its parent's weights
 * exactly, corrections split into training and holdout by a stable hash and the holdout never trains, the promotion
 * guard promotes and refuses, and the daily check starts a refresh past REFRESH_MIN_CORRECTIONS, once.
 */
import { env, exports } from "cloudflare:workers";
import { beforeAll, describe, expect, test, vi } from "vitest";
import handwriting from "../../data/handwriting/optdigits-a.json";
// @ts-expect-error: the page's plain JavaScript, without type declarations.
import { toPageForm } from "../../public/js/handwriting.js";
import { epochOrder } from "../../src/data/batches";
import { decodeShard } from "../../src/data/shards";
import { kernelFactory } from "../../src/kernels";
import { fmincg } from "../../src/nn/fmincg";
import { randInitialize } from "../../src/nn/init";
import { createLayout, type Layout, type Loss } from "../../src/nn/layout";
import { decodeModel } from "../../src/nn/model-codec";
import { costGradient, createWorkspace, regularize } from "../../src/nn/network";
import { createFirstOrder, optimizerStep } from "../../src/nn/optimizers";
import { pixelsToUnit } from "../../src/nn/pixels";
import { seedRng } from "../../src/nn/random";
import { HOLDOUT_EVERY, partOf } from "../../src/storage/feedback";
import { keys } from "../../src/storage/keys";
import { getModelBlob, getModelMeta } from "../../src/storage/models";
import { getRecord } from "../../src/storage/runs";
import { stepBuffers } from "../../src/training/buffers";
import { CHUNK_ROWS } from "../../src/training/plan";
import { ENDED, type RunRecord } from "../../src/training/record";
import { binomialTail } from "../../src/training/chance";
import { figuresOf, refreshVerdict } from "../../src/training/guard";
import type { RefreshReport } from "../../src/storage/models";
import { TEST_ADMIN_TOKEN } from "../helpers/api";
import { asNewClient } from "../helpers/client";
import { mnistDigits, storeMnist } from "../helpers/mnist";

const ADMIN = { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, "content-type": "application/json" };
const TRAIN = 3000;
const TEST = 1000;
/** Real handwritten digits sent as corrections (of data/handwriting/'s 899). */
const CORRECTIONS = 400;
let train: { pixels: Uint8Array; labels: Uint8Array };

/** A request to the Worker, as a client of its own; admin when `admin`. */
async function call(method: string, path: string, body?: unknown, admin = true): Promise<{ status: number; body: any }> {
  const headers = asNewClient(admin ? ADMIN : { "content-type": "application/json" });
  const res = await exports.default.fetch(`http://edgeprop${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  return { status: res.status, body: await res.json() };
}

const record = async (id: string) => (await getRecord<RunRecord>(env.STORE_BUCKET, id))!.record;
const waitForEnd = (id: string): Promise<RunRecord> =>
  vi.waitUntil(async () => {
    const r = await record(id);
    if (r.lastError !== null) throw new Error(`run ${id} step ${r.lastError.step} failed: ${r.lastError.message}`);
    return ENDED.includes(r.status) && !(r.status === "succeeded" && r.promoted === null) ? r : false;
  }, { timeout: 120_000, interval: 100 });

/** Imports weights as a model (POST /v1/models) and returns its id and the float32 weights stored. */
async function importModel(layers: number[], loss: Loss, seed: number): Promise<{ id: string; params: Float32Array }> {
  const layout = createLayout(layers);
  const params = new Float32Array(layout.count);
  randInitialize(layout, seedRng(seed), params, 0.12);
  const res = await call("POST", "/v1/models", { layers, loss, params: Array.from(params), name: `seed-${seed}` });
  expect(res.status).toBe(201);
  return { id: res.body.id, params };
}

/** Sends these digits (pixels in [0, 1]) as corrections (anonymous POST /v1/feedback) and returns their ids. */
async function sendCorrections(images: readonly Float32Array[], labels: readonly number[]): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < labels.length; i++) {
    const res = await call("POST", "/v1/feedback", { image: Array.from(images[i]), label: labels[i] }, false);
    expect(res.status).toBe(201);
    ids.push(res.body.id);
  }
  return ids;
}

/** Accepts corrections through the review API. */
async function accept(ids: string[]): Promise<void> {
  for (let i = 0; i < ids.length; i += 100) {
    const res = await call("POST", "/v1/feedback/review", { accept: ids.slice(i, i + 100) });
    expect(res.status).toBe(200);
  }
}

/**
 * Real handwriting that is not MNIST (data/handwriting/: UCI optical digits) from..from+count, in the form the page
 * sends for a drawing (its own code: public/js/handwriting.js and the pad's preprocessing).
 */
function handwrittenDigits(from: number, count: number): { images: Float32Array[]; labels: number[] } {
  const images = handwriting.images.slice(from, from + count).map((values) => toPageForm(values) as Float32Array);
  return { images, labels: handwriting.labels.slice(from, from + count) };
}

/** Examples `idx` of the stored training digits as a float32 batch (pixels / 255, as a step gathers them). */
function batchOf(idx: ArrayLike<number>, X: Float32Array, y: Uint8Array): void {
  for (let r = 0; r < idx.length; r++) {
    pixelsToUnit(X, r * 784, train.pixels, idx[r] * 784, 784);
    y[r] = train.labels[idx[r]];
  }
}

beforeAll(async () => {
  await storeMnist("mnist", TRAIN, TEST);
  train = await mnistDigits("train", 0, 4000);
});

describe("warm starts", () => {
  test("a warm-started cg run gives, bit for bit, the weights of fmincg run straight through from the same imported weights", async () => {
    const layers = [784, 12, 10];
    const { id: parent, params } = await importModel(layers, "sigmoid", 21);
    const m = 1500; // two chunks of CHUNK_ROWS: the sums go chunk by chunk, as in a step
    const spec = { dataset: "mnist", layers, loss: "sigmoid", optimizer: { name: "cg", iterations: 6 }, lambda: 1, trainLimit: m, init: { model: parent }, evalEvery: 6, promote: "never" };
    const started = await call("POST", "/v1/runs", spec);
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({ kind: "train", parentModelId: parent, refresh: null });
    const done = await waitForEnd(started.body.id);
    expect(done.status).toBe("succeeded");

    // fmincg straight through in src/nn, from the imported weights, on the same examples, the cost summed as a step does.
    const layout = createLayout(layers);
    const X = new Float32Array(m * 784);
    const y = new Uint8Array(m);
    batchOf(Array.from({ length: m }, (_, i) => i), X, y);
    const rows = Math.min(CHUNK_ROWS, m);
    const ws = createWorkspace(layout, rows, Float64Array);
    const chunk = new Float64Array(layout.count);
    const cost = (x: Float64Array, grad: Float64Array): number => {
      grad.fill(0);
      let lossSum = 0;
      for (let from = 0; from < m; from += rows) {
        const n = Math.min(rows, m - from);
        lossSum += n * costGradient(layout, "sigmoid", x, X.subarray(from * 784, (from + n) * 784), y.subarray(from, from + n), n, 0, chunk, ws);
        for (let t = 0; t < chunk.length; t++) grad[t] += n * chunk[t];
      }
      for (let t = 0; t < grad.length; t++) grad[t] /= m;
      return lossSum / m + regularize(layout, x, 1, m, grad);
    };
    const straight = fmincg(cost, Float64Array.from(params), 6);
    expect(done.history.map((h) => h.loss)).toEqual(straight.costs);
    const model = decodeModel((await getModelBlob(env.STORE_BUCKET, done.modelId!))!);
    expect(Array.from(model.params)).toEqual(Array.from(Float32Array.from(straight.x)));

    // The model's metadata names its parent.
    const meta = await getModelMeta(env.STORE_BUCKET, done.modelId!);
    expect(meta).toMatchObject({ parent: { modelId: parent, kind: "warm", corrections: 0 }, lineage: [parent], dataAt: done.createdAt });
  });

  test("a warm-started first-order run continues exactly from its parent's weights", async () => {
    const layers = [784, 16, 10];
    const { id: parent, params } = await importModel(layers, "softmax", 22);
    const [m, batch, seed] = [600, 50, 5];
    const optimizer = { name: "momentum", learningRate: 0.1, momentum: 0.9 };
    const spec = { dataset: "mnist", layers, optimizer, batchSize: batch, epochs: 2, seed, trainLimit: m, lambda: 0.5, init: { model: parent }, promote: "never" };
    const started = await call("POST", "/v1/runs", spec);
    expect(started.status).toBe(202);
    const done = await waitForEnd(started.body.id);
    expect(done.status).toBe("succeeded");

    // The same batches straight through from the parent's weights, on the run's kernels.
    const layout: Layout = createLayout(layers);
    const b = stepBuffers(kernelFactory, done.plan.kernel!, layout, batch, params, true);
    const st = createFirstOrder("momentum", b.params, optimizer);
    const y = new Uint8Array(batch);
    for (let epoch = 0; epoch < 2; epoch++) {
      const order = epochOrder(seed, epoch, m, done.plan.shardSize);
      for (let from = 0; from < m; from += batch) {
        batchOf(order.subarray(from, from + batch), b.X as Float32Array, y);
        costGradient(layout, "softmax", b.params, b.X, y, batch, 0.5, b.grad, b.ws, m);
        optimizerStep(st, b.params, b.grad!);
      }
    }
    const model = decodeModel((await getModelBlob(env.STORE_BUCKET, done.modelId!))!);
    expect(Array.from(model.params)).toEqual(Array.from(b.params));
    expect(Array.from(model.params)).not.toEqual(Array.from(params));
  });

  test.each([
    ["a model that does not exist", { model: "m-nope" }, [784, 16, 10], "softmax", 404, /init.model: there is no model m-nope/],
    ["other layers", "parent", [784, 20, 10], "softmax", 400, /its layers 784-16-10 are not the spec's 784-20-10/],
    ["another loss", "parent", [784, 16, 10], "sigmoid", 400, /its loss softmax is not the spec's sigmoid/],
  ])("init.model: %s is refused, naming it", async (_name, init, layers, loss, status, message) => {
    const { id } = await importModel([784, 16, 10], "softmax", 23);
    const res = await call("POST", "/v1/runs", { dataset: "mnist", layers, loss, optimizer: { name: "adam" }, epochs: 1, init: init === "parent" ? { model: id } : init });
    expect(res.status).toBe(status);
    expect(res.body.error.message).toMatch(message);
  });

  test("a refresh spec must start from a model", async () => {
    const res = await call("POST", "/v1/runs", { dataset: "mnist", layers: [784, 16, 10], optimizer: { name: "adam" }, refresh: {} });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/a refresh run starts from a model/);
  });
});

describe("the holdout split", () => {
  test("is a stable function of a correction's id, about one in five", () => {
    const ids = Array.from({ length: 5000 }, (_, i) => `0mx${(i * 7919).toString(36).padStart(6, "0")}-${(i * 2654435761 >>> 0).toString(16).padStart(12, "0")}`);
    const held = ids.filter((id) => partOf(id) === "holdout").length;
    expect(held / ids.length).toBeGreaterThan(0.17);
    expect(held / ids.length).toBeLessThan(0.23);
    expect(ids.map(partOf)).toEqual(ids.map(partOf));
    expect(HOLDOUT_EVERY).toBe(5);
  });
});

describe("the guard's test of chance", () => {
  test.each([
    [6, 8, 0.14453125], [115, 215, 0.16985028376712166], [118, 218, 0.12475787264320679], [20, 25, 0.0020386576652526855],
    [22, 24, 1.7940998077392578e-05], [10, 20, 0.5880985260009766], [2000, 3900, 0.05644682612967444], [30, 30, 9.313225746154785e-10],
  ])("P(X ≥ %i | n = %i, ½) = %f, as exact rational arithmetic gives it", (k, n, p) => {
    expect(binomialTail(k, n)).toBeCloseTo(p, 10);
    expect(Math.abs(binomialTail(k, n) - p) / p).toBeLessThan(1e-9);
  });

  test("edges: nothing discordant is no evidence; k ≤ 0 is certain; bad counts are refused", () => {
    expect(binomialTail(0, 0)).toBe(1);
    expect(binomialTail(0, 7)).toBe(1);
    expect(binomialTail(7, 7)).toBeCloseTo(1 / 128, 15);
    expect(() => binomialTail(3, 2)).toThrow(RangeError);
    expect(() => binomialTail(1.5, 3)).toThrow(RangeError);
  });
});

describe("the promotion guard", () => {
  const figures = (holdout: [number, number], validation: [number, number], test: [number, number]) => ({
    holdout: figuresOf([holdout[0]], [holdout[1]]),
    validation: figuresOf([validation[0]], [validation[1]]),
    test: figuresOf([test[0]], [test[1]]),
  });
  /** A refresh whose holdout (100) and validation (5 000) answers changed by these gains and losses. */
  const report = (holdout: [number, number], validation: [number, number], maxValidationDrop = 0.3, test: [number, number] = [9000, 9000]): RefreshReport => {
    const [hg, hl] = holdout;
    const [vg, vl] = validation;
    return {
      corrections: 100, holdout: 100, replay: 1000, maxValidationDrop,
      before: figures([50, 100], [4500, 5000], [test[0], 10000]),
      after: figures([50 + hg - hl, 100], [4500 + vg - vl, 5000], [test[1], 10000]),
      changes: { holdout: { gained: hg, lost: hl }, validation: { gained: vg, lost: vl } },
    };
  };

  test.each<[string, RefreshReport, boolean, RegExp]>([
    ["holdout up by more than chance, validation unchanged", report([22, 2], [10, 10]), true, /^promoted: holdout 50.00% → 70.00% \(\+20.00 points: 22 gained, 2 lost, p < 0.0001\)/],
    ["holdout up, but not by more than chance", report([6, 2], [0, 0]), false, /holdout gain is not larger than chance .*p = 0.1445/],
    ["holdout unchanged", report([0, 0], [0, 0]), false, /holdout gain is not larger than chance/],
    ["holdout down", report([2, 12], [0, 0]), false, /holdout gain is not larger than chance/],
    ["validation down by more than chance", report([40, 0], [5, 20]), false, /validation accuracy dropped by more than chance.*5 gained, 20 lost, p = 0.0020/],
    ["validation down within chance, but past the bound", report([40, 0], [100, 118]), false, /dropped by more than 0.30 points.*−0.36 points: 100 gained, 118 lost, p = 0.1248/],
    ["validation down within chance and exactly the bound", report([40, 0], [100, 115]), true, /^promoted: .*validation 90.00% → 89.70% \(−0.30 points: 100 gained, 115 lost, p = 0.1699/],
    ["the same with a bound of 1 point", report([40, 0], [100, 118], 1), true, /^promoted/],
    ["the test set falls a lot: it only reports", report([40, 0], [10, 10], 0.3, [9000, 8000]), true, /test 90.00% → 80.00% \(reported only\)/],
  ])("%s", (_name, r, promote, reason) => {
    const verdict = refreshVerdict(r);
    expect(verdict.promote).toBe(promote);
    expect(verdict.reason).toMatch(reason);
  });

  test("no holdout corrections, or no figures, refuse", () => {
    const r = report([0, 0], [0, 0]);
    expect(refreshVerdict({ ...r, after: { ...r.after!, holdout: figuresOf([0], [0]) } }).reason).toMatch(/no holdout corrections/);
    expect(refreshVerdict({ ...r, changes: null }).promote).toBe(false);
  });
});

describe("refresh runs", () => {
  let parentId: string;
  let corrections: string[];

  beforeAll(async () => {
    // Nothing is served yet in this file (the warm starts promote nothing): a refresh has nothing to start from.
    const none = await call("POST", "/v1/refresh", {});
    expect(none.status).toBe(409);
    expect(none.body.error).toMatchObject({ code: "no_served_model" });
    // The served model: trained on the stored MNIST digits.
    const base = await call("POST", "/v1/runs", { dataset: "mnist", layers: [784, 64, 10], optimizer: { name: "adam", learningRate: 0.003 }, batchSize: 50, epochs: 3, seed: 2, promote: "always" });
    const done = await waitForEnd(base.body.id);
    expect(done.promoted).toBe(true);
    parentId = done.modelId!;
    // No accepted corrections yet: nothing to learn from.
    const empty = await call("POST", "/v1/refresh", {});
    expect(empty.status).toBe(409);
    expect(empty.body.error).toMatchObject({ code: "no_corrections" });
    // Corrections: real handwriting (not MNIST), as the page would send it, accepted through the review API.
    const digits = handwrittenDigits(0, CORRECTIONS);
    corrections = await sendCorrections(digits.images, digits.labels);
    await accept(corrections);
  }, 180_000);

  test("POST /v1/refresh is for the admin (401) and checks its options (400)", async () => {
    const anon = await call("POST", "/v1/refresh", {}, false);
    expect(anon.status).toBe(401);
    const bad = await call("POST", "/v1/refresh", { replay: 1000 });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/replay must be ≤ 100/);
    const unknown = await call("POST", "/v1/refresh", { epoch: 3 });
    expect(unknown.status).toBe(400);
  });

  test("on real handwriting: trains on the training split only, measures before and after, and the guard promotes it", async () => {
    const res = await call("POST", "/v1/refresh", {});
    expect(res.status).toBe(202);
    const run = res.body as RunRecord;
    const trainIds = corrections.filter((id) => partOf(id) === "train");
    const holdoutIds = corrections.filter((id) => partOf(id) === "holdout");
    // 30 replayed digits per correction, at most the 3 000 stored; each correction three times an epoch, augmented.
    const replay = Math.min(30 * trainIds.length, TRAIN);
    expect(run).toMatchObject({ kind: "refresh", parentModelId: parentId, refresh: { corrections: trainIds.length, holdout: holdoutIds.length, replay, maxValidationDrop: 0.3, before: null, after: null, changes: null } });
    expect(run.spec).toMatchObject({ init: { model: parentId }, epochs: 5, refresh: { repeat: 3 }, augment: { rotate: 10, shear: 10, scale: 0.1, translate: 1 } });
    expect(run.plan.trainCount).toBe(replay + 3 * trainIds.length);

    // The snapshots: the training split's corrections, newest first; the holdout's apart; none of one in the other.
    const pixelsUnder = async (prefix: string, holdout: boolean) => {
      const listed = (await env.STORE_BUCKET.list({ prefix })).objects.filter((o) => o.key.includes("/holdout-") === holdout);
      const shards = await Promise.all(listed.map(async (o) => decodeShard(new Uint8Array(await (await env.STORE_BUCKET.get(o.key))!.arrayBuffer()), o.key)));
      return shards.flatMap((sh) => Array.from({ length: sh.count }, (_, i) => sh.pixels.subarray(i * 784, (i + 1) * 784).join(",")));
    };
    const sent = handwrittenDigits(0, CORRECTIONS);
    const imageOf = (id: string) => Array.from(sent.images[corrections.indexOf(id)], (p) => Math.round(p * 255)).join(",");
    expect(await pixelsUnder(keys.feedbackSnapshotPrefix(run.id), false)).toEqual([...trainIds].reverse().map(imageOf));
    expect(await pixelsUnder(keys.feedbackSnapshotPrefix(run.id), true)).toEqual([...holdoutIds].reverse().map(imageOf));

    const done = await waitForEnd(run.id);
    expect(done.status).toBe("succeeded");
    expect(done.examplesSeen).toBe(5 * (replay + 3 * trainIds.length)); // five epochs; the evaluations are not counted
    const report = done.refresh!;
    expect(report.before!.holdout.count).toBe(holdoutIds.length);
    expect(report.before!.test.count).toBe(TEST);
    expect(report.before!.validation.count).toBe(TEST);
    expect(report.changes!.holdout.gained - report.changes!.holdout.lost).toBe(report.after!.holdout.correct - report.before!.holdout.correct);
    expect(report.changes!.validation.gained - report.changes!.validation.lost).toBe(report.after!.validation.correct - report.before!.validation.correct);
    expect(report.after!.holdout.perDigit.map((d) => d.count)).toEqual(report.before!.holdout.perDigit.map((d) => d.count));
    console.log(`refresh: holdout ${report.before!.holdout.accuracy} → ${report.after!.holdout.accuracy}, test ${report.before!.test.accuracy} → ${report.after!.test.accuracy}`);
    expect(report.after!.holdout.accuracy!).toBeGreaterThan(report.before!.holdout.accuracy! + 0.1);
    expect(done.promoted).toBe(true);
    expect(done.promotionReason).toMatch(/^promoted: holdout .* gained, .* lost, p [<=] [0-9.]+\), validation .* lost, p = [0-9.]+; a drop of up to 0.30 allowed\), test .* \(reported only\)$/);
    expect((await call("GET", "/healthz", undefined, false)).body.servingModelId).toBe(done.modelId);

    // Lineage, on the model and on GET /v1/refresh.
    const meta = (await call("GET", `/v1/models/${done.modelId}`, undefined, false)).body;
    expect(meta).toMatchObject({ parent: { modelId: parentId, kind: "refresh", corrections: trainIds.length }, lineage: [parentId], refresh: { corrections: trainIds.length } });
    const status = (await call("GET", "/v1/refresh", undefined, false)).body;
    expect(status).toMatchObject({ served: { modelId: done.modelId, parent: { modelId: parentId, kind: "refresh" }, lineage: [parentId] }, newCorrections: null, threshold: 50, active: null });
    expect(status.recent[0]).toMatchObject({ runId: run.id, promoted: true, refresh: { after: { holdout: { count: holdoutIds.length } } } });
    expect((await call("GET", "/v1/refresh")).body.newCorrections).toBe(0); // admin: none new since this refresh's data

    // After it, the holdout snapshot is gone with the run's other scratch.
    expect((await env.STORE_BUCKET.list({ prefix: keys.feedbackSnapshotPrefix(run.id) })).objects).toEqual([]);
  });

  test("the guard refuses a refresh that forgets the validation set (no replay, a bound of 0 points)", async () => {
    const res = await call("POST", "/v1/refresh", { replay: 0, epochs: 8, learningRate: 0.2, maxValidationDrop: 0 });
    expect(res.status).toBe(202);
    const done = await waitForEnd(res.body.id);
    expect(done.status).toBe("succeeded");
    const r = done.refresh!;
    console.log(`refused refresh: holdout ${r.before!.holdout.accuracy} → ${r.after!.holdout.accuracy}, test ${r.before!.test.accuracy} → ${r.after!.test.accuracy}`);
    expect(done.promoted).toBe(false);
    expect(done.promotionReason).toMatch(/^not promoted: the (validation accuracy dropped|holdout gain is not larger than chance)/);
    expect((await call("GET", "/healthz", undefined, false)).body.servingModelId).toBe(done.parentModelId);
  });
});

describe("the daily refresh check", () => {
  test("starts a refresh only past REFRESH_MIN_CORRECTIONS new corrections, and only once", async () => {
    const check = async () => (await call("POST", "/v1/cron/refresh")).body as { started: string | null; reason: string };
    const before = await check();
    expect(before.started).toBeNull();
    expect(before.reason).toMatch(/fewer than REFRESH_MIN_CORRECTIONS \(50\)|still/);

    // 90 corrections: at least 50 of the training split (a hash puts about 72 there).
    const digits = handwrittenDigits(CORRECTIONS, 90);
    const ids = await sendCorrections(digits.images, digits.labels);
    const trainPart = ids.filter((id) => partOf(id) === "train").length;
    expect(trainPart).toBeGreaterThanOrEqual(50);
    // Accepted in two halves: below the threshold nothing starts.
    const firstHalf = ids.filter((id) => partOf(id) === "train").slice(0, 40);
    await accept(firstHalf);
    const below = await check();
    expect(below.started).toBeNull();
    expect(below.reason).toMatch(/^40 new accepted corrections since .*, fewer than REFRESH_MIN_CORRECTIONS \(50\)$/);
    await accept(ids.filter((id) => !firstHalf.includes(id)));
    const first = await check();
    expect(first.started).not.toBeNull();
    const again = await check();
    expect(again).toEqual({ started: null, reason: `refresh run ${first.started} is still ${(await record(first.started!)).status}` });
    await waitForEnd(first.started!);
    const after = await check();
    expect(after.started).toBeNull();
    expect(after.reason).toMatch(/^0 new accepted corrections since/);
  });
});

describe("the model a refresh starts from", () => {
  test("cannot be deleted while the refresh runs (it is measured at the end); once it has ended, it can", async () => {
    const served = (await call("GET", "/healthz", undefined, false)).body.servingModelId as string;
    const started = await call("POST", "/v1/refresh", { epochs: 50 });
    expect(started.status).toBe(202);
    // Another model is promoted meanwhile, so that the parent is no longer served.
    const other = await importModel([784, 64, 10], "softmax", 31);
    expect((await call("POST", `/v1/models/${other.id}/promote`)).status).toBe(200);
    const refused = await call("DELETE", `/v1/models/${served}`);
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({ code: "model_in_use" });
    expect(refused.body.error.message).toContain(started.body.id);
    expect((await call("POST", `/v1/runs/${started.body.id}/cancel`)).status).toBe(200);
    expect((await call("DELETE", `/v1/models/${served}`)).status).toBe(200);
  });
});
