// Pure helpers of the flashwidget view: no DOM, so that Node's test runner can check them.
// js/build.py inlines this file into flashwidget/static/widget.js; keep one export per line.

// The bytes of a synced binary trait as a Uint8Array, without copying. anywidget delivers
// bytes traits as DataViews that may look into a larger buffer (byteOffset > 0), so the view's
// offset and length must be kept: `new Uint8Array(dv.buffer)` would read the wrong bytes.
export function bytesFromDataView(data) {
  if (data == null) return new Uint8Array(0);
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) {
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  throw new TypeError(`expected binary data (a DataView), got ${typeof data}`);
}

// Colour 8-bit levels through a 256-entry RGBA table (1024 bytes, as Python's colormap_lut
// sends it): level i becomes lut[4i .. 4i+3], exactly matplotlib's colour for that level.
export function colorize(levels, lut) {
  if (lut.length < 1024) {
    throw new RangeError(`a colormap table has 1024 bytes (256 RGBA colours), got ${lut.length}`);
  }
  const out = new Uint8ClampedArray(levels.length * 4);
  for (let i = 0; i < levels.length; i++) {
    const from = levels[i] * 4;
    const to = i * 4;
    out[to] = lut[from];
    out[to + 1] = lut[from + 1];
    out[to + 2] = lut[from + 2];
    out[to + 3] = lut[from + 3];
  }
  return out;
}

// Opaque RGBA from packed RGB bytes (the gradients panel), for ImageData.
export function rgbToRgba(rgb) {
  if (rgb.length % 3 !== 0) {
    throw new RangeError(`RGB data must have 3 bytes a pixel, got ${rgb.length}`);
  }
  const out = new Uint8ClampedArray((rgb.length / 3) * 4);
  for (let i = 0, j = 0; i < rgb.length; i += 3, j += 4) {
    out[j] = rgb[i];
    out[j + 1] = rgb[i + 1];
    out[j + 2] = rgb[i + 2];
    out[j + 3] = 255;
  }
  return out;
}

// Blend a colourised map over an image, both RGBA of the same size:
// out = (1 - alpha) * image + alpha * map on every channel, alpha included. Storing into a
// Uint8ClampedArray rounds to the nearest integer, ties to even (as ImageData does), so alpha 0
// returns the image and alpha 1 the map exactly. Alpha is clamped to [0, 1].
export function composite(image, map, alpha) {
  if (image.length !== map.length) {
    throw new RangeError(`image and map sizes differ: ${image.length} and ${map.length} bytes`);
  }
  if (!Number.isFinite(alpha)) throw new RangeError(`alpha must be a number, got ${alpha}`);
  const a = Math.min(1, Math.max(0, alpha));
  const out = new Uint8ClampedArray(image.length);
  for (let i = 0; i < image.length; i++) out[i] = (1 - a) * image[i] + a * map[i];
  return out;
}

// Call fn at most once per `ms`: at once on the first call (leading), and once more at the end
// of the interval (trailing) with the latest arguments if calls came in meanwhile, so the last
// value always arrives. `cancel()` drops a pending trailing call (use it when the view goes).
export function throttle(fn, ms) {
  let timer = null;
  let pending = null;
  const tick = () => {
    if (pending === null) {
      timer = null;
      return;
    }
    const args = pending;
    pending = null;
    fn(...args);
    timer = setTimeout(tick, ms);
  };
  const throttled = (...args) => {
    if (timer === null) {
      fn(...args);
      timer = setTimeout(tick, ms);
    } else {
      pending = args;
    }
  };
  throttled.cancel = () => {
    clearTimeout(timer);
    timer = null;
    pending = null;
  };
  return throttled;
}

// Find classes by name: case-insensitive substring search over `labels`, at most `limit`
// results as {index, label}. Names starting with the query come first, then the other matches,
// each group in class order; a query that is a class index also finds that class, first.
export function filterLabels(labels, query, limit = 50) {
  const needle = String(query ?? "").trim().toLowerCase();
  if (needle === "" || limit <= 0) return [];
  const byIndex = /^\d+$/.test(needle) ? Number(needle) : -1;
  const first = [];
  const prefix = [];
  const inner = [];
  labels.forEach((label, index) => {
    const name = String(label).toLowerCase();
    if (index === byIndex) first.push({ index, label });
    else if (name.startsWith(needle)) prefix.push({ index, label });
    else if (name.includes(needle)) inner.push({ index, label });
  });
  return first.concat(prefix, inner).slice(0, limit);
}
