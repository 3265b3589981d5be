// Tests of the feature-visualisation view's pure helpers: `node --test js/`.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  CLASS_LIMIT,
  GRID_MAX,
  GRID_TILE_SIDE,
  STEPS_MAX,
  STEPS_MIN,
  TILE_SIDE,
  channelBounds,
  clampChannel,
  clampGridSize,
  clampInteger,
  clampSteps,
  classChoices,
  classHint,
  classOptionText,
  gridBounds,
  hasDream,
  isBlankTile,
  layerOptionText,
  sameBytes,
  sliceTiles,
  tileSide,
} from "./feature_logic.js";

// `count` tiles of 2x3 RGBA whose bytes are tile * 100 + position, inside a larger buffer that
// starts `offset` bytes early and is padded with 0xab: a reader ignoring byteOffset sees 0xab.
function packedTiles(count, offset, { missing = 0 } = {}) {
  const size = 2 * 3 * 4;
  const length = count * size - missing;
  const all = new Uint8Array(offset + length + 7).fill(0xab);
  for (let tile = 0; tile < count; tile++) {
    for (let i = 0; i < size && tile * size + i < length; i++) {
      all[offset + tile * size + i] = (tile * 100 + i) % 256;
    }
  }
  return new DataView(all.buffer, offset, length);
}

describe("sliceTiles", () => {
  it("cuts the tiles out of a DataView at an offset, without copying", () => {
    const data = packedTiles(3, 5);
    const tiles = sliceTiles(data, 3, 2, 3);
    assert.equal(tiles.length, 3);
    tiles.forEach((tile, index) => {
      assert.ok(tile instanceof Uint8ClampedArray);
      assert.equal(tile.length, 24);
      assert.equal(tile.buffer, data.buffer, "a view into the trait's buffer");
      assert.deepEqual([...tile], Array.from({ length: 24 }, (_, i) => (index * 100 + i) % 256));
    });
  });

  it("gives null for the tiles a too short buffer does not hold whole", () => {
    const tiles = sliceTiles(packedTiles(3, 1, { missing: 1 }), 3, 2, 3);
    assert.ok(tiles[0] && tiles[1]);
    assert.equal(tiles[2], null);
    assert.deepEqual(sliceTiles(new DataView(new ArrayBuffer(0)), 2, 2, 3), [null, null]);
    assert.deepEqual(sliceTiles(null, 1, 2, 3), [null]);
  });

  it("ignores bytes past the last tile and gives null for an empty shape", () => {
    const tiles = sliceTiles(packedTiles(3, 0), 2, 2, 3);
    assert.equal(tiles.length, 2);
    assert.equal(tiles[1][0], 100);
    assert.deepEqual(sliceTiles(packedTiles(1, 0), 2, 0, 0), [null, null]);
    assert.deepEqual(sliceTiles(packedTiles(1, 0), 0, 2, 3), []);
  });

  it("refuses a count or shape that is not a whole number", () => {
    const data = packedTiles(1, 0);
    assert.throws(() => sliceTiles(data, 1.5, 2, 3), RangeError);
    assert.throws(() => sliceTiles(data, 1, -2, 3), RangeError);
    assert.throws(() => sliceTiles(data, 1, 2, undefined), RangeError);
  });
});

describe("isBlankTile", () => {
  it("is true only for all-zero bytes (a tile not started) or no tile", () => {
    assert.equal(isBlankTile(new Uint8ClampedArray(16)), true);
    assert.equal(isBlankTile(null), true);
    const started = new Uint8ClampedArray(16);
    started[15] = 255;
    assert.equal(isBlankTile(started), false);
  });

  it("reads a view at an odd offset and a length that is not a multiple of 4", () => {
    const all = new Uint8Array(20).fill(0xab);
    all.fill(0, 3, 3 + 13);
    assert.equal(isBlankTile(new Uint8ClampedArray(all.buffer, 3, 13)), true);
    all[15] = 1;
    assert.equal(isBlankTile(new Uint8ClampedArray(all.buffer, 3, 13)), false);
    const aligned = new Uint8Array(12);
    aligned[10] = 7;
    assert.equal(isBlankTile(new Uint8ClampedArray(aligned.buffer, 4, 7)), false);
    assert.equal(isBlankTile(new Uint8ClampedArray(aligned.buffer, 4, 6)), true);
  });
});

