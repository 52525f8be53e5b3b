/**
 * Pictures: the first hidden layer's units as 28 × 28 images, for a run (its latest checkpoint) or a model; and the
 * examples a run trains on, as stored and as it augments them.
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { Env } from "../env";
import { NotFoundError } from "../errors";
import { createLayout, type Layout } from "../nn/layout";
import { unitImages } from "../nn/units";
import { getServedModel } from "../storage/model-cache";
import { getCheckpointBytes, getRecord } from "../storage/runs";
import { decodeCheckpoint } from "../training/checkpoint";
import { ModelId, RunId } from "../training/fields";
import { ENDED, type RunRecord } from "../training/record";
import { MAX_PREVIEW, previewExamples } from "../training/preview";
import { errorResponse, pathParam } from "./schemas";
import { validationHook } from "./validation";

const Units = z.object({
  units: z.number(), rows: z.number(), cols: z.number(), step: z.number().optional(),
  pixels: z.string().openapi({ description: "base64 of units × rows × cols bytes; each unit scaled on its own to 0..255" }),
}).openapi("Units");
const Query = z.object({ max: z.coerce.number().int().min(1).max(1024).default(64) });
const AugmentedQuery = z.object({
  count: z.coerce.number({ error: `count must be an integer in 1..${MAX_PREVIEW}` }).int({ error: `count must be an integer in 1..${MAX_PREVIEW}` })
    .min(1, { error: `count must be an integer in 1..${MAX_PREVIEW}` }).max(MAX_PREVIEW, { error: `count must be an integer in 1..${MAX_PREVIEW}` }).default(8),
  epoch: z.coerce.number({ error: "epoch must be an integer in 0..65535" }).int({ error: "epoch must be an integer in 0..65535" })
    .min(0, { error: "epoch must be an integer in 0..65535" }).max(65535, { error: "epoch must be an integer in 0..65535" }).default(0)
    .openapi({ description: "0-based: the draws of that epoch's step." }),
});
const Augmented = z.object({
  runId: z.string(), epoch: z.number(), rows: z.number(), cols: z.number(),
  augment: z.record(z.string(), z.unknown()).nullable().openapi({ description: "The run's spec.augment, or null: it trains on the examples as they are." }),
  examples: z.array(z.object({
    index: z.number().openapi({ description: "The example's index in the run's training set (its draws depend on it)." }),
    label: z.number(),
    original: z.array(z.number()).openapi({ description: "rows × cols pixels 0..255 as stored." }),
    augmented: z.array(z.number()).openapi({ description: "rows × cols pixels 0..255 as the run trains on them that epoch." }),
  })),
}).openapi("AugmentedExamples");
const notFound = errorResponse("Not found");

/** Bytes as base64 (in slices: spreading a whole large array into fromCharCode would overflow the stack). */
export function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function answer(layout: Layout, params: Float32Array, max: number, step?: number) {
  const { units, pixels } = unitImages(layout, params, max);
  const D = layout.sizes[0];
  const side = Math.sqrt(D);
  const [rows, cols] = Number.isInteger(side) ? [side, side] : [1, D];
  return { units, rows, cols, ...(step === undefined ? {} : { step }), pixels: toBase64(pixels) };
}

/** GET /v1/runs/:id/units and GET /v1/models/:id/units. */
export const unitRoutes = new OpenAPIHono<{ Bindings: Env }>({ defaultHook: validationHook })
  .openapi(
    createRoute({
      method: "get", path: "/runs/{id}/units", summary: "A run's first-layer units at its latest checkpoint",
      request: { params: pathParam("id", RunId), query: Query },
      responses: { 200: { description: "Unit images", content: { "application/json": { schema: Units } } }, 404: notFound },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const found = await getRecord<RunRecord>(c.env.STORE_BUCKET, id);
      if (found === null) throw new NotFoundError("not_found", `no run ${id}`);
      const r = found.record;
      if (ENDED.includes(r.status)) {
        // An ended run keeps no checkpoints: its units are its model's, if it made one.
        const model = r.modelId === null ? null : await getServedModel(c.env.STORE_BUCKET, r.modelId);
        if (model === null) throw new NotFoundError("not_found", `run ${id} has ended (${r.status}) and has no model: its checkpoints are deleted`);
        return c.json(answer(model.layout, model.params, c.req.valid("query").max, r.step), 200);
      }
      // The latest checkpoint, or the one after it if a step pruned it meanwhile (two are always kept).
      const step = r.step;
      const bytes = (await getCheckpointBytes(c.env.STORE_BUCKET, id, step)) ?? (await getCheckpointBytes(c.env.STORE_BUCKET, id, step + 1));
      if (bytes === null) throw new NotFoundError("not_found", `run ${id} has no checkpoint at step ${step}`);
      const ck = decodeCheckpoint(bytes);
      return c.json(answer(createLayout(found.record.spec.layers), ck.params, c.req.valid("query").max, ck.step), 200);
    },
  )
  .openapi(
    createRoute({
      method: "get", path: "/runs/{id}/augmented", summary: "The first examples of an epoch of a run, as stored and as the run augments them",
      request: { params: pathParam("id", RunId), query: AugmentedQuery },
      responses: {
        200: { description: "The examples", content: { "application/json": { schema: Augmented } } }, 400: errorResponse("Invalid count or epoch"), 404: notFound,
        409: errorResponse("The run's dataset was replaced"),
      },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const { count, epoch } = c.req.valid("query");
      const found = await getRecord<RunRecord>(c.env.STORE_BUCKET, id);
      if (found === null) throw new NotFoundError("not_found", `no run ${id}`);
      const r = found.record;
      const examples = await previewExamples(c.env.STORE_BUCKET, r, epoch, count);
      return c.json({ runId: id, epoch, rows: r.plan.image.rows, cols: r.plan.image.cols, augment: r.spec.augment ?? null, examples }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "get", path: "/models/{id}/units", summary: "A model's first-layer units",
      request: { params: pathParam("id", ModelId), query: Query },
      responses: { 200: { description: "Unit images", content: { "application/json": { schema: Units } } }, 404: notFound },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const model = await getServedModel(c.env.STORE_BUCKET, id);
      if (model === null) throw new NotFoundError("not_found", `no model ${id}`);
      return c.json(answer(model.layout, model.params, c.req.valid("query").max), 200);
    },
  );
