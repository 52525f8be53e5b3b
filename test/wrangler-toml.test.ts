/// <reference types="vite/client" />
/**
 * wrangler.toml against the code: every [vars] key is a var src/config.ts parses (and each parses), the crons are
 * the ones the scheduled handler dispatches on, the queues are the ones the queue handler tells apart, and the rate
 * limits are the ones the 429 message states.
 */
import { describe, expect, test } from "vitest";
import { configOf, VAR_NAMES } from "../src/config";
import { LIMITS } from "../src/routes/rate-limit";
import { DEAD_LETTER_QUEUE_NAME } from "../src/training/consumer";
import { TRAINING_CRON, WATCHDOG_CRON } from "../src/training/cron";
import { parseToml } from "./helpers/toml";
import wranglerToml from "../wrangler.toml?raw";

interface Wrangler {
  vars: Record<string, string>;
  triggers: { crons: string[] };
  queues: { producers: { binding: string; queue: string }[]; consumers: Record<string, unknown>[] };
  ratelimits: { name: string; simple: { limit: number; period: number } }[];
}

const toml = parseToml(wranglerToml) as unknown as Wrangler;

describe("wrangler.toml", () => {
  test("[vars] holds exactly the vars the config module parses, and each parses", () => {
    expect(Object.keys(toml.vars).sort()).toEqual([...VAR_NAMES].sort());
    expect({ ...configOf(toml.vars) }).toEqual({
      stepWork: 2e9, watchdogStallSeconds: 300, scheduledRunSpec: null, promotePolicy: "better",
      corsOrigins: { anyOrigin: true, named: new Set() }, feedbackPendingMax: 1000, servingDataset: "mnist",
      refreshMinCorrections: 50, refreshMaxValidationDrop: 0.3,
    });
  });

  test("[triggers] crons are the watchdog's and the scheduled run's", () => {
    expect([...toml.triggers.crons].sort()).toEqual([WATCHDOG_CRON, TRAINING_CRON].sort());
  });

  test("TRAIN_QUEUE's queue is consumed, its dead letters go to the queue the handler treats as such, and both consumers set every option", () => {
    const producer = toml.queues.producers.find((p) => p.binding === "TRAIN_QUEUE")!;
    const consumers = toml.queues.consumers;
    expect(consumers.map((c) => c.queue).sort()).toEqual([producer.queue, DEAD_LETTER_QUEUE_NAME].sort());
    expect(consumers.find((c) => c.queue === producer.queue)!.dead_letter_queue).toBe(DEAD_LETTER_QUEUE_NAME);
    for (const c of consumers) {
      // Local defaults differ from production's (PLATFORM.md): every option is set explicitly.
      expect(Object.keys(c), String(c.queue)).toEqual(expect.arrayContaining(["max_batch_size", "max_batch_timeout", "max_retries", "retry_delay", "max_concurrency"]));
    }
  });

  test("[[ratelimits]] are the LIMITS of src/routes/rate-limit.ts, one for one", () => {
    const declared = Object.fromEntries(toml.ratelimits.map((r) => [r.name, r.simple]));
    const coded = Object.fromEntries(Object.entries(LIMITS).map(([name, { limit, period }]) => [name, { limit, period }]));
    expect(declared).toEqual(coded);
  });
});

describe("parseToml", () => {
  test("refuses a line it cannot read rather than skipping it", () => {
    expect(() => parseToml("[vars]\nSTEP_WORK 2e9")).toThrow(/cannot read "STEP_WORK 2e9"/);
    expect(() => parseToml('[vars]\nA = "x" # trailing')).toThrow(/cannot read the value/);
    expect(parseToml('[[a.b]]\nx = { k = 1, l = "m" }\n[[a.b]]\nx = [1, 2]')).toEqual({ a: { b: [{ x: { k: 1, l: "m" } }, { x: [1, 2] }] } });
  });
});
