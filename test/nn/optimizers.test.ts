import { describe, expect, test } from "vitest";
import { cgCreate } from "../../src/nn/cg";
import type { Floats, FloatsConstructor } from "../../src/nn/layout";
import {
  adamCreate, adamStep, momentumCreate, momentumStep, optimizerStep, sgdCreate, sgdStep, type FirstOrderState,
} from "../../src/nn/optimizers";
import {
  decodeOptimizerState, decodeState, encodeOptimizerState, encodeState, StateFormatError,
} from "../../src/nn/state-codec";

const TYPES: [string, FloatsConstructor][] = [["float32", Float32Array], ["float64", Float64Array]];

/** f = ½ Σ a_k (p_k − c_k)² with a_k in [1, 5]; writes ∇f into g. */
function quadratic(p: Floats, g: Floats): number {
  let f = 0;
  for (let k = 0; k < p.length; k++) {
    const a = 3 + 2 * Math.sin(k + 1);
    const d = p[k] - Math.cos(k);
    f += 0.5 * a * d * d;
    g[k] = a * d;
  }
  return f;
}

/** Deterministic starting params: 2·sin(3k). */
function start(Type: FloatsConstructor, n: number): Floats {
  const p = new Type(n);
  for (let k = 0; k < n; k++) p[k] = 2 * Math.sin(3 * k);
  return p;
}

function create(kind: FirstOrderState["kind"], p: Floats): FirstOrderState {
  if (kind === "sgd") return sgdCreate({ learningRate: 0.1 });
  if (kind === "momentum") return momentumCreate(p, { learningRate: 0.02, momentum: 0.9 });
  return adamCreate(p, { learningRate: 0.05 });
}

function bytesOf(a: Floats): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

describe("first-order optimizers", () => {
  for (const kind of ["sgd", "momentum", "adam"] as const) {
    for (const [name, Type] of TYPES) {
      test(`${kind} decreases a quadratic (${name})`, () => {
        const p = start(Type, 12);
        const g = new Type(p.length);
        const st = create(kind, p);
        const f0 = quadratic(p, g);
        let f = f0;
        for (let t = 0; t < 200; t++) {
          optimizerStep(st, p, g);
          f = quadratic(p, g);
        }
        expect(f).toBeLessThan(1e-3 * f0);
      });
    }
  }

  test("sgd and momentum take their first steps as written", () => {
    const g = Float64Array.from([0.5, -3, 2]);
    const p = Float64Array.from([1, -2, 0.5]);
    sgdStep(sgdCreate({ learningRate: 0.1 }), p, g);
    expect(Array.from(p)).toEqual([1 - 0.1 * 0.5, -2 + 0.1 * 3, 0.5 - 0.1 * 2]);
    const q = Float64Array.from([1, -2, 0.5]);
    const st = momentumCreate(q, { learningRate: 0.1, momentum: 0.5 });
    momentumStep(st, q, g);
    momentumStep(st, q, g);
    // v1 = −0.1·g, v2 = 0.5·v1 − 0.1·g = −0.15·g, p2 = p0 − 0.25·g
    [1 - 0.25 * 0.5, -2 + 0.25 * 3, 0.5 - 0.25 * 2].forEach((want, k) => expect(q[k]).toBeCloseTo(want, 14));
  });

  test("Adam's first step is lr·g/(|g| + ε): the bias correction undoes the moments' zero start", () => {
    const g = Float64Array.from([0.5, -3, 1e-9]);
    const p = Float64Array.from([1, -2, 0.5]);
    const st = adamCreate(p, { learningRate: 0.1 });
    adamStep(st, p, g);
    expect(st.t).toBe(1);
    // By hand: m = 0.1·g, v = 0.001·g², m̂ = g, v̂ = g², step = 0.1·g/(|g| + 1e-8).
    expect(p[0]).toBeCloseTo(1 - 0.1 * (0.5 / (0.5 + 1e-8)), 14);
    expect(p[1]).toBeCloseTo(-2 + 0.1 * (3 / (3 + 1e-8)), 14);
    expect(p[2]).toBeCloseTo(0.5 - 0.1 * (1e-9 / 1.1e-8), 14); // ε dominates a tiny gradient
    expect(st.m[1]).toBeCloseTo(0.1 * -3, 15);
    expect(st.v[1]).toBeCloseTo(0.001 * 9, 15);
  });

  test("steps check shapes and float types", () => {
    const p = new Float32Array(3);
    expect(() => sgdStep(sgdCreate({ learningRate: 1 }), p, new Float32Array(2))).toThrow(/sgdStep: grad has 2 entries/);
    expect(() => adamStep(adamCreate(new Float64Array(3)), p, new Float32Array(3))).toThrow(/adamStep: .*Float64Array/);
    expect(() => momentumStep(momentumCreate(new Float32Array(4), { learningRate: 1 }), p, p)).toThrow(/momentumStep/);
    expect(() => momentumCreate(p, { learningRate: 0.1, momentum: 1 })).toThrow(/momentumCreate: momentum/);
    expect(() => adamCreate(p, { learningRate: -1 })).toThrow(/adamCreate: learningRate/);
  });
});

