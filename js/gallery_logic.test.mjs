// Tests of the gallery's filtering, sorting, paging and map decoding: `node --test js/`.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  OUTCOME,
  columnsFrom,
  decodeMap,
  pageCount,
  pageRows,
  passes,
  percent,
  shownRows,
  valueCounts,
} from "./gallery_logic.js";

const NAMES = ["position", "confidence", "true_label", "predicted", "outcome", "deletion_auc"];
const { correct, incorrect, unknown, failed } = OUTCOME;

// Six images as flashwidget/gallery_data.py codes them: positions out of order (a result's
// rows need not be), one failed, one confidence tie, scores on four of them.
const ROWS = [
  // position, confidence, true label, predicted, outcome, deletion AUC
  [10, 0.9, 0, 1, correct, 0.3],
  [11, 0.2, 1, 0, incorrect, 0.1],
  [12, NaN, -1, -1, failed, NaN],
  [13, 0.5, 1, 1, incorrect, NaN],
  [14, 0.5, 0, 1, correct, 0.7],
  [15, 0.05, -1, 0, unknown, 0.2],
];

function table() {
  const columns = NAMES.map((_, k) => ROWS.map((row) => row[k]));
  return new Uint8Array(new Float32Array(columns.flat()).buffer);
}

const columns = columnsFrom(table(), NAMES, ROWS.length);
const ALL = { outcome: "all", trueLabel: -1, predicted: -1, low: 0, high: 1 };
const positions = (rows) => rows.map((i) => columns.position[i]);
const show = (filter, sort = "position") =>
  positions(shownRows(columns, ROWS.length, { ...ALL, ...filter }, sort));

describe("columnsFrom", () => {
  it("splits one float32 array into named columns, from an unaligned DataView too", () => {
    assert.deepEqual([...columns.position], [10, 11, 12, 13, 14, 15]);
    assert.deepEqual([...columns.outcome], [1, 0, -2, 0, 1, -1]);
    const bytes = table();
    const padded = new Uint8Array(bytes.length + 3);
    padded.set(bytes, 3);
    const shifted = columnsFrom(new DataView(padded.buffer, 3, bytes.length), NAMES, 6);
    assert.deepEqual([...shifted.true_label], [0, 1, -1, 1, 0, -1]);
  });

  it("refuses columns that do not fill the rows", () => {
    assert.throws(() => columnsFrom(table(), NAMES, 5), RangeError);
  });
});

describe("filters", () => {
  it("keeps every image, failed ones included, when nothing is chosen", () => {
    assert.deepEqual(show({}), [10, 11, 12, 13, 14, 15]);
  });

  it("by outcome: correct, incorrect, failed", () => {
    assert.deepEqual(show({ outcome: "correct" }), [10, 14]);
    assert.deepEqual(show({ outcome: "incorrect" }), [11, 13]);
    assert.deepEqual(show({ outcome: "failed" }), [12]);
  });

  it("by true label and by predicted class, which a failed image has neither of", () => {
    assert.deepEqual(show({ trueLabel: 1 }), [11, 13]);
    assert.deepEqual(show({ predicted: 0 }), [11, 15]);
    assert.deepEqual(show({ trueLabel: 0, predicted: 1, outcome: "correct" }), [10, 14]);
    assert.deepEqual(show({ trueLabel: 0, outcome: "incorrect" }), []);
  });

  it("by confidence, bounds included; a failed image only while the range is all of [0, 1]", () => {
    assert.deepEqual(show({ low: 0.5, high: 1 }), [10, 13, 14]);
    assert.deepEqual(show({ low: 0, high: 0.5 }), [11, 13, 14, 15]);
    assert.deepEqual(show({ low: 0.95, high: 1 }), []);
    assert.equal(passes(columns, 2, ALL), true);
    assert.equal(passes(columns, 2, { ...ALL, high: 0.99 }), false);
  });
});

describe("sorting", () => {
  it("by position, from any order of rows", () => {
    const values = [3, 1, 2, 0.1, 0.2, 0.3, -1, -1, -1, 0, 0, 0, -1, -1, -1, 0, 0, 0];
    const reversed = columnsFrom(new Uint8Array(new Float32Array(values).buffer), NAMES, 3);
    const rows = shownRows(reversed, 3, ALL, "position");
    assert.deepEqual(rows.map((i) => reversed.position[i]), [1, 2, 3]);
  });

  it("by confidence both ways: ties in position order, failed images last", () => {
    assert.deepEqual(show({}, "confidence_desc"), [10, 13, 14, 11, 15, 12]);
    assert.deepEqual(show({}, "confidence_asc"), [15, 11, 13, 14, 10, 12]);
  });

  it("by deletion AUC both ways, images without a score last", () => {
    assert.deepEqual(show({}, "deletion_auc_asc"), [11, 15, 10, 14, 12, 13]);
    assert.deepEqual(show({}, "deletion_auc_desc"), [14, 10, 15, 11, 12, 13]);
  });

  it("sorts what the filter keeps, and refuses an unknown order", () => {
    assert.deepEqual(show({ outcome: "correct" }, "confidence_asc"), [14, 10]);
    assert.throws(() => show({}, "size"), RangeError);
  });
});

describe("paging", () => {
  const rows = [5, 4, 3, 2, 1, 0, 9];

  it("cuts the rows into pages, the last one short, at least one page", () => {
    assert.equal(pageCount(7, 3), 3);
    assert.equal(pageCount(6, 3), 2);
    assert.equal(pageCount(0, 3), 1);
    assert.deepEqual(pageRows(rows, 0, 3), [5, 4, 3]);
    assert.deepEqual(pageRows(rows, 2, 3), [9]);
  });

  it("clamps a page beyond either end", () => {
    assert.deepEqual(pageRows(rows, 7, 3), [9]);
    assert.deepEqual(pageRows(rows, -1, 3), [5, 4, 3]);
    assert.deepEqual(pageRows([], 0, 3), []);
  });
});

describe("valueCounts", () => {
  it("counts each value of a column", () => {
    const counts = valueCounts(columns.outcome);
    const codes = [correct, incorrect, unknown, failed];
    assert.deepEqual(codes.map((code) => counts.get(code)), [2, 2, 1, 1]);
    assert.equal(valueCounts(columns.true_label).get(1), 2);
  });
});

describe("decodeMap", () => {
  it("undoes the square-root companding of flashwidget/batch/encoding.py", () => {
    const gray = [128, 255, 1, 192].flatMap((level) => [level, level, level, 255]);
    const rgba = new Uint8ClampedArray(gray);
    const values = decodeMap(rgba, 2);
    assert.ok(values instanceof Float32Array);
    assert.deepEqual([...values.slice(0, 3)], [0, 2, -2]);
    assert.equal(values[3], Math.fround((64 / 127) * (64 / 127) * 2));
  });
});

describe("percent", () => {
  it("shows whole percents, and one decimal below ten", () => {
    assert.deepEqual([0.873, 0.004, 0, 1, 0.1].map(percent), ["87%", "0.4%", "0%", "100%", "10%"]);
  });
});
