/**
 * A step's window of examples: the shards the consumer loads for a step (shardsNeeded) are exactly the shards the
 * step reads, in every phase, for first-order and cg runs alike, with feedback examples after the dataset's.
 */
import { describe, expect, test } from "vitest";
import { kernelFactory } from "../../src/kernels";
import type { DatasetManifest, Shard, SplitManifest } from "../../src/data/shards";
import type { Checkpoint } from "../../src/training/checkpoint";
import { initialCheckpoint, makePlan, shardsNeeded, stepWindow, type Source } from "../../src/training/plan";
import { RunSpecSchema, type RunSpec } from "../../src/training/spec";
import { runStep } from "../../src/training/step";

const SHARD = 1000;
const split = (count: number): SplitManifest => ({ count, shardSize: SHARD, shards: [] });
const manifest: DatasetManifest = {
  name: "tiny", version: "v1", rows: 2, cols: 2, classes: 3, checksum: 0, createdAt: "", train: split(2500), validation: split(1100), test: split(1200),
};
const feedback = split(700);

const shards = new Map<string, Shard>();

/** Shard `index` of a source: 2×2 "images" whose pixels and labels follow from their position. */
function shardOf(source: Source, index: number): Shard {
  const key = `${source}/${index}`;
  if (!shards.has(key)) shards.set(key, makeShard(source, index));
  return shards.get(key)!;
}

function makeShard(source: Source, index: number): Shard {
  const count = Math.min(SHARD, { train: 2500, validation: 1100, test: 1200, feedback: 700 }[source] - index * SHARD);
  const labels = Uint8Array.from({ length: count }, (_, i) => (i + index) % 3);
  const pixels = Uint8Array.from({ length: 4 * count }, (_, i) => (i * 37 + index * 11 + source.length) % 256);
  return { count, rows: 2, cols: 2, labels, pixels };
}

/** Examples read, by the phase of the step that read them and the source they came from. */
type Reads = Record<string, Record<string, number>>;

/**
 * Steps a run to its end; at each step, compares the shards it was given with the shards it read, and counts the
 * examples each phase read from each source (a shard's pixels are read once per example gathered).
 */
function stepThrough(spec: RunSpec, stepWork: number): { steps: number; windows: number[]; reads: Reads } {
  const plan = makePlan(spec, manifest, stepWork, { feedback });
  let ck: Checkpoint = initialCheckpoint(spec);
  const windows: number[] = [];
  const reads: Reads = {};
  while (ck.phase !== "done") {
    const phase = ck.phase;
    const needed = new Set(shardsNeeded(spec, plan, ck).map((r) => `${r.source}/${r.shard}`));
    const read = new Set<string>();
    const w = stepWindow(spec, plan, ck)!;
    windows.push(w.to - w.from);
    const result = runStep(spec, plan, ck, (source, index) => {
      read.add(`${source}/${index}`);
      const counts = (reads[phase] ??= {});
      counts[source] = (counts[source] ?? 0) + 1;
      return shardOf(source, index);
    }, kernelFactory);
    expect([...read].sort(), `step ${ck.step} (${ck.phase})`).toEqual([...needed].sort());
    ck = result.next!;
  }
  expect(shardsNeeded(spec, plan, ck)).toEqual([]);
  expect(stepWindow(spec, plan, ck)).toBeNull();
  return { steps: ck.step, windows, reads };
}

const base = { dataset: "tiny", layers: [4, 5, 3], includeFeedback: true, seed: 7, promote: "never" };

describe("a step's window", () => {
  test("first-order: the epoch's order in steps of whole batches, the validation set after each epoch, the test set once at the end", () => {
    const spec = RunSpecSchema.parse({ ...base, optimizer: { name: "adam" }, batchSize: 50, epochs: 2 });
    // 43 parameters: a step of 500 examples; evaluation steps of 1000 (the smallest, a whole chunk).
    const { steps, windows } = stepThrough(spec, 500 * 43);
    // 3200 training examples (2500 + 700 feedback) in windows of 500, then the 1100 validation examples; after the
    // last epoch's validation, the 1200 test examples, once.
    const epoch = [500, 500, 500, 500, 500, 500, 200, 1000, 100];
    expect(windows).toEqual([...epoch, ...epoch, 1000, 200]);
    expect(steps).toBe(20);
  });

  test("no step trains on a validation or test example: counted example by example, in every phase", () => {
    for (const optimizer of [{ name: "adam" }, { name: "cg", iterations: 2 }]) {
      const spec = RunSpecSchema.parse({ ...base, optimizer, ...(optimizer.name === "cg" ? {} : { batchSize: 50, epochs: 2 }) });
      const { reads } = stepThrough(spec, 500 * 43);
      // Training reads the 2500 training and 700 feedback examples only, every epoch (cg: every evaluation).
      expect(Object.keys(reads.train).sort()).toEqual(["feedback", "train"]);
      expect(reads.train.train % 2500).toBe(0);
      expect(reads.train.feedback % 700).toBe(0);
      expect(reads.train.train / 2500).toBe(reads.train.feedback / 700);
      // Each evaluation reads the 1100 validation examples; the test phase, once, the 1200 test examples.
      expect(Object.keys(reads.evaluate)).toEqual(["validation"]);
      expect(reads.evaluate.validation % 1100).toBe(0);
      expect(reads.test).toEqual({ test: 1200 });
    }
  });

  test("cg, an evaluation spanning steps: the evaluation's next chunks, from where the last step stopped", () => {
    const spec = RunSpecSchema.parse({ ...base, optimizer: { name: "cg", iterations: 2 } });
    const { windows } = stepThrough(spec, 1000 * 43);
    expect(windows.slice(0, 4)).toEqual([1000, 1000, 1000, 200]);
  });

  test("cg, whole evaluations in a step: the whole training set", () => {
    const spec = RunSpecSchema.parse({ ...base, optimizer: { name: "cg", iterations: 2 } });
    const { windows } = stepThrough(spec, 2e7);
    expect(windows[0]).toBe(3200);
  });
});
