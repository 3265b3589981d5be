// Tests of the kernel side of SaliencyWidget's standalone page: `node --test js/`.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { saliencyResponder, sameValue } from "./saliency_responder.js";

const bytes = (...values) => new DataView(new Uint8Array(values).buffer);
const SPECS = [
  { name: "gradient", label: "Gradient" },
  { name: "gradcam", label: "Grad-CAM" },
  { name: "integrated_gradients", label: "Integrated Gradients" },
  { name: "smoothgrad", label: "SmoothGrad" },
];

// Maps of classes 0 and 1 by Gradient and Grad-CAM (default options) and Integrated Gradients
// with 8 steps, each with values of its own.
function entry(target, method, options) {
  const rgb = method === "gradcam" ? bytes() : bytes(target, 9);
  const values = bytes(target, method.length);
  return { target, method, options, values, rgb, status: `${method} of ${target}` };
}
const MAPS = [0, 1].flatMap((t) => [
  entry(t, "gradient", {}),
  entry(t, "gradcam", {}),
  entry(t, "integrated_gradients", { steps: 8 }),
]);
const TABLES = {
  maps: MAPS,
  options: { gradient: {}, gradcam: {}, integrated_gradients: { steps: 8 } },
  luts: { viridis: bytes(1), magma: bytes(2) },
};
const KERNEL = {
  target: 0,
  method: "gradient",
  method_options: {},
  take_max: true,
  compare: "off",
  compare_method: "gradcam",
  compare_target: 1,
  view: "overlay",
  colormap: "viridis",
  alpha: 0.5,
  sign: "absolute",
  clip_percentile: 99.5,
  step_index: -1,
  labels: ["cat", "dog", "fox"],
  method_specs: SPECS,
  error: "",
};

// The same, showing Integrated Gradients.
const IG_KERNEL = { ...KERNEL, method: "integrated_gradients", method_options: { steps: 8 } };

const mapOf = (target, method) => MAPS.find((m) => m.target === target && m.method === method);

function answer(changes, kernel = KERNEL) {
  return saliencyResponder(TABLES)({ changes }, { ...kernel });
}

// The old values go back, nothing else changes, and the error line says `message` (a string:
// all of it; a regular expression: a match).
function assertRefused(result, reverted, message) {
  const { error, ...rest } = result;
  assert.deepEqual(rest, reverted);
  if (typeof message === "string") assert.equal(error, message);
  else assert.match(error, message);
}

describe("sameValue", () => {
  it("compares values, and flat objects by their keys and values", () => {
    assert.ok(sameValue(1, 1));
    assert.ok(sameValue({ steps: 8, layer: null }, { layer: null, steps: 8 }));
    assert.ok(!sameValue({ steps: 8 }, { steps: 9 }));
    assert.ok(!sameValue({ steps: 8 }, { steps: 8, noise: 0.1 }));
    assert.ok(!sameValue({}, null));
    assert.ok(!sameValue(true, false));
  });
});