describe("resuming from the encoded state after every step", () => {
  for (const kind of ["sgd", "momentum", "adam"] as const) {
    for (const [name, Type] of TYPES) {
      test(`${kind} (${name}) takes the same steps, bit for bit`, () => {
        const p0 = start(Type, 9);
        const a = p0.slice();
        const b = p0.slice();
        const g = new Type(p0.length);
        const stA = create(kind, a);
        let stB = create(kind, b);
        for (let t = 0; t < 50; t++) {
          quadratic(a, g);
          optimizerStep(stA, a, g);
          quadratic(b, g);
          optimizerStep(stB, b, g);
          stB = decodeOptimizerState(encodeOptimizerState(stB), kind);
        }
        expect(bytesOf(b)).toEqual(bytesOf(a));
        expect(encodeOptimizerState(stB)).toEqual(encodeOptimizerState(stA));
        expect(stB).toEqual(stA);
      });
    }
  }
});

describe("state codec", () => {
  test("keeps −0, ±Infinity, subnormals and the float type of every vector", () => {
    const specials = [-0, 0, Infinity, -Infinity, 5e-324, -2.2250738585072014e-308, 1 / 3, Number.MAX_VALUE];
    const rec = {
      kind: "test",
      scalars: Object.fromEntries(specials.map((x, j) => [`s${j}`, x])),
      vectors: { a: Float64Array.from(specials), b: Float32Array.from(specials), empty: new Float32Array(0) },
    };
    const back = decodeState(encodeState(rec));
    expect(back.kind).toBe("test");
    specials.forEach((x, j) => expect(Object.is(back.scalars[`s${j}`], x)).toBe(true));
    expect(back.vectors.a).toBeInstanceOf(Float64Array);
    expect(back.vectors.b).toBeInstanceOf(Float32Array);
    expect(bytesOf(back.vectors.a)).toEqual(bytesOf(rec.vectors.a));
    expect(bytesOf(back.vectors.b)).toEqual(bytesOf(rec.vectors.b));
    expect(back.vectors.empty.length).toBe(0);
    expect(Number.isNaN(decodeState(encodeState({ kind: "n", scalars: { x: NaN }, vectors: {} })).scalars.x)).toBe(true);
  });

  test("vectors start on 8-byte boundaries", () => {
    const bytes = encodeState({ kind: "k", scalars: { a: 1 }, vectors: { u: new Float32Array(3), w: new Float64Array(2) } });
    const headerEnd = 12 + new DataView(bytes.buffer).getUint32(8, true);
    const scalarsAt = Math.ceil(headerEnd / 8) * 8;
    // scalars, then u (12 bytes padded to 16), then w (16 bytes), then the CRC
    expect(bytes.length).toBe(scalarsAt + 8 + 16 + 16 + 4);
  });

  const blob = encodeOptimizerState(adamCreate(Float32Array.from([1, 2, 3])));
  const corrupt = (edit: (b: Uint8Array) => void): Uint8Array => {
    const b = blob.slice();
    edit(b);
    return b;
  };

  test.each([
    ["an empty blob", new Uint8Array(0), /truncated at byte 0/],
    ["a truncated blob", blob.slice(0, blob.length - 1), new RegExp(`truncated at byte ${blob.length - 1}`)],
    ["a blob cut inside the header", blob.slice(0, 20), /truncated at byte 20/],
    ["trailing bytes", Uint8Array.from([...blob, 0, 0]), /2 trailing bytes/],
    ["a foreign blob", new TextEncoder().encode("<html>not a state</html>"), /bad magic/],
    ["a model blob", corrupt((b) => b.set([0x45, 0x50, 0x4e, 0x4e])), /bad magic/],
    ["a newer version", corrupt((b) => (b[4] = 2)), /unsupported version 2/],
    ["a flipped bit in the data", corrupt((b) => (b[b.length - 9] ^= 1)), /checksum mismatch/],
    ["a garbled header", corrupt((b) => (b[12] = 0xff)), /header is not UTF-8 JSON/],
  ])("decoding %s throws a StateFormatError saying so", (_, bytes, message) => {
    expect(() => decodeOptimizerState(bytes)).toThrow(StateFormatError);
    expect(() => decodeOptimizerState(bytes)).toThrow(message);
  });

  test("decoding checks the optimizer's fields and the kind asked for", () => {
    const v = new Float32Array(2);
    expect(() => decodeOptimizerState(encodeState({ kind: "rmsprop", scalars: {}, vectors: {} }))).toThrow(/unknown optimizer kind "rmsprop"/);
    expect(() => decodeOptimizerState(encodeState({ kind: "momentum", scalars: { lr: 1 }, vectors: { v } }))).toThrow(/missing scalars mu/);
    expect(() => decodeOptimizerState(encodeState({ kind: "sgd", scalars: { lr: 1, mu: 0 }, vectors: {} }))).toThrow(/unknown scalars mu/);
    const mixed = { kind: "adam", scalars: { lr: 1, beta1: 0.9, beta2: 0.999, eps: 1e-8, t: 0 }, vectors: { m: v, v: new Float64Array(2) } };
    expect(() => decodeOptimizerState(encodeState(mixed))).toThrow(/one dtype/);
    expect(() => decodeOptimizerState(blob, "momentum")).toThrow(/expected a "momentum" state, found "adam"/);
    expect(() => decodeOptimizerState(encodeOptimizerState(cgCreate(new Float64Array(2), { length: 5 })), "cg")).not.toThrow();
  });
});
