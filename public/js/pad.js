/**
 * The drawing pad: strokes from mouse, pen or touch (pointer events) on a canvas with a transparent background,
 * so that the alpha channel is the ink (see preprocess.js). The canvas keeps a fixed internal resolution whatever
 * its size on screen, so a digit is preprocessed the same way on a phone and on a desktop.
 */
import { inkFromAlpha } from "./preprocess.js";

/** Stroke width as a fraction of the pad's width: about the stroke of an MNIST digit drawn at 70% of the pad. */
const STROKE = 0.065;

/**
 * Makes `canvas` a drawing pad.
 * @param {HTMLCanvasElement} canvas
 * @param {{ onDraw: () => void, onStrokeEnd: () => void, onClear: () => void }} handlers
 */
export function createPad(canvas, { onDraw, onStrokeEnd, onClear }) {
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  const width = canvas.width;
  const height = canvas.height;
  let active = null; // the pointerId of the stroke under way
  let last = null;
  let empty = true;

  function style() {
    ctx.strokeStyle = "#16181d";
    ctx.fillStyle = "#16181d";
    ctx.lineWidth = STROKE * width;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
  }
  style();

  function point(e) {
    const rect = canvas.getBoundingClientRect();
    return { x: ((e.clientX - rect.left) * width) / rect.width, y: ((e.clientY - rect.top) * height) / rect.height };
  }

  function dot(p) {
    ctx.beginPath();
    ctx.arc(p.x, p.y, ctx.lineWidth / 2, 0, 2 * Math.PI);
    ctx.fill();
  }

  function segment(a, b) {
    ctx.beginPath();
    ctx.moveTo(a.x, a.y);
    ctx.lineTo(b.x, b.y);
    ctx.stroke();
  }

  canvas.addEventListener("pointerdown", (e) => {
    if (active !== null || (e.pointerType === "mouse" && e.button !== 0)) return;
    e.preventDefault();
    canvas.setPointerCapture(e.pointerId);
    active = e.pointerId;
    last = point(e);
    dot(last);
    empty = false;
    onDraw();
  });

  canvas.addEventListener("pointermove", (e) => {
    if (e.pointerId !== active) return;
    e.preventDefault();
    const events = typeof e.getCoalescedEvents === "function" ? e.getCoalescedEvents() : [];
    for (const ev of events.length > 0 ? events : [e]) {
      const p = point(ev);
      segment(last, p);
      last = p;
    }
    onDraw();
  });

  const end = (e) => {
    if (e.pointerId !== active) return;
    active = null;
    last = null;
    onStrokeEnd();
  };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);

  canvas.addEventListener("keydown", (e) => {
    if (e.key === "Delete" || e.key === "Backspace" || e.key === "Escape") {
      e.preventDefault();
      clear();
    }
  });

  function clear() {
    ctx.clearRect(0, 0, width, height);
    empty = true;
    onClear();
  }

  return {
    width,
    height,
    clear,
    isEmpty: () => empty,
    isDrawing: () => active !== null,
    /** The ink of the pad: width × height intensities in [0, 1], row-major. */
    ink: () => inkFromAlpha(ctx.getImageData(0, 0, width, height).data, width, height),
  };
}
