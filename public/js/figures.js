/**
 * A refresh's before → after figures as the page shows them: the rows of its table (all of each set, then each
 * digit), as text. Three sets: the held-out corrections and MNIST's validation split, which the guard reads, and
 * the test set, measured before and after but only reported. Pure: the browser test imports it to read the API's
 * figures the way the page writes them.
 *
 * A `Figures` (from the API) is `{ accuracy, correct, count, perDigit: [{ digit, correct, count }] }`, accuracy in
 * 0..1 or null when count is 0. A report's `changes` (`{ holdout, validation }: { gained, lost }`) counts the
 * examples the refreshed model gets right and its parent wrong (gained), and the other way round (lost).
 */

/** The sets of a refresh's figures, in the table's order, and what each is for. */
export const SETS = [
  { key: "holdout", title: "Holdout", note: "guard reads" },
  { key: "validation", title: "Validation", note: "guard reads" },
  { key: "test", title: "Test", note: "reported only" },
];

/** An accuracy in 0..1 as a percentage with `decimals` places, "–" for none. */
export const formatPercent = (a, decimals) => (typeof a === "number" && Number.isFinite(a) ? `${(100 * a).toFixed(decimals)}%` : "–");

/** The change from `before` to `after` in percentage points, signed ("+25.00", "−0.05", "±0.00"); "" if either is missing. */
export function formatPoints(before, after) {
  if (typeof before !== "number" || typeof after !== "number") return "";
  const d = 100 * (after - before);
  const text = Math.abs(d).toFixed(2);
  if (Number(text) === 0) return "±0.00";
  return `${d > 0 ? "+" : "−"}${text}`;
}

/** "up", "down" or "same": which way the accuracy went (the class of the after figure). */
export function direction(before, after) {
  if (typeof before !== "number" || typeof after !== "number" || before === after) return "same";
  return after > before ? "up" : "down";
}

/** Digit `d`'s accuracy in `figures` (null without examples of it). */
export function digitAccuracy(figures, d) {
  const row = figures?.perDigit?.find((r) => r.digit === d);
  return row && row.count > 0 ? row.correct / row.count : null;
}

/** How many examples of digit `d` `figures` counted. */
export const digitCount = (figures, d) => figures?.perDigit?.find((r) => r.digit === d)?.count ?? 0;

/**
 * One cell: before → after, the way the accuracy went, how many examples it counts, and (the "all" row of the sets
 * the guard reads) how many examples the refresh gained and lost, else null.
 * @returns {{ before: string, after: string, change: string, direction: string, count: number, gained: number | null, lost: number | null }}
 */
function cell(before, after, count, decimals, change = null) {
  return {
    before: formatPercent(before, decimals), after: formatPercent(after, decimals), change: formatPoints(before, after), direction: direction(before, after), count,
    gained: change?.gained ?? null, lost: change?.lost ?? null,
  };
}

/**
 * The rows of a refresh's table, or null until it has both its before and after figures: first "all" (two
 * decimals, as the guard compares them), then digits 0 to 9 (one decimal). A set a report lacks (records older
 * than the validation split have no validation figures) shows "–".
 * @param {{ before: object | null, after: object | null, changes?: object | null } | null} report
 * @returns {{ label: string, holdout: ReturnType<typeof cell>, validation: ReturnType<typeof cell>, test: ReturnType<typeof cell> }[] | null}
 */
export function figureRows(report) {
  const { before, after, changes } = report ?? {};
  if (!before || !after) return null;
  const all = { label: "all" };
  for (const { key } of SETS) all[key] = cell(before[key]?.accuracy, after[key]?.accuracy, after[key]?.count ?? 0, 2, changes?.[key] ?? null);
  const rows = [all];
  for (let d = 0; d <= 9; d++) {
    const row = { label: String(d) };
    for (const { key } of SETS) row[key] = cell(digitAccuracy(before[key], d), digitAccuracy(after[key], d), digitCount(after[key], d), 1);
    rows.push(row);
  }
  return rows;
}

/** A cell as one line of text, as the table shows it: "62.50% → 87.50%". */
export const cellText = (c) => `${c.before} → ${c.after}`;

/** "6 gained, 1 lost" for a cell that counts them, else "". */
export const changeText = (c) => (c.gained === null || c.lost === null ? "" : `${c.gained} gained, ${c.lost} lost`);
