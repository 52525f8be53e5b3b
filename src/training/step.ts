/**
 * One training step, pure: from checkpoint `step` and the dataset shards it needs to checkpoint `step + 1`.
 * No I/O, no clock: the consumer (consumer.ts) loads the shards, calls runStep, and stores what it returns.
 */
import type { Shard } from "../data/shards";
import { cgBest, cgPoint, cgTell } from "../nn/cg";
import type { Layout } from "../nn/layout";
import { costGradient, countCorrect, createWorkspace, evaluateRows, regularize } from "../nn/network";
import { optimizerStep } from "../nn/optimizers";
import type { CgPartial, Checkpoint, EvaluationEntry } from "./checkpoint";
import { CHUNK_ROWS, emptyTally, exampleAt, layoutOf, locateExample, stepWindow, type RunPlan, type Source, type StepWindow } from "./plan";
import { epochsOf, batchSizeOf, type RunSpec } from "./spec";

/** The shards a step was given: shard `index` of a source. */
export type ShardLookup = (source: Source, index: number) => Shard;

/** The next checkpoint, or why the run diverged (then nothing is to be written). */
export type StepResult = { next: Checkpoint; diverged: null } | { next: null; diverged: string };

/** Copies the window's examples at, at + n into a float32 row-major batch (pixels / 255) and their labels. */
function gather(lookup: ShardLookup, plan: RunPlan, w: StepWindow, at: number, n: number, X: Float32Array, y: Uint8Array): void {
  for (let r = 0; r < n; r++) {
    const where = locateExample(plan, w.split, exampleAt(w, at + r));
    const shard = lookup(where.source, where.shard);
    const offset = where.offset;
    const D = shard.rows * shard.cols;
    const src = shard.pixels.subarray(offset * D, offset * D + D);
    for (let i = 0; i < D; i++) X[r * D + i] = src[i] / 255;
    y[r] = shard.labels[offset];
  }
}

/**
 * A loss this many times that of guessing (log K for softmax, K·log 2 for the course's sigmoid outputs) means the
 * run has diverged, even while it is still finite (the stable softmax loss stays finite under huge weights).
 */
export const DIVERGED_LOSS_FACTOR = 100;

/** Why a training loss means divergence, or null while it does not. */
function divergence(spec: RunSpec, J: number): string | null {
  if (!Number.isFinite(J)) return `loss became ${J}`;
  const K = spec.layers[spec.layers.length - 1];
  const guess = spec.loss === "softmax" ? Math.log(K) : K * Math.LN2;
  return J > DIVERGED_LOSS_FACTOR * guess ? `loss ${J.toPrecision(4)} exceeds ${DIVERGED_LOSS_FACTOR}× that of guessing (${guess.toPrecision(4)})` : null;
}

function allFinite(a: ArrayLike<number>): boolean {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return false;
  return true;
}

/** Applies one step to the examples of its window (plan.ts's stepWindow). The checkpoint given is not modified. */
export function runStep(spec: RunSpec, plan: RunPlan, ck: Checkpoint, lookup: ShardLookup): StepResult {
  const window = stepWindow(spec, plan, ck);
  if (window === null) throw new Error(`runStep: run is done at step ${ck.step}`);
  const next: Checkpoint = structuredClone(ck);
  next.step = ck.step + 1;
  const layout = layoutOf(spec);
  if (ck.phase === "evaluate") return evaluateStep(spec, plan, layout, next, lookup, window);
  return spec.optimizer.name === "cg" ? cgStep(spec, plan, layout, next, lookup, window) : firstOrderStep(spec, plan, layout, next, lookup, window);
}

