/**
 * The model registry: list and show models, export their weights, import weights (admin) and promote a model to be
 * served (admin). Weights travel as `[Θ1(:); Θ2(:); …]`, Octave's column-major unroll, which is also the stored order.
 */
import { activeRuns } from "../training/runs";
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { TypedResponse } from "hono";
import type { Env } from "../env";
import { ConflictError, NotFoundError } from "../errors";
import { FLOAT32_MAX, overflowProblem } from "../nn/bounds";
import { createLayout, parameterCount } from "../nn/layout";
import { encodeModel } from "../nn/model-codec";
import { timeId } from "../storage/keys";
import { forgetModel, getServedModel, type ServedModel } from "../storage/model-cache";
import { deleteModel, getModelMeta, getServingRecord, listModels, modelOrderKey, putModel, type ModelMeta } from "../storage/models";
import { measureAccuracies } from "../training/evaluate";
import { Layers, LossName, ModelId } from "../training/fields";
import { promoteModel } from "../training/promotion";
import { MAX_TRAIN_PARAMS } from "../training/spec";
import { adminOnly, adminRefusals } from "./auth";
import { errorResponse, ModelParent, NextCursor, pageOf, PageQuery, pathParam, RefreshSummary } from "./schemas";
import { jsonBody, validationHook } from "./validation";

/** The dataset an imported model is measured on, when its shape fits. */
export const IMPORT_EVAL_DATASET = "mnist";
/**
 * An import measures its accuracies only when parameters × (validation + test examples) is at most this: MNIST's
 * 15 000 for models up to 300 000 parameters (784-300-10), well under a second of CPU on the WebAssembly kernels.
 */
export const MAX_IMPORT_EVAL_WORK = 4.5e9;
/** Most models a page lists (KV metadata, a few hundred bytes each). */
export const MAX_MODELS_PAGE = 1000;
/** Parameters per piece of a streamed weights answer (~300 KB of text). */
const WEIGHTS_CHUNK = 16_384;

const Model = z.object({
  id: z.string(), layers: z.array(z.number()), loss: z.string(),
  validationAccuracy: z.number().nullable().openapi({ description: "Accuracy on its dataset's validation set: what promotion compares." }),
  testAccuracy: z.number().nullable().openapi({ description: "Accuracy on its dataset's test set, measured once: it only reports." }),
  dataset: z.string().nullable(), runId: z.string().nullable(), createdAt: z.string(), serving: z.boolean(),
  name: z.string().nullable().optional(),
  spec: z.object({}).passthrough().optional().openapi({ description: "The run spec a trained model came from (GET /v1/models/:id only)." }),
  parent: ModelParent.nullable().optional().openapi({ description: "The model its run started from (a warm start or a refresh); null or absent otherwise." }),
  lineage: z.array(z.string()).optional().openapi({ description: "Its ancestors, nearest first (GET /v1/models/:id only)." }),
  dataAt: z.string().optional().openapi({ description: "When the data it was trained on was taken: its run's start." }),
  refresh: RefreshSummary.optional().openapi({ description: "A refreshed model's data and accuracies before and after (GET /v1/models/:id only; per digit in its run's record)." }),
}).openapi("Model");
const ModelParam = pathParam("id", ModelId);

const Params = z.array(z.number({ error: "params must hold finite numbers" }), { error: "params must be an array of numbers" })
  .openapi({ description: "[Θ1(:); Θ2(:); …]: each Θ(l), of shape s(l+1) × (s(l)+1) with column 0 for the bias unit, unrolled column-major as Octave's Theta(:). Stored as float32." });

const Weights = z.object({ id: z.string(), layers: z.array(z.number()), loss: LossName, params: Params }).openapi("Weights");

