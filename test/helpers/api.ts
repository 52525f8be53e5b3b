/** The typed client (src/client.ts) of the Worker under test, for the tests that call the API as a web client would. */
import { exports } from "cloudflare:workers";
import { createClient, type EdgepropClient } from "../../src/client";
import { asNewClient } from "./client";

/** The test configuration's ADMIN_TOKEN (vitest.config.ts). */
export const TEST_ADMIN_TOKEN = "test-admin-token";

/**
 * A client of the Worker (`exports.default.fetch`, so the real local bindings), with `token` as the admin token;
 * each request comes from a client of its own, so that the rate limits never stop a test that is not about them.
 */
export function workerClient(token?: string): EdgepropClient {
  const send: typeof fetch = (input, init) => exports.default.fetch(input, { ...init, headers: asNewClient(Object.fromEntries(new Headers(init?.headers))) });
  return createClient("http://edgeprop", { fetch: send, token });
}
