/**
 * The "Draw a digit" panel: the pad, the prediction strip (the 28×28 input, the predicted digit, its probability
 * and the top three; on a phone it sits above the pad and stays in view while drawing, see style.css), the ten
 * probabilities as bars, and the corrections ("that's wrong, it was …", feedback.js). Predictions are throttled
 * while drawing: at most one request in flight and one every PREDICT_INTERVAL_MS. Every probability shown goes
 * through formatProbability, so one value never reads as two roundings.
 */
import { api } from "./api.js";
import { initFeedback } from "./feedback.js";
import { el, formatProbability } from "./format.js";
import { createPad } from "./pad.js";
import { centerOfMass, FIELD, toMnist } from "./preprocess.js";

const PREDICT_INTERVAL_MS = 150;
const NO_MODEL = "No model is served yet: train one below (or import one), then promote it.";

/**
 * @param {{ checkServing: () => void, onModelSeen: (id: string) => void, onFeedbackSent: () => void }} hooks
 *   checkServing: look the served model up again (the panel is told through setServing); onModelSeen: the model
 *   that answered a prediction; onFeedbackSent: a correction was stored (pending review).
 */
export function initDigits(hooks) {
  const $ = (id) => document.getElementById(id);
  const preview = $("preview");
  const previewCtx = preview.getContext("2d");
  const guess = $("guess");
  const confidence = $("guess-confidence");
  const top3 = $("guess-top");
  const modelLine = $("guess-model");
  const message = $("predict-message");
  const bars = buildBars($("bars"));
  /** The prediction on screen and the exact input it was computed from. */
  const shown = { input: null, prediction: null, modelId: null };
  const feedback = initFeedback({ input: () => shown.input, returnFocus: $("pad"), onSent: hooks.onFeedbackSent });
  let generation = 0; // bumped by clear(): answers to requests sent before it are dropped
  let inFlight = false;
  let dirty = false;
  let timer = null;
  let lastSent = -Infinity;
  /** Nothing is served: predictions wait (no request is sent) until setServing names a model. */
  let noModel = false;
  /** The served model as last reported by setServing (undefined: not known yet). */
  let servingId;

  const pad = createPad($("pad"), {
    onDraw: () => schedule(),
    onStrokeEnd: () => {
      if (noModel) hooks.checkServing();
      schedule();
    },
    onClear: reset,
  });
  $("clear").addEventListener("click", () => pad.clear());

  function schedule() {
    dirty = true;
    pump();
  }

  function pump() {
    if (!dirty || inFlight || timer !== null) return;
    const wait = lastSent + PREDICT_INTERVAL_MS - performance.now();
    if (wait > 0) {
      timer = setTimeout(() => {
        timer = null;
        pump();
      }, wait);
      return;
    }
    dirty = false;
    const input = toMnist(pad.ink(), pad.width, pad.height);
    drawPreview(input);
    if (input === null) return;
    if (noModel) {
      message.textContent = NO_MODEL;
      return;
    }
    inFlight = true;
    lastSent = performance.now();
    const gen = generation;
    const image = Array.from(input, (v) => Math.round(v * 1e6) / 1e6);
    api("/v1/predict", { method: "POST", body: { image } })
      .then((res) => {
        if (gen !== generation) return;
        const p = res.predictions[0];
        Object.assign(shown, { input: image, prediction: p, modelId: res.modelId });
        showPrediction(p, res.modelId);
        hooks.onModelSeen(res.modelId);
      })
      .catch((err) => {
        if (gen !== generation) return;
        if (err.code === "no_model") {
          noModel = true;
          message.textContent = NO_MODEL;
          hooks.checkServing();
        } else {
          message.textContent = `Prediction failed: ${err.message}`;
        }
      })
      .finally(() => {
        inFlight = false;
        pump();
      });
  }

  function drawPreview(input) {
    const img = previewCtx.createImageData(FIELD, FIELD);
    for (let i = 0; i < FIELD * FIELD; i++) {
      const v = input === null ? 0 : Math.round(input[i] * 255);
      img.data.set([v, v, v, 255], 4 * i);
    }
    previewCtx.putImageData(img, 0, 0);
    const com = input === null ? null : centerOfMass(input, FIELD, FIELD);
    preview.setAttribute(
      "aria-label",
      com === null ? "The 28 by 28 input sent to the network: empty" : `The 28 by 28 input sent to the network, centre of mass at column ${com.x.toFixed(1)}, row ${com.y.toFixed(1)}`,
    );
  }

  function showPrediction(p, modelId) {
    guess.textContent = String(p.digit);
    confidence.textContent = `${formatProbability(p.probabilities[p.digit]).text} sure`;
    modelLine.textContent = `Predicted by model ${modelId}.`;
    message.textContent = "";
    bars.forEach((bar, k) => bar.set(p.probabilities[k], k === p.digit));
    const ranked = p.probabilities.map((q, k) => [k, q]).sort((a, b) => b[1] - a[1]).slice(0, 3);
    top3.replaceChildren(...ranked.map(([k, q]) => el("li", {}, el("b", {}, String(k)), ` ${formatProbability(q).text}`)));
    feedback.enable();
  }

  function reset() {
    generation++;
    dirty = false;
    if (timer !== null) clearTimeout(timer);
    timer = null;
    Object.assign(shown, { input: null, prediction: null, modelId: null });
    drawPreview(null);
    guess.textContent = "–";
    confidence.textContent = "";
    top3.replaceChildren();
    modelLine.textContent = "";
    message.textContent = "";
    bars.forEach((bar) => bar.set(0, false));
    feedback.disable();
  }

  reset();

  return {
    /** The input of the prediction on screen (784 numbers), or null. */
    get lastInput() {
      return shown.input;
    },
    get lastPrediction() {
      return shown.prediction === null ? null : { ...shown.prediction, modelId: shown.modelId };
    },
    /** True when the prediction on screen is that of the drawing (nothing pending). */
    get settled() {
      return !dirty && !inFlight && timer === null && !pad.isDrawing();
    },
    /** The served model's id (null: none); a change predicts the drawing again. */
    setServing(id) {
      const changed = id !== servingId;
      servingId = id;
      noModel = id === null;
      if (noModel && !pad.isEmpty()) message.textContent = NO_MODEL;
      if (changed && !noModel && !pad.isEmpty()) schedule();
    },
  };
}

/** Ten rows "k ▇▇▇ p%", each bar a meter with its digit as label. */
function buildBars(list) {
  return Array.from({ length: 10 }, (_, k) => {
    const li = document.createElement("li");
    li.className = "bar";
    li.innerHTML = `<span class="bar-digit" aria-hidden="true">${k}</span><span class="bar-track" role="meter" aria-valuemin="0" aria-valuemax="100" aria-label="Probability of ${k}"><span class="bar-fill"></span></span><span class="bar-value" aria-hidden="true"></span>`;
    list.append(li);
    const track = li.querySelector(".bar-track");
    const fill = li.querySelector(".bar-fill");
    const value = li.querySelector(".bar-value");
    return {
      set(p, top) {
        const shown = formatProbability(p);
        fill.style.width = `${100 * p}%`;
        value.textContent = shown.text;
        track.setAttribute("aria-valuenow", String(shown.value));
        track.setAttribute("aria-valuetext", shown.text);
        li.classList.toggle("top", top);
      },
    };
  });
}
