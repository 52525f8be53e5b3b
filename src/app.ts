/**
 * Composes the Hono app: the public edge (security headers, CORS, rate limits, body limits), the routes, and the
 * one place where errors become responses. The routes are registered in one chained expression, whose type is
 * AppType: what `hc<AppType>` (src/client.ts) knows of every route.
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { except } from "hono/combine";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { ConfigError } from "./config";
import { DatasetInputError } from "./data/build";
import { DatasetFormatError } from "./data/shards";
import type { Env } from "./env";
import { CapacityError, ConflictError, DomainError, InvalidInputError, NotFoundError } from "./errors";
import { ModelFormatError } from "./nn/model-codec";
import { StateFormatError } from "./nn/state-codec";
import { apiCors } from "./routes/cors";
import { cronRoutes } from "./routes/cron";
import { datasetRoutes } from "./routes/datasets";
import { ApiError } from "./routes/errors";
import { feedbackRoutes } from "./routes/feedback";
import { modelRoutes } from "./routes/models";
import { nnRoutes } from "./routes/nn";
import { classify } from "./routes/policy";
import { predictRoutes } from "./routes/predict";
import { rateLimits } from "./routes/rate-limit";
import { reviewRoutes } from "./routes/review";
import { refreshRoutes } from "./routes/refresh";
import { handwritingRoutes } from "./routes/handwriting";
import { runRoutes } from "./routes/runs";
import { beginRequest } from "./training/yielding";
import { securityHeaders } from "./routes/security-headers";
import { unitRoutes } from "./routes/units";
import { validationHook } from "./routes/validation";
import { getServingId } from "./storage/models";
import { CheckpointFormatError } from "./training/checkpoint";

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

/** Counts the request as in flight while it is served: a training step on this isolate waits for it between batches. */
const servingFirst: MiddlewareHandler = async (_c, next) => {
  const end = beginRequest();
  try {
    await next();
  } finally {
    end();
  }
};

// Training waits for requests (src/training/yielding.ts). The public edge, outermost first: security headers on every answer; CORS, so that the refusals below carry it;
// the rate limits; then the body limits (src/routes/policy.ts: tighter for anonymous routes; dataset uploads have
// their own, larger one in src/routes/datasets.ts).
app.use("*", servingFirst, securityHeaders, apiCors, rateLimits);
app.use(
  "/v1/*",
  except(["/v1/datasets", "/v1/datasets/*"], (c, next) => limitBody(classify(c.req.method, c.req.path)?.maxBodyBytes ?? MAX_BODY_BYTES)(c, next)),
);

const healthRoute = createRoute({
  method: "get", path: "/healthz", summary: "Liveness, and the served model's id as the edge sees it",
  responses: {
    200: { description: "Alive", content: { "application/json": { schema: z.object({ ok: z.literal(true), servingModelId: z.string().nullable() }).openapi("Health") } } },
  },
});

const OPENAPI_PATH = "/openapi.json";

// One chained expression (sub-apps mounted with chained .route() calls): its type carries every route, for hc.
const routes = app
  .openapi(healthRoute, async (c) => c.json({ ok: true as const, servingModelId: await getServingId(c.env.SERVING_KV) }, 200))
  .route("/v1/nn", nnRoutes)
  .route("/v1/datasets", datasetRoutes)
  .route("/v1/runs", runRoutes)
  .route("/v1/models", modelRoutes)
  .route("/v1/predict", predictRoutes)
  .route("/v1/cron", cronRoutes)
  .route("/v1/feedback", feedbackRoutes)
  .route("/v1/feedback", reviewRoutes)
  .route("/v1/refresh", refreshRoutes)
  .route("/v1/handwriting", handwritingRoutes)
  .route("/v1", unitRoutes)
  .doc31(OPENAPI_PATH, {
    openapi: "3.1.0",
    info: { title: "edgeprop", version: "1", description: "Neural-network learning as the course teaches it, on Cloudflare Workers." },
  });

/** The app's type: every route with its input and its answers, for Hono's typed client (`hc<AppType>`, src/client.ts). */
export type AppType = typeof routes;

app.openAPIRegistry.registerComponent("securitySchemes", "bearer", { type: "http", scheme: "bearer" });
app.openAPIRegistry.registerPath({
  method: "get", path: OPENAPI_PATH, summary: "This document: the API as OpenAPI 3.1, from the schemas that validate the requests",
  responses: { 200: { description: "The OpenAPI document", content: { "application/json": { schema: z.object({}).passthrough() } } } },
});

const HTTP_CODES: Record<number, [string, string]> = {
  400: ["invalid_json", "request body is not valid JSON"],
  404: ["not_found", "no such route"],
  405: ["method_not_allowed", "method not allowed on this route"],
  413: ["payload_too_large", `request body exceeds ${MAX_BODY_BYTES} bytes`],
  415: ["unsupported_media_type", "send the body as JSON with Content-Type: application/json"],
};

app.notFound((c) => c.json({ error: { code: "not_found", message: `no route for ${c.req.method} ${new URL(c.req.url).pathname}` } }, 404));

/** A class of errors (abstract ones included). */
type ErrorClass = abstract new (...args: never[]) => Error;

/**
 * The one map from the errors the layers below throw to HTTP: class, status, code (null: the DomainError's own code),
 * first match wins; ApiError carries its own status. Format errors are stored data that
 * does not decode: the server's fault (500, logged), never the client's. A full store (507) is a state, not a fault.
 */
const ERROR_STATUS: readonly (readonly [ErrorClass, ContentfulStatusCode, string | null])[] = [
  [ConfigError, 500, "misconfigured"],
  [InvalidInputError, 400, null],
  [DatasetInputError, 400, "invalid_request"],
  [NotFoundError, 404, null],
  [ConflictError, 409, null],
  [CapacityError, 507, null],
  [ModelFormatError, 500, "model_unreadable"],
  [DatasetFormatError, 500, "dataset_unreadable"],
  [CheckpointFormatError, 500, "checkpoint_unreadable"],
  [StateFormatError, 500, "checkpoint_unreadable"],
];

/** The answer to `err`: its status and `{"error": {"code", "message", "details"?}}`. */
function errorAnswer(err: Error): { status: ContentfulStatusCode; code: string; message: string; details?: unknown } {
  if (err instanceof ApiError) return { status: err.status, code: err.code, message: err.message, details: err.details };
  const mapped = ERROR_STATUS.find(([cls]) => err instanceof cls);
  if (mapped !== undefined) {
    const [, status, code] = mapped;
    if (status === 500) console.error(`${err.name}: ${err.message}`);
    const details = err instanceof DomainError ? err.details : err instanceof DatasetInputError ? { field: err.field } : undefined;
    return { status, code: code ?? (err as DomainError).code, message: err.message, details };
  }
  if (err instanceof HTTPException && err.status < 500) {
    const [code, message] = HTTP_CODES[err.status] ?? ["bad_request", err.message];
    return { status: err.status as ContentfulStatusCode, code, message };
  }
  console.error("unhandled error", err);
  return { status: 500, code: "internal", message: "internal error" };
}

app.onError((err, c) => {
  const { status, code, message, details } = errorAnswer(err);
  return c.json({ error: { code, message, ...(details === undefined ? {} : { details }) } }, status);
});
