/**
 * `npm run train -- [spec.json] [flags]`: starts a training run on a running `npm start` (or a deployed Worker with
 * --url), shows its progress with loss and accuracy, and prints the final figures; --attach RUN_ID follows a run
 * that is already going. Talks to the API through the typed client (src/client.ts); the spec is checked with the
 * Worker's own schema before anything is sent. `npm run train -- --help` lists the flags.
 */
import { readFileSync } from "node:fs";
import type { z } from "@hono/zod-openapi";
import type { InferResponseType } from "hono/client";
import { createClient, ok, type EdgepropClient } from "../src/client";
import { LOSSES, MAX_LAYER_SIZE } from "../src/nn/layout";
import { formatIssues } from "../src/routes/validation";
import { RUN_ID_PATTERN } from "../src/storage/keys";
import { OPTIMIZER_NAMES, PROMOTE_POLICIES, RunSpecSchema } from "../src/training/spec";
import { adminToken, defineCommand, runCommand, serverUrl, TOKEN_FLAG, URL_FLAG, UsageError, type Args } from "./cli";

const command = defineCommand({
  name: "train",
  about: "Starts a training run on the edgeprop server and follows it: progress bar, loss, accuracy, ETA, then the final figures.\nFlags set the spec's keys (over the spec file's); the spec is checked before anything is sent.",
  positional: { name: "spec.json", help: "a run spec, as POST /v1/runs takes it (e.g. specs/mnist-98.json)" },
  flags: {
    url: URL_FLAG,
    token: TOKEN_FLAG,
    attach: { type: "string", value: "RUN_ID", help: "follow this run instead of starting one" },
    dataset: { type: "string", value: "NAME", help: "dataset" },
    layers: { type: "integers", value: "784,128,10", min: 1, max: MAX_LAYER_SIZE, help: "layers: input, hidden…, classes" },
    loss: { type: "string", value: "LOSS", choices: LOSSES, help: "loss" },
    optimizer: { type: "string", value: "NAME", choices: OPTIMIZER_NAMES, help: "optimizer.name; replaces the spec file's optimizer" },
    lr: { type: "number", value: "RATE", help: "optimizer.learningRate" },
    momentum: { type: "number", value: "MU", help: "optimizer.momentum" },
    iterations: { type: "integer", help: "optimizer.iterations (cg)" },
    lambda: { type: "number", value: "L", help: "lambda" },
    batch: { type: "integer", help: "batchSize" },
    epochs: { type: "integer", help: "epochs" },
    seed: { type: "integer", help: "seed" },
    "train-limit": { type: "integer", help: "trainLimit" },
    init: { type: "string", value: "EPSILON", help: 'init: "default" or a number such as 0.12' },
    "eval-every": { type: "integer", help: "evalEvery" },
    promote: { type: "string", value: "POLICY", choices: PROMOTE_POLICIES, help: "promote" },
    name: { type: "string", help: "name" },
  },
});

type Flags = Args<typeof command.flags>["flags"];
type RunSpecInput = z.input<typeof RunSpecSchema>;
type Run = InferResponseType<EdgepropClient["v1"]["runs"][":id"]["$get"], 200>;

/** The flags that are not spec keys. */
const NOT_SPEC = new Set(["url", "token", "attach"]);

