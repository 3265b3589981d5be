// From a map's signed values to 8-bit colormap levels, in the browser: the sign to show, the
// outlier clip and the scale are the user's look, so they are applied here without a trip to
// the kernel. flashwidget/pixels.py computes the same levels in Python (clip_scale,
// map_levels); both use float64 arithmetic in the same order, so they agree bit for bit, and
// the browser tests hold the view to that.

// The float32 values of a binary trait (little-endian, as every browser's platform is). A
// DataView into a shared buffer may start at an offset that Float32Array cannot use; then the
// bytes are copied.
export function floatsFromBytes(bytes) {
  if (bytes.length % 4 !== 0) {
    throw new RangeError(`float32 data has 4 bytes a value, got ${bytes.length} bytes`);
  }
  if (bytes.byteOffset % 4 === 0) {
    return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  }
  return new Float32Array(bytes.slice().buffer);
}

// The value a pixel shows for `sign`: "absolute" |v|, "positive" max(v, 0), "negative"
// max(-v, 0), "all" v itself (for a diverging colormap).
export function signedValue(value, sign) {
  if (sign === "absolute") return Math.abs(value);
  if (sign === "positive") return Math.max(value, 0);
  if (sign === "negative") return Math.max(-value, 0);
  if (sign === "all") return value;
  throw new RangeError(`sign must be absolute, positive, negative or all, got ${sign}`);
}

// The top of the colour scale shared by `maps` (arrays of values): the `percentile` of their
// magnitudes by the nearest-rank rule; their maximum if that is 0; 1 for all-zero maps.
export function clipScale(maps, sign, percentile) {
  const total = maps.reduce((sum, values) => sum + values.length, 0);
  if (total === 0) return 1;
  const magnitudes = new Float64Array(total);
  let at = 0;
  for (const values of maps) {
    for (let i = 0; i < values.length; i++) magnitudes[at++] = Math.abs(signedValue(values[i], sign));
  }
  magnitudes.sort();
  const rank = Math.ceil((percentile / 100) * total);
  let scale = magnitudes[Math.max(rank, 1) - 1];
  if (!(scale > 0)) scale = magnitudes[total - 1];
  return scale > 0 ? scale : 1;
}

// Levels 0..255 of `values` on a scale topped by `scale`: 0 at level 0 for one sign, and for
// "all" zero in the middle (level 128) with -scale and scale at the ends. Levels follow
// matplotlib's rule: multiply by 256, truncate, cap at 255.
export function mapLevels(values, sign, scale) {
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const shown = signedValue(values[i], sign) / scale;
    const fraction = sign === "all" ? (Math.min(1, Math.max(-1, shown)) + 1) / 2 : Math.min(shown, 1);
    out[i] = Math.min(Math.floor(fraction * 256), 255);
  }
  return out;
}