const ImportRequest = z
  .object({
    layers: Layers,
    loss: LossName.default("sigmoid"),
    params: Params,
    name: z.string({ error: "name must be a string" }).min(1, { error: "name must not be empty" }).max(64, { error: "name has at most 64 characters" }).optional(),
  })
  .strict()
  .superRefine((b, ctx) => {
    const expected = parameterCount(b.layers);
    // No model larger than a run may train: what serving and export cost per request is bounded by it.
    if (expected > MAX_TRAIN_PARAMS) {
      ctx.addIssue({ code: "custom", path: ["layers"], message: `layers ${JSON.stringify(b.layers)} have ${expected} parameters; a model has at most ${MAX_TRAIN_PARAMS}, the most a run may train` });
      return;
    }
    if (b.params.length !== expected) {
      ctx.addIssue({ code: "custom", path: ["params"], message: `params has ${b.params.length} numbers; layers ${JSON.stringify(b.layers)} need ${expected}` });
      return;
    }
    const bad = b.params.findIndex((v) => !(Math.abs(v) <= FLOAT32_MAX));
    if (bad >= 0) {
      ctx.addIssue({ code: "custom", path: ["params", bad], message: `${b.params[bad]} is beyond float32's range (±${FLOAT32_MAX})` });
      return;
    }
    const overflow = overflowProblem(createLayout(b.layers), b.params);
    if (overflow !== null) ctx.addIssue({ code: "custom", path: ["params"], message: overflow });
  })
  .openapi("ModelImport", { example: { layers: [2, 2, 2], loss: "sigmoid", params: [0.1, -0.2, 0.3, 0.4, -0.5, 0.6, 0.1, 0.2, -0.3, 0.4, 0.5, -0.6], name: "tiny" } });

const Promotion = z.object({ servingModelId: z.string(), previousModelId: z.string().nullable() }).openapi("Promotion");

const json = <T extends z.ZodType>(description: string, schema: T) => ({ description, content: { "application/json": { schema } } });

/**
 * The weights answer as JSON text streamed WEIGHTS_CHUNK parameters at a time: the model is the isolate's cached copy,
 * so concurrent exports hold one model and a chunk each, not a ~27 MB string each (the isolate has 128 MB).
 */
function weightsJson(model: ServedModel): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const { params } = model;
  let at = -1;
  return new ReadableStream({
    pull(controller) {
      if (at < 0) {
        controller.enqueue(encoder.encode(`{"id":${JSON.stringify(model.id)},"layers":${JSON.stringify(model.layout.sizes)},"loss":${JSON.stringify(model.loss)},"params":[`));
        at = 0;
      } else if (at < params.length) {
        const end = Math.min(params.length, at + WEIGHTS_CHUNK);
        // String(x) of a finite number is its JSON text.
        controller.enqueue(encoder.encode((at === 0 ? "" : ",") + Array.from(params.subarray(at, end)).join(",")));
        at = end;
      } else {
        controller.enqueue(encoder.encode("]}"));
        controller.close();
      }
    },
  });
}

/** A fresh id for an imported model: `m-imp-<time, base 36>-<8 hex digits>`. */
function newImportId(now = Date.now()): string {
  return timeId("m-imp-", 4, now);
}

