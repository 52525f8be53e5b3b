/** The checkpoint codec: exact round trips (first-order and cg, with an evaluation under way), corruption refused. */
import { describe, expect, test } from "vitest";
import { cgCreate } from "../../src/nn/cg";
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
    evaluations: [{ step: 9, epoch: 2, trainLoss: 0.2, trainAccuracy: 0.88, testLoss: 0.25, testAccuracy: 0.87 }],
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
