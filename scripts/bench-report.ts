/**
 * What `npm run bench` prints: the figures of one run (medians, and ratios between them) as tables, or as one JSON
 * object a line. GFLOP/s count 6 × parameters per training example (forward 2P, backward 4P) and 2P per predicted
 * image, whatever an implementation skips: our kernels skip the products of zero inputs (most MNIST pixels) and
 * neither side computes the gradient of the input layer.
 */
import type { KernelFigure, Phase } from "../bench/profile";
import type { AugmentSpec } from "../src/data/distort";
import { sizesOf, TRAIN_FLOPS_PER_PARAM } from "../bench/measure";
import { createLayout } from "../src/nn/layout";
import type { TfjsInfo } from "./bench-tfjs";
import { PRICES, PRICES_AS_OF, type CostLine, type RunUsage } from "./prices";

export type TrainImpl = "edgeprop" | "edgeprop-js" | "edgeprop-node" | "tfjs-wasm-hand" | "tfjs-wasm-autodiff";
export type PredictImpl = "edgeprop" | "edgeprop-node" | "tfjs-wasm";

/** Everything one run measured. */
export interface Results {
  runs: number;
  quick: boolean;
  node: string;
  /** The machine's CPU model (os.cpus()) and its logical cores. */
  cpu: string;
  cores: number;
  tfjs: TfjsInfo;
  clockResolutionMs: number | null;
  loadBefore: number[];
  loadAfter: number[];
  peak: number;
  kernels: KernelFigure[];
  /** The largest relative difference between our losses and TF.js's on the first batches, per network. */
  agreement: { net: string; maxRelativeDifference: number }[];
  /** Medians, and the slowest and fastest run. */
  train: { net: string; impl: TrainImpl; examplesPerSecond: number; range: [number, number] }[];
  predict: { impl: PredictImpl; net: string; p50Micros: number; p99Micros: number; examplesPerSecond: number }[];
  /** µs per augmented example (medians): edgeprop as the app's Worker augments, edgeprop-js with the JS elastic loops. */
  augment: {
    parts: "affine" | "affine + elastic"; impl: "edgeprop" | "edgeprop-js"; augment: AugmentSpec; elastic: string | null;
    microsPerExample: number; trainMicrosPerExample: number; shareOfTraining: number;
  }[];
  epoch: { examplesPerSecond: number; evalPerSecond: number; cpuMsPerEpoch: number; cpuMsPerEvaluation: number; msPerCheckpoint: number; msPerShard: number } | null;
  profile: { mode: "train" | "predict"; net: string; batch: number; phases: Phase[]; pixelDensity: number }[];
  cost: { usage: RunUsage; epochs: number; cpuMs: number; lines: CostLine[]; usd: number; runsPerMonthIncluded: number } | null;
}

const paramsOf = (net: string): number => createLayout(sizesOf(net)).count;
const runtimeOf = (impl: string): string => (impl === "edgeprop" || impl === "edgeprop-js" ? "workerd" : "node");
const round = (x: number, digits = 3): number => Number(x.toPrecision(digits));

/** The augmentation's goal: at most this share of a training example's time (784-800-10, batch 128). */
export const AUGMENT_GOAL = 0.15;
/** The training the augmentation is timed in turns with (and compared with): its network, kernels and batch. */
export const AUGMENT_VERSUS = { net: "784-800-10", impl: "edgeprop" as const, batch: 128 };

/**
 * Flops per example the kernels actually do, by profile phase: the products of nonzero inputs only in the first layer
 * (a share `density` of the pixels; hidden activations are never exactly 0), and the input gradient of hidden layers
 * only.
 */
function flopsDone(sizes: readonly number[], density: number): Record<string, number> {
  let [forward, weights, inputs] = [0, 0, 0];
  for (let l = 0; l + 1 < sizes.length; l++) {
    const [I, O] = [sizes[l], sizes[l + 1]];
    const active = l === 0 ? density * I : I;
    forward += 2 * O * active;
    weights += 2 * O * (active + 1);
    if (l > 0) inputs += 2 * O * I;
  }
  return { "kernel linearForward": forward, "kernel weightGradient": weights, "kernel inputGradient": inputs };
}