describe("saliencyResponder: maps from the tables", () => {
  it("answers a class with its map and status line, and ends a refusal's message", () => {
    const result = answer({ target: 1 }, { ...KERNEL, error: "an earlier refusal" });
    const dog = mapOf(1, "gradient");
    assert.equal(result.map_values, dog.values);
    assert.equal(result.status, dog.status);
    assert.equal(result.compare_values.byteLength, 0);
    assert.equal(result.compare_caption, "");
    assert.equal(result.gradient_rgb_bytes.byteLength, 0, "the RGB map only for the panels view");
    assert.equal(result.error, "");
  });

  it("answers a method with the options the page holds for it, and its map", () => {
    const result = answer({ method: "integrated_gradients" });
    assert.deepEqual(result.method_options, { steps: 8 });
    assert.equal(result.map_values, mapOf(0, "integrated_gradients").values);
    const back = answer({ method: "gradcam" }, IG_KERNEL);
    assert.deepEqual(back.method_options, {});
    assert.equal(back.map_values, mapOf(0, "gradcam").values);
  });

  it("sends the RGB map of the map shown in the panels view, an empty one for Grad-CAM", () => {
    assert.equal(answer({ view: "panels" }).gradient_rgb_bytes, mapOf(0, "gradient").rgb);
    const gradcam = answer({ method: "gradcam" }, { ...KERNEL, view: "panels" });
    assert.equal(gradcam.gradient_rgb_bytes.byteLength, 0);
    assert.equal(answer({ view: "overlay" }, { ...KERNEL, view: "panels" }).gradient_rgb_bytes.byteLength, 0);
  });

  it("compares with another method at its default options, or another class", () => {
    const methods = answer({ compare: "method" });
    assert.equal(methods.map_values, mapOf(0, "gradient").values);
    assert.equal(methods.compare_values, mapOf(0, "gradcam").values);
    assert.equal(methods.compare_caption, "Grad-CAM");
    const classes = answer({ compare: "class" });
    assert.equal(classes.compare_values, mapOf(1, "gradient").values);
    assert.equal(classes.compare_caption, "dog (class 1)");
    const off = answer({ compare: "off" }, { ...KERNEL, compare: "class" });
    assert.equal(off.compare_values.byteLength, 0);
    assert.equal(off.compare_caption, "");
  });

  it("answers a colormap with its table, and the look of the map with nothing but consent", () => {
    assert.deepEqual(answer({ colormap: "magma" }), { lut_bytes: TABLES.luts.magma, error: "" });
    assert.deepEqual(answer({ alpha: 0.9, sign: "all", clip_percentile: 90 }), { error: "" });
  });
});

describe("saliencyResponder: what needs a kernel is refused, with the reason", () => {
  it("refuses a class that was not precomputed, naming the ones that were", () => {
    assertRefused(
      answer({ target: 2 }),
      { target: 0 },
      "fox (class 2) was not precomputed for this page, which holds maps of cat (class 0) and " +
        "dog (class 1); other classes need the widget in a running kernel.",
    );
  });

  it("refuses a method that was not precomputed, naming the ones that were", () => {
    assertRefused(
      answer({ method: "smoothgrad" }),
      { method: "gradient" },
      "SmoothGrad was not precomputed for this page, which holds Gradient, Grad-CAM and " +
        "Integrated Gradients maps; other methods need the widget in a running kernel.",
    );
  });

  it("refuses to compare with a method held only with other options than its defaults", () => {
    assertRefused(
      answer({ compare: "method", compare_method: "integrated_gradients" }),
      { compare: "off", compare_method: "gradcam" },
      /^Integrated Gradients with its default options was not precomputed/,
    );
    const other = answer({ compare: "class", compare_target: 2 });
    assertRefused(other, { compare: "off", compare_target: 1 }, /^fox \(class 2\) was not/);
  });

  it("refuses changing options, the reduction or the training step, and reverts the whole batch", () => {
    assertRefused(
      answer({ method_options: { steps: 16 } }, IG_KERNEL),
      { method_options: { steps: 8 } },
      "Changing a method's options needs the widget in a running kernel: this page holds maps " +
        "precomputed in Python.",
    );
    const both = answer({ target: 1, take_max: false });
    assertRefused(both, { target: 0, take_max: true }, /^Switching between max \|value\| and the sum/);
    assertRefused(answer({ step_index: 0 }), { step_index: -1 }, /^Showing a training step needs/);
    const colormap = answer({ colormap: "nope" });
    assertRefused(colormap, { colormap: "viridis" }, "The colormap nope is not on this page.");
  });

  it("accepts options equal to those held", () => {
    assert.deepEqual(answer({ method_options: { steps: 8 } }, IG_KERNEL), { error: "" });
  });

  it("answers the view's messages: a check needs a kernel, the rest needs nothing", () => {
    const respond = saliencyResponder(TABLES);
    assert.equal(respond({ message: { type: "view", shown: true } }, KERNEL), null);
    assert.equal(respond({ message: { type: "cancel_check" } }, KERNEL), null);
    const check = respond({ message: { type: "check" } }, KERNEL);
    assert.deepEqual(Object.keys(check), ["check_status"]);
    assert.match(check.check_status, /^Checking a map needs the widget in a running kernel/);
    assert.match(respond({ message: { type: "other" } }, KERNEL).error, /^"other" needs the widget/);
  });
});
