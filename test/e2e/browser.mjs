/**
 * What every browser test sets up the same way: a wrangler dev with MNIST's test digits uploaded as `mnist` and a
 * model imported through the API and served, headless Chromium with a profile of its own, and tabs that record every
 * console error, page error, failed request and HTTP error answer.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { expect } from "vitest";
import { call, uploadTestDigitsAs } from "./fixtures.mjs";
import { startWrangler } from "./server.mjs";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

/** Imports `model` ({ layers, loss, params }) through POST /v1/models and promotes it; returns the model's record. */
async function serveModel(url, token, model) {
  const imported = await call(url, "/v1/models", { method: "POST", token, body: { layers: model.layers, loss: model.loss, params: model.params } });
  expect(imported.status, JSON.stringify(imported.body)).toBe(201);
  const promoted = await call(url, `/v1/models/${imported.body.id}/promote`, { method: "POST", token });
  expect(promoted.status, JSON.stringify(promoted.body)).toBe(200);
  expect(promoted.body.servingModelId).toBe(imported.body.id);
  return imported.body;
}

/** Headless Chromium with a fresh profile (`viewport` for its tabs, if given); close() ends it and removes the profile. */
async function launchChromium(viewport) {
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

/**
 * Starts wrangler dev (`vars`, its log in `logFile`), uploads the test digits as `mnist`, serves `model` and launches
 * Chromium (`viewport`, if given). Train the model before calling: seconds of CPU between two requests would let the
 * server close the idle kept-alive connection, which fetch would then reuse and see closed. stop() ends both.
 */
export async function startServedPage({ token, model, vars, logFile, viewport }) {
  const server = await startWrangler({ token, vars, logFile });
  try {
    const upload = await uploadTestDigitsAs(server.url, token, "mnist");
    expect(upload.status, JSON.stringify(upload.body)).toBe(201);
    const served = await serveModel(server.url, token, model);
    const chromium = await launchChromium(viewport);
    return {
      server, served, browser: chromium.browser,
      stop: async () => {
        await chromium.close();
        await server.stop();
      },
    };
  } catch (err) {
    await server.stop();
    throw err;
  }
}

/**
 * Waits until the Models panel's real-handwriting figure of the served model is no longer being measured (its
 * predictions, 15 requests of 64 images, would otherwise mix with what a test draws and counts); returns its state.
 */
export async function handwritingSettled(page, modelId, timeout = 60_000) {
  await page.waitForFunction((id) => {
    const h = window.edgeprop?.handwriting;
    return h && h.modelId === id && h.status !== null && h.status !== "measuring";
  }, modelId, { timeout });
  return page.evaluate(() => window.edgeprop.handwriting);
}