/** The JSON lines: one object per figure. */
export function jsonLines(r: Results): object[] {
  const lines: object[] = [];
  const timing = `inside the Worker: performance.now() advances during CPU work in local workerd (steps of ${r.clockResolutionMs} ms); production clocks do not`;
  lines.push({ task: "peak", impl: "wasm-simd", runtime: "workerd", gflops: round(r.peak) });
  for (const k of r.kernels) lines.push({ task: "kernel", impl: "edgeprop", runtime: "workerd", kernel: k.kernel, shape: k.shape, gflops: round(k.gflops), ratioToPeak: round(k.gflops / r.peak) });
  for (const a of r.agreement) lines.push({ task: "check", net: a.net, batches: 3, impls: ["edgeprop-node", "tfjs-wasm-hand", "tfjs-wasm-autodiff"], maxRelativeDifference: Number(a.maxRelativeDifference.toExponential(2)) });
  for (const t of r.train) {
    const gflops = (t.examplesPerSecond * TRAIN_FLOPS_PER_PARAM * paramsOf(t.net)) / 1e9;
    const other = (impl: TrainImpl) => r.train.find((o) => o.net === t.net && o.impl === impl)!.examplesPerSecond;
    const versus = t.impl === "edgeprop" || t.impl === "edgeprop-node" ? { vsTfjsHand: round(t.examplesPerSecond / other("tfjs-wasm-hand")), vsTfjsAutodiff: round(t.examplesPerSecond / other("tfjs-wasm-autodiff")) } : {};
    lines.push({ task: "train", impl: t.impl, net: t.net, batch: 128, runtime: runtimeOf(t.impl), examplesPerSecond: round(t.examplesPerSecond, 4), runsRange: t.range.map((x) => round(x, 4)), gflops: round(gflops), ...versus });
  }
  for (const p of r.predict) {
    const gflops = (p.examplesPerSecond * 2 * paramsOf(p.net)) / 1e9;
    lines.push({ task: "predict", impl: p.impl, net: p.net, runtime: runtimeOf(p.impl), p50Micros: round(p.p50Micros), p99Micros: round(p.p99Micros), batch: 1000, examplesPerSecond: round(p.examplesPerSecond, 4), gflops: round(gflops) });
  }
  for (const a of r.augment) {
    lines.push({
      task: "augment", impl: a.impl, runtime: "workerd", spec: "specs/mnist-99.json", parts: a.parts, augment: a.augment, elastic: a.elastic,
      microsPerExample: round(a.microsPerExample), versus: AUGMENT_VERSUS, trainMicrosPerExample: round(a.trainMicrosPerExample),
      shareOfTraining: round(a.shareOfTraining), goal: AUGMENT_GOAL, goalMet: a.shareOfTraining <= AUGMENT_GOAL, cpu: r.cpu,
    });
  }
  if (r.epoch !== null) {
    lines.push({ task: "epoch", impl: "edgeprop", net: "784-300-10", batch: 100, runtime: "workerd", examplesPerSecond: round(r.epoch.examplesPerSecond, 4), cpuMsPerEpoch: round(r.epoch.cpuMsPerEpoch, 4), cpuMsPerEvaluation: round(r.epoch.cpuMsPerEvaluation, 4), msPerCheckpoint: round(r.epoch.msPerCheckpoint), msPerShard: round(r.epoch.msPerShard) });
  }
  for (const p of r.profile) {
    const batch = p.phases.find((f) => f.phase === "batch")!.msPerBatch;
    const done = flopsDone(sizesOf(p.net), p.pixelDensity);
    for (const f of p.phases) {
      const flops = done[f.phase];
      const rate = flops === undefined ? {} : { gflopsDone: round((p.batch * flops) / (f.msPerBatch * 1e6)) };
      lines.push({
        task: "profile", mode: p.mode, impl: "edgeprop", runtime: "workerd", net: p.net, batch: p.batch, phase: f.phase, msPerBatch: round(f.msPerBatch),
        share: round(f.msPerBatch / batch), ...rate, pixelDensity: round(p.pixelDensity),
      });
    }
  }
  if (r.cost !== null) {
    const { usage: u, cpuMs, lines: bill, usd, runsPerMonthIncluded } = r.cost;
    lines.push({
      task: "cost", spec: "specs/mnist-98.json", steps: u.trainSteps + u.evalSteps, trainSteps: u.trainSteps, evalSteps: u.evalSteps, cpuMs: round(cpuMs, 4),
      ...u.calls, queueOperations: 3 * u.calls.messages, shardReadsCold: u.shardReads, usd: round(usd), runsPerMonthIncluded,
      items: Object.fromEntries(bill.map((l) => [l.item, { usage: round(l.usage, 4), usd: round(l.usd) }])),
    });
  }
  lines.push({
    task: "env", runs: r.runs, quick: r.quick, node: r.node, cpu: r.cpu, cores: r.cores, timing, tfjs: r.tfjs.version, tfjsBackend: r.tfjs.backend, simd: r.tfjs.simd, threads: r.tfjs.threads,
    threadedBuildInNode: false, loadBefore: r.loadBefore.map((x) => round(x)), loadAfter: r.loadAfter.map((x) => round(x)),
  });
  return lines;
}

