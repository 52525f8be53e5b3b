/**
 * `npm run demo:refresh`: the served model learns its users' handwriting, measured. On a `wrangler dev` of its own
 * (fresh local state, the real local queue, R2 and KV):
 *
 * 1. MNIST is loaded as `npm start` loads it (55 000 training, 5 000 validation, 10 000 test digits);
 * 2. the served model is trained on it through the queue chain from a headline spec (specs/mnist-98.json);
 * 3. the 899 real handwritten digits of data/handwriting/ (UCI optical digits, not MNIST), each brought to the page's
 *    form by the page's own preprocessing (scripts/handwriting.ts), are sent as corrections (anonymous POST
 *    /v1/feedback, each with its true label) and accepted through the review API;
 * 4. a refresh run with the defaults of POST /v1/refresh fine-tunes the served model on them;
 * 5. the figures before and after: the held-out corrections (one in five, by a hash of its id: handwriting the refresh
 *    never saw), MNIST's validation set (what the guard reads) and test set (reported only), per digit, the guard's
 *    verdict, and the served model on all 899 digits through POST /v1/predict.
 *
 * `--try FILE`: a JSON array of POST /v1/refresh bodies, each refreshed from the same served model (re-promoted between
 * them), one line each: how the options trade held-out handwriting against MNIST.
 *
 * Deterministic except for the corrections' ids (time and random bytes), which decide the holdout split.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { InferRequestType, InferResponseType } from "hono/client";
import { createClient, ok, type EdgepropClient } from "../src/client";
import { defineCommand, runCommand, type Args } from "./cli";
import { loadHandwriting, perDigit } from "./handwriting";
import { ROOT, startWrangler } from "./wrangler-dev";

const command = defineCommand({
  name: "demo:refresh",
  about: "Trains and serves a model on MNIST, sends the 899 real handwritten digits of data/handwriting/ (brought to the\npage's form by the page's own code) as corrections, accepts them, refreshes the served model on them with the\ndefaults and prints the figures before and after (held-out corrections, MNIST validation and test, per digit).\nRuns its own wrangler dev on a fresh local state.",
  flags: {
    spec: { type: "string", value: "FILE", default: "specs/mnist-98.json", help: "the served model's run spec" },
    try: { type: "string", value: "FILE", help: "a JSON array of POST /v1/refresh bodies to compare, each from the same served model" },
  },
});

const TOKEN = randomBytes(16).toString("hex");

type Run = InferResponseType<EdgepropClient["v1"]["runs"][":id"]["$get"], 200>;
type Report = NonNullable<Run["refresh"]>;
type Figures = NonNullable<Report["before"]>["holdout"];
type RefreshBody = InferRequestType<EdgepropClient["v1"]["refresh"]["$post"]>["json"];

const pct = (x: number | null | undefined): string => (x === null || x === undefined ? "–" : `${(100 * x).toFixed(2)}%`);
const points = (before: Figures, after: Figures): string =>
  before.accuracy === null || after.accuracy === null ? "–" : `${after.accuracy >= before.accuracy ? "+" : "−"}${(100 * Math.abs(after.accuracy - before.accuracy)).toFixed(2)}`;

async function main({ flags }: Args<typeof command.flags>): Promise<void> {
  const started = Date.now();
  const spec = JSON.parse(readFileSync(join(ROOT, flags.spec), "utf8")) as Record<string, unknown>;
  const tries = flags.try === undefined ? null : (JSON.parse(readFileSync(flags.try, "utf8")) as RefreshBody[]);
  const digits = loadHandwriting();

  const logFile = join(ROOT, "test-results", "wrangler-demo-refresh.log");
  const server = await startWrangler({
    // As npm start: local queue messages can be lost (a reload), so the watchdog runs often (below) with a short stall.
    token: TOKEN, logFile, vars: { WATCHDOG_STALL_SECONDS: "30" },
    prepare: async (persistTo) => {
      const { execFileSync } = await import("node:child_process");
      execFileSync(process.execPath, ["--import", "tsx", join(ROOT, "scripts", "load-mnist.ts"), "--persist-to", persistTo], { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] });
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
  /** The served model on all 899 digits through POST /v1/predict, as the page would ask. */
  const onHandwriting = async (model: string) => {
    const predicted: number[] = [];
    for (let i = 0; i < digits.images.length; i += 64) {
      const images = digits.images.slice(i, i + 64).map((im) => Array.from(im));
      const res = await ok(anonymous.v1.predict.$post({ json: { images, model } }));
      predicted.push(...res.predictions.map((p) => p.digit));
    }
    return perDigit(digits.labels, predicted);
  };

  try {
    // 2. The served model.
    console.log(`demo: training the served model (${flags.spec}: ${(spec.layers as number[]).join("-")}) through the queue chain`);
    const base = await waitFor((await ok(admin.v1.runs.$post({ json: { ...spec, promote: "always" } as never }))).id);
    const parent = base.modelId!;
    console.log(`demo: served ${parent}: validation ${pct(base.validationAccuracy)}, test ${pct(base.test?.accuracy)} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
    const handwritingBefore = await onHandwriting(parent);

    // 3. The corrections: real handwriting in the page's form, sent anonymously and accepted by the admin.
    console.log(`demo: sending the ${digits.images.length} handwritten digits of data/handwriting/ as corrections and accepting them`);
    let batch: string[] = [];
    for (let i = 0; i < digits.images.length; i++) {
      const sent = await ok(anonymous.v1.feedback.$post({ json: { image: Array.from(digits.images[i]), label: digits.labels[i] } }));
      batch.push(sent.id);
      if (batch.length === 100 || i === digits.images.length - 1) {
        await ok(admin.v1.feedback.review.$post({ json: { accept: batch, reject: [] } }));
        batch = [];
      }
    }

    if (tries !== null) {
      console.log(`\n${"options".padEnd(72)}${"holdout".padStart(18)}${"validation".padStart(18)}${"test".padStart(18)}  verdict`);
      for (const body of tries) {
        const t0 = Date.now();
        const run = await waitFor((await ok(admin.v1.refresh.$post({ json: body }))).id);
        const { before, after } = run.refresh!;
        const cell = (f: "holdout" | "validation" | "test") => `${pct(before![f].accuracy)}→${pct(after![f].accuracy)}`.padStart(18);
        console.log(`${JSON.stringify(body).padEnd(72)}${cell("holdout")}${cell("validation")}${cell("test")}  ${run.promoted ? "promoted" : "refused"} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
        await ok(admin.v1.models[":id"].promote.$post({ param: { id: parent } }));
      }
      return;
    }

    // 4. The refresh, with POST /v1/refresh's defaults.
    const refreshStarted = Date.now();
    const run = await waitFor((await ok(admin.v1.refresh.$post({ json: {} }))).id);
    const seconds = (Date.now() - refreshStarted) / 1000;
    const handwritingAfter = await onHandwriting(run.modelId!);
    report(run, seconds, handwritingBefore, handwritingAfter);
    console.log(`demo: ${((Date.now() - started) / 1000).toFixed(0)} s in all`);
  } finally {
    await server.stop();
  }
}

