/**
 * The "Draw a digit" panel: the pad, the 28×28 input beside it, the prediction (throttled while drawing: at most
 * one request in flight and one every PREDICT_INTERVAL_MS), the ten probabilities as bars, and the feedback
 * buttons ("that's wrong, it was …").
 */
import { api } from "./api.js";
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
  const message = $("predict-message");
  const feedback = $("feedback");
  const feedbackMessage = $("feedback-message");
  const bars = buildBars($("bars"));
  buildFeedbackButtons($("feedback-digits"), sendFeedback);

  /** The prediction on screen and the exact input it was computed from. */
  const shown = { input: null, prediction: null, modelId: null };
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
    confidence.textContent = `${(100 * p.probabilities[p.digit]).toFixed(1)}% sure · model ${modelId}`;
    message.textContent = "";
    bars.forEach((bar, k) => bar.set(p.probabilities[k], k === p.digit));
    feedback.disabled = false;
    feedbackMessage.textContent = "";
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
    message.textContent = "";
    bars.forEach((bar) => bar.set(0, false));
    feedback.disabled = true;
    feedbackMessage.textContent = "";
  }

  async function sendFeedback(label) {
    if (shown.input === null) return;
    feedbackMessage.textContent = `Sending “it was ${label}”…`;
    try {
      await api("/v1/feedback", { method: "POST", body: { image: shown.input, label } });
      feedbackMessage.textContent = `Thanks: sent as a ${label}. It awaits review: runs train on a correction only once an admin accepts it.`;
      hooks.onFeedbackSent();
    } catch (err) {
      feedbackMessage.textContent = feedbackFailure(err);
    }
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
        const pct = 100 * p;
        fill.style.width = `${pct}%`;
        value.textContent = `${pct < 10 ? pct.toFixed(1) : pct.toFixed(0)}%`;
        track.setAttribute("aria-valuenow", pct.toFixed(1));
        track.setAttribute("aria-valuetext", `${pct.toFixed(1)}%`);
        li.classList.toggle("top", top);
      },
    };
  });
}

/** What to tell the sender of a correction that was not stored. */
function feedbackFailure(err) {
  if (err.status === 429) return "Not sent: too many corrections from your address. Wait a minute, then try again.";
  if (err.status === 507) return "Not sent: the review queue is full (too many corrections await an admin's review). Try again later.";
  return `Could not send the correction: ${err.message}`;
}

function buildFeedbackButtons(container, send) {
  for (let k = 0; k < 10; k++) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "digit-button";
    b.textContent = String(k);
    b.setAttribute("aria-label", `That's wrong, it was ${k}`);
    b.addEventListener("click", () => send(k));
    container.append(b);
  }
}
