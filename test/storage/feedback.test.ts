/**
 * The corrections store on real local R2: the pending cap under concurrent writers, accept/reject/delete and what
 * a crash midway leaves for a retry, the accepted counter and its repair, the newest-first snapshot, old-layout
 * objects.
 */
import { env } from "cloudflare:workers";
import { describe, expect, test } from "vitest";
import { decodeShard, encodeShard } from "../../src/data/shards";
import { CapacityError } from "../../src/errors";
import { countPending, feedbackCounts, MAX_PENDING_CAP, pendingCapFrom, partOf, putPending, readAcceptedCount, snapshotFeedback } from "../../src/storage/feedback";
import { keys, timeId } from "../../src/storage/keys";
import { adoptLegacy, deleteCorrection, recountAccepted, reviewCorrections } from "../../src/storage/review";

const bucket = env.STORE_BUCKET;
const CAP = MAX_PENDING_CAP;

/** A 28 × 28 picture told apart by `marker`: pixel `marker` of the first row lit, plus a bar. */
function picture(marker: number): Uint8Array {
  const p = new Uint8Array(784);
  for (let r = 4; r < 24; r++) p[r * 28 + 12] = p[r * 28 + 13] = 200;
  p[marker] = 255;
  return p;
}
const markerOf = (pixels: Uint8Array) => pixels.subarray(0, 28).indexOf(255);
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
const exists = async (key: string) => (await bucket.head(key)) !== null;
const accepted = async () => (await readAcceptedCount(bucket)).accepted;

describe("the pending cap", () => {
  test("FEEDBACK_PENDING_MAX is read as an integer in 0..1000, anything else refused", () => {
    expect(pendingCapFrom("1000")).toBe(1000);
    expect(pendingCapFrom("0")).toBe(0);
    for (const bad of ["1001", "-1", "2.5", "", "many", undefined]) expect(() => pendingCapFrom(bad), String(bad)).toThrow(/FEEDBACK_PENDING_MAX/);
  });

  test("20 concurrent writers never leave more than the cap; each one that was refused stored nothing", async () => {
    const before = await countPending(bucket);
    const cap = before + 5;
    const outcomes = await Promise.allSettled(Array.from({ length: 20 }, (_, k) => putPending(bucket, picture(k), k % 10, 28, 28, cap)));
    const kept = outcomes.filter((o) => o.status === "fulfilled").map((o) => o.value.id);
    const refused = outcomes.filter((o) => o.status === "rejected").map((o) => o.reason);
    for (const e of refused) {
      expect(e).toBeInstanceOf(CapacityError);
      expect(e).toMatchObject({ code: "feedback_queue_full" });
    }
    expect(await countPending(bucket)).toBe(before + kept.length);
    expect(before + kept.length).toBeLessThanOrEqual(cap);
    for (const id of kept) expect(await exists(keys.feedbackPending(id))).toBe(true);

    // Filled one at a time, the queue takes exactly the cap, then refuses and stores nothing.
    while ((await countPending(bucket)) < cap) await putPending(bucket, picture(1), 1, 28, 28, cap);
    await expect(putPending(bucket, picture(2), 2, 28, 28, cap)).rejects.toBeInstanceOf(CapacityError);
    expect(await countPending(bucket)).toBe(cap);
  });
});

