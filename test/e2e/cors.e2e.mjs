/**
 * The public edge in a real browser against a real `wrangler dev`: a page on another origin (a tiny Node server on
 * another port) calls POST /v1/predict through CORS in headless Chromium and reads the answers, errors included; a
 * page on an origin that CORS_ORIGINS does not list is refused by the browser; and the page itself, a static asset,
 * is served with its security headers (public/_headers) and loads with no CSP violation and no console error.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { trainDigitModel } from "./fixtures.mjs";
import { startServedPage } from "./browser.mjs";
import { freePort, ROOT } from "./server.mjs";

const RESULTS = join(ROOT, "test-results");
const TOKEN = randomBytes(18).toString("hex");

/** A page server on its own origin: every path answers an empty HTML page. */
async function pageServer() {
  const port = await freePort();
  const server = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end("<!doctype html><title>another origin</title><p>another origin</p>");
  });
  await new Promise((resolve) => server.listen(port, "127.0.0.1", resolve));
  return { origin: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(resolve)) };
}

let server;
let listed; // a page origin named in CORS_ORIGINS
let unlisted; // one that is not
let browser;
let stop; // ends Chromium and the server
let modelId;

beforeAll(async () => {
  mkdirSync(RESULTS, { recursive: true });
  [listed, unlisted] = [await pageServer(), await pageServer()];
  const model = trainDigitModel({ hidden: 16, trainCount: 3000, epochs: 1 });
  let served;
  ({ server, served, browser, stop } = await startServedPage({ token: TOKEN, model, vars: { CORS_ORIGINS: listed.origin }, logFile: join(RESULTS, "wrangler-cors-e2e.log") }));
  modelId = served.id;
});

afterAll(async () => {
  await stop?.();
  await listed?.close();
  await unlisted?.close();
});

/** Opens `url` in a new tab that records console errors, page errors and CSP violations. */
async function open(url) {
  const page = await browser.newPage();
  const problems = [];
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  await page.addInitScript(() => {
    window.cspViolations = [];
    document.addEventListener("securitypolicyviolation", (e) => window.cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  await page.goto(url, { waitUntil: "load" });
  return { page, problems };
}

/** POST /v1/predict from inside the page, with `body`; the answer as the page's script can read it. */
function predictFromPage(page, api, body) {
  return page.evaluate(async ({ api, body }) => {
    try {
      const res = await fetch(`${api}/v1/predict`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      return { status: res.status, body: await res.json(), retryAfterReadable: res.headers.has("retry-after") || null };
    } catch (err) {
      return { failed: `${err.name}: ${err.message}` };
    }
  }, { api, body });
}

describe("CORS in a browser", () => {
  test("a page on a listed origin gets predictions, and can read a 4xx answer", async () => {
    const { page, problems } = await open(listed.origin);
    const seven = Array.from({ length: 784 }, (_, i) => (i % 28 > 8 && i % 28 < 12 && i > 150 && i < 650 ? 1 : 0));
    const ok = await predictFromPage(page, server.url, { image: seven });
    expect(ok.status, JSON.stringify(ok)).toBe(200);
    expect(ok.body.modelId).toBe(modelId);
    expect(ok.body.predictions[0].probabilities).toHaveLength(10);
    const bad = await predictFromPage(page, server.url, { image: [2] });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe("invalid_request");
    expect(problems.filter((p) => !p.includes("400 (Bad Request)"))).toEqual([]);
    await page.close();
  });

  test("a page on an origin CORS_ORIGINS does not list is refused by the browser", async () => {
    const { page, problems } = await open(unlisted.origin);
    const answer = await predictFromPage(page, server.url, { image: Array(784).fill(0) });
    expect(answer.failed).toMatch(/TypeError/);
    expect(problems.join("\n")).toMatch(/blocked by CORS policy/);
    await page.close();
  });
});

describe("the page's security headers", () => {
  test("/ is served with its CSP, nosniff, frame-ancestors and Referrer-Policy; _headers itself is not served", async () => {
    const res = await fetch(`${server.url}/`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("<title>edgeprop");
    const csp = res.headers.get("content-security-policy");
    for (const directive of ["default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"]) {
      expect(csp).toContain(directive);
    }
    expect(csp).not.toContain("unsafe-inline");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    const js = await fetch(`${server.url}/js/app.js`);
    expect(js.headers.get("x-content-type-options")).toBe("nosniff");
    await js.arrayBuffer();
    const file = await fetch(`${server.url}/_headers`);
    expect(file.status).toBe(404);
    expect(await file.text()).not.toContain("Content-Security-Policy");
  });

  test("the page loads and works under its CSP: no violation, no console error", async () => {
    const { page, problems } = await open(server.url);
    await expect.poll(() => page.locator("#serving-pill").textContent(), { timeout: 15_000, interval: 100 }).toContain(modelId);
    await page.waitForFunction(() => window.Chart !== undefined && document.querySelectorAll("#model-list li").length > 0);
    expect(await page.evaluate(() => window.cspViolations)).toEqual([]);
    expect(problems).toEqual([]);
    await page.close();
  });
});
