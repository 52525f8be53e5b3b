/** Small helpers shared by the panels: DOM building and number formats. */

/**
 * Creates an element. `props`: properties (className, type, onclick…), `dataset` entries, and attributes for keys
 * containing a dash (aria-*, data-*). Children: nodes or strings (as text, never HTML).
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.includes("-")) node.setAttribute(key, value);
    else node[key] = value;
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

export const formatLayers = (layers) => (Array.isArray(layers) ? layers.join("-") : "?");

/**
 * A probability as the page shows it, the one rounding used wherever a probability appears (the confidence, the
 * bars' labels, their ARIA values, the top three): the nearest whole percent, except that a probability strictly
 * between 0 and 1 never reads as 0% or 100%: under 0.5% it is "<1%", from 99.5% on ">99%". `value` is the number
 * the text shows (1 for "<1%", 99 for ">99%"), for aria-valuenow.
 * @param {number} p in [0, 1]
 * @returns {{ value: number, text: string }}
 */
export function formatProbability(p) {
  const n = Math.round(100 * p);
  if (p > 0 && n < 1) return { value: 1, text: "<1%" };
  if (p < 1 && n > 99) return { value: 99, text: ">99%" };
  return { value: n, text: `${n}%` };
}

export const formatAccuracy = (a) => (typeof a === "number" ? `${(100 * a).toFixed(2)}%` : "–");

/** "12 s", "3 min 05 s", "1 h 02 min". */
export function formatDuration(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return "–";
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")} min`;
}

/** A date as "just now", "5 min ago", or the local date and time. */
export function formatWhen(iso) {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return "–";
  const ago = (Date.now() - t) / 1000;
  if (ago < 45) return "just now";
  if (ago < 3600) return `${Math.round(ago / 60)} min ago`;
  return new Date(t).toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
}

/** 12345.6 → "12 346". */
export const formatCount = (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US").replace(/,/g, " ") : "–");
