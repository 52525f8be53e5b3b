/**
 * CORS for the API, on Hono's `cors` middleware. CORS_ORIGINS is a comma list of exact origins
 * (`https://app.example.com`) and/or `*`: a listed origin may call every route, `*` opens the public routes only
 * (admin routes, per src/routes/policy.ts, never answer a browser through `*`). A preflight is answered 204 with the
 * methods that origin may use on that path, the headers it may send (`Content-Type`; `Authorization` for listed
 * origins only) and Access-Control-Max-Age. No credentials: the admin token is a bearer header, never a cookie.
 * A malformed entry is logged and every cross-origin request refused (503) until the var is fixed; the var is parsed
 * by src/config.ts.
 */
import { cors } from "hono/cors";
import { createMiddleware } from "hono/factory";
import type { Context, MiddlewareHandler } from "hono";
import { ConfigError, configOf, type CorsOrigins } from "../config";
import type { Env } from "../env";
import { ApiError } from "./errors";
import { classify, methodsAt, type RouteClass } from "./policy";

/** Seconds a browser may cache a preflight answer: a changed CORS_ORIGINS reaches browsers within this. */
export const CORS_MAX_AGE = 600;

const logged = new WeakSet<ConfigError>();

/** CORS_ORIGINS from the config, or its error, logged the first time it is seen. */
function corsConfig(env: Env): CorsOrigins | ConfigError {
  try {
    return configOf(env).corsOrigins;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    if (!logged.has(err)) console.error(`edgeprop: ${err.message}; every cross-origin request is refused until CORS_ORIGINS is fixed`);
    logged.add(err);
    return err;
  }
}

/** Whether `origin` may call a route of class `cls` under `config`. */
function mayCall(config: CorsOrigins, origin: string, cls: RouteClass): boolean {
  return config.named.has(origin) || (config.anyOrigin && !cls.admin);
}

/** The method the browser wants to use: the request's own, or the one a preflight asks about. */
function wantedMethod(c: Context): string {
  return c.req.method === "OPTIONS" ? (c.req.header("access-control-request-method") ?? "") : c.req.method;
}

/** The two `cors` middlewares for one config: for listed origins (may send Authorization) and for `*`. */
function corsFor(config: CorsOrigins): { named: MiddlewareHandler; anyOrigin: MiddlewareHandler } {
  const shared = {
    origin: (origin: string, c: Context) => {
      const cls = classify(wantedMethod(c), c.req.path);
      if (origin === "" || cls === null || !mayCall(config, origin, cls)) return null;
      return config.named.has(origin) ? origin : "*";
    },
    allowMethods: (origin: string, c: Context) => [...methodsAt(c.req.path)].filter(([, cls]) => mayCall(config, origin, cls)).map(([m]) => m),
    exposeHeaders: ["Retry-After"],
    maxAge: CORS_MAX_AGE,
  };
  return {
    named: cors({ ...shared, allowHeaders: ["Content-Type", "Authorization"] }),
    anyOrigin: cors({ ...shared, allowHeaders: ["Content-Type"] }),
  };
}

const middlewares = new WeakMap<CorsOrigins, ReturnType<typeof corsFor>>();

/** The API's CORS: headers on answers (errors included) and 204 preflights, per CORS_ORIGINS and the route table. */
export const apiCors = createMiddleware<{ Bindings: Env }>(async (c, next) => {
  const config = corsConfig(c.env);
  const origin = c.req.header("origin");
  if (config instanceof ConfigError) {
    if (origin !== undefined && origin !== new URL(c.req.url).origin) {
      throw new ApiError(503, "cors_misconfigured", `cross-origin requests are refused: ${config.message}`);
    }
    return next();
  }
  let pair = middlewares.get(config);
  if (pair === undefined) middlewares.set(config, (pair = corsFor(config)));
  return (origin !== undefined && config.named.has(origin) ? pair.named : pair.anyOrigin)(c, next);
});
