/**
 * Request and response schemas shared by the routes; the same schemas validate requests and publish /openapi.json.
 * The building blocks that the run spec shares (layers, loss, λ, ids) are in src/training/fields.ts.
 */
import { z } from "@hono/zod-openapi";

/** What `details` of an error holds: the failed checks of a request (the first 20), or the upload field at fault. */
const ErrorDetails = z.union([z.array(z.object({ path: z.string(), message: z.string() })), z.object({ field: z.string() })]);

/** The error answer of every route. */
export const ErrorBody = z
  .object({ error: z.object({ code: z.string(), message: z.string(), details: ErrorDetails.optional() }) })
  .openapi("Error");

/** An error response of a route, for its OpenAPI description. */
export const errorResponse = (description: string) => ({ description, content: { "application/json": { schema: ErrorBody } } });

/** The path parameter `{name}` of a route, validated by `schema` (an id building block of src/training/fields.ts). */
export const pathParam = <K extends string>(name: K, schema: z.ZodString) =>
  // .meta, not .openapi: the id schemas come from src/training/fields.ts, plain zod that may be created before
  // @hono/zod-openapi extends zod (then its instances have no .openapi); the generator reads zod's metadata too.
  z.object({ [name]: schema.meta({ param: { name, in: "path" } }) } as Record<K, z.ZodString>);

/** `?limit=&cursor=` of a listing: at most `max` items a page (`fallback` when absent), after `cursor`. */
export const PageQuery = (max: number, fallback: number) =>
  z.object({
    limit: z.coerce.number({ error: `limit must be an integer in 1..${max}` }).int({ error: `limit must be an integer in 1..${max}` })
      .min(1, { error: `limit must be an integer in 1..${max}` }).max(max, { error: `limit must be an integer in 1..${max}` }).default(fallback),
    cursor: z.string().min(1).max(200).optional()
      .openapi({ description: "The `cursor` a previous page answered; absent: the first page." }),
  });

/** The `cursor` field of a listing's answer. */
export const NextCursor = z.string().nullable()
  .openapi({ description: "Pass it as ?cursor= for the next page; null on the last page." });

/**
 * One page of `sorted` (ordered by `key`, descending when `descending`): the first `limit` items whose key comes
 * after `cursor` in that order, and the key to continue from (null when nothing follows). Keys are unique.
 */
export function pageOf<T>(sorted: readonly T[], key: (item: T) => string, descending: boolean, limit: number, cursor?: string): { items: T[]; cursor: string | null } {
  const start = cursor === undefined ? 0 : sorted.findIndex((item) => (descending ? key(item) < cursor : key(item) > cursor));
  const items = start < 0 ? [] : sorted.slice(start, start + limit);
  const more = start >= 0 && start + limit < sorted.length;
  return { items, cursor: more ? key(items[items.length - 1]) : null };
}

const Figures = z.object({
  accuracy: z.number().nullable(), correct: z.number(), count: z.number(),
  perDigit: z.array(z.object({ digit: z.number(), correct: z.number(), count: z.number() })),
}).openapi("Figures", { description: "Accuracy over a set of examples (null when it has none), and per digit." });
const RefreshFigures = z.object({ holdout: Figures, validation: Figures, test: Figures });
const PairedChange = z.object({ gained: z.number(), lost: z.number() })
  .openapi("PairedChange", { description: "Examples the refreshed model gets right and its parent wrong (gained), and the other way round (lost)." });
/** A refresh run's data and before-and-after figures (src/training/refresh.ts RefreshReport). */
export const RefreshReport = z.object({
  corrections: z.number().openapi({ description: "Corrections of the training split trained on." }),
  holdout: z.number().openapi({ description: "Corrections of the holdout split measured on, never trained on." }),
  replay: z.number().openapi({ description: "Examples of the dataset's training set replayed." }),
  maxValidationDrop: z.number().openapi({ description: "Most the validation accuracy may drop, in points, for the refresh to be promoted." }),
  before: RefreshFigures.nullable().openapi({ description: "The parent model's figures; null until the run has finished." }),
  after: RefreshFigures.nullable().openapi({ description: "The refreshed model's figures; null until the run has finished." }),
  changes: z.object({ holdout: PairedChange, validation: PairedChange }).nullable()
    .openapi({ description: "Example by example against the parent: what the guard's tests of chance read; null until the run has finished." }),
}).openapi("RefreshReport");
/** src/storage/models.ts ModelParent. */
export const ModelParent = z.object({ modelId: z.string(), kind: z.enum(["warm", "refresh"]), corrections: z.number() })
  .openapi("ModelParent", { description: "The model a model's run started from, how, and on how many accepted corrections." });

const Accuracies = z.object({ holdout: z.number().nullable(), validation: z.number().nullable(), test: z.number().nullable() });
/** src/storage/models.ts RefreshSummary. */
export const RefreshSummary = z.object({
  corrections: z.number(), holdout: z.number(), replay: z.number(), before: Accuracies.nullable(), after: Accuracies.nullable(),
}).openapi("RefreshSummary");
