/**
 * The run spec (`POST /v1/runs`, and the scheduled run in `SCHEDULED_RUN_SPEC`): every key validated, unknown keys
 * refused with a message listing them.
 */
import { z } from "zod";
import { AUGMENT_LIMITS, type AugmentSpec as AugmentParts } from "../data/distort";
import type { DatasetManifest } from "../data/shards";
import { createLayout } from "../nn/layout";
import { FIRST_ORDER, FIRST_ORDER_NAMES, rangeText, type FirstOrderName, type Hyperparameter } from "../nn/optimizers";
import { DatasetName, int, Lambda, Layers, LossName, ModelId, RunName } from "./fields";

const positive = (name: string) => z.number({ error: `${name} must be a number` }).positive({ error: `${name} must be > 0` });

/** `optimizer.<option>`: a number in the hyperparameter's range, its default when left out. */
function hyperparameter(option: string, h: Hyperparameter): z.ZodType<number, number | undefined> {
  const error = `optimizer.${option} must be ${rangeText(h)}`;
  let schema = z.number({ error: `optimizer.${option} must be a number` });
  schema = h.minIncluded ? schema.min(h.min, { error }) : schema.gt(h.min, { error });
  if (h.max !== Infinity) schema = schema.lt(h.max, { error });
  return h.default === undefined ? schema : schema.default(h.default);
}

/**
 * A first-order optimizer's spec from its entry in FIRST_ORDER: its name and its options, nothing else. Its type
 * lists the options as optional numbers (a web client may leave out those with defaults; one without a default is
 * refused at run time when missing), so that the typed client knows them.
 */
function firstOrderSpec<N extends FirstOrderName>(name: N) {
  type Options = { [K in keyof (typeof FIRST_ORDER)[N]["options"]]: z.ZodOptional<z.ZodNumber> };
  const options = Object.fromEntries(Object.entries(FIRST_ORDER[name].options).map(([option, h]) => [option, hyperparameter(option, h)])) as unknown as Options;
  return z.object({ name: z.literal(name), ...options }).strict();
}

/** Every first-order optimizer's spec, typed as the union of them. */
const FIRST_ORDER_SPECS = FIRST_ORDER_NAMES.map(firstOrderSpec) as { [N in FirstOrderName]: ReturnType<typeof firstOrderSpec<N>> }[FirstOrderName][];

const Cg = z.object({
  name: z.literal("cg"),
  /** fmincg's MaxIter: line searches. */
  iterations: int("optimizer.iterations", 1, 10_000).default(50),
}).strict();

/** The optimizers a run may use: optimizer.name. */
export const OPTIMIZER_NAMES = [...FIRST_ORDER_NAMES, "cg"] as const;
/**
 * When a finished run's model is promoted (spec.promote, and the PROMOTE_POLICY var): "better" only when it beats
 * the served one on the validation set, "always", or "never".
 */
export const PROMOTE_POLICIES = ["better", "always", "never"] as const;
const FIRST_ORDER_DOC = FIRST_ORDER_NAMES.map((name) => {
  const { summary, options } = FIRST_ORDER[name];
  const listed = Object.entries(options).map(([option, h]) => `${option} ${rangeText(h)}${h.default === undefined ? "" : ` (default ${h.default})`}`);
  return `\`${name}\` (${summary}; ${listed.join(", ")})`;
}).join(", ");

export const OptimizerSpec = z.discriminatedUnion("name", [Cg, ...FIRST_ORDER_SPECS], {
  error: (iss) => (iss.code === "invalid_union" ? `optimizer.name must be one of ${OPTIMIZER_NAMES.join(", ")}` : undefined),
}).meta({ description: `${FIRST_ORDER_DOC} train on mini-batches for \`epochs\`; \`cg\` is the course's fmincg on the full (limited) training set for \`iterations\` line searches.` });

/** A number in [0, max] for augment.<part>, with its message. */
const part = (name: string, max: number, unit: string) =>
  z.number({ error: `augment.${name} must be a number` }).min(0, { error: `augment.${name} must be ≥ 0` }).max(max, { error: `augment.${name} must be ≤ ${max}` })
    .optional().meta({ description: unit });

/**
 * Augmentation of the training examples (src/data/distort.ts), drawn from the seed, the epoch and the example's index:
 * each part optional, as Simard et al. 2003 and Ciresan et al. 2010 distorted MNIST.
 */
