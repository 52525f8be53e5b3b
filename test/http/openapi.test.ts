/** /openapi.json describes every route the app serves, from the schemas that validate them. */
import { exports } from "cloudflare:workers";
import { expect, test } from "vitest";
import { app } from "../../src/app";

test("every /v1 route and its method is in /openapi.json", async () => {
  const doc = (await (await exports.default.fetch("http://edgeprop/openapi.json")).json()) as { paths: Record<string, Record<string, unknown>> };
  const served = app.routes
    .filter((r) => r.path.startsWith("/v1/") && r.method !== "ALL" && !r.path.endsWith("*"))
    .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:([A-Za-z]+)/g, "{$1}").replace(/\/$/, "")}`);
  const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path.replace(/\/$/, "")}`));
  expect(served.length).toBeGreaterThan(20);
  for (const route of served) expect(documented, route).toContain(route);
  expect(doc.paths["/v1/runs"]).toHaveProperty("post");
});
