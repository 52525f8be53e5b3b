/**
 * Real handwriting that is not MNIST, in the page's form: the 899 UCI optical digits of
 * data/handwriting/optdigits-a.json (8 × 8, values 0..16; see data/handwriting/README.md) made into what the page
 * sends to POST /v1/predict for a drawing, and the helpers that score predictions of them per digit.
 *
 * How an 8 × 8 digit becomes a 784-float input, in three steps:
 *
 * 1. ink = value / 16 (each value counts the set pixels of a 4 × 4 block of the original 32 × 32 bitmap, so it is the
 *    block's coverage, in [0, 1]);
 * 2. upsampled to 32 × 32 bilinearly (public/js/handwriting.js upsampleBilinear), pixel centres aligned: output pixel index j (0..31) samples the
 *    source at u = (j + ½) / 4 − ½ in source pixel indices (index i is the centre of source pixel i), clamped to
 *    [0, 7] at the edges (the outer 2 output pixels of each side repeat the edge pixel's value), then interpolated
 *    between source pixels ⌊u⌋ and ⌊u⌋ + 1 with weights 1 − (u − ⌊u⌋) and u − ⌊u⌋; the same in x and y;
 * 3. the page's own preprocessing, public/js/preprocess.js `toMnist(ink, 32, 32)` (imported, not copied): the bounding
 *    box of the pixels with ink > 0 scaled into 20 × 20 keeping its aspect ratio, centred by centre of mass at pixel
 *    (14, 14) of 28 × 28.
 *
 * Steps 1–3 are the page's own code (public/js/handwriting.js, which the page runs on GET /v1/handwriting's digits);
 * this module reads the file (Node only) and scores predictions. The page's modules are plain JavaScript without
 * type declarations.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
// @ts-expect-error: public/js/ is the page's plain JavaScript, without type declarations; typed below.
import { toMnist as pageToMnist } from "../public/js/preprocess.js";
// @ts-expect-error: as above.
import { SOURCE_MAX as PAGE_SOURCE_MAX, toPageForm as pageToPageForm, upsampleBilinear as pageUpsample } from "../public/js/handwriting.js";

/** The page's preprocessing, typed: w × h ink in [0, 1] → 784 intensities in [0, 1] (28 × 28), or null when empty. */
export const toMnist: (ink: ArrayLike<number>, w: number, h: number) => Float32Array | null = pageToMnist;

/** The data file, relative to the project's root. */
export const HANDWRITING_FILE = "data/handwriting/optdigits-a.json";
const DEFAULT_PATH = fileURLToPath(new URL(`../${HANDWRITING_FILE}`, import.meta.url));

/** The page's own code that brings an 8 × 8 digit to its input form (public/js/handwriting.js), typed. */
export const toPageForm: (values: ArrayLike<number>) => Float32Array = pageToPageForm;
export const upsampleBilinear: (src: ArrayLike<number>, side: number, factor: number) => Float32Array = pageUpsample;
export const SOURCE_MAX: number = PAGE_SOURCE_MAX;

/** The digits in the page's form. */
export interface Handwriting {
  /** 784 floats in [0, 1] each (28 × 28, row-major): what the page sends for a drawing. */
  images: Float32Array[];
  /** The digit each one is, 0..9. */
  labels: number[];
  /** Each one's position in scikit-learn's load_digits order (the file holds the even ones). */
  indices: number[];
}

/** The file as it is stored. */
interface HandwritingFile {
  source: string;
  indices: number[];
  images: number[][];
  labels: number[];
}

/** The 899 digits of data/handwriting/optdigits-a.json (or `path`) in the page's form, with their labels and indices. */
export function loadHandwriting(path: string = DEFAULT_PATH): Handwriting {
  const file = JSON.parse(readFileSync(path, "utf8")) as HandwritingFile;
  const n = file.images.length;
  if (file.labels.length !== n || file.indices.length !== n) throw new Error(`${path}: ${n} images, ${file.labels.length} labels, ${file.indices.length} indices`);
  const images = file.images.map((values, i) => {
    if (!values.every((v) => Number.isInteger(v) && v >= 0 && v <= SOURCE_MAX)) throw new Error(`${path}: image ${i} has a value outside 0..${SOURCE_MAX}`);
    return toPageForm(values);
  });
  return { images, labels: file.labels.slice(), indices: file.indices.slice() };
}

