/**
 * The config module: each var parsed into its type or refused with a ConfigError naming the var, its value and what
 * is allowed; parsed once per env; a bad var stops only what reads it. And how a bad var surfaces: HTTP 500
 * `misconfigured`, a queue message retried until the var is fixed, the watchdog failing, the scheduled run's reason.
 */
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, test, vi } from "vitest";
import worker from "../src";
import { app } from "../src/app";
import { ConfigError, configOf, MAX_STEP_WORK, type Config } from "../src/config";
import type { TrainMessage } from "../src/env";
import { getRecord, listActive, updateRecord } from "../src/storage/runs";
import { startScheduledRun, watchdog } from "../src/training/cron";
import type { RunRecord } from "../src/training/record";
import { startRun } from "../src/training/runs";
import { RunSpecSchema } from "../src/training/spec";
import { asNewClient } from "./helpers/client";
import { storeMnist } from "./helpers/mnist";

const GOOD = {
  STEP_WORK: "2e9", WATCHDOG_STALL_SECONDS: "300", SCHEDULED_RUN_SPEC: "", PROMOTE_POLICY: "better",
  CORS_ORIGINS: "*", FEEDBACK_PENDING_MAX: "1000", SERVING_DATASET: "mnist", REFRESH_MIN_CORRECTIONS: "50", REFRESH_MAX_VALIDATION_DROP: "0.3",
};

