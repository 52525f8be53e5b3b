/**
 * The cron jobs on demand (admin): what the scheduled handler runs, for operators and for `npm start`, whose local
 * `wrangler dev` cannot deliver scheduled events to a Worker with static assets (wrangler 4.86: DataCloneError on
 * the ScheduledController), so it calls the watchdog here every minute instead.
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { Env } from "../env";
import { scheduledRefresh, startScheduledRun, watchdog } from "../training/cron";
import { sweep } from "../training/sweep";
import { adminRefusals, requireAdmin } from "./auth";
import { validationHook } from "./validation";

const security = [{ bearer: [] }];
const WedgedRun = z.object({
  runId: z.string(), step: z.number(), resends: z.number(), minutes: z.number(),
  message: z.string().openapi({ description: "What it means and what to do; also the run's lastError, and its error once it fails" }),
});
const WatchdogAnswer = z.object({ revived: z.array(z.string()), failed: z.array(z.string()), wedged: z.array(WedgedRun), servingPointerFixed: z.boolean() });

/** Every path under /v1/cron, known or not, is admin: a route added here can never be open by mistake. */
const cron = new OpenAPIHono<{ Bindings: Env }>({ defaultHook: validationHook });
cron.use("*", requireAdmin);

/** The /v1/cron routes. */
export const cronRoutes = cron
  .openapi(
    createRoute({
      method: "post", path: "/watchdog", summary: "Run the watchdog now: re-send the step of stalled runs", security,
      responses: { 200: { description: "Runs revived, runs failed, and runs whose re-sends the queue consumer did not pick up", content: { "application/json": { schema: WatchdogAnswer } } }, ...adminRefusals },
    }),
    async (c) => c.json(await watchdog(c.env), 200),
  )
  .openapi(
    createRoute({
      method: "post", path: "/training", summary: "Start the scheduled run now (SCHEDULED_RUN_SPEC), unless one is active", security,
      responses: { 200: { description: "The run started, or why none was", content: { "application/json": { schema: z.object({ started: z.string().nullable(), reason: z.string() }) } } }, ...adminRefusals },
    }),
    async (c) => c.json(await startScheduledRun(c.env), 200),
  )
  .openapi(
    createRoute({
      method: "post", path: "/refresh", summary: "Run the daily refresh check now: refresh the served model if enough accepted corrections are new to it", security,
      responses: { 200: { description: "The refresh run started, or why none was", content: { "application/json": { schema: z.object({ started: z.string().nullable(), reason: z.string() }) } } }, ...adminRefusals },
    }),
    async (c) => c.json(await scheduledRefresh(c.env), 200),
  )
  .openapi(
    createRoute({
      method: "post", path: "/sweep", summary: "Run the sweep now: delete leftover checkpoints, snapshots, dataset shards and model entries", security,
      responses: { 200: { description: "Objects deleted, by kind", content: { "application/json": { schema: z.object({ checkpoints: z.number(), snapshots: z.number(), datasetShards: z.number(), modelEntries: z.number() }) } } }, ...adminRefusals },
    }),
    async (c) => c.json(await sweep(c.env), 200),
  );
