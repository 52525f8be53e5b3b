import { defineConfig } from "vitest/config";

/**
 * `npm run test:e2e`: the browser test, in Node (not in workerd): it starts `wrangler dev` with fresh local state and
 * drives the page in headless Chromium (Debian's /usr/bin/chromium through playwright-core). Test files are
 * `test/e2e/*.e2e.mjs`, a name the workerd suite (vitest.config.ts) does not pick up.
 */
export default defineConfig({
  test: {
    include: ["test/e2e/**/*.e2e.mjs"],
    environment: "node",
    testTimeout: 180_000,
    hookTimeout: 240_000,
    fileParallelism: false,
  },
});
