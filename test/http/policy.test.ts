/** The route table of src/routes/policy.ts agrees with the app: every route is in it, and "admin" means requireAdmin. */
import { exports } from "cloudflare:workers";
import { describe, expect, test } from "vitest";
import { app } from "../../src/app";
import { classify, methodsAt } from "../../src/routes/policy";
import { asNewClient } from "../helpers/client";

/** The (method, pattern) pairs the app serves, without its middleware entries. */
const served = [...new Set(app.routes
  .filter((r) => r.method !== "ALL" && !r.path.endsWith("*"))
  .map((r) => `${r.method} ${r.path.length > 1 ? r.path.replace(/\/$/, "") : r.path}`))]
  .map((s) => s.split(" ") as [string, string]);

describe("the table", () => {
  test("sees the app's routes", () => {
    expect(served.length).toBeGreaterThan(20);
    expect(served).toContainEqual(["POST", "/v1/predict"]);
  });

  test.each(served)("%s %s is classified", (method, path) => {
    expect(classify(method, path)).not.toBeNull();
  });

  test.each(served)("%s %s: admin in the table exactly when requireAdmin refuses it without a token", async (method, pattern) => {
    const path = pattern.replace(/:[A-Za-z]+/g, "x-1");
    const res = await exports.default.fetch(`http://edgeprop${path}`, { method, headers: asNewClient({ "content-type": "application/json" }), body: method === "GET" ? undefined : "{}" });
    await res.arrayBuffer();
    if (classify(method, pattern)!.admin) expect(res.status).toBe(401);
    else expect([401, 403]).not.toContain(res.status);
  });
});

describe("lookups", () => {
  test.each([
    ["GET", "/v1/models/m-1/weights", { admin: false, limiter: null }],
    ["HEAD", "/v1/models/m-1", { admin: false, limiter: null }],
    ["DELETE", "/v1/models/m-1", { admin: true, limiter: null }],
    ["POST", "/v1/models/m-1/promote", { admin: true, limiter: null }],
    ["GET", "/v1/feedback/pending", { admin: true, limiter: null }],
    ["DELETE", "/v1/feedback/f-1", { admin: true, limiter: null }],
    ["POST", "/v1/cron/anything-new", { admin: true, limiter: null }],
    ["POST", "/v1/nn/gradcheck", { admin: false, limiter: "NN_LIMITER" }],
  ])("%s %s", (method, path, expected) => {
    expect(classify(method, path)).toMatchObject(expected);
  });

  test("unknown methods and paths are not classified (and so refused cross-origin)", () => {
    expect(classify("PATCH", "/v1/models/m-1")).toBeNull();
    expect(classify("GET", "/v1/predict")).toBeNull();
    expect(classify("POST", "/v1/predict/")).toBeNull();
    expect(classify("POST", "/v1/cron")).toBeNull();
    expect(classify("GET", "/v1/models/a/b/c")).toBeNull();
  });

  test("methodsAt lists every method of a path with its class", () => {
    expect([...methodsAt("/v1/runs")].map(([m, c]) => [m, c.admin])).toEqual([["GET", false], ["POST", true]]);
    expect([...methodsAt("/v1/feedback/pending")].map(([m, c]) => [m, c.admin])).toEqual([["GET", true], ["DELETE", true]]);
  });
});
