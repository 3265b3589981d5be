// The thumbnails of one page and the pager. Which rows show comes from the columns and the
// filter traits (js/gallery_logic.js); the pictures of the rows on show are asked of Python
// with a "thumbnails" message, answered by a message carrying each image's JPEG and its map's
// PNG. They are decoded here, the map coloured and blended as SaliencyWidget's view does (the
// sign and clip of its defaults), and a few pages' worth are kept for going back.
import { paint } from "./canvas.js";
import { h } from "./dom.js";
import { decodeMap, OUTCOME, pageCount, pageRows, percent, shownRows } from "./gallery_logic.js";
import { clipScale, mapLevels } from "./levels.js";
import { bytesFromDataView, colorize, composite } from "./logic.js";

const SIDE = 160; // CSS pixels of a thumbnail's longer side
const SIGN = "absolute";
const CLIP = 99.5; // SaliencyWidget's default clip percentile
const PAGES_KEPT = 4; // pages of decoded thumbnails kept for going back
const OUTCOME_NAMES = new Map(Object.entries(OUTCOME).map(([name, code]) => [code, name]));

// RGBA pixels of an encoded image, exactly as stored: no colour management, no premultiplying,
// so a map's gray levels come back as written.
async function pixelsOf(data, type) {
  const bitmap = await createImageBitmap(new Blob([bytesFromDataView(data)], { type }), {
    colorSpaceConversion: "none",
    premultiplyAlpha: "none",
  });
  const canvas = h("canvas", { width: bitmap.width, height: bitmap.height });
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.drawImage(bitmap, 0, 0);
  bitmap.close();
  const { data: rgba, width, height } = context.getImageData(0, 0, canvas.width, canvas.height);
  return { rgba, width, height };
}

// A thumbnail's item (what Python said) with its picture: the image and its map's levels.
async function decoded(item, buffers) {
  if (item.image === null) return { item, image: null };
  const [image, map] = await Promise.all([
    pixelsOf(buffers[item.image], "image/jpeg"),
    pixelsOf(buffers[item.map.buffer], "image/png"),
  ]);
  const same = map.width === image.width && map.height === image.height;
  const values = same ? decodeMap(map.rgba, item.map.scale) : null;
  const levels = values ? mapLevels(values, SIGN, clipScale([values], SIGN, CLIP)) : null;
  return { item, image, levels, lut: null, colours: null };
}

function caption(className, text) {
  return h("span", { className, textContent: text, title: text });
}

