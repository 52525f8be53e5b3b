/**
 * Cron: the watchdog that revives runs whose next message was lost, and the scheduled training run.
 * The expressions match wrangler.toml's [triggers].
 */
import { ConfigError, configOf } from "../config";
import type { Env } from "../env";
import { syncServingPointer } from "../storage/models";
import { getRecord, listActive, unmarkActive, updateRecord } from "../storage/runs";
import { ENDED, type RunRecord } from "./record";
import { activeRuns, endRun, needsSettling, retire, settleRun, startRun } from "./runs";
import type { RunSpec } from "./spec";

export const WATCHDOG_CRON = "*/5 * * * *";
export const TRAINING_CRON = "0 3 * * *";

/** Re-sends without progress after which a run is marked failed instead of revived again. */
export const MAX_REVIVALS = 3;

/** Name given to the scheduled run when its spec has none. */
export const SCHEDULED_NAME = "scheduled";

/**
 * Re-sends the current step of every active run that has not progressed for WATCHDOG_STALL_SECONDS (safe: steps
 * are idempotent); a run revived MAX_REVIVALS times without progress is marked failed. Also brings the KV serving
 * pointer in line with R2's serving record.
 */
export async function watchdog(env: Env, now = Date.now()): Promise<{ revived: string[]; failed: string[]; servingPointerFixed: boolean }> {
  const stallMs = 1000 * configOf(env).watchdogStallSeconds;
  const revived: string[] = [];
  const failed: string[] = [];
  for (const runId of await listActive(env.STORE_BUCKET)) {
    const found = await getRecord<RunRecord>(env.STORE_BUCKET, runId);
    if (found === null) {
      await unmarkActive(env.STORE_BUCKET, runId);
      continue;
    }
    if (ENDED.includes(found.record.status)) {
      // Ended without retiring (interrupted): finish that now, including a promotion still to decide.
      if (needsSettling(found.record)) await settleRun(env, found.record);
      else await retire(env, runId);
      continue;
    }
    const r = found.record;
    if (now - Date.parse(r.updatedAt) < stallMs) continue;
    if (r.revivals >= MAX_REVIVALS) {
      await endRun(env, runId, "failed", `stalled: no progress at step ${r.step} after ${r.revivals} re-sends by the watchdog`);
      failed.push(runId);
      continue;
    }
    await env.TRAIN_QUEUE.send({ runId, step: r.step });
    await updateRecord<RunRecord>(env.STORE_BUCKET, runId, (x) => (x.step === r.step && !ENDED.includes(x.status) ? { ...x, revivals: x.revivals + 1 } : null));
    revived.push(runId);
  }
  return { revived, failed, servingPointerFixed: await syncServingPointer(env.STORE_BUCKET, env.SERVING_KV) };
}

/**
 * Starts the run configured in SCHEDULED_RUN_SPEC unless a run of the same name is active. Returns the new run's
 * id, or why none was started (a malformed SCHEDULED_RUN_SPEC is such a reason).
 */
export async function startScheduledRun(env: Env): Promise<{ started: string | null; reason: string }> {
  let configured: RunSpec | null;
  try {
    configured = configOf(env).scheduledRunSpec;
  } catch (err) {
    if (err instanceof ConfigError) return { started: null, reason: err.message };
    throw err;
  }
  if (configured === null) return { started: null, reason: "no SCHEDULED_RUN_SPEC configured" };
  const spec = { ...configured, name: configured.name ?? SCHEDULED_NAME };
  const running = (await activeRuns(env)).find((r) => r.name === spec.name);
  if (running !== undefined) return { started: null, reason: `run ${running.id} of "${spec.name}" is still ${running.status}` };
  const record = await startRun(env, spec);
  return { started: record.id, reason: "started" };
}
