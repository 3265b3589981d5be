// Tests of the Gallery's kernel side on standalone pages: `node --test js/`.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { REFUSED, galleryResponder, thumbnailPayload } from "./gallery_responder.js";
import { dataViewOf, staticModel } from "./static_model.js";

const answered = () => new Promise((resolve) => setTimeout(resolve, 0));
const bytes = (text) => dataViewOf(btoa(text));

// What thumbnail_payload([position]) gives for a good image: its item, its JPEG and map PNG.
function good(position) {
  const item = {
    position,
    source: `kind/${position}.png`,
    true_label: "kind",
    prediction: { class: 3, label: "kind", probability: 0.5 },
    deletion_auc: null,
    error: null,
    image: 0,
    map: { buffer: 1, class: 3, label: "kind", scale: 0.25 },
  };
  return { item, buffers: [bytes(`jpeg ${position}`), bytes(`png ${position}`)] };
}

// ... and for an image that failed in the job: no files.
function failed(position) {
  const item = { ...good(position).item, prediction: null, error: "broken", image: null, map: null };
  return { item, buffers: [] };
}

const THUMBNAILS = [good(0), failed(1), good(2)];
const LUTS = { viridis: bytes("viridis"), magma: bytes("magma") };
const WRITABLE = [
  "alpha",
  "colormap",
  "confidence_range",
  "outcome",
  "page_size",
  "predicted_class",
  "sort",
  "true_label",
];
const STATUS = "The first 3 of 9 images, 1 failed; gradient";
const TABLES = { thumbnails: THUMBNAILS, luts: LUTS, writable: WRITABLE, status: STATUS };

function pageModel() {
  const state = { status: STATUS, error: "", colormap: "viridis", lut_bytes: LUTS.viridis };
  Object.assign(state, { alpha: 0.5, count: 3 });
  const model = staticModel(state, galleryResponder(TABLES));
  const messages = [];
  model.on("msg:custom", (content, buffers) => messages.push({ content, buffers }));
  return { model, messages };
}

describe("thumbnailPayload", () => {
  const entries = new Map(THUMBNAILS.map((entry) => [entry.item.position, entry]));

  it("lays the images out one after another, in the order asked, as thumbnail_payload does", () => {
    const { content, buffers } = thumbnailPayload(entries, [2, 1, 0]);
    assert.equal(content.type, "thumbnails");
    assert.deepEqual(
      content.items.map((item) => [item.position, item.image, item.map?.buffer ?? null]),
      [
        [2, 0, 1],
        [1, null, null],
        [0, 2, 3],
      ],
    );
    assert.deepEqual(buffers, [...THUMBNAILS[2].buffers, ...THUMBNAILS[0].buffers]);
    assert.equal(buffers[2], THUMBNAILS[0].buffers[0], "the embedded DataViews themselves");
    const { image, map, ...rest } = content.items[2];
    const { image: _, map: original, ...embedded } = THUMBNAILS[0].item;
    assert.deepEqual(rest, embedded, "everything else as embedded");
    assert.deepEqual({ ...map, buffer: 1 }, original);
  });

  it("leaves the embedded items as they are, so that every request counts from zero", () => {
    thumbnailPayload(entries, [2, 0]);
    assert.deepEqual([THUMBNAILS[0].item.image, THUMBNAILS[0].item.map.buffer], [0, 1]);
    const { content } = thumbnailPayload(entries, [0]);
    assert.deepEqual([content.items[0].image, content.items[0].map.buffer], [0, 1]);
  });

  it("refuses a position the page lacks, or positions that are not a list", () => {
    const missing = /no image at position 7 on this page, which holds 3 images/;
    assert.throws(() => thumbnailPayload(entries, [0, 7]), missing);
    assert.throws(() => thumbnailPayload(entries, "0"), RangeError);
    const none = { content: { type: "thumbnails", items: [] }, buffers: [] };
    assert.deepEqual(thumbnailPayload(entries, []), none);
  });
});

describe("galleryResponder", () => {
  it("answers a request for thumbnails with a message holding their payload", async () => {
    const { model, messages } = pageModel();
    model.send({ type: "thumbnails", positions: [0, 2] });
    await answered();
    assert.equal(messages.length, 1);
    const entries = new Map(THUMBNAILS.map((entry) => [entry.item.position, entry]));
    assert.deepEqual(messages[0], thumbnailPayload(entries, [0, 2]));
    assert.equal(model.get("status"), STATUS);
  });

  it("refuses thumbnails the page lacks in the status line, as the kernel does", async () => {
    const { model, messages } = pageModel();
    model.send({ type: "thumbnails", positions: [5] });
    await answered();
    assert.deepEqual(messages, []);
    assert.equal(model.get("status"), `${REFUSED}no image at position 5 on this page, which holds 3 images`);
  });

  it("answers a colormap change with its table, and takes the view's other settings", async () => {
    const { model } = pageModel();
    model.set("colormap", "magma");
    model.set("alpha", 0.8);
    model.save_changes();
    await answered();
    assert.equal(model.get("lut_bytes"), LUTS.magma);
    assert.deepEqual([model.get("colormap"), model.get("alpha")], ["magma", 0.8]);
    assert.equal(model.get("status"), STATUS);
  });

  it("refuses a change whole, sending the old values back, and a good one ends the notice", async () => {
    const { model } = pageModel();
    model.set("colormap", "nope");
    model.set("alpha", 0.8);
    model.save_changes();
    await answered();
    assert.deepEqual([model.get("colormap"), model.get("alpha")], ["viridis", 0.5]);
    assert.equal(model.get("lut_bytes"), LUTS.viridis);
    assert.equal(model.get("status"), `${REFUSED}the colormap nope is not on this page`);
    model.set("count", 4);
    model.save_changes();
    await answered();
    assert.equal(model.get("count"), 3);
    assert.equal(model.get("status"), `${REFUSED}count can only be set by Python`);
    model.set("alpha", 0.2);
    model.save_changes();
    await answered();
    assert.deepEqual([model.get("alpha"), model.get("status")], [0.2, STATUS]);
  });

  it("says that opening an image needs a notebook, and drops other messages", async () => {
    const { model, messages } = pageModel();
    model.send({ type: "view", shown: true });
    await answered();
    assert.deepEqual([model.get("error"), messages], ["", []]);
    model.send({ type: "open", position: 0 });
    await answered();
    const needs = /^Opening an image for exploration needs flashwidget\.Gallery in a notebook/;
    assert.match(model.get("error"), needs);
  });
});
