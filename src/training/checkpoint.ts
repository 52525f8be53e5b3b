/**
 * A training checkpoint: everything a step needs to continue a run exactly (weights, optimizer state, PRNG state,
 * position in the data, metrics so far), as one immutable R2 object per step.
 *
 * Layout, little-endian:
 *
 *   0        4   magic, ASCII "EPCK"
 *   4        4   uint32 format version (2)
 *   8        4   uint32 byte length H of the JSON header
 *   12       4   uint32 byte length S of the optimizer state
 *   16       4   uint32 count G of float64 gradient sums of a cg evaluation under way (0 or P)
 *   20       H   UTF-8 JSON header (counters, PRNG state, metrics; all finite numbers, so JSON is exact)
 *   then     4P  float32 parameters (starting on a multiple of 4; P from the header)
 *   then     S   the optimizer state (state-codec.ts)
 *   then     8G  float64 gradient sums (little-endian)
 *   end − 4  4   uint32 CRC-32 of every byte before it
 */
import { crc32 } from "../nn/checksum";
import type { RngState } from "../nn/random";
import { decodeOptimizerState, encodeOptimizerState, type OptimizerState } from "../nn/state-codec";

/** Loss and accuracy accumulated over some examples. */
export interface Tally {
  seen: number;
  correct: number;
  lossSum: number;
}

/** One training step's figures: the mean loss and accuracy of its batches (cg: at the last accepted point). */
export interface StepEntry {
  step: number;
  epoch: number;
  examplesSeen: number;
  loss: number;
  trainAccuracy: number;
  /** cg only: line searches done. */
  iteration?: number;
}

/** A test-set evaluation, with the training figures of the same epoch (cg: of the last accepted point). */
export interface EvaluationEntry {
  step: number;
  epoch: number;
  iteration?: number;
  /** null when no training figures exist yet (cg before its first accepted point). */
  trainLoss: number | null;
  trainAccuracy: number | null;
  testLoss: number;
  testAccuracy: number;
}

export type Phase = "train" | "evaluate" | "done";

/**
 * A cg evaluation of the training set that spans steps: examples [0, cursor) summed so far (loss, correct rows, and
 * the unnormalized gradient), in chunks of CHUNK_ROWS from 0, the same order as an evaluation done in one step.
 */
export interface CgPartial {
  cursor: number;
  lossSum: number;
  correct: number;
  grad: Float64Array;
}

export interface Checkpoint {
  step: number;
  phase: Phase;
  /** First-order: the epoch under way (0-based). cg: line searches done when the phase began. */
  epoch: number;
  /** Position in the epoch's order (train) or in the test set (evaluate). */
  cursor: number;
  examplesSeen: number;
  /** Training figures of the epoch under way (first-order) or of the last accepted point (cg). */
  epochTally: Tally;
  /** Test figures of the evaluation under way. */
  evalTally: Tally;
  history: StepEntry[];
  evaluations: EvaluationEntry[];
  rng: RngState;
  /** Weights used for evaluation and the model (cg: the last accepted point, rounded to float32). */
  params: Float32Array;
  optimizer: OptimizerState;
  /** cg only: the evaluation under way when it spans steps, else null. */
  cgPartial: CgPartial | null;
}

/** Thrown when bytes are not a checkpoint this codec can read. */
export class CheckpointFormatError extends Error {
  override name = "CheckpointFormatError";
}

const MAGIC = 0x4b435045; // "EPCK"
const VERSION = 2;
const FIXED = 20;

type Header = Omit<Checkpoint, "params" | "optimizer" | "cgPartial"> & {
  paramCount: number;
  cgPartial: Omit<CgPartial, "grad"> | null;
};

/** Encodes a checkpoint (see the layout above). */
export function encodeCheckpoint(ck: Checkpoint): Uint8Array {
  const { params, optimizer, cgPartial, ...rest } = ck;
  const partial = cgPartial === null ? null : { cursor: cgPartial.cursor, lossSum: cgPartial.lossSum, correct: cgPartial.correct };
  const header = new TextEncoder().encode(JSON.stringify({ ...rest, paramCount: params.length, cgPartial: partial } satisfies Header));
  const opt = encodeOptimizerState(optimizer);
  const grad = cgPartial?.grad ?? new Float64Array(0);
  const paramsAt = Math.ceil((FIXED + header.length) / 4) * 4;
  const optAt = paramsAt + 4 * params.length;
  const gradAt = optAt + opt.length;
  const out = new Uint8Array(gradAt + 8 * grad.length + 4);
  const view = new DataView(out.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, VERSION, true);
  view.setUint32(8, header.length, true);
  view.setUint32(12, opt.length, true);
  view.setUint32(16, grad.length, true);
  out.set(header, FIXED);
  for (let i = 0; i < params.length; i++) view.setFloat32(paramsAt + 4 * i, params[i], true);
  out.set(opt, optAt);
  for (let i = 0; i < grad.length; i++) view.setFloat64(gradAt + 8 * i, grad[i], true);
  view.setUint32(out.length - 4, crc32(out.subarray(0, out.length - 4)), true);
  return out;
}

/** Decodes a checkpoint, checking magic, version, lengths and checksum. */
export function decodeCheckpoint(bytes: Uint8Array): Checkpoint {
  const fail = (why: string): never => {
    throw new CheckpointFormatError(`decodeCheckpoint: ${why}`);
  };
  if (bytes.length < FIXED + 4) fail(`${bytes.length} bytes are too short`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== MAGIC) fail("not a checkpoint (bad magic)");
  if (view.getUint32(4, true) !== VERSION) fail(`unsupported version ${view.getUint32(4, true)} (this code reads version ${VERSION})`);
  if (crc32(bytes.subarray(0, bytes.length - 4)) !== view.getUint32(bytes.length - 4, true)) fail("checksum mismatch");
  const headerBytes = view.getUint32(8, true);
  const optBytes = view.getUint32(12, true);
  const gradCount = view.getUint32(16, true);
  let header: Header;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(FIXED, FIXED + headerBytes))) as Header;
  } catch {
    return fail("header is not valid JSON");
  }
  const { paramCount, cgPartial, ...rest } = header;
  const paramsAt = Math.ceil((FIXED + headerBytes) / 4) * 4;
  const optAt = paramsAt + 4 * paramCount;
  const gradAt = optAt + optBytes;
  if (gradAt + 8 * gradCount + 4 !== bytes.length) fail(`${bytes.length} bytes, expected ${gradAt + 8 * gradCount + 4}`);
  if ((cgPartial === null) !== (gradCount === 0)) fail("a cg evaluation under way needs its gradient sums, and only then");
  const params = new Float32Array(paramCount);
  for (let i = 0; i < paramCount; i++) params[i] = view.getFloat32(paramsAt + 4 * i, true);
  const optimizer = decodeOptimizerState(bytes.slice(optAt, optAt + optBytes));
  const grad = new Float64Array(gradCount);
  for (let i = 0; i < gradCount; i++) grad[i] = view.getFloat64(gradAt + 8 * i, true);
  return { ...rest, params, optimizer, cgPartial: cgPartial === null ? null : { ...cgPartial, grad } };
}