/** A spec file's JSON object; UsageError when it cannot be read or is not one. */
function readSpecFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new UsageError(`cannot read the spec file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`the spec file ${path} is not JSON: ${(e as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new UsageError(`the spec file ${path} must hold a JSON object (a run spec)`);
  return value as Record<string, unknown>;
}

/** `--init`: "default" or a number. */
function initOf(text: string | undefined): "default" | number | undefined {
  if (text === undefined || text === "default") return text;
  const n = text.trim() === "" ? NaN : Number(text);
  if (!Number.isFinite(n)) throw new UsageError(`--init needs "default" or a number such as 0.12, got ${JSON.stringify(text)}`);
  return n;
}

/** The spec file with the flags' keys over it, checked with the Worker's schema (UsageError naming each problem). */
function buildSpec(file: string | null, flags: Flags): RunSpecInput {
  const spec: Record<string, unknown> = file === null ? {} : readSpecFile(file);
  const keys: [string, unknown][] = [
    ["dataset", flags.dataset], ["layers", flags.layers], ["loss", flags.loss], ["lambda", flags.lambda], ["batchSize", flags.batch],
    ["epochs", flags.epochs], ["seed", flags.seed], ["trainLimit", flags["train-limit"]], ["init", initOf(flags.init)],
    ["evalEvery", flags["eval-every"]], ["promote", flags.promote], ["name", flags.name],
  ];
  for (const [key, value] of keys) if (value !== undefined) spec[key] = value;
  if (flags.optimizer !== undefined) spec.optimizer = { name: flags.optimizer };
  for (const [key, value] of [["learningRate", flags.lr], ["momentum", flags.momentum], ["iterations", flags.iterations]] as const) {
    if (value !== undefined) spec.optimizer = { ...(spec.optimizer as object | undefined), [key]: value };
  }
  const missing = [["layers", "--layers 784,128,10"], ["optimizer", `--optimizer ${OPTIMIZER_NAMES.join("|")}`]].filter(([key]) => spec[key] === undefined);
  if (missing.length > 0) throw new UsageError(`the run spec needs ${missing.map(([key, flag]) => `${key} (${flag}, or "${key}" in a spec file)`).join(" and ")}`);
  const checked = RunSpecSchema.safeParse(spec);
  if (!checked.success) throw new UsageError(`invalid run spec: ${formatIssues(checked.error.issues)}`);
  return spec as RunSpecInput;
}

const pct = (x: number | null | undefined) => (typeof x === "number" ? `${(100 * x).toFixed(2)}%` : "–");
function duration(s: number | null | undefined): string {
  if (typeof s !== "number" || !Number.isFinite(s)) return "–";
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${String(Math.round(s % 60)).padStart(2, "0")}s` : `${s.toFixed(0)}s`;
}

function progressLine(r: Run): string {
  const width = 30;
  const filled = Math.round(width * r.progress);
  const bar = "█".repeat(filled) + "░".repeat(width - filled);
  const h = r.history[r.history.length - 1];
  const e = r.evaluations[r.evaluations.length - 1];
  const o = r.spec.optimizer;
  const epochs = r.spec.epochs ?? 5;
  const where = o.name === "cg" ? `iter ${h?.iteration ?? 0}/${o.iterations}` : `epoch ${Math.min(r.epoch, epochs)}/${epochs}`;
  return `${bar} ${(100 * r.progress).toFixed(0).padStart(3)}% ${r.status} ${where} step ${r.step} loss ${h ? h.loss.toFixed(4) : "–"} train ${pct(h?.trainAccuracy)} validation ${pct(e?.validationAccuracy)} ETA ${duration(r.etaSeconds)}`;
}

/** Polls the run every second until it ends, drawing its progress; returns the ended run. */
async function follow(client: EdgepropClient, id: string): Promise<Run> {
  const tty = process.stdout.isTTY;
  let lastPrinted = 0;
  for (;;) {
    const r = await ok(client.v1.runs[":id"].$get({ param: { id } }));
    // A succeeded run's promotion is decided just after its commit: it is over once `promoted` is set.
    const ended = !["queued", "running"].includes(r.status) && !(r.status === "succeeded" && r.promoted === null);
    if (tty) process.stdout.write(`\r${progressLine(r)}\x1b[K`);
    else if (ended || Date.now() - lastPrinted > 10_000) {
      console.log(progressLine(r));
      lastPrinted = Date.now();
    }
    if (ended) {
      if (tty) process.stdout.write("\n");
      return r;
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

function report(r: Run, wallSeconds: number): void {
  console.log(`\nrun ${r.id}: ${r.status}${r.error ? ` (${r.error})` : ""}`);
  for (const e of r.evaluations) {
    const at = e.iteration !== undefined ? `iteration ${e.iteration}` : `epoch ${e.epoch}`;
    console.log(`  ${at.padEnd(13)} train loss ${e.trainLoss?.toFixed(4) ?? "–"} accuracy ${pct(e.trainAccuracy)} | validation loss ${e.validationLoss.toFixed(4)} accuracy ${pct(e.validationAccuracy)}`);
  }
  const last = r.evaluations[r.evaluations.length - 1];
  console.log(`validation accuracy ${pct(last?.validationAccuracy)} on ${r.plan.validationCount} validation images`);
  console.log(`test accuracy ${pct(r.test?.accuracy)} on ${r.plan.testCount} test images (measured once, at the end); ${r.step} steps, ${r.examplesSeen} examples, wall time ${duration(wallSeconds)}` +
    ` (run ${duration((Date.parse(r.finishedAt ?? r.updatedAt) - Date.parse(r.createdAt)) / 1000)})`);
  if (r.modelId) console.log(`model ${r.modelId}${r.promoted ? " (promoted: now serving)" : " (not promoted)"}`);
}

async function main({ flags, positional }: Args<typeof command.flags>): Promise<void> {
  const url = serverUrl(flags.url);
  if (flags.attach !== undefined) {
    if (!RUN_ID_PATTERN.test(flags.attach)) throw new UsageError(`--attach needs a run id such as run-0mx3xkao0-5f2c9a1b, got ${JSON.stringify(flags.attach)}`);
    const specFlags = Object.entries(flags).filter(([k, v]) => !NOT_SPEC.has(k) && v !== undefined).map(([k]) => `--${k}`);
    if (positional !== null || specFlags.length > 0) throw new UsageError(`--attach follows a run that exists: drop ${[positional, ...specFlags].filter(Boolean).join(" ")}`);
  }
  const spec = flags.attach === undefined ? buildSpec(positional, flags) : null;
  const client = createClient(url, { token: adminToken(flags.token) });
  const started = Date.now();
  let id = flags.attach;
  if (spec !== null) {
    const run = await ok(client.v1.runs.$post({ json: spec }));
    id = run.id;
    console.log(`run ${run.id} started: ${JSON.stringify(run.spec)}`);
    console.log(`plan: ${JSON.stringify(run.plan)}`);
  }
  const r = await follow(client, id!);
  report(r, (Date.now() - started) / 1000);
  if (r.status !== "succeeded") process.exitCode = 1;
}

await runCommand(command, main);