/** The /v1/models routes. */
export const modelRoutes = new OpenAPIHono<{ Bindings: Env }>({ defaultHook: validationHook })
  .openapi(
    createRoute({
      method: "get", path: "/", summary: "List models, newest first, a page at a time",
      description: "KV lists models by id only, so every page reads the whole listing (one KV call per 1 000 models) to order it by creation time.",
      request: { query: PageQuery(MAX_MODELS_PAGE, 100) },
      responses: {
        200: json("Models and the served one", z.object({ servingModelId: z.string().nullable(), models: z.array(Model), cursor: NextCursor })),
        400: errorResponse("Invalid limit"),
      },
    }),
    async (c) => {
      const { limit, cursor } = c.req.valid("query");
      const [models, serving] = await Promise.all([listModels(c.env.SERVING_KV), getServingRecord(c.env.STORE_BUCKET)]);
      const servingModelId = serving?.serving.modelId ?? null;
      const page = pageOf(models, modelOrderKey, true, limit, cursor);
      return c.json({ servingModelId, models: page.items.map((m) => ({ ...m, serving: m.id === servingModelId })), cursor: page.cursor }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "get", path: "/{id}", summary: "A model's metadata", request: { params: ModelParam },
      responses: { 200: json("The model", Model), 404: errorResponse("No such model") },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const [meta, serving] = await Promise.all([getModelMeta(c.env.STORE_BUCKET, id), getServingRecord(c.env.STORE_BUCKET)]);
      if (meta === null) throw new NotFoundError("not_found", `no model ${id}`);
      return c.json({ ...meta, serving: serving?.serving.modelId === id }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "get", path: "/{id}/weights", summary: "A model's weights, in Octave's unroll order", request: { params: ModelParam },
      responses: { 200: json("Layers, loss and the flat parameter vector", Weights), 404: errorResponse("No such model") },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const model = await getServedModel(c.env.STORE_BUCKET, id);
      if (model === null) throw new NotFoundError("not_found", `no model ${id}`);
      // The Weights JSON as a stream: c.json would first build the whole text.
      return c.body(weightsJson(model), 200, { "Content-Type": "application/json" }) as unknown as TypedResponse<z.infer<typeof Weights>, 200, "json">;
    },
  )
  .openapi(
    createRoute({
      method: "post", path: "/", summary: "Import weights as a new model", ...adminOnly,
      description: `Measures validationAccuracy and testAccuracy on the "${IMPORT_EVAL_DATASET}" dataset's validation and test sets when the layers fit it and parameters × their examples ≤ ${MAX_IMPORT_EVAL_WORK}; otherwise null.`,
      request: { body: jsonBody(ImportRequest) },
      responses: { 201: json("The new model", Model), 400: errorResponse("Invalid weights"), ...adminRefusals, 413: errorResponse("Body too large"), 415: errorResponse("Body is not JSON") },
    }),
    async (c) => {
      const b = c.req.valid("json");
      const layout = createLayout(b.layers);
      const params = Float32Array.from(b.params);
      const blob = encodeModel({ layers: b.layers, loss: b.loss, params });
      const accuracies = await measureAccuracies(c.env.STORE_BUCKET, IMPORT_EVAL_DATASET, layout, b.loss, params, MAX_IMPORT_EVAL_WORK);
      const meta: ModelMeta = {
        id: newImportId(), layers: b.layers, loss: b.loss, ...accuracies, dataset: accuracies.testAccuracy === null ? null : IMPORT_EVAL_DATASET,
        runId: null, createdAt: new Date().toISOString(), name: b.name ?? null,
      };
      // Create-only; an id is taken only if two imports drew the same 32 random bits in the same millisecond.
      if (!(await putModel(c.env.STORE_BUCKET, c.env.SERVING_KV, meta, blob))) throw new Error(`POST /v1/models: model id ${meta.id} is already taken`);
      return c.json({ ...meta, serving: false }, 201);
    },
  )
  .openapi(
    createRoute({
      method: "post", path: "/{id}/promote", summary: "Serve this model", ...adminOnly, request: { params: ModelParam },
      description: "Refused (409) when the model's input size or classes do not fit what the page and predict serve (the SERVING_DATASET's), or when its weights could overflow float32. Switches the serving record in R2 (conditionally, retried on conflict), then the KV pointer that predictions read; every location serves the model within about a minute.",
      responses: { 200: json("The switch", Promotion), 404: errorResponse("No such model"), 409: errorResponse("The model does not fit what is served, or the serving record kept changing"), ...adminRefusals },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const meta = await getModelMeta(c.env.STORE_BUCKET, id);
      const model = meta === null ? null : await getServedModel(c.env.STORE_BUCKET, id);
      if (meta === null || model === null) throw new NotFoundError("not_found", `no model ${id}`);
      const result = await promoteModel(c.env, meta, model.params, "always");
      if (!result.promoted) throw new ConflictError(result.code, `model ${id} was not promoted: ${result.reason}`);
      return c.json({ servingModelId: id, previousModelId: result.previousModelId }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "delete", path: "/{id}", summary: "Delete a model (not the served one)", ...adminOnly, request: { params: ModelParam },
      description: "Its run, if any, is kept. Requests pinned to it may still be answered by an isolate that holds it in memory until it is evicted.",
      responses: { 200: json("Deleted", z.object({ deleted: z.string() })), 404: errorResponse("No such model"), 409: errorResponse("The model is served, or a refresh running from it needs it"), ...adminRefusals },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      if ((await getModelMeta(c.env.STORE_BUCKET, id)) === null) throw new NotFoundError("not_found", `no model ${id}`);
      if ((await getServingRecord(c.env.STORE_BUCKET))?.serving.modelId === id) {
        throw new ConflictError("model_served", `model ${id} is served: promote another model first (POST /v1/models/{id}/promote)`);
      }
      // A refresh measures the model it started from when it finishes: that model stays until the refresh ends.
      const refreshing = (await activeRuns(c.env)).find((r) => r.kind === "refresh" && r.parentModelId === id);
      if (refreshing !== undefined) {
        throw new ConflictError("model_in_use", `refresh run ${refreshing.id} started from model ${id} and measures it when it finishes: wait for it, or cancel it (POST /v1/runs/${refreshing.id}/cancel)`);
      }
      await deleteModel(c.env.STORE_BUCKET, c.env.SERVING_KV, id);
      forgetModel(id);
      return c.json({ deleted: id }, 200);
    },
  );
