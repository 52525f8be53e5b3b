/**
 * "Learning from corrections", in the Models panel: the served model's lineage (what it was refreshed or
 * warm-started from), the review queue's size, how many new corrections the daily refresh waits for, and the newest
 * refreshes with their verdict and before → after figures (figures.js: held-out corrections and validation, which
 * the guard reads, and the test set, reported only). An admin starts a refresh here; the part
 * then follows the run (GET /v1/runs/:id every second) until it ends.
 */
import { api, hasToken } from "./api.js";
import { changeText, figureRows, SETS } from "./figures.js";
import { el, formatCount, formatWhen } from "./format.js";
import { isOver } from "./training.js";

const POLL_MS = 1000;

/** What the page says for each refusal of POST /v1/refresh. */
const REFUSALS = {
  no_corrections: "No accepted correction to train on yet (one in five is held out, only to measure the refresh): accept some in the Corrections panel, then start the refresh again.",
  refresh_active: "A refresh is already running: it is followed below. Start another once it has ended.",
  no_served_model: "No model is served: a refresh fine-tunes the served model, so promote one first.",
};

/**
 * @param {{ onRefreshEnded: (record: object) => void }} hooks  onRefreshEnded: a followed refresh ended (promoted
 *   or not): the served model may have changed.
 */
export function initRefresh(hooks) {
  const $ = (id) => document.getElementById(id);
  const lineage = $("refresh-lineage");
  const queue = $("refresh-queue");
  const due = $("refresh-due");
  const button = $("start-refresh");
  const adminHint = $("refresh-admin-hint");
  const message = $("refresh-message");
  const list = $("refresh-list");
  /** The last answer of GET /v1/refresh, and the run followed since it was started or found active. */
  let status = null;
  const follow = { id: null, record: null, timer: null };
  let generation = 0; // bumped by every load(): an answer to an older one is dropped

  button.addEventListener("click", start);

  /** Reads GET /v1/refresh (with the admin token when one is typed: it adds the new corrections' count). */
  async function load() {
    const gen = ++generation;
    let answer;
    let refused = false;
    try {
      answer = await api("/v1/refresh", { admin: "optional" });
    } catch (err) {
      // A wrong token is refused (403) rather than ignored: say so, and show what anyone may see.
      refused = err.status === 403;
      try {
        if (!refused) throw err;
        answer = await api("/v1/refresh");
      } catch (again) {
        if (gen !== generation) return;
        setMessage(`Could not read the refreshes: ${again.message}`);
        return;
      }
    }
    if (gen !== generation) return;
    status = answer;
    if (refused) setMessage("The admin token was refused: the count of new corrections and starting a refresh need the right one.");
    else if (message.dataset.kind === "load") setMessage("");
    render();
    if (status.active !== null && status.active !== follow.id) followRun(status.active);
  }

  function setMessage(text, kind = text ? "load" : "") {
    message.textContent = text;
    message.dataset.kind = kind;
  }

  function render() {
    renderLineage(status?.served ?? null);
    if (status !== null) showQueue(status.review);
    renderDue();
    const running = (follow.record !== null && !isOver(follow.record)) || (status?.active ?? null) !== null;
    button.disabled = running;
    tokenChanged();
    renderList();
  }

  function renderLineage(served) {
    const parent = served?.parent ?? null;
    if (parent === null) {
      lineage.replaceChildren();
      lineage.hidden = true;
      return;
    }
    const how = parent.kind === "refresh" ? "Refreshed from" : "Warm-started from";
    const on = parent.kind === "refresh" || parent.corrections > 0 ? ` on ${formatCount(parent.corrections)} correction${parent.corrections === 1 ? "" : "s"}` : "";
    const ancestors = served.lineage ?? [];
    const chain = ancestors.length > 1 ? [el("span", { className: "lineage-chain muted" }, `Lineage, nearest first: ${ancestors.join(" ← ")}`)] : [];
    lineage.replaceChildren(`${served.modelId}: ${how.toLowerCase()} `, el("span", { className: "mono" }, parent.modelId), `${on}.`, ...chain);
    lineage.hidden = false;
  }

  /** The review queue's size ({ pending, pendingMax, accepted }), from GET /v1/refresh or the review panel. */
  function showQueue(counts) {
    queue.textContent = `Review queue: ${formatCount(counts.pending)} pending (at most ${formatCount(counts.pendingMax)}) · ${formatCount(counts.accepted)} accepted`;
  }

  function renderDue() {
    if (status === null) return;
    const { served, newCorrections, threshold } = status;
    if (served === null) due.textContent = "No model is served: a refresh fine-tunes the served model.";
    else if (typeof newCorrections !== "number") due.textContent = `The daily refresh starts once ${formatCount(threshold)} corrections newer than the served model are accepted.`;
    else {
      const n = `${formatCount(newCorrections)} new correction${newCorrections === 1 ? "" : "s"} since the served model`;
      due.textContent = newCorrections >= threshold ? `${n}: the daily refresh starts one at its next run (from ${formatCount(threshold)}).` : `${n}; the daily refresh starts at ${formatCount(threshold)}.`;
    }
  }

  /** The newest refreshes, the followed one as last polled (first when it is newer than the list). */
  function renderList() {
    const recent = [...(status?.recent ?? [])];
    if (follow.record !== null) {
      const at = recent.findIndex((r) => r.runId === follow.id);
      if (at >= 0) recent[at] = follow.record;
      else recent.unshift(follow.record);
    }
    if (recent.length === 0) {
      list.replaceChildren(el("li", { className: "muted" }, status === null ? "Loading the refreshes…" : "No refresh yet."));
      return;
    }
    list.replaceChildren(...recent.slice(0, 5).map((r, i) => entry(r, i === 0)));
  }

  async function start() {
    button.disabled = true;
    setMessage("Starting a refresh…", "start");
    try {
      const record = await api("/v1/refresh", { method: "POST", body: {}, admin: true });
      setMessage(`Started ${record.id}: fine-tuning ${record.parentModelId ?? "the served model"} on the accepted corrections.`, "start");
      followRun(record.id, record);
    } catch (err) {
      setMessage(REFUSALS[err.code] ?? `Could not start a refresh: ${err.message}`, "start");
      if (err.code === "refresh_active") load();
    }
    render();
  }

  /** Shows run `id` (its record when known) and polls it until it ends. */
  function followRun(id, record = null) {
    clearTimeout(follow.timer);
    Object.assign(follow, { id, record, timer: null });
    render();
    poll();
  }

  async function poll() {
    const id = follow.id;
    let record;
    try {
      record = await api(`/v1/runs/${encodeURIComponent(id)}`);
    } catch (err) {
      if (id !== follow.id) return;
      setMessage(`Could not read ${id}: ${err.message}`, "poll");
      follow.timer = setTimeout(poll, 3 * POLL_MS);
      return;
    }
    if (id !== follow.id) return;
    const wasActive = follow.record === null || !isOver(follow.record);
    follow.record = record;
    if (message.dataset.kind === "poll") setMessage("");
    render();
    if (!isOver(record)) follow.timer = setTimeout(poll, POLL_MS);
    else if (wasActive) {
      hooks.onRefreshEnded(record);
      load();
    }
  }

  /** Shows or hides what needs the admin token, as soon as one is typed or forgotten. */
  function tokenChanged() {
    button.hidden = !hasToken();
    adminHint.hidden = hasToken();
  }

  return { load, showQueue, tokenChanged, get following() { return follow.record; } };
}

