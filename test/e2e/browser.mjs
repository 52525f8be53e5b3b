/**
 * What every browser test sets up the same way: a served model imported through the API, headless Chromium with a
 * profile of its own, and tabs that record every console error, page error, failed request and HTTP error answer.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { expect } from "vitest";
import { call } from "./fixtures.mjs";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

/** Imports `model` ({ layers, loss, params }) through POST /v1/models and promotes it; returns the model's record. */
export async function serveModel(url, token, model) {
  const imported = await call(url, "/v1/models", { method: "POST", token, body: { layers: model.layers, loss: model.loss, params: model.params } });
  expect(imported.status, JSON.stringify(imported.body)).toBe(201);
  const promoted = await call(url, `/v1/models/${imported.body.id}/promote`, { method: "POST", token });
  expect(promoted.status, JSON.stringify(promoted.body)).toBe(200);
  expect(promoted.body.servingModelId).toBe(imported.body.id);
  return imported.body;
}

/** Headless Chromium with a fresh profile (`viewport` for its tabs, if given); close() ends it and removes the profile. */
export async function launchChromium(viewport) {
  const userDataDir = mkdtempSync(join(tmpdir(), "edgeprop-chromium-"));
  const browser = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, ...(viewport ? { viewport } : {}), args: ARGS });
  return {
    browser,
    close: async () => {
      await browser.close().catch(() => {});
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/** A new tab of `browser` (sized `viewport`, if given) that records what went wrong in `problems`; not yet navigated. */
export async function recordingTab(browser, viewport) {
  const page = await browser.newPage();
  if (viewport) await page.setViewportSize(viewport);
  const problems = [];
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("response", (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()} ${r.request().method()} ${r.url()}`);
  });
  page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  return { page, problems };
}
