/**
 * How a run is cut into steps, and where it starts.
 *
 * A step does a bounded amount of work, counted in example × parameter products: `stepWork` (the STEP_WORK var,
 * 2e9 in wrangler.toml) for training, forward and backward, and three times that for forward-only evaluation. On the
 * WebAssembly SIMD kernels float32 training runs at about 5e9–1.3e10 example·parameters per second here
 * (`npm run bench`), so a default step is 0.15–0.4 s of CPU: a fraction of a second, 1/150 of the `limits.cpu_ms` of
 * wrangler.toml (60 s). The cut is derived from the network's size, never from a clock (production clocks stand still
 * during CPU work), and fixed in the run's record when it starts, with the kernels it uses. Where the steps are cut
 * does not change the weights: batches follow the epoch order whatever the step, so the same spec gives the same
 * weights bit for bit.
 */
import { epochOrder } from "../data/batches";
import type { DatasetManifest, SplitManifest } from "../data/shards";
import { cgCreate } from "../nn/cg";
import { randInitialize } from "../nn/init";
import { createLayout, type Layout } from "../nn/layout";
import type { KernelName } from "../nn/kernels";
import { createFirstOrder } from "../nn/optimizers";
import { seedRng, shuffle } from "../nn/random";
import type { OptimizerState } from "../nn/state-codec";
import type { Checkpoint, Tally } from "./checkpoint";
import { batchSizeOf, epochsOf, type RunSpec } from "./spec";

/** Rows per forward/backward call of full-batch cg (one MNIST shard): its gradient sums go chunk by chunk. */
export const CHUNK_ROWS = 1000;
/** Rows per forward call of a test-set evaluation. */
export const EVAL_ROWS = 250;
/** Most training examples a cg step reads (their shards must be in memory together: 20 MNIST shards, 15.7 MB). */
export const CG_MAX_ROWS_PER_STEP = 20_000;

/** What a run's steps are, fixed when the run starts and stored in its record. */
export interface RunPlan {
  paramCount: number;
  /** The dataset's image size: what augmentation resamples. */
  image: { rows: number; cols: number };
  /** Training examples per epoch: the dataset's (or its first trainLimit), then the feedback snapshot's `repeat` times. */
  trainCount: number;
  /** Copies of each feedback example per epoch (a refresh's refresh.repeat; 1 otherwise). */
  repeat: number;
  /** How many of them come from the dataset; examples from baseCount on are feedback. */
  baseCount: number;
  /** The labelled corrections snapshotted when the run started (includeFeedback, or a refresh's training split), or null. */
  feedback: SplitManifest | null;
  /**
   * A refresh run's replay: the dataset's training shards it samples, in order (the first baseCount examples of
   * these shards are the run's dataset examples, in place of the dataset's first ones). Absent for other runs.
   */
  replayShards?: number[];
  /** A refresh run's holdout corrections, snapshotted at its start: evaluated before and after, never trained on. */
  holdout?: SplitManifest | null;
  /** Validation examples each evaluation measures (the dataset's validation split): they choose, never train. */
  validationCount: number;
  /** Test examples measured once, when training is over. */
  testCount: number;
  shardSize: number;
  /** First-order: examples per training step (a whole number of batches). cg: examples evaluated per step. */
  examplesPerStep: number;
  /** Validation or test examples per evaluation step. */
  evalExamplesPerStep: number;
  /** cg: whole evaluations of the training set per step; 0 when one evaluation spans several steps. */
  evalsPerStep: number;
  /**
   * The kernels of the run's float32 work (first-order training, evaluation; cg's evaluations are float64 and JS),
   * fixed at its start so its weights stay bit-exact across retries and isolates. Absent in plans made before the
   * WebAssembly kernels: "js".
   */
  kernel?: KernelName;
}

/** The kernels a run was planned with. */
export const kernelOf = (plan: RunPlan): KernelName => plan.kernel ?? "js";

/** What a run's data is besides the dataset: corrections snapshotted at its start, a refresh's replay and holdout. */
export interface PlanData {
  feedback?: SplitManifest | null;
  holdout?: SplitManifest | null;
  /** Dataset training examples replayed (a refresh): taken from whole shards chosen by replayShardsOf. */
  replay?: number;
  /** Copies of each feedback example per epoch (default 1). */
  repeat?: number;
}

/**
 * The shards a refresh replays `count` training examples from: whole shards of the dataset's training set (full
 * ones only), in an order drawn from `seed`, as many as `count` needs. A sample of whole shards keeps a step's reads
 * to a few shards; MNIST's training file is in random order, so a shard is a random sample of digits itself.
 */
