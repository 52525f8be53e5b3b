/**
 * A fresh deployment, before anything is imported or trained: storage is isolated per test file, so this file's
 * store is empty and none of its tests creates anything.
 */
import { exports } from "cloudflare:workers";
import { describe, expect, test } from "vitest";
import { asNewClient } from "../helpers/client";

const ADMIN = { "content-type": "application/json", authorization: "Bearer test-admin-token" };

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = ADMIN): Promise<{ status: number; body: any }> {
  const res = await exports.default.fetch(`http://edgeprop${path}`, { method, headers: asNewClient(headers), body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

describe("nothing imported or trained yet", () => {
  test("an empty registry: no models, nothing served; unknown ids → 404, invalid ids → 400", async () => {
    expect(await call("GET", "/v1/models")).toEqual({ status: 200, body: { servingModelId: null, models: [], cursor: null } });
    for (const [method, path] of [["GET", "/v1/models/m-nope"], ["GET", "/v1/models/m-nope/weights"], ["POST", "/v1/models/m-nope/promote"]]) {
      expect(await call(method, path)).toMatchObject({ status: 404, body: { error: { code: "not_found", message: "no model m-nope" } } });
    }
    expect((await call("GET", "/v1/models/Not_An_Id/weights")).status).toBe(400);
  });

  test("predict: 503 no_model, saying how to train or import one and promote it", async () => {
    const res = await call("POST", "/v1/predict", { image: new Array(784).fill(0) }, { "content-type": "application/json" });
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe("no_model");
    for (const how of ["POST /v1/runs", "npm run train", "POST /v1/models", "promote"]) expect(res.body.error.message).toContain(how);
  });

  test("healthz: alive, nothing served", async () => {
    expect(await call("GET", "/healthz")).toEqual({ status: 200, body: { ok: true, servingModelId: null } });
  });
});
