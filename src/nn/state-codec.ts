/**
 * The binary form of optimizer states, read back exactly as written (bit for bit: −0, ±Infinity, subnormals), so
 * that a run resumed from a checkpoint takes the very steps of a run that never stopped.
 *
 * A state is a record of named float64 scalars and named float vectors (encodeState / decodeState); each optimizer
 * maps its state onto one (encodeOptimizerState / decodeOptimizerState): a first-order one by the scalars and vectors
 * its entry in FIRST_ORDER (optimizers.ts) lists, cg by CG_NUMBERS and CG_VECTORS below. Every field is little-endian:
 *
 *   offset   size   field
 *   0        4      magic, ASCII "EPOS"
 *   4        4      uint32 format version (1)
 *   8        4      uint32 byte length H of the header
 *   12       H      UTF-8 JSON header {"kind", "scalars": [name, …], "vectors": [{"name", "dtype", "length"}, …]}
 *   then, each part starting on a multiple of 8 and zero-padded to one:
 *            8·S    the scalars as float64, in the header's order (JSON has no −0, NaN or Infinity)
 *            …      each vector, dtype "f32" (4 bytes an entry) or "f64" (8 bytes), in the header's order
 *   end − 4  4      uint32 CRC-32 of every byte before it
 *
 * The magic, version and CRC are the frame of framing.ts.
 */
import type { Floats } from "./layout";
import { checkCrc, checkLength, copyLittleEndian, newFrame, openFrame, sealFrame, type FrameFormat } from "./framing";
import { FIRST_ORDER_NAMES, firstOrder, isFirstOrder, type FirstOrderState } from "./optimizers";
import { CG_PHASES, CG_STOPS, type CgState } from "./cg";

/** Thrown when bytes are not a state this codec can read; the message says what was expected and found. */
export class StateFormatError extends Error {
  override name = "StateFormatError";
}

/** A state as stored: its kind, named scalars and named vectors. */
export interface StateRecord {
  kind: string;
  scalars: Record<string, number>;
  vectors: Record<string, Floats>;
}

export const STATE_FORMAT_VERSION = 1;
const FIXED_BYTES = 12;

const STATE_FORMAT: FrameFormat = {
  name: "optimizer state", magic: "EPOS", version: STATE_FORMAT_VERSION, headerBytes: FIXED_BYTES, error: StateFormatError,
  wording: { short: (length, need) => `truncated at byte ${length}: a state starts with ${need} fixed bytes` },
};

type Dtype = "f32" | "f64";
interface Header {
  kind: string;
  scalars: string[];
  vectors: { name: string; dtype: Dtype; length: number }[];
}

const align8 = (n: number): number => Math.ceil(n / 8) * 8;
const width = (dtype: Dtype): number => (dtype === "f32" ? 4 : 8);

/** Where the scalars, each vector and the checksum start, for a header of `headerBytes` bytes. */
function positions(headerBytes: number, h: Header): { scalarsAt: number; vectorsAt: number[]; crcAt: number } {
  const scalarsAt = align8(FIXED_BYTES + headerBytes);
  let at = scalarsAt + 8 * h.scalars.length;
  const vectorsAt = h.vectors.map((v) => {
    const start = at;
    at = align8(at + width(v.dtype) * v.length);
    return start;
  });
  return { scalarsAt, vectorsAt, crcAt: at };
}

/** Encodes a state record; throws a TypeError when a scalar is not a number or a vector not a float array. */
export function encodeState(rec: StateRecord): Uint8Array {
  const fn = "encodeState";
  if (typeof rec.kind !== "string" || rec.kind === "") throw new TypeError(`${fn}: kind must be a non-empty string`);
  for (const [name, x] of Object.entries(rec.scalars)) {
    if (typeof x !== "number") throw new TypeError(`${fn}: scalar "${name}" must be a number, got ${typeof x}`);
  }
  const header: Header = {
    kind: rec.kind,
    scalars: Object.keys(rec.scalars),
    vectors: Object.entries(rec.vectors).map(([name, v]) => {
      if (!(v instanceof Float32Array || v instanceof Float64Array)) {
        throw new TypeError(`${fn}: vector "${name}" must be a Float32Array or a Float64Array`);
      }
      return { name, dtype: v instanceof Float32Array ? "f32" : "f64", length: v.length };
    }),
  };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const pos = positions(json.length, header);
  const { bytes: out, view } = newFrame(STATE_FORMAT, pos.crcAt + 4);
  view.setUint32(8, json.length, true);
  out.set(json, FIXED_BYTES);
  header.scalars.forEach((name, j) => view.setFloat64(pos.scalarsAt + 8 * j, rec.scalars[name], true));
  header.vectors.forEach(({ name }, j) => {
    const v = rec.vectors[name];
    copyLittleEndian(out.subarray(pos.vectorsAt[j]), new Uint8Array(v.buffer, v.byteOffset, v.byteLength), v.BYTES_PER_ELEMENT);
  });
  return sealFrame(out);
}

