/**
 * Datasets in R2 over HTTP: list and read the visible ones, and (admin) upload one as four IDX files.
 *
 * An upload is decoded and checked in full before anything is written, then stored with writeDataset, whose
 * manifest comes last: a refused or interrupted upload never becomes visible.
 */
import { createRoute, OpenAPIHono, z, type RouteHandler } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { createMiddleware } from "hono/factory";
import { DatasetInputError, decodeIdxDataset, defaultValidationCount, type IdxFiles } from "../data/build";
import type { DatasetManifest } from "../data/shards";
import type { Env } from "../env";
import { ConflictError, NotFoundError } from "../errors";
import { deleteDataset, listDatasetNames, newDatasetVersion, readManifest, readManifests, writeDataset } from "../storage/datasets";
import { DatasetName } from "../training/fields";
import { activeRuns } from "../training/runs";
import { adminOnly, adminRefusals, requireAdmin } from "./auth";
import { ApiError, badRequest } from "./errors";
import { errorResponse, NextCursor, pageOf, PageQuery, pathParam } from "./schemas";
import { validationHook } from "./validation";

/** Largest upload accepted (bytes, whole multipart body): MNIST's test set is 7.9 MB, its training set 47 MB. */
export const MAX_UPLOAD_BYTES = 32 * 1024 * 1024;

/** Dataset names no upload may take: "feedback" is built by the server from labelled corrections. */
export const RESERVED_DATASETS: readonly string[] = ["feedback"];

const IDX_FIELDS = ["trainImages", "trainLabels", "testImages", "testLabels"] as const;

const uploadLimit = bodyLimit({
  maxSize: MAX_UPLOAD_BYTES,
  onError: () => {
    throw new ApiError(413, "payload_too_large", `upload exceeds ${MAX_UPLOAD_BYTES} bytes (32 MiB)`);
  },
});

/** Refuses a reserved name (409) before the body is read. */
const notReserved = createMiddleware<{ Bindings: Env }>(async (c, next) => {
  const name = c.req.param("name") ?? "";
  if (RESERVED_DATASETS.includes(name)) throw new ConflictError("reserved_name", `the dataset name ${JSON.stringify(name)} is reserved`);
  await next();
});

/** Refuses anything but multipart/form-data (415) and a body that does not parse as such (400), with JSON errors. */
const multipartBody = createMiddleware<{ Bindings: Env }>(async (c, next) => {
  const type = c.req.header("content-type") ?? "";
  if (!/^multipart\/form-data\s*;/i.test(type)) {
    throw new ApiError(415, "unsupported_media_type", `send the dataset as multipart/form-data with fields ${IDX_FIELDS.join(", ")} and classes; got ${type ? JSON.stringify(type) : "no Content-Type"}`);
  }
  try {
    // Cached by Hono: the form validator reads this parse rather than the body again.
    await c.req.formData();
  } catch {
    throw badRequest("the body is not valid multipart/form-data");
  }
  await next();
});

const NameParam = pathParam("name", DatasetName);

const idxFile = (field: string, what: string) =>
  z
    .instanceof(File, { error: `${field} must be a file: an IDX file of ${what}` })
    .openapi({ type: "string", format: "binary", description: `IDX file of ${what} (type 0x08, unsigned bytes).` });

const UploadForm = z
  .object({
    trainImages: idxFile("trainImages", "training images (count × rows × cols)"),
    trainLabels: idxFile("trainLabels", "training labels (count)"),
    testImages: idxFile("testImages", "test images (count × rows × cols), the same rows × cols as trainImages"),
    testLabels: idxFile("testLabels", "test labels (count)"),
    classes: z.coerce
      .number({ error: "classes must be an integer in 2..256" })
      .int({ error: "classes must be an integer in 2..256" })
      .min(2, { error: "classes must be an integer in 2..256" })
      .max(256, { error: "classes must be an integer in 2..256" })
      .default(10)
      .openapi({ type: "integer", minimum: 2, maximum: 256, default: 10, description: "Number of classes K; every label must be in 0..K−1." }),
    validation: z.coerce
      .number({ error: "validation must be a positive integer" })
      .int({ error: "validation must be a positive integer" })
      .min(1, { error: "validation must be a positive integer" })
      .optional()
      .openapi({ type: "integer", minimum: 1, description: "The last `validation` training images become the validation split, which no run trains on and which chooses models (default: the last twelfth, rounded down: MNIST's 5 000 of 60 000)." }),
  })
  .strict()
  .openapi("DatasetUpload");

const Split = z.object({ count: z.number().int() });

const DatasetSummary = z
  .object({
    name: z.string(),
    version: z.string().openapi({ description: "Upload id; the shards of a re-upload never mix with earlier ones." }),
    rows: z.number().int(),
    cols: z.number().int(),
    classes: z.number().int(),
    train: Split.openapi({ description: "What runs train on." }),
    validation: Split.openapi({ description: "The last training images given, set aside: per-epoch curves, promotion and the refresh guard read it." }),
    test: Split.openapi({ description: "Only reports: measured once per model." }),
    checksum: z.number().int().openapi({ description: "CRC-32 over the shards' CRC-32s, train, validation, then test." }),
    createdAt: z.string(),
  })
  .openapi("Dataset");

