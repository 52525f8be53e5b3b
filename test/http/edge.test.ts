/**
 * The public edge through the Worker: CORS per CORS_ORIGINS and the route table (admin routes never through "*"),
 * security headers on every answer, and the rate limits through the real local Rate Limiting bindings.
 */
import { env, exports } from "cloudflare:workers";
import { afterEach, describe, expect, test, vi } from "vitest";
import { app } from "../../src/app";
import { parseCorsOrigins } from "../../src/config";
import { CORS_MAX_AGE } from "../../src/routes/cors";
import type { LimiterName } from "../../src/routes/policy";
import { clientKey, LIMITS, NO_CLIENT_IP } from "../../src/routes/rate-limit";
import { API_SECURITY_HEADERS } from "../../src/routes/security-headers";
import { asNewClient, newClientIp } from "../helpers/client";

const OTHER = "https://other.example";
const LISTED = "https://admin.example";

/** Through the Worker as deployed (wrangler.toml: CORS_ORIGINS = "*"). */
const fetchWorker = (path: string, init: RequestInit = {}) => exports.default.fetch(`http://edgeprop${path}`, init);
/** Through the same app with other vars (the bindings are the real local ones). */
const fetchWith = (vars: Record<string, string>, path: string, init: RequestInit = {}) => app.fetch(new Request(`http://edgeprop${path}`, init), { ...env, ...vars });

const preflight = (origin: string, method: string, headers = "content-type") => ({
  method: "OPTIONS",
  headers: { origin, "access-control-request-method": method, "access-control-request-headers": headers },
});

describe("CORS_ORIGINS", () => {
  test.each([
    ["", [], false],
    ["*", [], true],
    [" https://a.example , http://localhost:8787,* ", ["https://a.example", "http://localhost:8787"], true],
  ])("%j parses", (text, named, anyOrigin) => {
    expect(parseCorsOrigins(text)).toEqual({ anyOrigin, named: new Set(named) });
  });

  test.each(["https://a.example/", "https://a.example/app", "HTTPS://A.EXAMPLE", "a.example", "null", "ftp://a.example", "https://a.example,,*", "https://a.example,", "*.example.com"])(
    "%j is refused, naming the entry",
    (text) => {
      expect(() => parseCorsOrigins(text)).toThrow(/CORS_ORIGINS entry ".*" is not "\*" or an origin/);
    },
  );
});