export const AugmentSpec = z.object({
  rotate: part("rotate", AUGMENT_LIMITS.rotate, "Rotation, uniform ± this many degrees."),
  shear: part("shear", AUGMENT_LIMITS.shear, "Shear, uniform ± this many degrees."),
  scale: part("scale", AUGMENT_LIMITS.scale, "Scale per axis, uniform 1 ± this fraction."),
  translate: part("translate", AUGMENT_LIMITS.translate, "Translation per axis, uniform ± this many pixels."),
  elastic: z.object({
    alpha: z.number({ error: "augment.elastic.alpha must be a number" }).min(0, { error: "augment.elastic.alpha must be ≥ 0" }).max(AUGMENT_LIMITS.alpha, { error: `augment.elastic.alpha must be ≤ ${AUGMENT_LIMITS.alpha}` })
      .meta({ description: "Scale of the displacement field, in pixels." }),
    sigma: z.number({ error: "augment.elastic.sigma must be a number" }).min(AUGMENT_LIMITS.sigma.min, { error: `augment.elastic.sigma must be ≥ ${AUGMENT_LIMITS.sigma.min}` }).max(AUGMENT_LIMITS.sigma.max, { error: `augment.elastic.sigma must be ≤ ${AUGMENT_LIMITS.sigma.max}` })
      .meta({ description: "Std of the Gaussian that smooths the uniform(−1, 1) displacements, in pixels." }),
  }).strict().optional().meta({ description: "An elastic distortion: a uniform(−1, 1) displacement per pixel and axis, smoothed by a Gaussian of std sigma, times alpha." }),
}).strict().meta({ description: "Augments each training example of each epoch (never validation or test), bilinearly resampled, zero outside; the draws come from the seed, the epoch and the example's index, so the run stays bit-exact." }) satisfies z.ZodType<AugmentParts>;

/** A warm start: the run begins from a stored model's weights (same layers and loss) instead of random ones. */
const WarmStart = z.object({ model: ModelId.meta({ description: "The id of the model whose weights the run starts from." }) }).strict();

/**
 * The keys of a refresh's data, named `prefix`+key in their messages: the run spec's `refresh` object and POST
 * /v1/refresh's body share them.
 */
export function refreshFields(prefix: string) {
  return {
    corrections: int(`${prefix}corrections`, 1, 20_000).default(REFRESH_DEFAULTS.corrections)
      .meta({ description: "Most accepted corrections trained on, newest first (the training split's)." }),
    replay: int(`${prefix}replay`, 0, 100).default(REFRESH_DEFAULTS.replay)
      .meta({ description: "Examples of the dataset's training set replayed per correction, so the model does not forget it." }),
    repeat: int(`${prefix}repeat`, 1, 50).default(REFRESH_DEFAULTS.repeat)
      .meta({ description: "Copies of each correction per epoch, each augmented by its own draws when the run augments." }),
    maxValidationDrop: z.number({ error: `${prefix}maxValidationDrop must be a number` }).min(0, { error: `${prefix}maxValidationDrop must be ≥ 0` }).max(100, { error: `${prefix}maxValidationDrop must be ≤ 100` }).optional()
      .meta({ description: "Most the validation accuracy may drop, in points, for the refresh to be promoted, besides the guard's test of chance (default: REFRESH_MAX_VALIDATION_DROP)." }),
  };
}

/** Defaults of a refresh run's data (RefreshSpec). */
export const REFRESH_DEFAULTS = { corrections: 2000, replay: 30, repeat: 3 } as const;

/**
 * A refresh run: fine-tunes a model (init.model; the served one when POST /v1/refresh starts it) on the accepted
 * corrections of the training split (newest first, at most `corrections`) mixed with `replay` examples of the
 * dataset's training set per correction, a seeded sample; the holdout split of the corrections is only evaluated.
 */
export const RefreshSpec = z.object(refreshFields("refresh.")).strict();
export type RefreshSpec = z.infer<typeof RefreshSpec>;