function firstOrderStep(spec: RunSpec, plan: RunPlan, layout: Layout, next: Checkpoint, lookup: ShardLookup, window: StepWindow): StepResult {
  if (next.optimizer.kind === "cg") throw new Error("firstOrderStep: a cg state in a first-order run");
  const batch = batchSizeOf(spec);
  const D = layout.sizes[0];
  const { from, to } = window;
  const ws = createWorkspace(layout, batch, Float32Array);
  const X = new Float32Array(batch * D);
  const y = new Uint8Array(batch);
  const grad = new Float32Array(layout.count);
  let lossSum = 0;
  let correct = 0;
  for (let b = from; b < to; b += batch) {
    const n = Math.min(batch, to - b);
    gather(lookup, plan, window, b, n, X, y);
    const J = costGradient(layout, spec.loss, next.params, X, y, n, spec.lambda, grad, ws, plan.trainCount);
    const why = divergence(spec, J);
    if (why !== null) return { next: null, diverged: `${why} at epoch ${next.epoch + 1}, example ${b} of the epoch` };
    lossSum += J * n;
    correct += countCorrect(layout, ws, y, n);
    optimizerStep(next.optimizer, next.params, grad);
  }
  if (!allFinite(next.params)) return { next: null, diverged: `weights became non-finite at epoch ${next.epoch + 1}` };
  const seen = to - from;
  next.examplesSeen += seen;
  next.cursor = to;
  next.epochTally = { seen: next.epochTally.seen + seen, correct: next.epochTally.correct + correct, lossSum: next.epochTally.lossSum + lossSum };
  next.history.push({ step: next.step, epoch: next.epoch + 1, examplesSeen: next.examplesSeen, loss: lossSum / seen, trainAccuracy: correct / seen });
  if (to === plan.trainCount) {
    const finished = next.epoch + 1 >= epochsOf(spec);
    if (finished || (next.epoch + 1) % spec.evalEvery === 0) startEvaluation(next);
    else nextEpoch(next);
  }
  return { next, diverged: null };
}

function startEvaluation(next: Checkpoint): void {
  next.phase = "evaluate";
  next.cursor = 0;
  next.evalTally = emptyTally();
}

function nextEpoch(next: Checkpoint): void {
  next.phase = "train";
  next.epoch += 1;
  next.cursor = 0;
  next.epochTally = emptyTally();
}

/**
 * Adds the window's training examples from partial.cursor on at x to a cg evaluation: the loss and gradient sums
 * (n × the chunk's means) and the correct rows, chunk by chunk from a multiple of CHUNK_ROWS, so the sums come out
 * the same however the evaluation is cut into steps.
 */
function accumulate(spec: RunSpec, plan: RunPlan, layout: Layout, x: Float64Array, lookup: ShardLookup, partial: CgPartial, window: StepWindow): void {
  const D = layout.sizes[0];
  const rows = Math.min(CHUNK_ROWS, plan.trainCount);
  const ws = createWorkspace(layout, rows, Float64Array);
  const X = new Float32Array(rows * D);
  const y = new Uint8Array(rows);
  const chunkGrad = new Float64Array(layout.count);
  for (let from = partial.cursor; from < window.to; from += rows) {
    const n = Math.min(rows, window.to - from);
    gather(lookup, plan, window, from, n, X, y);
    partial.lossSum += n * costGradient(layout, spec.loss, x, X, y, n, 0, chunkGrad, ws);
    partial.correct += countCorrect(layout, ws, y, n);
    for (let t = 0; t < chunkGrad.length; t++) partial.grad[t] += n * chunkGrad[t];
  }
  partial.cursor = window.to;
}

/** The course's J and gradient at x from a finished evaluation's sums: means over m, plus regularization. */
function finishEvaluation(spec: RunSpec, layout: Layout, x: Float64Array, partial: CgPartial, m: number): number {
  for (let t = 0; t < partial.grad.length; t++) partial.grad[t] /= m;
  return partial.lossSum / m + regularize(layout, x, spec.lambda, m, partial.grad);
}

const newPartial = (count: number): CgPartial => ({ cursor: 0, lossSum: 0, correct: 0, grad: new Float64Array(count) });

