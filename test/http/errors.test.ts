/**
 * The one error mapper (src/app.ts): the errors storage and training throw, each answered with its status and code
 * through the Worker. Stored data that does not decode is the server's fault: 500 with a code naming what, logged.
 */
import { env, exports } from "cloudflare:workers";
import { afterEach, describe, expect, test, vi } from "vitest";
import { writeDataset } from "../../src/storage/datasets";
import { keys } from "../../src/storage/keys";
import { createRecord } from "../../src/storage/runs";
import { asNewClient } from "../helpers/client";

const ADMIN = { "content-type": "application/json", authorization: "Bearer test-admin-token" };

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; error: { code: string; message: string; details?: unknown } }> {
  const res = await exports.default.fetch(`http://edgeprop${path}`, { method, headers: asNewClient(ADMIN), body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, error: ((await res.json()) as { error: { code: string; message: string } }).error };
}

/** A 2 × 2, 2-class dataset of four images (the last training one for validation). */
async function storeTiny(name: string): Promise<void> {
  const split = { pixels: Uint8Array.from({ length: 16 }, (_, i) => i * 16), labels: Uint8Array.of(0, 1, 0, 1) };
  await writeDataset(env.STORE_BUCKET, name, "v1", { rows: 2, cols: 2, classes: 2 }, split, split, 1);
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("domain errors of storage and training", () => {
  test("a run on a dataset that does not exist: NotFoundError → 404 dataset_not_found", async () => {
    const res = await call("POST", "/v1/runs", { dataset: "nowhere", layers: [4, 3, 2], optimizer: { name: "adam" } });
    expect(res).toMatchObject({ status: 404, error: { code: "dataset_not_found", message: expect.stringMatching(/dataset "nowhere" does not exist/) } });
  });

  test("a run spec that does not fit its dataset: InvalidInputError → 400 invalid_request naming each problem", async () => {
    await storeTiny("tiny");
    const res = await call("POST", "/v1/runs", { dataset: "tiny", layers: [5, 3, 3], optimizer: { name: "adam" } });
    expect(res).toMatchObject({ status: 400, error: { code: "invalid_request" } });
    expect(res.error.message).toMatch(/layers\[0\] must be 4 .*; the last layer must be 2/);
  });
});

describe("stored data that does not decode → 500, logged", () => {
  test("a model blob: ModelFormatError → 500 model_unreadable naming the model, for every route that reads it", async () => {
    const logged = vi.spyOn(console, "error").mockImplementation(() => undefined);
    await env.STORE_BUCKET.put(keys.model("m-corrupt"), Uint8Array.of(1, 2, 3));
    for (const [method, path, body] of [["GET", "/v1/models/m-corrupt/weights"], ["GET", "/v1/models/m-corrupt/units"], ["POST", "/v1/predict", { image: [0], model: "m-corrupt" }]] as const) {
      const res = await call(method, path, body);
      expect(res, path).toMatchObject({ status: 500, error: { code: "model_unreadable", message: expect.stringMatching(/^model m-corrupt cannot be read: decodeModel: 3 bytes are too short/) } });
    }
    expect(logged).toHaveBeenCalledWith(expect.stringMatching(/^ModelFormatError: model m-corrupt cannot be read/));
  });

  test("a dataset manifest: DatasetFormatError → 500 dataset_unreadable", async () => {
    vi.spyOn(console, "error").mockImplementation(() => undefined);
    await env.STORE_BUCKET.put(keys.datasetManifest("broken"), "{ not json");
    expect(await call("GET", "/v1/datasets/broken")).toMatchObject({ status: 500, error: { code: "dataset_unreadable", message: expect.stringMatching(/not valid JSON/) } });
  });

  test("a checkpoint: CheckpointFormatError → 500 checkpoint_unreadable", async () => {
    vi.spyOn(console, "error").mockImplementation(() => undefined);
    const id = "run-0000000000-corrupt";
    await createRecord(env.STORE_BUCKET, { id, updatedAt: "", status: "running", step: 0, spec: { layers: [4, 3, 2] } } as never);
    await env.STORE_BUCKET.put(keys.checkpoint(id, 0), Uint8Array.of(9));
    expect(await call("GET", `/v1/runs/${id}/units`)).toMatchObject({ status: 500, error: { code: "checkpoint_unreadable", message: expect.stringMatching(/decodeCheckpoint/) } });
  });
});
