/**
 * The "Training" panel: the run form (admin; augmentation and a learning-rate decay for first-order runs), and the
 * run view that follows one run live (progress, ETA, loss and accuracy charts on the training and validation sets,
 * the test accuracy measured once at the end, what it trains on, the first layer's hidden units), plus the list of
 * recent runs.
 */
import { api } from "./api.js";
import { createRunCharts } from "./charts.js";
import { el, formatAccuracy, formatCount, formatDuration, formatLayers, formatWhen } from "./format.js";
import { drawUnits } from "./units.js";

const POLL_MS = 1000;
/** Hidden units are fetched at most this often while a run trains (each is a read of a checkpoint). */
const UNITS_EVERY_MS = 2500;
const UNITS_SHOWN = 64;
/** Examples "What it trains on" shows: the first of epoch 0's order, as stored and as the run augments them. */
const EXAMPLES_SHOWN = 8;
const ENDED = ["succeeded", "failed", "diverged", "cancelled"];
/** Over: ended, and for a succeeded run its promotion decided (`promoted` is null for a moment after its commit). */
export const isOver = (r) => ENDED.includes(r.status) && !(r.status === "succeeded" && r.promoted === null);

/** @param {{ onRunEnded: (record: object) => void }} hooks */
export function initTraining(hooks) {
  const $ = (id) => document.getElementById(id);
  const form = $("run-form");
  const formMessage = $("run-form-message");
  const datasetSelect = $("run-dataset");
  const progress = $("run-progress");
  const progressText = $("run-progress-text");
  const unitsFigure = $("run-units-figure");
  const unitsCanvas = $("run-units");
  const cancelButton = $("cancel-run");
  const charts = createRunCharts($("loss-chart"), $("accuracy-chart"));
  if (charts === null) $("run-message").textContent = "The charting library did not load: the charts are unavailable.";

  /** The run being watched. */
  const watch = { id: null, timer: null, record: null, unitsStep: -1, unitsAt: 0, examplesOf: null };
  let datasets = [];

  $("run-optimizer").addEventListener("change", showOptimizerFields);
  $("run-augment-on").addEventListener("change", showAugmentFields);
  datasetSelect.addEventListener("change", () => {
    describeDataset();
    fitLayersToDataset();
  });
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    startRun();
  });
  cancelButton.addEventListener("click", cancelRun);
  showOptimizerFields();
  showAugmentFields();

  /** cg minimizes one fixed cost for its iterations: no epochs, batches, augmentation or decay. */
  function showOptimizerFields() {
    const cg = $("run-optimizer").value === "cg";
    for (const f of form.querySelectorAll("[data-for]")) f.hidden = (f.dataset.for === "cg") !== cg;
  }

  /** The augmentation's parts can be typed once it is ticked. */
  function showAugmentFields() {
    const on = $("run-augment-on").checked;
    for (const input of $("run-augment").querySelectorAll(".field input")) input.disabled = !on;
  }

  async function loadDatasets() {
    try {
      datasets = (await api("/v1/datasets")).datasets;
    } catch (err) {
      formMessage.textContent = `Could not list the datasets: ${err.message}`;
      return;
    }
    const current = datasetSelect.value || "mnist";
    // The option is the name alone (a phone-wide select has room for little more); its sizes go in the hint below.
    datasetSelect.replaceChildren(...datasets.map((d) => el("option", { value: d.name }, d.name)));
    if (datasets.some((d) => d.name === current)) datasetSelect.value = current;
    if (datasets.length === 0) formMessage.textContent = "No dataset yet: upload one with PUT /v1/datasets/:name (npm start loads MNIST).";
    describeDataset();
    fitLayersToDataset();
  }

  function describeDataset() {
    const d = datasets.find((x) => x.name === datasetSelect.value);
    const validation = d?.validation ? `, ${formatCount(d.validation.count)} validation` : "";
    $("run-dataset-hint").textContent = d ? `${d.name}: ${formatCount(d.train.count)} training${validation} and ${formatCount(d.test.count)} test images of ${d.rows}×${d.cols}, ${d.classes} classes.` : "";
  }

  /** Sets the first and last layer sizes to the chosen dataset's pixels and classes. */
  function fitLayersToDataset() {
    const d = datasets.find((x) => x.name === datasetSelect.value);
    const layers = parseLayers($("run-layers").value);
    if (!d || layers === null) return;
    layers[0] = d.rows * d.cols;
    layers[layers.length - 1] = d.classes;
    $("run-layers").value = layers.join("-");
  }

  function spec() {
    const v = (name) => form.elements.namedItem(name).value.trim();
    const num = (name) => Number(v(name));
    const layers = parseLayers(v("layers"));
    if (layers === null) throw new Error("Layers: write at least three sizes, e.g. 784-64-10.");
    const name = v("optimizer");
    const optimizer = name === "cg" ? { name, iterations: num("iterations") } : { name, learningRate: num("learningRate") };
    const s = { dataset: v("dataset") || "mnist", layers, loss: v("loss"), optimizer, lambda: num("lambda"), seed: num("seed"), evalEvery: num("evalEvery") };
    if (name !== "cg") {
      Object.assign(s, { epochs: num("epochs"), batchSize: num("batchSize") });
      if (v("lrDecay") !== "") {
        const decay = num("lrDecay");
        if (!(decay > 0 && decay <= 1)) throw new Error("Rate decay: a number above 0 and at most 1 (1: none).");
        if (decay !== 1) s.lrDecay = decay;
      }
      if (form.elements.namedItem("augment").checked) s.augment = augmentSpec(num);
    }
    if (v("trainLimit") !== "") s.trainLimit = num("trainLimit");
    if (v("promote") !== "") s.promote = v("promote");
    if (form.elements.namedItem("includeFeedback").checked) s.includeFeedback = true;
    return s;
  }

  /** The form's augmentation: its parts above 0 (the elastic field when α is). */
  function augmentSpec(num) {
    const parts = { rotate: "Rotate", shear: "Shear", scale: "Scale", translate: "Translate", elasticAlpha: "Elastic α", elasticSigma: "Elastic σ" };
    for (const [name, label] of Object.entries(parts)) {
      if (!(num(name) >= 0)) throw new Error(`Augmentation: ${label} must be a number, 0 or more.`);
    }
    const a = {};
    for (const name of ["rotate", "shear", "scale", "translate"]) if (num(name) > 0) a[name] = num(name);
    if (num("elasticAlpha") > 0) a.elastic = { alpha: num("elasticAlpha"), sigma: num("elasticSigma") };
    if (Object.keys(a).length === 0) throw new Error("Augmentation: set a part above 0, or untick it.");
    return a;
  }

  async function startRun() {
    let body;
    try {
      body = spec();
    } catch (err) {
      formMessage.textContent = err.message;
      return;
    }
    const button = $("start-run");
    button.disabled = true;
    formMessage.textContent = "Starting…";
    try {
      const record = await api("/v1/runs", { method: "POST", body, admin: true });
      formMessage.textContent = `Started ${record.id}.`;
      follow(record.id, record);
      loadRuns();
    } catch (err) {
      formMessage.textContent = `Could not start the run: ${err.message}`;
    } finally {
      button.disabled = false;
    }
  }

  async function cancelRun() {
    if (watch.id === null) return;
    try {
      render(await api(`/v1/runs/${watch.id}/cancel`, { method: "POST", admin: true }));
    } catch (err) {
      $("run-message").textContent = `Could not cancel: ${err.message}`;
    }
  }

  /** Shows run `id` and follows it until it ends. */
  function follow(id, record = null) {
    clearTimeout(watch.timer);
    Object.assign(watch, { id, timer: null, record: null, unitsStep: -1, unitsAt: 0, examplesOf: null });
    charts?.clear();
    unitsFigure.hidden = true;
    $("run-examples").hidden = true;
    if (record !== null) render(record);
    loadExamples(id);
    poll();
  }

  /**
   * "What it trains on": the first examples of epoch 0 as stored and, when the run augments, as it augments them.
   * One request per run shown (the pictures do not change while it trains).
   */
  async function loadExamples(id) {
    if (watch.examplesOf === id) return;
    watch.examplesOf = id;
    const list = $("run-examples-list");
    const note = $("run-examples-note");
    let data;
    try {
      data = await api(`/v1/runs/${encodeURIComponent(id)}/augmented?count=${EXAMPLES_SHOWN}&epoch=0`);
    } catch (err) {
      if (id !== watch.id) return;
      list.replaceChildren();
      note.textContent = `Could not show what ${id} trains on: ${err.message}`;
      $("run-examples").hidden = false;
      return;
    }
    if (id !== watch.id) return;
    const augmented = data.augment !== null;
    list.replaceChildren(...data.examples.map((x) => el("li", { className: "example", dataset: { index: String(x.index) } },
      exampleCanvas(x.original, data, "original", `Training example ${x.index}, a ${x.label}, as stored`),
      augmented ? exampleCanvas(x.augmented, data, "augmented", `Training example ${x.index}, a ${x.label}, as augmented in epoch 1`) : null,
      el("span", { className: "example-label" }, String(x.label)))));
    list.classList.toggle("pairs", augmented);
    note.textContent = data.examples.length === 0 ? "No dataset example to show: it trains on corrections only."
      : augmented ? `The first ${data.examples.length} examples of epoch 1, as stored (top) and as this run distorts them (below): ${describeAugment(data.augment)}. Each epoch draws new distortions.`
        : `The first ${data.examples.length} examples of epoch 1: this run trains on them as they are (no augmentation).`;
    $("run-examples").hidden = false;
  }

  async function poll() {
    const id = watch.id;
    let record;
    try {
      record = await api(`/v1/runs/${id}`);
    } catch (err) {
      if (id !== watch.id) return;
      $("run-message").textContent = `Could not read ${id}: ${err.message}`;
      watch.timer = setTimeout(poll, 3 * POLL_MS);
      return;
    }
    if (id !== watch.id) return;
    const wasActive = watch.record !== null && !isOver(watch.record);
    render(record);
    const ended = isOver(record);
    await maybeLoadUnits(record, ended);
    if (!ended) watch.timer = setTimeout(poll, POLL_MS);
    else if (wasActive) {
      hooks.onRunEnded(record);
      loadRuns();
    }
  }

  async function maybeLoadUnits(record, ended) {
    const due = ended || performance.now() - watch.unitsAt >= UNITS_EVERY_MS;
    if (record.step === watch.unitsStep || !due) return;
    watch.unitsAt = performance.now();
    try {
      const data = await api(`/v1/runs/${record.id}/units?max=${UNITS_SHOWN}`);
      if (record.id !== watch.id) return;
      watch.unitsStep = record.step;
      drawUnits(unitsCanvas, data);
      unitsCanvas.setAttribute("aria-label", `The first ${data.units} hidden units of ${record.id} at step ${data.step ?? record.step}, each as a 28 by 28 image of its input weights`);
      $("run-units-caption").textContent = `First layer's hidden units at step ${data.step ?? record.step}: each unit's input weights as a 28×28 image (${data.units} shown).`;
      unitsFigure.hidden = false;
    } catch {
      // No checkpoint to read yet: the next poll tries again.
    }
  }

  function render(r) {
    watch.record = r;
    const ended = ENDED.includes(r.status);
    $("run-title").textContent = `Run ${r.id}`;
    const status = $("run-status");
    status.textContent = r.status;
    status.className = `badge ${r.status}`;
    progress.value = r.progress ?? 0;
    progressText.textContent = `${Math.floor(100 * (r.progress ?? 0))}%`;
    const last = r.evaluations?.at(-1);
    const spec = r.spec ?? {};
    const cg = spec.optimizer?.name === "cg";
    const facts = [
      ["Layers", formatLayers(spec.layers)],
      ["Optimizer", cg ? `cg, ${spec.optimizer.iterations} iterations` : `${spec.optimizer?.name}, rate ${spec.optimizer?.learningRate}, batch ${spec.batchSize ?? 128}`],
      [cg ? "Step" : "Epoch", cg ? String(r.step) : `${Math.min(r.epoch ?? 1, spec.epochs ?? 5)} of ${spec.epochs ?? 5}`],
      ["Examples seen", formatCount(r.examplesSeen)],
      ["Throughput", r.throughput ? `${formatCount(r.throughput)} examples/s` : "–"],
      [ended ? "Took" : "ETA", ended ? formatDuration((Date.parse(r.finishedAt ?? r.updatedAt) - Date.parse(r.createdAt)) / 1000) : r.etaSeconds == null ? "estimating…" : formatDuration(r.etaSeconds)],
      ["Validation accuracy", last ? `${formatAccuracy(last.validationAccuracy)} (${cg ? "iteration" : "epoch"} ${cg ? last.iteration : last.epoch})` : "–"],
      ["Test accuracy (measured once)", r.test ? formatAccuracy(r.test.accuracy) : r.phase === "test" ? "measuring…" : ended ? "–" : "when training ends"],
      ["Model", r.modelId ? `${r.modelId}${r.promoted ? " (promoted)" : ""}` : "–"],
      ...(spec.includeFeedback ? [["Corrections", `${formatCount(r.feedbackExamples ?? 0)} accepted`]] : []),
      ...(!cg && spec.lrDecay !== undefined ? [["Rate decay", `× ${spec.lrDecay} per epoch`]] : []),
    ];
    $("run-facts").replaceChildren(...facts.map(([k, v]) => el("div", {}, el("dt", {}, k), el("dd", {}, v))));
    $("run-message").textContent = r.error ? `${r.status}: ${r.error}` : r.lastError && !ended ? `Retrying step ${r.lastError.step}: ${r.lastError.message}` : "";
    cancelButton.hidden = ended;
    charts?.show(r);
  }

  async function loadRuns() {
    let runs;
    try {
      runs = (await api("/v1/runs?limit=10")).runs;
    } catch {
      return;
    }
    $("run-list").replaceChildren(...runs.map((r) => el("li", { className: "run" },
      el("div", { className: "model-main" },
        el("span", { className: "mono" }, r.id),
        el("span", { className: "muted" }, [
          r.status, formatLayers(r.spec?.layers), r.spec?.augment ? "augmented" : null,
          `validation ${r.lastEvaluation ? formatAccuracy(r.lastEvaluation.validationAccuracy) : "–"}`,
          r.test ? `test ${formatAccuracy(r.test.accuracy)}` : null, formatWhen(r.createdAt),
        ].filter(Boolean).join(" · "))),
      el("button", { type: "button", className: "secondary small", "aria-label": `Watch run ${r.id}`, onclick: () => follow(r.id) }, "Watch"))));
    if (runs.length === 0) $("run-list").replaceChildren(el("li", { className: "muted" }, "No runs yet."));
    return runs;
  }

  /** Loads the datasets and runs; follows the newest run (active or not) so the charts show something. */
  async function load() {
    await loadDatasets();
    const runs = await loadRuns();
    if (watch.id === null && runs?.length) follow(runs[0].id);
  }

  return { load, get watching() { return watch.record; } };
}

