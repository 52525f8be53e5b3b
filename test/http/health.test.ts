import { exports, env } from "cloudflare:workers";
import { expect, test } from "vitest";

test("GET /healthz answers", async () => {
  const res = await exports.default.fetch("http://edgeprop/healthz");
  expect(res.status).toBe(200);
  expect(await res.json()).toMatchObject({ ok: true });
});

test("host files binding serves MNIST", async () => {
  const res = await env.HOST_FILES.fetch("http://host/mnist/t10k-labels-idx1-ubyte");
  expect(new Uint8Array(await res.arrayBuffer()).length).toBe(10008);
});