/** Columns padded to their widest cell; the first column left-aligned, the others right-aligned. */
function table(rows: (string | number)[][]): string[] {
  const cells = rows.map((row) => row.map(String));
  const widths = cells[0].map((_, c) => Math.max(...cells.map((row) => (row[c] ?? "").length)));
  return cells.map((row) => row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join("  ").trimEnd());
}

const f0 = (x: number) => x.toFixed(0);
const f1 = (x: number) => x.toFixed(1);
const f2 = (x: number) => x.toFixed(2);
const pct = (x: number) => `${(100 * x).toFixed(0)}%`;

type Line = Record<string, never>;
type Lines = (task: string) => Line[];

function header(r: Results): string[] {
  return [
    `edgeprop in workerd (wrangler dev), timed inside the Worker (performance.now() advances during CPU work locally, ${r.clockResolutionMs} ms steps);`,
    `TF.js ${r.tfjs.version} ${r.tfjs.backend} backend in Node ${r.node}: SIMD ${r.tfjs.simd ? "on" : "off"}, ${r.tfjs.threads} thread (the threaded build does not run in Node).`,
    `CPU: ${r.cpu}, ${r.cores} logical cores. ${r.runs} run(s) per figure after a warm-up, median; batch 128; real MNIST digits. Load average before ${r.loadBefore.map(f2).join(" ")}, after ${r.loadAfter.map(f2).join(" ")}.`,
    "",
    `WebAssembly SIMD multiply+add peak (workerd, 12 chains of f32x4 mul+add): ${f1(r.peak)} GFLOP/s`,
  ];
}

function trainingTable(r: Results, of: Lines): string[] {
  const impls: TrainImpl[] = ["edgeprop", "edgeprop-js", "edgeprop-node", "tfjs-wasm-hand", "tfjs-wasm-autodiff"];
  const train = of("train");
  const rows: (string | number)[][] = [["network", "params", ...impls, "vs hand", "vs autodiff", "node: vs hand", "vs autodiff"]];
  for (const net of [...new Set(train.map((t) => t.net as string))]) {
    const at = (impl: TrainImpl) => train.find((t) => t.net === net && t.impl === impl)!;
    const [ours, node] = [at("edgeprop"), at("edgeprop-node")] as Record<string, number>[];
    rows.push([
      net, paramsOf(net), ...impls.map((i) => `${f0(at(i).examplesPerSecond)} (${f1(at(i).gflops)})`),
      `${f2(ours.vsTfjsHand)}×`, `${f2(ours.vsTfjsAutodiff)}×`, `${f2(node.vsTfjsHand)}×`, `${f2(node.vsTfjsAutodiff)}×`,
    ]);
  }
  const agree = Math.max(...r.agreement.map((a) => a.maxRelativeDifference)).toExponential(1);
  return [
    "Training, examples/s (GFLOP/s at 6 × parameters per example); edgeprop and edgeprop-js in workerd, the others in Node;",
    "ratios: edgeprop (workerd) and edgeprop-node (same runtime as TF.js) against TF.js. From the same weights, the three",
    `computed the same losses on the first 3 batches (largest relative difference ${agree}).`,
    ...table(rows),
  ];
}

function kernelTable(of: Lines): string[] {
  const kernels = of("kernel");
  const shapes = [...new Set(kernels.map((k) => k.shape as string))];
  const rows = ["linearForward", "weightGradient", "inputGradient"].map((name) => [
    name, ...shapes.flatMap((s) => {
      const k = kernels.find((x) => x.kernel === name && x.shape === s) as Record<string, number>;
      return [f1(k.gflops), pct(k.ratioToPeak)];
    }),
  ]);
  return ["Dense kernels alone (workerd, dense inputs), GFLOP/s at 2·n·I·O per call, and of the peak", ...table([["kernel", ...shapes.flatMap((s) => [s, "of peak"])], ...rows])];
}

function predictionTable(of: Lines): string[] {
  return [
    "Prediction, 784-128-10: one image (µs, p50 and p99 over 1 ms windows of back-to-back calls), a batch of 1000 (images/s)",
    ...table([["impl", "runtime", "p50 µs", "p99 µs", "batch images/s", "GFLOP/s"], ...of("predict").map((p) => [p.impl, p.runtime, f1(p.p50Micros), f1(p.p99Micros), f0(p.examplesPerSecond), f1(p.gflops)])]),
  ];
}

