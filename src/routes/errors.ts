/**
 * Refusals that belong to HTTP itself (authorization, rate limits, body and work caps, request validation): an
 * error that carries its status. Only the routes and the app throw it; the layers below throw the domain errors of
 * src/errors.ts. src/app.ts turns both (and every other error) into a response in one place.
 */

/** A refusal with its status and code, answered as `{"error": {"code", "message", "details"?}}`. */
export class ApiError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 413 | 415 | 429 | 500 | 503,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/**
 * 413 with code `too_much_work`: `route` does at most `cap` products of `unit` per request (its work cap); `needs`
 * says what this request would take, `advice` what to send instead. Refused before the work starts.
 */
export function tooMuchWork(route: string, cap: number, unit: string, needs: string, advice: string): ApiError {
  return new ApiError(413, "too_much_work", `${route} does at most ${cap} ${unit} products per request; ${needs}: ${advice}`);
}

/** 400 with code `invalid_request`. */
export function badRequest(message: string, details?: unknown): ApiError {
  return new ApiError(400, "invalid_request", message, details);
}
