import { describe, expect, test } from "vitest";
import { beginRequest, breathe, MAX_PAUSE_MS, requestsInFlight } from "../../src/training/yielding";
import { app } from "../../src/app";
import { env } from "cloudflare:test";

const tick = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe("serving before training", () => {
  test("with no request in flight, breathe lets queued work run and returns", async () => {
    const order: string[] = [];
    const queued = tick(0).then(() => order.push("queued"));
    await breathe();
    order.push("step");
    await queued;
    expect(order).toEqual(["queued", "step"]);
  });

  test("a step waits between batches until the requests in flight have ended", async () => {
    const end = beginRequest();
    let resumed = false;
    const pause = breathe().then(() => (resumed = true));
    await tick(2);
    expect(resumed).toBe(false);
    end();
    end(); // a second call changes nothing
    await pause;
    expect(resumed).toBe(true);
    expect(requestsInFlight()).toBe(0);
  });

  test("it waits for the last of several requests", async () => {
    const a = beginRequest();
    const b = beginRequest();
    let resumed = false;
    const pause = breathe().then(() => (resumed = true));
    a();
    await tick(1);
    expect(resumed).toBe(false);
    b();
    await pause;
    expect(resumed).toBe(true);
  });

  test(`a request that never ends holds a step up for at most MAX_PAUSE_MS (${MAX_PAUSE_MS} ms) at a time`, async () => {
    const end = beginRequest();
    await breathe(); // resolves on its own: training slows down under requests, never stops
    expect(requestsInFlight()).toBe(1);
    end();
  });

  test("the app counts a request as in flight while it is served, and not after", async () => {
    let during = -1;
    const res = await app.request("/healthz", {}, { ...env, SERVING_KV: new Proxy(env.SERVING_KV, {
      get(target, key) {
        if (key === "get") during = requestsInFlight();
        const v = Reflect.get(target, key);
        return typeof v === "function" ? v.bind(target) : v;
      },
    }) });
    expect(res.status).toBe(200);
    expect(during).toBe(1);
    expect(requestsInFlight()).toBe(0);
  });
});
