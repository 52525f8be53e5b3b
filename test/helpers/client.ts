/**
 * Distinct clients for the rate limits. The limits count per CF-Connecting-IP, and requests without it share one
 * bucket; a test that is not about the limits sends each request as a client of its own, so that its volume never
 * meets the production limits of wrangler.toml (test/http/edge.test.ts is about the limits themselves). The local
 * limiters keep their counts per test file.
 */
let clients = 0;

/** A CF-Connecting-IP no other request of this test file has used. */
export function newClientIp(): string {
  clients++;
  return `10.${(clients >> 16) & 255}.${(clients >> 8) & 255}.${clients & 255}`;
}

/** `headers` plus a CF-Connecting-IP of a new client. */
export function asNewClient(headers: Record<string, string> = {}): Record<string, string> {
  return { ...headers, "cf-connecting-ip": newClientIp() };
}
