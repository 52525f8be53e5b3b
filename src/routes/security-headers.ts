/**
 * Security headers on every answer of the Worker (JSON only: it never serves a document). The page and its files
 * are static assets, which get theirs from public/_headers: the same nosniff, referrer and framing rules, and a CSP
 * that lets the page load its own scripts, styles and API calls and nothing else.
 */
import { createMiddleware } from "hono/factory";

/** The headers, as sent. `default-src 'none'`: a JSON answer opened as a document may load and run nothing. */
export const API_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "X-Frame-Options": "DENY",
};

/** Sets API_SECURITY_HEADERS on the answer, whatever it is (errors, 404s and preflights included). */
export const securityHeaders = createMiddleware(async (c, next) => {
  await next();
  for (const [name, value] of Object.entries(API_SECURITY_HEADERS)) c.header(name, value);
});
