/**
 * "That's wrong, it was …": the ten digit buttons and the correction's delayed send. Choosing a digit posts
 * nothing yet: the correction (the input on screen at that moment and the digit) waits SEND_DELAY_MS behind "Undo"
 * and "Send now", then goes to POST /v1/feedback. The delay is the undo: deleting a stored correction is admin-only
 * (DELETE /v1/feedback/:id), so an anonymous sender could not take one back once sent.
 *
 * Accessibility: the wait is announced once in the live region (visually hidden meanwhile: the bar shows it; the
 * countdown itself is not live, so a screen reader does not hear it every second), focus moves to Undo, and comes back to the chosen digit (or the pad) when
 * the pending bar goes away. Choosing another digit during the wait replaces the pending correction; clearing the
 * pad does not cancel it (it sends the drawing it was chosen for). Leaving the page during the wait sends nothing.
 */
import { api } from "./api.js";

const SEND_DELAY_MS = 5000;

/**
 * @param {{ input: () => number[] | null, returnFocus: HTMLElement, onSent: () => void }} options
 *   input: the input of the prediction on screen; returnFocus: where focus goes when the chosen digit cannot take
 *   it; onSent: a correction was stored (pending review).
 */
export function initFeedback({ input, returnFocus, onSent }) {
  const $ = (id) => document.getElementById(id);
  const fieldset = $("feedback");
  const pendingBar = $("feedback-pending");
  const countdown = $("feedback-countdown");
  const message = $("feedback-message");
  const buttons = Array.from({ length: 10 }, (_, k) => {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "digit-button";
    b.textContent = String(k);
    b.setAttribute("aria-label", `That's wrong, it was ${k}`);
    b.addEventListener("click", () => choose(k));
    $("feedback-digits").append(b);
    return b;
  });
  $("feedback-undo").addEventListener("click", undo);
  $("feedback-send-now").addEventListener("click", () => pending && send());

  /** The correction waiting to be sent: { label, image, deadline, timer, ticker }, or null. */
  let pending = null;

  function choose(label) {
    const image = input();
    if (image === null) return;
    if (pending) stop();
    const deadline = performance.now() + SEND_DELAY_MS;
    pending = { label, image, deadline, timer: setTimeout(send, SEND_DELAY_MS), ticker: setInterval(tick, 250) };
    buttons.forEach((b, k) => b.classList.toggle("chosen", k === label));
    tick();
    pendingBar.hidden = false;
    message.classList.add("visually-hidden");
    message.textContent = `“It was ${label}” will be sent in ${SEND_DELAY_MS / 1000} seconds. Undo cancels it; Send now sends it at once.`;
    $("feedback-undo").focus();
  }

  function tick() {
    const seconds = Math.max(0, Math.ceil((pending.deadline - performance.now()) / 1000));
    countdown.textContent = `Sending “it was ${pending.label}” in ${seconds} s`;
  }

  /** Ends the wait (sent, undone or replaced): hides the bar, returning focus if it was in it. */
  function stop() {
    clearTimeout(pending.timer);
    clearInterval(pending.ticker);
    const hadFocus = pendingBar.contains(document.activeElement);
    const chosen = buttons[pending.label];
    pending = null;
    pendingBar.hidden = true;
    message.classList.remove("visually-hidden");
    buttons.forEach((b) => b.classList.remove("chosen"));
    if (hadFocus) (fieldset.disabled ? returnFocus : chosen).focus();
  }

  function undo() {
    if (!pending) return;
    const { label } = pending;
    stop();
    message.textContent = `Undone: “it was ${label}” was not sent.`;
  }

  async function send() {
    const { label, image } = pending;
    stop();
    message.textContent = `Sending “it was ${label}”…`;
    try {
      await api("/v1/feedback", { method: "POST", body: { image, label } });
      message.textContent = `Thanks: sent as a ${label}. It awaits review: runs train on a correction only once an admin accepts it.`;
      onSent();
    } catch (err) {
      message.textContent = feedbackFailure(err);
    }
  }

  return {
    /** A prediction is on screen: the digits can be chosen (an older outcome message goes away). */
    enable() {
      fieldset.disabled = false;
      if (!pending) message.textContent = "";
    },
    /** Nothing to correct (the pad is empty); a pending correction still goes unless undone. */
    disable() {
      fieldset.disabled = true;
      if (!pending) message.textContent = "";
    },
  };
}

/** What to tell the sender of a correction that was not stored. */
function feedbackFailure(err) {
  if (err.status === 429) return "Not sent: too many corrections from your address. Wait a minute, then try again.";
  if (err.status === 507) return "Not sent: the review queue is full (too many corrections await an admin's review). Try again later.";
  return `Could not send the correction: ${err.message}`;
}
