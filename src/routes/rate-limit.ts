/**
 * Rate limits per client on the public routes that do work (src/routes/policy.ts names the limiter of each), with
 * the Workers Rate Limiting bindings. Over the limit: 429 `rate_limited` with Retry-After.
 *
 * The client is CF-Connecting-IP, which Cloudflare sets on every request from the internet (a client cannot forge
 * it there); an IPv6 client counts by its /64, the block one subscriber usually holds. A request without the header
 * can only come from inside Cloudflare (a service binding) or a local test: such requests share one bucket, so that
 * a missing header never means "unlimited".
 */
import { createMiddleware } from "hono/factory";
import type { Env } from "../env";
import { ApiError } from "./errors";
import { classify, type LimiterName } from "./policy";

/**
 * The limits of wrangler.toml's [[ratelimits]] (the binding does not expose them; test/http/edge.test.ts checks
 * that the bindings refuse exactly past these counts). `period` is the window in seconds (10 or 60).
 */
export const LIMITS: Readonly<Record<LimiterName, { limit: number; period: 10 | 60; routes: string }>> = {
  PREDICT_LIMITER: { limit: 100, period: 10, routes: "POST /v1/predict" },
  FEEDBACK_LIMITER: { limit: 10, period: 60, routes: "POST /v1/feedback" },
  NN_LIMITER: { limit: 20, period: 60, routes: "POST /v1/nn/cost and /v1/nn/gradcheck (counted together)" },
};

/** The bucket of requests without CF-Connecting-IP. */
export const NO_CLIENT_IP = "no-client-ip";

/** The first four groups of an IPv6 address (its /64), or null when `ip` is not one in plain hex form. */
function ipv6Prefix64(ip: string): string | null {
  const halves = ip.toLowerCase().split("::");
  if (halves.length > 2) return null;
  const head = halves[0] === "" ? [] : halves[0].split(":");
  const tail = halves.length === 1 || halves[1] === "" ? [] : halves[1].split(":");
  const missing = 8 - head.length - tail.length;
  if ((halves.length === 1 && missing !== 0) || missing < 0) return null;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill("0"), ...tail];
  if (!groups.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return null;
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, "")).join(":")}::/64`;
}

/** The rate-limit key of a client: its IPv4 address, its IPv6 /64, or NO_CLIENT_IP. */
export function clientKey(connectingIp: string | undefined): string {
  const ip = connectingIp?.trim() ?? "";
  if (ip === "") return NO_CLIENT_IP;
  return (ip.includes(":") && !ip.includes(".") ? ipv6Prefix64(ip) : null) ?? ip.slice(0, 64);
}

/** Counts a request against its route's limiter, if any; past the limit, 429 with Retry-After (the window). */
export const rateLimits = createMiddleware<{ Bindings: Env }>(async (c, next) => {
  const limiter = c.req.method === "OPTIONS" ? null : classify(c.req.method, c.req.path)?.limiter;
  if (limiter) {
    const { success } = await c.env[limiter].limit({ key: clientKey(c.req.header("cf-connecting-ip")) });
    if (!success) {
      const { limit, period, routes } = LIMITS[limiter];
      c.header("Retry-After", String(period));
      throw new ApiError(429, "rate_limited", `rate limit exceeded: at most ${limit} requests per ${period} s per client to ${routes}; retry after ${period} s`);
    }
  }
  await next();
});
