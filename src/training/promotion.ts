/**
 * Promotion: the one function that makes a model the served one, for an admin's promote and a finished run alike.
 *
 * A model is served only when it fits what the page and `POST /v1/predict` serve — the input size and classes of the
 * SERVING_DATASET (MNIST's 784 pixels and 10 digits until that dataset exists) — and its float32 forward pass cannot
 * overflow. A run's model is then promoted by its policy; an admin's promote always switches.
 */
import { configOf } from "../config";
import type { Env } from "../env";
import { overflowProblem } from "../nn/bounds";
import { createLayout } from "../nn/layout";
import { readManifest } from "../storage/datasets";
import { getServingRecord, setServing, type ModelMeta } from "../storage/models";
import type { PROMOTE_POLICIES } from "./spec";

/** What the page draws and predict serves when SERVING_DATASET does not exist (yet): 28 × 28 digits. */
export const DEFAULT_SERVING_SHAPE = { pixels: 784, classes: 10 } as const;

/** Attempts at the conditional switch of the serving record before giving up with a conflict. */
const SWITCH_ATTEMPTS = 5;

export interface ServingShape {
  pixels: number;
  classes: number;
  /** The dataset the shape was read from, or null for DEFAULT_SERVING_SHAPE. */
  dataset: string | null;
}

/** The input size and classes every served model must have. */
export async function servingShape(env: Env): Promise<ServingShape> {
  const name = configOf(env).servingDataset;
  const m = await readManifest(env.STORE_BUCKET, name).catch(() => null);
  return m === null ? { ...DEFAULT_SERVING_SHAPE, dataset: null } : { pixels: m.rows * m.cols, classes: m.classes, dataset: name };
}

/** Why a network with these layers cannot be served, or null when it fits. */
export function shapeProblem(layers: readonly number[], shape: ServingShape): string | null {
  const D = layers[0];
  const K = layers[layers.length - 1];
  if (D === shape.pixels && K === shape.classes) return null;
  const what = shape.dataset === null ? "the page's 28×28 digits" : `the served dataset "${shape.dataset}"`;
  const problems = [
    ...(D === shape.pixels ? [] : [`input size ${D} is not ${shape.pixels}`]),
    ...(K === shape.classes ? [] : [`${K} classes are not ${shape.classes}`]),
  ];
  return `layers ${layers.join("-")} do not fit ${what}: ${problems.join(", ")}`;
}

export type PromotionPolicy = (typeof PROMOTE_POLICIES)[number];

export type PromotionResult =
  | { promoted: true; previousModelId: string | null; reason: string }
  | { promoted: false; code: "shape_mismatch" | "overflow" | "policy" | "conflict"; reason: string };

const pct = (x: number | null | undefined) => (typeof x === "number" ? `${(100 * x).toFixed(2)}%` : "none");

/** Conditions of a promotion: only while `onlyIfServing` is the served model; `reason` to give when it switches. */
export interface PromotionOptions {
  onlyIfServing?: string;
  reason?: string;
}

/**
 * Makes `meta` (whose weights are `params`) the served model if it fits and `policy` allows: R2's serving record is
 * switched conditionally on the record read (retried on a concurrent switch), then the KV copy. With "better" it must
 * beat the served model's validation accuracy (any model beats none; the test accuracy only reports). Also rewrites an already served model's record, which
 * repairs a KV pointer a failed switch left behind. With `options.onlyIfServing` it switches only from that model
 * (checked on the record read, so a concurrent switch is seen).
 */
export async function promoteModel(env: Env, meta: ModelMeta, params: Float32Array, policy: PromotionPolicy, options: PromotionOptions = {}): Promise<PromotionResult> {
  const misfit = shapeProblem(meta.layers, await servingShape(env));
  if (misfit !== null) return { promoted: false, code: "shape_mismatch", reason: misfit };
  const overflow = overflowProblem(createLayout(meta.layers), params);
  if (overflow !== null) return { promoted: false, code: "overflow", reason: overflow };
  for (let attempt = 0; attempt < SWITCH_ATTEMPTS; attempt++) {
    const current = await getServingRecord(env.STORE_BUCKET);
    const served = current?.serving ?? null;
    if (policy === "never") return { promoted: false, code: "policy", reason: "the promote policy is never" };
    // (A retry after this very switch finds the model served already: that counts as the same promotion.)
    if (options.onlyIfServing !== undefined && served?.modelId !== options.onlyIfServing && served?.modelId !== meta.id) {
      return { promoted: false, code: "policy", reason: `not promoted: the served model changed since the run started from ${options.onlyIfServing} (now ${served?.modelId ?? "none"})` };
    }
    if (policy === "better" && served !== null && served.modelId !== meta.id && !((meta.validationAccuracy ?? -1) > (served.validationAccuracy ?? -1))) {
      return { promoted: false, code: "policy", reason: `validation accuracy ${pct(meta.validationAccuracy)} does not beat the served ${served.modelId}'s ${pct(served.validationAccuracy)}` };
    }
    const serving = { modelId: meta.id, validationAccuracy: meta.validationAccuracy, testAccuracy: meta.testAccuracy, promotedAt: new Date().toISOString() };
    if (await setServing(env.STORE_BUCKET, env.SERVING_KV, serving, current?.etag ?? null)) {
      const reason = options.reason !== undefined ? options.reason : policy === "always" ? "promoted" : served === null ? "no model was served" : `validation accuracy ${pct(meta.validationAccuracy)} beats ${pct(served.validationAccuracy)}`;
      return { promoted: true, previousModelId: served?.modelId ?? null, reason };
    }
  }
  return { promoted: false, code: "conflict", reason: `the serving record changed ${SWITCH_ATTEMPTS} times while promoting ${meta.id}` };
}
