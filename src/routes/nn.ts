/** The course's numeric core over HTTP, in float64: the cost function and the gradient check. */
import { createRoute, OpenAPIHono, z, type RouteHandler } from "@hono/zod-openapi";
import type { Env } from "../env";
import { checkGradients } from "../nn/gradcheck";
import { createLayout, parameterCount } from "../nn/layout";
import { nnCost } from "../nn/network";
import { Lambda, Layers, LossName } from "../training/fields";
import { tooMuchWork } from "./errors";
import { errorResponse } from "./schemas";
import { jsonBody, validationHook } from "./validation";

/** Largest X accepted by the cost API (rows × columns); the body limit caps it too. */
export const MAX_COST_ENTRIES = 4_000_000;
/**
 * Most work of one cost request, in example × parameter products (rows × parameter count). Forward and backward run
 * at 3–4 ns per product in float64 for dense layers, more for wide layers of few inputs (a sigmoid per unit and row):
 * `npm run bench:edge` measures the worst allowed request at 0.2–0.4 s of CPU.
 */
export const MAX_COST_WORK = 20_000_000;
/** Largest network of the cost API: its answer holds one gradient number per parameter (~20 bytes of JSON each). */
export const MAX_COST_PARAMS = 250_000;
/** Largest network the gradient check runs: it evaluates the cost 2 × (parameter count) times. */
export const MAX_GRADCHECK_PARAMS = 1_000;
/** Most examples of the gradient check's debug problem. */
export const MAX_GRADCHECK_M = 50;
/** Most work of one gradient check: 2 × P cost evaluations of m × P products each, i.e. 2·m·P² (about 0.1 s). */
export const MAX_GRADCHECK_WORK = 20_000_000;

const CostRequest = z
  .object({
    layers: Layers,
    params: z.array(z.number({ error: "params must hold finite numbers" }), { error: "params must be an array of numbers" })
      .openapi({ description: "[Θ1(:); Θ2(:); …], each Θ(l) (s(l+1) × (s(l)+1)) unrolled column-major as Octave's Theta(:)." }),
    X: z.array(z.array(z.number({ error: "X must hold finite numbers" }), { error: "each row of X must be an array of numbers" }), { error: "X must be an array of rows" })
      .min(1, { error: "X needs at least one row" })
      .openapi({ description: "m rows of s1 features." }),
    y: z.array(z.number().int({ error: "labels must be integers" }), { error: "y must be an array of labels" })
      .openapi({ description: "m labels in 0..K−1 (K = last layer size)." }),
    lambda: Lambda.default(0),
    loss: LossName.default("sigmoid"),
  })
  .strict()
  .superRefine((b, ctx) => {
    const expected = parameterCount(b.layers);
    if (expected > MAX_COST_PARAMS) {
      ctx.addIssue({ code: "custom", path: ["layers"], message: `the cost API allows at most ${MAX_COST_PARAMS} parameters; layers ${JSON.stringify(b.layers)} have ${expected}` });
      return;
    }
    if (b.params.length !== expected) {
      ctx.addIssue({ code: "custom", path: ["params"], message: `params has ${b.params.length} numbers; layers ${JSON.stringify(b.layers)} need ${expected}` });
    }
    const D = b.layers[0];
    const K = b.layers[b.layers.length - 1];
    if (b.X.length * D > MAX_COST_ENTRIES) {
      ctx.addIssue({ code: "custom", path: ["X"], message: `X is too large: ${b.X.length} × ${D} entries, at most ${MAX_COST_ENTRIES}` });
    }
    const ragged = b.X.findIndex((row) => row.length !== D);
    if (ragged >= 0) {
      ctx.addIssue({ code: "custom", path: ["X", ragged], message: `row has ${b.X[ragged].length} numbers, expected ${D} (layers[0]); X must not be ragged` });
    }
    if (b.y.length !== b.X.length) {
      ctx.addIssue({ code: "custom", path: ["y"], message: `y has ${b.y.length} labels, X has ${b.X.length} rows` });
    }
    const bad = b.y.findIndex((label) => label < 0 || label >= K);
    if (bad >= 0) {
      ctx.addIssue({ code: "custom", path: ["y", bad], message: `label ${b.y[bad]} is out of range 0..${K - 1}` });
    }
  })
  .openapi("CostRequest");

const CostResponse = z
  .object({ cost: z.number(), gradient: z.array(z.number()).openapi({ description: "∂J/∂params in the unroll order of params." }) })
  .openapi("CostResponse");