export function replayShardsOf(seed: number, count: number, train: SplitManifest): number[] {
  const full = train.shards.map((_, s) => s).filter((s) => Math.min(train.shardSize, train.count - s * train.shardSize) === train.shardSize);
  shuffle(seedRng((seed ^ 0x5eed) >>> 0), full);
  return full.slice(0, Math.ceil(count / train.shardSize));
}

/** The plan of a run of `spec` on `manifest` (and its corrections, replay, holdout), with steps of `stepWork` products. */
export function makePlan(spec: RunSpec, manifest: DatasetManifest, stepWork: number, data: PlanData = {}, kernel: KernelName = "wasm-simd"): RunPlan {
  const feedback = data.feedback ?? null;
  const paramCount = createLayout(spec.layers).count;
  const replayShards = data.replay === undefined ? undefined : replayShardsOf(spec.seed, data.replay, manifest.train);
  const baseCount = replayShards === undefined
    ? Math.min(spec.trainLimit ?? Infinity, manifest.train.count)
    : Math.min(data.replay!, replayShards.length * manifest.train.shardSize);
  const repeat = data.repeat ?? 1;
  const trainCount = baseCount + repeat * (feedback?.count ?? 0);
  const batch = batchSizeOf(spec);
  // cg: whole chunks, so that an evaluation is summed chunk by chunk in the same order however steps are cut.
  const cgRows = CHUNK_ROWS * Math.max(1, Math.min(Math.floor(stepWork / paramCount / CHUNK_ROWS), CG_MAX_ROWS_PER_STEP / CHUNK_ROWS));
  return {
    paramCount,
    image: { rows: manifest.rows, cols: manifest.cols },
    trainCount,
    repeat,
    baseCount,
    feedback,
    validationCount: manifest.validation.count,
    testCount: manifest.test.count,
    shardSize: manifest.train.shardSize,
    examplesPerStep: spec.optimizer.name === "cg" ? cgRows : batch * Math.max(1, Math.floor(stepWork / paramCount / batch)),
    evalExamplesPerStep: Math.max(CHUNK_ROWS, Math.floor((3 * stepWork) / paramCount / CHUNK_ROWS) * CHUNK_ROWS),
    evalsPerStep: Math.floor(cgRows / trainCount),
    kernel,
    ...(replayShards === undefined ? {} : { replayShards, holdout: data.holdout ?? null }),
  };
}

export const emptyTally = (): Tally => ({ seen: 0, correct: 0, lossSum: 0 });

function createOptimizer(spec: RunSpec, params: Float32Array): OptimizerState {
  const o = spec.optimizer;
  return o.name === "cg" ? cgCreate(Float64Array.from(params), { length: o.iterations }) : createFirstOrder(o.name, params, o);
}

/**
 * Checkpoint 0: a fresh optimizer, nothing seen, and the weights: `start` (a warm start's, the parent model's) or
 * drawn from the spec's seed.
 */
export function initialCheckpoint(spec: RunSpec, start?: Float32Array): Checkpoint {
  const layout = createLayout(spec.layers);
  const rng = seedRng(spec.seed);
  let params: Float32Array;
  if (start !== undefined) {
    if (start.length !== layout.count) throw new RangeError(`initialCheckpoint: the starting weights have ${start.length} entries, expected ${layout.count}`);
    params = Float32Array.from(start);
  } else {
    if (typeof spec.init === "object") throw new Error("initialCheckpoint: a warm start needs its model's weights");
    params = new Float32Array(layout.count);
    randInitialize(layout, rng, params, spec.init);
  }
  return {
    step: 0, phase: "train", epoch: 0, cursor: 0, examplesSeen: 0,
    epochTally: emptyTally(), evalTally: emptyTally(), history: [], evaluations: [],
    test: null, rng, params, optimizer: createOptimizer(spec, params), cgPartial: null,
  };
}

/** The layout of a spec's network. */
export const layoutOf = (spec: RunSpec): Layout => createLayout(spec.layers);

/** The dataset splits a step reads. */
export type Split = "train" | "validation" | "test";
/** Where a step's examples come from: the dataset's splits, or the run's feedback snapshot. */
export type Source = Split | "feedback";

/** Where an example lives: shard `shard` of `source`, at `offset`. */
export interface ExampleLocation {
  source: Source;
  shard: number;
  offset: number;
}

