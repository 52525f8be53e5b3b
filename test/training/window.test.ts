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
  name: "tiny", version: "v1", rows: 2, cols: 2, classes: 3, checksum: 0, createdAt: "", train: split(2500), test: split(1200),
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
  const count = Math.min(SHARD, { train: 2500, test: 1200, feedback: 700 }[source] - index * SHARD);
  const labels = Uint8Array.from({ length: count }, (_, i) => (i + index) % 3);
  const pixels = Uint8Array.from({ length: 4 * count }, (_, i) => (i * 37 + index * 11 + source.length) % 256);
  return { count, rows: 2, cols: 2, labels, pixels };
}

/** Steps a run to its end; at each step, compares the shards it was given with the shards it read. */
function stepThrough(spec: RunSpec, stepWork: number): { steps: number; windows: number[] } {
  const plan = makePlan(spec, manifest, stepWork, { feedback });
  let ck: Checkpoint = initialCheckpoint(spec);
  const windows: number[] = [];
  while (ck.phase !== "done") {
    const needed = new Set(shardsNeeded(spec, plan, ck).map((r) => `${r.source}/${r.shard}`));
    const read = new Set<string>();
    const w = stepWindow(spec, plan, ck)!;
    windows.push(w.to - w.from);
    const result = runStep(spec, plan, ck, (source, index) => {
      read.add(`${source}/${index}`);
      return shardOf(source, index);
    }, kernelFactory);
    expect([...read].sort(), `step ${ck.step} (${ck.phase})`).toEqual([...needed].sort());
    ck = result.next!;
  }
  expect(shardsNeeded(spec, plan, ck)).toEqual([]);
  expect(stepWindow(spec, plan, ck)).toBeNull();
  return { steps: ck.step, windows };
}

const base = { dataset: "tiny", layers: [4, 5, 3], includeFeedback: true, seed: 7, promote: "never" };

describe("a step's window", () => {
  test("first-order: the epoch's order in steps of whole batches, then the test set in evaluation steps", () => {
    const spec = RunSpecSchema.parse({ ...base, optimizer: { name: "adam" }, batchSize: 50, epochs: 2 });
    // 43 parameters: a step of 500 examples; evaluation steps of 1000 (the smallest, a whole chunk).
    const { steps, windows } = stepThrough(spec, 500 * 43);
    // 3200 training examples (2500 + 700 feedback) in windows of 500, then the 1200 test examples.
    const epoch = [500, 500, 500, 500, 500, 500, 200, 1000, 200];
    expect(windows).toEqual([...epoch, ...epoch]);
    expect(steps).toBe(18);
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
