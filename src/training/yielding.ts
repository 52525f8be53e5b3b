/**
 * Serving before training in one isolate. A training step runs on the isolate's only thread, batch by batch, and lets
 * other work run between batches (`breathe`). A timer of 0 ms alone is not enough: a request waits on I/O several
 * times (rate limit, serving pointer, model) and each of its continuations would queue behind another batch. So the
 * app counts the requests it is serving (`beginRequest`), and between batches a step waits until none is left, for at
 * most MAX_PAUSE_MS at a time, so that a stream of requests slows training down but never stops it.
 */

/** The longest a step waits for the requests in flight before it trains one more batch anyway. */
export const MAX_PAUSE_MS = 25;

let serving = 0;
let waiting: Array<() => void> = [];

/** Counts a request as being served until the returned function is called (once; later calls do nothing). */
export function beginRequest(): () => void {
  serving++;
  let ended = false;
  return () => {
    if (ended) return;
    ended = true;
    if (--serving > 0) return;
    const wake = waiting;
    waiting = [];
    for (const f of wake) f();
  };
}

/** Requests being served by this isolate now. */
export const requestsInFlight = (): number => serving;

/**
 * Lets the event loop run whatever is queued (a timer of 0 ms), then, while requests are being served, waits for them
 * to end or for MAX_PAUSE_MS, whichever comes first.
 */
export async function breathe(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 0));
  if (serving === 0) return;
  await new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      waiting = waiting.filter((f) => f !== done);
      resolve();
    };
    const timer = setTimeout(done, MAX_PAUSE_MS);
    waiting.push(done);
  });
}