/** Where example `index` of a split lives: training indices from baseCount on are feedback examples. */
export function locateExample(plan: RunPlan, split: Split, index: number, out: ExampleLocation = { source: split, shard: 0, offset: 0 }): ExampleLocation {
  let i = index;
  let size = plan.shardSize;
  out.source = split;
  if (split === "train" && index >= plan.baseCount && plan.feedback !== null) {
    // Copy k of feedback example j is index baseCount + k·count + j: each copy has its own index, so its own draws.
    out.source = "feedback";
    i = (index - plan.baseCount) % plan.feedback.count;
    size = plan.feedback.shardSize;
  } else if (split === "train" && plan.replayShards !== undefined) {
    // A refresh's replay: its k-th example is example k % size of the k / size-th shard it samples.
    out.shard = plan.replayShards[Math.floor(i / size)];
    out.offset = i % size;
    return out;
  }
  out.shard = Math.floor(i / size);
  out.offset = i % size;
  return out;
}

/**
 * The examples a step visits: indices [from, to) of `split`, taken through `order` (a first-order epoch's shuffled
 * order) or, when it is null, as they are.
 */
export interface StepWindow {
  split: Split;
  order: Uint32Array | null;
  from: number;
  to: number;
}

/**
 * The window of the step that starts from `ck`, or null when the run is done. The one place that decides it: the
 * consumer loads the shards of this window (shardsNeeded) and the step visits exactly it (step.ts).
 *
 * - evaluate: the next evalExamplesPerStep validation examples; test: the next evalExamplesPerStep test examples;
 * - cg: the whole training set when whole evaluations fit in a step (plan.evalsPerStep ≥ 1), else the next
 *   examplesPerStep examples of the evaluation under way;
 * - first-order: the next examplesPerStep examples of the epoch's order.
 */
export function stepWindow(spec: RunSpec, plan: RunPlan, ck: Checkpoint): StepWindow | null {
  if (ck.phase === "done") return null;
  if (ck.phase === "evaluate") return { split: "validation", order: null, from: ck.cursor, to: Math.min(plan.validationCount, ck.cursor + plan.evalExamplesPerStep) };
  if (ck.phase === "test") return { split: "test", order: null, from: ck.cursor, to: Math.min(plan.testCount, ck.cursor + plan.evalExamplesPerStep) };
  if (spec.optimizer.name === "cg") {
    const from = plan.evalsPerStep >= 1 ? 0 : (ck.cgPartial?.cursor ?? 0);
    const to = plan.evalsPerStep >= 1 ? plan.trainCount : Math.min(plan.trainCount, from + plan.examplesPerStep);
    return { split: "train", order: null, from, to };
  }
  const order = epochOrder(spec.seed, ck.epoch, plan.trainCount, plan.shardSize);
  return { split: "train", order, from: ck.cursor, to: Math.min(plan.trainCount, ck.cursor + plan.examplesPerStep) };
}

/** The index, in the window's split, of the window's i-th example. */
export const exampleAt = (w: StepWindow, i: number): number => (w.order === null ? i : w.order[i]);

/** The shards a step reads: those of its window's examples. */
export function shardsNeeded(spec: RunSpec, plan: RunPlan, ck: Checkpoint): { source: Source; shard: number }[] {
  const w = stepWindow(spec, plan, ck);
  if (w === null) return [];
  const refs = new Map<string, { source: Source; shard: number }>();
  for (let i = w.from; i < w.to; i++) {
    const { source, shard } = locateExample(plan, w.split, exampleAt(w, i));
    refs.set(`${source}/${shard}`, { source, shard });
  }
  return [...refs.values()];
}

/** The epoch a record shows: first-order, the 1-based epoch under way (at most `epochs`); cg, line searches done. */
export function displayEpoch(spec: RunSpec, ck: Checkpoint): number {
  if (ck.optimizer.kind === "cg") return ck.optimizer.costs.length;
  return Math.min(ck.epoch + 1, epochsOf(spec));
}

/** Fraction of the run done, in [0, 1]. */
export function progressOf(spec: RunSpec, plan: RunPlan, ck: Checkpoint): number {
  if (ck.phase === "done") return 1;
  if (spec.optimizer.name === "cg") {
    const costs = ck.optimizer.kind === "cg" ? ck.optimizer.costs.length : 0;
    return Math.min(0.99, costs / spec.optimizer.iterations);
  }
  const total = epochsOf(spec) * plan.trainCount;
  const done = ck.epoch * plan.trainCount + (ck.phase === "train" ? ck.cursor : plan.trainCount);
  return Math.min(0.99, done / total);
}
