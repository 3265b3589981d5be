// How the map looks: reduction over channels, sign, outlier clip, colormap, opacity, layout.
// The sign, clip and opacity are applied in the browser at once (the kernel only hears the
// final value, throttled); the reduction and the colormap ask Python for new bytes.
import { h, labelled, option } from "./dom.js";
import { throttle } from "./logic.js";

const SEND_MS = 150; // a slider's value reaches Python at most this often
const SIGN_LABELS = [
  ["absolute", "Absolute value"],
  ["positive", "Positive"],
  ["negative", "Negative"],
  ["all", "Signed (diverging)"],
];

// `look` holds the values drawn now ({alpha, sign, clip}); `redraw` draws with them.
export function lookControls({ model, send, listen, signal }, look, redraw, download) {
  const takeMax = h("input", { type: "checkbox", className: "fw-take-max" });
  const sign = h("select", { className: "fw-sign" }, SIGN_LABELS.map(([v, text]) => option(v, text)));
  const clip = h("input", {
    type: "number",
    className: "fw-clip",
    min: "50",
    max: "100",
    step: "0.1",
    title: "Percentile of the map's magnitudes at the top of the colour scale",
  });
  const colormap = h("select", { className: "fw-colormap" });
  const alpha = h("input", { type: "range", className: "fw-alpha", min: "0", max: "1", step: "0.01" });
  const view = h("select", { className: "fw-view" }, [
    option("overlay", "Overlay"),
    option("panels", "Four panels"),
  ]);
  const downloadButton = h("button", {
    type: "button",
    className: "fw-download",
    textContent: "Download PNG",
  });

  const sendAlpha = throttle((value) => send("alpha", value), SEND_MS);
  const sendClip = throttle((value) => send("clip_percentile", value), SEND_MS);

  function sync() {
    const spec = model.get("method_specs").find((s) => s.name === model.get("method"));
    takeMax.checked = model.get("take_max");
    takeMax.disabled = spec?.map_space === "layer"; // Grad-CAM has one channel
    sign.value = look.sign;
    clip.value = String(look.clip);
    colormap.value = model.get("colormap");
    view.value = model.get("view");
    alpha.value = String(look.alpha);
  }

  function fillColormaps() {
    colormap.replaceChildren(...model.get("colormap_names").map((name) => option(name, name)));
    colormap.value = model.get("colormap");
  }

  takeMax.addEventListener("change", () => send("take_max", takeMax.checked), { signal });
  colormap.addEventListener("change", () => send("colormap", colormap.value), { signal });
  view.addEventListener("change", () => send("view", view.value), { signal });
  sign.addEventListener(
    "change",
    () => {
      look.sign = sign.value;
      redraw(true);
      send("sign", look.sign);
    },
    { signal },
  );
  clip.addEventListener(
    "input",
    () => {
      const value = Number(clip.value);
      if (clip.value === "" || !(value >= 50 && value <= 100)) return; // mid-typing
      look.clip = value;
      redraw(true);
      sendClip(value);
    },
    { signal },
  );
  alpha.addEventListener(
    "input",
    () => {
      look.alpha = Number(alpha.value);
      redraw(true); // blend here at once; Python only needs to hear the final value
      sendAlpha(look.alpha);
    },
    { signal },
  );
  downloadButton.addEventListener("click", download, { signal });

  const follow = (name, key) =>
    listen(name, () => {
      look[key] = model.get(name);
      sync();
      redraw();
    });
  follow("alpha", "alpha");
  follow("sign", "sign");
  follow("clip_percentile", "clip");
  for (const name of ["take_max", "colormap", "view", "method", "method_specs"]) listen(name, sync);
  listen("colormap_names", fillColormaps);
  fillColormaps();
  sync();

  const element = h("div", { className: "fw-toolbar" }, [
    labelled("Max over channels", takeMax),
    labelled("Sign", sign),
    labelled("Clip at percentile", clip),
    labelled("Colormap", colormap),
    labelled("Alpha", alpha),
    labelled("View", view),
    downloadButton,
  ]);
  const cancel = () => {
    sendAlpha.cancel();
    sendClip.cancel();
  };
  return { element, cancel };
}
