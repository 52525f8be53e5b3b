/**
 * The page: wires the panels together. Each panel talks to the HTTP API only (api.js).
 *
 * `window.edgeprop` exposes what the browser test (test/e2e) and a curious reader may want: the input and the
 * prediction on screen, whether the prediction is settled, the run being watched, the refresh being followed and
 * the served model's real-handwriting figure.
 */
import { getToken, setToken } from "./api.js";
import { initDigits } from "./digits.js";
import { initModels } from "./models.js";
import { initRefresh } from "./refresh.js";
import { initReview } from "./review.js";
import { initTraining } from "./training.js";

let lastSeenModel = null;
const digits = initDigits({
  checkServing: () => models.load(),
  // A prediction from a model the Models panel does not show as served: the pointer moved, look again (once per
  // model: the edge's serving pointer can lag the registry for a while, and that must not loop).
  onModelSeen: (id) => {
    if (id !== lastSeenModel && id !== models.servingId()) models.load();
    lastSeenModel = id;
  },
  onFeedbackSent: () => review.load(),
});

const models = initModels({ onServing: (id) => digits.setServing(id), onPromoted: () => refresh.load() });

const training = initTraining({
  onRunEnded: () => {
    models.load();
    refresh.load();
  },
});

// Accepted corrections change what a refresh would learn from; a refresh that ends may change the served model.
const review = initReview({ onCounts: (counts) => refresh.showQueue(counts), onReviewed: () => refresh.load() });

const refresh = initRefresh({ onRefreshEnded: () => models.load() });

initToken();

function initToken() {
  const input = document.getElementById("admin-token");
  const message = document.getElementById("token-message");
  input.value = getToken();
  const say = () => {
    message.textContent = input.value ? "Kept for this tab only (sessionStorage)." : "Needed to promote models, start runs and refreshes, and review corrections.";
  };
  say();
  input.addEventListener("input", () => {
    setToken(input.value.trim());
    say();
    refresh.tokenChanged();
  });
  // Once the token is typed (not on every key: a partial token would only be refused), the review lists load, and
  // the refresh part shows its admin counts and button.
  input.addEventListener("change", () => {
    review.load();
    refresh.load();
  });
  document.getElementById("forget-token").addEventListener("click", () => {
    input.value = "";
    setToken("");
    refresh.tokenChanged();
    message.textContent = "Forgotten.";
    review.load();
    refresh.load();
  });
  document.getElementById("token-form").addEventListener("submit", (e) => e.preventDefault());
}

window.edgeprop = {
  get lastInput() {
    return digits.lastInput;
  },
  get lastPrediction() {
    return digits.lastPrediction;
  },
  get settled() {
    return digits.settled;
  },
  get run() {
    return training.watching;
  },
  get refresh() {
    return refresh.following;
  },
  /** The Models panel's real-handwriting figure: { modelId, status: "measuring" | "done" | "failed" | "unfit", result }. */
  get handwriting() {
    return models.handwriting;
  },
};

models.load();
training.load();
review.load();
refresh.load();
