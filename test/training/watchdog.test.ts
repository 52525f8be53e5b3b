/**
 * The watchdog tells a queue consumer that does not deliver from a step that fails: re-sends that the consumer never
 * picks up are reported in its answer, the log and the run, and the run fails with that reason. The training queue is
 * replaced by a real local queue that has no consumer (UNDELIVERED_QUEUE), which accepts messages and delivers none.
 */
import { env, exports } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, test, vi } from "vitest";
import { getDelivery, getRecord } from "../../src/storage/runs";
import { MAX_REVIVALS, watchdog } from "../../src/training/cron";
import type { RunRecord } from "../../src/training/record";
import { startRun } from "../../src/training/runs";
import { RunSpecSchema } from "../../src/training/spec";
import { storeMnist } from "../helpers/mnist";

const spec = RunSpecSchema.parse({ dataset: "mnist-w", layers: [784, 8, 10], optimizer: { name: "adam" }, epochs: 1, promote: "never" });
const record = async (id: string) => (await getRecord<RunRecord>(env.STORE_BUCKET, id))!.record;
/** The Worker's bindings, but the training queue's messages go where no consumer picks them up. */
const wedged = () => ({ ...env, TRAIN_QUEUE: env.UNDELIVERED_QUEUE });
const STALL = 301_000;

beforeAll(async () => {
  await storeMnist("mnist-w", 500, 100);
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe("a consumer that does not deliver", () => {
  test("its ignored re-sends are reported, then the run fails saying so", async () => {
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    const run = await startRun(env, spec, { enqueue: false });
    let now = Date.now() + STALL;
    const first = await watchdog(wedged(), now);
    expect(first).toMatchObject({ revived: [run.id], wedged: [] }); // a lost message, as far as anyone knows
    for (let resends = 1; resends < MAX_REVIVALS; resends++) {
      now += STALL;
      const pass = await watchdog(wedged(), now);
      expect(pass.revived).toEqual([run.id]);
      expect(pass.wedged).toEqual([{ runId: run.id, step: 0, resends, minutes: 5 * resends, message: expect.stringContaining("not delivering") }]);
      const r = await record(run.id);
      expect(r.status).toBe("queued");
      expect(r.lastError).toMatchObject({ step: 0, attempts: 0, message: pass.wedged[0].message });
    }
    now += STALL;
    const last = await watchdog(wedged(), now);
    expect(last).toMatchObject({ failed: [run.id], revived: [] });
    const error = `the queue consumer is not delivering: 3 re-sends of step 0 were not picked up in 15 minutes; restart wrangler dev (npm start) locally, or check the consumer of the training queue (npx wrangler queues info edgeprop-train)`;
    expect(last.wedged).toEqual([{ runId: run.id, step: 0, resends: 3, minutes: 15, message: error }]);
    expect(await record(run.id)).toMatchObject({ status: "failed", error });
    expect(logged).toHaveBeenCalledWith(`watchdog: run ${run.id}: ${error}`);
  });

  test("a consumer that delivers again is not reported: its pick-up is noted and the run goes on", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const run = await startRun(env, spec, { enqueue: false });
    let now = Date.now() + STALL;
    await watchdog(wedged(), now); // this re-send is never delivered
    now += STALL;
    const pass = await watchdog(env, now); // reported (the first was not picked up), and re-sent where it is delivered
    expect(pass).toMatchObject({ revived: [run.id], wedged: [{ runId: run.id, resends: 1 }] });
    await vi.waitUntil(async () => (await record(run.id)).status === "succeeded", { timeout: 60_000, interval: 50 });
    expect((await record(run.id)).lastError).toBeNull(); // progress clears the note
    expect(await getDelivery(env.STORE_BUCKET, run.id)).toBeNull(); // and the run's scratch is gone
  });

  test("POST /v1/cron/watchdog answers with the runs it found undelivered", async () => {
    const res = await exports.default.fetch("http://edgeprop/v1/cron/watchdog", { method: "POST", headers: { authorization: "Bearer test-admin-token" } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ revived: expect.any(Array), failed: expect.any(Array), wedged: expect.any(Array), servingPointerFixed: expect.any(Boolean) });
  });
});
