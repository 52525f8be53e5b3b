/**
 * One training step, pure: from checkpoint `step` and the dataset shards it needs to checkpoint `step + 1`.
 * No I/O, no clock: the consumer (consumer.ts) loads the shards, runs the step, and stores what it returns.
 *
 * A step is a generator that yields between batches (about every YIELD_WORK products), so that the consumer can let
 * the isolate's other requests (predictions) run while a step trains; where it yields changes nothing it computes.
 * Its float32 work runs on the kernels its plan names (buffers.ts), the float64 cg evaluations on the JS kernels.
 */
import { createAugmenter, type Augmenter } from "../data/distort";
import type { Shard } from "../data/shards";
import { cgBest, cgPoint, cgTell } from "../nn/cg";
import type { Layout } from "../nn/layout";
import { costGradient, countCorrect, createWorkspace, evaluateRows, regularize } from "../nn/network";
import { jsOnly, type KernelFactory } from "../nn/kernels";
import { pixelsToUnit } from "../nn/pixels";
import { stepBuffers } from "./buffers";
import { optimizerStep } from "../nn/optimizers";
import type { CgPartial, Checkpoint } from "./checkpoint";
import { CHUNK_ROWS, emptyTally, EVAL_ROWS, exampleAt, kernelOf, layoutOf, locateExample, stepWindow, type ExampleLocation, type RunPlan, type Source, type StepWindow } from "./plan";
import { epochsOf, batchSizeOf, type RunSpec } from "./spec";

/** The shards a step was given: shard `index` of a source. */
export type ShardLookup = (source: Source, index: number) => Shard;

/** The next checkpoint, or why the run diverged (then nothing is to be written). */
export type StepResult = { next: Checkpoint; diverged: null } | { next: null; diverged: string };

/** A step under way: each `next()` does some of its work; the last returns its result. */
export type StepRun = Generator<void, StepResult, void>;

/** Example × parameter products between two yields of a step (at least a batch): about 1 ms of CPU with the WebAssembly kernels. */
export const YIELD_WORK = 1e7;

/** Scratch of gather: where the example being copied lives (reused, so that gather allocates nothing). */
const where: ExampleLocation = { source: "train", shard: 0, offset: 0 };

/** How a training step augments its examples: the augmenter of the spec's parts, the run's seed and the epoch. */
interface Augmenting {
  augmenter: Augmenter;
  seed: number;
  epoch: number;
}

/**
 * Copies the window's examples at, at + n into a float32 row-major batch (pixels / 255, or their augmented copies
 * drawn from the seed, the epoch and each example's index in the training set) and their labels. Allocates nothing:
 * it runs for every batch of a step's loop.
 */
function gather(lookup: ShardLookup, plan: RunPlan, w: StepWindow, at: number, n: number, X: Float32Array, y: Uint8Array, augmenting: Augmenting | null = null): void {
  for (let r = 0; r < n; r++) {
    const index = exampleAt(w, at + r);
    locateExample(plan, w.split, index, where);
    const shard = lookup(where.source, where.shard);
    const D = shard.rows * shard.cols;
    const pixels = shard.pixels;
    if (augmenting === null) pixelsToUnit(X, r * D, pixels, where.offset * D, D);
    else augmenting.augmenter.apply(pixels, where.offset * D, augmenting.seed, augmenting.epoch, index, X, r * D);
    y[r] = shard.labels[where.offset];
  }
}

/** Whether the run augments its training examples in epoch `epoch` (0-based): spec.augment, for spec.augmentEpochs. */
export const augmentsEpoch = (spec: RunSpec, epoch: number): boolean =>
  spec.augment !== undefined && (spec.augmentEpochs === undefined || epoch < spec.augmentEpochs);

