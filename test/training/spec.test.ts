/** The run spec's checks against a dataset, and how a run is cut into steps. */
import { describe, expect, test } from "vitest";
import type { DatasetManifest } from "../../src/data/shards";
import { locateExample, makePlan } from "../../src/training/plan";
import { RunSpecSchema, specProblems } from "../../src/training/spec";

const manifest = (train: number, test: number): DatasetManifest => ({
  name: "digits", version: "v1", rows: 28, cols: 28, classes: 10, checksum: 0, createdAt: "",
  train: { count: train, shardSize: 1000, shards: [] }, validation: { count: 1000, shardSize: 1000, shards: [] }, test: { count: test, shardSize: 1000, shards: [] },
});

describe("specProblems", () => {
  test("cg takes the whole training set, its evaluations spread over steps; only its network size is limited", () => {
    const spec = RunSpecSchema.parse({ layers: [784, 200, 10], optimizer: { name: "cg" } });
    expect(specProblems(spec, manifest(60_000, 10_000))).toEqual([]);
    const plan = makePlan(spec, manifest(60_000, 10_000), 2e9);
    expect(plan).toMatchObject({ trainCount: 60_000, examplesPerStep: 12_000, evalsPerStep: 0 });
    const small = makePlan({ ...spec, layers: [784, 25, 10], trainLimit: 5000 }, manifest(60_000, 10_000), 2e9);
    expect(small).toMatchObject({ examplesPerStep: 20_000, evalsPerStep: 4 });
    expect(specProblems({ ...spec, layers: [784, 600, 10] }, manifest(60_000, 10_000)).join()).toMatch(/training with cg in a Worker allows at most 400000/);
  });

  test("shapes must fit the dataset", () => {
    const spec = RunSpecSchema.parse({ layers: [400, 25, 9], optimizer: { name: "adam" } });
    const problems = specProblems(spec, manifest(100, 10));
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/layers\[0\] must be 784/);
    expect(problems[1]).toMatch(/last layer must be 10/);
  });
});

describe("makePlan", () => {
  test("a step is a whole number of batches sized from the network, evaluation three times as much", () => {
    const spec = RunSpecSchema.parse({ layers: [784, 100, 10], optimizer: { name: "sgd", learningRate: 0.1 }, batchSize: 64 });
    const plan = makePlan(spec, manifest(60_000, 10_000), 2e9);
    expect(plan.paramCount).toBe(79_510);
    expect(plan.examplesPerStep % 64).toBe(0);
    expect(plan.examplesPerStep * plan.paramCount).toBeLessThanOrEqual(2e9);
    expect((plan.examplesPerStep + 64) * plan.paramCount).toBeGreaterThan(2e9);
    expect(plan.evalExamplesPerStep).toBe(75_000);
  });

  test("feedback examples follow the dataset's in the training index space", () => {
    const spec = RunSpecSchema.parse({ layers: [784, 10, 10], optimizer: { name: "adam" }, trainLimit: 2500 });
    const feedback = { count: 1200, shardSize: 1000, shards: [] };
    const plan = makePlan(spec, manifest(60_000, 10_000), 2e9, { feedback });
    expect(plan).toMatchObject({ baseCount: 2500, trainCount: 3700 });
    expect(locateExample(plan, "train", 2499)).toEqual({ source: "train", shard: 2, offset: 499 });
    expect(locateExample(plan, "train", 2500)).toEqual({ source: "feedback", shard: 0, offset: 0 });
    expect(locateExample(plan, "train", 3699)).toEqual({ source: "feedback", shard: 1, offset: 199 });
    expect(locateExample(plan, "test", 2500)).toEqual({ source: "test", shard: 2, offset: 500 });
  });
});
