// The pictures of the feature-visualisation view: one tile a rendered channel or class, drawn
// as its frames stream in, and the DeepDream pair. Python sends every tile in one bytes trait;
// each tile remembers the bytes it drew, so a new frame of one tile repaints that tile alone.
import { figure, paint } from "./canvas.js";
import { h } from "./dom.js";
import { hasDream, isBlankTile, sameBytes, sliceTiles, tileSide } from "./feature_logic.js";
import { bytesFromDataView } from "./logic.js";

// A canvas that repaints only when its bytes, size or the screen's pixel ratio changed.
function paintedCanvas(canvas) {
  let drawn = null; // a copy of the bytes last drawn (null: an empty placeholder)
  let key = "";
  return {
    canvas,
    // Draw `rgba` (or an empty placeholder for null), unless it is what the canvas shows.
    show(rgba, width, height, side) {
      const newKey = `${width}x${height}@${side}@${window.devicePixelRatio || 1}`;
      if (newKey === key && sameBytes(drawn, rgba)) return;
      if (width > 0 && height > 0) paint(canvas, rgba, width, height, side);
      else paint(canvas, null, 1, 1, side);
      drawn = rgba ? rgba.slice() : null;
      key = newKey;
    },
    forget() {
      key = "";
    },
  };
}

function tileFigure() {
  const parts = figure();
  parts.element.className = "fw-tile";
  return { ...parts, painter: paintedCanvas(parts.canvas) };
}

export function featureTiles({ model, listen, signal }) {
  const tilesElement = h("div", { className: "fw-tiles", "aria-live": "off" });
  const shown = []; // one tileFigure a tile, reused while the number of tiles stays

  const original = figure();
  original.element.className = "fw-dream-original";
  original.caption.textContent = "Original";
  const result = figure();
  result.element.className = "fw-dream-result";
  result.caption.textContent = "DeepDream";
  const dreamPainters = [paintedCanvas(original.canvas), paintedCanvas(result.canvas)];
  const dreamCaption = h("p", { className: "fw-dream-caption" });
  const dreamElement = h("div", { className: "fw-dream", hidden: true }, [
    h("div", { className: "fw-dream-pair" }, [original.element, result.element]),
    dreamCaption,
  ]);

  function drawTiles() {
    const labels = model.get("tile_labels") ?? [];
    const done = model.get("tile_done") ?? [];
    const [height, width] = model.get("tile_shape") ?? [0, 0];
    const rows = Number.isInteger(height) && height > 0 ? height : 0;
    const columns = Number.isInteger(width) && width > 0 ? width : 0;
    const images = sliceTiles(model.get("tiles"), labels.length, rows, columns);
    const grid = model.get("mode") === "grid" || labels.length > 1;
    const side = tileSide(grid, Math.max(rows, columns));
    while (shown.length < labels.length) shown.push(tileFigure());
    if (shown.length > labels.length) shown.length = labels.length;
    if (tilesElement.children.length !== shown.length) {
      tilesElement.replaceChildren(...shown.map((tile) => tile.element));
    }
    tilesElement.dataset.count = String(labels.length);
    shown.forEach((tile, i) => {
      const blank = isBlankTile(images[i]);
      tile.painter.show(blank ? null : images[i], columns, rows, side);
      const caption = String(labels[i]);
      if (tile.caption.textContent !== caption) tile.caption.textContent = caption;
      tile.element.dataset.index = String(i);
      tile.element.dataset.done = String(done[i] === true);
      tile.element.dataset.empty = String(blank);
      tile.element.style.width = `${side}px`;
      tile.element.title = caption;
    });
  }

  function drawDream() {
    const shape = model.get("dream_shape") ?? [0, 0];
    const before = model.get("dream_original");
    const after = model.get("dream_result");
    const visible = hasDream(before, after, shape);
    dreamElement.hidden = !visible;
    dreamCaption.textContent = visible ? (model.get("dream_caption") ?? "") : "";
    if (!visible) return;
    const [height, width] = shape;
    const side = tileSide(false, Math.max(height, width));
    [before, after].forEach((data, i) => {
      const bytes = bytesFromDataView(data);
      const rgba = new Uint8ClampedArray(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      dreamPainters[i].show(rgba, width, height, side);
    });
  }

  let frame = 0;
  let tilesDue = true;
  let dreamDue = true;
  function drawDue() {
    frame = 0;
    if (tilesDue) drawTiles();
    if (dreamDue) drawDream();
    tilesDue = false;
    dreamDue = false;
  }
  const schedule = ({ tiles = false, dream = false }) => {
    tilesDue ||= tiles;
    dreamDue ||= dream;
    if (!frame) frame = requestAnimationFrame(drawDue);
  };
  // On a zoom or a move to a screen of another pixel ratio, every canvas is sized anew.
  const redrawAll = () => {
    for (const tile of shown) tile.painter.forget();
    for (const painter of dreamPainters) painter.forget();
    schedule({ tiles: true, dream: true });
  };

  for (const name of ["tiles", "tile_shape", "tile_labels", "tile_done", "mode"]) {
    listen(name, () => schedule({ tiles: true }));
  }
  for (const name of ["dream_original", "dream_result", "dream_shape", "dream_caption"]) {
    listen(name, () => schedule({ dream: true }));
  }
  window.addEventListener("resize", redrawAll, { signal });
  followPixelRatio(redrawAll, signal);
  drawDue();
  return {
    tiles: tilesElement,
    dream: dreamElement,
    cancel: () => cancelAnimationFrame(frame),
  };
}

// Call `onChange` whenever devicePixelRatio changes, until `signal` aborts. A resolution media
// query matches only the current ratio, so it is renewed after each change.
function followPixelRatio(onChange, signal) {
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
