/**
 * The page in a real browser against a real `wrangler dev`: headless Chromium (Debian's /usr/bin/chromium) driven
 * by playwright-core. Before the page opens, the server gets its own fresh state, a dataset named `mnist` (uploaded
 * through the API) and a served model trained here with src/nn, so that drawn digits are recognized.
 *
 * Every test opens its own tab and fails on any console error, page error, failed request or HTTP error answer it
 * saw. Chromium is /usr/bin/chromium (`apt-get install chromium`; CHROMIUM_PATH overrides it). The phone tests
 * (375×740, a finger through touch emulation) check that the prediction stays in view while drawing, that a
 * correction can be undone, and that every control fits the screen.
 * The Models panel measures the served model on real handwriting (899 UCI digits) in the browser: the figure it
 * shows is checked against the same measurement made here through the API. A run started with augmentation shows
 * what it trains on: its first examples as stored and as augmented, the API's pixels.
 * Screenshots go to test-results/ (desktop.png, phone.png, models.png, training.png); with EDGEPROP_DOCS_SCREENSHOT=1
 * the desktop one is also written to docs/screenshot.png.
 */
import { randomBytes } from "node:crypto";
import { copyFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { formatProbability } from "../../public/js/format.js";
import { toPageForm } from "../../public/js/handwriting.js";
import { call, canvasPixels, controlsThatDoNotFit, draw, handwritingThroughApi, predictionPlace, readPreview, shownProbabilities, touchDraw, trainDigitModel } from "./fixtures.mjs";
import { handwritingSettled, recordingTab, startServedPage } from "./browser.mjs";
import { ROOT } from "./server.mjs";

const RESULTS = join(ROOT, "test-results");
const TOKEN = randomBytes(18).toString("hex");
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 375, height: 740 };
const POLL = { timeout: 15_000, interval: 100 };

/** A 7 as one stroke, in fractions of the pad: the bar, then the diagonal. */
const SEVEN = [[[0.25, 0.22], [0.72, 0.22], [0.42, 0.85]]];
/** A 3 as one stroke. */
const THREE = [[[0.3, 0.22], [0.5, 0.15], [0.68, 0.25], [0.62, 0.42], [0.45, 0.5], [0.65, 0.58], [0.7, 0.75], [0.5, 0.86], [0.3, 0.8]]];

let server;
let browser;
let stop; // ends Chromium and the server
let served; // the imported model: { id, testAccuracy, … }

beforeAll(async () => {
  mkdirSync(RESULTS, { recursive: true });
  const model = trainDigitModel();
  expect(model.accuracy).toBeGreaterThan(0.85);
  // A small STEP_WORK cuts the page's tiny run into several steps, so that its progress and charts move; a review
  // queue of two corrections lets the feedback test see the page's answer to a full queue.
  ({ server, served, browser, stop } = await startServedPage({
    token: TOKEN, model, vars: { STEP_WORK: "2e7", FEEDBACK_PENDING_MAX: "2" }, logFile: join(RESULTS, "wrangler-e2e.log"), viewport: DESKTOP,
  }));
});

afterAll(async () => {
  await stop?.();
});

/**
 * A new tab on the page that records every console error, page error and HTTP error answer; returned once the
 * real-handwriting figure of the served model is measured (or read from this browser's localStorage), so that its
 * predictions do not mix with a test's.
 */
async function openPage(viewport = DESKTOP) {
  const { page, problems } = await recordingTab(browser, viewport);
  await page.goto(server.url, { waitUntil: "load" });
  await expect.poll(() => page.locator("#serving-pill").textContent(), POLL).toContain(served.id);
  await handwritingSettled(page, served.id);
  return { page, problems };
}

/** Reloads the page once no request is in flight (one cut short by the reload would count as a failed request). */
async function reload(page) {
  await page.waitForLoadState("networkidle");
  return page.reload({ waitUntil: "load" });
}

/** Waits until the prediction on screen is that of the drawing; returns it with its input. */
async function settledPrediction(page) {
  await page.waitForFunction(() => window.edgeprop?.settled && window.edgeprop.lastPrediction !== null);
  return page.evaluate(() => ({ input: window.edgeprop.lastInput, prediction: window.edgeprop.lastPrediction, shown: document.getElementById("guess").textContent }));
}

/** Every probability on screen is `probabilities` through the page's one rounding, the top digit's everywhere alike. */
async function expectOneRounding(page, probabilities, digit) {
  const shown = await shownProbabilities(page);
  expect(shown.bars.map((b) => b.label)).toEqual(probabilities.map((p) => formatProbability(p).text));
  expect(shown.bars.map((b) => b.valuetext)).toEqual(shown.bars.map((b) => b.label));
  expect(shown.bars.map((b) => Number(b.valuenow))).toEqual(probabilities.map((p) => formatProbability(p).value));
  expect(shown.bars.findIndex((b) => b.top)).toBe(digit);
  expect(shown.confidence).toBe(`${shown.bars[digit].label} sure`);
  const ranked = probabilities.map((p, k) => [k, p]).sort((a, b) => b[1] - a[1]).slice(0, 3);
  expect(shown.top3).toEqual(ranked.map(([k]) => `${k} ${shown.bars[k].label}`));
  return shown;
}