function augmentTable(r: Results, of: Lines): string[] {
  const lines = of("augment");
  if (lines.length === 0) return [];
  const rows = lines.map((a) => [
    a.parts, a.impl, a.elastic ?? "none", f2(a.microsPerExample), f1(a.trainMicrosPerExample), `${(100 * a.shareOfTraining).toFixed(1)}%`, a.goalMet ? "yes" : "no",
  ]);
  return [
    `Augmentation per example, specs/mnist-99.json's augment (affine only; affine + elastic), inside workerd, CPU ${r.cpu}: edgeprop as the`,
    "app's Worker augments (createAugmenter: the elastic field on its WebAssembly module), edgeprop-js with the JS elastic loops (the same",
    `bits); each timed in turns with training batches of ${AUGMENT_VERSUS.net}, batch ${AUGMENT_VERSUS.batch} (edgeprop), whose µs per example are beside it. Goal: ≤ ${pct(AUGMENT_GOAL)}.`,
    ...table([["parts", "impl", "elastic loops", "µs/example", "training µs/example", "share", `≤ ${pct(AUGMENT_GOAL)}`], ...rows]),
  ];
}

function profileTables(of: Lines): string[] {
  const out: string[] = [];
  for (const key of [...new Set(of("profile").map((p) => `${p.mode} ${p.net} ${p.batch}`))]) {
    const phases = of("profile").filter((p) => `${p.mode} ${p.net} ${p.batch}` === key);
    const batch = phases.find((f) => f.phase === "batch")!;
    const parts = phases.filter((f) => f.phase !== "batch");
    const sum = parts.reduce((s, f) => s + (f.msPerBatch as number), 0);
    const what = batch.mode === "train" ? "a training batch" : "a batch prediction";
    out.push("", `Where the time of ${what} goes, edgeprop ${batch.net} in workerd, batch ${batch.batch} (each phase timed alone; nonzero pixels ${pct(batch.pixelDensity)}; GFLOP/s on the products done)`);
    out.push(...table([["phase", "ms/batch", "share", "GFLOP/s"], ...parts.map((f) => [f.phase, f2(f.msPerBatch), pct(f.share), f.gflopsDone === undefined ? "" : f1(f.gflopsDone)]),
      ["sum of the phases", f2(sum), pct(sum / batch.msPerBatch), ""], ["the whole batch", f2(batch.msPerBatch), "100%", ""]]));
  }
  return out;
}

function costTable(r: Results): string[] {
  if (r.epoch === null || r.cost === null) return [];
  const { usage: u, epochs, cpuMs, lines: bill, usd, runsPerMonthIncluded } = r.cost;
  const money = (x: number) => `$${x < 0.1 ? String(x) : x.toFixed(2)}`;
  const per = (n: number) => (n === 1 ? "" : ` per ${n / 1e6}M`);
  return [
    `MNIST epoch, 784-300-10, momentum, batch 100 (specs/mnist-98.json), edgeprop in workerd: ${f0(r.epoch.cpuMsPerEpoch)} CPU-ms per epoch of 60 000 (${f0(r.epoch.examplesPerSecond)} examples/s), ${f0(r.epoch.cpuMsPerEvaluation)} CPU-ms per evaluation of the 10 000 test digits.`,
    `specs/mnist-98.json: ${u.trainSteps} training + ${u.evalSteps} evaluation steps (STEP_WORK), ${u.calls.messages} messages; CPU = ${epochs} epochs + ${u.evaluations} evaluations + ${u.trainSteps + u.evalSteps} steps × ${f1(r.epoch.msPerCheckpoint)} ms (checkpoint decode, copy, encode) + ${u.shardReads} cold shard reads × ${f2(r.epoch.msPerShard)} ms (decode, CRC-32) = ${f0(cpuMs)} ms`,
    ...table([
      ["item", "usage", "list price", "cost (USD)"],
      ...bill.map((l) => [PRICES[l.item].unit, l.usage < 1 ? l.usage.toExponential(2) : f0(l.usage), `${money(PRICES[l.item].usd)}${per(PRICES[l.item].per)}`, l.usd.toFixed(6)]),
      ["total at list prices", "", "", usd.toFixed(6)],
    ]),
    `R2 class B counts every shard read cold (${u.shardReads}); Workers Paid's included usage covers about ${runsPerMonthIncluded} such runs a month.`,
    `Prices: ${PRICES_AS_OF}; scripts/prices.ts, from ${[...new Set(Object.values(PRICES).map((p) => p.page))].join(", ")}`,
  ];
}

/** The tables. */
export function tables(r: Results): string[] {
  const lines = jsonLines(r) as Line[];
  const of: Lines = (task) => lines.filter((l) => l.task === task);
  return [...header(r), "", ...trainingTable(r, of), "", ...kernelTable(of), "", ...predictionTable(of), "", ...augmentTable(r, of), ...profileTables(of), "", ...costTable(r)];
}

/** The output lines: the tables, or the JSON lines. */
export const report = (r: Results, json: boolean): string[] => (json ? jsonLines(r).map((l) => JSON.stringify(l)) : tables(r));
