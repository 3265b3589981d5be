// Tests of the view's pure helpers: `node --test js/` (Node's built-in runner, no packages).
import assert from "node:assert/strict";
import { describe, it, mock } from "node:test";

import {
  bytesFromDataView,
  colorize,
  composite,
  filterLabels,
  rgbToRgba,
  throttle,
} from "./logic.js";

describe("bytesFromDataView", () => {
  it("keeps a DataView's offset and length instead of reading its whole buffer", () => {
    const buffer = new Uint8Array([9, 9, 1, 2, 3, 9]).buffer;
    const bytes = bytesFromDataView(new DataView(buffer, 2, 3));
    assert.deepEqual([...bytes], [1, 2, 3]);
    assert.equal(bytes.buffer, buffer, "a view, not a copy");
  });

  it("accepts typed arrays, ArrayBuffers and nothing", () => {
    const array = new Uint8Array([4, 5]);
    assert.equal(bytesFromDataView(array), array);
    assert.deepEqual([...bytesFromDataView(new Uint16Array([258]))].length, 2);
    assert.deepEqual([...bytesFromDataView(new Uint8Array([7]).buffer)], [7]);
    assert.equal(bytesFromDataView(null).length, 0);
    assert.equal(bytesFromDataView(undefined).length, 0);
    assert.equal(bytesFromDataView(new DataView(new ArrayBuffer(0))).length, 0);
  });

  it("refuses what is not binary", () => {
    assert.throws(() => bytesFromDataView("abc"), TypeError);
  });
});

describe("colorize", () => {
  const lut = new Uint8Array(1024);
  for (let level = 0; level < 256; level++) lut.set([level, 255 - level, 7, 200], level * 4);

  it("looks every level up in the table", () => {
    const rgba = colorize(new Uint8Array([0, 255, 128]), lut);
    assert.ok(rgba instanceof Uint8ClampedArray);
    assert.deepEqual([...rgba], [0, 255, 7, 200, 255, 0, 7, 200, 128, 127, 7, 200]);
  });

  it("handles an empty map and refuses a short table", () => {
    assert.equal(colorize(new Uint8Array(0), lut).length, 0);
    assert.throws(() => colorize(new Uint8Array([1]), new Uint8Array(1020)), RangeError);
  });
});

describe("rgbToRgba", () => {
  it("adds an opaque alpha channel", () => {
    const rgba = rgbToRgba(new Uint8Array([1, 2, 3, 4, 5, 6]));
    assert.deepEqual([...rgba], [1, 2, 3, 255, 4, 5, 6, 255]);
    assert.throws(() => rgbToRgba(new Uint8Array(4)), RangeError);
  });
});

describe("composite", () => {
  const image = new Uint8ClampedArray([0, 10, 200, 255, 0, 0, 1, 255]);
  const map = new Uint8ClampedArray([255, 30, 0, 255, 1, 3, 2, 255]);

  it("returns the image exactly at alpha 0 and the map exactly at alpha 1", () => {
    assert.deepEqual([...composite(image, map, 0)], [...image]);
    assert.deepEqual([...composite(image, map, 1)], [...map]);
  });

  it("blends linearly and rounds half to even", () => {
    // 0.5 * (0 + 255) = 127.5 -> 128, 0.5 * 1 = 0.5 -> 0, 0.5 * 3 = 1.5 -> 2, 0.5 * 3 = 1.5 -> 2
    assert.deepEqual([...composite(image, map, 0.5)], [128, 20, 100, 255, 0, 2, 2, 255]);
    assert.deepEqual([...composite(image, map, 0.25)].slice(0, 3), [64, 15, 150]);
  });

  it("clamps alpha to [0, 1] and refuses NaN or mismatched sizes", () => {
    assert.deepEqual([...composite(image, map, 3)], [...map]);
    assert.deepEqual([...composite(image, map, -1)], [...image]);
    assert.throws(() => composite(image, map, Number.NaN), RangeError);
    assert.throws(() => composite(image, map.subarray(4), 0.5), RangeError);
  });
});

describe("throttle", () => {
  it("calls at once, then once more at the end of the interval with the latest arguments", (t) => {
    t.mock.timers.enable({ apis: ["setTimeout"] });
    const fn = mock.fn();
    const throttled = throttle(fn, 100);
    throttled(1);
    assert.deepEqual(fn.mock.calls.map((c) => c.arguments), [[1]], "leading call");
    throttled(2);
    throttled(3);
    t.mock.timers.tick(99);
    assert.equal(fn.mock.calls.length, 1, "nothing before the interval ends");
    t.mock.timers.tick(1);
    const calls = fn.mock.calls.map((c) => c.arguments);
    assert.deepEqual(calls, [[1], [3]], "trailing call, latest args");
    throttled(4); // within the interval the trailing call opened
    assert.equal(fn.mock.calls.length, 2);
    t.mock.timers.tick(100);
    assert.deepEqual(fn.mock.calls.at(-1).arguments, [4]);
    t.mock.timers.tick(100); // a quiet interval closes the window
    throttled(5);
    assert.deepEqual(fn.mock.calls.at(-1).arguments, [5], "leading again after a pause");
    assert.equal(fn.mock.calls.length, 4);
  });

  it("makes no trailing call without calls in the interval, and none after cancel", (t) => {
    t.mock.timers.enable({ apis: ["setTimeout"] });
    const fn = mock.fn();
    const throttled = throttle(fn, 50);
    throttled("a");
    t.mock.timers.tick(200);
    assert.equal(fn.mock.calls.length, 1);
    throttled("b");
    throttled("c");
    throttled.cancel();
    t.mock.timers.tick(200);
    assert.deepEqual(fn.mock.calls.map((c) => c.arguments), [["a"], ["b"]]);
  });

  it("works with real timers", async () => {
    const seen = [];
    const throttled = throttle((value) => seen.push(value), 20);
    throttled(1);
    throttled(2);
    throttled(3);
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.deepEqual(seen, [1, 3]);
  });
});

describe("filterLabels", () => {
  const labels = ["tench", "Great white shark", "tiger shark", "Shark ray", "hammerhead", "cat"];

  it("searches case-insensitively, names starting with the query first", () => {
    assert.deepEqual(filterLabels(labels, "SHARK"), [
      { index: 3, label: "Shark ray" },
      { index: 1, label: "Great white shark" },
      { index: 2, label: "tiger shark" },
    ]);
  });

  it("finds a class by its index and trims the query", () => {
    assert.deepEqual(filterLabels(labels, " 4 "), [{ index: 4, label: "hammerhead" }]);
  });

  it("honours the limit and returns nothing for an empty query or no match", () => {
    assert.equal(filterLabels(labels, "a", 2).length, 2);
    assert.deepEqual(filterLabels(labels, ""), []);
    assert.deepEqual(filterLabels(labels, "   "), []);
    assert.deepEqual(filterLabels(labels, null), []);
    assert.deepEqual(filterLabels(labels, "zebra"), []);
    assert.deepEqual(filterLabels(labels, "a", 0), []);
  });
});
