// The pictures: the image with its map (overlay), FlashTorch's four panels, or two maps side
// by side in compare mode; and the PNG download of what is shown. Maps arrive as signed
// float32 values; the sign, clip and colormap turn them into colours here.
import { figure, paint } from "./canvas.js";
import { classLabel, h, memo } from "./dom.js";
import { clipScale, floatsFromBytes, mapLevels } from "./levels.js";
import { bytesFromDataView, colorize, composite, rgbToRgba } from "./logic.js";

const OVERLAY_SIDE = 448; // CSS pixels of the overlay's longer side: 2x for a 224 px input
const PANEL_SIDE = 224;
const COMPARE_SIDE = 448; // each of the two maps: 2x for a 224 px input
const GAP = 8; // pixels between panels in a downloaded PNG

function clampedView(data) {
  const bytes = bytesFromDataView(data);
  return new Uint8ClampedArray(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function methodLabel(model) {
  const spec = model.get("method_specs").find((s) => s.name === model.get("method"));
  return spec ? spec.label : model.get("method");
}

export function stage({ model, listen, signal }, look) {
  const element = h("div", { className: "fw-stage" });
  const overlay = figure("fw-overlay");
  const panels = [0, 1, 2, 3].map(() => figure());
  const pair = [figure("fw-compare-a"), figure("fw-compare-b")];
  for (const { element: shown } of pair) shown.className = "fw-pair";
  const scaleNote = h("div", { className: "fw-scale-note" });

  const imageOf = memo(clampedView);
  const valuesOf = memo((data) => floatsFromBytes(bytesFromDataView(data)));
  const otherValuesOf = memo((data) => floatsFromBytes(bytesFromDataView(data)));
  const gradientsOf = memo((rgb) => rgbToRgba(bytesFromDataView(rgb)));
  // Colours of the map (and the second map), recomputed only when a value they depend on
  // changes: moving the alpha slider reuses them.
  const colours = memo((values, other, sign, clip, shared, lut) => {
    const table = bytesFromDataView(lut);
    const scale = clipScale(shared ? [values, other] : [values], sign, clip);
    const otherScale = other && !shared ? clipScale([other], sign, clip) : scale;
    return {
      map: colorize(mapLevels(values, sign, scale), table),
      other: other ? colorize(mapLevels(other, sign, otherScale), table) : null,
    };
  });

  // Everything drawable now, as RGBA arrays of the input's size; null before the first image.
  function pictures() {
    const [height, width] = model.get("image_shape");
    if (!height || !width) return null;
    const [mapHeight, mapWidth] = model.get("map_shape");
    const image = imageOf(model.get("image_bytes"));
    const hasMap = mapHeight === height && mapWidth === width;
    const values = hasMap ? valuesOf(model.get("map_values")) : null;
    const otherBytes = model.get("compare_values");
    const hasOther = hasMap && bytesFromDataView(otherBytes).length === height * width * 4;
    const other = hasOther ? otherValuesOf(otherBytes) : null;
    const shared = model.get("compare") === "class";
    const lut = look.sign === "all" ? model.get("diverging_lut_bytes") : model.get("lut_bytes");
    const coloured = values ? colours(values, other, look.sign, look.clip, shared, lut) : null;
    const rgb = bytesFromDataView(model.get("gradient_rgb_bytes"));
    const gradients = rgb.length === height * width * 3 ? gradientsOf(model.get("gradient_rgb_bytes")) : null;
    const blend = (colour) => (colour ? composite(image, colour, look.alpha) : image);
    return {
      width,
      height,
      image,
      gradients,
      map: coloured?.map ?? null,
      overlay: blend(coloured?.map),
      second: coloured?.other ? blend(coloured.other) : null,
    };
  }

  function panelImages(pics) {
    return [pics.image, pics.gradients, pics.map, pics.overlay];
  }

  function draw() {
    const pics = pictures();
    if (!pics) {
      element.replaceChildren();
      return;
    }
    const { width, height } = pics;
    const shownClass = `${classLabel(model, model.get("target"))}`;
    if (pics.second) {
      paint(pair[0].canvas, pics.overlay, width, height, COMPARE_SIDE);
      paint(pair[1].canvas, pics.second, width, height, COMPARE_SIDE);
      const compare = model.get("compare");
      pair[0].caption.textContent = compare === "class" ? shownClass : methodLabel(model);
      pair[1].caption.textContent = model.get("compare_caption");
      scaleNote.textContent =
        compare === "class"
          ? "Both maps on one colour scale."
          : "Each map on its own colour scale: methods differ in units.";
      element.replaceChildren(pair[0].element, pair[1].element, scaleNote);
    } else if (model.get("view") === "panels") {
      const reduction = model.get("take_max") ? "Max |value| over channels" : "Sum over channels";
      const captions = ["Input image", "Map across RGB channels", reduction, "Overlay"];
      panelImages(pics).forEach((rgba, i) => {
        panels[i].caption.textContent = captions[i];
        paint(panels[i].canvas, rgba, width, height, PANEL_SIDE);
      });
      element.replaceChildren(...panels.map((panel) => panel.element));
    } else {
      paint(overlay.canvas, pics.overlay, width, height, OVERLAY_SIDE);
      overlay.caption.textContent = "";
      element.replaceChildren(overlay.canvas);
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

  function download() {
    const pics = pictures();
    if (!pics) return;
    let layers = [pics.overlay];
    if (pics.second) layers = [pics.overlay, pics.second];
    else if (model.get("view") === "panels") layers = panelImages(pics).filter(Boolean);
    const canvas = document.createElement("canvas");
    canvas.width = layers.length * pics.width + (layers.length - 1) * GAP;
    canvas.height = pics.height;
    const context = canvas.getContext("2d");
    layers.forEach((rgba, i) => {
      context.putImageData(new ImageData(rgba, pics.width, pics.height), i * (pics.width + GAP), 0);
    });
    const target = model.get("target");
    const name = classLabel(model, target).replace(/[^A-Za-z0-9-]+/g, "_");
    canvas.toBlob((blob) => {
      const url = URL.createObjectURL(blob);
      const link = h("a", { href: url, download: `saliency-${target}-${name}.png`, hidden: true });
      element.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
    }, "image/png");
  }

  const drawn = ["image_bytes", "image_shape", "map_values", "map_shape", "lut_bytes"];
  const shown = ["compare_values", "compare_caption", "diverging_lut_bytes", "gradient_rgb_bytes"];
  for (const name of [...drawn, ...shown, "view", "take_max", "compare"]) listen(name, schedule);
  // A resize also fires when the zoom changes; a move to a screen with another pixel ratio
  // does not, so the ratio is watched too.
  window.addEventListener("resize", schedule, { signal });
  watchPixelRatio(schedule, signal);
  draw();
  return { element, draw, schedule, download, cancel: () => cancelAnimationFrame(frame) };
}

// Call `onChange` whenever devicePixelRatio changes, until `signal` aborts. A resolution media
// query matches only the current ratio, so it is renewed after each change.
function watchPixelRatio(onChange, signal) {
  if (!window.matchMedia) return;
  const listenOnce = () => {
    const query = window.matchMedia(`(resolution: ${window.devicePixelRatio}dppx)`);
    query.addEventListener(
      "change",
      () => {
        onChange();
        if (!signal.aborted) listenOnce();
      },
      { once: true, signal },
    );
  };
  listenOnce();
}