/** What the API shows of a manifest: everything but the shard list. */
function summary(m: DatasetManifest): z.infer<typeof DatasetSummary> {
  return {
    name: m.name, version: m.version, rows: m.rows, cols: m.cols, classes: m.classes,
    train: { count: m.train.count }, validation: { count: m.validation.count }, test: { count: m.test.count }, checksum: m.checksum, createdAt: m.createdAt,
  };
}


/** Most datasets a page lists: each is one manifest read from R2. */
export const MAX_DATASETS_PAGE = 100;

const listRoute = createRoute({
  method: "get",
  path: "/",
  summary: "Datasets whose upload completed, by name, a page at a time",
  request: { query: PageQuery(MAX_DATASETS_PAGE, MAX_DATASETS_PAGE) },
  responses: {
    200: { description: "Visible datasets, by name", content: { "application/json": { schema: z.object({ datasets: z.array(DatasetSummary), cursor: NextCursor }) } } },
    400: errorResponse("Invalid limit"),
  },
});

const getRoute = createRoute({
  method: "get",
  path: "/{name}",
  summary: "One dataset",
  request: { params: NameParam },
  responses: { 200: { description: "The dataset", content: { "application/json": { schema: DatasetSummary } } }, 400: errorResponse("Invalid name"), 404: errorResponse("No such dataset") },
});

const putRoute = createRoute({
  method: "put",
  path: "/{name}",
  summary: "Upload (or replace) a dataset as four IDX files",
  security: [{ bearer: [] }],
  middleware: [requireAdmin, notReserved, uploadLimit, multipartBody] as const,
  request: { params: NameParam, body: { content: { "multipart/form-data": { schema: UploadForm } }, required: true } },
  responses: {
    201: { description: "Stored and visible", content: { "application/json": { schema: DatasetSummary } } },
    400: errorResponse("Invalid upload: the message names the field and the problem"),
    ...adminRefusals,
    409: errorResponse("Reserved name"),
    413: errorResponse("Body over 32 MiB"),
    415: errorResponse("Not multipart/form-data"),
  },
});

type Bindings = { Bindings: Env };

const list: RouteHandler<typeof listRoute, Bindings> = async (c) => {
  const { limit, cursor } = c.req.valid("query");
  const page = pageOf(await listDatasetNames(c.env.STORE_BUCKET), (name) => name, false, limit, cursor);
  const manifests = await readManifests(c.env.STORE_BUCKET, page.items);
  return c.json({ datasets: manifests.map(summary), cursor: page.cursor }, 200);
};

const get: RouteHandler<typeof getRoute, Bindings> = async (c) => {
  const { name } = c.req.valid("param");
  const manifest = await readManifest(c.env.STORE_BUCKET, name);
  if (manifest === null) throw new NotFoundError("not_found", `no dataset named ${JSON.stringify(name)}`);
  return c.json(summary(manifest), 200);
};

const put: RouteHandler<typeof putRoute, Bindings> = async (c) => {
  const { name } = c.req.valid("param");
  const form = c.req.valid("form");
  const bytes = async (file: File) => new Uint8Array(await file.arrayBuffer());
  const files: IdxFiles = {
    trainImages: await bytes(form.trainImages),
    trainLabels: await bytes(form.trainLabels),
    testImages: await bytes(form.testImages),
    testLabels: await bytes(form.testLabels),
  };
  const decoded = decodeIdxDataset(files, form.classes);
  const n = decoded.train.labels.length;
  const validation = form.validation ?? defaultValidationCount(n);
  if (validation >= n) throw new DatasetInputError("validation", `${validation} validation images leave none of the ${n} training images to train on`);
  const manifest = await writeDataset(c.env.STORE_BUCKET, name, newDatasetVersion(), decoded.shape, decoded.train, decoded.test, validation);
  return c.json(summary(manifest), 201);
};

const deleteRoute = createRoute({
  method: "delete",
  path: "/{name}",
  summary: "Delete a dataset (refused while a run uses it)",
  ...adminOnly,
  request: { params: NameParam },
  responses: {
    200: { description: "Deleted", content: { "application/json": { schema: z.object({ deleted: z.string() }) } } },
    400: errorResponse("Invalid name"),
    ...adminRefusals,
    404: errorResponse("No such dataset"),
    409: errorResponse("A run that has not ended uses it"),
  },
});

const remove: RouteHandler<typeof deleteRoute, Bindings> = async (c) => {
  const { name } = c.req.valid("param");
  const users = (await activeRuns(c.env)).filter((r) => r.dataset.name === name);
  if (users.length > 0) {
    throw new ConflictError("dataset_in_use", `dataset ${JSON.stringify(name)} is used by ${users.map((r) => `${r.id} (${r.status})`).join(", ")}: wait for the runs to end or cancel them`);
  }
  if (!(await deleteDataset(c.env.STORE_BUCKET, name))) throw new NotFoundError("not_found", `no dataset named ${JSON.stringify(name)}`);
  return c.json({ deleted: name }, 200);
};

/** The /v1/datasets routes. */
export const datasetRoutes = new OpenAPIHono<Bindings>({ defaultHook: validationHook })
  .openapi(listRoute, list)
  .openapi(getRoute, get)
  .openapi(putRoute, put)
  .openapi(deleteRoute, remove);
