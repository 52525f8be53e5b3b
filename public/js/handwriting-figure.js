/**
 * "Real handwriting", in the Models panel: the served model's accuracy on 899 handwritten digits that are not MNIST
 * (GET /v1/handwriting: the UCI optical digits, 8 × 8), overall and per digit, measured in this browser. Each digit
 * is brought to the page's input form (handwriting.js toPageForm: the pad's own preprocessing) and sent to
 * POST /v1/predict in batches pinned to the served model, as `npm run eval:handwriting` does; the result is kept in
 * localStorage per model id (models are immutable), so each model is measured once per browser.
 */
import { api, ApiError } from "./api.js";
import { el, formatCount } from "./format.js";
import { toPageForm } from "./handwriting.js";

/** Images per request: predict's work cap (below) may allow fewer for a large model. */
const BATCH = 64;
/** POST /v1/predict's cap on one request's work, in images × parameters (src/routes/predict.ts MAX_PREDICT_WORK). */
const MAX_PREDICT_WORK = 50_000_000;
/** How long to wait when the rate limit (100 predictions per 10 s per client) answers 429, and how often to retry. */
const RATE_LIMIT_WAIT_MS = 10_000;
const RATE_LIMIT_RETRIES = 3;
const CACHE_PREFIX = "edgeprop.handwriting.v1.";

/** A network's parameter count: Σ (inputs + 1) × outputs over its layers. */
export const paramCount = (layers) => layers.slice(1).reduce((n, out, i) => n + (layers[i] + 1) * out, 0);

/** Images of one request for a model with these layers: BATCH, fewer when predict's work cap requires. */
export const batchFor = (layers) => Math.max(1, Math.min(BATCH, Math.floor(MAX_PREDICT_WORK / paramCount(layers))));

/**
 * Counts correct predictions overall and per true digit.
 * @returns {{ correct: number, count: number, accuracy: number | null, perDigit: { digit: number, correct: number, count: number }[] }}
 */
export function score(labels, predicted) {
  const perDigit = Array.from({ length: 10 }, (_, digit) => ({ digit, correct: 0, count: 0 }));
  let correct = 0;
  labels.forEach((label, i) => {
    perDigit[label].count++;
    if (predicted[i] === label) {
      perDigit[label].correct++;
      correct++;
    }
  });
  return { correct, count: labels.length, accuracy: labels.length ? correct / labels.length : null, perDigit };
}

const percent = (correct, count) => (count > 0 ? `${((100 * correct) / count).toFixed(1)}%` : "–");

