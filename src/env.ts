/** The message a training step carries: identifiers only (a queue message is at most 128 KB). */
export interface TrainMessage {
  runId: string;
  step: number;
}

/**
 * Every binding and var the Worker reads, as declared in wrangler.toml (ADMIN_TOKEN is a secret). The vars are read
 * only through src/config.ts, which parses and checks them.
 */
export interface Env {
  STORE_BUCKET: R2Bucket;
  SERVING_KV: KVNamespace;
  TRAIN_QUEUE: Queue<TrainMessage>;
  ASSETS: Fetcher;
  /** Workers Rate Limiting bindings, one per class of public route, keyed by the client (CF-Connecting-IP). */
  PREDICT_LIMITER: RateLimit;
  FEEDBACK_LIMITER: RateLimit;
  NN_LIMITER: RateLimit;
  ADMIN_TOKEN?: string;
  STEP_WORK: string;
  WATCHDOG_STALL_SECONDS: string;
  SCHEDULED_RUN_SPEC: string;
  PROMOTE_POLICY: string;
  /** Origins allowed to call the API from browsers: a comma list; "*" opens the public routes (never admin ones). */
  CORS_ORIGINS: string;
  /** Most corrections waiting for review; POST /v1/feedback answers 507 beyond it. */
  FEEDBACK_PENDING_MAX: string;
  /** The dataset whose shape (pixels, classes) the page and predict serve: promotion refuses other shapes. */
  SERVING_DATASET: string;
  REFRESH_MIN_CORRECTIONS: string;
  REFRESH_MAX_VALIDATION_DROP: string;
}

type WorkerEnv = Env;

declare global {
  namespace Cloudflare {
    interface Env extends WorkerEnv {}
    interface GlobalProps {
      mainModule: typeof import("./index");
    }
  }
}
