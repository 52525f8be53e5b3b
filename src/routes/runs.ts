/** Training runs: start (admin), list, show, cancel (admin), delete (admin). */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { Env } from "../env";
import { ConflictError, NotFoundError } from "../errors";
import { deleteRun, getRecord, listRunIds } from "../storage/runs";
import { RunId } from "../training/fields";
import { ENDED, recordView, RUN_STATUSES, type RunRecord } from "../training/record";
import { endRun, needsSettling, startRun } from "../training/runs";
import { RunSpecSchema } from "../training/spec";

/**
 * The run spec as the API documents it, a named component of /openapi.json. RunSpecSchema is plain zod (training
 * knows no HTTP), possibly created before @hono/zod-openapi extends zod, so it is named through a lazy wrapper made here.
 */
const RunSpec = z.lazy(() => RunSpecSchema).openapi("RunSpec");
import { adminOnly, adminRefusals } from "./auth";
import { errorResponse, NextCursor, pageOf, PageQuery, pathParam, RefreshReport } from "./schemas";
import { jsonBody, validationHook } from "./validation";

const RunParam = pathParam("id", RunId);
const Evaluation = z.object({
  step: z.number(), epoch: z.number(), iteration: z.number().optional(),
  trainLoss: z.number().nullable(), trainAccuracy: z.number().nullable(), validationLoss: z.number(), validationAccuracy: z.number(),
}).openapi("Evaluation", { description: "A validation-set evaluation, with the training figures of the same epoch (cg: iteration)." });

/** What a run record and its summary share (src/training/record.ts). */
const RunFields = {
  id: z.string(), name: z.string().nullable(), spec: RunSpec, dataset: z.object({ name: z.string(), version: z.string() }),
  plan: z.object({ paramCount: z.number(), trainCount: z.number(), validationCount: z.number(), testCount: z.number(), examplesPerStep: z.number() }).passthrough()
    .openapi({ description: "How the run is cut into steps, fixed when it starts." }),
  status: z.enum(RUN_STATUSES), step: z.number(), phase: z.enum(["train", "evaluate", "test", "done"]).openapi({ description: "evaluate: measuring the validation set (per epoch); test: measuring the test set, once, after training." }), epoch: z.number(),
  progress: z.number(), examplesSeen: z.number(), createdAt: z.string(), updatedAt: z.string(),
  startedAt: z.string().nullable(), finishedAt: z.string().nullable(), etaSeconds: z.number().nullable(), throughput: z.number().nullable(),
  modelId: z.string().nullable(), promoted: z.boolean().nullable(), promotionReason: z.string().nullable(), error: z.string().nullable(),
  lastError: z.object({ step: z.number(), message: z.string(), attempts: z.number(), at: z.string() }).nullable(),
  revivals: z.number(), feedbackExamples: z.number(),
  validationAccuracy: z.number().nullable().openapi({ description: "The model's validation accuracy (its last evaluation), once succeeded." }),
  test: z.object({ loss: z.number(), accuracy: z.number(), count: z.number() }).nullable()
    .openapi({ description: "The model's test-set figures, measured once when training is over: they report, never choose." }),
  kind: z.enum(["train", "refresh"]).openapi({ description: "\"refresh\": a refresh run (spec.refresh)." }),
  parentModelId: z.string().nullable().openapi({ description: "The model the run started from (spec.init.model), or null." }),
  refresh: RefreshReport.nullable().openapi({ description: "A refresh run's data and, once finished, its before-and-after figures; null otherwise." }),
};

export const Run = z.object({
  ...RunFields,
  history: z.array(z.object({
    step: z.number(), epoch: z.number(), iteration: z.number().optional(), examplesSeen: z.number(), loss: z.number(), trainAccuracy: z.number(), at: z.string(),
  })).openapi({ description: "One entry per training step: its mean loss and accuracy." }),
  evaluations: z.array(Evaluation),
}).openapi("Run", { description: "The run record: status, progress, ETA, throughput, per-step history, evaluations, model." });

const RunSummary = z.object({ ...RunFields, steps: z.number(), lastEvaluation: Evaluation.nullable() })
  .openapi("RunSummary", { description: "A run record without its history: how many steps, and the last evaluation." });

/** Most runs a page lists: each is a run record read and parsed from R2 (with its per-step history). */
export const MAX_RUNS_PAGE = 50;

