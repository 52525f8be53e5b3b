/** The run record: what GET /v1/runs/:id shows, a view of the latest checkpoint plus wall-clock facts. */
import type { EvaluationEntry, StepEntry, TestFigures } from "./checkpoint";
import type { RunPlan } from "./plan";
import type { RefreshReport } from "../storage/models";
import type { RunSpec } from "./spec";

/** A run's status, in the order a run goes through them. */
export const RUN_STATUSES = ["queued", "running", "succeeded", "failed", "diverged", "cancelled"] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
export const ENDED: readonly RunStatus[] = ["succeeded", "failed", "diverged", "cancelled"];

export interface RunRecord {
  id: string;
  name: string | null;
  spec: RunSpec;
  dataset: { name: string; version: string };
  plan: RunPlan;
  status: RunStatus;
  /** Latest checkpoint written (the step the next message carries). */
  step: number;
  phase: "train" | "evaluate" | "test" | "done";
  /** First-order: the 1-based epoch under way (at most `epochs`); cg: line searches done. */
  epoch: number;
  progress: number;
  examplesSeen: number;
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  etaSeconds: number | null;
  /** Examples per second of wall time since the run started. */
  throughput: number | null;
  history: (StepEntry & { at: string })[];
  /** Validation-set evaluations, per epoch (cg: every evalEvery line searches) and at the end: they choose. */
  evaluations: EvaluationEntry[];
  /** The final model's validation accuracy (its last evaluation), once the run has succeeded; null before. */
  validationAccuracy: number | null;
  /** The final model's test figures, measured once when training is over; null before. They only report. */
  test: TestFigures | null;
  modelId: string | null;
  /** Whether the model was promoted; null until decided (a succeeded run with null is still being finished). */
  promoted: boolean | null;
  /** Why the model was or was not promoted. */
  promotionReason: string | null;
  /** Why the run ended failed, diverged or cancelled. */
  error: string | null;
  /** The last failure of a step that is being retried. */
  lastError: { step: number; message: string; attempts: number; at: string } | null;
  /** Watchdog re-sends at the current step. */
  revivals: number;
  /**
   * The watchdog's re-sends at the current step (absent in records older than them): when each was made, and the
   * time of the consumer's last pick-up (storage/runs.ts Delivery) as it stood then. A pick-up noted since tells a
   * consumer that delivers from one that does not.
   */
  resends?: { at: string; lastDelivery: string | null }[];
  /** Accepted corrections the run trains on (its feedback snapshot, newest first); 0 without includeFeedback. */
  feedbackExamples: number;
  /** "refresh" for a refresh run (spec.refresh); absent in records older than refreshes: "train". */
  kind?: "train" | "refresh";
  /** The model the run started from (spec.init.model), or null; absent in older records. */
  parentModelId?: string | null;
  /** A refresh run's data and, once it has finished, its before-and-after figures; absent or null otherwise. */
  refresh?: RefreshReport | null;
}

/** A record with the fields that records older than refreshes lack filled in, as the API shows every record. */
export function recordView(r: RunRecord): RunRecord & Required<Pick<RunRecord, "kind" | "parentModelId" | "refresh">> {
  return { ...r, kind: r.kind ?? "train", parentModelId: r.parentModelId ?? null, refresh: r.refresh ?? null };
}