/** How many of `count` were right. */
export interface Score {
  correct: number;
  count: number;
  /** correct / count, in [0, 1]; 0 when count is 0. */
  accuracy: number;
}

/** Overall and per-digit scores. */
export interface PerDigit {
  overall: Score;
  /** One per class 0..classes − 1, in order. */
  digits: (Score & { digit: number })[];
}

const score = (correct: number, count: number): Score => ({ correct, count, accuracy: count === 0 ? 0 : correct / count });

/** Scores `predicted` against `labels`, overall and per true digit (classes 0..classes − 1, default 10). */
export function perDigit(labels: readonly number[], predicted: readonly number[], classes = 10): PerDigit {
  if (labels.length !== predicted.length) throw new Error(`${labels.length} labels but ${predicted.length} predictions`);
  const count = new Array<number>(classes).fill(0);
  const correct = new Array<number>(classes).fill(0);
  labels.forEach((label, i) => {
    if (!Number.isInteger(label) || label < 0 || label >= classes) throw new Error(`label ${i} is ${label}, not a class 0..${classes - 1}`);
    count[label]++;
    if (predicted[i] === label) correct[label]++;
  });
  return {
    overall: score(correct.reduce((a, b) => a + b, 0), labels.length),
    digits: count.map((c, digit) => ({ digit, ...score(correct[digit], c) })),
  };
}

/** One kind of mistake: `count` digits `label` were predicted as `predicted`. */
export interface Confusion {
  label: number;
  predicted: number;
  count: number;
}

/** The `top` most common mistakes, most first (ties: by true digit, then by prediction). */
export function confusions(labels: readonly number[], predicted: readonly number[], top = 10): Confusion[] {
  const counts = new Map<string, Confusion>();
  labels.forEach((label, i) => {
    if (predicted[i] === label) return;
    const key = `${label} ${predicted[i]}`;
    const c = counts.get(key) ?? { label, predicted: predicted[i], count: 0 };
    c.count++;
    counts.set(key, c);
  });
  return [...counts.values()].sort((a, b) => b.count - a.count || a.label - b.label || a.predicted - b.predicted).slice(0, top);
}

/** A percentage with two decimals: 0.8053 → "80.53%". */
export const percent = (x: number): string => `${(100 * x).toFixed(2)}%`;

/** perDigit's scores as a text table: one row per digit (count, correct, accuracy), then the overall row. */
export function formatPerDigit(report: PerDigit): string {
  const rows = [["digit", "count", "correct", "accuracy"], ...report.digits.map((d) => [String(d.digit), String(d.count), String(d.correct), percent(d.accuracy)]),
    ["all", String(report.overall.count), String(report.overall.correct), percent(report.overall.accuracy)]];
  const widths = rows[0].map((_, j) => Math.max(...rows.map((r) => r[j].length)));
  return rows.map((r) => r.map((cell, j) => (j === 0 ? cell.padEnd(widths[j]) : cell.padStart(widths[j]))).join("  ")).join("\n");
}

/** The confusions as text lines: "1 → 7   31  (33.3% of the 1s)", the share taken from `report` when given. */
export function formatConfusions(list: readonly Confusion[], report?: PerDigit): string {
  if (list.length === 0) return "(no mistakes)";
  const width = Math.max(...list.map((c) => String(c.count).length));
  return list.map((c) => {
    const of = report?.digits[c.label]?.count;
    const share = of ? `  (${percent(c.count / of)} of the ${c.label}s)` : "";
    return `${c.label} → ${c.predicted}  ${String(c.count).padStart(width)}${share}`;
  }).join("\n");
}
