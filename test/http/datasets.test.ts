import { env, exports } from "cloudflare:workers";
import { describe, expect, test } from "vitest";
import { encodeIdx } from "../../src/data/idx";
import { clearShardCache, loadShard, readManifest, writeDataset } from "../../src/storage/datasets";
import { allShards } from "../../src/data/shards";

const TOKEN = "test-admin-token";
type Field = "trainImages" | "trainLabels" | "testImages" | "testLabels";

/** `n` images of rows × cols with pixel (i, p) = (7i + p) mod 256, as an IDX file. */
function images(n: number, rows: number, cols: number): Uint8Array {
  const data = new Uint8Array(n * rows * cols);
  for (let i = 0; i < data.length; i++) data[i] = (7 * Math.floor(i / (rows * cols)) + (i % (rows * cols))) & 0xff;
  return encodeIdx([n, rows, cols], data);
}

/** `n` labels i mod classes, as an IDX file. */
function labels(n: number, classes: number): Uint8Array {
  return encodeIdx([n], Uint8Array.from({ length: n }, (_, i) => i % classes));
}

/** A consistent small dataset: 1 500 training and 300 test images of 4 × 4, 3 classes. */
function small(): Record<Field, Uint8Array> {
  return { trainImages: images(1500, 4, 4), trainLabels: labels(1500, 3), testImages: images(300, 4, 4), testLabels: labels(300, 3) };
}

function form(files: Partial<Record<Field, Uint8Array | string>>, extra: Record<string, string> = {}): FormData {
  const body = new FormData();
  for (const [field, value] of Object.entries(files)) {
    body.append(field, typeof value === "string" ? value : new File([value], `${field}.idx`));
  }
  for (const [key, value] of Object.entries(extra)) body.append(key, value);
  return body;
}

function put(name: string, body: BodyInit, headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` }) {
  return exports.default.fetch(`http://edgeprop/v1/datasets/${name}`, { method: "PUT", headers, body });
}

async function get(path: string): Promise<{ status: number; body: any }> {
  const res = await exports.default.fetch(`http://edgeprop${path}`);
  return { status: res.status, body: await res.json() };
}

async function listed(): Promise<string[]> {
  return ((await get("/v1/datasets")).body.datasets as { name: string }[]).map((d) => d.name);
}

async function objectsUnder(name: string): Promise<number> {
  return (await env.STORE_BUCKET.list({ prefix: `datasets/${name}/` })).objects.length;
}

