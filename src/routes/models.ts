/** The model registry (read side): list and show models. */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { Env } from "../env";
import { ApiError } from "../errors";
import { getModelMeta, getServingRecord, listModels } from "../storage/models";
import { ErrorBody } from "./schemas";
import { validationHook } from "./validation";

const Model = z.object({
  id: z.string(), layers: z.array(z.number()), loss: z.string(), testAccuracy: z.number().nullable(),
  dataset: z.string().nullable(), runId: z.string().nullable(), createdAt: z.string(), serving: z.boolean(),
}).openapi("Model");
const ModelId = z.object({ id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, { error: "not a model id" }).openapi({ param: { name: "id", in: "path" } }) });

export const modelRoutes = new OpenAPIHono<{ Bindings: Env }>({ defaultHook: validationHook });

modelRoutes.openapi(
  createRoute({
    method: "get", path: "/", summary: "List models, newest first",
    responses: { 200: { description: "Models and the served one", content: { "application/json": { schema: z.object({ servingModelId: z.string().nullable(), models: z.array(Model) }) } } } },
  }),
  async (c) => {
    const [models, serving] = await Promise.all([listModels(c.env.SERVING_KV), getServingRecord(c.env.STORE_BUCKET)]);
    const servingModelId = serving?.serving.modelId ?? null;
    return c.json({ servingModelId, models: models.map((m) => ({ ...m, serving: m.id === servingModelId })) }, 200);
  },
);

modelRoutes.openapi(
  createRoute({
    method: "get", path: "/{id}", summary: "A model's metadata", request: { params: ModelId },
    responses: { 200: { description: "The model", content: { "application/json": { schema: Model } } }, 404: { description: "No such model", content: { "application/json": { schema: ErrorBody } } } },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const [meta, serving] = await Promise.all([getModelMeta(c.env.STORE_BUCKET, id), getServingRecord(c.env.STORE_BUCKET)]);
    if (meta === null) throw new ApiError(404, "not_found", `no model ${id}`);
    return c.json({ ...meta, serving: serving?.serving.modelId === id }, 200);
  },
);
