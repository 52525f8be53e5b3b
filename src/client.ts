/**
 * A typed client of the edgeprop API, for TypeScript web clients, Node scripts (scripts/train.ts) and the tests:
 * Hono's `hc` over AppType, so every route, its input and its answers are typed end to end, plus `ok()`, which
 * returns a successful answer's body and turns an error answer into one thrown EdgepropError carrying the API's
 * `{"error": {"code", "message"}}`. It imports nothing of Workers at run time (AppType is a type only).
 */
import { hc, type ClientResponse } from "hono/client";
import type { SuccessStatusCode } from "hono/utils/http-status";
import type { AppType } from "./app";

export type { AppType };

/** The typed client: `client.v1.predict.$post({ json: { image } })`, `client.v1.models[":id"].$get({ param: { id } })`, … */
export type EdgepropClient = ReturnType<typeof hc<AppType>>;

/** How createClient calls the API. */
export interface ClientOptions {
  /** The admin token, sent as `Authorization: Bearer <token>` on every request (only admin routes need it). */
  token?: string;
  /** The fetch to call (default: the global one); the tests pass the Worker's own. */
  fetch?: typeof fetch;
  /** More headers for every request. */
  headers?: Record<string, string>;
}

/** An error answer of the API: its status and its `{"error": {"code", "message", "details"?}}`. */
export class EdgepropError extends Error {
  override name = "EdgepropError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    /** Seconds to wait before retrying, from Retry-After (429), or null. */
    readonly retryAfter: number | null = null,
  ) {
    super(message);
  }
}

/** The server could not be reached at all (refused, unknown host, reset): no answer, so no status. */
export class UnreachableError extends Error {
  override name = "UnreachableError";
  constructor(
    readonly url: string,
    /** Why, as the platform says it: e.g. ECONNREFUSED, ENOTFOUND, or the fetch error's message. */
    readonly reason: string,
  ) {
    super(`cannot reach ${url} (${reason})`);
  }
}

/** Why a fetch failed without an answer: Node's undici puts the system error's code in `cause`. */
function reasonOf(error: TypeError): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
  if (typeof cause?.code === "string") return cause.code;
  return typeof cause?.message === "string" ? cause.message : error.message;
}

/** A typed client of the API at `baseUrl` (e.g. `https://edgeprop.example.workers.dev`); see ClientOptions. */
export function createClient(baseUrl: string, options: ClientOptions = {}): EdgepropClient {
  const send = options.fetch ?? fetch;
  const headers = { ...options.headers, ...(options.token ? { authorization: `Bearer ${options.token}` } : {}) };
  const guarded: typeof fetch = async (input, init) => {
    try {
      return await send(input, init);
    } catch (error) {
      // fetch rejects with a TypeError when no answer came at all; anything else (an abort) passes through.
      throw error instanceof TypeError ? new UnreachableError(baseUrl, reasonOf(error)) : error;
    }
  };
  return hc<AppType>(baseUrl, { fetch: guarded, headers });
}

/** The body type of the successful (2xx) answers among a route's answers `R`. */
export type SuccessBody<R> = R extends ClientResponse<infer T, infer S, infer _F> ? (S extends SuccessStatusCode ? T : never) : never;

/** The EdgepropError an error answer stands for (a body without the API's error shape keeps its first 200 characters). */
export async function errorOf(res: Response): Promise<EdgepropError> {
  const text = await res.text();
  let error: { code?: unknown; message?: unknown; details?: unknown } | undefined;
  try {
    error = (JSON.parse(text) as { error?: typeof error }).error;
  } catch {
    error = undefined;
  }
  const retryAfter = res.headers.get("retry-after") === null ? null : Number(res.headers.get("retry-after"));
  if (typeof error?.code === "string" && typeof error.message === "string") return new EdgepropError(res.status, error.code, error.message, error.details, retryAfter);
  return new EdgepropError(res.status, `http_${res.status}`, text.slice(0, 200) || res.statusText, undefined, retryAfter);
}

/**
 * The body of a successful answer, typed from the route: `const { predictions } = await ok(client.v1.predict.$post(…))`.
 * An error answer (4xx, 5xx) throws EdgepropError; an unreachable server, UnreachableError.
 */
export async function ok<R extends ClientResponse<unknown, number, "json">>(response: R | Promise<R>): Promise<SuccessBody<R>> {
  const res = await response;
  if (!res.ok) throw await errorOf(res as unknown as Response);
  return (await res.json()) as SuccessBody<R>;
}
