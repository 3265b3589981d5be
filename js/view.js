// The flashwidget view (anywidget's render). Python sends the image once, each map as 8-bit
// levels and the colormap as a 256-colour table; colouring, blending with alpha, the panels and
// the PNG download all happen here, so moving the alpha slider never waits for the kernel.
import { bytesFromDataView, colorize, composite, filterLabels, rgbToRgba, throttle } from "./logic.js";

const OVERLAY_SIDE = 448; // CSS pixels of the overlay's longer side: 2x for a 224 px input
const PANEL_SIDE = 224;
const ALPHA_SEND_MS = 150; // the slider's value reaches Python at most this often
const STEP_SEND_MS = 100; // scrubbing through training asks Python for a snapshot this often
const NEWEST = -1; // step_index of the newest map, which training updates keep replacing
const SEARCH_LIMIT = 50;
const GAP = 8; // pixels between panels in a downloaded PNG

// Create an element: attributes that are DOM properties are set as such, others as attributes.
function h(tag, attributes = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key in node) node[key] = value;
    else node.setAttribute(key, value);
  }
  node.append(...children);
  return node;
}

// Remember the last result of `compute` for the same arguments (compared by identity), so
// that a DataView received once is decoded and coloured once, not on every redraw.
function memo(compute) {
  let last = null;
  let value;
  return (...args) => {
    if (last === null || args.some((arg, i) => arg !== last[i])) {
      value = compute(...args);
      last = args;
    }
    return value;
  };
}

function option(value, text) {
  return h("option", { value: String(value), textContent: text });
}

