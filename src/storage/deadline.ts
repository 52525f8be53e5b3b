/**
 * Deadlines for work that must never wait forever: one Deadline per piece of work (a training step, the recording of
 * its failure), whose `bind(env)` gives the same bindings with every call bounded, and whose `run` bounds the whole.
 *
 * A call on a bound binding (R2, KV, the queue producer; also the body reads of an R2 object it returns) rejects with
 * a DeadlineError naming the call when it has not settled within `callMs`, or when the work's own deadline (`totalMs`
 * from its start) comes first. The call itself is not cancelled (the platform offers no way to): its result, if it
 * ever comes, is dropped. Timers advance while a Worker awaits I/O, in production too, so this bounds every wait; the
 * CPU work between the waits is bounded by the step's size instead (STEP_WORK).
 */
import type { Env } from "../env";

/** A call or a piece of work that did not finish in time; its message names what and how long. */
export class DeadlineError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DeadlineError";
  }
}

/** How long one binding call, and the whole piece of work, may take. */
export interface DeadlineLimits {
  callMs: number;
  totalMs: number;
}

/** Methods of an R2 object that read its body: each is a wait like the call that returned the object. */
const BODY_READS = new Set(["arrayBuffer", "text", "json", "blob", "bytes"]);

const seconds = (ms: number) => `${+(ms / 1000).toFixed(3)} s`;

/** A short description of a call's first argument: the key(s) or the message. */
function describeArgument(arg: unknown): string {
  if (typeof arg === "string") return ` ${arg}`;
  if (Array.isArray(arg)) return ` of ${arg.length} keys`;
  if (arg !== null && typeof arg === "object") return ` ${JSON.stringify(arg).slice(0, 100)}`;
  return "";
}

/** Starts `start()`; rejects with `expired()` when it has not settled within `ms`. */
function race<T>(start: () => Promise<T>, ms: number, expired: () => DeadlineError): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | null = null;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(expired()), ms);
  });
  // A synchronous throw becomes a rejection, so the timer is always cleared.
  const started = new Promise<T>((resolve) => resolve(start()));
  return Promise.race([started, timeout]).finally(() => timer !== null && clearTimeout(timer));
}

/** The deadline of one piece of work, from the moment it is made. */
export class Deadline {
  readonly at: number;

  constructor(
    readonly what: string,
    readonly limits: DeadlineLimits,
    now = Date.now(),
  ) {
    this.at = now + limits.totalMs;
  }

  /**
   * Starts `start()` and bounds the wait for it: rejected with a DeadlineError naming `call` when it has not settled
   * within the per-call limit or before this deadline, whichever is sooner. Past the deadline nothing is started.
   */
  bound<T>(call: string, start: () => Promise<T>): Promise<T> {
    const left = this.at - Date.now();
    if (left <= 0) return this.#past(call);
    const ms = Math.min(this.limits.callMs, left);
    const limit = ms === left ? `the ${seconds(this.limits.totalMs)} deadline of ${this.what}` : seconds(ms);
    return race(start, ms, () => new DeadlineError(`${call} did not answer within ${limit}`));
  }

  /** Runs `work`, rejected with a DeadlineError when it has not finished by this deadline. */
  run<T>(work: () => Promise<T>): Promise<T> {
    const left = this.at - Date.now();
    if (left <= 0) return this.#past(this.what);
    return race(work, left, () => new DeadlineError(`${this.what} did not finish within its ${seconds(this.limits.totalMs)} deadline`));
  }

  #past<T>(what: string): Promise<T> {
    return Promise.reject(new DeadlineError(`${what} was not started: ${this.what} is past its ${seconds(this.limits.totalMs)} deadline`));
  }

  /** `env` with R2, KV and the queue producer bounded by this deadline (see the module comment). */
  bind(env: Env): Env {
    return {
      ...env,
      STORE_BUCKET: this.#wrap(env.STORE_BUCKET, "R2"),
      SERVING_KV: this.#wrap(env.SERVING_KV, "KV"),
      TRAIN_QUEUE: this.#wrap(env.TRAIN_QUEUE, "queue"),
    };
  }

  /** A view of `target` whose methods that return promises are bounded; R2 objects they give are wrapped too. */
  #wrap<T extends object>(target: T, label: string): T {
    return new Proxy(target, {
      get: (obj, prop, _receiver) => {
        const value = Reflect.get(obj, prop, obj) as unknown;
        if (typeof value !== "function" || typeof prop !== "string") return value;
        const method = value as (...a: unknown[]) => unknown;
        // Every method of these bindings answers with a promise (but R2's resumeMultipartUpload, never called here).
        return (...args: unknown[]) => {
          const call = `${label} ${prop}${describeArgument(args[0])}`;
          return this.bound(call, () => Promise.resolve(method.apply(obj, args))).then((out) => this.#wrapBody(out, call));
        };
      },
    });
  }

  /** An R2 object with a body: its body reads are bounded like calls (`<call> body`). */
  #wrapBody<T>(value: T, call: string): T {
    if (value === null || typeof value !== "object" || !("body" in value)) return value;
    return new Proxy(value, {
      get: (obj, prop) => {
        const member = Reflect.get(obj, prop, obj) as unknown;
        if (typeof member !== "function") return member;
        if (typeof prop !== "string" || !BODY_READS.has(prop)) return (member as (...a: unknown[]) => unknown).bind(obj);
        return (...args: unknown[]) => this.bound(`${call} body ${prop}()`, () => (member as (...a: unknown[]) => Promise<unknown>).apply(obj, args));
      },
    });
  }
}
