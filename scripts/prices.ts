/**
 * Cloudflare's list prices, in one place, and what a training run costs at them (`npm run bench` prices
 * specs/mnist-98.json with the CPU time it measures).
 *
 * The prices were not fetched (this machine has no network): they are Cloudflare's published prices as known for
 * 2025–2026, from the pages named below, cross-checked against third-party transcriptions dated 2026. Check the pages
 * before relying on them. `included` is the monthly usage the Workers Paid plan ($5 a month) includes.
 *
 * What a run does is counted from the code: RUN_START, PER_STEP and RUN_END list each platform call with the
 * function that makes it (src/training/runs.ts, src/training/consumer.ts, src/storage/runs.ts, src/storage/models.ts,
 * src/training/promotion.ts); how many steps, and which dataset shards each reads, come from the run's plan
 * (src/training/plan.ts, with STEP_WORK from wrangler.toml).
 */
import { readFileSync } from "node:fs";
import type { DatasetManifest, SplitManifest } from "../src/data/shards";
import { encodeModel } from "../src/nn/model-codec";
import { encodeCheckpoint } from "../src/training/checkpoint";
import { initialCheckpoint, makePlan, shardsNeeded } from "../src/training/plan";
import { epochsOf, RunSpecSchema, type RunSpec } from "../src/training/spec";

/** One price: `usd` per `per` units, the usage Workers Paid includes each month, and where it is published. */
export interface Price {
  usd: number;
  per: number;
  unit: string;
  included: number;
  page: string;
}

const AS_OF = "2025–2026, as published; not fetched here";

/** The list prices (USD). */
export const PRICES = {
  workersRequests: { usd: 0.3, per: 1e6, unit: "requests (a queue consumer invocation counted as one)", included: 10e6, page: "https://developers.cloudflare.com/workers/platform/pricing/" },
  workersCpu: { usd: 0.02, per: 1e6, unit: "CPU milliseconds", included: 30e6, page: "https://developers.cloudflare.com/workers/platform/pricing/" },
  queueOperations: { usd: 0.4, per: 1e6, unit: "queue operations (each 64 KB written, read or deleted: a message is 3)", included: 1e6, page: "https://developers.cloudflare.com/queues/platform/pricing/" },
  r2ClassA: { usd: 4.5, per: 1e6, unit: "R2 class A operations (put, list)", included: 1e6, page: "https://developers.cloudflare.com/r2/pricing/" },
  r2ClassB: { usd: 0.36, per: 1e6, unit: "R2 class B operations (get, head)", included: 10e6, page: "https://developers.cloudflare.com/r2/pricing/" },
  r2Storage: { usd: 0.015, per: 1, unit: "R2 GB-month (deletes are free)", included: 10, page: "https://developers.cloudflare.com/r2/pricing/" },
  kvWrites: { usd: 5, per: 1e6, unit: "KV writes", included: 1e6, page: "https://developers.cloudflare.com/kv/platform/pricing/" },
} as const satisfies Record<string, Price>;
export const PRICES_AS_OF = AS_OF;
export type PriceItem = keyof typeof PRICES;

/** Platform calls: R2 class A and B operations, KV writes, queue messages, Worker invocations. */
interface Calls {
  r2ClassA: number;
  r2ClassB: number;
  kvWrites: number;
  messages: number;
  requests: number;
}

/** POST /v1/runs (startRun): readManifest get; checkpoint 0, record and active marker puts; the first message. */
export const RUN_START: Calls = { r2ClassA: 3, r2ClassB: 1, kvWrites: 0, messages: 1, requests: 1 };

/**
 * One applied step (processStep, then followUp), before its shard reads: getRecord get, recordDelivery put,
 * checkpointExists head, getCheckpointBytes get, readManifest get, putCheckpoint put, the next message, updateRecord
 * get + put; pruneCheckpoints deletes (free). Its invocation is one request.
 */
export const PER_STEP: Calls = { r2ClassA: 3, r2ClassB: 5, kvWrites: 0, messages: 1, requests: 1 };

/**
 * The message that finds the last checkpoint done (processStep → finishRun → settleRun → promoteModel → retire):
 * getRecord get, recordDelivery put, checkpointExists head, getCheckpointBytes get; putModel put + KV write;
 * updateRecord get + put; getModelMeta head; servingShape's readManifest get; getServingRecord get; setServing put +
 * KV write (when promoted); updateRecord get + put; deleteRunScratch's two lists. No further message.
 */
export const RUN_END: Calls = { r2ClassA: 7, r2ClassB: 8, kvWrites: 2, messages: 0, requests: 1 };