describe("PUT /v1/datasets/:name", () => {
  test("stores an upload that GET then lists, with shards that load back to the uploaded bytes", async () => {
    const res = await put("tiny", form(small(), { classes: "3", validation: "300" }));
    expect(res.status).toBe(201);
    const summary = (await res.json()) as Record<string, unknown>;
    expect(summary).toMatchObject({ name: "tiny", rows: 4, cols: 4, classes: 3, train: { count: 1200 }, validation: { count: 300 }, test: { count: 300 } });
    expect(await listed()).toContain("tiny");
    expect((await get("/v1/datasets/tiny")).body).toEqual(summary);

    const manifest = (await readManifest(env.STORE_BUCKET, "tiny"))!;
    expect(manifest.train.shards.map((s) => s.count)).toEqual([1000, 200]);
    clearShardCache();
    const last = await loadShard(env.STORE_BUCKET, manifest.train, 1);
    expect(last.pixels).toEqual(images(1500, 4, 4).subarray(16 + 1000 * 16, 16 + 1200 * 16));
    expect(Array.from(last.labels.subarray(0, 4))).toEqual([1, 2, 0, 1]);
    // The validation split: the last 300 training images uploaded.
    const validation = await loadShard(env.STORE_BUCKET, manifest.validation, 0);
    expect(validation.pixels).toEqual(images(1500, 4, 4).subarray(16 + 1200 * 16));
  });

  test("validation defaults to the last twelfth of the training images; one that leaves none to train on is refused", async () => {
    const res = await put("twelfth", form(small(), { classes: "3" }));
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ train: { count: 1375 }, validation: { count: 125 } });
    for (const [validation, message] of [["1500", /validation: 1500 validation images leave none of the 1500 training images/], ["0", /validation must be a positive integer/], ["2.5", /validation must be a positive integer/]] as const) {
      const bad = await put("too-much", form(small(), { classes: "3", validation }));
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(message);
      expect(await objectsUnder("too-much")).toBe(0);
    }
  });

  test("classes defaults to 10", async () => {
    const res = await put("ten", form({ trainImages: images(20, 2, 3), trainLabels: labels(20, 10), testImages: images(5, 2, 3), testLabels: labels(5, 10) }));
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ classes: 10, rows: 2, cols: 3 });
  });

  test("re-uploading a name switches it to the new upload in one step, then deletes the old shards", async () => {
    expect((await put("again", form(small(), { classes: "3" }))).status).toBe(201);
    const first = (await get("/v1/datasets/again")).body;
    const firstKeys = (await readManifest(env.STORE_BUCKET, "again"))!.train.shards.map((s) => s.key);
    const second = { ...small(), trainImages: images(1200, 4, 4), trainLabels: labels(1200, 3) };
    expect((await put("again", form(second, { classes: "3" }))).status).toBe(201);
    const now = (await get("/v1/datasets/again")).body;
    expect(now.train.count + now.validation.count).toBe(1200);
    expect(now.version).not.toBe(first.version);
    const manifest = (await readManifest(env.STORE_BUCKET, "again"))!;
    for (const shard of allShards(manifest)) expect(shard.key).toContain(`/${now.version}/`);
    for (const key of firstKeys) expect(await env.STORE_BUCKET.head(key)).toBeNull();
    expect(await objectsUnder("again")).toBe(allShards(manifest).length + 1);
    expect((await listed()).filter((n) => n === "again")).toHaveLength(1);
  });

  test("an upload over 16 MiB (the JSON routes' limit) but under 32 MiB is accepted", async () => {
    const res = await put("big", form({ trainImages: images(20_000, 32, 32), trainLabels: labels(20_000, 10), testImages: images(10, 32, 32), testLabels: labels(10, 10) }));
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ train: { count: 18_334 }, validation: { count: 1_666 }, test: { count: 10 } });
  });

  const ok = small();
  const auth = { authorization: `Bearer ${TOKEN}` };
  interface Refusal {
    what: string;
    name: string;
    body: () => BodyInit;
    headers: Record<string, string>;
    status: number;
    code: string;
    message: RegExp;
  }
  test.each<Refusal>([
    { what: "no token", name: "no-token", body: () => form(ok, { classes: "3" }), headers: {}, status: 401, code: "unauthorized", message: /Bearer/ },
    { what: "a wrong token", name: "wrong-token", body: () => form(ok, { classes: "3" }), headers: { authorization: "Bearer nope" }, status: 403, code: "forbidden", message: /admin token/ },
    { what: "a bad name", name: "Bad_Name", body: () => form(ok, { classes: "3" }), headers: auth, status: 400, code: "invalid_request", message: /name must be/ },
    { what: "mismatched counts", name: "counts", body: () => form({ ...ok, trainLabels: labels(1499, 3) }, { classes: "3" }), headers: auth, status: 400, code: "invalid_request", message: /trainLabels: 1499 labels, but trainImages holds 1500 images/ },
    { what: "test counts mismatched", name: "test-counts", body: () => form({ ...ok, testImages: images(299, 4, 4) }, { classes: "3" }), headers: auth, status: 400, code: "invalid_request", message: /testLabels: 300 labels, but testImages holds 299/ },
    { what: "labels ≥ classes", name: "labels", body: () => form(ok, { classes: "2" }), headers: auth, status: 400, code: "invalid_request", message: /trainLabels: .*label 2 is 2, outside 0..1/ },
    { what: "a truncated IDX file", name: "corrupt", body: () => form({ ...ok, testImages: ok.testImages.subarray(0, 100) }, { classes: "3" }), headers: auth, status: 400, code: "invalid_request", message: /testImages: .*truncated/ },
    { what: "a foreign file", name: "foreign", body: () => form({ ...ok, trainImages: new TextEncoder().encode("hello, world") }, { classes: "3" }), headers: auth, status: 400, code: "invalid_request", message: /trainImages: .*expected an IDX image file/ },
    { what: "labels given as images", name: "swapped", body: () => form({ ...ok, trainImages: ok.trainLabels }, { classes: "3" }), headers: auth, status: 400, code: "invalid_request", message: /trainImages: .*an IDX label file/ },
    { what: "image sizes differing between splits", name: "sizes", body: () => form({ ...ok, testImages: images(300, 5, 4) }, { classes: "3" }), headers: auth, status: 400, code: "invalid_request", message: /testImages: images are 5 × 4, but trainImages are 4 × 4/ },
    { what: "a missing field", name: "missing", body: () => form({ trainImages: ok.trainImages, trainLabels: ok.trainLabels, testImages: ok.testImages }, { classes: "3" }), headers: auth, status: 400, code: "invalid_request", message: /testLabels/ },
    { what: "a text field instead of a file", name: "text", body: () => form({ ...ok, trainLabels: "1,2,3" }, { classes: "3" }), headers: auth, status: 400, code: "invalid_request", message: /trainLabels must be a file/ },
    { what: "classes out of range", name: "classes", body: () => form(ok, { classes: "1" }), headers: auth, status: 400, code: "invalid_request", message: /classes must be an integer in 2..256/ },
    { what: "classes not a number", name: "classes-nan", body: () => form(ok, { classes: "many" }), headers: auth, status: 400, code: "invalid_request", message: /classes must be an integer in 2..256/ },
    { what: "an unknown field", name: "unknown", body: () => form(ok, { classes: "3", validImages: "x" }), headers: auth, status: 400, code: "invalid_request", message: /unknown key "validImages"/ },
    { what: "a JSON body", name: "json", body: () => JSON.stringify({ trainImages: [] }), headers: { ...auth, "content-type": "application/json" }, status: 415, code: "unsupported_media_type", message: /multipart\/form-data/ },
    { what: "a malformed multipart body", name: "malformed", body: () => "--x\r\nnonsense", headers: { ...auth, "content-type": "multipart/form-data; boundary=x" }, status: 400, code: "invalid_request", message: /not valid multipart/ },
    { what: "a body over 32 MiB", name: "huge", body: () => form({ ...ok, trainImages: new Uint8Array(33 * 1024 * 1024) }), headers: auth, status: 413, code: "payload_too_large", message: /32 MiB/ },
    { what: "the reserved name, refused before its body is read", name: "feedback", body: () => "anything", headers: { ...auth, "content-type": "text/plain" }, status: 409, code: "reserved_name", message: /reserved/ },
    { what: "the reserved name feedback", name: "feedback", body: () => form(ok, { classes: "3" }), headers: auth, status: 409, code: "reserved_name", message: /reserved/ },
  ])("$what → $status, and nothing is written", async ({ name, body, headers, status, code, message }) => {
    const res = await put(name, body(), headers);
    expect(res.status).toBe(status);
    const err = (await res.json()) as { error: { code: string; message: string } };
    expect(err.error.code).toBe(code);
    expect(err.error.message).toMatch(message);
    expect(await listed()).not.toContain(name);
    expect(await objectsUnder(name)).toBe(0);
  });

  test("the real MNIST test set, uploaded as both splits", async () => {
    const fetchFile = async (file: string) => new Uint8Array(await (await env.HOST_FILES.fetch(`http://host/mnist/${file}`)).arrayBuffer());
    const [imgs, lbls] = await Promise.all([fetchFile("t10k-images-idx3-ubyte"), fetchFile("t10k-labels-idx1-ubyte")]);
    const res = await put("mnist-small", form({ trainImages: imgs, trainLabels: lbls, testImages: imgs, testLabels: lbls }, { validation: "1000" }));
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ name: "mnist-small", rows: 28, cols: 28, classes: 10, train: { count: 9_000 }, validation: { count: 1_000 }, test: { count: 10_000 } });
    const manifest = (await readManifest(env.STORE_BUCKET, "mnist-small"))!;
    expect(manifest.train.shards).toHaveLength(9);
    expect([...manifest.train.shards, ...manifest.validation.shards].map((s) => s.crc32)).toEqual(manifest.test.shards.map((s) => s.crc32));
    clearShardCache();
    const first = await loadShard(env.STORE_BUCKET, manifest.test, 0);
    expect(first.labels[0]).toBe(lbls[8]);
    expect(first.pixels.subarray(0, 784)).toEqual(imgs.subarray(16, 16 + 784));
  });
});

