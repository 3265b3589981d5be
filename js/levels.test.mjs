// Tests of the map-levels logic: `node --test js/`. The same cases are checked against
// flashwidget/pixels.py in tests/test_widget.py, and the browser tests compare pixels.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { clipScale, floatsFromBytes, mapLevels, signedValue } from "./levels.js";

describe("floatsFromBytes", () => {
  it("reads little-endian float32 in place when aligned, and copies when not", () => {
    const values = new Float32Array([1.5, -2, 0.25]);
    const aligned = new Uint8Array(values.buffer);
    const read = floatsFromBytes(aligned);
    assert.deepEqual([...read], [1.5, -2, 0.25]);
    assert.equal(read.buffer, values.buffer, "a view, not a copy");
    const shifted = new Uint8Array(13);
    shifted.set(aligned, 1);
    assert.deepEqual([...floatsFromBytes(shifted.subarray(1))], [1.5, -2, 0.25]);
  });

  it("refuses a length that is not a whole number of floats", () => {
    assert.throws(() => floatsFromBytes(new Uint8Array(6)), RangeError);
  });
});

describe("signedValue", () => {
  it("keeps the asked sign", () => {
    assert.deepEqual(
      ["absolute", "positive", "negative", "all"].map((sign) => signedValue(-3, sign)),
      [3, 0, 3, -3],
    );
    assert.throws(() => signedValue(1, "both"), RangeError);
  });
});

describe("clipScale", () => {
  const ramp = Float32Array.from({ length: 200 }, (_, i) => i + 1);

  it("takes the nearest-rank percentile of the magnitudes", () => {
    assert.equal(clipScale([ramp], "absolute", 99.5), 199); // rank ceil(0.995 * 200)
    assert.equal(clipScale([ramp], "absolute", 100), 200);
    assert.equal(clipScale([ramp], "absolute", 50), 100);
  });

  it("shares one scale between maps", () => {
    assert.equal(clipScale([ramp, ramp.map((v) => v * 2)], "absolute", 100), 400);
  });

  it("falls back to the maximum, then to 1", () => {
    const sparse = new Float32Array(400);
    sparse[0] = -2;
    assert.equal(clipScale([sparse], "absolute", 99.5), 2);
    assert.equal(clipScale([sparse], "positive", 99.5), 1);
    assert.equal(clipScale([new Float32Array(0)], "absolute", 99.5), 1);
  });

  it("ignores one outlier", () => {
    const values = new Float32Array(400).fill(1);
    values[0] = 1000;
    assert.equal(clipScale([values], "absolute", 99.5), 1);
  });
});

describe("mapLevels", () => {
  const values = new Float32Array([-4, -2, 0, 2, 4]);

  it("centres zero for a diverging colormap", () => {
    assert.deepEqual([...mapLevels(values, "all", 4)], [0, 64, 128, 192, 255]);
  });

  it("shows one sign from level 0, clipping above the scale", () => {
    assert.deepEqual([...mapLevels(values, "positive", 4)], [0, 0, 0, 128, 255]);
    assert.deepEqual([...mapLevels(values, "negative", 4)], [255, 128, 0, 0, 0]);
    assert.deepEqual([...mapLevels(values, "absolute", 2)], [255, 255, 0, 255, 255]);
  });
});