describe("CORS with CORS_ORIGINS = \"*\" (wrangler.toml)", () => {
  test("a public route's preflight: 204, any origin, its methods, Content-Type only, a max age, no credentials", async () => {
    const res = await fetchWorker("/v1/predict", preflight(OTHER, "POST"));
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    expect(res.headers.get("access-control-allow-methods")).toBe("POST");
    expect(res.headers.get("access-control-allow-headers")).toBe("Content-Type");
    expect(res.headers.get("access-control-max-age")).toBe(String(CORS_MAX_AGE));
    expect(res.headers.get("access-control-allow-credentials")).toBeNull();
  });

  test("a public answer, and a public 4xx, carry the origin and expose Retry-After", async () => {
    for (const [body, status] of [[JSON.stringify({ layers: [3, 5, 3] }), 200], ["{", 400]] as const) {
      const res = await fetchWorker("/v1/nn/gradcheck", { method: "POST", headers: asNewClient({ origin: OTHER, "content-type": "application/json" }), body });
      expect(res.status).toBe(status);
      expect(res.headers.get("access-control-allow-origin")).toBe("*");
      expect(res.headers.get("access-control-expose-headers")).toBe("Retry-After");
      await res.arrayBuffer();
    }
  });

  test("an admin route is not opened by \"*\": no Access-Control-Allow-Origin, on the preflight or the answer", async () => {
    for (const [path, method] of [["/v1/runs", "POST"], ["/v1/models/m-x/promote", "POST"], ["/v1/datasets/mnist", "PUT"], ["/v1/cron/watchdog", "POST"]]) {
      const pre = await fetchWorker(path, preflight(OTHER, method, "authorization,content-type"));
      expect(pre.status, path).toBe(204);
      expect(pre.headers.get("access-control-allow-origin"), path).toBeNull();
      const res = await fetchWorker(path, { method, headers: { origin: OTHER } });
      expect(res.status, path).toBe(401);
      expect(res.headers.get("access-control-allow-origin"), path).toBeNull();
    }
    // The same path's public method stays open, and the preflight offers only it.
    const pre = await fetchWorker("/v1/runs", preflight(OTHER, "GET"));
    expect(pre.headers.get("access-control-allow-origin")).toBe("*");
    expect(pre.headers.get("access-control-allow-methods")).toBe("GET");
  });

  test("an unknown route gets no CORS", async () => {
    const res = await fetchWorker("/v1/nope", preflight(OTHER, "POST"));
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("CORS with origins listed by name", () => {
  const vars = { CORS_ORIGINS: `*, ${LISTED}` };

  test("a listed origin may call admin routes: its own origin echoed, Authorization allowed, Vary: Origin", async () => {
    const pre = await fetchWith(vars, "/v1/runs", preflight(LISTED, "POST", "authorization,content-type"));
    expect(pre.status).toBe(204);
    expect(pre.headers.get("access-control-allow-origin")).toBe(LISTED);
    expect(pre.headers.get("access-control-allow-methods")).toBe("GET,POST");
    expect(pre.headers.get("access-control-allow-headers")).toBe("Content-Type,Authorization");
    expect(pre.headers.get("vary")).toContain("Origin");
    expect(pre.headers.get("access-control-allow-credentials")).toBeNull();
    const res = await fetchWith(vars, "/v1/runs", { method: "POST", headers: { origin: LISTED, "content-type": "application/json", authorization: "Bearer test-admin-token" }, body: "{}" });
    expect(res.status).toBe(400);
    expect(res.headers.get("access-control-allow-origin")).toBe(LISTED);
  });

  test("an origin not listed still gets only the public routes", async () => {
    const pre = await fetchWith(vars, "/v1/runs", preflight(OTHER, "POST", "authorization,content-type"));
    expect(pre.headers.get("access-control-allow-origin")).toBeNull();
    const pub = await fetchWith(vars, "/v1/predict", preflight(OTHER, "POST"));
    expect(pub.headers.get("access-control-allow-origin")).toBe("*");
  });

  test("without \"*\", an origin not listed gets nothing, a listed one gets the public routes too", async () => {
    const only = { CORS_ORIGINS: LISTED };
    expect((await fetchWith(only, "/v1/predict", preflight(OTHER, "POST"))).headers.get("access-control-allow-origin")).toBeNull();
    expect((await fetchWith(only, "/v1/predict", preflight(LISTED, "POST"))).headers.get("access-control-allow-origin")).toBe(LISTED);
  });
});

describe("a malformed CORS_ORIGINS", () => {
  afterEach(() => vi.restoreAllMocks());

  test("is logged, and refuses cross-origin requests (503) while same-origin and non-browser ones are served", async () => {
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    const vars = { CORS_ORIGINS: "https://ok.example, https://typo.example/" };
    const res = await fetchWith(vars, "/healthz", { headers: { origin: OTHER } });
    expect(res.status).toBe(503);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("cors_misconfigured");
    expect(body.error.message).toContain('"https://typo.example/"');
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    expect(logged.mock.calls.flat().join(" ")).toContain('CORS_ORIGINS entry "https://typo.example/"');
    expect((await fetchWith(vars, "/v1/predict", preflight("https://ok.example", "POST"))).status).toBe(503);
    expect((await fetchWith(vars, "/healthz", { headers: { origin: "http://edgeprop" } })).status).toBe(200);
    expect((await fetchWith(vars, "/healthz")).status).toBe(200);
  });
});

describe("security headers", () => {
  test("on every kind of API answer: 200, 4xx, 404 and preflight", async () => {
    const answers = [
      await fetchWorker("/healthz"),
      await fetchWorker("/v1/predict", { method: "POST", headers: asNewClient({ "content-type": "application/json" }), body: "[" }),
      await fetchWorker("/v1/nope"),
      await fetchWorker("/v1/predict", preflight(OTHER, "POST")),
    ];
    expect(answers.map((r) => r.status)).toEqual([200, 400, 404, 204]);
    for (const res of answers) {
      for (const [name, value] of Object.entries(API_SECURITY_HEADERS)) expect(res.headers.get(name), name).toBe(value);
      await res.arrayBuffer();
    }
    expect(API_SECURITY_HEADERS["Content-Security-Policy"]).toMatch(/default-src 'none'.*frame-ancestors 'none'/);
  });
});

describe("rate limits", () => {
  test("the client key: IPv4 as it is, IPv6 by its /64, no header → one shared bucket", () => {
    expect(clientKey("203.0.113.7")).toBe("203.0.113.7");
    expect(clientKey("2001:db8:0:12:aaaa::1")).toBe("2001:db8:0:12::/64");
    expect(clientKey("2001:0db8:0000:0012:ffff:ffff:ffff:ffff")).toBe("2001:db8:0:12::/64");
    expect(clientKey("::1")).toBe("0:0:0:0::/64");
    expect(clientKey("::ffff:203.0.113.7")).toBe("::ffff:203.0.113.7");
    expect(clientKey(undefined)).toBe(NO_CLIENT_IP);
    expect(clientKey(" ")).toBe(NO_CLIENT_IP);
  });

  /**
   * Sends limit + 1 requests as one client. The local limiter counts in fixed windows of `period` seconds, so a burst
   * that a window boundary cut is sent again by a new client (Date.now() here brackets the limiter's own clock: it
   * reads before the first request and after the last answer).
   */
  async function burst(limiter: LimiterName, send: (headers: Record<string, string>) => Promise<Response>) {
    const { limit, period } = LIMITS[limiter];
    const windowOf = () => Math.floor(Date.now() / (period * 1000));
    for (let attempt = 0; attempt < 3; attempt++) {
      const headers = { "cf-connecting-ip": newClientIp(), origin: OTHER };
      const before = windowOf();
      const statuses: number[] = [];
      let last: Response | null = null;
      for (let i = 0; i <= limit; i++) {
        last = await send(headers);
        statuses.push(last.status);
        if (i < limit) await last.arrayBuffer();
      }
      if (windowOf() === before) return { statuses, last: last!, headers };
      await last!.arrayBuffer();
    }
    throw new Error(`three bursts in a row were cut by a ${period} s window boundary`);
  }

  const cases: [LimiterName, string, string][] = [
    ["PREDICT_LIMITER", "/v1/predict", "{}"],
    ["FEEDBACK_LIMITER", "/v1/feedback", "{}"],
    ["NN_LIMITER", "/v1/nn/cost", "{}"],
    ["NN_LIMITER", "/v1/nn/gradcheck", "{\"m\": 0}"],
  ];
  test.each(cases)("%s: the binding refuses request limit + 1 to %s: 429, Retry-After, the error shape, CORS", async (limiter, path, body) => {
    const { limit, period } = LIMITS[limiter];
    const post = (headers: Record<string, string>) => fetchWorker(path, { method: "POST", headers: { ...headers, "content-type": "application/json" }, body });
    const { statuses, last, headers } = await burst(limiter, post);
    expect(statuses.slice(0, limit)).toEqual(Array(limit).fill(400));
    expect(last.status).toBe(429);
    expect(last.headers.get("retry-after")).toBe(String(period));
    expect(last.headers.get("access-control-allow-origin")).toBe("*");
    expect(last.headers.get("x-content-type-options")).toBe("nosniff");
    const err = (await last.json()) as { error: { code: string; message: string } };
    expect(err.error.code).toBe("rate_limited");
    expect(err.error.message).toContain(`at most ${limit} requests per ${period} s per client`);
    expect(err.error.message).toContain(path);
    // Another client is not affected; a preflight is never counted.
    expect((await fetchWorker(path, preflight(OTHER, "POST"))).status).toBe(204);
    const other = await post({ ...headers, "cf-connecting-ip": newClientIp() });
    expect(other.status).toBe(400);
    await other.arrayBuffer();
  });

  test("the two nn routes share one limit; routes without a limiter are never refused", async () => {
    const { limit } = LIMITS.NN_LIMITER;
    let sent = 0;
    const { statuses, last } = await burst("NN_LIMITER", (headers) => {
      const path = sent++ % 2 === 0 ? "/v1/nn/cost" : "/v1/nn/gradcheck";
      return fetchWorker(path, { method: "POST", headers: { ...headers, "content-type": "application/json" }, body: "[]" });
    });
    expect(statuses.slice(0, limit)).toEqual(Array(limit).fill(400));
    expect(last.status).toBe(429);
    const ip = newClientIp();
    for (let i = 0; i < 2 * limit; i++) expect((await fetchWorker("/healthz", { headers: { "cf-connecting-ip": ip } })).status).toBe(200);
  });

  test("requests without CF-Connecting-IP share one bucket: limited, never unlimited", async () => {
    const { limit } = LIMITS.FEEDBACK_LIMITER;
    const { statuses, last } = await burst("FEEDBACK_LIMITER", ({ origin }) =>
      fetchWorker("/v1/feedback", { method: "POST", headers: { origin, "content-type": "application/json" }, body: "{}" }),
    );
    // The bucket may hold earlier header-less requests of this window (a previous attempt), so count from the end.
    expect(statuses.filter((s) => s === 400).length).toBeLessThanOrEqual(limit);
    expect(last.status).toBe(429);
  });
});