/** The record without its per-step history, for listings. */
function summary(r: RunRecord) {
  const { history, evaluations, ...rest } = recordView(r);
  const last = evaluations[evaluations.length - 1] ?? null;
  return { ...rest, steps: history.length, lastEvaluation: last };
}

/** The /v1/runs routes. */
export const runRoutes = new OpenAPIHono<{ Bindings: Env }>({ defaultHook: validationHook })
  .openapi(
    createRoute({
      method: "post", path: "/", summary: "Start a training run", ...adminOnly,
      request: { body: jsonBody(RunSpec) },
      responses: { 202: { description: "The run, queued", content: { "application/json": { schema: Run } } }, 400: errorResponse("Invalid spec"), ...adminRefusals, 404: errorResponse("No such dataset") },
    }),
    async (c) => c.json(recordView(await startRun(c.env, c.req.valid("json"))), 202),
  )
  .openapi(
    createRoute({
      method: "get", path: "/", summary: "List runs, newest first, a page at a time",
      request: { query: PageQuery(MAX_RUNS_PAGE, MAX_RUNS_PAGE) },
      responses: {
        200: { description: "Runs without their per-step history", content: { "application/json": { schema: z.object({ runs: z.array(RunSummary), cursor: NextCursor }) } } },
        400: errorResponse("Invalid limit"),
      },
    }),
    async (c) => {
      const { limit, cursor } = c.req.valid("query");
      const page = pageOf(await listRunIds(c.env.STORE_BUCKET), (id) => id, true, limit, cursor);
      const records = await Promise.all(page.items.map((id) => getRecord<RunRecord>(c.env.STORE_BUCKET, id)));
      return c.json({ runs: records.flatMap((f) => (f === null ? [] : [summary(f.record)])), cursor: page.cursor }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "get", path: "/{id}", summary: "A run: status, progress, ETA, history", request: { params: RunParam },
      responses: { 200: { description: "The run record", content: { "application/json": { schema: Run } } }, 404: errorResponse("No such run") },
    }),
    async (c) => {
      const found = await getRecord<RunRecord>(c.env.STORE_BUCKET, c.req.valid("param").id);
      if (found === null) throw new NotFoundError("not_found", `no run ${c.req.valid("param").id}`);
      return c.json(recordView(found.record), 200);
    },
  )
  .openapi(
    createRoute({
      method: "post", path: "/{id}/cancel", summary: "Cancel a run", ...adminOnly, request: { params: RunParam },
      description: "200 only when this call cancelled the run: it then never succeeds and its model is never promoted. 409 when it had ended (also when it ended meanwhile), naming how.",
      responses: { 200: { description: "The run, cancelled by this call", content: { "application/json": { schema: Run } } }, 404: errorResponse("No such run"), 409: errorResponse("The run has ended"), ...adminRefusals },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const found = await getRecord<RunRecord>(c.env.STORE_BUCKET, id);
      if (found === null) throw new NotFoundError("not_found", `no run ${id}`);
      if (ENDED.includes(found.record.status)) throw new ConflictError("run_ended", `run ${id} has already ended: ${found.record.status}`);
      const record = await endRun(c.env, id, "cancelled", "cancelled by an admin");
      if (record === null) {
        const now = await getRecord<RunRecord>(c.env.STORE_BUCKET, id);
        throw new ConflictError("run_ended", `run ${id} ended meanwhile: ${now?.record.status ?? "deleted"}; it was not cancelled`);
      }
      return c.json(recordView(record), 200);
    },
  )
  .openapi(
    createRoute({
      method: "delete", path: "/{id}", summary: "Delete an ended run (its model stays)", ...adminOnly, request: { params: RunParam },
      responses: { 200: { description: "Deleted", content: { "application/json": { schema: z.object({ deleted: z.string() }) } } }, 404: errorResponse("No such run"), 409: errorResponse("The run has not ended"), ...adminRefusals },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const found = await getRecord<RunRecord>(c.env.STORE_BUCKET, id);
      if (found === null) throw new NotFoundError("not_found", `no run ${id}`);
      const r = found.record;
      if (!ENDED.includes(r.status) || needsSettling(r)) {
        throw new ConflictError("run_active", `run ${id} is ${needsSettling(r) ? "finishing" : r.status}: cancel it first (POST /v1/runs/${id}/cancel)`);
      }
      await deleteRun(c.env.STORE_BUCKET, id);
      return c.json({ deleted: id }, 200);
    },
  );
