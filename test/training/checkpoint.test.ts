/**
 * The checkpoint codec: exact round trips (first-order and cg, with an evaluation under way), corruption refused, and
 * a header that does not hold a checkpoint refused naming the field.
 */
import { describe, expect, test } from "vitest";
import { cgCreate } from "../../src/nn/cg";
import { sealFrame } from "../../src/nn/framing";
import { CheckpointFormatError, decodeCheckpoint, encodeCheckpoint, type Checkpoint } from "../../src/training/checkpoint";
import { initialCheckpoint } from "../../src/training/plan";
import { RunSpecSchema } from "../../src/training/spec";

const bytesOf = (a: Float32Array | Float64Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

function adamCheckpoint(): Checkpoint {
  const ck = initialCheckpoint(RunSpecSchema.parse({ layers: [20, 7, 4], optimizer: { name: "adam" }, seed: 9 }));
  return {
    ...ck, step: 12, epoch: 2, cursor: 300, examplesSeen: 1300,
    epochTally: { seen: 300, correct: 271, lossSum: 41.25 },
    history: [{ step: 12, epoch: 3, examplesSeen: 1300, loss: 0.1375, trainAccuracy: 0.9 }],
    evaluations: [{ step: 9, epoch: 2, trainLoss: 0.2, trainAccuracy: 0.88, validationLoss: 0.25, validationAccuracy: 0.87 }],
  };
}

describe("checkpoint codec", () => {
  test("a first-order checkpoint round-trips exactly", () => {
    const ck = adamCheckpoint();
    ck.params[3] = -0;
    const back = decodeCheckpoint(encodeCheckpoint(ck));
    expect(bytesOf(back.params)).toEqual(bytesOf(ck.params));
    expect(Object.is(back.params[3], -0)).toBe(true);
    const { params: _a, optimizer: _b, ...rest } = back;
    const { params: _c, optimizer: _d, ...want } = ck;
    expect(rest).toEqual(want);
    expect(back.optimizer).toMatchObject({ kind: "adam", t: 0 });
  });

  test("a cg checkpoint with an evaluation under way keeps its gradient sums bit for bit", () => {
    const ck = initialCheckpoint(RunSpecSchema.parse({ layers: [20, 7, 4], loss: "sigmoid", optimizer: { name: "cg", iterations: 5 } }));
    const grad = Float64Array.from({ length: ck.params.length }, (_, i) => Math.sin(i) * 1e-3);
    const withPartial: Checkpoint = { ...ck, optimizer: cgCreate(Float64Array.from(ck.params), { length: 5 }), cgPartial: { cursor: 2000, lossSum: 1234.5678, correct: 1777, grad } };
    const back = decodeCheckpoint(encodeCheckpoint(withPartial));
    expect(back.cgPartial).toMatchObject({ cursor: 2000, lossSum: 1234.5678, correct: 1777 });
    expect(bytesOf(back.cgPartial!.grad)).toEqual(bytesOf(grad));
    expect(decodeCheckpoint(encodeCheckpoint(ck)).cgPartial).toBeNull();
  });

  test("corrupted, truncated and foreign bytes are refused with a reason", () => {
    const bytes = encodeCheckpoint(adamCheckpoint());
    const flipped = bytes.slice();
    flipped[100] ^= 0xff;
    expect(() => decodeCheckpoint(flipped)).toThrow(/checksum mismatch/);
    expect(() => decodeCheckpoint(bytes.subarray(0, bytes.length - 9))).toThrow(CheckpointFormatError);
    expect(() => decodeCheckpoint(new Uint8Array(10))).toThrow(/too short/);
    const foreign = bytes.slice();
    foreign[0] = 0x41;
    expect(() => decodeCheckpoint(foreign)).toThrow(/bad magic/);
    const old = bytes.slice();
    new DataView(old.buffer).setUint32(4, 1, true);
    expect(() => decodeCheckpoint(old)).toThrow(/unsupported version 1/);
  });
});

/** `bytes` with its JSON header replaced by `edit` of it, laid out and sealed as encodeCheckpoint would. */
function withHeader(bytes: Uint8Array, edit: (header: Record<string, any>) => void): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const H = view.getUint32(8, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(20, 20 + H)));
  edit(header);
  const json = new TextEncoder().encode(JSON.stringify(header));
  const oldAt = Math.ceil((20 + H) / 4) * 4;
  const newAt = Math.ceil((20 + json.length) / 4) * 4;
  const body = bytes.subarray(oldAt, bytes.length - 4);
  const out = new Uint8Array(newAt + body.length + 4);
  out.set(bytes.subarray(0, 20));
  new DataView(out.buffer).setUint32(8, json.length, true);
  out.set(json, 20);
  out.set(body, newAt);
  return sealFrame(out);
}

