/**
 * `npm run train -- [spec.json] [flags]`: starts a training run on a running `npm start` (or a deployed Worker with
 * --url), shows its progress with loss and accuracy, and prints the final figures.
 *
 * Flags (override the spec file): --url URL (http://127.0.0.1:8787, or $EDGEPROP_URL), --token T ($ADMIN_TOKEN or
 * .dev.vars), --dataset, --layers 784,128,10, --loss, --optimizer sgd|momentum|adam|cg, --lr, --momentum,
 * --iterations, --lambda, --batch, --epochs, --seed, --train-limit, --init, --eval-every, --promote, --name;
 * --attach RUN_ID follows an existing run instead of starting one.
 */
import { existsSync, readFileSync } from "node:fs";

type Json = Record<string, any>;

function parseArgs(argv: string[]): { file: string | null; flags: Map<string, string> } {
  const flags = new Map<string, string>();
  let file: string | null = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith("--")) {
      const [k, v] = a.includes("=") ? a.slice(2).split(/=(.*)/s) : [a.slice(2), argv[++i]];
      if (v === undefined) throw new Error(`--${k} needs a value`);
      flags.set(k, v);
    } else file = a;
  }
  return { file, flags };
}

function buildSpec(file: string | null, flags: Map<string, string>): Json {
  const spec: Json = file ? JSON.parse(readFileSync(file, "utf8")) : {};
  const num = (k: string) => {
    const n = Number(flags.get(k));
    if (!Number.isFinite(n)) throw new Error(`--${k} needs a number, got ${flags.get(k)}`);
    return n;
  };
  const set: Record<string, () => void> = {
    dataset: () => (spec.dataset = flags.get("dataset")),
    layers: () => (spec.layers = flags.get("layers")!.split(",").map(Number)),
    loss: () => (spec.loss = flags.get("loss")),
    optimizer: () => (spec.optimizer = { name: flags.get("optimizer") }),
    lambda: () => (spec.lambda = num("lambda")),
    batch: () => (spec.batchSize = num("batch")),
    epochs: () => (spec.epochs = num("epochs")),
    seed: () => (spec.seed = num("seed")),
    "train-limit": () => (spec.trainLimit = num("train-limit")),
    init: () => (spec.init = flags.get("init") === "default" ? "default" : num("init")),
    "eval-every": () => (spec.evalEvery = num("eval-every")),
    promote: () => (spec.promote = flags.get("promote")),
    name: () => (spec.name = flags.get("name")),
  };
  for (const k of Object.keys(set)) if (flags.has(k)) set[k]();
  for (const [flag, key] of [["lr", "learningRate"], ["momentum", "momentum"], ["iterations", "iterations"]] as const) {
    if (flags.has(flag)) spec.optimizer = { ...(spec.optimizer ?? {}), [key]: num(flag) };
  }
  return spec;
}

function adminToken(flags: Map<string, string>): string | undefined {
  if (flags.has("token")) return flags.get("token");
  if (process.env.ADMIN_TOKEN) return process.env.ADMIN_TOKEN;
  if (existsSync(".dev.vars")) return /^ADMIN_TOKEN=(.*)$/m.exec(readFileSync(".dev.vars", "utf8"))?.[1]?.trim();
  return undefined;
}

const pct = (x: number | null | undefined) => (typeof x === "number" ? `${(100 * x).toFixed(2)}%` : "–");
function duration(s: number | null | undefined): string {
  if (typeof s !== "number" || !Number.isFinite(s)) return "–";
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${String(Math.round(s % 60)).padStart(2, "0")}s` : `${s.toFixed(0)}s`;
}

function progressLine(r: Json): string {
  const width = 30;
  const filled = Math.round(width * (r.progress ?? 0));
  const bar = "█".repeat(filled) + "░".repeat(width - filled);
  const h = r.history?.[r.history.length - 1];
  const e = r.evaluations?.[r.evaluations.length - 1];
  const cg = r.spec?.optimizer?.name === "cg";
  const where = cg ? `iter ${h?.iteration ?? 0}/${r.spec.optimizer.iterations}` : `epoch ${Math.min(r.epoch, r.spec?.epochs ?? 5)}/${r.spec?.epochs ?? 5}`;
  return `${bar} ${(100 * (r.progress ?? 0)).toFixed(0).padStart(3)}% ${r.status} ${where} step ${r.step} loss ${h ? h.loss.toFixed(4) : "–"} train ${pct(h?.trainAccuracy)} test ${pct(e?.testAccuracy)} ETA ${duration(r.etaSeconds)}`;
}

async function main(): Promise<void> {
  const { file, flags } = parseArgs(process.argv.slice(2));
  const url = (flags.get("url") ?? process.env.EDGEPROP_URL ?? "http://127.0.0.1:8787").replace(/\/$/, "");
  let runId = flags.get("attach");
  const started = Date.now();
  if (runId === undefined) {
    const spec = buildSpec(file, flags);
    const token = adminToken(flags);
    const res = await fetch(`${url}/v1/runs`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(spec),
    });
    const body = (await res.json()) as Json;
    if (res.status !== 202) throw new Error(`POST /v1/runs: ${res.status} ${JSON.stringify(body.error ?? body)}`);
    runId = body.id as string;
    console.log(`run ${runId} started: ${JSON.stringify(body.spec)}`);
    console.log(`plan: ${JSON.stringify(body.plan)}`);
  }
  const tty = process.stdout.isTTY;
  let lastPrinted = 0;
  let r: Json;
  for (;;) {
    const res = await fetch(`${url}/v1/runs/${runId}`);
    r = (await res.json()) as Json;
    if (res.status !== 200) throw new Error(`GET /v1/runs/${runId}: ${res.status} ${JSON.stringify(r.error ?? r)}`);
    const ended = ["succeeded", "failed", "diverged", "cancelled"].includes(r.status);
    if (tty) process.stdout.write(`\r${progressLine(r)}\x1b[K`);
    else if (ended || Date.now() - lastPrinted > 10_000) {
      console.log(progressLine(r));
      lastPrinted = Date.now();
    }
    if (ended) break;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  if (tty) process.stdout.write("\n");
  const wall = (Date.now() - started) / 1000;
  console.log(`\nrun ${r.id}: ${r.status}${r.error ? ` (${r.error})` : ""}`);
  for (const e of r.evaluations ?? []) {
    const at = e.iteration !== undefined ? `iteration ${e.iteration}` : `epoch ${e.epoch}`;
    console.log(`  ${at.padEnd(13)} train loss ${e.trainLoss?.toFixed(4) ?? "–"} accuracy ${pct(e.trainAccuracy)} | test loss ${e.testLoss.toFixed(4)} accuracy ${pct(e.testAccuracy)}`);
  }
  const last = r.evaluations?.[r.evaluations.length - 1];
  console.log(`test accuracy ${pct(last?.testAccuracy)} on ${r.plan?.testCount} test images; ${r.step} steps, ${r.examplesSeen} examples, wall time ${duration(wall)}` +
    ` (run ${duration((Date.parse(r.finishedAt ?? r.updatedAt) - Date.parse(r.createdAt)) / 1000)})`);
  if (r.modelId) console.log(`model ${r.modelId}${r.promoted ? " (promoted: now serving)" : " (not promoted)"}`);
  if (r.status !== "succeeded") process.exitCode = 1;
}

main().catch((e) => {
  console.error(`train: ${(e as Error).message}`);
  process.exit(1);
});