export const RunSpecSchema = z.object({
  name: RunName.optional()
    .meta({ description: "A label; the scheduled run uses it to know whether a run of it is active." }),
  dataset: DatasetName.default("mnist"),
  layers: Layers.meta({ example: [784, 128, 10] }),
  loss: LossName.default("softmax"),
  optimizer: OptimizerSpec,
  lambda: Lambda.default(0),
  batchSize: int("batchSize", 1, 4096).optional().meta({ description: "Mini-batch size (default 128); not for cg." }),
  epochs: int("epochs", 1, 1000).optional().meta({ description: "Passes over the training set (default 5); not for cg." }),
  seed: int("seed", 0, 4294967295).default(1),
  augment: AugmentSpec.optional(),
  augmentEpochs: int("augmentEpochs", 1, 1000).optional()
    .meta({ description: "Augment only the first augmentEpochs epochs (default: all); the later ones train on the examples as they are." }),
  lrDecay: z.number({ error: "lrDecay must be a number" }).gt(0, { error: "lrDecay must be > 0" }).max(1, { error: "lrDecay must be ≤ 1" }).optional()
    .meta({ description: "The learning rate of epoch e (0-based) is optimizer.learningRate × lrDecay^e; not for cg (default: 1, constant)." }),
  trainLimit: int("trainLimit", 1, 10_000_000).optional().meta({ description: "Train on the first trainLimit training examples only." }),
  init: z.union([z.literal("default"), positive("init"), WarmStart], { error: 'init must be "default", a number ε > 0, or {"model": "<model id>"}' }).default("default")
    .meta({ description: '"default": ε = √6/√(L_in+L_out) per matrix; a number: that ε (the course uses 0.12); {"model": id}: start from that model\'s weights (a warm start; its layers and loss must be the spec\'s).' }),
  evalEvery: int("evalEvery", 1, 10_000).default(1)
    .meta({ description: "Evaluate on the validation set every evalEvery epochs (cg: iterations), and always at the end; the test set is measured once, after the last." }),
  promote: z.enum(PROMOTE_POLICIES).optional()
    .meta({ description: "Promote the model when it beats the serving one on the validation set (default: PROMOTE_POLICY)." }),
  includeFeedback: z.boolean({ error: "includeFeedback must be true or false" }).default(false)
    .meta({ description: "Also train on the labelled corrections an admin accepted (POST /v1/feedback, then review), the newest 20 000, snapshotted when the run starts." }),
  refresh: RefreshSpec.optional()
    .meta({ description: "Makes the run a refresh: fine-tuning init.model on accepted corrections with replay, promoted only by the guard (holdout up by more than chance, validation not down by more than chance nor maxValidationDrop down by at most maxValidationDrop)." }),
}).strict().superRefine((spec, ctx) => {
  if (spec.refresh !== undefined && typeof spec.init !== "object") {
    ctx.addIssue({ code: "custom", path: ["init"], message: 'a refresh run starts from a model: init must be {"model": "<model id>"}' });
  }
  if (spec.refresh !== undefined && spec.includeFeedback) {
    ctx.addIssue({ code: "custom", path: ["includeFeedback"], message: "a refresh run trains on the corrections already: remove includeFeedback" });
  }
  if (spec.augmentEpochs !== undefined && spec.augment === undefined) {
    ctx.addIssue({ code: "custom", path: ["augmentEpochs"], message: "augmentEpochs says how long to augment: give augment too" });
  }
  if (spec.optimizer.name !== "cg") return;
  for (const key of ["epochs", "batchSize", "augment", "augmentEpochs", "lrDecay"] as const) {
    if (spec[key] !== undefined) ctx.addIssue({ code: "custom", path: [key], message: `cg minimizes one fixed cost over the full training set for optimizer.iterations: remove ${key}` });
  }
});

export type RunSpec = z.infer<typeof RunSpecSchema>;
export type InitSpec = RunSpec["init"];

/** The model a run starts from (a warm start or a refresh), or null for random weights. */
export const parentOf = (spec: RunSpec): string | null => (typeof spec.init === "object" ? spec.init.model : null);

/** Passes over the training set of a first-order run. */
export const epochsOf = (spec: RunSpec): number => spec.epochs ?? 5;
/** Mini-batch size of a first-order run. */
export const batchSizeOf = (spec: RunSpec): number => spec.batchSize ?? 128;
export type OptimizerConfig = RunSpec["optimizer"];

/**
 * Largest networks a step can hold in an isolate's 128 MB: a first-order step keeps about 12 float32 vectors of the
 * parameters' size at its peak (weights, Adam's two moments, the gradient, the checkpoint read and the one written);
 * cg keeps six float64 vectors in its state, each twice (read and written), and the encodings.
 */
export const MAX_TRAIN_PARAMS = 1_500_000;
export const CG_MAX_PARAMS = 400_000;

/** Checks a spec against its dataset; returns the problems (empty when it can run). */
export function specProblems(spec: RunSpec, manifest: DatasetManifest): string[] {
  const problems: string[] = [];
  const D = manifest.rows * manifest.cols;
  if (spec.layers[0] !== D) problems.push(`layers[0] must be ${D} (the ${manifest.rows}×${manifest.cols} pixels of dataset ${manifest.name}), got ${spec.layers[0]}`);
  const K = spec.layers[spec.layers.length - 1];
  if (K !== manifest.classes) problems.push(`the last layer must be ${manifest.classes} (the classes of dataset ${manifest.name}), got ${K}`);
  let count = 0;
  try {
    count = createLayout(spec.layers).count;
  } catch (e) {
    problems.push((e as Error).message.replace(/^createLayout: /, ""));
  }
  const maxParams = spec.optimizer.name === "cg" ? CG_MAX_PARAMS : MAX_TRAIN_PARAMS;
  if (count > maxParams) {
    problems.push(`layers ${JSON.stringify(spec.layers)} have ${count} parameters; training ${spec.optimizer.name === "cg" ? "with cg " : ""}in a Worker allows at most ${maxParams} (an isolate has 128 MB)`);
  }
  return problems;
}
