// The attribution method and its options (steps, samples, noise, layer), built from the
// method_specs Python sends. A method the model cannot run is listed greyed out with the
// reason; a method known to fail the randomisation sanity check carries a note.
import { h, labelled, option } from "./dom.js";

const DEFAULT_LAYER = "";

export function methodMenu({ model, send, listen, signal }) {
  const select = h("select", { className: "fw-method", title: "Attribution method" });
  const options = h("span", { className: "fw-method-options" });
  const note = h("div", { className: "fw-note", hidden: true });

  function specOf(name) {
    return model.get("method_specs").find((spec) => spec.name === name);
  }

  function fillMethods() {
    const items = model.get("method_specs").map((spec) => {
      const item = option(spec.name, spec.unavailable ? `${spec.label} (unavailable)` : spec.label);
      item.disabled = Boolean(spec.unavailable);
      item.title = spec.unavailable ? `Not for this model: it ${spec.unavailable}` : spec.note;
      return item;
    });
    select.replaceChildren(...items);
    select.value = model.get("method");
    fillOptions();
  }

  function setOption(name, value) {
    send("method_options", { ...model.get("method_options"), [name]: value });
  }

  function numberInput(spec, current) {
    const input = h("input", {
      type: "number",
      className: `fw-option fw-option-${spec.name}`,
      min: String(spec.min),
      max: String(spec.max),
      step: String(spec.step ?? 1),
      value: String(current ?? spec.default),
    });
    const commit = () => {
      const value = Number(input.value);
      // Rebuilding the inputs can fire a change on the old one: send only what is new.
      if (input.value !== "" && value !== (model.get("method_options")[spec.name] ?? spec.default)) {
        setOption(spec.name, value);
      }
    };
    // A typed number counts once the field is left or Enter is pressed; the spin arrows
    // commit at once.
    input.addEventListener("change", commit, { signal });
    input.addEventListener(
      "keydown",
      (event) => {
        if (event.key === "Enter") commit();
      },
      { signal },
    );
    return labelled(spec.name[0].toUpperCase() + spec.name.slice(1), input);
  }

  function layerSelect(spec, current) {
    const layers = model.get("layers");
    const last = layers.length ? layers[layers.length - 1][0] : "";
    const input = h("select", { className: `fw-option fw-option-${spec.name}` }, [
      option(DEFAULT_LAYER, `default (${last || "none"})`),
      ...layers.map(([name, shape]) => option(name, `${name} (${shape})`)),
    ]);
    input.value = current ?? DEFAULT_LAYER;
    input.addEventListener(
      "change",
      () => setOption(spec.name, input.value === DEFAULT_LAYER ? null : input.value),
      { signal },
    );
    return labelled("Layer", input);
  }

  function fillOptions() {
    const spec = specOf(model.get("method"));
    const chosen = model.get("method_options");
    options.replaceChildren(
      ...(spec?.options ?? []).map((item) =>
        item.kind === "layer" ? layerSelect(item, chosen[item.name]) : numberInput(item, chosen[item.name]),
      ),
    );
    note.textContent = spec?.note ? `Note: ${spec.note}.` : "";
    note.hidden = !spec?.note;
  }

  select.addEventListener("change", () => send("method", select.value), { signal });
  listen("method_specs", fillMethods);
  listen("layers", fillOptions);
  listen("method", () => {
    select.value = model.get("method");
    fillOptions();
  });
  listen("method_options", fillOptions);
  fillMethods();

  return h("div", { className: "fw-toolbar fw-methods" }, [
    labelled("Method", select),
    options,
    note,
  ]);
}
