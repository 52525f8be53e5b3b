/**
 * A refresh from the page, in headless Chromium against a real `wrangler dev` (set up as in page.e2e.mjs): a served
 * model trained here on MNIST, then real MNIST digits it never saw, shifted a few pixels, sent as corrections by
 * several clients. An admin accepts them in the Corrections panel and starts a refresh in the Models panel, which
 * follows the run until it shows the before → after figures and the verdict: the API's (held-out corrections and
 * validation, which the guard reads, and test, reported only, overall and per digit, with the examples gained and
 * lost), checked against the guard's rule (McNemar's exact test), and the lineage of the model served afterwards. On the way, the panel's answers to a wrong token and to a
 * refresh with nothing accepted yet (409 no_corrections).
 */
import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { cellText, figureRows } from "../../public/js/figures.js";
import { pBetter } from "../../src/training/chance.ts";
import { partOf } from "../../src/storage/feedback.ts";
import { call, controlsThatDoNotFit, shiftedDigits, trainDigitModel } from "./fixtures.mjs";
import { handwritingSettled, recordingTab, startServedPage } from "./browser.mjs";
import { ROOT } from "./server.mjs";

const RESULTS = join(ROOT, "test-results");
const TOKEN = randomBytes(18).toString("hex");
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 375, height: 740 };
const POLL = { timeout: 15_000, interval: 100 };
/** Corrections sent: all shown on one page of the review panel (48), so that "Accept all shown" takes them all. */
const CORRECTIONS = 45;
/** The API's rate limit of corrections per client (FEEDBACK_LIMITER: 10 a minute). */
const PER_CLIENT = 10;

let server;
let browser;
let stop; // ends Chromium and the server
let served;

beforeAll(async () => {
  mkdirSync(RESULTS, { recursive: true });
  const model = trainDigitModel();
  expect(model.accuracy).toBeGreaterThan(0.85);
  ({ server, served, browser, stop } = await startServedPage({ token: TOKEN, model, logFile: join(RESULTS, "wrangler-refresh-e2e.log"), viewport: DESKTOP }));
});

afterAll(async () => {
  await stop?.();
});

/** A new tab on the page that records every console error, page error, failed request and HTTP error answer. */
async function openPage() {
  const { page, problems } = await recordingTab(browser);
  await page.goto(server.url, { waitUntil: "load" });
  await expect.poll(() => page.locator("#serving-pill").textContent(), POLL).toContain(served.id);
  await handwritingSettled(page, served.id);
  return { page, problems };
}

/** The before → after table of refresh `runId` as the page shows it: per row, its label and its cells' texts. */
function shownFigures(page, runId) {
  return page.locator(`#refresh-list li[data-run="${runId}"] .figures-table tbody tr`).evaluateAll((rows) => rows.map((tr) => {
    const cell = (td) => ({ before: td.querySelector(".before").textContent, after: td.querySelector(".after").textContent, text: td.textContent });
    const [holdout, validation, test] = [...tr.querySelectorAll("td")].map(cell);
    return { label: tr.dataset.row, holdout, validation, test };
  }));
}

