// The FeatureWidget view (anywidget's render): what a layer's channel, the first channels of a
// layer, or a class looks for, rendered by gradient ascent in Python and streamed as frames.
// The controls only set traits (Python restarts the rendering by itself); Run and Stop are
// messages, as they are actions rather than state. Python sends every tile's RGBA in one bytes
// trait; js/feature_tiles.js draws them, each tile repainted only when its bytes change.
import { h, labelled, option, viewContext } from "./dom.js";
import {
  STEPS_MAX,
  STEPS_MIN,
  channelBounds,
  classChoices,
  classHint,
  clampChannel,
  clampGridSize,
  clampSteps,
  gridBounds,
  layerOptionText,
} from "./feature_logic.js";
import { featureTiles } from "./feature_tiles.js";

const MODES = [
  ["channel", "One channel"],
  ["grid", "Grid of channels"],
  ["class", "Class"],
];

// The layer menu: "name (shape)" for every layer Python offers, input to output.
function layerMenu({ model, send, listen, signal }) {
  const select = h("select", { className: "fw-layer", title: "Layer to look into" });
  function fill() {
    const layer = model.get("layer");
    const layers = model.get("layers") ?? [];
    const options = layers.map(([name, shape]) => option(name, layerOptionText(name, shape)));
    if (layer && !layers.some(([name]) => name === layer)) options.unshift(option(layer, layer));
    select.replaceChildren(...options);
    select.value = layer;
  }
  select.addEventListener("change", () => send("layer", select.value), { signal });
  listen("layers", fill);
  listen("layer", fill);
  fill();
  return labelled("Layer", select);
}

// A number input that sends `name` clamped to its bounds when the user commits a value (Enter,
// the arrows or leaving it), and shows Python's value and bounds.
function numberInput({ model, send, listen, signal }, { name, className, title, bounds, clamp }) {
  const input = h("input", { type: "number", className, step: 1, title });
  function show() {
    const [low, high] = bounds();
    input.min = String(low);
    input.max = String(high);
    input.value = String(model.get(name));
  }
  const commit = () => {
    const current = model.get(name);
    const value = clamp(input.value, current);
    input.value = String(value);
    if (value !== current) send(name, value);
  };
  input.addEventListener("change", commit, { signal });
  // In a notebook, Enter also reaches the notebook's own shortcuts, which may keep the input
  // from firing "change": commit on the key itself (a second commit sends nothing new).
  input.addEventListener(
    "keydown",
    (event) => {
      if (event.key === "Enter") commit();
    },
    { signal },
  );
  listen(name, show);
  listen("channels", show);
  show();
  return input;
}

// The class picker: a search over every class name (or an index), and a menu of what it finds
// with the chosen class first; choosing sends `target`.
function classPicker({ model, send, listen, signal }) {
  const search = h("input", {
    type: "search",
    className: "fw-class-search",
    placeholder: "Search by name or index",
    title: "Type part of a class name, or its index; Enter picks the first match",
    "aria-label": "Find a class by name or index",
  });
  const select = h("select", {
    className: "fw-class",
    title: "Class to render",
    "aria-label": "Class to render",
  });

  const hint = h("span", { className: "fw-class-hint", "aria-live": "polite" });

  let choices = [];
  function fill() {
    const target = model.get("target");
    choices = classChoices(model.get("labels") ?? [], search.value, target);
    select.replaceChildren(...choices.map(({ index, text }) => option(index, text)));
    select.value = String(target);
    const none = search.value.trim() !== "" && !choices.some(({ match }) => match);
    search.setAttribute("aria-invalid", String(none));
    hint.textContent = classHint(search.value, choices);
  }

  function choose(value) {
    const index = Number(value);
    if (value === "" || !Number.isInteger(index)) return;
    if (index !== model.get("target")) send("target", index);
    search.value = "";
    fill();
  }

  search.addEventListener("input", fill, { signal });
  search.addEventListener(
    "keydown",
    (event) => {
      if (event.key === "Enter") {
        const first = choices.find(({ match }) => match);
        if (search.value.trim() !== "" && first) choose(String(first.index));
      }
      if (event.key === "Escape") {
        search.value = "";
        fill();
      }
    },
    { signal },
  );
  select.addEventListener("change", () => choose(select.value), { signal });
  listen("labels", fill);
  listen("target", fill);
  fill();
  return h("div", { className: "fw-class-picker" }, [
    h("span", { textContent: "Class" }),
    search,
    select,
    hint,
  ]);
}

