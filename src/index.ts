import { app } from "./app";
import type { Env, TrainMessage } from "./env";
import { DEAD_LETTER_QUEUE_NAME, processDeadLetter, processStep, recordFailure, retryDelay } from "./training/consumer";
import { startScheduledRun, TRAINING_CRON, watchdog, WATCHDOG_CRON } from "./training/cron";
import { sweep } from "./training/sweep";

export default {
  fetch: app.fetch,

  async queue(batch, env, _ctx) {
    for (const msg of batch.messages) {
      if (batch.queue === DEAD_LETTER_QUEUE_NAME) {
        await processDeadLetter(env, msg.body);
        msg.ack();
        continue;
      }
      try {
        const outcome = await processStep(env, msg.body);
        console.log(`step ${msg.body.runId}#${msg.body.step}: ${outcome}`);
        msg.ack();
      } catch (error) {
        console.error(`step ${msg.body.runId}#${msg.body.step} failed (attempt ${msg.attempts}):`, error);
        await recordFailure(env, msg.body, error, msg.attempts).catch((e) => console.error("could not record the failure:", e));
        msg.retry({ delaySeconds: retryDelay(msg.attempts) });
      }
    }
  },

  async scheduled(controller, env, _ctx) {
    if (controller.cron === WATCHDOG_CRON) {
      const { revived, failed } = await watchdog(env);
      console.log(`watchdog: revived ${revived.length}, failed ${failed.length}`);
    } else if (controller.cron === TRAINING_CRON) {
      console.log(`sweep: ${JSON.stringify(await sweep(env))}`);
      console.log(`scheduled training: ${JSON.stringify(await startScheduledRun(env))}`);
    } else {
      console.warn(`no handler for cron "${controller.cron}"`);
    }
  },
} satisfies ExportedHandler<Env, TrainMessage>;
