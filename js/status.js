// What is shown or what went wrong, how long the map took, and the progress of a slow method.
import { h } from "./dom.js";

export function statusLine({ model, listen }) {
  const error = h("div", { className: "fw-error", role: "alert", hidden: true });
  const text = h("span", { className: "fw-status-text" });
  const progress = h("progress", { className: "fw-progress", max: 1, hidden: true });
  const line = h("div", { className: "fw-status", "aria-live": "polite" }, [progress, text]);

  function show() {
    const ms = model.get("compute_ms");
    const time = ms > 0 ? ` · ${ms.toFixed(ms < 10 ? 1 : 0)} ms` : "";
    text.textContent = `${model.get("status")}${time}`;
    error.textContent = model.get("error");
    error.hidden = !model.get("error");
  }

  function showProgress() {
    const fraction = model.get("progress");
    progress.hidden = !(fraction >= 0);
    if (fraction >= 0) progress.value = fraction;
  }

  for (const name of ["status", "error", "compute_ms"]) listen(name, show);
  listen("progress", showProgress);
  show();
  showProgress();
  return { error, line };
}
