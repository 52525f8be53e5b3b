/**
 * An admin's review of the corrections: accept (pending → accepted), reject, delete, and the accepted counter.
 *
 * R2 has no transactions, so every operation is a sequence of single-object steps ordered so that a crash leaves a
 * state the same call finishes when retried: accepting writes the accepted copy create-only, then deletes the
 * pending one; rejecting deletes a half-accepted copy before the pending one. A correction is accepted when its
 * accepted copy exists and its pending one does not, and that is what the counter counts: it moves when an accept
 * deletes a pending correction and when a delete removes an accepted one. The counter is for display only (runs
 * list the accepted corrections themselves); a crash between an object step and the counter update, or two admins
 * acting on the same id at once, can make it drift, and recountAccepted repairs it.
 */
import { MAX_PENDING_CAP, readAcceptedCount } from "./feedback";
import { feedbackIdOf, keys } from "./keys";
import { listNames } from "./list";

/** What a review did to one id. */
export type ReviewResult = "accepted" | "rejected" | "already_accepted" | "not_found";

/** Most old-layout corrections moved to pending per call of adoptLegacy. */
export const MAX_ADOPT = 100;

/** Writes the accepted counter if it is still the one read (etag; null: none yet); false when it changed. */
async function writeAcceptedCount(bucket: R2Bucket, accepted: number, etag: string | null): Promise<boolean> {
  const body = JSON.stringify({ accepted, updatedAt: new Date().toISOString() });
  const onlyIf = etag === null ? { etagDoesNotMatch: "*" } : { etagMatches: etag };
  return (await bucket.put(keys.feedbackAcceptedCount, body, { onlyIf })) !== null;
}

/** Adds `delta` to the accepted counter with an etag compare-and-swap, retried on a concurrent update. */
async function addAccepted(bucket: R2Bucket, delta: number): Promise<void> {
  if (delta === 0) return;
  for (let attempt = 0; attempt < 20; attempt++) {
    const { accepted, etag } = await readAcceptedCount(bucket);
    if (await writeAcceptedCount(bucket, Math.max(0, accepted + delta), etag)) return;
  }
  throw new Error("addAccepted: the accepted counter kept changing under 20 attempts");
}

/** Accepts one pending correction: its accepted copy create-only (a retry finds it), then the pending one goes. */
async function acceptOne(bucket: R2Bucket, id: string, acceptedAt: string): Promise<ReviewResult> {
  const pending = await bucket.get(keys.feedbackPending(id));
  if (pending === null) return (await bucket.head(keys.feedbackAccepted(id))) === null ? "not_found" : "already_accepted";
  const bytes = new Uint8Array(await pending.arrayBuffer());
  await bucket.put(keys.feedbackAccepted(id), bytes, { onlyIf: { etagDoesNotMatch: "*" }, customMetadata: { acceptedAt } });
  await bucket.delete(keys.feedbackPending(id));
  return "accepted";
}

/** Rejects one pending correction; a copy left by an accept that crashed midway (never counted) goes first. */
async function rejectOne(bucket: R2Bucket, id: string): Promise<ReviewResult> {
  if ((await bucket.head(keys.feedbackPending(id))) === null) {
    return (await bucket.head(keys.feedbackAccepted(id))) === null ? "not_found" : "already_accepted";
  }
  await bucket.delete(keys.feedbackAccepted(id));
  await bucket.delete(keys.feedbackPending(id));
  return "rejected";
}

/**
 * Accepts and rejects pending corrections (ids in neither list are left alone); returns what happened to each id,
 * in the order given, accepts first. Accepting an accepted correction again changes nothing ("already_accepted");
 * rejecting one does not undo it (deleteCorrection does).
 */
export async function reviewCorrections(bucket: R2Bucket, accept: readonly string[], reject: readonly string[]): Promise<{ id: string; result: ReviewResult }[]> {
  const acceptedAt = new Date().toISOString();
  const accepted = await Promise.all(accept.map((id) => acceptOne(bucket, id, acceptedAt)));
  const rejected = await Promise.all(reject.map((id) => rejectOne(bucket, id)));
  await addAccepted(bucket, accepted.filter((r) => r === "accepted").length);
  return [...accept.map((id, i) => ({ id, result: accepted[i] })), ...reject.map((id, i) => ({ id, result: rejected[i] }))];
}

/**
 * Deletes correction `id` wherever it is (pending, accepted, or both after an accept that crashed midway); returns
 * which state it was in ("pending" when a pending copy existed), or null when there was none.
 */
export async function deleteCorrection(bucket: R2Bucket, id: string): Promise<"pending" | "accepted" | null> {
  const [pending, accepted] = await Promise.all([bucket.head(keys.feedbackPending(id)), bucket.head(keys.feedbackAccepted(id))]);
  if (pending === null && accepted === null) return null;
  if (accepted !== null) await bucket.delete(keys.feedbackAccepted(id));
  if (pending !== null) await bucket.delete(keys.feedbackPending(id));
  if (pending === null) await addAccepted(bucket, -1);
  return pending === null ? "accepted" : "pending";
}

/**
 * Counts the accepted corrections by listing them all and writes the counter, unless a review changed it
 * meanwhile (then it tries again). Returns the count before and after. Best run while no review is under way.
 */
export async function recountAccepted(bucket: R2Bucket): Promise<{ previous: number; accepted: number }> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const { accepted: previous, etag } = await readAcceptedCount(bucket);
    const accepted = (await listNames(bucket, keys.feedbackAcceptedPrefix)).length;
    if (await writeAcceptedCount(bucket, accepted, etag)) return { previous, accepted };
  }
  throw new Error("recountAccepted: the accepted counter kept changing under 5 attempts");
}

/**
 * Moves corrections stored in the layout before review existed (`feedback/<id>.bin`, never reviewed) to pending
 * under the same id, at most `room` and MAX_ADOPT of them; copy first (create-only), then delete, so a retry
 * finishes. Returns how many were moved.
 */
export async function adoptLegacy(bucket: R2Bucket, room: number): Promise<number> {
  if (room <= 0) return 0;
  const page = await bucket.list({ prefix: keys.feedbackPrefix, delimiter: "/", limit: MAX_PENDING_CAP });
  const ids = page.objects.map((o) => feedbackIdOf(o.key)).filter((id) => id !== null).slice(0, Math.min(room, MAX_ADOPT));
  await Promise.all(ids.map(async (id) => {
    const old = await bucket.get(keys.feedbackLegacy(id));
    if (old === null) return;
    await bucket.put(keys.feedbackPending(id), await old.arrayBuffer(), { onlyIf: { etagDoesNotMatch: "*" } });
    await bucket.delete(keys.feedbackLegacy(id));
  }));
  return ids.length;
}