describe("the checkpoint header, checked field by field", () => {
  const good = encodeCheckpoint(adamCheckpoint());

  test("an unedited header decodes", () => {
    expect(decodeCheckpoint(withHeader(good, () => {})).step).toBe(12);
  });

  test.each<[string, (h: Record<string, any>) => void, RegExp]>([
    ["a negative step", (h) => (h.step = -1), /header field step: Too small/],
    ["a fractional cursor", (h) => (h.cursor = 2.5), /header field cursor: .*int/],
    ["an unknown phase", (h) => (h.phase = "paused"), /header field phase: /],
    ["a missing field", (h) => delete h.examplesSeen, /header field examplesSeen: /],
    ["an unknown field", (h) => (h.learningRate = 0.1), /header: Unrecognized key: "learningRate"/],
    ["more correct than seen", (h) => (h.epochTally.correct = 301), /header field epochTally\.correct: correct must be ≤ seen/],
    ["a history loss that is not a number", (h) => (h.history[0].loss = "low"), /header field history\[0\]\.loss: /],
    ["an accuracy above 1", (h) => (h.evaluations[0].validationAccuracy = 1.5), /header field evaluations\[0\]\.validationAccuracy: Too big/],
    ["an rng state of three words", (h) => (h.rng = h.rng.slice(0, 3)), /header field rng: /],
    ["an rng word that is not a uint32", (h) => (h.rng[2] = 2 ** 32), /header field rng\[2\]: Too big/],
    ["an all-zero rng state", (h) => (h.rng = [0, 0, 0, 0]), /header field rng: must not be all zero/],
    ["a cg evaluation that is not one", (h) => (h.cgPartial = { cursor: 0 }), /header field cgPartial\.lossSum: /],
  ])("refuses %s, naming the field", (_what, edit, message) => {
    const bad = withHeader(good, edit);
    expect(() => decodeCheckpoint(bad)).toThrow(CheckpointFormatError);
    expect(() => decodeCheckpoint(bad)).toThrow(message);
  });

  test("refuses a header that is not JSON, and one whose counts do not match the bytes", () => {
    const garbled = good.slice();
    garbled[20] = 0xff;
    expect(() => decodeCheckpoint(sealFrame(garbled))).toThrow(/header is not valid JSON/);
    expect(() => decodeCheckpoint(withHeader(good, (h) => (h.paramCount += 1)))).toThrow(/decodeCheckpoint: \d+ parameters: \d+ bytes, expected \d+ \(truncated/);
    expect(() => decodeCheckpoint(withHeader(good, (h) => (h.cgPartial = { cursor: 0, lossSum: 0, correct: 0 })))).toThrow(/0 gradient sums: a cg evaluation under way needs one per parameter/);
  });

  test("refuses an optimizer state for another number of parameters", () => {
    const ck = adamCheckpoint();
    const other = { ...ck, optimizer: initialCheckpoint(RunSpecSchema.parse({ layers: [20, 8, 4], optimizer: { name: "adam" } })).optimizer };
    expect(() => decodeCheckpoint(encodeCheckpoint(other))).toThrow(/the adam state's vector m has 204 entries, the header says 179 parameters/);
  });
});
