// Compare mode: a second map beside the first, either another method for the same class or
// another class with the same method, so that one sees at a glance whether a method tells
// classes apart.
import { classLabel, h, labelled, option } from "./dom.js";

export function compareControls({ model, send, listen, signal }) {
  const mode = h("select", { className: "fw-compare" }, [
    option("off", "Off"),
    option("method", "Another method"),
    option("class", "Another class"),
  ]);
  const method = h("select", { className: "fw-compare-method" });
  const target = h("select", { className: "fw-compare-target" });
  const methodField = labelled("with", method);
  const targetField = labelled("with", target);

  function fill() {
    mode.value = model.get("compare");
    const specs = model.get("method_specs").filter((spec) => !spec.unavailable);
    method.replaceChildren(...specs.map((spec) => option(spec.name, spec.label)));
    method.value = model.get("compare_method");
    const chosen = model.get("compare_target");
    const predictions = model.get("predictions");
    const items = predictions.map(({ index, label }) => option(index, label));
    if (!predictions.some(({ index }) => index === chosen)) {
      items.push(option(chosen, `${classLabel(model, chosen)} (#${chosen})`));
    }
    target.replaceChildren(...items);
    target.value = String(chosen);
    methodField.hidden = model.get("compare") !== "method";
    targetField.hidden = model.get("compare") !== "class";
  }

  mode.addEventListener("change", () => send("compare", mode.value), { signal });
  method.addEventListener("change", () => send("compare_method", method.value), { signal });
  target.addEventListener("change", () => send("compare_target", Number(target.value)), {
    signal,
  });
  for (const name of ["compare", "compare_method", "compare_target", "predictions", "method_specs"]) {
    listen(name, fill);
  }
  fill();
  return h("div", { className: "fw-toolbar" }, [labelled("Compare", mode), methodField, targetField]);
}