/** One refresh (an item of GET /v1/refresh's `recent`, or a run record): what it did, its verdict, its figures. */
function entry(r, open) {
  const id = r.runId ?? r.id;
  const report = r.refresh ?? null;
  const active = !isOver(r);
  const rows = figureRows(report);
  return el("li", { className: "refresh", dataset: { run: id } },
    el("div", { className: "refresh-head" },
      el("span", { className: "mono" }, id),
      el("span", { className: `badge ${r.status}` }, r.status),
      verdictBadge(r)),
    el("p", { className: "refresh-what muted" }, describe(r, report)),
    active ? el("progress", { max: 1, value: r.progress ?? 0, "aria-label": `Progress of ${id}` }) : null,
    el("p", { className: "refresh-verdict" }, verdictText(r)),
    rows === null ? null : figuresTables(rows, open));
}

function describe(r, report) {
  const from = r.parentModelId ? `From ${r.parentModelId}${r.modelId ? ` to ${r.modelId}` : ""}` : "";
  const data = report === null ? "" : `${formatCount(report.corrections)} corrections trained on, ${formatCount(report.holdout)} held out, ${formatCount(report.replay)} replayed`;
  return [from, data, formatWhen(r.createdAt)].filter(Boolean).join(" · ");
}

function verdictBadge(r) {
  if (r.promoted === true) return el("span", { className: "badge ok" }, "promoted");
  if (r.promoted === false) return el("span", { className: "badge kept" }, "not promoted");
  return null;
}

function verdictText(r) {
  if (!isOver(r)) return r.status === "succeeded" ? "Measured: deciding whether to promote it…" : "Training on the corrections; the before → after figures come when it ends.";
  if (r.status !== "succeeded") return r.error ? `${r.status}: ${r.error}` : `The refresh ${r.status}; the served model is unchanged.`;
  const reason = r.promotionReason || (r.promoted ? "promoted" : "not promoted");
  return `${reason[0].toUpperCase()}${reason.slice(1)}${/[.…!?]$/.test(reason) ? "" : "."}`;
}

/**
 * The "all" row always in view; the digits' rows behind "Per digit" (open for the newest refresh). Columns: the
 * held-out corrections and the validation set (what the guard reads), then the test set (reported only).
 */
function figuresTables(rows, open) {
  const [all, ...digits] = rows;
  const head = (first) => el("thead", {}, el("tr", {},
    el("th", { scope: "col" }, first),
    ...SETS.map((s) => el("th", { scope: "col", dataset: { set: s.key } }, s.title, el("small", { className: "set-note" }, s.note)))));
  const row = (r, perDigit) => el("tr", { dataset: { row: r.label } },
    el("th", { scope: "row" }, r.label),
    ...SETS.map((s) => figureCell(r[s.key], perDigit && s.key === "holdout", perDigit)));
  const counts = `${formatCount(all.holdout.count)} held-out corrections, ${formatCount(all.validation.count)} validation and ${formatCount(all.test.count)} test images`;
  return el("div", { className: "figures" },
    el("table", { className: "figures-table" }, el("caption", {}, `Before → after: ${counts}`), head(""), el("tbody", {}, row(all, false))),
    el("details", { open },
      el("summary", {}, "Per digit"),
      el("table", { className: "figures-table" }, head("Digit"), el("tbody", {}, ...digits.map((d) => row(d, true))))));
}

/**
 * before → after (the after coloured by the way it went), and under it the change in points, for the "all" row of
 * the sets the guard reads how many examples were gained and lost, and for a digit's holdout how many corrections of
 * that digit are held out.
 */
function figureCell(c, withCount, perDigit) {
  const notes = [c.change ? `${c.change}${perDigit ? "" : " pts"}` : "", changeText(c), withCount ? `${formatCount(c.count)} held out` : ""].filter(Boolean).join(", ");
  return el("td", {},
    el("span", { className: "before" }, c.before), " → ", el("span", { className: `after ${c.direction}` }, c.after),
    notes ? el("small", { className: "change" }, ` ${notes}`) : null);
}
