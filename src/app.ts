/**
 * Composes the Hono app: the public edge (security headers, CORS, rate limits, body limits), the routes, and the
 * one place where errors become responses.
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { except } from "hono/combine";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { ConfigError } from "./config";
import type { Env } from "./env";
import { ApiError } from "./errors";
import { apiCors } from "./routes/cors";
import { cronRoutes } from "./routes/cron";
import { datasetRoutes } from "./routes/datasets";
import { feedbackRoutes } from "./routes/feedback";
import { modelRoutes } from "./routes/models";
import { nnRoutes } from "./routes/nn";
import { classify } from "./routes/policy";
import { predictRoutes } from "./routes/predict";
import { rateLimits } from "./routes/rate-limit";
import { reviewRoutes } from "./routes/review";
import { runRoutes } from "./routes/runs";
import { securityHeaders } from "./routes/security-headers";
import { unitRoutes } from "./routes/units";
import { validationHook } from "./routes/validation";
import { getServingId } from "./storage/models";

/** Largest request body (bytes) of the routes without a tighter limit in src/routes/policy.ts, i.e. the admin ones: 16 MiB holds a model import of 1.5 M parameters written with 7 significant digits. */
export const MAX_BODY_BYTES = 16 * 1024 * 1024;

export const app = new OpenAPIHono<{ Bindings: Env }>({ defaultHook: validationHook });

const bodyLimits = new Map<number, MiddlewareHandler>();

/** A body limit of `maxSize` bytes, refused with 413 before the body is read (or as soon as it passes the size). */
function limitBody(maxSize: number): MiddlewareHandler {
  let limit = bodyLimits.get(maxSize);
  if (limit === undefined) {
    limit = bodyLimit({
      maxSize,
      onError: (c) => {
        throw new ApiError(413, "payload_too_large", `request body exceeds ${maxSize} bytes, the most ${c.req.method} ${c.req.path} accepts`);
      },
    });
    bodyLimits.set(maxSize, limit);
  }
  return limit;
}

// The public edge, outermost first: security headers on every answer; CORS, so that the refusals below carry it;
// the rate limits; then the body limits (src/routes/policy.ts: tighter for anonymous routes; dataset uploads have
// their own, larger one in src/routes/datasets.ts).
app.use("*", securityHeaders, apiCors, rateLimits);
app.use(
  "/v1/*",
  except(["/v1/datasets", "/v1/datasets/*"], (c, next) => limitBody(classify(c.req.method, c.req.path)?.maxBodyBytes ?? MAX_BODY_BYTES)(c, next)),
);

app.get("/healthz", async (c) => c.json({ ok: true, servingModelId: await getServingId(c.env.SERVING_KV) }));

app.route("/v1/nn", nnRoutes);
app.route("/v1/datasets", datasetRoutes);
app.route("/v1/runs", runRoutes);
app.route("/v1/models", modelRoutes);
app.route("/v1/predict", predictRoutes);
app.route("/v1/cron", cronRoutes);
app.route("/v1/feedback", feedbackRoutes);
app.route("/v1/feedback", reviewRoutes);
app.route("/v1", unitRoutes);

app.openAPIRegistry.registerComponent("securitySchemes", "bearer", { type: "http", scheme: "bearer" });
app.doc31("/openapi.json", {
  openapi: "3.1.0",
  info: { title: "edgeprop", version: "1", description: "Neural-network learning as the course teaches it, on Cloudflare Workers." },
});

const HTTP_CODES: Record<number, [string, string]> = {
  400: ["invalid_json", "request body is not valid JSON"],
  404: ["not_found", "no such route"],
  405: ["method_not_allowed", "method not allowed on this route"],
  413: ["payload_too_large", `request body exceeds ${MAX_BODY_BYTES} bytes`],
  415: ["unsupported_media_type", "send the body as JSON with Content-Type: application/json"],
};

app.notFound((c) => c.json({ error: { code: "not_found", message: `no route for ${c.req.method} ${new URL(c.req.url).pathname}` } }, 404));

app.onError((err, c) => {
  if (err instanceof ConfigError) {
    console.error(`edgeprop: misconfigured: ${err.message}`);
    return c.json({ error: { code: "misconfigured", message: err.message } }, 500);
  }
  if (err instanceof ApiError) {
    const body = { error: { code: err.code, message: err.message, ...(err.details === undefined ? {} : { details: err.details }) } };
    return c.json(body, err.status);
  }
  if (err instanceof HTTPException && err.status < 500) {
    const [code, message] = HTTP_CODES[err.status] ?? ["bad_request", err.message];
    return c.json({ error: { code, message } }, err.status as ContentfulStatusCode);
  }
  console.error("unhandled error", err);
  return c.json({ error: { code: "internal", message: "internal error" } }, 500);
});