function controls(context) {
  const { model, send, listen, signal } = context;
  const mode = h("select", { className: "fw-mode", title: "What to render" });
  mode.replaceChildren(...MODES.map(([value, text]) => option(value, text)));
  mode.addEventListener("change", () => send("mode", mode.value), { signal });

  const channel = labelled(
    "Channel",
    numberInput(context, {
      name: "channel",
      className: "fw-channel",
      title: "Channel of the layer to render",
      bounds: () => channelBounds(model.get("channels")),
      clamp: (value, current) => clampChannel(value, model.get("channels"), current),
    }),
  );
  const grid = labelled(
    "First",
    numberInput(context, {
      name: "grid_size",
      className: "fw-grid-size",
      title: "How many of the layer's first channels to render, one after another",
      bounds: () => gridBounds(model.get("channels")),
      clamp: (value, current) => clampGridSize(value, model.get("channels"), current),
    }),
  );
  grid.append(h("span", { textContent: "channels" }));
  const picker = classPicker(context);

  const quality = h("input", { type: "checkbox", className: "fw-quality" });
  quality.title =
    "On: a Fourier-space image with decorrelated colours and random jitter, scale and " +
    "rotation at every step. Off: FlashTorch's plain gradient ascent on the pixels.";
  quality.addEventListener("change", () => send("quality", quality.checked), { signal });
  const qualityLabel = h("label", { className: "fw-quality-label" }, [
    quality,
    h("span", { textContent: "Quality (Fourier, decorrelated, jitter)" }),
  ]);

  const steps = labelled(
    "Steps",
    numberInput(context, {
      name: "steps",
      className: "fw-steps",
      title: `Gradient ascent steps (${STEPS_MIN} to ${STEPS_MAX})`,
      bounds: () => [STEPS_MIN, STEPS_MAX],
      clamp: (value, current) => clampSteps(value, current),
    }),
  );

  function show() {
    const shown = model.get("mode");
    mode.value = shown;
    channel.hidden = shown !== "channel";
    grid.hidden = shown !== "grid";
    picker.hidden = shown !== "class";
    quality.checked = model.get("quality");
    const [, last] = channelBounds(model.get("channels"));
    channel.querySelector("span").textContent = `Channel (0–${last})`;
  }
  for (const name of ["mode", "quality", "channels"]) listen(name, show);
  show();

  return h("div", { className: "fw-toolbar fw-feature-controls" }, [
    layerMenu(context),
    labelled("Show", mode),
    channel,
    grid,
    picker,
    qualityLabel,
    steps,
  ]);
}

// Run again, Stop (only while a rendering runs) and its progress.
function actions({ model, listen, signal }, root) {
  const run = h("button", {
    type: "button",
    className: "fw-run",
    textContent: "Run",
    title: "Render again",
  });
  const stop = h("button", {
    type: "button",
    className: "fw-stop",
    textContent: "Stop",
    title: "Stop rendering: the tiles keep their last frame",
  });
  const progress = h("progress", { className: "fw-progress", max: 1, hidden: true });
  progress.setAttribute("aria-label", "Rendering progress");
  run.addEventListener("click", () => model.send({ type: "run" }), { signal });
  stop.addEventListener(
    "click",
    () => {
      if (model.get("running")) model.send({ type: "stop" });
    },
    { signal },
  );

  function show() {
    const running = model.get("running") === true;
    root.dataset.running = String(running);
    stop.hidden = !running;
    stop.disabled = !running;
    const fraction = model.get("progress");
    progress.hidden = !(fraction >= 0);
    if (fraction >= 0) progress.value = Math.min(1, fraction);
  }
  listen("running", show);
  listen("progress", show);
  show();
  return h("div", { className: "fw-toolbar fw-actions" }, [run, stop, progress]);
}

function render({ model, el }) {
  const context = viewContext(model);

  const root = h("div", { className: "flashwidget fw-features" });
  const error = h("div", { className: "fw-error", role: "alert", hidden: true });
  const status = h("div", { className: "fw-status", "aria-live": "polite" });
  function showStatus() {
    status.textContent = model.get("status") ?? "";
    error.textContent = model.get("error") ?? "";
    error.hidden = !model.get("error");
  }
  context.listen("status", showStatus);
  context.listen("error", showStatus);
  showStatus();

  const pictures = featureTiles(context);
  root.append(
    controls(context),
    actions(context, root),
    error,
    pictures.tiles,
    pictures.dream,
    status,
  );
  el.append(root);
  model.send({ type: "view", shown: true }); // Python may skip frames nobody sees

  return () => {
    context.close();
    pictures.cancel();
    root.remove();
    model.send({ type: "view", shown: false });
  };
}

export default { render };
