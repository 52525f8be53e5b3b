/** Admin authorization: `Authorization: Bearer <ADMIN_TOKEN>`, compared in constant time. */
import { createMiddleware } from "hono/factory";
import { timingSafeEqual } from "hono/utils/buffer";
import type { Env } from "../env";
import { ApiError } from "./errors";
import { errorResponse } from "./schemas";

/**
 * Guards writes that cost money or change what is served. Refused (503) when the Worker has no ADMIN_TOKEN, so an
 * unconfigured deployment is never open; 401 without a bearer token, 403 with a wrong one.
 */
export const requireAdmin = createMiddleware<{ Bindings: Env }>(async (c, next) => {
  const token = c.env.ADMIN_TOKEN;
  if (!token) {
    throw new ApiError(503, "admin_not_configured", "admin routes are disabled: the Worker has no ADMIN_TOKEN secret (wrangler secret put ADMIN_TOKEN, or .dev.vars locally)");
  }
  const header = c.req.header("authorization") ?? "";
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (match === null) {
    c.header("WWW-Authenticate", 'Bearer realm="edgeprop"');
    throw new ApiError(401, "unauthorized", "this route needs Authorization: Bearer <ADMIN_TOKEN>");
  }
  if (!(await timingSafeEqual(match[1], token))) throw new ApiError(403, "forbidden", "the bearer token is not the admin token");
  await next();
});

/**
 * Whether a request to a public route comes from the admin (which may see more): false without an Authorization
 * header or without a configured ADMIN_TOKEN; a bearer token that is not the admin token is refused (403), as on
 * admin routes, so that a client learns its token is wrong.
 */
export async function isAdmin(c: { env: Env; req: { header(name: string): string | undefined } }): Promise<boolean> {
  const header = c.req.header("authorization");
  const token = c.env.ADMIN_TOKEN;
  if (header === undefined || !token) return false;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (match === null || !(await timingSafeEqual(match[1], token))) throw new ApiError(403, "forbidden", "the bearer token is not the admin token");
  return true;
}

/** What an admin route spreads into its createRoute: the bearer scheme in /openapi.json, requireAdmin before validation. */
export const adminOnly = { security: [{ bearer: [] }], middleware: requireAdmin };

/** requireAdmin's refusals, for an admin route's responses. */
export const adminRefusals = {
  401: errorResponse("No bearer token"),
  403: errorResponse("Wrong bearer token"),
  503: errorResponse("The Worker has no ADMIN_TOKEN"),
};
