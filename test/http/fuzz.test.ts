/** Whatever a client sends, every route answers below 500, with the JSON error shape for 4xx. */
import { exports } from "cloudflare:workers";
import { expect, test } from "vitest";
import { app } from "../../src/app";
import { asNewClient } from "../helpers/client";

const BODIES = [
  "", "null", "[]", "{}", "\"text\"", "{\"a\":", "{\"layers\":[1e999],\"image\":null}",
  JSON.stringify({ layers: [3, 5, 3], params: ["x"], images: [[null]], label: 3, image: { length: 784 }, optimizer: { name: "adam", learningRate: -1 } }),
  "[".repeat(3000) + "]".repeat(3000),
];
const ADMIN_JSON = { "content-type": "application/json", authorization: "Bearer test-admin-token" };
const HEADERS: Record<string, string>[] = [ADMIN_JSON, { "content-type": "text/plain", authorization: "Bearer test-admin-token" }];
const IDS = ["run-x", "%00", "a".repeat(300)];

// Requests in one test file slow down as they accumulate in the test runner (not in wrangler dev), so each route
// is its own small test.
const routes = [...new Map(app.routes
  .filter((r) => r.path.startsWith("/v1/") && r.method !== "ALL" && !r.path.endsWith("*"))
  .map((r) => [`${r.method} ${r.path}`, r] as const)).values()];

test("the routes are all there", () => {
  expect(routes.length).toBeGreaterThan(20);
});

test.each(routes.map((r) => [`${r.method} ${r.path}`, r.method, r.path] as const))("%s never answers 5xx", async (_name, method, pattern) => {
  for (const id of pattern.includes(":") ? IDS : ["-"]) {
    const path = pattern.replace(/:[A-Za-z]+/g, id);
    const requests = method === "GET" ? [{ headers: {}, body: undefined }] : [
      ...BODIES.flatMap((body) => HEADERS.map((headers) => ({ headers, body }))),
      { headers: { "content-type": "application/json" }, body: "{}" },
      { headers: { "content-type": "multipart/form-data; boundary=x", authorization: ADMIN_JSON.authorization }, body: "--x\r\n\r\n--x--" },
    ];
    for (const { headers, body } of requests) {
      const res = await exports.default.fetch(`http://edgeprop${path}?max=abc&limit=-1`, { method, headers: asNewClient(headers), body });
      expect(res.status, `${method} ${path} ${JSON.stringify(headers)} ${String(body).slice(0, 60)}`).toBeLessThan(500);
      if (res.status >= 400) {
        const err = (await res.json()) as { error: { code: string; message: string } };
        expect(typeof err.error.code).toBe("string");
        expect(err.error.message.length).toBeGreaterThan(0);
      } else {
        await res.arrayBuffer();
      }
    }
  }
});
