/**
 * The typed client (src/client.ts) against the Worker. The type tests are compiled by `npm run typecheck`: were
 * AppType's routes `any` or `unknown`, the expectTypeOf assertions and the @ts-expect-error lines would not compile.
 */
import type { InferRequestType, InferResponseType } from "hono/client";
import { describe, expect, expectTypeOf, test } from "vitest";
import { EdgepropError, ok } from "../src/client";
import { TEST_ADMIN_TOKEN, workerClient } from "./helpers/api";

const anonymous = workerClient();
const admin = workerClient(TEST_ADMIN_TOKEN);

type ErrorAnswer = { error: { code: string; message: string; details?: { path: string; message: string }[] | { field: string } } };

describe("AppType, as hc sees it", () => {
  test("POST /v1/predict: the request body and the 200 answer", () => {
    type Predict = typeof anonymous.v1.predict.$post;
    expectTypeOf<InferRequestType<Predict>>().toEqualTypeOf<{ json: { image?: number[]; images?: number[][]; model?: string } }>();
    expectTypeOf<InferResponseType<Predict, 200>>().toEqualTypeOf<{ modelId: string; predictions: { digit: number; probabilities: number[] }[] }>();
    expectTypeOf<InferResponseType<Predict, 503>>().toEqualTypeOf<ErrorAnswer>();
    // @ts-expect-error: an image is an array of numbers
    void (() => anonymous.v1.predict.$post({ json: { image: "0,0,0" } }));
  });

  test("GET /v1/models/:id: a path parameter", () => {
    type GetModel = (typeof anonymous.v1.models)[":id"]["$get"];
    expectTypeOf<InferRequestType<GetModel>>().toEqualTypeOf<{ param: { id: string } }>();
    expectTypeOf<InferResponseType<GetModel, 200>["layers"]>().toEqualTypeOf<number[]>();
    expectTypeOf<InferResponseType<GetModel, 200>["serving"]>().toEqualTypeOf<boolean>();
    // @ts-expect-error: the id goes in param
    void (() => anonymous.v1.models[":id"].$get({ query: { id: "m-1" } }));
  });

  test("POST /v1/models/:id/promote: an admin route, with its refusals", () => {
    type Promote = (typeof admin.v1.models)[":id"]["promote"]["$post"];
    expectTypeOf<InferResponseType<Promote, 200>>().toEqualTypeOf<{ servingModelId: string; previousModelId: string | null }>();
    expectTypeOf<InferResponseType<Promote, 401>>().toEqualTypeOf<ErrorAnswer>();
    expectTypeOf<InferResponseType<Promote, 403>>().toEqualTypeOf<ErrorAnswer>();
  });

  test("POST /v1/runs: the spec's optimizers with their options, from the optimizer registry", () => {
    type Spec = InferRequestType<typeof admin.v1.runs.$post>["json"];
    expectTypeOf<{ layers: number[]; optimizer: { name: "adam"; learningRate: number; beta1: number } }>().toMatchTypeOf<Spec>();
    expectTypeOf<{ layers: number[]; optimizer: { name: "cg"; iterations: number } }>().toMatchTypeOf<Spec>();
    // @ts-expect-error: adam has no option "lr"
    void (() => admin.v1.runs.$post({ json: { layers: [784, 16, 10], optimizer: { name: "adam", lr: 0.1 } } }));
    // @ts-expect-error: there is no optimizer "rmsprop" (yet)
    void (() => admin.v1.runs.$post({ json: { layers: [784, 16, 10], optimizer: { name: "rmsprop" } } }));
  });

  test("GET /healthz, and no route that does not exist", () => {
    expectTypeOf<InferResponseType<typeof anonymous.healthz.$get, 200>>().toEqualTypeOf<{ ok: true; servingModelId: string | null }>();
    // @ts-expect-error: there is no /v1/nope
    void (() => anonymous.v1.nope.$get());
  });
});

describe("createClient and ok() against the Worker", () => {
  test("a successful answer is its typed body", async () => {
    const health = await ok(anonymous.healthz.$get());
    expect(health.ok).toBe(true);
  });

  test("an error answer throws EdgepropError with the API's code and message", async () => {
    const refused = await ok(anonymous.v1.models.$post({ json: { layers: [2, 2, 2], params: [] } })).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(EdgepropError);
    expect(refused).toMatchObject({ status: 401, code: "unauthorized", message: expect.stringMatching(/Bearer/) });
    const unknown = await ok(anonymous.v1.runs[":id"].$get({ param: { id: "run-none" } })).catch((e: unknown) => e);
    expect(unknown).toMatchObject({ status: 404, code: "not_found", message: "no run run-none" });
  });

  test("with the token: import, read back by id, promote, predict with it", async () => {
    const layers = [784, 2, 10];
    const params = Array.from({ length: 2 * 785 + 10 * 3 }, (_, i) => ((i % 7) - 3) / 10);
    const model = await ok(admin.v1.models.$post({ json: { layers, loss: "softmax", params } }));
    expect(model).toMatchObject({ layers, loss: "softmax", serving: false });
    expect((await ok(anonymous.v1.models[":id"].$get({ param: { id: model.id } }))).id).toBe(model.id);
    expect(await ok(admin.v1.models[":id"].promote.$post({ param: { id: model.id } }))).toMatchObject({ servingModelId: model.id });
    const answer = await ok(anonymous.v1.predict.$post({ json: { image: Array<number>(784).fill(0.5) } }));
    expect(answer.modelId).toBe(model.id);
    expect(answer.predictions[0].probabilities).toHaveLength(10);
  });
});
