/** The Worker: the Hono app (fetch), the training steps (queue) and the cron jobs (scheduled). */
import { app } from "./app";
import type { Env, TrainMessage } from "./env";
import { handleBatch } from "./training/consumer";
import { scheduledRefresh, startScheduledRun, TRAINING_CRON, watchdog, WATCHDOG_CRON } from "./training/cron";
import { sweep } from "./training/sweep";

export default {
  fetch: app.fetch,

  queue: (batch, env, _ctx) => handleBatch(batch, env),

  async scheduled(controller, env, _ctx) {
    if (controller.cron === WATCHDOG_CRON) {
      const { revived, failed, wedged } = await watchdog(env);
      console.log(`watchdog: revived ${revived.length}, failed ${failed.length}, not delivered ${wedged.length}`);
    } else if (controller.cron === TRAINING_CRON) {
      console.log(`sweep: ${JSON.stringify(await sweep(env))}`);
      console.log(`scheduled training: ${JSON.stringify(await startScheduledRun(env))}`);
      console.log(`refresh check: ${JSON.stringify(await scheduledRefresh(env))}`);
    } else {
      console.warn(`no handler for cron "${controller.cron}"`);
    }
  },
} satisfies ExportedHandler<Env, TrainMessage>;