function report(run: Run, seconds: number, hwBefore: ReturnType<typeof perDigit>, hwAfter: ReturnType<typeof perDigit>): void {
  const r = run.refresh!;
  const { before, after, changes } = { before: r.before!, after: r.after!, changes: r.changes! };
  const s = run.spec;
  console.log(`\nrefresh ${run.id}: ${r.corrections} training corrections (× ${s.refresh?.repeat ?? 1}) + ${r.replay} replayed MNIST digits, ${s.epochs} epochs${s.augment ? `, augmented ${JSON.stringify(s.augment)}` : ""}; ${r.holdout} corrections held out; ${seconds.toFixed(1)} s\n`);
  console.log(`${"".padEnd(44)}${"before".padStart(9)}${"after".padStart(9)}${"points".padStart(9)}${"gained".padStart(8)}${"lost".padStart(6)}`);
  const row = (name: string, f: "holdout" | "validation" | "test", paired?: { gained: number; lost: number }) =>
    console.log(`${`${name} (${after[f].count})`.padEnd(44)}${pct(before[f].accuracy).padStart(9)}${pct(after[f].accuracy).padStart(9)}${points(before[f], after[f]).padStart(9)}${String(paired?.gained ?? "").padStart(8)}${String(paired?.lost ?? "").padStart(6)}`);
  row("held-out corrections (never trained)", "holdout", changes.holdout);
  row("MNIST validation (the guard reads)", "validation", changes.validation);
  row("MNIST test (reported only)", "test");
  console.log(`${"all 899 handwritten digits, predict".padEnd(44)}${pct(hwBefore.overall.accuracy).padStart(9)}${pct(hwAfter.overall.accuracy).padStart(9)}   (4 in 5 were trained on)`);
  console.log(`\nper digit${"held out".padStart(22)}${"validation".padStart(22)}${"test".padStart(22)}`);
  for (let d = 0; d < 10; d++) {
    const cell = (f: Figures[]) => f.map((x) => (x.perDigit[d].count === 0 ? "–" : pct(x.perDigit[d].correct / x.perDigit[d].count))).join(" → ").padStart(22);
    console.log(`${String(d).padEnd(9)}${cell([before.holdout, after.holdout])}${cell([before.validation, after.validation])}${cell([before.test, after.test])}`);
  }
  console.log(`\n${run.promotionReason}`);
}

await runCommand(command, main);
