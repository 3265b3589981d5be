// Tests of the stand-in for anywidget's model on standalone pages: `node --test js/`.
import assert from "node:assert/strict";
import { describe, it, mock } from "node:test";

import { DATA_ID, ROOT_ID, dataViewOf, decodeBytes, staticModel, startPage } from "./static_model.js";

// Let every answer queued so far arrive (they come after the current task, as a kernel's do).
const answered = () => new Promise((resolve) => setTimeout(resolve, 0));

function recorder(model, names) {
  const seen = [];
  for (const name of names) {
    model.on(`change:${name}`, (from, value) => seen.push([name, value, from === model]));
  }
  return seen;
}

describe("dataViewOf and decodeBytes", () => {
  it("decode base64 into a DataView of exactly those bytes", () => {
    const view = dataViewOf(btoa(String.fromCharCode(0, 255, 7)));
    assert.ok(view instanceof DataView);
    assert.deepEqual([...new Uint8Array(view.buffer, view.byteOffset, view.byteLength)], [0, 255, 7]);
    assert.equal(dataViewOf("").byteLength, 0);
  });

  it("put the embedded DataViews wherever {$bytes: i} stands, one object for one index", () => {
    const blobs = [dataViewOf("AQI="), dataViewOf("")];
    const decoded = decodeBytes(
      { a: { $bytes: 0 }, list: [{ $bytes: 0 }, { deep: { $bytes: 1 } }], n: 3, s: "x", none: null },
      blobs,
    );
    assert.equal(decoded.a, blobs[0]);
    assert.equal(decoded.list[0], blobs[0], "equal values are one DataView");
    assert.equal(decoded.list[1].deep, blobs[1]);
    assert.deepEqual([decoded.n, decoded.s, decoded.none], [3, "x", null]);
  });

  it("refuse an index that is not embedded", () => {
    assert.throws(() => decodeBytes({ $bytes: 2 }, [dataViewOf("")]), RangeError);
  });
});

