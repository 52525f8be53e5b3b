/** Request validation shared by the routes: JSON bodies checked by zod schemas, failures as 400s that name the field. */
import type { z } from "@hono/zod-openapi";
import { badRequest } from "./errors";

/** A JSON request body for createRoute. A missing body validates as `{}` (so all-default bodies may be omitted). */
export function jsonBody<T extends z.ZodType>(schema: T) {
  return { content: { "application/json": { schema } }, required: true } as const;
}

/** `["X", 3, 1]` → `X[3][1]`. */
function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : out === "" ? String(p) : `.${String(p)}`;
  return out;
}

/** The first few issues as one sentence, e.g. `params: params has 37 numbers; layers [3,5,3] need 38`. */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string {
  const shown = issues.slice(0, 5).map((i) => {
    const at = formatPath(i.path);
    if (i.code === "unrecognized_keys") return `unknown ${i.keys.length > 1 ? "keys" : "key"} ${i.keys.map((k) => JSON.stringify(k)).join(", ")}${at ? ` in ${at}` : ""}`;
    return at ? `${at}: ${i.message}` : i.message;
  });
  const more = issues.length > 5 ? ` (and ${issues.length - 5} more)` : "";
  return shown.join("; ") + more;
}

/** The defaultHook of every OpenAPIHono: a failed validation becomes a 400 `invalid_request`. */
export function validationHook(result: { success: boolean; error?: z.ZodError }): void {
  if (!result.success && result.error) {
    const issues = result.error.issues;
    throw badRequest(formatIssues(issues), issues.slice(0, 20).map((i) => ({ path: formatPath(i.path), message: i.message })));
  }
}
