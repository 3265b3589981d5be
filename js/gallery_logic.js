// Pure helpers of the gallery view: no DOM, so that Node's test runner can check them.
// Python (flashwidget/gallery_data.py) sends a result's rows once, as float32 columns; which
// rows a page shows, and in which order, is worked out here, so filters and sorting never wait
// for the kernel.
import { floatsFromBytes } from "./levels.js";
import { bytesFromDataView } from "./logic.js";

// Codes of the outcome column (gallery_data.py's CORRECT, INCORRECT, UNKNOWN, FAILED).
export const OUTCOME = { correct: 1, incorrect: 0, unknown: -1, failed: -2 };
const LEVELS = 127; // levels of each sign in a stored map (flashwidget/batch/encoding.py)

// The columns as Float32Arrays by name, views into one array holding them one after another
// (`data`: the bytes trait, a DataView as anywidget hands it over).
export function columnsFrom(data, names, count) {
  const all = floatsFromBytes(bytesFromDataView(data));
  if (all.length !== names.length * count) {
    const expected = `${names.length} columns of ${count} rows`;
    throw new RangeError(`expected ${expected}, got ${all.length} values`);
  }
  const column = (k) => all.subarray(k * count, (k + 1) * count);
  return Object.fromEntries(names.map((name, k) => [name, column(k)]));
}

// Whether row `i` passes `filter` ({outcome, trueLabel, predicted, low, high}): trueLabel and
// predicted are codes of the columns' vocabularies (-1: any); a failed image has no confidence,
// so it passes the confidence range only while that is the whole of [0, 1].
export function passes(columns, i, filter) {
  const outcome = columns.outcome[i];
  if (filter.outcome !== "all" && outcome !== OUTCOME[filter.outcome]) return false;
  if (filter.trueLabel !== -1 && columns.true_label[i] !== filter.trueLabel) return false;
  if (filter.predicted !== -1 && columns.predicted[i] !== filter.predicted) return false;
  if (outcome === OUTCOME.failed) return filter.low <= 0 && filter.high >= 1;
  const confidence = columns.confidence[i];
  return confidence >= filter.low && confidence <= filter.high;
}

// Sort keys: the column, and +1 for ascending or -1 for descending.
const SORT_KEYS = {
  position: ["position", 1],
  confidence_desc: ["confidence", -1],
  confidence_asc: ["confidence", 1],
  deletion_auc_asc: ["deletion_auc", 1],
  deletion_auc_desc: ["deletion_auc", -1],
};

// The rows that pass `filter`, as row indices in the order `sort` names; rows without a value
// (NaN: a failed image, a map without a score) come last, and ties keep the position order.
export function shownRows(columns, count, filter, sort) {
  if (!(sort in SORT_KEYS)) throw new RangeError(`unknown sort ${sort}`);
  const [name, direction] = SORT_KEYS[sort];
  const key = columns[name];
  const position = columns.position;
  const rows = [];
  for (let i = 0; i < count; i++) if (passes(columns, i, filter)) rows.push(i);
  rows.sort((a, b) => {
    const x = key[a];
    const y = key[b];
    if (x !== y) {
      if (Number.isNaN(x)) return 1;
      if (Number.isNaN(y)) return -1;
      return direction * (x - y);
    }
    return position[a] - position[b];
  });
  return rows;
}

// How many pages `total` rows fill, `size` a page; at least one, empty if need be.
export function pageCount(total, size) {
  return Math.max(1, Math.ceil(total / size));
}

// The rows of page `page` (from 0), clamped to the pages there are.
export function pageRows(rows, page, size) {
  const last = pageCount(rows.length, size) - 1;
  const start = Math.min(Math.max(0, page), last) * size;
  return rows.slice(start, start + size);
}

// How many rows hold each value of a column: a Map from value to count.
export function valueCounts(column) {
  const counts = new Map();
  for (const value of column) counts.set(value, (counts.get(value) ?? 0) + 1);
  return counts;
}

// A stored map's values from its decoded PNG (RGBA, the level in every colour channel) and the
// scale stored with it: flashwidget/batch/encoding.py's decode_map, in the same float64 steps,
// rounded to float32 as Python's are.
export function decodeMap(rgba, scale) {
  const out = new Float32Array(rgba.length / 4);
  for (let i = 0; i < out.length; i++) {
    const signed = rgba[4 * i] - 128;
    const magnitude = Math.abs(signed) / LEVELS;
    out[i] = Math.sign(signed) * (magnitude * magnitude) * scale;
  }
  return out;
}

// A probability as a person reads it: "87%", "0.4%".
export function percent(probability) {
  const value = probability * 100;
  return `${value >= 10 || value === 0 ? value.toFixed(0) : value.toFixed(1)}%`;
}
