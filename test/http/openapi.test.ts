/** /openapi.json describes every route the app serves, from the schemas that validate them. */
import { exports } from "cloudflare:workers";
import { expect, test } from "vitest";
import { app } from "../../src/app";
import { classify } from "../../src/routes/policy";

type Operation = { security?: unknown[]; responses: Record<string, unknown> };

const doc = async () => (await (await exports.default.fetch("http://edgeprop/openapi.json")).json()) as { paths: Record<string, Record<string, Operation>> };

/** `get /v1/models/{id}` for each (method, pattern) the app serves, without its middleware entries. */
const served = [...new Set(app.routes
  .filter((r) => r.method !== "ALL" && !r.path.endsWith("*"))
  .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:([A-Za-z]+)/g, "{$1}").replace(/(.)\/$/, "$1")}`))];

test("every route the app serves and its method is in /openapi.json, /healthz and /openapi.json included", async () => {
  const documented = Object.entries((await doc()).paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path.replace(/(.)\/$/, "$1")}`));
  expect(served.length).toBeGreaterThan(20);
  expect(served).toContain("get /healthz");
  expect(served).toContain("get /openapi.json");
  for (const route of served) expect(documented, route).toContain(route);
});

test("admin routes declare the bearer scheme and answer 401 and 403 in the document; public ones declare no scheme", async () => {
  const { paths } = await doc();
  for (const route of served) {
    const [method, path] = route.split(" ");
    const op = paths[path]?.[method] ?? paths[`${path}/`]?.[method];
    const admin = classify(method, path.replace(/\{([A-Za-z]+)\}/g, ":$1"))!.admin;
    expect(op.security !== undefined, route).toBe(admin);
    if (admin) expect(Object.keys(op.responses), route).toEqual(expect.arrayContaining(["401", "403"]));
  }
});
