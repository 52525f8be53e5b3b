/**
 * Every optimizer in FIRST_ORDER, from its entry alone: the run spec takes its options with their defaults and
 * ranges, a run of it starts with its state, and that state is stored whole (every field of it in the codec).
 */
import { describe, expect, test } from "vitest";
import { createFirstOrder, FIRST_ORDER, FIRST_ORDER_NAMES, optimizerStep, rangeText, type Hyperparameter } from "../../src/nn/optimizers";
import { decodeOptimizerState, encodeOptimizerState } from "../../src/nn/state-codec";
import { initialCheckpoint } from "../../src/training/plan";
import { RunSpecSchema } from "../../src/training/spec";

/** A value inside the range: the default, else one between the bounds. */
const inside = (h: Hyperparameter): number => h.default ?? (h.max === Infinity ? h.min + 0.5 : (h.min + h.max) / 2);
/** Values just outside the range. */
const outside = (h: Hyperparameter): number[] => [h.minIncluded ? h.min - 1e-9 : h.min, ...(h.max === Infinity ? [] : [h.max])];

const specWith = (optimizer: Record<string, unknown>) => RunSpecSchema.safeParse({ layers: [6, 4, 3], optimizer });

describe.each(FIRST_ORDER_NAMES)("optimizer %s", (name) => {
  const entry = FIRST_ORDER[name];
  const options = Object.entries(entry.options as Record<string, Hyperparameter>);
  const required = Object.fromEntries(options.filter(([, h]) => h.default === undefined).map(([o, h]) => [o, inside(h)]));

  test("a spec of its name and required options starts a run with its state, the defaults filled in", () => {
    const parsed = specWith({ name, ...required });
    expect(parsed.success).toBe(true);
    const state = initialCheckpoint(parsed.data!).optimizer as unknown as Record<string, unknown>;
    expect(state.kind).toBe(name);
    for (const [option, h] of options) expect(state[h.field], option).toBe(inside(h));
  });

  test.each(options)("its option %s is refused out of its range, by the spec and by create", (option, h) => {
    for (const bad of [...outside(h), Number.NaN]) {
      const parsed = specWith({ name, ...required, [option]: bad });
      expect(parsed.success, `${option} = ${bad}`).toBe(false);
      expect(parsed.error!.issues[0].message).toMatch(new RegExp(`^optimizer\\.${option} must be`));
      expect(() => createFirstOrder(name, new Float32Array(3), { ...required, [option]: bad })).toThrow(`${name}Create: ${option} must be ${rangeText(h)}`);
    }
  });

  test("an unknown option is refused", () => {
    expect(specWith({ name, ...required, rate: 1 }).success).toBe(false);
  });

  test("its codec stores every field of its state, and the stored state steps on bit for bit", () => {
    const p = Float32Array.from([0.5, -1, 2]);
    const g = Float32Array.from([0.25, 3, -0.5]);
    const st = createFirstOrder(name, p, required);
    expect(Object.keys(st).sort()).toEqual(["kind", ...entry.scalars, ...entry.vectors].sort());
    optimizerStep(st, p, g);
    const back = decodeOptimizerState(encodeOptimizerState(st), name);
    expect(back).toEqual(st);
    const q = p.slice();
    optimizerStep(st, p, g);
    optimizerStep(back, q, g);
    expect(new Uint8Array(q.buffer)).toEqual(new Uint8Array(p.buffer));
  });
});