/** The learning rate of epoch `epoch` (0-based): optimizer.learningRate × lrDecay^epoch, from the spec alone. */
export function learningRateAt(spec: RunSpec, epoch: number): number {
  if (spec.optimizer.name === "cg") throw new Error("learningRateAt: cg has no learning rate");
  return spec.optimizer.learningRate! * (spec.lrDecay ?? 1) ** epoch;
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

/**
 * Applies one step to the examples of its window (plan.ts's stepWindow), on the kernels `make` gives for the plan's
 * (the JS ones only, by default). The checkpoint given is not modified.
 */
export function* stepRun(spec: RunSpec, plan: RunPlan, ck: Checkpoint, lookup: ShardLookup, make: KernelFactory = jsOnly): StepRun {
  const window = stepWindow(spec, plan, ck);
  if (window === null) throw new Error(`runStep: run is done at step ${ck.step}`);
  const next: Checkpoint = structuredClone(ck);
  next.step = ck.step + 1;
  const layout = layoutOf(spec);
  if (ck.phase === "evaluate" || ck.phase === "test") return yield* evaluateStep(spec, plan, layout, next, lookup, window, make);
  if (spec.optimizer.name === "cg") return yield* cgStep(spec, plan, layout, next, lookup, window);
  return yield* firstOrderStep(spec, plan, layout, next, lookup, window, make);
}

/** stepRun straight through, without yielding. */
export function runStep(spec: RunSpec, plan: RunPlan, ck: Checkpoint, lookup: ShardLookup, make: KernelFactory = jsOnly): StepResult {
  const run = stepRun(spec, plan, ck, lookup, make);
  for (;;) {
    const r = run.next();
    if (r.done) return r.value;
  }
}

/** Work units (rows) between two yields, for rows of `paramCount` products each. */
const rowsPerYield = (paramCount: number): number => Math.max(1, Math.floor(YIELD_WORK / paramCount));

function* firstOrderStep(spec: RunSpec, plan: RunPlan, layout: Layout, next: Checkpoint, lookup: ShardLookup, window: StepWindow, make: KernelFactory): StepRun {
  if (next.optimizer.kind === "cg") throw new Error("firstOrderStep: a cg state in a first-order run");
  const batch = batchSizeOf(spec);
  const { from, to } = window;
  const { params, grad, X, ws } = stepBuffers(make, kernelOf(plan), layout, batch, next.params, true);
  const y = new Uint8Array(batch);
  const augmenting = !augmentsEpoch(spec, next.epoch) || window.split !== "train" ? null
    : { augmenter: createAugmenter(spec.augment!, plan.image.rows, plan.image.cols), seed: spec.seed, epoch: next.epoch };
  // A schedule sets the epoch's rate from the spec alone (never accumulated), so where steps are cut changes nothing.
  if (spec.lrDecay !== undefined) next.optimizer.lr = learningRateAt(spec, next.epoch);
  const yieldEvery = rowsPerYield(3 * layout.count);
  let lossSum = 0;
  let correct = 0;
  let sinceYield = 0;
  for (let b = from; b < to; b += batch) {
    const n = Math.min(batch, to - b);
    gather(lookup, plan, window, b, n, X, y, augmenting);
    const J = costGradient(layout, spec.loss, params, X, y, n, spec.lambda, grad, ws, plan.trainCount);
    const why = divergence(spec, J);
    if (why !== null) return { next: null, diverged: `${why} at epoch ${next.epoch + 1}, example ${b} of the epoch` };
    lossSum += J * n;
    correct += countCorrect(layout, ws, y, n);
    optimizerStep(next.optimizer, params, grad!);
    if ((sinceYield += n) >= yieldEvery) {
      sinceYield = 0;
      yield;
    }
  }
  if (!allFinite(params)) return { next: null, diverged: `weights became non-finite at epoch ${next.epoch + 1}` };
  next.params = params.slice();
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
function* accumulate(spec: RunSpec, plan: RunPlan, layout: Layout, x: Float64Array, lookup: ShardLookup, partial: CgPartial, window: StepWindow): Generator<void, void, void> {
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
    yield;
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
function* cgStep(spec: RunSpec, plan: RunPlan, layout: Layout, next: Checkpoint, lookup: ShardLookup, window: StepWindow): StepRun {
  const st = next.optimizer;
  if (st.kind !== "cg" || spec.optimizer.name !== "cg") throw new Error("cgStep: not a cg run");
  const m = plan.trainCount;
  for (let k = 0; k < Math.max(1, plan.evalsPerStep); k++) {
    const x = cgPoint(st);
    if (x === null) break;
    const partial = next.cgPartial ?? newPartial(layout.count);
    const from = partial.cursor;
    yield* accumulate(spec, plan, layout, x, lookup, partial, window);
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

/**
 * A part of an evaluation: the validation set (phase evaluate), whose figures are recorded per epoch and then let the
 * run go on, or the test set (phase test), measured once when training is over, which ends the run.
 */
function* evaluateStep(spec: RunSpec, plan: RunPlan, layout: Layout, next: Checkpoint, lookup: ShardLookup, window: StepWindow, make: KernelFactory): StepRun {
  const { from, to } = window;
  const rows = Math.min(EVAL_ROWS, to - from);
  const { params, X, ws } = stepBuffers(make, kernelOf(plan), layout, rows, next.params, false);
  const y = new Uint8Array(rows);
  for (let at = from; at < to; at += rows) {
    const n = Math.min(rows, to - at);
    gather(lookup, plan, window, at, n, X, y);
    const { lossSum, correct } = evaluateRows(layout, spec.loss, params, X, y, n, ws);
    next.evalTally.seen += n;
    next.evalTally.correct += correct;
    next.evalTally.lossSum += lossSum;
    yield;
  }
  next.cursor = to;
  const tally = next.evalTally;
  if (next.phase === "test") {
    if (to < plan.testCount) return { next, diverged: null };
    next.test = { loss: tally.lossSum / tally.seen, accuracy: tally.correct / tally.seen, count: tally.seen };
    next.phase = "done";
    return { next, diverged: null };
  }
  if (to < plan.validationCount) return { next, diverged: null };
  const cg = next.optimizer.kind === "cg" ? next.optimizer : null;
  const t = next.epochTally;
  next.evaluations.push({
    step: next.step,
    epoch: cg ? 1 : next.epoch + 1,
    ...(cg ? { iteration: cg.costs.length } : {}),
    trainLoss: t.seen > 0 ? t.lossSum / t.seen : null,
    trainAccuracy: t.seen > 0 ? t.correct / t.seen : null,
    validationLoss: tally.lossSum / tally.seen,
    validationAccuracy: tally.correct / tally.seen,
  });
  const finished = cg ? cg.phase === "done" : next.epoch + 1 >= epochsOf(spec);
  if (finished) {
    next.phase = "test";
    next.cursor = 0;
    next.evalTally = emptyTally();
  } else if (cg) next.phase = "train";
  else nextEpoch(next);
  return { next, diverged: null };
}
