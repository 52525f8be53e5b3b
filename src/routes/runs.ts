/** Training runs: start (admin), list, show, cancel (admin). */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { Env } from "../env";
import { ConflictError, NotFoundError } from "../errors";
import { deleteRun, getRecord, listRunIds } from "../storage/runs";
import { RunId } from "../training/fields";
import { ENDED, type RunRecord } from "../training/record";
import { endRun, needsSettling, startRun } from "../training/runs";
import { RunSpecSchema } from "../training/spec";
import { adminOnly, adminRefusals } from "./auth";
import { errorResponse, NextCursor, pageOf, PageQuery, pathParam } from "./schemas";
import { jsonBody, validationHook } from "./validation";

const RunParam = pathParam("id", RunId);
const Run = z.object({}).passthrough().openapi("Run", { description: "The run record: status, step, epoch, progress, etaSeconds, throughput, history, evaluations, modelId." });

/** Most runs a page lists: each is a run record read and parsed from R2 (with its per-step history). */
export const MAX_RUNS_PAGE = 50;

/** The record without its per-step history, for listings. */
function summary(r: RunRecord) {
  const { history, evaluations, ...rest } = r;
  const last = evaluations[evaluations.length - 1] ?? null;
  return { ...rest, steps: history.length, lastEvaluation: last };
}

/** The /v1/runs routes. */
export const runRoutes = new OpenAPIHono<{ Bindings: Env }>({ defaultHook: validationHook })
  .openapi(
    createRoute({
      method: "post", path: "/", summary: "Start a training run", ...adminOnly,
      request: { body: jsonBody(RunSpecSchema) },
      responses: { 202: { description: "The run, queued", content: { "application/json": { schema: Run } } }, 400: errorResponse("Invalid spec"), ...adminRefusals, 404: errorResponse("No such dataset") },
    }),
    async (c) => c.json(await startRun(c.env, c.req.valid("json")), 202),
  )
  .openapi(
    createRoute({
      method: "get", path: "/", summary: "List runs, newest first, a page at a time",
      request: { query: PageQuery(MAX_RUNS_PAGE, MAX_RUNS_PAGE) },
      responses: {
        200: { description: "Runs without their per-step history", content: { "application/json": { schema: z.object({ runs: z.array(Run), cursor: NextCursor }) } } },
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
      return c.json(found.record, 200);
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
      return c.json(record, 200);
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
