/** The "better" promotion policy compares validation accuracies; a test accuracy, however high, chooses nothing. */
import { env } from "cloudflare:workers";
import { expect, test } from "vitest";
import { randInitialize } from "../../src/nn/init";
import { createLayout } from "../../src/nn/layout";
import { seedRng } from "../../src/nn/random";
import { getServingRecord, setServing, type ModelMeta } from "../../src/storage/models";
import { promoteModel } from "../../src/training/promotion";

const layers = [784, 4, 10];
const params = new Float32Array(createLayout(layers).count);
randInitialize(createLayout(layers), seedRng(3), params);
const meta = (id: string, validationAccuracy: number, testAccuracy: number): ModelMeta => ({
  id, layers, loss: "softmax", validationAccuracy, testAccuracy, dataset: "mnist", runId: null, createdAt: new Date().toISOString(),
});

test("better: a higher validation accuracy promotes even with a lower test accuracy, a higher test accuracy alone does not", async () => {
  expect(await setServing(env.STORE_BUCKET, env.SERVING_KV, { modelId: "m-served", validationAccuracy: 0.9, testAccuracy: 0.95, promotedAt: new Date().toISOString() }, null)).toBe(true);

  const testOnly = await promoteModel(env, meta("m-test-only", 0.89, 0.999), params, "better");
  expect(testOnly).toEqual({ promoted: false, code: "policy", reason: "validation accuracy 89.00% does not beat the served m-served's 90.00%" });
  expect((await getServingRecord(env.STORE_BUCKET))!.serving.modelId).toBe("m-served");

  const better = await promoteModel(env, meta("m-better", 0.91, 0.5), params, "better");
  expect(better).toMatchObject({ promoted: true, previousModelId: "m-served", reason: "validation accuracy 91.00% beats 90.00%" });
  expect((await getServingRecord(env.STORE_BUCKET))!.serving).toMatchObject({ modelId: "m-better", validationAccuracy: 0.91, testAccuracy: 0.5 });
});