describe("refreshes on the page", () => {
  test("an admin accepts corrections, starts a refresh from the Models panel and sees its before → after and verdict", async () => {
    // Digits the served model never trained on (it saw the first 20 000), moved 2 pixels right and 2 down: MNIST's
    // digits are centred, so many of these fool it, and a refresh on them usually lifts the holdout (7 refreshes in 8
    // were promoted while this test was written; either verdict is checked). At most ten corrections a client (the
    // rate limit).
    const sent = [];
    for (const [n, correction] of shiftedDigits({ from: 30_000, count: CORRECTIONS, dx: 2, dy: 2 }).entries()) {
      const headers = { "cf-connecting-ip": `198.51.100.${1 + Math.floor(n / PER_CLIENT)}` };
      const res = await call(server.url, "/v1/feedback", { method: "POST", body: correction, headers });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      sent.push(res.body.id);
    }
    const trainIds = sent.filter((id) => partOf(id) === "train");
    const holdoutIds = sent.filter((id) => partOf(id) === "holdout");
    expect(holdoutIds.length).toBeGreaterThan(0);

    const { page, problems } = await openPage();
    await expect.poll(() => page.locator("#refresh-queue").textContent(), POLL).toBe(`Review queue: ${CORRECTIONS} pending (at most 1 000) · 0 accepted`);
    expect(await page.locator("#refresh-lineage").isHidden()).toBe(true);
    expect(await page.getByRole("button", { name: "Start refresh" }).count()).toBe(0);

    // A wrong token is refused (403, and the page says so) and the public figures stay.
    await page.getByLabel("Admin token", { exact: true }).fill("not-the-token");
    await page.getByLabel("Admin token", { exact: true }).press("Tab");
    await expect.poll(() => page.locator("#refresh-message").textContent(), POLL).toContain("The admin token was refused");
    await expect.poll(() => page.locator("#review-message").textContent(), POLL).toContain("not the admin token");
    expect(await page.locator("#refresh-due").textContent()).toContain(" corrections newer than the served model are accepted.");
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.filter((p) => !p.includes("403"))).toEqual([]);
    problems.length = 0;
    await page.getByLabel("Admin token", { exact: true }).fill(TOKEN);

    // Nothing accepted yet: the refresh is refused, and the panel says why (the one HTTP error expected here, seen
    // as a response and as Chromium's console line).
    await page.getByRole("button", { name: "Start refresh" }).click();
    await expect.poll(() => page.locator("#refresh-message").textContent(), POLL).toContain("No accepted correction to train on yet");
    await expect.poll(() => problems.length, POLL).toBe(2);
    expect(problems.filter((p) => p.startsWith("HTTP 409 POST") || (p.startsWith("console: ") && p.includes("409")))).toHaveLength(2);
    problems.length = 0;

    // Accepted in the Corrections panel: the Models panel's counts follow, the new ones counted for the admin.
    await page.getByRole("button", { name: "Refresh", exact: true }).click();
    await expect.poll(() => page.locator("#pending-list li.correction").count(), POLL).toBe(CORRECTIONS);
    await page.getByRole("button", { name: "Accept all shown" }).click();
    await expect.poll(() => page.locator("#review-message").textContent(), POLL).toContain(`Accepted ${CORRECTIONS}, rejected 0`);
    await expect.poll(() => page.locator("#refresh-queue").textContent(), POLL).toBe(`Review queue: 0 pending (at most 1 000) · ${CORRECTIONS} accepted`);
    const status = await call(server.url, "/v1/refresh", { token: TOKEN });
    expect(status.body.newCorrections).toBe(trainIds.length);
    await expect.poll(() => page.locator("#refresh-due").textContent(), POLL)
      .toBe(`${trainIds.length} new corrections since the served model; the daily refresh starts at ${status.body.threshold}.`);

    // Started from the page and followed until its verdict shows.
    const [started] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith("/v1/refresh") && r.request().method() === "POST"),
      page.getByRole("button", { name: "Start refresh" }).click(),
    ]);
    expect(started.status()).toBe(202);
    const runId = (await started.json()).id;
    const entry = page.locator(`#refresh-list li[data-run="${runId}"]`);
    await entry.waitFor({ timeout: POLL.timeout });
    expect(await page.getByRole("button", { name: "Start refresh" }).isDisabled()).toBe(true);
    await entry.locator(".badge.ok, .badge.kept").waitFor({ timeout: 45_000 });

    // What the page shows is the API's record: its data, figures and verdict.
    const record = (await call(server.url, `/v1/runs/${runId}`)).body;
    expect(record).toMatchObject({ kind: "refresh", status: "succeeded", parentModelId: served.id });
    expect(record.refresh).toMatchObject({ corrections: trainIds.length, holdout: holdoutIds.length });
    const { before, after, changes, maxValidationDrop } = record.refresh;
    const validationCount = (await call(server.url, "/v1/datasets/mnist")).body.validation.count;
    expect(validationCount).toBeGreaterThan(0);
    expect([before.holdout.count, after.holdout.count, before.validation.count, after.validation.count, before.test.count, after.test.count])
      .toEqual([holdoutIds.length, holdoutIds.length, validationCount, validationCount, 10_000, 10_000]);
    const rows = figureRows(record.refresh);
    const shown = await shownFigures(page, runId);
    expect(shown.map((r) => r.label)).toEqual(["all", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
    const sets = ["holdout", "validation", "test"];
    shown.forEach((r, i) => {
      for (const set of sets) {
        expect([r[set].before, r[set].after], `${set}, row ${r.label}`).toEqual([rows[i][set].before, rows[i][set].after]);
        expect(r[set].text).toContain(cellText(rows[i][set]));
      }
    });
    // The figures themselves, from the API's counts: overall with two decimals, per digit with one.
    const pct = (f, decimals) => `${((100 * f.correct) / f.count).toFixed(decimals)}%`;
    for (const set of sets) {
      expect([shown[0][set].before, shown[0][set].after]).toEqual([pct(before[set], 2), pct(after[set], 2)]);
      for (let d = 0; d <= 9; d++) {
        const [b, a] = [before[set], after[set]].map((f) => f.perDigit.find((x) => x.digit === d));
        if (b.count > 0) expect([shown[1 + d][set].before, shown[1 + d][set].after], `${set}, digit ${d}`).toEqual([pct(b, 1), pct(a, 1)]);
      }
    }
    // The examples gained and lost on the sets the guard reads; the headers say what reads what.
    expect(shown[0].holdout.text).toContain(`${changes.holdout.gained} gained, ${changes.holdout.lost} lost`);
    expect(shown[0].validation.text).toContain(`${changes.validation.gained} gained, ${changes.validation.lost} lost`);
    expect(shown[0].test.text).not.toContain("gained");
    const headers = await entry.locator(".figures-table").first().locator("thead th").allTextContents();
    expect(headers).toEqual(["", "Holdoutguard reads", "Validationguard reads", "Testreported only"]);
    expect(await entry.locator("caption").textContent()).toBe(`Before → after: ${holdoutIds.length} held-out corrections, ${validationCount.toLocaleString("en-US").replace(/,/g, " ")} validation and 10 000 test images`);
    expect(await entry.locator(".refresh-verdict").textContent()).toContain(record.promotionReason.replace(/^(not )?promoted: /, ""));
    expect(await entry.locator(".badge.ok, .badge.kept").textContent()).toBe(record.promoted ? "promoted" : "not promoted");

    // The verdict is the guard's rule on these counts (the test set is not read): the holdout gains more than chance
    // (McNemar's exact test, one-sided, α = 0.05), the validation loses no more than chance and at most
    // maxValidationDrop points. The gains and losses agree with the accuracies they change.
    expect(after.holdout.correct - before.holdout.correct).toBe(changes.holdout.gained - changes.holdout.lost);
    expect(after.validation.correct - before.validation.correct).toBe(changes.validation.gained - changes.validation.lost);
    const guard = pBetter(changes.holdout.gained, changes.holdout.lost) < 0.05
      && pBetter(changes.validation.lost, changes.validation.gained) >= 0.05
      && 100 * (changes.validation.lost - changes.validation.gained) <= maxValidationDrop * after.validation.count;
    expect(record.promoted).toBe(guard);
    if (record.promoted) {
      // Served now, with its lineage: refreshed from the model served before, on the corrections trained on.
      await expect.poll(() => page.locator("#serving-pill").textContent(), POLL).toContain(record.modelId);
      await expect.poll(() => page.locator("#refresh-lineage").textContent(), POLL)
        .toBe(`${record.modelId}: refreshed from ${served.id} on ${trainIds.length} corrections.`);
    } else {
      expect((await call(server.url, "/healthz")).body.servingModelId).toBe(served.id);
    }
    expect(await page.getByRole("button", { name: "Start refresh" }).isDisabled()).toBe(false);

    // Readable on a phone: every control fits, nothing scrolls sideways.
    await page.setViewportSize(PHONE);
    await entry.scrollIntoViewIfNeeded();
    expect(await controlsThatDoNotFit(page)).toEqual([]);
    expect(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);
    await entry.screenshot({ path: join(RESULTS, "refresh-phone.png") });
    expect(problems).toEqual([]);
    await page.close();
  });
});
