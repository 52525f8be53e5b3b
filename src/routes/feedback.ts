/** Labelled corrections from the page ("that's wrong, it was …"): stored pending until an admin reviews them. */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { configOf } from "../config";
import type { Env } from "../env";
import { feedbackCounts, putPending } from "../storage/feedback";
import { errorResponse } from "./schemas";
import { jsonBody, validationHook } from "./validation";

const SIDE = 28;

const FeedbackRequest = z.object({
  image: z.array(z.number({ error: "image must hold numbers" }).min(0, { error: "pixels must be in [0, 1]" }).max(1, { error: "pixels must be in [0, 1]" }), { error: "image must be an array of 784 numbers" })
    .length(SIDE * SIDE, { error: `image must have ${SIDE * SIDE} numbers (28 × 28, row-major)` }),
  label: z.number({ error: "label must be a digit" }).int({ error: "label must be an integer" }).min(0, { error: "label must be 0..9" }).max(9, { error: "label must be 0..9" }),
}).strict().openapi("Feedback");

/** How many corrections wait for review (at most pendingMax) and how many an admin accepted. */
export const FeedbackCounts = z.object({
  pending: z.number(), pendingMax: z.number(),
  accepted: z.number().openapi({ description: "From a counter updated by the review routes; POST /v1/feedback/recount repairs a drift." }),
}).openapi("FeedbackCounts");

const Stored = z.object({
  id: z.string(), status: z.literal("pending"), pending: z.number(), pendingMax: z.number(),
}).openapi("FeedbackStored");

/** The public routes of /v1/feedback. */
export const feedbackRoutes = new OpenAPIHono<{ Bindings: Env }>({ defaultHook: validationHook })
  .openapi(
    createRoute({
      method: "post", path: "/", summary: "Store a labelled correction, pending until an admin accepts it (only accepted ones are trained on)",
      request: { body: jsonBody(FeedbackRequest) },
      responses: {
        201: { description: "Stored, pending review", content: { "application/json": { schema: Stored } } },
        400: errorResponse("Invalid input"),
        507: errorResponse("FEEDBACK_PENDING_MAX corrections already await review: nothing stored"),
      },
    }),
    async (c) => {
      const { image, label } = c.req.valid("json");
      const pixels = Uint8Array.from(image, (p) => Math.round(p * 255));
      const cap = configOf(c.env).feedbackPendingMax;
      const { id, pending } = await putPending(c.env.STORE_BUCKET, pixels, label, SIDE, SIDE, cap);
      return c.json({ id, status: "pending" as const, pending, pendingMax: cap }, 201);
    },
  )
  .openapi(
    createRoute({
      method: "get", path: "/", summary: "How many corrections await review and how many are accepted",
      responses: { 200: { description: "The counts", content: { "application/json": { schema: FeedbackCounts } } } },
    }),
    async (c) => c.json(await feedbackCounts(c.env.STORE_BUCKET, configOf(c.env).feedbackPendingMax), 200),
  );