/** A tab at phone size whose finger (touch events through the returned CDP session) draws on the pad. */
async function openPhone() {
  const { page, problems } = await openPage(PHONE);
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Emulation.setTouchEmulationEnabled", { enabled: true, maxTouchPoints: 1 });
  return { page, problems, cdp };
}

describe("the page", () => {
  test("a drawn digit is preprocessed like MNIST, shown, and predicted as the API predicts it (throttled)", async () => {
    const { page, problems } = await openPage();
    const drawnFrom = await page.evaluate(() => performance.now());
    const moves = await draw(page, SEVEN);
    const { input, prediction, shown } = await settledPrediction(page);

    // Updated while drawing, but throttled: fewer requests than pointer moves, never two within the page's 150 ms
    // (start times from the browser's own resource timing; the real-handwriting figure's came before the drawing).
    const predicts = await page.evaluate((from) => performance.getEntriesByType("resource").filter((e) => e.name.endsWith("/v1/predict") && e.startTime >= from).map((e) => e.startTime), drawnFrom);
    expect(predicts.length).toBeGreaterThanOrEqual(2);
    expect(predicts.length).toBeLessThan(moves);
    const gaps = predicts.slice(1).map((t, i) => t - predicts[i]);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(145);

    // The 28×28 preview on screen is the input sent: non-empty, centred by centre of mass like MNIST's (14, 14).
    expect(input).toHaveLength(784);
    expect(input.every((v) => typeof v === "number" && v >= 0 && v <= 1)).toBe(true);
    const preview = await readPreview(page);
    expect(preview.lit).toBeGreaterThan(40);
    expect(Math.abs(preview.cx - 14)).toBeLessThan(0.6);
    expect(Math.abs(preview.cy - 14)).toBeLessThan(0.6);
    preview.pixels.forEach((v, i) => expect(Math.abs(v - input[i])).toBeLessThanOrEqual(1 / 255 + 1e-9));

    // The prediction on screen is the API's for the same pixels.
    const api = await call(server.url, "/v1/predict", { method: "POST", body: { image: input } });
    expect(api.status).toBe(200);
    expect(api.body.modelId).toBe(served.id);
    expect(prediction.modelId).toBe(served.id);
    expect(prediction.digit).toBe(api.body.predictions[0].digit);
    expect(shown).toBe(String(api.body.predictions[0].digit));
    prediction.probabilities.forEach((p, k) => expect(p).toBeCloseTo(api.body.predictions[0].probabilities[k], 6));
    const topBar = await page.locator("#bars li.top .bar-track").getAttribute("aria-label");
    expect(topBar).toBe(`Probability of ${prediction.digit}`);
    await expectOneRounding(page, prediction.probabilities, prediction.digit);

    // Clear empties the pad, the preview and the prediction.
    await page.getByRole("button", { name: "Clear" }).click();
    expect(await page.locator("#guess").textContent()).toBe("–");
    expect((await readPreview(page)).lit).toBe(0);
    expect(await page.evaluate(() => window.edgeprop.lastInput)).toBeNull();
    expect(problems).toEqual([]);
    await page.close();
  });

  test("\"that's wrong, it was 7\" sends the drawn input, pending until an admin accepts it in the review panel", async () => {
    const { page, problems } = await openPage();
    await draw(page, SEVEN);
    const { input } = await settledPrediction(page);
    const isPost = (r) => r.url().endsWith("/v1/feedback") && r.request().method() === "POST";
    // A chosen digit waits 5 s behind Undo; "Send now" sends it at once.
    const send = async (k) => {
      await page.getByRole("button", { name: `That's wrong, it was ${k}` }).click();
      const [response] = await Promise.all([page.waitForResponse(isPost), page.getByRole("button", { name: "Send now" }).click()]);
      return response;
    };
    const [request, response] = await Promise.all([
      page.waitForRequest((r) => r.url().endsWith("/v1/feedback") && r.method() === "POST"),
      send(7),
    ]);
    expect(request.postDataJSON()).toEqual({ image: input, label: 7 });
    expect(response.status()).toBe(201);
    const { id, status } = await response.json();
    expect(status).toBe("pending");
    await expect.poll(() => page.locator("#feedback-message").textContent(), POLL).toContain("awaits review");
    const other = await send(1);
    expect(other.status()).toBe(201);
    const otherId = (await other.json()).id;

    // The queue holds two corrections (FEEDBACK_PENDING_MAX=2): a third is refused, and the page says why.
    expect((await send(2)).status()).toBe(507);
    await expect.poll(() => page.locator("#feedback-message").textContent(), POLL).toContain("the review queue is full");
    // The refusal is the one HTTP error answer expected here, seen as a response and as Chromium's console line.
    await expect.poll(() => problems.length, POLL).toBe(2);
    expect(problems.filter((p) => p.startsWith("HTTP 507 POST") || (p.startsWith("console: ") && p.includes("507")))).toHaveLength(2);
    problems.length = 0;

    // Without the token the panel shows the counts only; with it, the corrections with their pictures.
    const before = (await call(server.url, "/v1/feedback")).body;
    await expect.poll(() => page.locator("#review-counts").textContent(), POLL).toContain(`${before.pending} pending review`);
    expect(await page.locator("#pending-list li").count()).toBe(0);
    await page.getByLabel("Admin token", { exact: true }).fill(TOKEN);
    await page.getByRole("button", { name: "Refresh", exact: true }).click();
    const item = page.locator(`#pending-list li[data-id="${id}"]`);
    await item.waitFor({ timeout: POLL.timeout });
    expect(await item.textContent()).toContain("it was 7");
    expect(await page.locator(`#pending-list li[data-id="${otherId}"]`).textContent()).toContain("it was 1");
    // Read from the canvas in the document: typing the token and clicking Refresh load the list twice, and a canvas
    // the second load replaced measures 0 px.
    const readPicture = () => item.locator("canvas").evaluate((c) => {
      const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
      return { width: c.width, shown: c.isConnected ? c.getBoundingClientRect().width : -1, red: Array.from({ length: d.length / 4 }, (_, i) => d[4 * i]) };
    });
    await expect.poll(async () => (await readPicture()).shown, POLL).toBeGreaterThanOrEqual(56);
    const picture = await readPicture();
    expect(picture.width).toBe(28);
    expect(picture.red).toEqual(input.map((v) => Math.round(v * 255)));

    // One accepted by its own button, then the rest rejected with "Reject all shown" (one batch).
    await page.getByRole("button", { name: `Accept correction ${id}` }).click();
    await expect.poll(() => page.locator("#review-message").textContent(), POLL).toContain("Accepted 1, rejected 0");
    await expect.poll(() => page.locator("#review-counts").textContent(), POLL).toContain(`${before.pending - 1} pending review`);
    expect(await page.locator("#review-counts").textContent()).toContain(`${before.accepted + 1} accepted`);
    await page.locator(`#accepted-list li[data-id="${id}"]`).waitFor({ timeout: POLL.timeout });
    expect(await page.locator(`#pending-list li[data-id="${id}"]`).count()).toBe(0);
    await page.getByRole("button", { name: "Reject all shown" }).click();
    await expect.poll(() => page.locator("#review-message").textContent(), POLL).toContain("Accepted 0, rejected 1");
    await expect.poll(() => page.locator("#review-counts").textContent(), POLL).toContain(`${before.pending - 2} pending review`);
    expect(await page.locator("#pending-list").textContent()).toContain("Nothing awaits review");

    const accepted = await call(server.url, "/v1/feedback/accepted?limit=100", { token: TOKEN });
    expect(accepted.status).toBe(200);
    expect(accepted.body.items.map((i) => i.id)).toContain(id);
    expect(accepted.body.items.map((i) => i.id)).not.toContain(otherId);
    expect((await call(server.url, "/v1/feedback")).body).toMatchObject({ pending: before.pending - 2, accepted: before.accepted + 1 });
    expect(problems).toEqual([]);
    await page.close();
  });

  test("a run started from the form with augmentation is followed live: progress, charts, what it trains on, hidden units", async () => {
    const { page, problems } = await openPage();
    await page.getByLabel("Admin token", { exact: true }).fill(TOKEN);
    expect(await page.evaluate(() => sessionStorage.getItem("edgeprop.adminToken"))).toBe(TOKEN);
    // 40 short epochs: with the WebAssembly kernels a run of 3 took under a second, faster than the page polls (1 s).
    await page.getByLabel("Layers", { exact: true }).fill("784-16-10");
    await page.getByLabel("Epochs", { exact: true }).fill("40");
    await page.getByLabel("Learning rate", { exact: true }).fill("0.01");
    await page.getByLabel("Rate decay", { exact: true }).fill("0.98");
    // Augmentation: its parts can be typed once ticked, prefilled with Simard's distortions.
    expect(await page.getByLabel("Rotate ± (°)", { exact: true }).isDisabled()).toBe(true);
    await page.getByLabel("Augmentation", { exact: true }).check();
    expect(await page.getByLabel("Rotate ± (°)", { exact: true }).isDisabled()).toBe(false);
    await page.getByLabel("Translate ± (px)", { exact: true }).fill("1");
    await page.locator("summary", { hasText: "More options" }).click();
    await page.getByLabel("Train on the first", { exact: true }).fill("4000");
    await page.getByLabel("Promote", { exact: true }).selectOption("never");
    // Watch the progress bar from the page itself, so that no value it takes is missed.
    await page.evaluate(() => {
      const bar = document.getElementById("run-progress");
      window.progressSeen = [bar.value];
      new MutationObserver(() => window.progressSeen.push(bar.value)).observe(bar, { attributes: true });
    });
    const isPreview = (r) => /\/v1\/runs\/[^/]+\/augmented\?/.test(r.url());
    const previews = [];
    page.on("response", (r) => {
      if (isPreview(r)) previews.push(r.url());
    });
    const [started, preview] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith("/v1/runs") && r.request().method() === "POST"),
      page.waitForResponse(isPreview),
      page.getByRole("button", { name: "Start run" }).click(),
    ]);
    expect(started.status()).toBe(202);
    const runId = (await started.json()).id;
    await expect.poll(() => page.locator("#run-title").textContent(), POLL).toBe(`Run ${runId}`);
    const augment = { rotate: 8, shear: 8, scale: 0.08, translate: 1, elastic: { alpha: 34, sigma: 4 } };
    expect(started.request().postDataJSON()).toMatchObject({ layers: [784, 16, 10], epochs: 40, lrDecay: 0.98, augment });

    // What it trains on, from the one preview request: eight examples, each as stored and as augmented, the API's
    // pixels on the canvases, and the augmented ones not the stored ones.
    expect(preview.url()).toBe(`${server.url}/v1/runs/${runId}/augmented?count=8&epoch=0`);
    expect(preview.status()).toBe(200);
    const examples = await preview.json();
    expect(examples.augment).toEqual(augment);
    expect(examples.examples).toHaveLength(8);
    const shownExamples = page.locator("#run-examples-list li.example");
    await expect.poll(() => shownExamples.count(), POLL).toBe(8);
    expect(await page.locator("#run-examples").isVisible()).toBe(true);
    expect(await shownExamples.locator(".example-label").allTextContents()).toEqual(examples.examples.map((x) => String(x.label)));
    expect(await canvasPixels(page.locator("#run-examples-list canvas[data-kind=original]"))).toEqual(examples.examples.map((x) => x.original));
    expect(await canvasPixels(page.locator("#run-examples-list canvas[data-kind=augmented]"))).toEqual(examples.examples.map((x) => x.augmented));
    for (const x of examples.examples) {
      const moved = x.original.filter((v, i) => Math.abs(v - x.augmented[i]) > 32).length;
      expect(moved, `example ${x.index}`).toBeGreaterThan(20);
    }
    const shownSize = await page.locator("#run-examples-list canvas").first().evaluate((c) => c.getBoundingClientRect().width);
    expect(shownSize).toBeGreaterThanOrEqual(40);
    expect(await page.locator("#run-examples-note").textContent()).toContain("rotate ±8°, shear ±8°, scale ±8%, translate ±1 px, elastic α 34 σ 4 px");

    // Live: the chart gets points and the progress bar moves before the run ends.
    await page.waitForFunction(() => window.Chart.getChart(document.getElementById("loss-chart")).data.datasets[0].data.length >= 1, null, { timeout: 120_000 });
    await page.waitForFunction(() => document.getElementById("run-status").textContent === "succeeded", null, { timeout: 150_000 });
    await page.waitForFunction(() => !document.getElementById("run-units-figure").hidden, null, { timeout: 30_000 });

    const progressSeen = await page.evaluate(() => window.progressSeen.map(Number));
    expect(new Set(progressSeen).size).toBeGreaterThanOrEqual(2);
    expect(Math.max(...progressSeen)).toBe(1);
    expect(progressSeen.some((p) => p > 0 && p < 1)).toBe(true);

    const record = (await call(server.url, `/v1/runs/${runId}`)).body;
    expect(record.status).toBe("succeeded");
    expect(record.spec).toMatchObject({ augment, lrDecay: 0.98 });
    const chart = await page.evaluate(() => ["loss-chart", "accuracy-chart"].map((id) => window.Chart.getChart(document.getElementById(id)).data.datasets.map((d) => ({ label: d.label, points: d.data.map((p) => p.y) }))));
    for (const [i, field] of [[0, "validationLoss"], [1, "validationAccuracy"]]) {
      expect(chart[i].map((d) => d.label)).toEqual(["training", "validation"]);
      expect(chart[i][0].points).toHaveLength(record.history.length);
      expect(chart[i][1].points).toEqual(record.evaluations.map((e) => (i === 1 ? 100 * e[field] : e[field])));
    }
    expect(record.history.length).toBeGreaterThanOrEqual(2);
    expect(await page.locator("#accuracy-chart").getAttribute("aria-label")).toContain(`latest validation accuracy ${(100 * record.evaluations.at(-1).validationAccuracy).toFixed(1)}%`);

    // The facts: the last validation accuracy, and the test accuracy measured once at the end (record.test).
    const facts = Object.fromEntries(await page.locator("#run-facts > div").evaluateAll((ds) => ds.map((d) => [d.querySelector("dt").textContent, d.querySelector("dd").textContent])));
    expect(record.test).toMatchObject({ count: 10_000 });
    expect(facts["Validation accuracy"]).toBe(`${(100 * record.evaluations.at(-1).validationAccuracy).toFixed(2)}% (epoch ${record.evaluations.at(-1).epoch})`);
    expect(facts["Test accuracy (measured once)"]).toBe(`${(100 * record.test.accuracy).toFixed(2)}%`);
    expect(facts["Rate decay"]).toBe("× 0.98 per epoch");
    await expect.poll(() => page.locator("#run-list").textContent(), POLL).toContain(`validation ${(100 * record.validationAccuracy).toFixed(2)}% · test ${(100 * record.test.accuracy).toFixed(2)}%`);
    // One preview request for the run, however many polls.
    expect(previews).toEqual([preview.url()]);

    // The hidden units: one 28×28 tile per hidden unit, not blank.
    const units = await page.evaluate(() => {
      const c = document.getElementById("run-units");
      const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
      const values = new Set();
      for (let i = 0; i < d.length; i += 4) values.add(d[i]);
      return { units: Number(c.dataset.units), width: c.width, shown: c.getBoundingClientRect().width, distinct: values.size };
    });
    expect(units.units).toBe(16);
    expect(units.width).toBe(4 * 29 + 1);
    expect(units.shown).toBeGreaterThan(100);
    expect(units.distinct).toBeGreaterThan(50);

    // The run's model is listed; the served one did not change (promote: never).
    await expect.poll(() => page.locator("#model-list").textContent(), POLL).toContain(record.modelId);
    expect((await call(server.url, "/healthz")).body.servingModelId).toBe(served.id);

    expect(await controlsThatDoNotFit(page)).toEqual([]);
    await page.locator("#training").screenshot({ path: join(RESULTS, "training.png") });

    // A run without augmentation (cg, which takes none), the newest when the page opens again, so followed: its
    // examples as they are, and the page says so. Then the augmented one, ended, selected from the list: its pairs.
    const plain = await call(server.url, "/v1/runs", { method: "POST", token: TOKEN, body: { dataset: "mnist", layers: [784, 8, 10], optimizer: { name: "cg", iterations: 2 }, trainLimit: 200, promote: "never" } });
    expect(plain.status, JSON.stringify(plain.body)).toBe(202);
    await expect.poll(async () => (await call(server.url, `/v1/runs/${plain.body.id}`)).body.status, { timeout: 60_000, interval: 500 }).toBe("succeeded");
    const [plainPreview] = await Promise.all([page.waitForResponse(isPreview), reload(page)]);
    expect(plainPreview.url()).toContain(`/v1/runs/${plain.body.id}/augmented`);
    expect((await plainPreview.json()).augment).toBeNull();
    await handwritingSettled(page, served.id);
    await expect.poll(() => page.locator("#run-examples-note").textContent(), POLL).toBe("The first 8 examples of epoch 1: this run trains on them as they are (no augmentation).");
    expect(await page.locator("#run-examples-list canvas[data-kind=original]").count()).toBe(8);
    expect(await page.locator("#run-examples-list canvas[data-kind=augmented]").count()).toBe(0);
    expect(await page.locator("#run-examples-list li.pairs, #run-examples-list.pairs").count()).toBe(0);
    const [again] = await Promise.all([page.waitForResponse(isPreview), page.getByRole("button", { name: `Watch run ${runId}` }).click()]);
    expect(again.url()).toBe(preview.url());
    await expect.poll(() => page.locator("#run-examples-list canvas[data-kind=augmented]").count(), POLL).toBe(8);
    expect(await canvasPixels(page.locator("#run-examples-list canvas[data-kind=augmented]"))).toEqual(examples.examples.map((x) => x.augmented));

    await draw(page, THREE);
    await settledPrediction(page);
    await page.screenshot({ path: join(RESULTS, "desktop.png"), fullPage: true });
    if (process.env.EDGEPROP_DOCS_SCREENSHOT === "1") copyFileSync(join(RESULTS, "desktop.png"), join(ROOT, "docs", "screenshot.png"));
    expect(problems).toEqual([]);
    await page.close();
  });

  test("the Models panel shows the served model's validation, test and real-handwriting accuracies, the last measured in the browser once per model", async () => {
    // The same measurement here, through the API: the digits in the page's form (toPageForm), predicted by the model.
    const expected = await handwritingThroughApi(server.url, served.id);
    const hw = (await call(server.url, "/v1/handwriting")).body;
    expect(expected.count).toBe(899);
    const { page, problems } = await recordingTab(browser, DESKTOP);
    const predicts = [];
    let reads = 0;
    page.on("request", (r) => {
      if (r.url().endsWith("/v1/predict") && r.method() === "POST") predicts.push(r.postDataJSON());
      if (r.url().endsWith("/v1/handwriting")) reads++;
    });
    await page.goto(server.url, { waitUntil: "load" });
    await handwritingSettled(page, served.id);
    // Measured afresh: this browser's copy of the figure forgotten, then the page opened again.
    await page.evaluate((id) => localStorage.removeItem(`edgeprop.handwriting.v1.${id}`), served.id);
    predicts.length = 0;
    reads = 0;
    await reload(page);
    const state = await handwritingSettled(page, served.id);
    expect(state.status).toBe("done");
    expect(reads).toBe(1);
    expect(predicts).toHaveLength(Math.ceil(899 / 64));
    expect(predicts.every((b) => b.model === served.id && b.images.length <= 64)).toBe(true);
    expect(predicts.flatMap((b) => b.images)).toHaveLength(899);
    expect(predicts[0].images[0]).toEqual(Array.from(toPageForm(hw.images[0])));

    // The figure shown is the API's measurement, overall (one decimal) and per digit, with the source credited.
    const pct = (c, n) => `${((100 * c) / n).toFixed(1)}%`;
    const figure = page.locator("#handwriting");
    expect(await figure.isVisible()).toBe(true);
    expect(await page.locator("#handwriting-title").textContent()).toBe("Real handwriting (899 UCI digits, not MNIST):");
    expect(await page.locator("#handwriting-accuracy").textContent()).toBe(pct(expected.correct, expected.count));
    const digits = await page.locator("#handwriting-digits li").evaluateAll((lis) => lis.map((li) => [li.querySelector("b").textContent, li.querySelector("span").textContent]));
    expect(digits).toEqual(expected.perDigit.map((d) => [String(d.digit), pct(d.correct, d.count)]));
    expect(state.result).toMatchObject({ correct: expected.correct, count: 899, perDigit: expected.perDigit });
    expect(await page.locator("#handwriting-credit").textContent()).toContain(expected.licence);
    expect(expected.licence).toContain("CC BY 4.0");

    // Beside it, the served model's MNIST figures: validation (what promotion compares) and test (reported only).
    const model = (await call(server.url, `/v1/models/${served.id}`)).body;
    expect(typeof model.validationAccuracy).toBe("number");
    expect(typeof model.testAccuracy).toBe("number");
    const acc = (a) => `${(100 * a).toFixed(2)}%`;
    expect(await page.locator("#serving-model [data-figure=validation]").textContent()).toBe(`${acc(model.validationAccuracy)} what promotion compares`);
    expect(await page.locator("#serving-model [data-figure=test]").textContent()).toBe(`${acc(model.testAccuracy)} reported only`);
    expect(await page.locator("#serving-pill").textContent()).toContain(`${acc(model.validationAccuracy)} validation · ${acc(model.testAccuracy)} test`);
    expect(await page.locator(`#model-list li[data-id="${served.id}"]`).textContent()).toContain(`validation ${acc(model.validationAccuracy)} · test ${acc(model.testAccuracy)}`);
    await page.locator("#models").screenshot({ path: join(RESULTS, "models.png") });

    // Opened again: the figure comes from this browser's localStorage, with no request for it.
    predicts.length = 0;
    reads = 0;
    await reload(page);
    await handwritingSettled(page, served.id);
    await expect.poll(() => page.locator("#handwriting-accuracy").textContent(), POLL).toBe(pct(expected.correct, expected.count));
    expect([predicts.length, reads]).toEqual([0, 0]);
    expect(problems).toEqual([]);
    await page.close();
  });

  test("a model is promoted from the list with the admin token", async () => {
    // A second model: the served one's weights, exported and imported again.
    const weights = await call(server.url, `/v1/models/${served.id}/weights`);
    expect(weights.status).toBe(200);
    const copy = await call(server.url, "/v1/models", { method: "POST", token: TOKEN, body: { layers: weights.body.layers, loss: weights.body.loss, params: weights.body.params } });
    expect(copy.status).toBe(201);
    const { page, problems } = await openPage();
    try {
      await page.getByLabel("Admin token", { exact: true }).fill(TOKEN);
      await page.getByRole("button", { name: `Promote model ${copy.body.id}` }).click();
      await expect.poll(() => page.locator("#models-message").textContent(), POLL).toContain(`Now serving ${copy.body.id}`);
      await expect.poll(() => page.locator("#serving-pill").textContent(), POLL).toContain(copy.body.id);
      expect((await call(server.url, "/healthz")).body.servingModelId).toBe(copy.body.id);
      // The drawing is now predicted by the promoted model.
      await draw(page, SEVEN);
      expect((await settledPrediction(page)).prediction.modelId).toBe(copy.body.id);
    } finally {
      await call(server.url, `/v1/models/${served.id}/promote`, { method: "POST", token: TOKEN });
    }
    expect(problems).toEqual([]);
    await page.close();
  });

  test("on a phone, the prediction stays in view while a finger draws", async () => {
    const { page, problems, cdp } = await openPhone();
    expect(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);
    const pointerType = page.evaluate(() => new Promise((resolve) => document.getElementById("pad").addEventListener("pointerdown", (e) => resolve(e.pointerType), { once: true })));
    /** Where the prediction is once it shows, the finger still on the pad. */
    const placeWhileDrawing = async () => {
      await page.waitForFunction(() => document.getElementById("guess").textContent !== "–", null, POLL);
      expect(await page.evaluate(() => window.edgeprop.settled)).toBe(false);
      return predictionPlace(page);
    };

    // As the page opens: the whole pad is on screen, the strip above it, and the prediction shows there mid-stroke.
    let place;
    await touchDraw(page, cdp, SEVEN[0], async () => (place = await placeWhileDrawing()));
    expect(await pointerType).toBe("touch");
    expect(place).toMatchObject({ inView: true, uncovered: true });
    expect(place.strip.bottom).toBeLessThanOrEqual(place.pad.top);
    expect(place.pad.top).toBeGreaterThanOrEqual(0);
    expect(place.pad.bottom).toBeLessThanOrEqual(PHONE.height);
    const seven = await settledPrediction(page);
    expect(seven.input.filter((v) => v > 0).length).toBeGreaterThan(40);
    await expectOneRounding(page, seven.prediction.probabilities, seven.prediction.digit);

    // Scrolled on until the strip's own place is above the screen: it sticks to the top edge, in view and on top.
    await page.getByRole("button", { name: "Clear" }).click();
    await page.evaluate(() => window.scrollTo(0, window.scrollY + document.querySelector(".draw-grid").getBoundingClientRect().top + 30));
    await touchDraw(page, cdp, THREE[0], async () => (place = await placeWhileDrawing()));
    expect(place).toMatchObject({ inView: true, uncovered: true });
    expect(Math.abs(place.strip.top)).toBeLessThan(1);
    expect(place.pad.bottom).toBeLessThanOrEqual(PHONE.height);
    const three = await settledPrediction(page);
    await expectOneRounding(page, three.prediction.probabilities, three.prediction.digit);
    expect(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: join(RESULTS, "phone.png"), fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  });

  test("one rounding for every probability: 99.5% reads \">99%\" in the strip, the bars and their ARIA values alike", async () => {
    expect([0, 0.004, 0.005, 0.5, 0.994, 0.995, 0.99999, 1].map(formatProbability)).toEqual([
      { value: 0, text: "0%" }, { value: 1, text: "<1%" }, { value: 1, text: "1%" }, { value: 50, text: "50%" },
      { value: 99, text: "99%" }, { value: 99, text: ">99%" }, { value: 99, text: ">99%" }, { value: 100, text: "100%" },
    ]);
    const { page, problems } = await openPage(PHONE);
    // The model's answer replaced by one whose top probability is 99.5%: the case once shown as "99.5% sure" beside
    // a bar labelled 100%.
    const probabilities = [0, 0.004, 0, 0, 0, 0, 0, 0.995, 0, 0.001];
    const answer = JSON.stringify({ modelId: served.id, predictions: [{ digit: 7, probabilities }] });
    await page.route("**/v1/predict", (route) => route.fulfill({ status: 200, contentType: "application/json", body: answer }));
    await draw(page, SEVEN);
    await settledPrediction(page);
    const shown = await expectOneRounding(page, probabilities, 7);
    expect(shown.confidence).toBe(">99% sure");
    expect(shown.top3).toEqual(["7 >99%", "1 <1%", "9 <1%"]);
    expect(shown.bars.map((b) => b.label)).toEqual(["0%", "<1%", "0%", "0%", "0%", "0%", "0%", ">99%", "0%", "<1%"]);
    expect(problems).toEqual([]);
    await page.close();
  });

  test("on a phone, a chosen correction waits behind Undo: undone, nothing is sent; left alone, it arrives", async () => {
    const { page, problems, cdp } = await openPhone();
    await touchDraw(page, cdp, SEVEN[0]);
    const { input } = await settledPrediction(page);
    const posts = [];
    page.on("request", (r) => {
      if (r.url().endsWith("/v1/feedback") && r.method() === "POST") posts.push({ at: Date.now(), body: r.postDataJSON() });
    });
    const before = (await call(server.url, "/v1/feedback")).body;

    // Chosen: the bar counts down, focus is on Undo, the live region says what happens next; Undo cancels.
    await page.getByRole("button", { name: "That's wrong, it was 3" }).click();
    await expect.poll(() => page.locator("#feedback-countdown").textContent(), POLL).toMatch(/^Sending “it was 3” in [45] s$/);
    expect(await page.evaluate(() => document.activeElement.id)).toBe("feedback-undo");
    expect(await page.locator("#feedback-message").textContent()).toContain("will be sent in 5 seconds");
    await page.getByRole("button", { name: "Undo" }).click();
    expect(await page.locator("#feedback-pending").isHidden()).toBe(true);
    expect(await page.locator("#feedback-message").textContent()).toBe("Undone: “it was 3” was not sent.");
    expect(await page.evaluate(() => document.activeElement.getAttribute("aria-label"))).toBe("That's wrong, it was 3");

    // Chosen and left alone: sent once its 5 s have passed. The undone one, due earlier, never was: one POST, and
    // the API counts one more pending correction.
    const chosenAt = Date.now();
    await page.getByRole("button", { name: "That's wrong, it was 7" }).click();
    const response = await page.waitForResponse((r) => r.url().endsWith("/v1/feedback") && r.request().method() === "POST", { timeout: 15_000 });
    expect(response.status()).toBe(201);
    const { id } = await response.json();
    expect(posts).toHaveLength(1);
    expect(posts[0].body).toEqual({ image: input, label: 7 });
    expect(posts[0].at - chosenAt).toBeGreaterThanOrEqual(4900);
    await expect.poll(() => page.locator("#feedback-message").textContent(), POLL).toContain("Thanks: sent as a 7");
    expect((await call(server.url, "/v1/feedback")).body).toMatchObject({ pending: before.pending + 1, accepted: before.accepted });
    expect(problems).toEqual([]);
    await page.close();
    // The review queue as it was found.
    expect((await call(server.url, "/v1/feedback/review", { method: "POST", token: TOKEN, body: { accept: [], reject: [id] } })).status).toBe(200);
  });

  test("on a phone, every control of every panel fits the screen, its text unclipped", async () => {
    // A second model (the served one's weights again), so that the list shows Promote and Delete, and a pending
    // correction, so that the review panel shows Accept and Reject.
    const weights = (await call(server.url, `/v1/models/${served.id}/weights`)).body;
    const copy = await call(server.url, "/v1/models", { method: "POST", token: TOKEN, body: { layers: weights.layers, loss: weights.loss, params: weights.params } });
    expect(copy.status).toBe(201);
    const bar = Array.from({ length: 784 }, (_, i) => (i % 28 >= 12 && i % 28 < 16 && i > 112 && i < 672 ? 1 : 0));
    const correction = await call(server.url, "/v1/feedback", { method: "POST", body: { image: bar, label: 1 } });
    expect(correction.status).toBe(201);
    const { page, problems, cdp } = await openPhone();
    await page.getByLabel("Admin token", { exact: true }).fill(TOKEN);
    await page.getByRole("button", { name: "Refresh", exact: true }).click();
    await page.locator(`#pending-list li[data-id="${correction.body.id}"]`).waitFor({ timeout: POLL.timeout });
    await page.getByRole("button", { name: `Promote model ${copy.body.id}` }).waitFor({ timeout: POLL.timeout });
    await expect.poll(() => page.locator("#run-dataset option").count(), POLL).toBeGreaterThan(0);
    await page.locator("summary", { hasText: "More options" }).click();
    await page.getByLabel("Augmentation", { exact: true }).check();
    // A correction waiting, so that its Undo and Send now are measured too.
    await page.locator("#pad").scrollIntoViewIfNeeded();
    await touchDraw(page, cdp, SEVEN[0]);
    await settledPrediction(page);
    await page.getByRole("button", { name: "That's wrong, it was 1" }).click();
    expect(await controlsThatDoNotFit(page)).toEqual([]);
    await page.getByRole("button", { name: "Undo" }).click();
    await page.getByLabel("Optimizer", { exact: true }).selectOption("cg");
    expect(await controlsThatDoNotFit(page)).toEqual([]);
    expect(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);
    expect(problems).toEqual([]);
    await page.close();
    await call(server.url, "/v1/feedback/review", { method: "POST", token: TOKEN, body: { accept: [], reject: [correction.body.id] } });
    await call(server.url, `/v1/models/${copy.body.id}`, { method: "DELETE", token: TOKEN });
  });
});