/**
 * A cg step: whole evaluations of the training set when several fit in a step (plan.evalsPerStep; the window is
 * the whole set), else the window's part of the evaluation under way (next.cgPartial), telling fmincg when it is
 * complete.
 */
function cgStep(spec: RunSpec, plan: RunPlan, layout: Layout, next: Checkpoint, lookup: ShardLookup, window: StepWindow): StepResult {
  const st = next.optimizer;
  if (st.kind !== "cg" || spec.optimizer.name !== "cg") throw new Error("cgStep: not a cg run");
  const m = plan.trainCount;
  for (let k = 0; k < Math.max(1, plan.evalsPerStep); k++) {
    const x = cgPoint(st);
    if (x === null) break;
    const partial = next.cgPartial ?? newPartial(layout.count);
    const from = partial.cursor;
    accumulate(spec, plan, layout, x, lookup, partial, window);
    next.examplesSeen += window.to - from;
    if (window.to < m) {
      next.cgPartial = partial;
      break;
    }
    next.cgPartial = null;
    const J = finishEvaluation(spec, layout, x, partial, m);
    if (!Number.isFinite(J)) return { next: null, diverged: `loss became ${J} at cg iteration ${st.costs.length + 1}` };
    const accepted = st.costs.length;
    cgTell(st, J, partial.grad);
    if (st.costs.length > accepted) {
      // fmincg accepts the point it has just evaluated: its figures are those of this evaluation.
      next.epochTally = { seen: m, correct: partial.correct, lossSum: J * m };
      next.history.push({ step: next.step, epoch: 1, iteration: st.costs.length, examplesSeen: next.examplesSeen, loss: J, trainAccuracy: partial.correct / m });
      if (st.costs.length - next.epoch >= spec.evalEvery) break; // evaluate on the cadence, not a step later
    }
  }
  next.params = Float32Array.from(cgBest(st));
  if (!allFinite(next.params)) return { next: null, diverged: "weights became non-finite" };
  // For cg, `epoch` counts the line searches done when the last evaluation started.
  if (next.cgPartial === null && (st.phase === "done" || st.costs.length - next.epoch >= spec.evalEvery)) {
    next.epoch = st.costs.length;
    startEvaluation(next);
  }
  return { next, diverged: null };
}

function evaluateStep(spec: RunSpec, plan: RunPlan, layout: Layout, next: Checkpoint, lookup: ShardLookup, window: StepWindow): StepResult {
  const D = layout.sizes[0];
  const { from, to } = window;
  const rows = Math.min(CHUNK_ROWS, to - from);
  const ws = createWorkspace(layout, rows, Float32Array);
  const X = new Float32Array(rows * D);
  const y = new Uint8Array(rows);
  for (let at = from; at < to; at += rows) {
    const n = Math.min(rows, to - at);
    gather(lookup, plan, window, at, n, X, y);
    const { lossSum, correct } = evaluateRows(layout, spec.loss, next.params, X, y, n, ws);
    next.evalTally.seen += n;
    next.evalTally.correct += correct;
    next.evalTally.lossSum += lossSum;
  }
  next.cursor = to;
  if (to < plan.testCount) return { next, diverged: null };
  const cg = next.optimizer.kind === "cg" ? next.optimizer : null;
  const t = next.epochTally;
  const entry: EvaluationEntry = {
    step: next.step,
    epoch: cg ? 1 : next.epoch + 1,
    ...(cg ? { iteration: cg.costs.length } : {}),
    trainLoss: t.seen > 0 ? t.lossSum / t.seen : null,
    trainAccuracy: t.seen > 0 ? t.correct / t.seen : null,
    testLoss: next.evalTally.lossSum / next.evalTally.seen,
    testAccuracy: next.evalTally.correct / next.evalTally.seen,
  };
  next.evaluations.push(entry);
  const finished = cg ? cg.phase === "done" : next.epoch + 1 >= epochsOf(spec);
  if (finished) next.phase = "done";
  else if (cg) next.phase = "train";
  else nextEpoch(next);
  return { next, diverged: null };
}
