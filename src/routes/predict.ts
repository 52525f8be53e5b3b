/**
 * Digit predictions at the edge: `POST /v1/predict`.
 *
 * A request reads the serving pointer once (KV, `cacheTtl` SERVING_POINTER_TTL; no other per-isolate copy of the
 * pointer), takes that model from the isolate's model cache (src/storage/model-cache.ts) and answers its whole batch
 * with it, naming it in `modelId`. Models are immutable, so a promotion elsewhere can change which model the next
 * request uses but never mixes two models in one answer; every location sees a promotion once its KV cache
 * (at most SERVING_POINTER_TTL seconds) and KV's propagation have passed, within about a minute.
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { Env } from "../env";
import { NotFoundError } from "../errors";
import { classify } from "../nn/classify";
import { MAX_LAYER_SIZE } from "../nn/layout";
import { getServedModel, type ServedModel } from "../storage/model-cache";
import { getServingId, getServingRecord } from "../storage/models";
import { ModelId } from "../training/fields";
import { ApiError, badRequest, tooMuchWork } from "./errors";
import { errorResponse } from "./schemas";
import { jsonBody, validationHook } from "./validation";

/** Most images one request may send in `images`. */
export const MAX_PREDICT_BATCH = 256;
/**
 * Most work of one request, in image × parameter products (batch size × the answering model's parameter count):
 * the float32 forward pass runs at about 1.5–3 ns per product, so this is about 0.1 s of CPU (`npm run bench:edge`).
 * A batch of 256 fits models up to 195 312 parameters; the largest a run may train (1.5 M) answers 33 images.
 */
export const MAX_PREDICT_WORK = 50_000_000;
/** Seconds a KV read of the serving pointer may be cached at the edge (KV's minimum cacheTtl). */
export const SERVING_POINTER_TTL = 30;

const Pixels = z
  .array(
    z.number({ error: "pixels must be numbers in [0, 1]" })
      .min(0, { error: "pixels must be in [0, 1]" })
      .max(1, { error: "pixels must be in [0, 1]" }),
    { error: "an image must be an array of numbers" },
  )
  .min(1, { error: "an image needs at least one pixel" })
  .max(MAX_LAYER_SIZE, { error: `an image has at most ${MAX_LAYER_SIZE} pixels` });

const PredictRequest = z
  .object({
    image: Pixels.optional().openapi({ description: "One image: the model's layers[0] pixels (784 for MNIST: 28 × 28, row by row), each byte / 255." }),
    images: z.array(Pixels, { error: "images must be an array of images" })
      .min(1, { error: "images needs at least one image" })
      .max(MAX_PREDICT_BATCH, { error: `images holds at most ${MAX_PREDICT_BATCH} images` })
      .optional()
      .openapi({ description: `A batch of 1..${MAX_PREDICT_BATCH} images of equal length.` }),
    model: ModelId.optional()
      .meta({ description: "Pin a model by id; by default the served (promoted) model answers." }),
  })
  .strict()
  .superRefine((b, ctx) => {
    if (b.image !== undefined && b.images !== undefined) ctx.addIssue({ code: "custom", path: [], message: "send either image (one) or images (a batch), not both" });
    else if (b.image === undefined && b.images === undefined) ctx.addIssue({ code: "custom", path: [], message: "the body needs image (one image) or images (a batch of images)" });
    const ragged = b.images?.findIndex((row) => row.length !== b.images![0].length) ?? -1;
    if (ragged > 0) {
      ctx.addIssue({ code: "custom", path: ["images", ragged], message: `has ${b.images![ragged].length} pixels, images[0] has ${b.images![0].length}; every image of a batch needs the same length` });
    }
  })
  .openapi("PredictRequest", { example: { image: Array(784).fill(0) } });

const PredictResponse = z
  .object({
    modelId: z.string().openapi({ description: "The model that answered every prediction of this request." }),
    predictions: z.array(z.object({
      digit: z.number().int().openapi({ description: "The most probable class (the first on ties)." }),
      probabilities: z.array(z.number()).openapi({
        description: "One probability per class, summing to 1 (float32 values). A softmax model's outputs as they are; a sigmoid-loss model (the course's) has K independent sigmoid outputs, normalized here to h_k / Σ_j h_j.",
      }),
    })).openapi({ description: "One prediction per image, in the order sent." }),
  })
  .openapi("PredictResponse");


