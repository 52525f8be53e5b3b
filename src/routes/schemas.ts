/** Request and response schemas shared by the routes; the same schemas validate requests and publish /openapi.json. */
import { z } from "@hono/zod-openapi";
import { LOSSES, MAX_LAYER_SIZE } from "../nn/layout";

/** Layer sizes s1..sL: at least one hidden layer, output at least 2 classes. */
export const Layers = z
  .array(z.number().int().min(1).max(MAX_LAYER_SIZE), { error: "layers must be an array of integers" })
  .min(3, { error: "layers needs at least 3 sizes: input, one or more hidden, output" })
  .max(32, { error: "layers allows at most 32 sizes" })
  .refine((s) => s[s.length - 1] >= 2, { error: "the last layer (classes) needs at least 2 units" })
  .openapi({ example: [3, 5, 3], description: "Layer sizes s1..sL, bias units not counted." });

export const LossName = z
  .enum(LOSSES, { error: (iss) => `loss must be one of ${LOSSES.join(", ")}, got ${JSON.stringify(iss.input)}` })
  .openapi({ description: "`sigmoid`: the course's J; `softmax`: categorical cross-entropy." });

export const Lambda = z
  .number({ error: "lambda must be a finite number" })
  .min(0, { error: "lambda must be ≥ 0" })
  .openapi({ description: "Regularization strength λ (bias weights are not regularized)." });

export const ErrorBody = z
  .object({ error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }) })
  .openapi("Error");

/** An error response of a route, for its OpenAPI description. */
export const errorResponse = (description: string) => ({ description, content: { "application/json": { schema: ErrorBody } } });

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
