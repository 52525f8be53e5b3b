/**
 * The "Corrections" panel: how many corrections await review and how many are accepted (public), and for an admin
 * the review itself: pending corrections as 28×28 pictures with their label, accepted or rejected one by one or all
 * shown at once (in batches of up to 100 ids), and the accepted ones (newest first, the order runs take them in)
 * with delete.
 */
import { api, decodeBase64 } from "./api.js";
import { el, formatCount, formatWhen } from "./format.js";

/** Corrections per page. */
const PENDING_PAGE = 48;
const ACCEPTED_PAGE = 24;
/** Most ids in one review request (the API's limit): "all shown" is sent in batches of this many. */
const BATCH = 100;

/**
 * Wires the panel; `load()` shows the counts, and the lists when the admin token is there.
 * @param {{ onCounts: (counts: { pending: number, pendingMax: number, accepted: number }) => void, onReviewed: () => void }} hooks
 *   onCounts: the counts this panel shows, each time it shows them; onReviewed: corrections were accepted, rejected
 *   or deleted here.
 */
export function initReview(hooks) {
  const $ = (id) => document.getElementById(id);
  const countsLine = $("review-counts");
  const message = $("review-message");
  const pendingList = $("pending-list");
  const acceptedList = $("accepted-list");
  const acceptAll = $("review-accept-all");
  const rejectAll = $("review-reject-all");
  const pendingMore = $("pending-more");
  const acceptedMore = $("accepted-more");
  /** What is shown: the ids listed and where each list continues (null: nothing more). */
  const shown = { pending: [], pendingCursor: null, acceptedCursor: null };
  let generation = 0; // bumped by every load(): an answer to an older one is dropped

  $("review-refresh").addEventListener("click", () => load());
  acceptAll.addEventListener("click", () => review([...shown.pending], []));
  rejectAll.addEventListener("click", () => review([], [...shown.pending]));
  pendingMore.addEventListener("click", () => more("pending"));
  acceptedMore.addEventListener("click", () => more("accepted"));

  function showCounts(c) {
    countsLine.textContent = `${formatCount(c.pending)} pending review (at most ${formatCount(c.pendingMax)}) · ${formatCount(c.accepted)} accepted`;
    hooks.onCounts(c);
  }

  /** Counts for everyone; with the admin token, the first page of each list too. */
  async function load() {
    const gen = ++generation;
    try {
      const [pending, accepted] = await Promise.all([
        api(`/v1/feedback/pending?limit=${PENDING_PAGE}`, { admin: true }),
        api(`/v1/feedback/accepted?limit=${ACCEPTED_PAGE}`, { admin: true }),
      ]);
      if (gen !== generation) return;
      showCounts(pending);
      shown.pending = [];
      pendingList.replaceChildren();
      acceptedList.replaceChildren();
      addPending(pending);
      addAccepted(accepted);
      if (message.dataset.kind === "hint") setMessage("");
    } catch (err) {
      if (gen !== generation) return;
      if (err.code !== "no_token") setMessage(`Could not list the corrections: ${err.message}`);
      else setMessage("Type the admin token at the top of the page to review corrections.", "hint");
      clearLists();
      await loadCounts();
    }
  }

  async function loadCounts() {
    try {
      showCounts(await api("/v1/feedback"));
    } catch (err) {
      countsLine.textContent = `Could not count the corrections: ${err.message}`;
    }
  }

  function clearLists() {
    shown.pending = [];
    pendingList.replaceChildren();
    acceptedList.replaceChildren();
    pendingMore.hidden = acceptedMore.hidden = true;
    acceptAll.disabled = rejectAll.disabled = true;
  }

  function setMessage(text, kind = "") {
    message.textContent = text;
    message.dataset.kind = kind;
  }

  function addPending(page) {
    for (const item of page.items) {
      shown.pending.push(item.id);
      pendingList.append(card(item, [
        el("button", { type: "button", className: "small", "aria-label": `Accept correction ${item.id}`, onclick: () => review([item.id], []) }, "Accept"),
        el("button", { type: "button", className: "danger small", "aria-label": `Reject correction ${item.id}`, onclick: () => review([], [item.id]) }, "Reject"),
      ]));
    }
    if (shown.pending.length === 0) pendingList.append(el("li", { className: "muted" }, "Nothing awaits review."));
    shown.pendingCursor = page.cursor;
    pendingMore.hidden = page.cursor === null;
    acceptAll.disabled = rejectAll.disabled = shown.pending.length === 0;
  }

  function addAccepted(page) {
    for (const item of page.items) {
      acceptedList.append(card(item, [
        el("button", { type: "button", className: "danger small", "aria-label": `Delete correction ${item.id}`, onclick: () => remove(item.id) }, "Delete"),
      ]));
    }
    if (acceptedList.childElementCount === 0) acceptedList.append(el("li", { className: "muted" }, "No accepted corrections yet."));
    shown.acceptedCursor = page.cursor;
    acceptedMore.hidden = page.cursor === null;
  }

  async function more(which) {
    const cursor = which === "pending" ? shown.pendingCursor : shown.acceptedCursor;
    const limit = which === "pending" ? PENDING_PAGE : ACCEPTED_PAGE;
    try {
      const page = await api(`/v1/feedback/${which}?limit=${limit}&cursor=${encodeURIComponent(cursor)}`, { admin: true });
      showCounts(page);
      if (which === "pending") addPending(page);
      else addAccepted(page);
    } catch (err) {
      setMessage(`Could not list more corrections: ${err.message}`);
    }
  }

  /** Accepts and rejects ids (one of the two lists, or one id each), in batches of at most BATCH ids. */
  async function review(accept, reject) {
    const n = accept.length + reject.length;
    setMessage(`Sending the review of ${n} correction${n === 1 ? "" : "s"}…`);
    const results = [];
    try {
      for (let i = 0; i < n; i += BATCH) {
        const body = { accept: accept.slice(i, i + BATCH), reject: reject.slice(Math.max(0, i - accept.length), i + BATCH - accept.length) };
        results.push(...(await api("/v1/feedback/review", { method: "POST", body, admin: true })).results);
      }
      const done = (r) => results.filter((x) => x.result === r).length;
      const missing = results.filter((x) => x.result === "not_found").map((x) => x.id);
      const gone = missing.length > 0 ? ` Not found (deleted meanwhile?): ${missing.join(", ")}.` : "";
      setMessage(`Accepted ${done("accepted")}, rejected ${done("rejected")}.${gone}`);
    } catch (err) {
      setMessage(`The review failed after ${results.length} of ${n}: ${err.message}`);
    }
    if (results.length > 0) hooks.onReviewed();
    await load();
  }

  async function remove(id) {
    try {
      await api(`/v1/feedback/${encodeURIComponent(id)}`, { method: "DELETE", admin: true });
      setMessage(`Deleted correction ${id}: runs that start from now on do not train on it.`);
    } catch (err) {
      setMessage(`Could not delete ${id}: ${err.message}`);
      return;
    }
    hooks.onReviewed();
    await load();
  }

  return { load };
}

/** One correction: its picture, its label, when it was sent (and accepted), and its buttons. */
function card(item, buttons) {
  const canvas = el("canvas", { className: "correction-picture", width: item.cols, height: item.rows, "aria-label": `Correction ${item.id}: a drawing labelled ${item.label}` });
  canvas.setAttribute("role", "img");
  drawPicture(canvas, item);
  const when = item.acceptedAt ? `sent ${formatWhen(item.createdAt)}, accepted ${formatWhen(item.acceptedAt)}` : `sent ${formatWhen(item.createdAt)}`;
  return el("li", { className: "correction", dataset: { id: item.id } },
    canvas,
    el("span", { className: "correction-label" }, `it was ${item.label}`),
    el("span", { className: "correction-when muted" }, when),
    el("div", { className: "correction-actions" }, ...buttons));
}

/** Draws the correction's bytes (0..255, row-major), white ink on black as MNIST digits are. */
function drawPicture(canvas, item) {
  const bytes = decodeBase64(item.pixels);
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(item.cols, item.rows);
  for (let i = 0; i < bytes.length; i++) img.data.set([bytes[i], bytes[i], bytes[i], 255], 4 * i);
  ctx.putImageData(img, 0, 0);
}