const predictRoute = createRoute({
  method: "post", path: "/", summary: "Predict digits with the served (or a pinned) model",
  request: { body: jsonBody(PredictRequest) },
  responses: {
    200: { description: "Predictions", content: { "application/json": { schema: PredictResponse } } },
    400: errorResponse("Invalid input, or images whose length is not the model's layers[0]"),
    404: errorResponse("The pinned model does not exist"),
    413: errorResponse("Body too large (payload_too_large), or more images than the model may answer in one request (too_much_work)"),
    415: errorResponse("Body is not JSON"),
    429: errorResponse("Rate limited (rate_limited): see Retry-After"),
    503: errorResponse("No model is served yet (code no_model): train or import one, then promote it"),
  },
});

const NO_MODEL = "no model is served yet: train one (POST /v1/runs, or npm run train) or import weights (POST /v1/models), then promote it (POST /v1/models/{id}/promote; a run promotes its model itself under the default policy)";

/** The served model's id: the KV pointer, or R2's record while KV has not seen the first promotion. */
async function servingId(env: Env): Promise<string | null> {
  return (await getServingId(env.SERVING_KV, SERVING_POINTER_TTL)) ?? (await getServingRecord(env.STORE_BUCKET))?.serving.modelId ?? null;
}

/** The pinned model (404 when unknown) or the served one (503 when there is none). */
async function resolveModel(env: Env, pinned: string | undefined): Promise<ServedModel> {
  const id = pinned ?? (await servingId(env));
  if (id === null) throw new ApiError(503, "no_model", NO_MODEL);
  const model = await getServedModel(env.STORE_BUCKET, id);
  if (model !== null) return model;
  if (pinned !== undefined) throw new NotFoundError("not_found", `no model ${pinned} (GET /v1/models lists them)`);
  throw new ApiError(503, "model_unavailable", `the served model ${id} is missing from storage; promote another (POST /v1/models/{id}/promote)`);
}

/** The predictions of every row by one model (src/nn/classify.ts), in the API's words; 500 if any is not finite. */
function predictRows(model: ServedModel, rows: number[][]): { digit: number; probabilities: number[] }[] {
  // Synchronous from the first write of the model's buffers to their last read: requests in this isolate share them.
  const predictions = classify(model.layout, model.loss, model.params, rows, model.ws, model.X);
  const bad = predictions.findIndex((p) => !p.probabilities.every(Number.isFinite));
  if (bad >= 0) throw new ApiError(500, "model_overflow", `model ${model.id} produced non-finite outputs for image ${bad}`);
  return predictions.map((p) => ({ digit: p.label, probabilities: p.probabilities }));
}

/** POST /v1/predict. */
export const predictRoutes = new OpenAPIHono<{ Bindings: Env }>({ defaultHook: validationHook }).openapi(predictRoute, async (c) => {
  const body = c.req.valid("json");
  const rows = body.images ?? [body.image!];
  const model = await resolveModel(c.env, body.model);
  const D = model.layout.sizes[0];
  if (rows[0].length !== D) {
    const what = body.images === undefined ? `image has ${rows[0].length} pixels` : `images have ${rows[0].length} pixels each`;
    throw badRequest(`${what}; model ${model.id} (layers ${model.layout.sizes.join("-")}) expects ${D} (its layers[0])`);
  }
  const P = model.layout.count;
  if (rows.length * P > MAX_PREDICT_WORK) {
    const most = Math.floor(MAX_PREDICT_WORK / P);
    throw tooMuchWork("POST /v1/predict", MAX_PREDICT_WORK, "image × parameter", `${rows.length} images × ${P} parameters of model ${model.id} need ${rows.length * P}`, `send at most ${most} images per request to this model`);
  }
  return c.json({ modelId: model.id, predictions: predictRows(model, rows) }, 200);
});
