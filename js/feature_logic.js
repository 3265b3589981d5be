// Pure helpers of the feature-visualisation view (js/feature_view.js): no DOM, so that Node's
// test runner can check them. js/build.py inlines this file into flashwidget/static/feature.js;
// keep one export per line.
import { bytesFromDataView, filterLabels } from "./logic.js";

// CSS pixels of a lone tile's longer side (and of each DeepDream image), and of a grid's tiles.
export const TILE_SIDE = 224;
export const GRID_TILE_SIDE = 112;
export const GRID_MAX = 64; // most channels a grid shows
export const STEPS_MIN = 1;
export const STEPS_MAX = 2048;
export const CLASS_LIMIT = 50; // most classes the class picker lists for a query

// The RGBA images of `count` tiles of height x width packed one after another in `data` (a
// DataView, possibly into a larger buffer: its byteOffset is honoured), as Uint8ClampedArray
// views of it, without copying. A tile the data does not hold whole (a buffer too short, as
// when the tiles and their labels are not in step) is null, and so is every tile of an empty
// shape; bytes past the last tile are ignored. A shape or count that is not a whole number is
// refused.
export function sliceTiles(data, count, height, width) {
  for (const [name, value] of [
    ["count", count],
    ["height", height],
    ["width", width],
  ]) {
    if (!Number.isInteger(value) || value < 0) {
      throw new RangeError(`a tile ${name} is a whole number >= 0, got ${value}`);
    }
  }
  const bytes = bytesFromDataView(data);
  const size = height * width * 4;
  const tiles = [];
  for (let i = 0; i < count; i++) {
    const whole = size > 0 && (i + 1) * size <= bytes.length;
    const at = bytes.byteOffset + i * size;
    tiles.push(whole ? new Uint8ClampedArray(bytes.buffer, at, size) : null);
  }
  return tiles;
}

// Whether an image is all zero bytes: Python sends a tile not started yet that way (a finished
// or started one has opaque pixels).
export function isBlankTile(rgba) {
  if (rgba == null) return true;
  const aligned = rgba.byteOffset % 4 === 0;
  const words = aligned ? Math.floor(rgba.length / 4) : 0;
  if (words > 0) {
    const view = new Uint32Array(rgba.buffer, rgba.byteOffset, words);
    for (let i = 0; i < words; i++) if (view[i] !== 0) return false;
  }
  for (let i = words * 4; i < rgba.length; i++) if (rgba[i] !== 0) return false;
  return true;
}

// Whether two byte arrays (or nulls) hold the same bytes: a new frame of one tile must not
// repaint the others, though every frame arrives as one new buffer of all the tiles.
export function sameBytes(a, b) {
  if (a === b) return true;
  if (a == null || b == null || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// The CSS side of a tile whose longer side is `longer` source pixels: about TILE_SIDE alone,
// GRID_TILE_SIDE in a grid. A small image is enlarged by a whole factor, so every source pixel
// becomes a square of the same size; a large one is shown at the target side.
export function tileSide(grid, longer) {
  const target = grid ? GRID_TILE_SIDE : TILE_SIDE;
  if (!(longer > 0) || longer >= target) return target;
  return Math.max(1, Math.round(target / longer)) * longer;
}

// `value` (a number or the text of an input) as a whole number within [low, high]; `fallback`
// when it is not a number at all. A high below low gives low.
export function clampInteger(value, low, high, fallback) {
  const number = typeof value === "string" && value.trim() === "" ? NaN : Number(value);
  if (!Number.isFinite(number)) return fallback;
  return Math.max(low, Math.min(high, Math.round(number)));
}

// The channels of a layer with `channels` channels: 0 .. channels - 1 (just 0 when unknown).
export function channelBounds(channels) {
  return [0, Math.max(0, (Number.isInteger(channels) ? channels : 0) - 1)];
}

// How many channels a grid may show: 1 .. min(GRID_MAX, channels) (GRID_MAX when unknown).
export function gridBounds(channels) {
  const known = Number.isInteger(channels) && channels > 0;
  return [1, known ? Math.min(GRID_MAX, channels) : GRID_MAX];
}

export function clampChannel(value, channels, fallback = 0) {
  return clampInteger(value, ...channelBounds(channels), fallback);
}

export function clampGridSize(value, channels, fallback = 1) {
  return clampInteger(value, ...gridBounds(channels), fallback);
}

export function clampSteps(value, fallback = STEPS_MIN) {
  return clampInteger(value, STEPS_MIN, STEPS_MAX, fallback);
}

// A layer as the layer menu shows it: "name (64x28x28)", or the name alone without a shape.
export function layerOptionText(name, shape) {
  return shape ? `${name} (${shape})` : String(name);
}

// A class as the class picker shows it, as Python labels its tiles: "mortarboard (667)".
export function classOptionText(index, label) {
  return `${label} (${index})`;
}

// The options of the class picker for `query`: the classes whose names contain it (case
// aside) or whose index it is, at most `limit`; every class up to `limit` for an empty query.
// Each is {index, text, match}; the chosen class `target` comes first, with match false, when
// it is not among them, so that the menu can still show it.
export function classChoices(labels, query, target, limit = CLASS_LIMIT) {
  const needle = String(query ?? "").trim();
  const found =
    needle === ""
      ? labels.slice(0, Math.max(0, limit)).map((label, index) => ({ index, label }))
      : filterLabels(labels, needle, limit);
  const choices = found.map(({ index, label }) => ({
    index,
    text: classOptionText(index, label),
    match: true,
  }));
  const known = Number.isInteger(target) && target >= 0;
  if (known && !found.some(({ index }) => index === target)) {
    const label = target < labels.length ? labels[target] : `class ${target}`;
    choices.unshift({ index: target, text: classOptionText(target, label), match: false });
  }
  return choices;
}

// What the class picker says under a query: how many classes it found ("50+" at the limit) and
// which one Enter picks; nothing without a query.
export function classHint(query, choices, limit = CLASS_LIMIT) {
  if (String(query ?? "").trim() === "") return "";
  const matches = choices.filter(({ match }) => match);
  if (matches.length === 0) return "No class matches";
  const count = matches.length >= limit ? `${limit}+` : String(matches.length);
  return `${count} found · Enter picks ${matches[0].text}`;
}

// Whether there is a DeepDream to show: both images hold a whole image of `shape` [H, W].
export function hasDream(original, result, shape) {
  const [height, width] = Array.isArray(shape) ? shape : [0, 0];
  const size = height * width * 4;
  if (!(size > 0)) return false;
  return bytesFromDataView(original).length === size && bytesFromDataView(result).length === size;
}
