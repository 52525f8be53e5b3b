/**
 * The admin's review of the corrections, under /v1/feedback next to the public routes: list pending and accepted
 * ones with their pictures, accept or reject in batches, delete, and recount the accepted ones.
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { configOf } from "../config";
import type { Env } from "../env";
import { NotFoundError } from "../errors";
import { countPending, feedbackCounts, listCorrections, type Correction } from "../storage/feedback";
import { adoptLegacy, deleteCorrection, recountAccepted, reviewCorrections } from "../storage/review";
import { CorrectionId } from "../training/fields";
import { adminOnly, adminRefusals } from "./auth";
import { FeedbackCounts } from "./feedback";
import { errorResponse, pathParam } from "./schemas";
import { toBase64 } from "./units";
import { jsonBody, validationHook } from "./validation";

/** Most ids in one review request, and most corrections in one listed page. */
export const MAX_REVIEW_BATCH = 100;

const Page = z.object({
  limit: z.coerce.number().int().min(1).max(MAX_REVIEW_BATCH).default(50),
  cursor: CorrectionId.optional().meta({ description: "The `cursor` of the previous page: the id to continue after." }),
});
const Item = z.object({
  id: z.string(), label: z.number(), createdAt: z.string(), acceptedAt: z.string().optional(), rows: z.number(), cols: z.number(),
  pixels: z.string().openapi({ description: "base64 of rows × cols bytes (0..255), row-major" }),
}).openapi("Correction");
const Listing = FeedbackCounts.extend({ items: z.array(Item), cursor: z.string().nullable() }).openapi("Corrections");
const ReviewRequest = z.object({
  accept: z.array(CorrectionId, { error: "accept must be an array of ids" }).default([]),
  reject: z.array(CorrectionId, { error: "reject must be an array of ids" }).default([]),
}).strict().superRefine((b, ctx) => {
  const all = [...b.accept, ...b.reject];
  if (all.length === 0) ctx.addIssue({ code: "custom", message: "name at least one id in accept or reject" });
  if (all.length > MAX_REVIEW_BATCH) ctx.addIssue({ code: "custom", message: `at most ${MAX_REVIEW_BATCH} ids per review, got ${all.length}` });
  const twice = [...new Set(all.filter((id, i) => all.indexOf(id) !== i))];
  if (twice.length > 0) ctx.addIssue({ code: "custom", message: `ids named twice: ${twice.slice(0, 5).join(", ")}` });
}).openapi("Review", { example: { accept: ["0mx3xkao0-5f2c9a1b7e44"], reject: [] } });
const ReviewResult = z.object({ id: z.string(), result: z.enum(["accepted", "rejected", "already_accepted", "not_found"]) });
const Reviewed = FeedbackCounts.extend({ results: z.array(ReviewResult), notFound: z.array(z.string()) }).openapi("Reviewed");
const Deleted = FeedbackCounts.extend({ id: z.string(), deleted: z.enum(["pending", "accepted"]) }).openapi("FeedbackDeleted");
const Recount = z.object({ previous: z.number(), accepted: z.number() }).openapi("FeedbackRecount");

const json = <T extends z.ZodType>(description: string, schema: T) => ({ description, content: { "application/json": { schema } } });

const item = (c: Correction) => ({
  id: c.id, label: c.label, createdAt: c.createdAt, ...(c.acceptedAt === undefined ? {} : { acceptedAt: c.acceptedAt }),
  rows: c.rows, cols: c.cols, pixels: toBase64(c.pixels),
});

/** The admin routes under /v1/feedback. */
export const reviewRoutes = new OpenAPIHono<{ Bindings: Env }>({ defaultHook: validationHook })
  .openapi(
    createRoute({
      method: "get", path: "/pending", ...adminOnly, request: { query: Page },
      summary: "Pending corrections, oldest first, with their pictures (the first page also moves old-layout corrections to pending)",
      responses: { 200: json("A page of pending corrections and the counts", Listing), 400: errorResponse("Invalid query"), ...adminRefusals },
    }),
    async (c) => {
      const { limit, cursor } = c.req.valid("query");
      const bucket = c.env.STORE_BUCKET;
      const cap = configOf(c.env).feedbackPendingMax;
      if (cursor === undefined) await adoptLegacy(bucket, cap - (await countPending(bucket)));
      const [page, counts] = await Promise.all([listCorrections(bucket, "pending", limit, cursor), feedbackCounts(bucket, cap)]);
      return c.json({ ...counts, items: page.items.map(item), cursor: page.next }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "get", path: "/accepted", ...adminOnly, request: { query: Page },
      summary: "Accepted corrections, newest first (the order runs take them in), with their pictures",
      responses: { 200: json("A page of accepted corrections and the counts", Listing), 400: errorResponse("Invalid query"), ...adminRefusals },
    }),
    async (c) => {
      const { limit, cursor } = c.req.valid("query");
      const cap = configOf(c.env).feedbackPendingMax;
      const [page, counts] = await Promise.all([listCorrections(c.env.STORE_BUCKET, "accepted", limit, cursor), feedbackCounts(c.env.STORE_BUCKET, cap)]);
      return c.json({ ...counts, items: page.items.map(item), cursor: page.next }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "post", path: "/review", ...adminOnly, request: { body: jsonBody(ReviewRequest) },
      summary: `Accept and reject pending corrections, at most ${MAX_REVIEW_BATCH} ids at once; the answer says what happened to each`,
      responses: { 200: json("What happened to each id, and the counts afterwards", Reviewed), 400: errorResponse("Invalid request"), ...adminRefusals },
    }),
    async (c) => {
      const { accept, reject } = c.req.valid("json");
      const results = await reviewCorrections(c.env.STORE_BUCKET, accept, reject);
      const counts = await feedbackCounts(c.env.STORE_BUCKET, configOf(c.env).feedbackPendingMax);
      return c.json({ ...counts, results, notFound: results.filter((r) => r.result === "not_found").map((r) => r.id) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "post", path: "/recount", ...adminOnly,
      summary: "Count the accepted corrections by listing them, and repair the counter (after a crash or racing admins)",
      responses: { 200: json("The counter before and after", Recount), ...adminRefusals },
    }),
    async (c) => c.json(await recountAccepted(c.env.STORE_BUCKET), 200),
  )
  .openapi(
    createRoute({
      method: "delete", path: "/{id}", ...adminOnly,
      request: { params: pathParam("id", CorrectionId) },
      summary: "Delete a correction, pending or accepted (runs that started before keep their snapshot)",
      responses: { 200: json("What was deleted, and the counts afterwards", Deleted), 400: errorResponse("Not an id"), ...adminRefusals, 404: errorResponse("No such correction") },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const deleted = await deleteCorrection(c.env.STORE_BUCKET, id);
      if (deleted === null) throw new NotFoundError("not_found", `no correction ${id}, pending or accepted`);
      const counts = await feedbackCounts(c.env.STORE_BUCKET, configOf(c.env).feedbackPendingMax);
      return c.json({ ...counts, id, deleted }, 200);
    },
  );