describe("staticModel", () => {
  it("gets and sets like anywidget's model: a set fires its change event at once", () => {
    const model = staticModel({ a: 1, b: "x" }, () => null);
    const seen = recorder(model, ["a"]);
    assert.equal(model.get("b"), "x");
    assert.equal(model.get("missing"), undefined);
    model.set("a", 2);
    assert.deepEqual(seen, [["a", 2, true]]);
    model.set("a", 2);
    assert.equal(seen.length, 1, "no event when the value stays the same");
  });

  it("sends the kernel the traits set since the last save, with the kernel's values before", async () => {
    const respond = mock.fn(() => null);
    const model = staticModel({ a: 1, b: 2, c: 3 }, respond);
    model.set("a", 10);
    model.set("b", 20);
    model.save_changes();
    model.save_changes(); // nothing new: nothing sent
    assert.equal(respond.mock.calls.length, 0, "the kernel answers later, not during the view's call");
    await answered();
    assert.equal(respond.mock.calls.length, 1);
    const [request, kernel] = respond.mock.calls[0].arguments;
    assert.deepEqual(request, { changes: { a: 10, b: 20 } });
    assert.deepEqual(kernel, { a: 1, b: 2, c: 3 });
    model.set("c", 30);
    model.save_changes();
    await answered();
    const [second, before] = respond.mock.calls[1].arguments;
    assert.deepEqual([second, before], [{ changes: { c: 30 } }, { a: 10, b: 20, c: 3 }]);
  });

  it("applies an answer whole before its change events, one per trait that changed", async () => {
    const model = staticModel({ a: 1, b: 2, c: 3 }, () => ({ b: 5, c: 3 }));
    const seen = [];
    model.on("change:b", () => seen.push(["b", model.get("b"), model.get("c")]));
    model.on("change:c", () => seen.push(["c"]));
    model.set("a", 4);
    model.save_changes();
    await answered();
    assert.deepEqual(seen, [["b", 5, 3]]);
  });

  it("keeps the kernel's state as the changes overridden by the answer: a refusal reverts", async () => {
    // This kernel refuses any value of `a` above 9, sending the old one back.
    const respond = mock.fn(({ changes }, kernel) => (changes?.a > 9 ? { a: kernel.a, error: "no" } : null));
    const model = staticModel({ a: 1, error: "" }, respond);
    const seen = recorder(model, ["a", "error"]);
    model.set("a", 5);
    model.save_changes();
    model.set("a", 50);
    model.save_changes();
    assert.equal(model.get("a"), 50, "the view shows its own value until the kernel answers");
    await answered();
    assert.equal(model.get("a"), 5);
    assert.equal(model.get("error"), "no");
    assert.deepEqual(seen, [
      ["a", 5, true],
      ["a", 50, true],
      ["a", 5, true],
      ["error", "no", true],
    ]);
    assert.deepEqual(respond.mock.calls[1].arguments[1], { a: 5, error: "" }, "answers in order");
  });

  it("hands the kernel the view's messages", async () => {
    const respond = mock.fn(() => ({ status: "checked" }));
    const model = staticModel({ status: "" }, respond);
    model.send({ type: "check" });
    await answered();
    const [request, kernel, reply] = respond.mock.calls[0].arguments;
    assert.deepEqual([request, kernel], [{ message: { type: "check" } }, { status: "" }]);
    assert.equal(typeof reply, "function", "with which to answer by message");
    assert.equal(model.get("status"), "checked");
  });

  it("delivers a responder's replies as anywidget's custom messages, after its traits", async () => {
    const bytes = dataViewOf(btoa("\u0001\u0002"));
    const respond = mock.fn((request, kernel, reply) => {
      reply({ type: "first" }, [bytes]);
      reply({ type: "second" });
      return { status: "answered" };
    });
    const model = staticModel({ status: "" }, respond);
    const seen = [];
    model.on("msg:custom", (content, buffers) => seen.push([content, buffers, model.get("status")]));
    model.on("change:status", (from, value) => seen.push(["status", value, from === model]));
    model.send({ type: "ask" });
    assert.deepEqual(seen, [], "replies come later, as a kernel's do");
    await answered();
    assert.deepEqual(seen, [
      ["status", "answered", true],
      [{ type: "first" }, [bytes], "answered"],
      [{ type: "second" }, [], "answered"],
    ]);
    assert.equal(seen[1][1][0], bytes, "the responder's DataViews themselves");
  });

  it("refuses a reply once the answer is given, as a bug of the responder", async (t) => {
    let later = null;
    const model = staticModel({}, (request, kernel, reply) => {
      later = reply;
    });
    const seen = [];
    model.on("msg:custom", (content) => seen.push(content));
    model.send({ type: "ask" });
    await answered();
    assert.throws(() => later({ type: "late" }), /replies while it answers/);
    assert.deepEqual(seen, []);
  });

  it("removes listeners as Backbone's off does: one, an event's, or all", () => {
    const model = staticModel({ a: 0, b: 0 }, () => null);
    const calls = [];
    const one = () => calls.push("one");
    const two = () => calls.push("two");
    model.on("change:a", one);
    model.on("change:a", two);
    model.on("change:b", one);
    model.off("change:a", one);
    model.set("a", 1);
    assert.deepEqual(calls, ["two"]);
    model.off("change:a");
    model.set("a", 2);
    assert.deepEqual(calls, ["two"]);
    model.off();
    model.set("b", 1);
    assert.deepEqual(calls, ["two"]);
  });

  it("reports a responder's failure as uncaught and keeps answering", async (t) => {
    let failing = true;
    const model = staticModel({ a: 0, b: 0 }, () => {
      if (failing) throw new Error("responder bug");
      return { b: 1 };
    });
    t.mock.timers.enable({ apis: ["setTimeout"] });
    model.set("a", 1);
    model.save_changes();
    for (let i = 0; i < 5; i++) await Promise.resolve(); // the answer fails, its catch runs
    assert.throws(() => t.mock.timers.runAll(), /responder bug/);
    t.mock.timers.reset();
    failing = false;
    model.set("a", 2);
    model.save_changes();
    await answered();
    assert.equal(model.get("b"), 1);
  });
});

describe("startPage", () => {
  it("renders the view into the page's root against a stand-in holding the page's data", async () => {
    const data = {
      bytes: [btoa("\u0001\u0002")],
      state: { image: { $bytes: 0 }, n: 1 },
      tables: { image: { $bytes: 0 } },
    };
    const root = { id: ROOT_ID };
    const doc = {
      getElementById: (id) => ({ [DATA_ID]: { textContent: JSON.stringify(data) }, [ROOT_ID]: root })[id],
    };
    const rendered = [];
    let tables = null;
    const responder = (given) => {
      tables = given;
      return () => ({ n: 2 });
    };
    const model = startPage((args) => rendered.push(args), responder, doc);
    assert.equal(rendered.length, 1);
    assert.equal(rendered[0].model, model);
    assert.equal(rendered[0].el, root);
    assert.ok(model.get("image") instanceof DataView);
    assert.equal(model.get("image"), tables.image, "one DataView for the state and the tables");
    model.set("n", 5);
    model.save_changes();
    await answered();
    assert.equal(model.get("n"), 2);
  });
});
