/**
 * Cron: the watchdog that revives runs whose next message was lost, the scheduled training run, and the daily
 * refresh check.
 * The expressions match wrangler.toml's [triggers].
 *
 * The watchdog also tells a queue consumer that does not deliver from a step that fails: the consumer notes every
 * message it picks up (storage/runs.ts recordDelivery), so a re-send that no note followed was never picked up.
 */
import { ConfigError, configOf } from "../config";
import type { Env } from "../env";
import { syncServingPointer } from "../storage/models";
import { getDelivery, getRecord, listActive, unmarkActive, updateRecord } from "../storage/runs";
import { ENDED, type RunRecord } from "./record";
import { maybeStartRefresh } from "./refresh";
import { activeRuns, endRun, needsSettling, retire, settleRun, startRun } from "./runs";
import type { RunSpec } from "./spec";

export const WATCHDOG_CRON = "*/5 * * * *";
export const TRAINING_CRON = "0 3 * * *";

/** Re-sends without progress after which a run is marked failed instead of revived again. */
export const MAX_REVIVALS = 3;

/** Name given to the scheduled run when its spec has none. */
export const SCHEDULED_NAME = "scheduled";

/** A run whose re-sent step messages the queue consumer did not pick up. */
export interface WedgedRun {
  runId: string;
  step: number;
  /** Re-sends of `step` not picked up. */
  resends: number;
  /** Minutes since the first of them. */
  minutes: number;
  /** What it means and what to do, as recorded in the run. */
  message: string;
}

/** What a watchdog pass did. */
export interface WatchdogReport {
  revived: string[];
  failed: string[];
  wedged: WedgedRun[];
  servingPointerFixed: boolean;
}

/** The re-sends of the run's current step after which the consumer picked nothing up, as a WedgedRun; null if none. */
function undelivered(r: RunRecord, lastDelivery: string | null, now: number): WedgedRun | null {
  const missed = (r.resends ?? []).filter((x) => x.lastDelivery === lastDelivery);
  if (missed.length === 0) return null;
  const minutes = Math.round((now - Date.parse(missed[0].at)) / 60_000);
  const n = missed.length;
  const message =
    `the queue consumer is not delivering: ${n} re-send${n === 1 ? "" : "s"} of step ${r.step} ${n === 1 ? "was" : "were"} not picked up in ` +
    `${minutes} minute${minutes === 1 ? "" : "s"}; restart wrangler dev (npm start) locally, or check the consumer of the ` +
    `training queue (npx wrangler queues info edgeprop-train)`;
  return { runId: r.id, step: r.step, resends: n, minutes, message };
}

/**
 * Re-sends the current step of every active run that has not progressed for WATCHDOG_STALL_SECONDS (safe: steps
 * are idempotent); a run revived MAX_REVIVALS times without progress is marked failed. Re-sends the consumer did not
 * pick up are reported (`wedged`, the log, and the run's lastError, then its error). Also brings the KV serving
 * pointer in line with R2's serving record.
 */
export async function watchdog(env: Env, now = Date.now()): Promise<WatchdogReport> {
  const stallMs = 1000 * configOf(env).watchdogStallSeconds;
  const report: WatchdogReport = { revived: [], failed: [], wedged: [], servingPointerFixed: false };
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
    const lastDelivery = (await getDelivery(env.STORE_BUCKET, runId))?.at ?? null;
    const wedge = undelivered(r, lastDelivery, now);
    if (wedge !== null) {
      console.error(`watchdog: run ${runId}: ${wedge.message}`);
      report.wedged.push(wedge);
    }
    if (r.revivals >= MAX_REVIVALS) {
      await endRun(env, runId, "failed", wedge?.message ?? `stalled: no progress at step ${r.step} after ${r.revivals} re-sends by the watchdog`);
      report.failed.push(runId);
      continue;
    }
    await env.TRAIN_QUEUE.send({ runId, step: r.step });
    const resend = { at: new Date(now).toISOString(), lastDelivery };
    await updateRecord<RunRecord>(env.STORE_BUCKET, runId, (x) =>
      x.step === r.step && !ENDED.includes(x.status)
        ? { ...x, revivals: x.revivals + 1, resends: [...(x.resends ?? []), resend], lastError: wedge === null ? x.lastError : { step: r.step, message: wedge.message, attempts: 0, at: resend.at } }
        : null,
    );
    report.revived.push(runId);
  }
  report.servingPointerFixed = await syncServingPointer(env.STORE_BUCKET, env.SERVING_KV);
  return report;
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

/**
 * The daily refresh check (src/training/refresh.ts maybeStartRefresh): a refresh of the served model once at least
 * REFRESH_MIN_CORRECTIONS accepted training corrections are new to it. A malformed var is reported as the reason.
 */
export async function scheduledRefresh(env: Env): Promise<{ started: string | null; reason: string }> {
  try {
    return await maybeStartRefresh(env, startRun);
  } catch (err) {
    if (err instanceof ConfigError) return { started: null, reason: err.message };
    throw err;
  }
}
