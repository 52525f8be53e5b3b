/** Labelled corrections from the page: "that's wrong, it was …". */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { Env } from "../env";
import { listFeedbackKeys, putFeedback } from "../storage/feedback";
import { errorResponse } from "./schemas";
import { jsonBody, validationHook } from "./validation";

const SIDE = 28;

const FeedbackRequest = z.object({
  image: z.array(z.number({ error: "image must hold numbers" }).min(0, { error: "pixels must be in [0, 1]" }).max(1, { error: "pixels must be in [0, 1]" }), { error: "image must be an array of 784 numbers" })
    .length(SIDE * SIDE, { error: `image must have ${SIDE * SIDE} numbers (28 × 28, row-major)` }),
  label: z.number({ error: "label must be a digit" }).int({ error: "label must be an integer" }).min(0, { error: "label must be 0..9" }).max(9, { error: "label must be 0..9" }),
}).strict().openapi("Feedback");

export const feedbackRoutes = new OpenAPIHono<{ Bindings: Env }>({ defaultHook: validationHook });

feedbackRoutes.openapi(
  createRoute({
    method: "post", path: "/", summary: "Store a labelled correction (trained on by runs with includeFeedback)",
    request: { body: jsonBody(FeedbackRequest) },
    responses: {
      201: { description: "Stored", content: { "application/json": { schema: z.object({ id: z.string(), count: z.number() }) } } },
      400: errorResponse("Invalid input"),
    },
  }),
  async (c) => {
    const { image, label } = c.req.valid("json");
    const pixels = Uint8Array.from(image, (p) => Math.round(p * 255));
    const id = await putFeedback(c.env.STORE_BUCKET, pixels, label, SIDE, SIDE);
    return c.json({ id, count: (await listFeedbackKeys(c.env.STORE_BUCKET)).length }, 201);
  },
);

feedbackRoutes.openapi(
  createRoute({
    method: "get", path: "/", summary: "How many corrections are stored",
    responses: { 200: { description: "The count", content: { "application/json": { schema: z.object({ count: z.number() }) } } } },
  }),
  async (c) => c.json({ count: (await listFeedbackKeys(c.env.STORE_BUCKET)).length }, 200),
);
