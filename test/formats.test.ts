/**
 * The four binary formats, byte for byte as they were written before they shared src/nn/framing.ts: bytes stored
 * then (formats.golden.json, written by the codecs of commit c55dc7a from the inputs built below) still decode, and
 * the same inputs still encode to them. The two checkpoints are of format version 3 (validation figures and the
 * final test figures in the header), written once by the codec that introduced it; the other formats are unchanged.
 */
import { describe, expect, test } from "vitest";
import { encodeShard, decodeShard } from "../src/data/shards";
import { cgCreate, cgTell } from "../src/nn/cg";
import { decodeModel, encodeModel } from "../src/nn/model-codec";
import { adamCreate, adamStep, momentumCreate, momentumStep, sgdCreate } from "../src/nn/optimizers";
import { decodeOptimizerState, encodeOptimizerState } from "../src/nn/state-codec";
import { decodeCheckpoint, encodeCheckpoint } from "../src/training/checkpoint";
import { initialCheckpoint } from "../src/training/plan";
import { RunSpecSchema } from "../src/training/spec";
import golden from "./formats.golden.json";

const bytesOf = (base64: string): Uint8Array => Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));

function optimizerStates() {
  const g = Float32Array.from({ length: 5 }, (_, i) => Math.cos(i) - 0.3);
  const p = Float32Array.from({ length: 5 }, (_, i) => i / 7);
  const momentum = momentumCreate(p, { learningRate: 0.1, momentum: 0.8 });
  momentumStep(momentum, p, g);
  const adam = adamCreate(p, { learningRate: 0.01 });
  adamStep(adam, p, g);
  adamStep(adam, p, g);
  const cg = cgCreate(Float64Array.from([1, -2, 0.5]), { length: 4 });
  cgTell(cg, 3.25, Float64Array.from([0.5, -1, 0.25]));
  return { sgd: sgdCreate({ learningRate: 0.05 }), momentum, adam, cg };
}

function checkpoints() {
  const ck = initialCheckpoint(RunSpecSchema.parse({ layers: [4, 3, 2], optimizer: { name: "adam" }, seed: 5 }));
  const cck = initialCheckpoint(RunSpecSchema.parse({ layers: [4, 3, 2], loss: "sigmoid", optimizer: { name: "cg", iterations: 3 } }));
  return {
    "checkpoint-adam": {
      ...ck, step: 7, epoch: 1, cursor: 64, examplesSeen: 320,
      epochTally: { seen: 64, correct: 50, lossSum: 12.5 },
      history: [{ step: 7, epoch: 2, examplesSeen: 320, loss: 0.195, trainAccuracy: 0.78125 }],
      evaluations: [{ step: 5, epoch: 1, trainLoss: 0.25, trainAccuracy: 0.75, validationLoss: 0.3, validationAccuracy: 0.7 }],
    },
    "checkpoint-cg": {
      ...cck, step: 3, examplesSeen: 3000,
      history: [{ step: 2, epoch: 1, iteration: 1, examplesSeen: 2000, loss: 0.6, trainAccuracy: 0.5 }],
      evaluations: [{ step: 1, epoch: 1, iteration: 0, trainLoss: null, trainAccuracy: null, validationLoss: 0.7, validationAccuracy: 0.4 }],
      test: { loss: 0.75, accuracy: 0.375, count: 1000 },
      cgPartial: { cursor: 1000, lossSum: 612.25, correct: 480, grad: Float64Array.from({ length: cck.params.length }, (_, i) => i * 0.125 - 1) },
    },
  };
}

describe("bytes written before the shared frame", () => {
  test("a model", () => {
    const params = Float32Array.from({ length: 26 }, (_, i) => Math.sin(i + 1) * (i % 5 === 0 ? -1 : 1));
    params[4] = -0;
    const model = { layers: [3, 4, 2], loss: "softmax" as const, params };
    expect(encodeModel(model)).toEqual(bytesOf(golden.model));
    expect(encodeModel(decodeModel(bytesOf(golden.model)))).toEqual(bytesOf(golden.model));
  });

  test.each(Object.entries(optimizerStates()))("an optimizer state: %s", (kind, state) => {
    const stored = bytesOf(golden[kind as keyof typeof golden]);
    expect(encodeOptimizerState(state)).toEqual(stored);
    expect(decodeOptimizerState(stored)).toEqual(state);
  });

  test.each(Object.entries(checkpoints()))("a %s", (name, ck) => {
    const stored = bytesOf(golden[name as keyof typeof golden]);
    expect(encodeCheckpoint(ck)).toEqual(stored);
    expect(encodeCheckpoint(decodeCheckpoint(stored))).toEqual(stored);
  });

  test("a dataset shard", () => {
    const labels = Uint8Array.of(3, 7);
    const pixels = Uint8Array.from({ length: 12 }, (_, i) => i * 20);
    expect(encodeShard(labels, pixels, 2, 3)).toEqual(bytesOf(golden.shard));
    expect(decodeShard(bytesOf(golden.shard))).toEqual({ count: 2, rows: 2, cols: 3, labels, pixels });
  });
});