describe("sameBytes", () => {
  it("compares contents, not identity", () => {
    const a = new Uint8ClampedArray([1, 2, 3]);
    assert.equal(sameBytes(a, a), true);
    assert.equal(sameBytes(a, new Uint8ClampedArray([1, 2, 3])), true);
    assert.equal(sameBytes(a, new Uint8ClampedArray([1, 2, 4])), false);
    assert.equal(sameBytes(a, new Uint8ClampedArray([1, 2])), false);
    assert.equal(sameBytes(null, null), true);
    assert.equal(sameBytes(a, null), false);
    assert.equal(sameBytes(null, a), false);
  });
});

describe("tileSide", () => {
  it("is about 224 px alone and 112 px in a grid", () => {
    assert.equal(TILE_SIDE, 224);
    assert.equal(GRID_TILE_SIDE, 112);
    assert.equal(tileSide(false, 224), 224);
    assert.equal(tileSide(true, 224), 112);
    assert.equal(tileSide(false, 512), 224);
    assert.equal(tileSide(true, 112), 112);
  });

  it("enlarges a small image by a whole factor", () => {
    assert.equal(tileSide(false, 28), 224);
    assert.equal(tileSide(false, 64), 256); // 3.5 rounds to 4
    assert.equal(tileSide(false, 100), 200);
    assert.equal(tileSide(true, 64), 128);
    assert.equal(tileSide(true, 32), 128); // 3.5 rounds to 4
    assert.equal(tileSide(true, 50), 100);
  });

  it("falls back to the target side for an unknown size", () => {
    assert.equal(tileSide(false, 0), 224);
    assert.equal(tileSide(true, NaN), 112);
  });
});

describe("clamping the inputs", () => {
  it("rounds, clamps, and falls back on what is not a number", () => {
    assert.equal(clampInteger("7", 0, 10, 3), 7);
    assert.equal(clampInteger("7.6", 0, 10, 3), 8);
    assert.equal(clampInteger(-4, 0, 10, 3), 0);
    assert.equal(clampInteger(99, 0, 10, 3), 10);
    assert.equal(clampInteger("", 0, 10, 3), 3);
    assert.equal(clampInteger("abc", 0, 10, 3), 3);
    assert.equal(clampInteger(NaN, 0, 10, 3), 3);
    assert.equal(clampInteger(Infinity, 0, 10, 3), 3);
  });

  it("keeps a channel within the layer's channels", () => {
    assert.deepEqual(channelBounds(64), [0, 63]);
    assert.deepEqual(channelBounds(0), [0, 0]);
    assert.deepEqual(channelBounds(undefined), [0, 0]);
    assert.equal(clampChannel("70", 64), 63);
    assert.equal(clampChannel("-1", 64), 0);
    assert.equal(clampChannel("12", 64), 12);
    assert.equal(clampChannel("x", 64, 5), 5);
  });

  it("keeps a grid within 1 .. min(64, channels)", () => {
    assert.equal(GRID_MAX, 64);
    assert.deepEqual(gridBounds(512), [1, 64]);
    assert.deepEqual(gridBounds(16), [1, 16]);
    assert.deepEqual(gridBounds(0), [1, 64]);
    assert.equal(clampGridSize("100", 512), 64);
    assert.equal(clampGridSize("100", 10), 10);
    assert.equal(clampGridSize("0", 10), 1);
    assert.equal(clampGridSize("", 10, 9), 9);
  });

  it("keeps steps within 1 .. 2048", () => {
    assert.deepEqual([STEPS_MIN, STEPS_MAX], [1, 2048]);
    assert.equal(clampSteps("0"), 1);
    assert.equal(clampSteps("5000"), 2048);
    assert.equal(clampSteps("256"), 256);
    assert.equal(clampSteps("", 128), 128);
  });
});

