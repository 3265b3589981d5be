// The slider over the snapshots kept by update() during training: its right end follows the
// newest map, and scrubbing asks Python for a kept snapshot (no recomputation).
import { h, labelled } from "./dom.js";
import { throttle } from "./logic.js";

const STEP_SEND_MS = 100; // scrubbing asks Python for a snapshot at most this often
const NEWEST = -1; // step_index of the newest map, which training updates keep replacing

export function timeline({ model, send, listen, signal }) {
  const slider = h("input", { type: "range", className: "fw-step", min: "0", step: "1" });
  const caption = h("span", { className: "fw-step-label" });
  const element = h("div", { className: "fw-toolbar fw-timeline", hidden: true }, [
    labelled("Training step", slider),
    caption,
  ]);
  const sendStep = throttle((value) => send("step_index", value), STEP_SEND_MS);

  function fill() {
    const steps = model.get("steps");
    const index = model.get("step_index");
    const shown = index === NEWEST ? steps.length - 1 : index;
    element.hidden = steps.length === 0;
    slider.max = String(Math.max(0, steps.length - 1));
    slider.value = String(shown);
    caption.textContent = steps.length ? `${steps[shown]}${index === NEWEST ? " (newest)" : ""}` : "";
  }

  slider.addEventListener(
    "input",
    () => {
      const last = model.get("steps").length - 1;
      const value = Number(slider.value);
      sendStep(value >= last ? NEWEST : value);
    },
    { signal },
  );
  listen("steps", fill);
  listen("step_index", fill);
  fill();
  return { element, cancel: sendStep.cancel };
}
