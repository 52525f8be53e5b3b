/**
 * A training checkpoint: everything a step needs to continue a run exactly (weights, optimizer state, PRNG state,
 * position in the data, metrics so far), as one immutable R2 object per step.
 *
 * Layout, little-endian:
 *
 *   0        4   magic, ASCII "EPCK"
 *   4        4   uint32 format version (1)
 *   8        4   uint32 byte length H of the JSON header
 *   12       4   uint32 byte length S of the optimizer state
 *   16       H   UTF-8 JSON header (counters, PRNG state, metrics; all finite numbers, so JSON is exact)
 *   then     4P  float32 parameters (starting on a multiple of 4; P from the header)
 *   then     S   the optimizer state (state-codec.ts)
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
}

/** Thrown when bytes are not a checkpoint this codec can read. */
export class CheckpointFormatError extends Error {
  override name = "CheckpointFormatError";
}

const MAGIC = 0x4b435045; // "EPCK"
const VERSION = 1;
const FIXED = 16;

type Header = Omit<Checkpoint, "params" | "optimizer"> & { paramCount: number };

/** Encodes a checkpoint (see the layout above). */
export function encodeCheckpoint(ck: Checkpoint): Uint8Array {
  const { params, optimizer, ...rest } = ck;
  const header = new TextEncoder().encode(JSON.stringify({ ...rest, paramCount: params.length } satisfies Header));
  const opt = encodeOptimizerState(optimizer);
  const paramsAt = Math.ceil((FIXED + header.length) / 4) * 4;
  const optAt = paramsAt + 4 * params.length;
  const out = new Uint8Array(optAt + opt.length + 4);
  const view = new DataView(out.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, VERSION, true);
  view.setUint32(8, header.length, true);
  view.setUint32(12, opt.length, true);
  out.set(header, FIXED);
  for (let i = 0; i < params.length; i++) view.setFloat32(paramsAt + 4 * i, params[i], true);
  out.set(opt, optAt);
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
  if (view.getUint32(4, true) !== VERSION) fail(`unsupported version ${view.getUint32(4, true)}`);
  if (crc32(bytes.subarray(0, bytes.length - 4)) !== view.getUint32(bytes.length - 4, true)) fail("checksum mismatch");
  const headerBytes = view.getUint32(8, true);
  const optBytes = view.getUint32(12, true);
  let header: Header;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(FIXED, FIXED + headerBytes))) as Header;
  } catch {
    return fail("header is not valid JSON");
  }
  const { paramCount, ...rest } = header;
  const paramsAt = Math.ceil((FIXED + headerBytes) / 4) * 4;
  const optAt = paramsAt + 4 * paramCount;
  if (optAt + optBytes + 4 !== bytes.length) fail(`${bytes.length} bytes, expected ${optAt + optBytes + 4}`);
  const params = new Float32Array(paramCount);
  for (let i = 0; i < paramCount; i++) params[i] = view.getFloat32(paramsAt + 4 * i, true);
  const optimizer = decodeOptimizerState(bytes.slice(optAt, optAt + optBytes));
  return { ...rest, params, optimizer };
}