/** Parses and checks the JSON header; throws a StateFormatError naming the first thing wrong. */
function parseHeader(fn: string, bytes: Uint8Array): Header {
  let h: unknown;
  try {
    h = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes));
  } catch {
    throw new StateFormatError(`${fn}: the ${bytes.length}-byte header is not UTF-8 JSON (corrupted)`);
  }
  const bad = (what: string): never => {
    throw new StateFormatError(`${fn}: invalid header: ${what}`);
  };
  if (typeof h !== "object" || h === null) return bad("not an object");
  const { kind, scalars, vectors } = h as Record<string, unknown>;
  if (typeof kind !== "string" || kind === "") bad("kind must be a non-empty string");
  if (!Array.isArray(scalars) || !scalars.every((s) => typeof s === "string")) bad("scalars must be an array of names");
  if (!Array.isArray(vectors)) return bad("vectors must be an array");
  for (const v of vectors as unknown[]) {
    const { name, dtype, length } = (typeof v === "object" && v !== null ? v : {}) as Record<string, unknown>;
    if (typeof name !== "string" || (dtype !== "f32" && dtype !== "f64") || !Number.isSafeInteger(length) || (length as number) < 0) {
      bad(`vector entry ${JSON.stringify(v)} needs a name, dtype "f32" or "f64" and a length ≥ 0`);
    }
  }
  const header = h as Header;
  for (const names of [header.scalars, header.vectors.map((v) => v.name)]) {
    const dup = names.find((name, j) => names.indexOf(name) !== j);
    if (dup !== undefined) bad(`"${dup}" appears twice`);
  }
  return header;
}

/**
 * Decodes a state written by encodeState: checks the magic, version, header, exact length and checksum, and
 * throws a StateFormatError saying what is wrong. The vectors returned share no memory with `bytes`.
 */
export function decodeState(bytes: Uint8Array): StateRecord {
  const fn = "decodeState";
  const view = openFrame(STATE_FORMAT, bytes, fn);
  const H = view.getUint32(8, true);
  if (FIXED_BYTES + H > bytes.length) {
    throw new StateFormatError(`${fn}: truncated at byte ${bytes.length}: the header runs to byte ${FIXED_BYTES + H}`);
  }
  const header = parseHeader(fn, bytes.subarray(FIXED_BYTES, FIXED_BYTES + H));
  const pos = positions(H, header);
  checkLength(STATE_FORMAT, bytes, fn, pos.crcAt + 4, "the header's scalars and vectors");
  checkCrc(STATE_FORMAT, bytes, fn);
  const scalars: Record<string, number> = {};
  header.scalars.forEach((name, j) => (scalars[name] = view.getFloat64(pos.scalarsAt + 8 * j, true)));
  const vectors: Record<string, Floats> = {};
  header.vectors.forEach(({ name, dtype, length }, j) => {
    const v = dtype === "f32" ? new Float32Array(length) : new Float64Array(length);
    copyLittleEndian(new Uint8Array(v.buffer), bytes.subarray(pos.vectorsAt[j], pos.vectorsAt[j] + v.byteLength), v.BYTES_PER_ELEMENT);
    vectors[name] = v;
  });
  return { kind: header.kind, scalars, vectors };
}

/** Any optimizer's state: one of the first-order ones, or conjugate gradient. */
export type OptimizerState = FirstOrderState | CgState;
export type OptimizerKind = OptimizerState["kind"];

/** CgState's number fields, stored as they are; phase, stop and lsFailed are stored as codes. */
const CG_NUMBERS = [
  "length", "red", "i", "evaluations", "M", "limit", "f0", "f1", "f2", "f3", "d1", "d2", "d3", "z1", "z2", "z3",
] as const satisfies readonly (keyof CgState)[];
const CG_VECTORS = ["x", "x0", "df0", "df1", "df2", "s"] as const satisfies readonly (keyof CgState)[];

function toRecord(st: OptimizerState): StateRecord {
  const { kind } = st;
  if (kind !== "cg") {
    const { scalars, vectors } = firstOrder(kind);
    const fields = st as unknown as Readonly<Record<string, number | Floats>>;
    return {
      kind,
      scalars: Object.fromEntries(scalars.map((name) => [name, fields[name] as number])),
      vectors: Object.fromEntries(vectors.map((name) => [name, fields[name] as Floats])),
    };
  }
  const scalars: Record<string, number> = {
    phase: CG_PHASES.indexOf(st.phase), stop: st.stop === null ? -1 : CG_STOPS.indexOf(st.stop), lsFailed: st.lsFailed ? 1 : 0,
  };
  for (const k of CG_NUMBERS) scalars[k] = st[k];
  const vectors: Record<string, Floats> = { costs: Float64Array.from(st.costs) };
  for (const k of CG_VECTORS) vectors[k] = st[k];
  return { kind, scalars, vectors };
}

