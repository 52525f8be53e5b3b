/**
 * Refreshes (src/training/refresh.ts): what the page's Models panel shows — the served model's lineage, the review
 * queue, the newest refresh runs with their before-and-after figures — and starting one (admin).
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { Env } from "../env";
import { int } from "../training/fields";
import { recordView } from "../training/record";
import { REFRESH_TRAINING, refreshStatus, startRefresh } from "../training/refresh";
import { AugmentSpec, refreshFields } from "../training/spec";
import { startRun } from "../training/runs";
import { adminOnly, adminRefusals, isAdmin } from "./auth";
import { FeedbackCounts } from "./feedback";
import { Run } from "./runs";
import { errorResponse, ModelParent, RefreshReport } from "./schemas";
import { jsonBody, validationHook } from "./validation";

const RefreshRequest = z.object({
  ...refreshFields(""),
  epochs: int("epochs", 1, 100).optional().openapi({ description: `Passes over the corrections and their replay (default ${REFRESH_TRAINING.epochs}).` }),
  learningRate: z.number({ error: "learningRate must be a number" }).positive({ error: "learningRate must be > 0" }).max(10, { error: "learningRate must be ≤ 10" }).optional()
    .openapi({ description: `Momentum's learning rate (default ${REFRESH_TRAINING.optimizer.learningRate}, momentum ${REFRESH_TRAINING.optimizer.momentum}).` }),
  batchSize: int("batchSize", 1, 4096).optional().openapi({ description: `Mini-batch size (default ${REFRESH_TRAINING.batchSize}).` }),
  seed: int("seed", 0, 4294967295).optional().openapi({ description: "Seed of the replay sample and the order of examples (default 1)." }),
  augment: AugmentSpec.nullable().optional().openapi({ description: `How the refresh augments its training examples (default ${JSON.stringify(REFRESH_TRAINING.augment)}; null: not at all).` }),
}).strict().openapi("RefreshRequest");

const RefreshStatus = z.object({
  served: z.object({
    modelId: z.string(), validationAccuracy: z.number().nullable(), testAccuracy: z.number().nullable(), createdAt: z.string().nullable(), parent: ModelParent.nullable(),
    lineage: z.array(z.string()).openapi({ description: "Ancestors, nearest first." }),
  }).nullable(),
  review: FeedbackCounts,
  newCorrections: z.number().nullable().openapi({ description: "Accepted training corrections new to the served model (admin only; null otherwise)." }),
  threshold: z.number().openapi({ description: "REFRESH_MIN_CORRECTIONS: new corrections that make the daily cron start a refresh." }),
  active: z.string().nullable(),
  recent: z.array(z.object({
    runId: z.string(), status: z.string(), createdAt: z.string(), finishedAt: z.string().nullable(), parentModelId: z.string().nullable(),
    modelId: z.string().nullable(), promoted: z.boolean().nullable(), promotionReason: z.string().nullable(), error: z.string().nullable(),
    refresh: RefreshReport.nullable(),
  })).openapi({ description: "The newest refresh runs, newest first (at most 5)." }),
}).openapi("RefreshStatus");

/** The /v1/refresh routes. */
export const refreshRoutes = new OpenAPIHono<{ Bindings: Env }>({ defaultHook: validationHook })
  .openapi(
    createRoute({
      method: "get", path: "/", summary: "The served model's lineage, the review queue and the newest refreshes with their before-and-after figures",
      responses: { 200: { description: "The refresh status", content: { "application/json": { schema: RefreshStatus } } }, 403: errorResponse("A bearer token that is not the admin token") },
    }),
    async (c) => c.json(await refreshStatus(c.env, await isAdmin(c)), 200),
  )
  .openapi(
    createRoute({
      method: "post", path: "/", summary: "Start a refresh of the served model on the accepted corrections", ...adminOnly,
      request: { body: { ...jsonBody(RefreshRequest), required: false } },
      responses: {
        202: { description: "The refresh run, queued", content: { "application/json": { schema: Run } } },
        400: errorResponse("Invalid options"),
        409: errorResponse("No model is served, no accepted corrections to learn from, or a refresh is running"),
        ...adminRefusals,
      },
    }),
    async (c) => {
      const options = c.req.header("content-type")?.includes("json") ? c.req.valid("json") : {};
      return c.json(recordView(await startRefresh(c.env, options ?? {}, startRun)), 202);
    },
  );
