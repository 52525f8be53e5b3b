/**
 * The "Models" panel and the header's serving pill: the served model (id, layers, its validation accuracy, which
 * promotion compares, and its test accuracy, which only reports; its accuracy on real handwriting, measured in the
 * browser; its hidden units), the list of models, and promoting or deleting one (admin).
 */
import { api } from "./api.js";
import { formatAccuracy, formatLayers, formatWhen, el } from "./format.js";
import { initHandwritingFigure } from "./handwriting-figure.js";
import { drawUnits } from "./units.js";

const UNITS_SHOWN = 36;

/**
 * @param {{ onServing: (id: string | null) => void, onPromoted: () => void }} hooks  onServing: the served model's id,
 *   after every load; onPromoted: an admin promoted or deleted a model here.
 */
export function initModels(hooks) {
  const $ = (id) => document.getElementById(id);
  const pill = $("serving-pill");
  const card = $("serving-model");
  const list = $("model-list");
  const message = $("models-message");
  const unitsFigure = $("serving-units-figure");
  const unitsCanvas = $("serving-units");
  let servingId;
  let unitsOf = null;
  const handwriting = initHandwritingFigure();

  async function load() {
    let res;
    try {
      res = await api("/v1/models");
    } catch (err) {
      message.textContent = `Could not list the models: ${err.message}`;
      return;
    }
    const serving = res.models.find((m) => m.id === res.servingModelId) ?? null;
    servingId = res.servingModelId;
    renderServing(serving, res.servingModelId);
    renderList(res.models);
    if (serving !== null && unitsOf !== serving.id) loadUnits(serving.id);
    if (serving === null) unitsFigure.hidden = true;
    handwriting.show(serving);
    hooks.onServing(servingId);
  }

  function renderServing(m, id) {
    if (id === null) {
      pill.textContent = "No model is served yet";
      pill.className = "serving none";
      card.replaceChildren(el("p", { className: "muted" }, "No model is served yet: start a run below, or import weights with POST /v1/models, then promote a model."));
      return;
    }
    if (m === null) {
      pill.textContent = `Serving ${id}`;
      card.replaceChildren(el("p", {}, `Serving ${id}.`));
      return;
    }
    pill.className = "serving";
    pill.textContent = `Serving ${m.id} · ${formatLayers(m.layers)} · ${formatAccuracy(m.validationAccuracy)} validation · ${formatAccuracy(m.testAccuracy)} test`;
    card.replaceChildren(
      el("h3", {}, "Serving now"),
      el("dl", { className: "facts" },
        el("dt", {}, "Model"), el("dd", { className: "mono" }, m.id),
        el("dt", {}, "Layers"), el("dd", {}, formatLayers(m.layers)),
        el("dt", {}, "Loss"), el("dd", {}, m.loss),
        el("dt", {}, "Validation accuracy"), el("dd", { className: "big", dataset: { figure: "validation" } }, formatAccuracy(m.validationAccuracy), el("small", {}, " what promotion compares")),
        el("dt", {}, "Test accuracy"), el("dd", { dataset: { figure: "test" } }, formatAccuracy(m.testAccuracy), el("small", {}, " reported only")),
        el("dt", {}, "Trained"), el("dd", {}, `${m.runId ? `by ${m.runId}` : "imported"}${m.dataset ? ` on ${m.dataset}` : ""}, ${formatWhen(m.createdAt)}`),
      ),
    );
  }

  function renderList(models) {
    if (models.length === 0) {
      list.replaceChildren(el("li", { className: "muted" }, "No models yet."));
      return;
    }
    list.replaceChildren(...models.map((m) => {
      const actions = m.serving
        ? [el("span", { className: "badge ok" }, "serving")]
        : [
          el("button", { type: "button", className: "secondary small", "aria-label": `Promote model ${m.id}`, onclick: () => promote(m.id) }, "Promote"),
          el("button", { type: "button", className: "danger small", "aria-label": `Delete model ${m.id}`, onclick: () => remove(m.id) }, "Delete"),
        ];
      return el("li", { className: "model", dataset: { id: m.id } },
        el("div", { className: "model-main" },
          el("span", { className: "mono" }, m.id),
          el("span", { className: "muted" }, `${formatLayers(m.layers)} · ${m.loss} · validation ${formatAccuracy(m.validationAccuracy)} · test ${formatAccuracy(m.testAccuracy)} · ${formatWhen(m.createdAt)}`)),
        el("div", { className: "model-actions" }, ...actions));
    }));
  }

  async function loadUnits(id) {
    unitsOf = id;
    try {
      const data = await api(`/v1/models/${encodeURIComponent(id)}/units?max=${UNITS_SHOWN}`);
      if (unitsOf !== id) return;
      drawUnits(unitsCanvas, data);
      unitsCanvas.setAttribute("aria-label", `The first ${data.units} hidden units of model ${id}, each as a 28 by 28 image of its input weights`);
      unitsFigure.hidden = false;
    } catch {
      unitsFigure.hidden = true;
    }
  }

  async function promote(id) {
    message.textContent = `Promoting ${id}…`;
    try {
      const res = await api(`/v1/models/${encodeURIComponent(id)}/promote`, { method: "POST", admin: true });
      message.textContent = `Now serving ${res.servingModelId}${res.previousModelId ? ` (was ${res.previousModelId})` : ""}.`;
    } catch (err) {
      message.textContent = `Could not promote ${id}: ${err.message}`;
      return;
    }
    hooks.onPromoted();
    await load();
  }

  async function remove(id) {
    if (!window.confirm(`Delete model ${id}? Its weights are gone for good.`)) return;
    message.textContent = `Deleting ${id}…`;
    try {
      await api(`/v1/models/${encodeURIComponent(id)}`, { method: "DELETE", admin: true });
      message.textContent = `Deleted ${id}.`;
    } catch (err) {
      message.textContent = `Could not delete ${id}: ${err.message}`;
      return;
    }
    hooks.onPromoted();
    await load();
  }

  return { load, servingId: () => servingId, get handwriting() { return handwriting.state; } };
}