function clampedView(data) {
  const bytes = bytesFromDataView(data);
  return new Uint8ClampedArray(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function render({ model, el }) {
  const controller = new AbortController();
  const { signal } = controller;
  const listeners = [];
  const listen = (name, callback) => {
    model.on(`change:${name}`, callback);
    listeners.push([`change:${name}`, callback]);
  };

  // Controls -------------------------------------------------------------------------------
  const classSelect = h("select", { className: "fw-class", title: "Class to explain" });
  const search = h("input", {
    type: "search",
    className: "fw-search",
    placeholder: "Find a class by name or index",
  });
  const results = h("select", { className: "fw-results", hidden: true });
  const guided = h("input", { type: "checkbox", className: "fw-guided" });
  const takeMax = h("input", { type: "checkbox", className: "fw-take-max" });
  const colormap = h("select", { className: "fw-colormap" });
  const alphaSlider = h("input", {
    type: "range",
    className: "fw-alpha",
    min: "0",
    max: "1",
    step: "0.01",
  });
  const viewSelect = h("select", { className: "fw-view" }, [
    option("overlay", "Overlay"),
    option("panels", "Four panels"),
  ]);
  const stepSlider = h("input", { type: "range", className: "fw-step", min: "0", step: "1" });
  const stepLabel = h("span", { className: "fw-step-label" });
  const downloadButton = h("button", {
    type: "button",
    className: "fw-download",
    textContent: "Download PNG",
  });
  const label = (text, control) => h("label", {}, [h("span", { textContent: text }), control]);
  const timeline = h("div", { className: "fw-toolbar fw-timeline", hidden: true }, [
    label("Training step", stepSlider),
    stepLabel,
  ]);

  const overlayCanvas = h("canvas", { className: "fw-overlay" });
  const panelTitles = ["Input image", "Gradients across RGB channels", "", "Overlay"];
  const panels = panelTitles.map((title) => {
    const canvas = h("canvas");
    const caption = h("figcaption", { textContent: title });
    return { canvas, caption, figure: h("figure", {}, [canvas, caption]) };
  });
  const stage = h("div", { className: "fw-stage" });
  const errorBox = h("div", { className: "fw-error", role: "alert", hidden: true });
  const statusLine = h("div", { className: "fw-status", "aria-live": "polite" });

  const root = h("div", { className: "flashwidget" }, [
    h("div", { className: "fw-toolbar" }, [
      label("Class", classSelect),
      h("div", { className: "fw-finder" }, [search, results]),
    ]),
    h("div", { className: "fw-toolbar" }, [
      label("Guided", guided),
      label("Max over channels", takeMax),
      label("Colormap", colormap),
      label("Alpha", alphaSlider),
      label("View", viewSelect),
      downloadButton,
    ]),
    timeline,
    errorBox,
    stage,
    statusLine,
  ]);
  el.append(root);

  const send = (name, value) => {
    model.set(name, value);
    model.save_changes();
  };
  const sendAlpha = throttle((value) => send("alpha", value), ALPHA_SEND_MS);
  const sendStep = throttle((value) => send("step_index", value), STEP_SEND_MS);
  let alpha = model.get("alpha");

  // Pixels ---------------------------------------------------------------------------------
  const imageOf = memo(clampedView);
  const mapOf = memo((levels, lut) => colorize(bytesFromDataView(levels), bytesFromDataView(lut)));
  const gradientsOf = memo((rgb) => rgbToRgba(bytesFromDataView(rgb)));

  // Everything drawable now, as RGBA arrays of the input's size; null before the first image.
  function pictures() {
    const [height, width] = model.get("image_shape");
    if (!height || !width) return null;
    const [mapHeight, mapWidth] = model.get("map_shape");
    const image = imageOf(model.get("image_bytes"));
    const hasMap = mapHeight === height && mapWidth === width;
    const map = hasMap ? mapOf(model.get("map_bytes"), model.get("lut_bytes")) : null;
    const rgb = bytesFromDataView(model.get("gradient_rgb_bytes"));
    const hasGradients = rgb.length === height * width * 3;
    const gradients = hasGradients ? gradientsOf(model.get("gradient_rgb_bytes")) : null;
    const overlay = map ? composite(image, map, alpha) : image;
    return { width, height, image, map, gradients, overlay };
  }

  const scratch = document.createElement("canvas");
  function paint(canvas, rgba, width, height, side) {
    const scale = side / Math.max(width, height);
    const ratio = window.devicePixelRatio || 1;
    const cssWidth = Math.round(width * scale);
    canvas.style.width = `${cssWidth}px`;
    canvas.width = Math.max(1, Math.round(cssWidth * ratio));
    canvas.height = Math.max(1, Math.round(height * scale * ratio));
    const context = canvas.getContext("2d");
    context.clearRect(0, 0, canvas.width, canvas.height);
    if (!rgba) return;
    scratch.width = width;
    scratch.height = height;
    scratch.getContext("2d").putImageData(new ImageData(rgba, width, height), 0, 0);
    context.imageSmoothingEnabled = canvas.width < width; // enlarge with crisp pixels
    context.drawImage(scratch, 0, 0, canvas.width, canvas.height);
  }

  function panelImages(pics) {
    return [pics.image, pics.gradients, pics.map, pics.overlay];
  }

  function draw() {
    const pics = pictures();
    const showPanels = model.get("view") === "panels";
    if (!pics) {
      stage.replaceChildren();
      return;
    }
    if (showPanels) {
      const reduction = model.get("take_max") ? "Max |gradient|" : "Sum of |gradient|";
      panels[2].caption.textContent = reduction;
      panelImages(pics).forEach((rgba, i) => {
        paint(panels[i].canvas, rgba, pics.width, pics.height, PANEL_SIDE);
      });
      stage.replaceChildren(...panels.map((panel) => panel.figure));
    } else {
      paint(overlayCanvas, pics.overlay, pics.width, pics.height, OVERLAY_SIDE);
      stage.replaceChildren(overlayCanvas);
    }
  }

  let frame = 0;
  const schedule = () => {
    if (!frame) {
      frame = requestAnimationFrame(() => {
        frame = 0;
        draw();
      });
    }
  };

  // Controls from the model ----------------------------------------------------------------
  function labelOf(index) {
    const labels = model.get("labels");
    return index < labels.length ? labels[index] : `class ${index}`;
  }

  function fillClasses() {
    const target = model.get("target");
    const predictions = model.get("predictions");
    const options = predictions.map(({ index, label: name, probability }) =>
      option(index, `${name} (${(probability * 100).toFixed(1)}%)`),
    );
    if (!predictions.some(({ index }) => index === target)) {
      options.push(option(target, `${labelOf(target)} (#${target})`));
    }
    classSelect.replaceChildren(...options);
    classSelect.value = String(target);
  }

  function fillColormaps() {
    colormap.replaceChildren(...model.get("colormap_names").map((name) => option(name, name)));
    colormap.value = model.get("colormap");
  }

  function showStatus() {
    const ms = model.get("compute_ms");
    const time = ms > 0 ? ` · ${ms.toFixed(ms < 10 ? 1 : 0)} ms` : "";
    statusLine.textContent = `${model.get("status")}${time}`;
    const error = model.get("error");
    errorBox.textContent = error;
    errorBox.hidden = !error;
  }

  function syncControls() {
    guided.checked = model.get("guided");
    takeMax.checked = model.get("take_max");
    colormap.value = model.get("colormap");
    viewSelect.value = model.get("view");
    alphaSlider.value = String(alpha);
  }

  // The slider over the snapshots kept by update(): its right end follows the newest map.
  function fillSteps() {
    const steps = model.get("steps");
    const index = model.get("step_index");
    timeline.hidden = steps.length === 0;
    stepSlider.max = String(Math.max(0, steps.length - 1));
    stepSlider.value = String(index === NEWEST ? steps.length - 1 : index);
    const shown = index === NEWEST ? steps.length - 1 : index;
    const newest = index === NEWEST ? " (newest)" : "";
    stepLabel.textContent = steps.length ? `${steps[shown]}${newest}` : "";
  }

  // Search ---------------------------------------------------------------------------------
  function showResults() {
    const found = filterLabels(model.get("labels"), search.value, SEARCH_LIMIT);
    results.replaceChildren(
      ...found.map(({ index, label: name }) => option(index, `${name} (#${index})`)),
    );
    results.size = Math.min(6, Math.max(2, found.length)); // size 1 would make a drop-down
    results.hidden = found.length === 0;
  }

  function choose(value) {
    if (value === "") return;
    send("target", Number(value));
    search.value = "";
    showResults();
  }

  // Listeners ------------------------------------------------------------------------------
  const pick = () => send("target", Number(classSelect.value));
  classSelect.addEventListener("change", pick, { signal });
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
  guided.addEventListener("change", () => send("guided", guided.checked), { signal });
  takeMax.addEventListener("change", () => send("take_max", takeMax.checked), { signal });
  colormap.addEventListener("change", () => send("colormap", colormap.value), { signal });
  viewSelect.addEventListener("change", () => send("view", viewSelect.value), { signal });
  alphaSlider.addEventListener(
    "input",
    () => {
      alpha = Number(alphaSlider.value);
      draw(); // blend here at once; Python only needs to hear the final value
      sendAlpha(alpha);
    },
    { signal },
  );
  stepSlider.addEventListener(
    "input",
    () => {
      const last = model.get("steps").length - 1;
      const value = Number(stepSlider.value);
      sendStep(value >= last ? NEWEST : value);
    },
    { signal },
  );
  downloadButton.addEventListener("click", download, { signal });
  window.addEventListener("resize", schedule, { signal }); // also fires when the zoom (DPR) changes

  listen("target", fillClasses);
  listen("predictions", fillClasses);
  listen("labels", () => {
    fillClasses();
    showResults();
  });
  listen("colormap_names", fillColormaps);
  listen("steps", fillSteps);
  listen("step_index", fillSteps);
  for (const name of ["status", "error", "compute_ms"]) listen(name, showStatus);
  for (const name of ["guided", "take_max", "colormap", "view"]) listen(name, syncControls);
  listen("alpha", () => {
    alpha = model.get("alpha");
    syncControls();
    schedule();
  });
  const drawn = ["image_bytes", "image_shape", "map_bytes", "map_shape", "lut_bytes"];
  for (const name of [...drawn, "gradient_rgb_bytes", "view", "take_max"]) listen(name, schedule);

  // Download -------------------------------------------------------------------------------
  function download() {
    const pics = pictures();
    if (!pics) return;
    const panelsShown = model.get("view") === "panels";
    const layers = panelsShown ? panelImages(pics).filter(Boolean) : [pics.overlay];
    const canvas = document.createElement("canvas");
    canvas.width = layers.length * pics.width + (layers.length - 1) * GAP;
    canvas.height = pics.height;
    const context = canvas.getContext("2d");
    layers.forEach((rgba, i) => {
      context.putImageData(new ImageData(rgba, pics.width, pics.height), i * (pics.width + GAP), 0);
    });
    const target = model.get("target");
    const name = labelOf(target).replace(/[^A-Za-z0-9-]+/g, "_");
    canvas.toBlob((blob) => {
      const url = URL.createObjectURL(blob);
      const link = h("a", { href: url, download: `saliency-${target}-${name}.png`, hidden: true });
      root.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
    }, "image/png");
  }

  model.send({ type: "view", shown: true }); // Python skips training updates nobody sees
  fillClasses();
  fillColormaps();
  fillSteps();
  syncControls();
  showStatus();
  draw();

  return () => {
    controller.abort();
    sendAlpha.cancel();
    sendStep.cancel();
    cancelAnimationFrame(frame);
    for (const [event, callback] of listeners) model.off(event, callback);
    root.remove();
    model.send({ type: "view", shown: false });
  };
}

export default { render };
