/**
 * Zod building blocks shared by the run spec (spec.ts) and the API's schemas (src/routes/): each limit and id pattern
 * is written once, here or next to what it describes (src/nn/layout.ts, src/storage/keys.ts), and every schema that
 * takes a network's layers, a loss, λ or an id uses these.
 */
import { z } from "zod";
import { LOSSES, MAX_LAYER_SIZE } from "../nn/layout";
import { FEEDBACK_ID_PATTERN, ID_PATTERN, RUN_ID_PATTERN } from "../storage/keys";

/** Most layer sizes s1..sL a network may have (input, hidden layers, output). */
export const MAX_LAYERS = 32;

/** Layer sizes s1..sL: at least one hidden layer, at most MAX_LAYERS sizes, each 1..MAX_LAYER_SIZE, 2+ classes. */
export const Layers = z
  .array(z.number().int().min(1).max(MAX_LAYER_SIZE), { error: "layers must be an array of integers" })
  .min(3, { error: "layers needs at least 3 sizes: input, one or more hidden, output" })
  .max(MAX_LAYERS, { error: `layers allows at most ${MAX_LAYERS} sizes` })
  .refine((s) => s[s.length - 1] >= 2, { error: "the last layer (classes) needs at least 2 units" })
  .meta({ example: [3, 5, 3], description: "Layer sizes s1..sL, bias units not counted." });

/** The output loss. */
export const LossName = z
  .enum(LOSSES, { error: (iss) => `loss must be one of ${LOSSES.join(", ")}, got ${JSON.stringify(iss.input)}` })
  .meta({ description: "`sigmoid`: the course's J; `softmax`: categorical cross-entropy." });

/** The regularization strength λ. */
export const Lambda = z
  .number({ error: "lambda must be a finite number" })
  .min(0, { error: "lambda must be ≥ 0" })
  .meta({ description: "Regularization strength λ (bias weights are not regularized)." });

/** An integer in min..max, refused with messages naming it `name`. */
export const int = (name: string, min: number, max: number) =>
  z.number({ error: `${name} must be an integer` }).int({ error: `${name} must be an integer` })
    .min(min, { error: `${name} must be ≥ ${min}` }).max(max, { error: `${name} must be ≤ ${max}` });

/** A string matching `pattern`, refused with `error` (which says what it should be); `typeError` for a non-string. */
const idString = (pattern: RegExp, error: string, typeError = error) => z.string({ error: typeError }).regex(pattern, { error });

/** A dataset name (ID_PATTERN). */
export const DatasetName = idString(ID_PATTERN, "name must be 1..63 lowercase letters, digits and dashes, starting with a letter or digit");
/** A model id (ID_PATTERN). */
export const ModelId = idString(ID_PATTERN, "not a model id");
/** A run id (RUN_ID_PATTERN). */
export const RunId = idString(RUN_ID_PATTERN, "not a run id");
/** A correction id (FEEDBACK_ID_PATTERN), as POST /v1/feedback answers it. */
export const CorrectionId = idString(FEEDBACK_ID_PATTERN, "not a correction id (as POST /v1/feedback answers it, e.g. 0mx3xkao0-5f2c9a1b7e44)", "ids must be strings");
/** A run's label: lowercase letters, digits and dashes, at most 41. */
export const RunName = idString(/^[a-z0-9][a-z0-9-]{0,40}$/, "name must be lowercase letters, digits and dashes (≤ 41)");