/** Encodes any optimizer's state (see the format above). */
export function encodeOptimizerState(st: OptimizerState): Uint8Array {
  return encodeState(toRecord(st));
}

/** Checks that a record has exactly the named scalars and vectors; the vectors' lengths are checked by the caller. */
function expectNames(fn: string, rec: StateRecord, scalars: readonly string[], vectors: readonly string[]): void {
  const what = `a "${rec.kind}" state`;
  for (const [kind, want, have] of [["scalar", scalars, rec.scalars], ["vector", vectors, rec.vectors]] as const) {
    const missing = want.filter((name) => !(name in have));
    const extra = Object.keys(have).filter((name) => !want.includes(name));
    if (missing.length > 0) throw new StateFormatError(`${fn}: ${what} is missing ${kind}s ${missing.join(", ")}`);
    if (extra.length > 0) throw new StateFormatError(`${fn}: ${what} has unknown ${kind}s ${extra.join(", ")}`);
  }
}

/** Vectors of one float type (or f64 when `f64Only`) and one length, returned in the order asked. */
function sameShape(fn: string, rec: StateRecord, names: readonly string[], f64Only: boolean): Floats[] {
  const vs = names.map((name) => rec.vectors[name]);
  const ok = vs.every((v) => v.length === vs[0].length && v.constructor === (f64Only ? Float64Array : vs[0].constructor));
  if (!ok) throw new StateFormatError(`${fn}: vectors ${names.join(", ")} must share one length and ${f64Only ? "dtype f64" : "one dtype"}`);
  return vs;
}

function cgFromRecord(fn: string, rec: StateRecord): CgState {
  expectNames(fn, rec, [...CG_NUMBERS, "phase", "stop", "lsFailed"], [...CG_VECTORS, "costs"]);
  const { phase, stop, lsFailed, length } = rec.scalars;
  const [x, x0, df0, df1, df2, s] = sameShape(fn, rec, CG_VECTORS, true) as Float64Array[];
  const costs = sameShape(fn, rec, ["costs"], true)[0];
  if (CG_PHASES[phase] === undefined || (stop !== -1 && CG_STOPS[stop] === undefined) || (lsFailed !== 0 && lsFailed !== 1)) {
    throw new StateFormatError(`${fn}: invalid cg codes phase ${phase}, stop ${stop}, lsFailed ${lsFailed}`);
  }
  if (!Number.isSafeInteger(length)) throw new StateFormatError(`${fn}: cg length must be an integer, got ${length}`);
  const numbers = {} as { -readonly [K in (typeof CG_NUMBERS)[number]]: number };
  for (const k of CG_NUMBERS) numbers[k] = rec.scalars[k];
  return {
    kind: "cg", ...numbers, phase: CG_PHASES[phase], stop: stop === -1 ? null : CG_STOPS[stop], lsFailed: lsFailed === 1,
    x, x0, df0, df1, df2, s, costs: Array.from(costs),
  };
}

function fromRecord(fn: string, rec: StateRecord): OptimizerState {
  const { kind } = rec;
  if (kind === "cg") return cgFromRecord(fn, rec);
  if (!isFirstOrder(kind)) {
    throw new StateFormatError(`${fn}: unknown optimizer kind "${kind}", expected ${FIRST_ORDER_NAMES.join(", ")} or cg`);
  }
  const { scalars, vectors } = firstOrder(kind);
  expectNames(fn, rec, scalars, vectors);
  const vs = vectors.length === 0 ? [] : sameShape(fn, rec, vectors, false);
  return {
    kind,
    ...Object.fromEntries(scalars.map((name) => [name, rec.scalars[name]])),
    ...Object.fromEntries(vectors.map((name, j) => [name, vs[j]])),
  } as FirstOrderState;
}

/**
 * Decodes a state written by encodeOptimizerState; throws a StateFormatError when the bytes are not one, or,
 * when `kind` is given, not one of that kind.
 */
export function decodeOptimizerState(bytes: Uint8Array): OptimizerState;
export function decodeOptimizerState<K extends OptimizerKind>(bytes: Uint8Array, kind: K): Extract<OptimizerState, { kind: K }>;
export function decodeOptimizerState(bytes: Uint8Array, kind?: OptimizerKind): OptimizerState {
  const fn = "decodeOptimizerState";
  const st = fromRecord(fn, decodeState(bytes));
  if (kind !== undefined && st.kind !== kind) throw new StateFormatError(`${fn}: expected a "${kind}" state, found "${st.kind}"`);
  return st;
}
