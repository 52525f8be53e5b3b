/**
 * `npm run eval:handwriting [-- --url URL --model ID --json]`: how the served model (or a pinned one) does on real
 * handwriting that is not MNIST: the 899 UCI optical digits of data/handwriting/ in the page's form
 * (scripts/handwriting.ts: 8 × 8 upsampled to 32 × 32, then the page's own toMnist). Sends them to POST /v1/predict
 * in batches (at most 256, fewer when the model's size makes a batch more work than the route allows), every batch pinned to the one model that answered the first, so that a promotion meanwhile cannot mix two models;
 * prints the model (id, layers, loss, test accuracy), the accuracy overall and per digit, and the most common
 * confusions. `--json` prints one JSON object instead. An accuracy figure, not a speed one: nothing is timed.
 */
import { createClient, EdgepropError, ok, type EdgepropClient } from "../src/client";
import { defineCommand, runCommand, serverUrl, URL_FLAG, type Args } from "./cli";
import { confusions, formatConfusions, formatPerDigit, HANDWRITING_FILE, loadHandwriting, percent, perDigit, type Confusion, type PerDigit } from "./handwriting";

const command = defineCommand({
  name: "eval:handwriting",
  about: `Accuracy of the served model (or --model ID) on ${HANDWRITING_FILE}'s 899 handwritten digits (UCI optical digits,\nnot MNIST) in the page's form: overall, per digit, and the most common confusions.`,
  flags: {
    url: URL_FLAG,
    model: { type: "string", value: "ID", help: "pin this model (POST /v1/predict's model); default: the served one" },
    confusions: { type: "integer", value: "N", min: 0, max: 90, default: 10, help: "most common confusions listed" },
    json: { type: "boolean", help: "print one JSON object (model, overall, per digit, confusions, every prediction)" },
  },
});

/** What `--json` prints. */
export interface HandwritingEvaluation {
  url: string;
  data: string;
  model: { id: string; layers: number[]; loss: string; testAccuracy: number | null; dataset: string | null; serving: boolean; pinned: boolean };
  batchSize: number;
  overall: PerDigit["overall"];
  perDigit: PerDigit["digits"];
  confusions: Confusion[];
  /** The predicted digit of each image, in the file's order. */
  predicted: number[];
}

/**
 * POST /v1/predict's caps (src/routes/predict.ts MAX_PREDICT_BATCH and MAX_PREDICT_WORK), repeated here: importing
 * that module would load the Worker's WebAssembly kernels, which Node does not import. Should the route's cap change,
 * a batch refused with 413 too_much_work is halved and sent again.
 */
const MAX_PREDICT_BATCH = 256;
const MAX_PREDICT_WORK = 50_000_000;

/** Parameters of an MLP with these layer sizes (weights and biases). */
const parameterCount = (layers: readonly number[]): number => layers.slice(1).reduce((sum, n, i) => sum + n * (layers[i] + 1), 0);

/**
 * The predicted digits of `images` by `model`, in batches of `batch` (halved while the route answers 413
 * too_much_work), each pinned to it; and the batch size used.
 */
async function predictAll(client: EdgepropClient, model: string, images: Float32Array[], batch: number): Promise<{ predicted: number[]; batch: number }> {
  const predicted: number[] = [];
  for (let from = 0; from < images.length;) {
    const rows = images.slice(from, from + batch).map((image) => Array.from(image));
    let answer;
    try {
      answer = await ok(client.v1.predict.$post({ json: { images: rows, model } }));
    } catch (error) {
      if (error instanceof EdgepropError && error.code === "too_much_work" && batch > 1) {
        batch = Math.ceil(batch / 2);
        continue;
      }
      throw error;
    }
    if (answer.modelId !== model) throw new Error(`asked for model ${model}, answered by ${answer.modelId}`);
    predicted.push(...answer.predictions.map((p) => p.digit));
    from += rows.length;
  }
  return { predicted, batch };
}

async function main({ flags }: Args<typeof command.flags>): Promise<void> {
  const url = serverUrl(flags.url);
  const client = createClient(url);
  const { images, labels } = loadHandwriting();

  // Which model answers: the pinned one, else the one the server serves now (asked with one image, as predict
  // resolves it); from there on every batch names it.
  let id: string;
  try {
    id = (await ok(client.v1.predict.$post({ json: { image: Array.from(images[0]), ...(flags.model === undefined ? {} : { model: flags.model }) } }))).modelId;
  } catch (error) {
    if (error instanceof EdgepropError && error.code === "no_model") {
      throw new Error(`no model is served at ${url}: train one (npm run train -- specs/mnist-98.json) or pass --model ID (GET /v1/models lists them)`);
    }
    if (error instanceof EdgepropError && error.status === 404 && flags.model !== undefined) throw new Error(`no model ${flags.model} at ${url} (GET /v1/models lists them)`);
    throw error;
  }
  const meta = await ok(client.v1.models[":id"].$get({ param: { id } }));
  const planned = Math.max(1, Math.min(MAX_PREDICT_BATCH, Math.floor(MAX_PREDICT_WORK / parameterCount(meta.layers))));
  const { predicted, batch: batchSize } = await predictAll(client, id, images, planned);
  const report = perDigit(labels, predicted);
  const top = confusions(labels, predicted, flags.confusions);

  if (flags.json) {
    const out: HandwritingEvaluation = {
      url, data: HANDWRITING_FILE,
      model: { id, layers: meta.layers, loss: meta.loss, testAccuracy: meta.testAccuracy, dataset: meta.dataset, serving: meta.serving, pinned: flags.model !== undefined },
      batchSize, overall: report.overall, perDigit: report.digits, confusions: top, predicted,
    };
    console.log(JSON.stringify(out));
    return;
  }
  const test = meta.testAccuracy === null ? "test accuracy not measured" : `${percent(meta.testAccuracy)} on ${meta.dataset ?? "its dataset"}'s test set`;
  console.log(`${url}: model ${id}${meta.serving ? " (served)" : ""}, layers ${meta.layers.join("-")}, ${meta.loss}, ${test}`);
  console.log(`${images.length} handwritten digits of ${HANDWRITING_FILE} (UCI optical digits, not MNIST) in the page's form, ${Math.ceil(images.length / batchSize)} requests of at most ${batchSize}\n`);
  console.log(formatPerDigit(report));
  console.log(`\nmost common confusions (true → predicted, count):\n${formatConfusions(top, report)}`);
}

await runCommand(command, main);
