/**
 * `npm run bench -- --quick --json` runs end to end: it starts its bench Worker under wrangler dev, measures our kernels
 * inside it and TF.js's wasm backend in Node, and prints every expected line with positive figures. No figure is
 * compared with a target or with another: timings on a shared machine are not a test.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { beforeAll, describe, expect, test } from "vitest";
import { ROOT } from "./server.mjs";

const NETS = ["784-25-10", "784-128-10", "784-800-10"];
const IMPLS = ["edgeprop", "edgeprop-js", "edgeprop-node", "tfjs-wasm-hand", "tfjs-wasm-autodiff"];

/** Every listed field of `line` is a finite number above 0. */
function expectPositive(line, fields) {
  for (const f of fields) {
    expect(line[f], `${JSON.stringify(line)}: ${f}`).toBeGreaterThan(0);
    expect(Number.isFinite(line[f]), `${f} of ${JSON.stringify(line)}`).toBe(true);
  }
}

let run;

beforeAll(async () => {
  run = await new Promise((resolve, reject) => {
    const child = spawn(join(ROOT, "node_modules", ".bin", "tsx"), [join("scripts", "bench.ts"), "--quick", "--json"], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b) => (stdout += b));
    child.stderr.on("data", (b) => (stderr += b));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stderr, lines: stdout.trim().split("\n").map((l) => JSON.parse(l)) }));
  });
}, 120_000);

describe("npm run bench -- --quick --json", () => {
  const of = (task) => run.lines.filter((l) => l.task === task);

  test("exits 0, stdout all JSON lines", () => {
    expect(run.code, run.stderr).toBe(0);
    expect(run.lines.length).toBeGreaterThan(30);
  });

  test("the SIMD peak and the dense kernels, inside workerd", () => {
    expect(of("peak")).toHaveLength(1);
    expectPositive(of("peak")[0], ["gflops"]);
    const kernels = of("kernel");
    expect(kernels.map((k) => `${k.kernel} ${k.shape}`).sort()).toEqual(
      ["inputGradient", "linearForward", "weightGradient"].flatMap((k) => [`${k} 128x784x128`, `${k} 128x784x800`]).sort(),
    );
    for (const k of kernels) expectPositive(k, ["gflops", "ratioToPeak"]);
  });

  test.each(NETS)("training %s: every implementation, with ours against TF.js's two, which computed the same losses", (net) => {
    expect(of("check").find((l) => l.net === net).maxRelativeDifference).toBeLessThan(1e-4);
    for (const impl of IMPLS) {
      const line = of("train").find((l) => l.net === net && l.impl === impl);
      expect(line, `${impl} ${net}`).toBeDefined();
      expect(line.runtime).toBe(impl === "edgeprop" || impl === "edgeprop-js" ? "workerd" : "node");
      expectPositive(line, ["examplesPerSecond", "gflops", ...(impl === "edgeprop" || impl === "edgeprop-node" ? ["vsTfjsHand", "vsTfjsAutodiff"] : [])]);
    }
  });

  test("prediction 784-128-10, ours and TF.js: p50, p99, batch throughput", () => {
    for (const impl of ["edgeprop", "edgeprop-node", "tfjs-wasm"]) {
      const line = of("predict").find((l) => l.impl === impl && l.net === "784-128-10");
      expect(line, impl).toBeDefined();
      expectPositive(line, ["p50Micros", "p99Micros", "examplesPerSecond", "gflops"]);
    }
  });

  test("the augmentation of specs/mnist-99.json, affine only and whole, per example beside a 784-800-10 training example, with the CPU", () => {
    const lines = of("augment");
    expect(lines.map((l) => `${l.parts} ${l.impl}`).sort()).toEqual(["affine + elastic edgeprop", "affine + elastic edgeprop-js", "affine edgeprop", "affine edgeprop-js"]);
    for (const l of lines) {
      expectPositive(l, ["microsPerExample", "trainMicrosPerExample", "shareOfTraining"]);
      expect(l).toMatchObject({ runtime: "workerd", versus: { net: "784-800-10", batch: 128 }, goal: 0.15 });
      expect(typeof l.goalMet).toBe("boolean");
      expect(l.cpu).toBe(of("env")[0].cpu);
      expect(l.elastic).toBe(l.parts === "affine" ? null : l.impl === "edgeprop" ? "wasm-simd" : "js");
    }
    expect(of("env")[0].cpu.length).toBeGreaterThan(0);
  });

  test("the epoch of specs/mnist-98.json, the profile, and the run's price", () => {
    expectPositive(of("epoch")[0], ["cpuMsPerEpoch", "cpuMsPerEvaluation", "msPerCheckpoint", "msPerShard"]);
    for (const [mode, net] of [["train", "784-128-10"], ["train", "784-800-10"], ["predict", "784-128-10"]]) {
      const phases = of("profile").filter((l) => l.mode === mode && l.net === net);
      expect(phases.map((p) => p.phase)).toContain("batch");
      expect(phases.length).toBeGreaterThan(4);
      for (const p of phases) expectPositive(p, ["msPerBatch", "share"]);
    }
    const cost = of("cost")[0];
    expectPositive(cost, ["steps", "cpuMs", "r2ClassA", "r2ClassB", "queueOperations", "usd"]);
    expect(of("env")[0]).toMatchObject({ simd: true, tfjs: "4.22.0" });
  });
});
