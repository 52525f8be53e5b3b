/**
 * A refresh's figures and its guard: the parent and the refreshed model measured on the holdout corrections and the
 * dataset's validation and test sets, per digit and example by example, and whether the refresh may be promoted (the
 * holdout gain larger than chance, the validation loss not, the validation drop within its bound; the test set only
 * reports). refresh.ts starts refreshes; runs.ts finishes them with these.
 */
import type { Env } from "../env";
import { createLayout } from "../nn/layout";
import { decodeModel } from "../nn/model-codec";
import { readManifest } from "../storage/datasets";
import { getModelBlob, type DigitFigure, type Figures, type PairedChange, type RefreshFigures, type RefreshReport, type RefreshSummary } from "../storage/models";
import { pBetter } from "./chance";
import { answersOn, type SplitAnswers } from "./evaluate";
import type { RunRecord } from "./record";

// Measuring

/** Figures from per-class counts. */
export function figuresOf(correct: ArrayLike<number>, total: ArrayLike<number>): Figures {
  let c = 0;
  let n = 0;
  const perDigit: DigitFigure[] = [];
  for (let k = 0; k < total.length; k++) {
    c += correct[k];
    n += total[k];
    perDigit.push({ digit: k, correct: correct[k], count: total[k] });
  }
  return { accuracy: n === 0 ? null : c / n, correct: c, count: n, perDigit };
}

/** Figures from a model's answers on a split. */
function figuresFrom(a: SplitAnswers, K: number): Figures {
  const correct = new Uint32Array(K);
  const total = new Uint32Array(K);
  for (let i = 0; i < a.labels.length; i++) {
    total[a.labels[i]]++;
    if (a.predicted[i] === a.labels[i]) correct[a.labels[i]]++;
  }
  return figuresOf(correct, total);
}

/** How `after` differs from `before`, example by example, on the same split. */
export function pairedChange(before: SplitAnswers, after: SplitAnswers): PairedChange {
  let gained = 0;
  let lost = 0;
  for (let i = 0; i < after.labels.length; i++) {
    const was = before.predicted[i] === before.labels[i];
    const is = after.predicted[i] === after.labels[i];
    if (is && !was) gained++;
    else if (was && !is) lost++;
  }
  return { gained, lost };
}

/** What finishing a refresh adds to its report: the figures before and after, and the paired changes. */
export type RefreshMeasures = Pick<RefreshReport, "before" | "after" | "changes">;

/**
 * The parent's and the refreshed model's (`params`) figures on the holdout snapshot and the dataset's validation and
 * test sets, and how they differ example by example on the holdout and the validation set, for a refresh run that has
 * finished training. Deterministic: a retry measures the same.
 */
export async function measureRefresh(env: Env, record: RunRecord, params: Float32Array): Promise<RefreshMeasures> {
  const parentId = record.parentModelId ?? null;
  if (parentId === null) throw new Error(`measureRefresh: run ${record.id} has no parent model`);
  const blob = await getModelBlob(env.STORE_BUCKET, parentId);
  if (blob === null) throw new Error(`measureRefresh: the parent model ${parentId} of run ${record.id} is gone`);
  const manifest = await readManifest(env.STORE_BUCKET, record.dataset.name);
  if (manifest === null || manifest.version !== record.dataset.version) throw new Error(`dataset ${record.dataset.name} version ${record.dataset.version} is no longer in R2`);
  const layout = createLayout(record.spec.layers);
  const K = layout.sizes[layout.sizes.length - 1];
  const splits = { holdout: record.plan.holdout ?? null, validation: manifest.validation, test: manifest.test };
  const answers = async (weights: Float32Array) => ({
    holdout: await answersOn(env.STORE_BUCKET, splits.holdout, layout, record.spec.loss, weights),
    validation: await answersOn(env.STORE_BUCKET, splits.validation, layout, record.spec.loss, weights),
    test: await answersOn(env.STORE_BUCKET, splits.test, layout, record.spec.loss, weights),
  });
  const [was, is] = [await answers(decodeModel(blob).params), await answers(params)];
  const figures = (a: typeof was): RefreshFigures => ({ holdout: figuresFrom(a.holdout, K), validation: figuresFrom(a.validation, K), test: figuresFrom(a.test, K) });
  return {
    before: figures(was),
    after: figures(is),
    changes: { holdout: pairedChange(was.holdout, is.holdout), validation: pairedChange(was.validation, is.validation) },
  };
}