describe("review", () => {
  test("accept, reject, unknown ids; counts follow; accepting twice changes nothing", async () => {
    const ids = [];
    for (let k = 0; k < 4; k++) ids.push((await putPending(bucket, picture(k), k, 28, 28, CAP)).id);
    const unknown = timeId("", 6);
    const before = await feedbackCounts(bucket, CAP);
    const results = await reviewCorrections(bucket, [ids[0], ids[1], unknown], [ids[2]]);
    expect(results).toEqual([
      { id: ids[0], result: "accepted" }, { id: ids[1], result: "accepted" }, { id: unknown, result: "not_found" }, { id: ids[2], result: "rejected" },
    ]);
    expect(await feedbackCounts(bucket, CAP)).toEqual({ pending: before.pending - 3, pendingMax: CAP, accepted: before.accepted + 2 });
    expect(await exists(keys.feedbackAccepted(ids[0]))).toBe(true);
    expect(await exists(keys.feedbackPending(ids[0]))).toBe(false);
    expect(await exists(keys.feedbackPending(ids[2]))).toBe(false);
    expect(await exists(keys.feedbackAccepted(ids[2]))).toBe(false);
    expect(await reviewCorrections(bucket, [ids[0]], [ids[1]])).toEqual([{ id: ids[0], result: "already_accepted" }, { id: ids[1], result: "already_accepted" }]);
    expect(await accepted()).toBe(before.accepted + 2);
  });

  test("a retried accept (accepted copy written, pending not yet deleted) finishes the job and counts once", async () => {
    const { id } = await putPending(bucket, picture(5), 5, 28, 28, CAP);
    const bytes = new Uint8Array(await (await bucket.get(keys.feedbackPending(id)))!.arrayBuffer());
    // The state a crash between the two writes of an accept leaves.
    await bucket.put(keys.feedbackAccepted(id), bytes, { onlyIf: { etagDoesNotMatch: "*" } });
    const before = await accepted();
    expect(await reviewCorrections(bucket, [id], [])).toEqual([{ id, result: "accepted" }]);
    expect(await exists(keys.feedbackPending(id))).toBe(false);
    expect(new Uint8Array(await (await bucket.get(keys.feedbackAccepted(id)))!.arrayBuffer())).toEqual(bytes);
    expect(await accepted()).toBe(before + 1);
    expect(await reviewCorrections(bucket, [id], [])).toEqual([{ id, result: "already_accepted" }]);
    expect(await accepted()).toBe(before + 1);
  });

  test("rejecting a half-accepted correction removes both copies and leaves the count alone", async () => {
    const { id } = await putPending(bucket, picture(6), 6, 28, 28, CAP);
    await bucket.put(keys.feedbackAccepted(id), (await bucket.get(keys.feedbackPending(id)))!.body);
    const before = await accepted();
    expect(await reviewCorrections(bucket, [], [id])).toEqual([{ id, result: "rejected" }]);
    expect([await exists(keys.feedbackPending(id)), await exists(keys.feedbackAccepted(id))]).toEqual([false, false]);
    expect(await accepted()).toBe(before);
  });

  test("delete finds a correction by id, pending or accepted, and says which; null when there is none", async () => {
    const a = (await putPending(bucket, picture(7), 7, 28, 28, CAP)).id;
    const b = (await putPending(bucket, picture(8), 8, 28, 28, CAP)).id;
    await reviewCorrections(bucket, [b], []);
    const before = await feedbackCounts(bucket, CAP);
    expect(await deleteCorrection(bucket, a)).toBe("pending");
    expect(await deleteCorrection(bucket, b)).toBe("accepted");
    expect(await deleteCorrection(bucket, b)).toBeNull();
    expect(await feedbackCounts(bucket, CAP)).toEqual({ pending: before.pending - 1, pendingMax: CAP, accepted: before.accepted - 1 });
    expect([await exists(keys.feedbackPending(a)), await exists(keys.feedbackAccepted(b))]).toEqual([false, false]);
  });

  test("recountAccepted repairs a counter that drifted", async () => {
    const listed = (await bucket.list({ prefix: keys.feedbackAcceptedPrefix })).objects.length;
    await bucket.put(keys.feedbackAcceptedCount, JSON.stringify({ accepted: listed + 40 }));
    expect(await recountAccepted(bucket)).toEqual({ previous: listed + 40, accepted: listed });
    expect(await accepted()).toBe(listed);
  });
});

