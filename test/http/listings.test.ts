/**
 * The public listings are paged (`?limit=&cursor=`): a page reads at most `limit` records, pages follow each other
 * in the listing's order without gaps or repeats, and the last one says so with `cursor: null`.
 */
import { env, exports } from "cloudflare:workers";
import { describe, expect, test } from "vitest";
import { MAX_DATASETS_PAGE } from "../../src/routes/datasets";
import { MAX_MODELS_PAGE } from "../../src/routes/models";
import { MAX_RUNS_PAGE } from "../../src/routes/runs";
import { writeDataset } from "../../src/storage/datasets";
import { createRecord } from "../../src/storage/runs";

const ADMIN = { "content-type": "application/json", authorization: "Bearer test-admin-token" };

async function get(path: string): Promise<{ status: number; body: any }> {
  const res = await exports.default.fetch(`http://edgeprop${path}`);
  return { status: res.status, body: await res.json() };
}

/** Every page of `path` with `limit`, following the cursors; the items of each page under `field`. */
async function allPages(path: string, field: string, limit: number): Promise<string[][]> {
  const pages: string[][] = [];
  let cursor: string | null = null;
  do {
    const res = await get(`${path}?limit=${limit}${cursor === null ? "" : `&cursor=${encodeURIComponent(cursor)}`}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    pages.push(res.body[field].map((item: { id?: string; name?: string }) => item.id ?? item.name));
    cursor = res.body.cursor;
  } while (cursor !== null && pages.length < 20);
  return pages;
}

describe.each([
  ["/v1/models", "models", MAX_MODELS_PAGE],
  ["/v1/runs", "runs", MAX_RUNS_PAGE],
  ["/v1/datasets", "datasets", MAX_DATASETS_PAGE],
])("GET %s", (path, field, max) => {
  test(`limit is 1..${max}`, async () => {
    for (const limit of [0, max + 1, 1.5]) {
      const res = await get(`${path}?limit=${limit}`);
      expect(res.status).toBe(400);
      expect(res.body.error.message).toContain(`limit must be an integer in 1..${max}`);
    }
  });
});

test("models: pages of 2 cover the listing newest first, each model once", async () => {
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) {
    const res = await exports.default.fetch("http://edgeprop/v1/models", { method: "POST", headers: ADMIN, body: JSON.stringify({ layers: [2, 2, 2], params: Array(12).fill(i) }) });
    expect(res.status).toBe(201);
    ids.push(((await res.json()) as { id: string }).id);
  }
  const whole = (await get("/v1/models")).body as { cursor: string | null; models: { id: string; createdAt: string }[] };
  expect(whole.cursor).toBeNull();
  expect(new Set(whole.models.map((m) => m.id))).toEqual(new Set(ids));
  // Newest first; models made in the same millisecond by id, descending.
  const keys = whole.models.map((m) => `${m.createdAt} ${m.id}`);
  expect(keys).toEqual([...keys].sort().reverse());
  const pages = await allPages("/v1/models", "models", 2);
  expect(pages.map((p) => p.length)).toEqual([2, 2, 1]);
  expect(pages.flat()).toEqual(whole.models.map((m) => m.id));
});

test("runs: pages of 3 cover the runs newest first; a page reads only its records", async () => {
  const ids = Array.from({ length: 7 }, (_, i) => `run-00000000${i}-paging`);
  for (const id of ids) expect(await createRecord(env.STORE_BUCKET, { id, updatedAt: "", history: [], evaluations: [] } as never)).toBe(true);
  const pages = await allPages("/v1/runs", "runs", 3);
  expect(pages.map((p) => p.length)).toEqual([3, 3, 1]);
  expect(pages.flat()).toEqual([...ids].reverse());
});

test("datasets: pages of 2 cover the datasets by name", async () => {
  const names = ["pa", "pb", "pc", "pd", "pe"];
  for (const name of names) {
    await writeDataset(env.STORE_BUCKET, name, "v1", { rows: 1, cols: 1, classes: 2 }, { pixels: Uint8Array.of(1, 3), labels: Uint8Array.of(0, 1) }, { pixels: Uint8Array.of(2), labels: Uint8Array.of(1) }, 1);
  }
  const pages = await allPages("/v1/datasets", "datasets", 2);
  expect(pages.map((p) => p.length)).toEqual([2, 2, 1]);
  expect(pages.flat()).toEqual(names);
});