/** "784-64-10", "784, 64, 10" or "784 64 10" → [784, 64, 10]; null unless at least three positive integers. */
export function parseLayers(text) {
  const parts = text.split(/[^0-9]+/).filter(Boolean).map(Number);
  return parts.length >= 3 && parts.every((n) => Number.isInteger(n) && n > 0) ? parts : null;
}

/** A training example's pixels (0..255) on a canvas of its own size, shown larger by the style sheet. */
function exampleCanvas(pixels, { rows, cols }, kind, label) {
  const canvas = el("canvas", { className: "example-picture", width: cols, height: rows, "aria-label": label, dataset: { kind } });
  canvas.setAttribute("role", "img");
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(cols, rows);
  for (let i = 0; i < rows * cols; i++) {
    img.data[4 * i] = img.data[4 * i + 1] = img.data[4 * i + 2] = pixels[i];
    img.data[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
  return canvas;
}

/** A run's augment spec in words: "rotate ±8°, shear ±8°, scale ±8%, elastic α 34 σ 4". */
export function describeAugment(a) {
  const parts = [];
  if (a.rotate) parts.push(`rotate ±${a.rotate}°`);
  if (a.shear) parts.push(`shear ±${a.shear}°`);
  if (a.scale) parts.push(`scale ±${+(100 * a.scale).toFixed(2)}%`);
  if (a.translate) parts.push(`translate ±${a.translate} px`);
  if (a.elastic) parts.push(`elastic α ${a.elastic.alpha} σ ${a.elastic.sigma} px`);
  return parts.join(", ") || "none";
}
