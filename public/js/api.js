/**
 * The HTTP API of the Worker, as the page uses it. Every call resolves to the parsed JSON body or throws an
 * ApiError carrying the API's `{ error: { code, message } }`.
 *
 * The admin token lives in this tab's sessionStorage only (never localStorage, never a cookie).
 */

const TOKEN_KEY = "edgeprop.adminToken";
/** Fallback when sessionStorage is unavailable: the token then lasts until the page reloads. */
let memoryToken = "";

/** An error answered by the API (status ≥ 400), or a network failure (status 0, code "network"). */
export class ApiError extends Error {
  /** @param {number} status @param {string} code @param {string} message */
  constructor(status, code, message) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
}

/** The admin token typed in this tab, or "". */
export function getToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY) ?? "";
  } catch {
    return "";
  }
}

/** Keeps the admin token for this tab (an empty string forgets it). */
export function setToken(token) {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // Storage refused (storage disabled): memoryToken below still holds it.
  }
  memoryToken = token;
}

function currentToken() {
  return getToken() || memoryToken;
}

/** Whether an admin token is typed in this tab. */
export const hasToken = () => currentToken() !== "";

/**
 * Calls the API. `body` is sent as JSON; `admin` adds the bearer token (true: and fails early without one;
 * "optional": when one is typed, for a public route that tells an admin more).
 * @param {string} path
 * @param {{ method?: string, body?: unknown, admin?: boolean | "optional", signal?: AbortSignal }} [options]
 */
export async function api(path, { method = "GET", body, admin = false, signal } = {}) {
  const headers = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (admin) {
    const token = currentToken();
    if (!token && admin !== "optional") throw new ApiError(401, "no_token", "Type the admin token first (at the top of the page).");
    if (token) headers.authorization = `Bearer ${token}`;
  }
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal });
  } catch (err) {
    if (err?.name === "AbortError") throw err;
    throw new ApiError(0, "network", "The server could not be reached.");
  }
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) {
    const e = data?.error;
    throw new ApiError(res.status, e?.code ?? `http_${res.status}`, e?.message ?? `${res.status} ${res.statusText}`);
  }
  return data;
}

/** Decodes the base64 `pixels` of a units answer into bytes. */
export function decodeBase64(b64) {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