/** MNIST as `npm start` loads it: 55 000 training, 5 000 validation and 10 000 test digits in shards of 1 000. */
function mnistManifest(): DatasetManifest {
  const split = (count: number, name: string): SplitManifest => ({
    count, shardSize: 1000,
    shards: Array.from({ length: count / 1000 }, (_, i) => ({ key: `${name}/${i}`, count: 1000, bytes: 784_000, crc32: 0 })),
  });
  return { name: "mnist", version: "v", rows: 28, cols: 28, classes: 10, train: split(55_000, "train"), validation: split(5_000, "validation"), test: split(10_000, "test"), checksum: 0, createdAt: "" };
}

/** STEP_WORK from wrangler.toml's [vars]. */
export function stepWorkOf(wranglerToml: string): number {
  const m = /^STEP_WORK\s*=\s*"([^"]+)"/m.exec(wranglerToml);
  if (m === null || !Number.isFinite(Number(m[1]))) throw new Error("prices: no STEP_WORK in wrangler.toml's [vars]");
  return Number(m[1]);
}

/** What a first-order run of `spec` on MNIST does: steps, platform calls, stored bytes. */
export interface RunUsage {
  trainSteps: number;
  evalSteps: number;
  evaluations: number;
  /** Shard reads when no shard is in the isolate's cache (an upper bound: the cache holds 32 MB). */
  shardReads: number;
  calls: Calls;
  checkpointBytes: number;
  modelBytes: number;
}

/** Walks the run's plan step by step (the windows the consumer loads shards for). */
export function runUsage(spec: RunSpec, stepWork: number): RunUsage {
  if (spec.optimizer.name === "cg") throw new Error("prices: a first-order run is priced; cg runs are cut differently");
  const plan = makePlan(spec, mnistManifest(), stepWork);
  const ck = initialCheckpoint(spec);
  let [trainSteps, evalSteps, evaluations, shardReads] = [0, 0, 0, 0];
  const epochs = epochsOf(spec);
  for (let epoch = 0; epoch < epochs; epoch++) {
    Object.assign(ck, { phase: "train", epoch });
    for (ck.cursor = 0; ck.cursor < plan.trainCount; ck.cursor += plan.examplesPerStep, trainSteps++) shardReads += shardsNeeded(spec, plan, ck).length;
    if ((epoch + 1) % spec.evalEvery !== 0 && epoch + 1 < epochs) continue;
    evaluations++;
    ck.phase = "evaluate";
    for (ck.cursor = 0; ck.cursor < plan.validationCount; ck.cursor += plan.evalExamplesPerStep, evalSteps++) shardReads += shardsNeeded(spec, plan, ck).length;
  }
  ck.phase = "test";
  for (ck.cursor = 0; ck.cursor < plan.testCount; ck.cursor += plan.evalExamplesPerStep, evalSteps++) shardReads += shardsNeeded(spec, plan, ck).length;
  const steps = trainSteps + evalSteps;
  const sum = (k: keyof Calls) => RUN_START[k] + steps * PER_STEP[k] + RUN_END[k];
  return {
    trainSteps, evalSteps, evaluations, shardReads,
    calls: { r2ClassA: sum("r2ClassA"), r2ClassB: sum("r2ClassB") + shardReads, kvWrites: sum("kvWrites"), messages: sum("messages"), requests: sum("requests") },
    checkpointBytes: encodeCheckpoint(ck).length,
    modelBytes: encodeModel({ layers: spec.layers, loss: spec.loss, params: ck.params }).length,
  };
}

/** One line of a run's bill: the usage of one price and what it costs at the list price (before included usage). */
export interface CostLine {
  item: PriceItem;
  usage: number;
  usd: number;
}

/**
 * The run's bill at list prices. CPU: `cpuMs` (measured). Storage: the model kept for a month, and two checkpoints
 * alive for the run's wall time `wallSeconds`.
 */
export function runCost(u: RunUsage, cpuMs: number, wallSeconds: number): { lines: CostLine[]; usd: number; runsPerMonthIncluded: number } {
  const monthSeconds = 30 * 24 * 3600;
  const usage: Record<PriceItem, number> = {
    workersRequests: u.calls.requests,
    workersCpu: cpuMs,
    queueOperations: 3 * u.calls.messages,
    r2ClassA: u.calls.r2ClassA,
    r2ClassB: u.calls.r2ClassB,
    r2Storage: (u.modelBytes + (2 * u.checkpointBytes * wallSeconds) / monthSeconds) / 1e9,
    kvWrites: u.calls.kvWrites,
  };
  const lines = (Object.keys(PRICES) as PriceItem[]).map((item) => ({ item, usage: usage[item], usd: (usage[item] * PRICES[item].usd) / PRICES[item].per }));
  const runsPerMonthIncluded = Math.floor(Math.min(...lines.map((l) => PRICES[l.item].included / l.usage)));
  return { lines, usd: lines.reduce((s, l) => s + l.usd, 0), runsPerMonthIncluded };
}

/** specs/mnist-98.json, parsed as the API parses a spec. */
export const mnist98 = (root: string): RunSpec => RunSpecSchema.parse(JSON.parse(readFileSync(`${root}specs/mnist-98.json`, "utf8")));
