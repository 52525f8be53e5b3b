/**
 * GET /v1/handwriting: the 899 real handwritten digits of data/handwriting/ (UCI optical digits, CC BY 4.0, not
 * MNIST) as stored, 8 × 8 values 0..16, for the page to measure the served model on handwriting it was not trained on:
 * it brings each to its own input form (public/js/handwriting.js, then the pad's preprocessing) and asks
 * POST /v1/predict, as it does for a drawing. Bundled with the Worker; immutable.
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import data from "../../data/handwriting/optdigits-a.json";
import type { Env } from "../env";

const Handwriting = z.object({
  source: z.string(),
  licence: z.string(),
  count: z.number(),
  images: z.array(z.array(z.number())).openapi({ description: "8 × 8 values 0..16, row-major: the set pixels of each 4 × 4 block of a 32 × 32 bitmap." }),
  labels: z.array(z.number()),
}).openapi("Handwriting");

const body = {
  source: data.source,
  licence: "CC BY 4.0: E. Alpaydin, C. Kaynak, Optical Recognition of Handwritten Digits, UCI Machine Learning Repository (1998)",
  count: data.images.length,
  images: data.images,
  labels: data.labels,
};

/** The /v1/handwriting route. */
export const handwritingRoutes = new OpenAPIHono<{ Bindings: Env }>().openapi(
  createRoute({
    method: "get", path: "/", summary: "Real handwritten digits that are not MNIST, to measure the served model on",
    responses: { 200: { description: "The digits and their labels", content: { "application/json": { schema: Handwriting } } } },
  }),
  (c) => c.json(body, 200, { "Cache-Control": "public, max-age=86400, immutable" }),
);