describe("option texts", () => {
  it("shows a layer with its shape, and a class with its index", () => {
    assert.equal(layerOptionText("layer3.1.conv2", "256x14x14"), "layer3.1.conv2 (256x14x14)");
    assert.equal(layerOptionText("fc", ""), "fc");
    assert.equal(classOptionText(667, "mortarboard"), "mortarboard (667)");
  });
});

describe("classChoices", () => {
  const labels = Array.from({ length: 1000 }, (_, i) => `class ${i}`);
  labels[667] = "mortarboard";
  labels[1] = "Goldfish";
  labels[2] = "great white shark";
  labels[3] = "tiger shark";

  it("finds names by case-insensitive substring, at most the limit", () => {
    const found = classChoices(labels, "SHARK", 2);
    assert.deepEqual(found, [
      { index: 2, text: "great white shark (2)", match: true },
      { index: 3, text: "tiger shark (3)", match: true },
    ]);
    assert.equal(classChoices(labels, "class", 0).length, CLASS_LIMIT);
    assert.equal(classChoices(labels, "class", 0, 5).length, 5);
  });

  it("finds a class by its index, before names containing it", () => {
    labels[5] = "class 667 lookalike";
    try {
      assert.deepEqual(classChoices(labels, " 667 ", 667), [
        { index: 667, text: "mortarboard (667)", match: true },
        { index: 5, text: "class 667 lookalike (5)", match: true },
      ]);
    } finally {
      labels[5] = "class 5";
    }
  });

  it("keeps the chosen class first when the query does not find it", () => {
    const found = classChoices(labels, "goldf", 667);
    assert.deepEqual(found, [
      { index: 667, text: "mortarboard (667)", match: false },
      { index: 1, text: "Goldfish (1)", match: true },
    ]);
    assert.deepEqual(classChoices(labels, "no such class", 3), [
      { index: 3, text: "tiger shark (3)", match: false },
    ]);
  });

  it("lists the first classes for an empty query", () => {
    const found = classChoices(labels, "", 1);
    assert.equal(found.length, CLASS_LIMIT);
    assert.deepEqual(found[1], { index: 1, text: "Goldfish (1)", match: true });
    assert.equal(classChoices(labels, "", 999).length, CLASS_LIMIT + 1);
    assert.deepEqual(classChoices(["a", "b"], "", 1).map(({ index }) => index), [0, 1]);
  });

  it("names a class beyond the labels by its index", () => {
    assert.deepEqual(classChoices([], "x", 5), [{ index: 5, text: "class 5 (5)", match: false }]);
  });

  it("is fast enough for every keystroke over 1000 labels", () => {
    const start = performance.now();
    for (let i = 0; i < 100; i++) classChoices(labels, "a", 0);
    assert.ok((performance.now() - start) / 100 < 5, "under 5 ms a query");
  });
});

describe("classHint", () => {
  const labels = ["cat", "dog", "catfish", "hotdog"];

  it("says how many classes a query found and which one Enter picks", () => {
    const hint = (query, limit) => classHint(query, classChoices(labels, query, 1, limit), limit);
    assert.equal(hint("cat"), "2 found · Enter picks cat (0)");
    assert.equal(hint("dog", 2), "2+ found · Enter picks dog (1)");
    assert.equal(classHint("yak", classChoices(labels, "yak", 1)), "No class matches");
    assert.equal(classHint("  ", classChoices(labels, "  ", 1)), "");
  });
});

describe("hasDream", () => {
  it("needs both images whole at the dream's shape", () => {
    const image = new DataView(new ArrayBuffer(2 * 3 * 4));
    assert.equal(hasDream(image, image, [2, 3]), true);
    assert.equal(hasDream(new DataView(new ArrayBuffer(0)), image, [2, 3]), false);
    assert.equal(hasDream(image, new DataView(new ArrayBuffer(0)), [2, 3]), false);
    assert.equal(hasDream(image, image, [0, 0]), false);
    assert.equal(hasDream(image, image, [3, 3]), false);
    assert.equal(hasDream(image, image, []), false); // Python's shape when there is none
    assert.equal(hasDream(null, null, undefined), false);
  });
});