function readCache(id) {
  try {
    const text = localStorage.getItem(CACHE_PREFIX + id);
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}

function writeCache(id, result) {
  try {
    localStorage.setItem(CACHE_PREFIX + id, JSON.stringify(result));
  } catch {
    // Storage full or disabled: measured again next time.
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export function initHandwritingFigure() {
  const $ = (id) => document.getElementById(id);
  const section = $("handwriting");
  const title = $("handwriting-title");
  const accuracy = $("handwriting-accuracy");
  const digits = $("handwriting-digits");
  const message = $("handwriting-message");
  const retry = $("handwriting-retry");
  const credit = $("handwriting-credit");
  /** The model shown, what is known of it ("measuring", "done", "failed", "unfit") and its result. */
  const state = { modelId: null, status: null, result: null, error: null };
  let generation = 0;
  /** GET /v1/handwriting, once per page (dropped if it fails, to be asked again). */
  let data = null;

  retry.addEventListener("click", () => {
    const model = state.model;
    state.modelId = null;
    show(model);
  });

  /** Shows the figure of `model` (a model's metadata from GET /v1/models; null: none served). */
  function show(model) {
    if (model === null) {
      generation++;
      Object.assign(state, { modelId: null, model: null, status: null, result: null, error: null });
      section.hidden = true;
      return;
    }
    if (model.id === state.modelId) return;
    const gen = ++generation;
    Object.assign(state, { modelId: model.id, model, status: null, result: null, error: null });
    section.hidden = false;
    retry.hidden = true;
    const layers = model.layers ?? [];
    if (layers[0] !== 784 || layers.at(-1) !== 10) {
      state.status = "unfit";
      render(null);
      message.textContent = `Not measured: the model reads ${layers[0]} inputs into ${layers.at(-1)} classes, the digits are 28×28 into 10.`;
      return;
    }
    const cached = readCache(model.id);
    if (cached !== null) {
      state.status = "done";
      state.result = cached;
      render(cached);
      return;
    }
    measure(model, gen);
  }

  async function measure(model, gen) {
    state.status = "measuring";
    render(null);
    accuracy.textContent = "measuring…";
    message.textContent = "Reading the handwritten digits…";
    try {
      data ??= api("/v1/handwriting");
      let hw;
      try {
        hw = await data;
      } catch (err) {
        data = null;
        throw err;
      }
      if (gen !== generation) return;
      title.textContent = `Real handwriting (${formatCount(hw.count)} UCI digits, not MNIST):`;
      const predicted = [];
      let batch = batchFor(model.layers);
      let waits = 0;
      while (predicted.length < hw.images.length) {
        message.textContent = `Measuring in this browser: ${formatCount(predicted.length)} of ${formatCount(hw.images.length)} predicted…`;
        const images = hw.images.slice(predicted.length, predicted.length + batch).map((values) => Array.from(toPageForm(values)));
        let res;
        try {
          res = await api("/v1/predict", { method: "POST", body: { images, model: model.id } });
        } catch (err) {
          if (err.code === "too_much_work" && batch > 1) {
            batch = Math.ceil(batch / 2);
            continue;
          }
          if (err.status === 429 && waits < RATE_LIMIT_RETRIES) {
            waits++;
            message.textContent = "The prediction rate limit was reached: waiting 10 s…";
            await sleep(RATE_LIMIT_WAIT_MS);
            if (gen !== generation) return;
            continue;
          }
          throw err;
        }
        if (gen !== generation) return;
        if (res.modelId !== model.id) throw new ApiError(0, "wrong_model", `${res.modelId} answered instead of ${model.id}`);
        if (res.predictions.length !== images.length) throw new ApiError(0, "wrong_answer", `${res.predictions.length} predictions for ${images.length} images`);
        for (const p of res.predictions) predicted.push(p.digit);
      }
      const result = { ...score(hw.labels, predicted), source: hw.source, licence: hw.licence, measuredAt: new Date().toISOString() };
      writeCache(model.id, result);
      Object.assign(state, { status: "done", result });
      render(result);
    } catch (err) {
      if (gen !== generation) return;
      Object.assign(state, { status: "failed", error: err.message });
      render(null);
      accuracy.textContent = "not measured";
      message.textContent = `Could not measure the real handwriting: ${err.message}`;
      retry.hidden = false;
    }
  }

  function render(result) {
    if (result === null) {
      accuracy.textContent = "–";
      digits.replaceChildren();
      digits.hidden = true;
      credit.textContent = "";
      return;
    }
    title.textContent = `Real handwriting (${formatCount(result.count)} UCI digits, not MNIST):`;
    accuracy.textContent = percent(result.correct, result.count);
    accuracy.title = `${formatCount(result.correct)} of ${formatCount(result.count)} right`;
    digits.replaceChildren(...result.perDigit.map((d) => el("li", { dataset: { digit: String(d.digit) }, "aria-label": `Digit ${d.digit}: ${percent(d.correct, d.count)} (${d.correct} of ${d.count})` },
      el("b", {}, String(d.digit)), el("span", {}, percent(d.correct, d.count)))));
    digits.hidden = false;
    message.textContent = "";
    credit.textContent = `Each digit in the pad's input form, predicted by this model through POST /v1/predict in this browser (kept for this model). ${result.licence}.`;
  }

  return {
    show,
    get state() {
      return { modelId: state.modelId, status: state.status, result: state.result, error: state.error };
    },
  };
}
