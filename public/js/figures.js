/**
 * A refresh's before → after figures as the page shows them: the rows of its table (all corrections of the holdout
 * and the whole test set, then each digit), as text. Pure: the browser test imports it to read the API's figures
 * the way the page writes them.
 *
 * A `Figures` (from the API) is `{ accuracy, correct, count, perDigit: [{ digit, correct, count }] }`, accuracy in
 * 0..1 or null when count is 0.
 */

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
 * One cell: before → after, the way the accuracy went, and how many examples it counts.
 * @returns {{ before: string, after: string, change: string, direction: string, count: number }}
 */
function cell(before, after, count, decimals) {
  return { before: formatPercent(before, decimals), after: formatPercent(after, decimals), change: formatPoints(before, after), direction: direction(before, after), count };
}

/**
 * The rows of a refresh's table, or null until it has both its before and after figures: first "all" (two
 * decimals, as the guard compares them), then digits 0 to 9 (one decimal).
 * @param {{ before: { holdout: object, test: object } | null, after: { holdout: object, test: object } | null } | null} report
 * @returns {{ label: string, holdout: ReturnType<typeof cell>, test: ReturnType<typeof cell> }[] | null}
 */
export function figureRows(report) {
  const { before, after } = report ?? {};
  if (!before || !after) return null;
  const rows = [{
    label: "all",
    holdout: cell(before.holdout.accuracy, after.holdout.accuracy, after.holdout.count, 2),
    test: cell(before.test.accuracy, after.test.accuracy, after.test.count, 2),
  }];
  for (let d = 0; d <= 9; d++) {
    rows.push({
      label: String(d),
      holdout: cell(digitAccuracy(before.holdout, d), digitAccuracy(after.holdout, d), digitCount(after.holdout, d), 1),
      test: cell(digitAccuracy(before.test, d), digitAccuracy(after.test, d), digitCount(after.test, d), 1),
    });
  }
  return rows;
}

/** A cell as one line of text, as the table shows it: "62.50% → 87.50%". */
export const cellText = (c) => `${c.before} → ${c.after}`;