/** The ConfigError that reading `key` of a config of GOOD with `vars` throws. */
function refusal(key: keyof Config, vars: Record<string, string | undefined>): ConfigError {
  try {
    configOf({ ...GOOD, ...vars })[key];
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error(`${key} was not refused`);
}

afterEach(() => vi.restoreAllMocks());

describe("each var", () => {
  test.each<[keyof Config, string, unknown]>([
    ["stepWork", "7e7", 7e7],
    ["stepWork", "1500000", 1.5e6],
    ["stepWork", String(MAX_STEP_WORK), MAX_STEP_WORK],
    ["watchdogStallSeconds", "60", 60],
    ["scheduledRunSpec", " ", null],
    ["promotePolicy", "never", "never"],
    ["corsOrigins", "https://a.example, *", { anyOrigin: true, named: new Set(["https://a.example"]) }],
    ["feedbackPendingMax", "0", 0],
    ["servingDataset", "digits-2", "digits-2"],
    ["refreshMinCorrections", "1", 1],
    ["refreshMaxValidationDrop", "0", 0],
    ["refreshMaxValidationDrop", "0.5", 0.5],
  ])("%s reads %j as %j", (key, text, value) => {
    const name = { stepWork: "STEP_WORK", watchdogStallSeconds: "WATCHDOG_STALL_SECONDS", scheduledRunSpec: "SCHEDULED_RUN_SPEC", promotePolicy: "PROMOTE_POLICY", corsOrigins: "CORS_ORIGINS", feedbackPendingMax: "FEEDBACK_PENDING_MAX", servingDataset: "SERVING_DATASET", refreshMinCorrections: "REFRESH_MIN_CORRECTIONS", refreshMaxValidationDrop: "REFRESH_MAX_VALIDATION_DROP" }[key];
    expect(configOf({ ...GOOD, [name]: text })[key]).toEqual(value);
  });

  test("a scheduled run spec is the run spec POST /v1/runs would take", () => {
    const spec = { layers: [784, 8, 10], optimizer: { name: "adam" }, epochs: 1 };
    expect(configOf({ ...GOOD, SCHEDULED_RUN_SPEC: JSON.stringify(spec) }).scheduledRunSpec).toEqual(RunSpecSchema.parse(spec));
  });

  test.each<[keyof Config, Record<string, string | undefined>, string]>([
    ["stepWork", { STEP_WORK: "lots" }, 'STEP_WORK must be a number of example × parameter products > 0 and ≤ 30000000000 (2e9 is 0.15–0.4 s of CPU on the WebAssembly kernels), got "lots"'],
    ["stepWork", { STEP_WORK: "0" }, 'got "0"'],
    ["stepWork", { STEP_WORK: "1e11" }, 'got "1e11"'],
    ["stepWork", { STEP_WORK: "-2e9" }, 'got "-2e9"'],
    ["stepWork", { STEP_WORK: "0x10" }, 'got "0x10"'],
    ["stepWork", { STEP_WORK: undefined }, "STEP_WORK is not set: it must be a number of example × parameter products"],
    ["watchdogStallSeconds", { WATCHDOG_STALL_SECONDS: "" }, 'WATCHDOG_STALL_SECONDS must be a whole number of seconds in 30..86400, got ""'],
    ["watchdogStallSeconds", { WATCHDOG_STALL_SECONDS: "5" }, 'got "5"'],
    ["watchdogStallSeconds", { WATCHDOG_STALL_SECONDS: "300.5" }, 'got "300.5"'],
    ["scheduledRunSpec", { SCHEDULED_RUN_SPEC: "{" }, "SCHEDULED_RUN_SPEC is not JSON: "],
    ["scheduledRunSpec", { SCHEDULED_RUN_SPEC: '{"layers":[784,8,10]}' }, "SCHEDULED_RUN_SPEC is invalid: optimizer: "],
    ["promotePolicy", { PROMOTE_POLICY: "Better" }, 'PROMOTE_POLICY must be one of "better", "always", "never", got "Better"'],
    ["corsOrigins", { CORS_ORIGINS: "https://a.example/" }, 'CORS_ORIGINS entry "https://a.example/" is not "*" or an origin'],
    ["feedbackPendingMax", { FEEDBACK_PENDING_MAX: "1001" }, 'FEEDBACK_PENDING_MAX must be an integer in 0..1000, got "1001"'],
    ["servingDataset", { SERVING_DATASET: "" }, 'SERVING_DATASET must be a dataset name (lowercase letters, digits and dashes, such as mnist), got ""'],
    ["servingDataset", { SERVING_DATASET: "MNIST" }, 'got "MNIST"'],
    ["refreshMinCorrections", { REFRESH_MIN_CORRECTIONS: "0" }, 'REFRESH_MIN_CORRECTIONS must be a whole number of corrections in 1..20000, got "0"'],
    ["refreshMinCorrections", { REFRESH_MIN_CORRECTIONS: "2.5" }, 'got "2.5"'],
    ["refreshMaxValidationDrop", { REFRESH_MAX_VALIDATION_DROP: "-1" }, 'REFRESH_MAX_VALIDATION_DROP must be a number of accuracy points in 0..100, got "-1"'],
  ])("%s refuses %j, naming the var, the value and what is allowed", (key, vars, message) => {
    const err = refusal(key, vars);
    expect(err.varName).toBe(Object.keys(vars)[0]);
    expect(err.message).toContain(message);
  });
});

describe("configOf", () => {
  test("parses an env once: the same config, and the same error, every time", () => {
    const vars = { ...GOOD, PROMOTE_POLICY: "sometimes" };
    const config = configOf(vars);
    expect(configOf(vars) === config).toBe(true);
    let first: unknown;
    let second: unknown;
    try { config.promotePolicy; } catch (e) { first = e; }
    try { config.promotePolicy; } catch (e) { second = e; }
    expect(first).toBeInstanceOf(ConfigError);
    expect(second).toBe(first);
    expect(configOf({ ...vars }) === config).toBe(false);
  });

  test("a bad var stops only what reads it", () => {
    const config = configOf({ ...GOOD, STEP_WORK: "lots", CORS_ORIGINS: "nope" });
    expect(() => config.stepWork).toThrow(ConfigError);
    expect(() => config.corsOrigins).toThrow(/CORS_ORIGINS entry "nope"/);
    expect(config.feedbackPendingMax).toBe(1000);
    expect(config.servingDataset).toBe("mnist");
  });

  test("warns of a string var it does not know (a typo), once per env, and not of the secret", () => {
    const warned = vi.spyOn(console, "warn").mockImplementation(() => {});
    const config = configOf({ ...GOOD, ADMIN_TOKEN: "t", STEP_WROK: "1e9" });
    expect(config.stepWork).toBe(2e9);
    expect(warned).toHaveBeenCalledTimes(1);
    expect(warned.mock.calls[0][0]).toMatch(/^edgeprop: unknown vars STEP_WROK are ignored \(the vars are STEP_WORK, /);
  });
});

describe("a bad var surfaces", () => {
  const ADMIN = { authorization: "Bearer test-admin-token", "content-type": "application/json" };
  const fetchWith = (vars: Record<string, string>, path: string, init: RequestInit = {}) => app.fetch(new Request(`http://edgeprop${path}`, init), { ...env, ...vars });

  beforeAll(async () => {
    await storeMnist("mnist-cfg", 300, 100);
  });

  test("over HTTP as 500 misconfigured naming it, logged, where a route reads it; other routes serve", async () => {
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    const vars = { FEEDBACK_PENDING_MAX: "many" };
    const res = await fetchWith(vars, "/v1/feedback", { headers: asNewClient() });
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: { code: "misconfigured", message: 'FEEDBACK_PENDING_MAX must be an integer in 0..1000, got "many"' } });
    expect(logged.mock.calls.flat().join(" ")).toContain("ConfigError: FEEDBACK_PENDING_MAX");
    expect((await fetchWith(vars, "/healthz")).status).toBe(200);
  });

  test("a run is refused before anything is stored when STEP_WORK is bad", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const before = await listActive(env.STORE_BUCKET);
    const spec = { dataset: "mnist-cfg", layers: [784, 4, 10], optimizer: { name: "adam" }, epochs: 1 };
    const res = await fetchWith({ STEP_WORK: "2e9 " }, "/v1/runs", { method: "POST", headers: ADMIN, body: JSON.stringify(spec) });
    expect(res.status).toBe(500);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/^STEP_WORK must be/);
    expect(await listActive(env.STORE_BUCKET)).toEqual(before);
  });

  test("in cron: the watchdog fails naming it; the scheduled run gives it as its reason", async () => {
    await expect(watchdog({ ...env, WATCHDOG_STALL_SECONDS: "soon" })).rejects.toThrow(/WATCHDOG_STALL_SECONDS must be a whole number of seconds/);
    expect(await startScheduledRun({ ...env, SCHEDULED_RUN_SPEC: "[]" })).toEqual({ started: null, reason: expect.stringMatching(/^SCHEDULED_RUN_SPEC is invalid: : /) });
  });

  test("in the queue: the message that needs it is retried, logged, and settles once the var is fixed", async () => {
    vi.spyOn(console, "log").mockImplementation(() => {});
    const run = await startRun(env, RunSpecSchema.parse({ dataset: "mnist-cfg", layers: [784, 4, 10], optimizer: { name: "sgd", learningRate: 0.5 }, epochs: 1, batchSize: 100 }));
    const done = await vi.waitUntil(async () => {
      const r = (await getRecord<RunRecord>(env.STORE_BUCKET, run.id))!.record;
      return r.promoted !== null ? r : false;
    }, { timeout: 30_000, interval: 50 });
    // As if the finishing step had stopped after its commit: succeeded, the promotion still to decide.
    await updateRecord<RunRecord>(env.STORE_BUCKET, run.id, (r) => ({ ...r, promoted: null, promotionReason: null }));
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    const message = { id: "m1", timestamp: new Date(), attempts: 1, body: { runId: run.id, step: done.step } };
    const ctx = createExecutionContext();
    const bad = createMessageBatch<TrainMessage>("edgeprop-train", [message]);
    await worker.queue(bad, { ...env, PROMOTE_POLICY: "sometimes" }, ctx);
    expect((await getQueueResult(bad, ctx)).retryMessages).toEqual([expect.objectContaining({ msgId: "m1" })]);
    expect(logged.mock.calls.flat().map(String).join(" ")).toContain('ConfigError: PROMOTE_POLICY must be one of "better", "always", "never", got "sometimes"');
    expect((await getRecord<RunRecord>(env.STORE_BUCKET, run.id))!.record.promoted).toBeNull();
    const fixed = createMessageBatch<TrainMessage>("edgeprop-train", [{ ...message, attempts: 2 }]);
    await worker.queue(fixed, env, ctx);
    expect((await getQueueResult(fixed, ctx)).explicitAcks).toEqual(["m1"]);
    expect((await getRecord<RunRecord>(env.STORE_BUCKET, run.id))!.record.promoted).not.toBeNull();
  });
});