describe("GET /v1/datasets", () => {
  test("a dataset whose manifest was never written (a crash after its shards) is not listed", async () => {
    const bucket = env.STORE_BUCKET;
    const crashing = new Proxy(bucket, {
      get(target, prop) {
        if (prop === "put") {
          return (key: string, ...rest: Parameters<R2Bucket["put"]>[1][]) => {
            if (key.endsWith("/manifest.json")) throw new Error("crash before the manifest");
            return target.put(key, ...(rest as [Parameters<R2Bucket["put"]>[1]]));
          };
        }
        const value = Reflect.get(target, prop);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const split = (n: number) => ({ pixels: new Uint8Array(n * 4), labels: new Uint8Array(n) });
    await expect(writeDataset(crashing, "half", "v1", { rows: 2, cols: 2, classes: 2 }, split(1300), split(10), 100)).rejects.toThrow(/crash/);
    expect(await objectsUnder("half")).toBe(4);
    expect(await listed()).not.toContain("half");
    expect((await get("/v1/datasets/half")).status).toBe(404);
  });

  test("an unknown name → 404 not_found; an invalid one → 400", async () => {
    expect(await get("/v1/datasets/nothing-here")).toMatchObject({ status: 404, body: { error: { code: "not_found" } } });
    expect(await get("/v1/datasets/NOT_OK")).toMatchObject({ status: 400, body: { error: { code: "invalid_request" } } });
  });

  test("/openapi.json describes the dataset routes", async () => {
    const doc = (await get("/openapi.json")).body as { paths: Record<string, Record<string, unknown>> };
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(["/v1/datasets", "/v1/datasets/{name}"]));
    expect(Object.keys(doc.paths["/v1/datasets/{name}"])).toEqual(expect.arrayContaining(["get", "put"]));
  });
});
