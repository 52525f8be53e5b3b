/**
 * A training checkpoint: everything a step needs to continue a run exactly (weights, optimizer state, PRNG state,
 * position in the data, metrics so far), as one immutable R2 object per step.
 *
 * Layout, little-endian:
 *
 *   0        4   magic, ASCII "EPCK"
 *   4        4   uint32 format version (3)
 *   8        4   uint32 byte length H of the JSON header
 *   12       4   uint32 byte length S of the optimizer state
 *   16       4   uint32 count G of float64 gradient sums of a cg evaluation under way (0 or P)
 *   20       H   UTF-8 JSON header (counters, PRNG state, metrics; all finite numbers, so JSON is exact)
 *   then     4P  float32 parameters (starting on a multiple of 4; P from the header)
 *   then     S   the optimizer state (state-codec.ts)
 *   then     8G  float64 gradient sums (little-endian)
 *   end − 4  4   uint32 CRC-32 of every byte before it
 *
 * The magic, version and CRC are the frame of src/nn/framing.ts. The CRC is checked before the header is parsed, and
 * the parsed header is checked field by field (CHECKPOINT_HEADER) before anything in it is trusted.
 */
import { z } from "zod";
import { checkCrc, checkLength, copyLittleEndian, newFrame, openFrame, sealFrame, type FrameFormat } from "../nn/framing";
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

/** A validation-set evaluation, with the training figures of the same epoch (cg: of the last accepted point). */
export interface EvaluationEntry {
  step: number;
  epoch: number;
  iteration?: number;
  /** null when no training figures exist yet (cg before its first accepted point). */
  trainLoss: number | null;
  trainAccuracy: number | null;
  validationLoss: number;
  validationAccuracy: number;
}

/** The test set's figures of the final weights: measured once, when training is over, and never used to choose. */
export interface TestFigures {
  loss: number;
  accuracy: number;
  count: number;
}

/**
 * train, then evaluate (the validation set) on the evalEvery cadence and after the last epoch, then test (the test
 * set, once), then done.
 */
const PHASES = ["train", "evaluate", "test", "done"] as const;
export type Phase = (typeof PHASES)[number];

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
  /** Position in the epoch's order (train), in the validation set (evaluate) or in the test set (test). */
  cursor: number;
  examplesSeen: number;
  /** Training figures of the epoch under way (first-order) or of the last accepted point (cg). */
  epochTally: Tally;
  /** Figures of the validation or test pass under way. */
  evalTally: Tally;
  history: StepEntry[];
  evaluations: EvaluationEntry[];
  /** The final weights' test figures, once the test phase is over; null before. */
  test: TestFigures | null;
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

const FIXED = 20;

const CHECKPOINT_FORMAT: FrameFormat = { name: "checkpoint", magic: "EPCK", version: 3, headerBytes: FIXED, error: CheckpointFormatError };

const count = z.number().int().min(0);
const finite = z.number();
const fraction = z.number().min(0).max(1);
const uint32 = z.number().int().min(0).max(0xffffffff);

const TallySchema = z.strictObject({ seen: count, correct: count, lossSum: finite })
  .refine((t) => t.correct <= t.seen, { message: "correct must be ≤ seen", path: ["correct"] });

/** The JSON header: every field of a Checkpoint but its vectors, plus the parameter count; unknown keys refused. */
const CHECKPOINT_HEADER = z.strictObject({
  step: count,
  phase: z.enum(PHASES),
  epoch: count,
  cursor: count,
  examplesSeen: count,
  epochTally: TallySchema,
  evalTally: TallySchema,
  history: z.array(z.strictObject({
    step: count, epoch: count, iteration: count.optional(), examplesSeen: count, loss: finite, trainAccuracy: fraction,
  })),
  evaluations: z.array(z.strictObject({
    step: count, epoch: count, iteration: count.optional(),
    trainLoss: finite.nullable(), trainAccuracy: fraction.nullable(), validationLoss: finite, validationAccuracy: fraction,
  })),
  test: z.strictObject({ loss: finite, accuracy: fraction, count }).nullable(),
  rng: z.tuple([uint32, uint32, uint32, uint32]).refine((s) => s.some((w) => w !== 0), { message: "must not be all zero" }),
  paramCount: z.number().int().min(1),
  cgPartial: z.strictObject({ cursor: count, lossSum: finite, correct: count }).nullable(),
});