const GradcheckRequest = z
  .object({
    layers: Layers.default([3, 5, 3]),
    lambda: Lambda.default(0),
    m: z.number().int().min(1).max(MAX_GRADCHECK_M, { error: `m must be at most ${MAX_GRADCHECK_M}` }).default(5),
    loss: LossName.default("sigmoid"),
  })
  .strict()
  .superRefine((b, ctx) => {
    const count = parameterCount(b.layers);
    if (count > MAX_GRADCHECK_PARAMS) {
      ctx.addIssue({ code: "custom", path: ["layers"], message: `the gradient check allows at most ${MAX_GRADCHECK_PARAMS} parameters; layers ${JSON.stringify(b.layers)} have ${count}` });
    }
  })
  .openapi("GradcheckRequest");

const GradcheckResponse = z
  .object({
    relativeDifference: z.number(),
    cost: z.number(),
    numerical: z.array(z.number()),
    analytical: z.array(z.number()),
    layers: z.array(z.number()),
    lambda: z.number(),
    m: z.number(),
    loss: z.string(),
  })
  .openapi("GradcheckResponse");

const errors = {
  400: errorResponse("Invalid input"),
  413: errorResponse("Body too large (payload_too_large), or more work than one request may do (too_much_work)"),
  429: errorResponse("Rate limited (rate_limited): see Retry-After"),
  415: errorResponse("Body is not JSON"),
};

const costRoute = createRoute({
  method: "post",
  path: "/cost",
  summary: "The course's cost J and its gradient (float64)",
  request: { body: jsonBody(CostRequest) },
  responses: { 200: { description: "J and ∂J/∂params", content: { "application/json": { schema: CostResponse } } }, ...errors },
});

const gradcheckRoute = createRoute({
  method: "post",
  path: "/gradcheck",
  summary: "The course's gradient check on its small debug network",
  request: { body: jsonBody(GradcheckRequest) },
  responses: { 200: { description: "Backpropagation against central differences", content: { "application/json": { schema: GradcheckResponse } } }, ...errors },
});

type Bindings = { Bindings: Env };

const cost: RouteHandler<typeof costRoute, Bindings> = (c) => {
  const b = c.req.valid("json");
  const P = parameterCount(b.layers);
  const m = b.X.length;
  if (m * P > MAX_COST_WORK) {
    const rows = Math.floor(MAX_COST_WORK / P);
    throw tooMuchWork("POST /v1/nn/cost", MAX_COST_WORK, "example × parameter", `${m} rows × ${P} parameters need ${m * P}`, rows >= 1 ? `send at most ${rows} rows per request for these layers` : "use a smaller network");
  }
  const layout = createLayout(b.layers);
  const D = b.layers[0];
  const X = new Float64Array(b.X.length * D);
  b.X.forEach((row, r) => X.set(row, r * D));
  const gradient = new Float64Array(layout.count);
  const J = nnCost(layout, b.loss, Float64Array.from(b.params), X, b.y, b.lambda, gradient);
  return c.json({ cost: J, gradient: Array.from(gradient) }, 200);
};

const gradcheck: RouteHandler<typeof gradcheckRoute, Bindings> = (c) => {
  const b = c.req.valid("json");
  const P = parameterCount(b.layers);
  if (2 * b.m * P * P > MAX_GRADCHECK_WORK) {
    const m = Math.floor(MAX_GRADCHECK_WORK / (2 * P * P));
    throw tooMuchWork("POST /v1/nn/gradcheck", MAX_GRADCHECK_WORK, "example × parameter", `2 × ${P} cost evaluations of ${b.m} rows × ${P} parameters need ${2 * b.m * P * P}`, m >= 1 ? `use m ≤ ${m} for these layers` : "use a smaller network");
  }
  const check = checkGradients(b.layers, b.lambda, b.m, b.loss);
  return c.json(
    {
      relativeDifference: check.relativeDifference,
      cost: check.cost,
      numerical: Array.from(check.numerical),
      analytical: Array.from(check.analytical),
      layers: b.layers,
      lambda: b.lambda,
      m: b.m,
      loss: b.loss,
    },
    200,
  );
};

/** POST /v1/nn/cost and POST /v1/nn/gradcheck. */
export const nnRoutes = new OpenAPIHono<Bindings>({ defaultHook: validationHook }).openapi(costRoute, cost).openapi(gradcheckRoute, gradcheck);
