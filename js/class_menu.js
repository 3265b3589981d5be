// The class to explain: the top predictions with their probabilities, and a search over all
// class names by name or index.
import { classLabel, h, labelled, option } from "./dom.js";
import { filterLabels } from "./logic.js";

const SEARCH_LIMIT = 50;

export function classMenu({ model, send, listen, signal }) {
  const select = h("select", { className: "fw-class", title: "Class to explain" });
  const search = h("input", {
    type: "search",
    className: "fw-search",
    placeholder: "Find a class by name or index",
  });
  const results = h("select", { className: "fw-results", hidden: true });

  function fill() {
    const target = model.get("target");
    const predictions = model.get("predictions");
    const options = predictions.map(({ index, label, probability }) =>
      option(index, `${label} (${(probability * 100).toFixed(1)}%)`),
    );
    if (!predictions.some(({ index }) => index === target)) {
      options.push(option(target, `${classLabel(model, target)} (#${target})`));
    }
    select.replaceChildren(...options);
    select.value = String(target);
  }

  function showResults() {
    const found = filterLabels(model.get("labels"), search.value, SEARCH_LIMIT);
    results.replaceChildren(...found.map(({ index, label }) => option(index, `${label} (#${index})`)));
    results.size = Math.min(6, Math.max(2, found.length)); // size 1 would make a drop-down
    results.hidden = found.length === 0;
  }

  function choose(value) {
    if (value === "") return;
    send("target", Number(value));
    search.value = "";
    showResults();
  }

  select.addEventListener("change", () => send("target", Number(select.value)), { signal });
  search.addEventListener("input", showResults, { signal });
  search.addEventListener(
    "keydown",
    (event) => {
      if (event.key === "Enter" && results.options.length > 0) choose(results.options[0].value);
      if (event.key === "Escape") {
        search.value = "";
        showResults();
      }
    },
    { signal },
  );
  results.addEventListener("click", () => choose(results.value), { signal });
  results.addEventListener(
    "keydown",
    (event) => {
      if (event.key === "Enter") choose(results.value);
    },
    { signal },
  );
  listen("target", fill);
  listen("predictions", fill);
  listen("labels", () => {
    fill();
    showResults();
  });
  fill();

  return h("div", { className: "fw-toolbar" }, [
    labelled("Class", select),
    h("div", { className: "fw-finder" }, [search, results]),
  ]);
}
