/** The message a training step carries: identifiers only (a queue message is at most 128 KB). */
export interface TrainMessage {
  runId: string;
  step: number;
}

/** Every binding and var the Worker reads, as declared in wrangler.toml (ADMIN_TOKEN is a secret). */
export interface Env {
  STORE_BUCKET: R2Bucket;
  SERVING_KV: KVNamespace;
  TRAIN_QUEUE: Queue<TrainMessage>;
  ASSETS: Fetcher;
  ADMIN_TOKEN?: string;
  STEP_WORK: string;
  WATCHDOG_STALL_SECONDS: string;
  SCHEDULED_RUN_SPEC: string;
  PROMOTE_POLICY: string;
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