/** A refresh report as a model's metadata keeps it: accuracies only. */
export function refreshSummary(r: RefreshReport): RefreshSummary {
  const acc = (f: RefreshFigures | null) => (f === null ? null : { holdout: f.holdout.accuracy, validation: f.validation.accuracy, test: f.test.accuracy });
  return { corrections: r.corrections, holdout: r.holdout, replay: r.replay, before: acc(r.before), after: acc(r.after) };
}

// ---------------------------------------------------------------------------------------------------------------------
// The guard

/** The significance level of the guard's tests of chance (one-sided). */
export const GUARD_ALPHA = 0.05;

const pct = (f: Figures): string => (f.accuracy === null ? "none" : `${(100 * f.accuracy).toFixed(2)}%`);
const points = (x: number): string => `${x >= 0 ? "+" : "−"}${Math.abs(x).toFixed(2)} points`;
const pValue = (p: number): string => (p < 0.0001 ? "p < 0.0001" : `p = ${p.toFixed(4)}`);

/**
 * Whether a refresh may be promoted, and why. The test set is not read: it only reports. On the same examples, so
 * compared example by example (McNemar's exact test, chance.ts):
 *
 * - the holdout corrections must improve by more than chance: P(at least this many gains | no real change) < α;
 * - the validation set must not get worse by more than chance: P(at least this many losses | no real change) ≥ α;
 * - and its accuracy may drop by at most report.maxValidationDrop points, a bound on what chance may excuse.
 */
export function refreshVerdict(report: RefreshReport): { promote: boolean; reason: string } {
  const { before, after, changes, maxValidationDrop } = report;
  if (before === null || after === null || changes === null) return { promote: false, reason: "the refresh has no before-and-after figures" };
  if (after.holdout.count === 0) return { promote: false, reason: "no holdout corrections to tell whether the refresh helps: accept more corrections" };
  const { holdout: h, validation: v } = changes;
  const holdoutP = pBetter(h.gained, h.lost);
  const validationP = pBetter(v.lost, v.gained);
  const holdoutGain = (100 * (h.gained - h.lost)) / after.holdout.count;
  const validationChange = after.validation.count === 0 ? 0 : (100 * (v.gained - v.lost)) / after.validation.count;
  const figures = `holdout ${pct(before.holdout)} → ${pct(after.holdout)} (${points(holdoutGain)}: ${h.gained} gained, ${h.lost} lost, ${pValue(holdoutP)}), ` +
    `validation ${pct(before.validation)} → ${pct(after.validation)} (${points(validationChange)}: ${v.gained} gained, ${v.lost} lost, ${pValue(validationP)}; ` +
    `a drop of up to ${maxValidationDrop.toFixed(2)} allowed), test ${pct(before.test)} → ${pct(after.test)} (reported only)`;
  if (!(holdoutP < GUARD_ALPHA)) return { promote: false, reason: `not promoted: the holdout gain is not larger than chance (α = ${GUARD_ALPHA}); ${figures}` };
  if (validationP < GUARD_ALPHA) return { promote: false, reason: `not promoted: the validation accuracy dropped by more than chance (α = ${GUARD_ALPHA}); ${figures}` };
  // Counts, not rounded percentages: the drop is (lost − gained) / count × 100 ≤ maxValidationDrop.
  if (100 * (v.lost - v.gained) > maxValidationDrop * after.validation.count) {
    return { promote: false, reason: `not promoted: the validation accuracy dropped by more than ${maxValidationDrop.toFixed(2)} points; ${figures}` };
  }
  return { promote: true, reason: `promoted: ${figures}` };
}
