/**
 * The edge policy of every API route, in one table: whether (method, path) is an admin route (it needs the admin
 * token, and browsers reach it cross-origin only from origins listed by name in CORS_ORIGINS, never through "*"),
 * which rate limit counts it, and how large an anonymous body may be. CORS (cors.ts), the rate limits
 * (rate-limit.ts) and the anonymous body limits (src/app.ts) all read it; test/http/policy.test.ts checks it against
 * the routes the app registers and against requireAdmin. A (method, path) missing here is refused cross-origin.
 */

/** The Workers Rate Limiting bindings of wrangler.toml, one per class of public route. */
export type LimiterName = "PREDICT_LIMITER" | "FEEDBACK_LIMITER" | "NN_LIMITER";

/** What the edge enforces for one method of one route. */
export interface RouteClass {
  /** Behind requireAdmin: cross-origin only from origins listed by name. */
  readonly admin: boolean;
  /** The rate limit that counts each request, per client; null: none. */
  readonly limiter: LimiterName | null;
  /** Largest body accepted (bytes), tighter than the API's MAX_BODY_BYTES; absent: that default. */
  readonly maxBodyBytes?: number;
}

type Method = "GET" | "POST" | "PUT" | "DELETE";

// Largest anonymous bodies (bytes). Parsing and validating JSON costs CPU and memory in proportion to its size, so
// each anonymous route takes what its largest valid request needs, not the API's 16 MiB (npm run bench:edge: a full
// 4 MiB cost request takes about 0.1 s of CPU).
/** Predict: 256 images of 784 pixels at full double precision (≤ 22 bytes a pixel: 4.4 MB). */
export const MAX_PREDICT_BODY_BYTES = 5 * 1024 * 1024;
/** A correction: one such image (about 17 KB). */
export const MAX_FEEDBACK_BODY_BYTES = 64 * 1024;
/** The cost API: e.g. 400-25-10's 10 285 parameters and 1 000 rows of 400 features at 8 characters each. */
export const MAX_COST_BODY_BYTES = 4 * 1024 * 1024;
/** The gradient check: a few settings. */
export const MAX_GRADCHECK_BODY_BYTES = 64 * 1024;

const PUBLIC: RouteClass = { admin: false, limiter: null };
const ADMIN: RouteClass = { admin: true, limiter: null };
const limited = (limiter: LimiterName, maxBodyBytes: number): RouteClass => ({ admin: false, limiter, maxBodyBytes });

/**
 * Every API route: path pattern (Hono's syntax; a trailing `/*` matches any rest) → method → class. A path is looked
 * up in this order and the first pattern that matches it and lists the method wins, so literal paths come before
 * the parameterized ones they overlap (`/v1/feedback/pending` before `/v1/feedback/:id`).
 */
export const ROUTE_POLICY: Readonly<Record<string, Partial<Record<Method, RouteClass>>>> = {
  "/healthz": { GET: PUBLIC },
  "/openapi.json": { GET: PUBLIC },
  "/v1/predict": { POST: limited("PREDICT_LIMITER", MAX_PREDICT_BODY_BYTES) },
  "/v1/nn/cost": { POST: limited("NN_LIMITER", MAX_COST_BODY_BYTES) },
  "/v1/nn/gradcheck": { POST: limited("NN_LIMITER", MAX_GRADCHECK_BODY_BYTES) },
  "/v1/feedback": { GET: PUBLIC, POST: limited("FEEDBACK_LIMITER", MAX_FEEDBACK_BODY_BYTES) },
  // The review of corrections (admin).
  "/v1/feedback/pending": { GET: ADMIN },
  "/v1/feedback/accepted": { GET: ADMIN },
  "/v1/feedback/review": { POST: ADMIN },
  "/v1/feedback/recount": { POST: ADMIN },
  "/v1/feedback/:id": { DELETE: ADMIN },
  "/v1/runs": { GET: PUBLIC, POST: ADMIN },
  "/v1/runs/:id": { GET: PUBLIC, DELETE: ADMIN },
  "/v1/runs/:id/cancel": { POST: ADMIN },
  "/v1/runs/:id/units": { GET: PUBLIC },
  "/v1/runs/:id/augmented": { GET: PUBLIC },
  "/v1/models": { GET: PUBLIC, POST: ADMIN },
  "/v1/models/:id": { GET: PUBLIC, DELETE: ADMIN },
  "/v1/models/:id/weights": { GET: PUBLIC },
  "/v1/models/:id/units": { GET: PUBLIC },
  "/v1/models/:id/promote": { POST: ADMIN },
  "/v1/datasets": { GET: PUBLIC },
  "/v1/datasets/:name": { GET: PUBLIC, PUT: ADMIN, DELETE: ADMIN },
  "/v1/refresh": { GET: PUBLIC, POST: ADMIN },
  "/v1/handwriting": { GET: PUBLIC },
  "/v1/cron/*": { POST: ADMIN },
};

const COMPILED = Object.entries(ROUTE_POLICY).map(([pattern, methods]) => {
  const rest = pattern.endsWith("/*");
  const body = (rest ? pattern.slice(0, -2) : pattern)
    .split("/")
    .map((segment) => (segment.startsWith(":") ? "[^/]+" : segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
    .join("/");
  return { re: new RegExp(`^${body}${rest ? "/.+" : ""}$`), methods };
});

/** HEAD is answered by the GET handler. */
const routed = (method: string): string => (method.toUpperCase() === "HEAD" ? "GET" : method.toUpperCase());

/** The class of `method` on `path` (a request path or a route pattern), or null when no route takes it. */
export function classify(method: string, path: string): RouteClass | null {
  const m = routed(method) as Method;
  for (const { re, methods } of COMPILED) if (methods[m] !== undefined && re.test(path)) return methods[m];
  return null;
}

/** Every method some route takes on `path`, with its class (the first pattern listing a method wins, as in classify). */
export function methodsAt(path: string): Map<Method, RouteClass> {
  const out = new Map<Method, RouteClass>();
  for (const { re, methods } of COMPILED) {
    if (!re.test(path)) continue;
    for (const [m, cls] of Object.entries(methods) as [Method, RouteClass][]) if (!out.has(m)) out.set(m, cls);
  }
  return out;
}
