/**
 * Loss and accuracy of a run, drawn with Chart.js (served from /vendor, see scripts/vendor.mjs).
 *
 * x is in epochs for first-order runs (examples seen / training examples, so steps of any size line up) and in
 * line searches for cg. Training figures come from `history` (one entry per step: the mean over its batches),
 * validation figures from `evaluations` (the validation split, which chooses; the test set is measured once, at the
 * end, and shown in the run's facts instead).
 */

const COLORS = { train: "#3867d6", validation: "#e17b00" };

/** True when the charting library loaded. */
export const chartsAvailable = () => typeof globalThis.Chart === "function";

function lineChart(canvas, yTitle, yOptions) {
  const dataset = (label, color, points) => ({
    label, borderColor: color, backgroundColor: color, data: [], borderWidth: 2,
    pointRadius: points ? 3 : 0, pointHoverRadius: 4, showLine: true, tension: 0,
  });
  return new globalThis.Chart(canvas, {
    type: "line",
    data: { datasets: [dataset("training", COLORS.train, false), dataset("validation", COLORS.validation, true)] },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      interaction: { mode: "nearest", intersect: false },
      scales: {
        x: { type: "linear", min: 0, title: { display: true, text: "epoch" }, ticks: { maxTicksLimit: 8 } },
        y: { title: { display: true, text: yTitle }, ...yOptions },
      },
      plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } },
    },
  });
}

/** The two charts of the run view; `show(record)` redraws them from a run record. */
export function createRunCharts(lossCanvas, accuracyCanvas) {
  if (!chartsAvailable()) return null;
  const loss = lineChart(lossCanvas, "loss", { beginAtZero: true, grace: "5%" });
  const accuracy = lineChart(accuracyCanvas, "accuracy (%)", { max: 100 });

  function show(record) {
    const cg = record.spec?.optimizer?.name === "cg";
    const trainCount = record.plan?.trainCount || 1;
    const xOfStep = (h) => (cg ? h.iteration ?? 0 : h.examplesSeen / trainCount);
    const xOfEval = (e) => (cg ? e.iteration ?? 0 : e.epoch);
    const history = record.history ?? [];
    const evaluations = record.evaluations ?? [];
    loss.data.datasets[0].data = history.map((h) => ({ x: xOfStep(h), y: h.loss }));
    loss.data.datasets[1].data = evaluations.map((e) => ({ x: xOfEval(e), y: e.validationLoss }));
    accuracy.data.datasets[0].data = history.map((h) => ({ x: xOfStep(h), y: 100 * h.trainAccuracy }));
    accuracy.data.datasets[1].data = evaluations.map((e) => ({ x: xOfEval(e), y: 100 * e.validationAccuracy }));
    for (const chart of [loss, accuracy]) {
      chart.options.scales.x.title.text = cg ? "line searches" : "epoch";
      chart.update("none");
    }
    describe(lossCanvas, "Loss", history.at(-1)?.loss, evaluations.at(-1)?.validationLoss, (v) => v.toFixed(3));
    describe(accuracyCanvas, "Accuracy", history.at(-1)?.trainAccuracy, evaluations.at(-1)?.validationAccuracy, (v) => `${(100 * v).toFixed(1)}%`);
  }

  function clear() {
    for (const chart of [loss, accuracy]) {
      for (const d of chart.data.datasets) d.data = [];
      chart.update("none");
    }
    lossCanvas.setAttribute("aria-label", "Loss chart: no data yet");
    accuracyCanvas.setAttribute("aria-label", "Accuracy chart: no data yet");
  }

  return { show, clear };
}

/** The chart's text alternative: its latest figures. */
function describe(canvas, what, train, validation, fmt) {
  const parts = [];
  if (train !== undefined) parts.push(`latest training ${what.toLowerCase()} ${fmt(train)}`);
  if (validation !== undefined) parts.push(`latest validation ${what.toLowerCase()} ${fmt(validation)}`);
  canvas.setAttribute("aria-label", `${what} chart: ${parts.length ? parts.join(", ") : "no data yet"}`);
}
