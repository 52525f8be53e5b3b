/**
 * The corrections API through the Worker: anonymous posts stored pending, the pending cap (507), and the admin
 * review routes (list with pictures, accept/reject in batches, delete, recount) with their auth and their counts.
 */
import { env, exports } from "cloudflare:workers";
import { describe, expect, test } from "vitest";
import { app } from "../../src/app";
import { encodeShard } from "../../src/data/shards";
import { keys, timeId } from "../../src/storage/keys";

const TOKEN = "Bearer test-admin-token";
let client = 0;
/** Headers of a request from a client of its own (the feedback route is rate-limited per CF-Connecting-IP). */
const from = (headers: Record<string, string> = {}) => {
  client++;
  return { "content-type": "application/json", "cf-connecting-ip": `10.7.${client >> 8}.${client & 255}`, ...headers };
};
const call = (path: string, init: { method?: string; body?: unknown; auth?: string } = {}) =>
  exports.default.fetch(`http://edgeprop${path}`, {
    method: init.method ?? "GET",
    headers: from(init.auth === undefined ? {} : { authorization: init.auth }),
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
const admin = (path: string, init: { method?: string; body?: unknown } = {}) => call(path, { ...init, auth: TOKEN });
const json = async <T = Record<string, unknown>>(res: Response) => (await res.json()) as T;

/** A picture told apart by `marker` (a lit pixel in the first row), as the page sends it: numbers in [0, 1]. */
const image = (marker: number) => Array.from({ length: 784 }, (_, i) => (i === marker ? 1 : i % 28 === 14 && i > 100 && i < 700 ? 0.5 : 0));

interface Counts { pending: number; pendingMax: number; accepted: number }
interface Item { id: string; label: number; createdAt: string; acceptedAt?: string; rows: number; cols: number; pixels: string }
type Listing = Counts & { items: Item[]; cursor: string | null };

async function send(marker: number, label: number): Promise<string> {
  const res = await call("/v1/feedback", { method: "POST", body: { image: image(marker), label } });
  expect(res.status).toBe(201);
  const body = await json<{ id: string; status: string; pending: number; pendingMax: number }>(res);
  expect(body).toMatchObject({ status: "pending", pendingMax: 1000 });
  return body.id;
}
const counts = async () => json<Counts>(await call("/v1/feedback"));
const pendingIds = async () => (await json<Listing>(await admin("/v1/feedback/pending?limit=100"))).items.map((i) => i.id);

describe("admin auth", () => {
  const routes: [string, string, unknown?][] = [
    ["GET", "/v1/feedback/pending"], ["GET", "/v1/feedback/accepted"], ["POST", "/v1/feedback/review", { accept: ["x"] }],
    ["POST", "/v1/feedback/recount"], ["DELETE", `/v1/feedback/${timeId("", 6)}`],
  ];
  test.each(routes)("%s %s: 401 without a token, 403 with a wrong one, before the input is read", async (method, path, body) => {
    const none = await call(path, { method, body });
    expect(none.status).toBe(401);
    expect(await json(none)).toMatchObject({ error: { code: "unauthorized" } });
    const wrong = await call(path, { method, body, auth: "Bearer not-the-token" });
    expect(wrong.status).toBe(403);
    expect(await json(wrong)).toMatchObject({ error: { code: "forbidden" } });
  });
});

describe("review", () => {
  test("pending corrections are listed with their pictures; a batch accepts and rejects, names unknown ids, and the counts follow", async () => {
    const ids = [await send(3, 1), await send(4, 2), await send(5, 3), await send(6, 4)];
    const before = await counts();
    const listing = await json<Listing>(await admin("/v1/feedback/pending?limit=100"));
    const mine = listing.items.filter((i) => ids.includes(i.id));
    expect(mine.map((i) => i.label)).toEqual([1, 2, 3, 4]);
    const first = mine[0];
    expect(first).toMatchObject({ rows: 28, cols: 28 });
    expect(Math.abs(Date.parse(first.createdAt) - Date.now())).toBeLessThan(60_000);
    const bytes = Uint8Array.from(atob(first.pixels), (ch) => ch.charCodeAt(0));
    expect([...bytes]).toEqual(image(3).map((p) => Math.round(p * 255)));

    const unknown = timeId("", 6);
    const res = await admin("/v1/feedback/review", { method: "POST", body: { accept: [ids[0], ids[1], unknown], reject: [ids[2]] } });
    expect(res.status).toBe(200);
    const reviewed = await json<Counts & { results: { id: string; result: string }[]; notFound: string[] }>(res);
    expect(reviewed.results).toEqual([
      { id: ids[0], result: "accepted" }, { id: ids[1], result: "accepted" }, { id: unknown, result: "not_found" }, { id: ids[2], result: "rejected" },
    ]);
    expect(reviewed.notFound).toEqual([unknown]);
    const after = { pending: before.pending - 3, pendingMax: 1000, accepted: before.accepted + 2 };
    expect({ pending: reviewed.pending, pendingMax: reviewed.pendingMax, accepted: reviewed.accepted }).toEqual(after);
    expect(await counts()).toEqual(after);
    expect(await pendingIds()).toContain(ids[3]);
    expect(await pendingIds()).not.toContain(ids[0]);

    const acceptedList = await json<Listing>(await admin("/v1/feedback/accepted?limit=100"));
    const acc = acceptedList.items.filter((i) => ids.includes(i.id));
    expect(acc.map((i) => i.id).sort()).toEqual([ids[0], ids[1]].sort());
    for (const i of acc) expect(typeof i.acceptedAt).toBe("string");

    // Accepting again, or rejecting an accepted one, changes nothing.
    const again = await json<{ results: unknown[] }>(await admin("/v1/feedback/review", { method: "POST", body: { accept: [ids[0]], reject: [ids[1]] } }));
    expect(again.results).toEqual([{ id: ids[0], result: "already_accepted" }, { id: ids[1], result: "already_accepted" }]);
    expect(await counts()).toEqual(after);
  });

  test("accepted corrections are listed newest first, a page at a time", async () => {
    const ids = [];
    for (let k = 0; k < 3; k++) {
      ids.push(await send(10 + k, k));
      await new Promise((r) => setTimeout(r, 3));
    }
    expect((await admin("/v1/feedback/review", { method: "POST", body: { accept: ids } })).status).toBe(200);
    const page1 = await json<Listing>(await admin("/v1/feedback/accepted?limit=2"));
    expect(page1.items.map((i) => i.id)).toEqual([ids[2], ids[1]]);
    expect(page1.cursor).toBe(ids[1]);
    const page2 = await json<Listing>(await admin(`/v1/feedback/accepted?limit=2&cursor=${page1.cursor}`));
    expect(page2.items[0].id).toBe(ids[0]);
  });

  test("pending corrections page with a cursor, oldest first, without overlap", async () => {
    for (let k = 0; k < 3; k++) await send(20 + k, 5);
    const all = await pendingIds();
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: Listing = await json<Listing>(await admin(`/v1/feedback/pending?limit=2${cursor === null ? "" : `&cursor=${cursor}`}`));
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((i) => i.id));
      cursor = page.cursor;
    } while (cursor !== null);
    expect(seen).toEqual(all);
    expect([...seen].sort()).toEqual(seen);
  });

  test("DELETE removes a pending or an accepted correction by id and answers 404 for none", async () => {
    const a = await send(30, 7);
    const b = await send(31, 8);
    await admin("/v1/feedback/review", { method: "POST", body: { accept: [b] } });
    const before = await counts();
    const delA = await admin(`/v1/feedback/${a}`, { method: "DELETE" });
    expect(delA.status).toBe(200);
    expect(await json(delA)).toMatchObject({ id: a, deleted: "pending", pending: before.pending - 1, accepted: before.accepted });
    const delB = await admin(`/v1/feedback/${b}`, { method: "DELETE" });
    expect(await json(delB)).toMatchObject({ id: b, deleted: "accepted", pending: before.pending - 1, accepted: before.accepted - 1 });
    const again = await admin(`/v1/feedback/${b}`, { method: "DELETE" });
    expect(again.status).toBe(404);
    expect(await json(again)).toMatchObject({ error: { code: "not_found" } });
    expect((await admin("/v1/feedback/not-an-id", { method: "DELETE" })).status).toBe(400);
  });

  test("recount lists the accepted corrections and repairs the counter", async () => {
    const { accepted } = await counts();
    await env.STORE_BUCKET.put(keys.feedbackAcceptedCount, JSON.stringify({ accepted: accepted + 9 }));
    expect((await counts()).accepted).toBe(accepted + 9);
    const res = await admin("/v1/feedback/recount", { method: "POST" });
    expect(await json(res)).toEqual({ previous: accepted + 9, accepted });
    expect((await counts()).accepted).toBe(accepted);
  });

  test.each([
    ["no ids", {}, /at least one id/],
    ["more than 100 ids", { accept: Array.from({ length: 101 }, () => timeId("", 6)) }, /at most 100 ids/],
    ["an id twice", { accept: ["0mx3xkao0-5f2c9a1b7e44"], reject: ["0mx3xkao0-5f2c9a1b7e44"] }, /ids named twice/],
    ["a malformed id", { accept: ["../../serving.json"] }, /not a correction id/],
    ["an unknown key", { accept: [], approve: [] }, /unknown key "approve"/],
    ["ids that are not strings", { reject: [42] }, /ids must be strings/],
  ])("a review with %s → 400 naming the problem", async (_name, body, message) => {
    const res = await admin("/v1/feedback/review", { method: "POST", body });
    expect(res.status).toBe(400);
    expect((await json<{ error: { message: string } }>(res)).error.message).toMatch(message);
  });

  test("the first pending page moves corrections stored in the old layout to pending, same id", async () => {
    const id = timeId("", 6);
    await env.STORE_BUCKET.put(keys.feedbackLegacy(id), encodeShard(Uint8Array.of(4), new Uint8Array(784), 28, 28));
    expect(await pendingIds()).toContain(id);
    expect(await env.STORE_BUCKET.head(keys.feedbackLegacy(id))).toBeNull();
  });
});

describe("the pending cap", () => {
  test("a full queue answers 507 and stores nothing", async () => {
    const { pending } = await counts();
    const capped = { ...env, FEEDBACK_PENDING_MAX: String(pending + 2) };
    const post = (marker: number) => app.request("http://edgeprop/v1/feedback", { method: "POST", headers: from(), body: JSON.stringify({ image: image(marker), label: 1 }) }, capped);
    expect((await post(40)).status).toBe(201);
    const second = await post(41);
    expect(second.status).toBe(201);
    expect(await json(second)).toMatchObject({ status: "pending", pending: pending + 2, pendingMax: pending + 2 });
    const full = await post(42);
    expect(full.status).toBe(507);
    expect((await json<{ error: { code: string; message: string } }>(full)).error).toMatchObject({ code: "feedback_queue_full", message: expect.stringMatching(/await review/) });
    expect((await counts()).pending).toBe(pending + 2);
    const counted = await json<Counts>(await app.request("http://edgeprop/v1/feedback", {}, capped));
    expect(counted).toMatchObject({ pending: pending + 2, pendingMax: pending + 2 });
  });
});