type Header = z.infer<typeof CHECKPOINT_HEADER>;

/** A zod issue path as a field name: `history[3].loss`. */
function fieldName(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : `${i === 0 ? "" : "."}${String(p)}`)).join("");
}

/** Parses and checks the JSON header; throws a CheckpointFormatError naming the first field that is wrong. */
function parseHeader(fn: string, bytes: Uint8Array): Header {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes));
  } catch {
    throw new CheckpointFormatError(`${fn}: header is not valid JSON`);
  }
  const result = CHECKPOINT_HEADER.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    const field = issue.path.length === 0 ? "header" : `header field ${fieldName(issue.path)}`;
    throw new CheckpointFormatError(`${fn}: ${field}: ${issue.message}`);
  }
  return result.data;
}

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
  const { bytes: out, view } = newFrame(CHECKPOINT_FORMAT, gradAt + 8 * grad.length + 4);
  view.setUint32(8, header.length, true);
  view.setUint32(12, opt.length, true);
  view.setUint32(16, grad.length, true);
  out.set(header, FIXED);
  copyLittleEndian(out.subarray(paramsAt, optAt), new Uint8Array(params.buffer, params.byteOffset, params.byteLength), 4);
  out.set(opt, optAt);
  copyLittleEndian(out.subarray(gradAt, gradAt + 8 * grad.length), new Uint8Array(grad.buffer, grad.byteOffset, grad.byteLength), 8);
  return sealFrame(out);
}

/** Decodes a checkpoint, checking magic, version, checksum, the header's fields and the lengths they imply. */
export function decodeCheckpoint(bytes: Uint8Array): Checkpoint {
  const fn = "decodeCheckpoint";
  const fail = (why: string): never => {
    throw new CheckpointFormatError(`${fn}: ${why}`);
  };
  const view = openFrame(CHECKPOINT_FORMAT, bytes, fn);
  checkCrc(CHECKPOINT_FORMAT, bytes, fn);
  const headerBytes = view.getUint32(8, true);
  const optBytes = view.getUint32(12, true);
  const gradCount = view.getUint32(16, true);
  if (FIXED + headerBytes > bytes.length - 4) fail(`the header runs to byte ${FIXED + headerBytes}, past the ${bytes.length} bytes`);
  const { paramCount, cgPartial, ...rest } = parseHeader(fn, bytes.subarray(FIXED, FIXED + headerBytes));
  const paramsAt = Math.ceil((FIXED + headerBytes) / 4) * 4;
  const optAt = paramsAt + 4 * paramCount;
  const gradAt = optAt + optBytes;
  checkLength(CHECKPOINT_FORMAT, bytes, fn, gradAt + 8 * gradCount + 4, `${paramCount} parameters`);
  if (gradCount !== (cgPartial === null ? 0 : paramCount)) {
    fail(`${gradCount} gradient sums: a cg evaluation under way needs one per parameter (${paramCount}), and only then`);
  }
  const params = new Float32Array(paramCount);
  copyLittleEndian(new Uint8Array(params.buffer), bytes.subarray(paramsAt, optAt), 4);
  const optimizer = decodeOptimizerState(bytes.slice(optAt, optAt + optBytes));
  for (const [name, v] of Object.entries(optimizer)) {
    if ((v instanceof Float32Array || v instanceof Float64Array) && v.length !== paramCount) {
      fail(`the ${optimizer.kind} state's vector ${name} has ${v.length} entries, the header says ${paramCount} parameters`);
    }
  }
  const grad = new Float64Array(gradCount);
  copyLittleEndian(new Uint8Array(grad.buffer), bytes.subarray(gradAt, gradAt + 8 * gradCount), 8);
  return { ...rest, params, optimizer, cgPartial: cgPartial === null ? null : { ...cgPartial, grad } };
}