export function thumbnailGrid({ model, listen, signal }, table, look) {
  const tiles = h("div", { className: "fw-g-tiles" });
  const button = (className, text) => h("button", { type: "button", className, textContent: text });
  const previous = button("fw-g-previous", "‹ Previous");
  const next = button("fw-g-next", "Next ›");
  const where = h("span", { className: "fw-g-where", "aria-live": "polite" });
  const pager = h("div", { className: "fw-toolbar fw-g-pager" }, [previous, where, next]);
  const element = h("div", { className: "fw-g-grid" }, [pager, tiles]);

  const cache = new Map(); // position -> decoded thumbnail, oldest first
  const pending = new Set(); // positions asked for and not answered yet
  const shown = new Map(); // position -> its tile, on the page shown
  let rows = [];
  let page = 0;

  function filter() {
    const [low, high] = model.get("confidence_range");
    const predicted = model.get("predicted_class");
    return {
      outcome: model.get("outcome"),
      trueLabel: model.get("true_labels").indexOf(model.get("true_label")),
      predicted: model.get("predicted_classes").findIndex((entry) => entry.class === predicted),
      low,
      high,
    };
  }

  // What Python said of the image, under its picture (once, when it arrives).
  function describe(tile, item) {
    tile.dataset.loaded = "true";
    tile.querySelector(".fw-g-source").replaceWith(caption("fw-g-source", item.source));
    const lines = [];
    if (item.error !== null) lines.push(caption("fw-g-failure", item.error));
    if (item.prediction) {
      const { label, probability } = item.prediction;
      lines.push(caption("fw-g-prediction", `${label} · ${percent(probability)}`));
    }
    if (item.true_label !== null) lines.push(caption("fw-g-truth", `true: ${item.true_label}`));
    if (typeof item.deletion_auc === "number") {
      lines.push(caption("fw-g-auc", `deletion AUC ${item.deletion_auc.toFixed(3)}`));
    }
    tile.querySelector(".fw-g-lines").replaceChildren(...lines);
  }

  // The image with its map coloured by the colormap and blended with alpha; colours are kept
  // until the colormap changes, so moving the alpha slider only blends.
  function draw(position) {
    const tile = shown.get(position);
    const thumb = cache.get(position);
    if (!tile || !thumb) return;
    if (tile.dataset.loaded === "false") describe(tile, thumb.item);
    const { image, levels } = thumb;
    const canvas = tile.querySelector("canvas");
    if (!image) {
      paint(canvas, null, 1, 1, SIDE);
      return;
    }
    let overlay = image.rgba;
    if (levels) {
      const lut = model.get("lut_bytes");
      if (thumb.lut !== lut) {
        thumb.colours = colorize(levels, bytesFromDataView(lut));
        thumb.lut = lut;
      }
      overlay = composite(image.rgba, thumb.colours, look.alpha);
    }
    paint(canvas, overlay, image.width, image.height, SIDE);
  }

  function tileFor(row) {
    const { position, outcome } = table();
    const at = position[row];
    const state = OUTCOME_NAMES.get(outcome[row]);
    const attributes = { type: "button", className: "fw-g-tile", disabled: state === "failed" };
    const tile = h("button", attributes, [
      h("canvas"),
      caption("fw-g-source", "Loading…"),
      h("span", { className: "fw-g-lines" }),
    ]);
    Object.assign(tile.dataset, { position: String(at), outcome: state, loaded: "false" });
    paint(tile.querySelector("canvas"), null, 1, 1, SIDE); // an empty square until it arrives
    tile.addEventListener(
      "click",
      () => {
        if (model.get("can_open")) model.send({ type: "open", position: at });
      },
      { signal },
    );
    return tile;
  }

  function markOpened() {
    const opened = model.get("opened_position");
    for (const [position, tile] of shown) tile.dataset.opened = String(position === opened);
  }

  function show() {
    const size = model.get("page_size");
    const pages = pageCount(rows.length, size);
    page = Math.min(page, pages - 1);
    const visible = pageRows(rows, page, size);
    const { position } = table();
    shown.clear();
    tiles.replaceChildren(
      ...visible.map((row) => {
        const tile = tileFor(row);
        shown.set(position[row], tile);
        return tile;
      }),
    );
    const count = `${rows.length} of ${model.get("count")} images`;
    where.textContent = `Page ${page + 1} of ${pages} · ${count}`;
    previous.disabled = page === 0;
    next.disabled = page >= pages - 1;
    markOpened();
    const missing = [...shown.keys()].filter((at) => !cache.has(at) && !pending.has(at));
    for (const at of shown.keys()) draw(at);
    if (missing.length) {
      for (const at of missing) pending.add(at);
      model.send({ type: "thumbnails", positions: missing });
    }
  }

  function refilter() {
    rows = shownRows(table(), model.get("count"), filter(), model.get("sort"));
    page = 0;
    show();
  }

  // Keep a few pages' worth of thumbnails, for going back: the ones that arrived first, and are
  // not on show, go first.
  function forget() {
    const limit = PAGES_KEPT * model.get("page_size");
    for (const position of cache.keys()) {
      if (cache.size <= limit) break;
      if (!shown.has(position)) cache.delete(position);
    }
  }

  async function receive(content, buffers) {
    if (content?.type !== "thumbnails") return;
    const thumbs = await Promise.all(content.items.map((item) => decoded(item, buffers)));
    for (const thumb of thumbs) {
      const position = thumb.item.position;
      pending.delete(position);
      cache.delete(position); // an answer to a repeated request counts as new
      cache.set(position, thumb);
      draw(position);
    }
    forget();
  }
  const onMessage = (content, buffers) => {
    receive(content, buffers).catch((error) => console.error("flashwidget gallery:", error));
  };
  model.on("msg:custom", onMessage);

  const turn = (by) => () => {
    page += by;
    show();
  };
  previous.addEventListener("click", turn(-1), { signal });
  next.addEventListener("click", turn(1), { signal });
  const filters = ["outcome", "true_label", "predicted_class", "confidence_range", "sort"];
  for (const name of [...filters, "columns", "page_size"]) listen(name, refilter);
  listen("lut_bytes", () => {
    for (const position of shown.keys()) draw(position);
  });
  listen("opened_position", markOpened);
  refilter();

  const redraw = () => {
    for (const position of shown.keys()) draw(position);
  };
  const sourceOf = (position) => cache.get(position)?.item.source ?? null;
  return { element, redraw, sourceOf, cancel: () => model.off("msg:custom", onMessage) };
}