describe("the snapshot a run trains on", () => {
  test("takes accepted corrections only, of the training split or the holdout, the newest first, up to its cap", async () => {
    const ids: string[] = [];
    for (let k = 0; k < 12; k++) {
      ids.push((await putPending(bucket, picture(k + 1), k % 10, 28, 28, CAP)).id);
      await pause(3); // distinct time stamps: the order under test is by time
    }
    const pendingOnly = (await putPending(bucket, picture(27), 9, 28, 28, CAP)).id;
    await reviewCorrections(bucket, ids, []);
    const markersOf = async (split: Awaited<ReturnType<typeof snapshotFeedback>>) => {
      const out: number[] = [];
      for (const entry of split?.shards ?? []) {
        const shard = decodeShard(new Uint8Array(await (await bucket.get(entry.key))!.arrayBuffer()));
        for (let i = 0; i < shard.count; i++) out.push(markerOf(shard.pixels.subarray(i * 784, (i + 1) * 784)));
      }
      return out;
    };
    // Newest first; the holdout split (partOf, by a hash of the id) never in a training snapshot.
    const newestFirst = ids.map((id, k) => ({ id, marker: k + 1 })).reverse();
    const trainMarkers = newestFirst.filter((c) => partOf(c.id) === "train").map((c) => c.marker);
    const holdoutMarkers = newestFirst.filter((c) => partOf(c.id) === "holdout").map((c) => c.marker);
    const split = (await snapshotFeedback(bucket, "run-snap-test", 28, 28, 10, 5))!;
    expect(split.count).toBe(Math.min(5, trainMarkers.length));
    expect(await markersOf(split)).toEqual(trainMarkers.slice(0, 5));
    const holdout = await snapshotFeedback(bucket, "run-snap-test", 28, 28, 10, 100, "holdout");
    expect((await markersOf(holdout)).slice(0, holdoutMarkers.length)).toEqual(holdoutMarkers); // then earlier tests' ones
    expect(holdout === null ? [] : holdout.shards.map((s) => s.key)).toEqual(holdout === null ? [] : [keys.holdoutSnapshotShard("run-snap-test", 0)]);
    expect(await exists(keys.feedbackPending(pendingOnly))).toBe(true);
  });
});

describe("corrections in the layout before review (feedback/<id>.bin)", () => {
  test("are never trained on; adoptLegacy moves them to pending under the same id, within the room given", async () => {
    const legacy = [timeId("", 6), timeId("", 6), timeId("", 6)];
    for (const [k, id] of legacy.entries()) await bucket.put(keys.feedbackLegacy(id), encodeShard(Uint8Array.of(7), picture(20 + k), 28, 28));
    const snapshot = await snapshotFeedback(bucket, "run-legacy-test", 28, 28, 10);
    const markers = [];
    for (const entry of snapshot?.shards ?? []) {
      const shard = decodeShard(new Uint8Array(await (await bucket.get(entry.key))!.arrayBuffer()));
      for (let i = 0; i < shard.count; i++) markers.push(markerOf(shard.pixels.subarray(i * 784, (i + 1) * 784)));
    }
    expect(markers.filter((m) => m >= 20 && m < 23)).toEqual([]);

    expect(await adoptLegacy(bucket, 2)).toBe(2);
    const left = [];
    for (const id of legacy) if (await exists(keys.feedbackLegacy(id))) left.push(id);
    expect(left).toHaveLength(1);
    for (const id of legacy) expect(await exists(keys.feedbackPending(id))).toBe(!left.includes(id));
    expect(await adoptLegacy(bucket, 0)).toBe(0);
    expect(await adoptLegacy(bucket, 10)).toBe(1);
    for (const id of legacy) {
      expect(await exists(keys.feedbackLegacy(id))).toBe(false);
      expect(await exists(keys.feedbackPending(id))).toBe(true);
    }
    expect(await adoptLegacy(bucket, 10)).toBe(0);
  });
});
