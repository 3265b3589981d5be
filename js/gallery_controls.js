// The gallery's toolbars: which images show (outcome, true label, prediction, confidence), their
// order, how many a page, and the look of the maps (alpha, colormap). Each control sets a trait;
// the grid follows the traits, so a value Python refuses (and sends back) is what shows. Alpha
// is drawn at once and reaches Python throttled, as SaliencyWidget's slider does.
import { h, labelled, option } from "./dom.js";
import { OUTCOME, valueCounts } from "./gallery_logic.js";
import { throttle } from "./logic.js";

const SEND_MS = 150; // the alpha slider's value reaches Python at most this often
const PAGE_SIZES = [12, 24, 48, 96];
const OUTCOMES = [
  ["all", "All images"],
  ["correct", "Correct"],
  ["incorrect", "Incorrect"],
  ["failed", "Failed"],
];
const SORTS = [
  ["position", "Position"],
  ["confidence_desc", "Confidence, high to low"],
  ["confidence_asc", "Confidence, low to high"],
  ["deletion_auc_asc", "Deletion AUC, most faithful first"],
  ["deletion_auc_desc", "Deletion AUC, least faithful first"],
];
const NO_AUC = "The result has no faithfulness scores (deletion_auc)";
const NO_TRUTH = "No image has a true class the model knows";

function counted(text, count) {
  return `${text} (${count})`;
}

// A select whose options `fill` rebuilds, showing trait `name` and sending `parse(value)`.
function menu({ model, send, listen, signal }, { name, className, title, fill, parse, after }) {
  const select = h("select", { className, title, "aria-label": title });
  function show() {
    fill(select);
    select.value = String(model.get(name));
  }
  select.addEventListener("change", () => send(name, parse(select.value)), { signal });
  for (const trait of [name, ...after]) listen(trait, show);
  show();
  return select;
}

// The confidence range: two numbers in [0, 1], sent together when either is committed; a pair
// out of order or out of range is not sent, and the inputs go back to the traits' values.
function confidenceRange({ model, send, listen, signal }) {
  const attributes = { type: "number", min: "0", max: "1", step: "0.05" };
  const low = h("input", { ...attributes, className: "fw-g-low", title: "Lowest confidence" });
  const high = h("input", { ...attributes, className: "fw-g-high", title: "Highest confidence" });
  function show() {
    const [from, to] = model.get("confidence_range");
    low.value = String(from);
    high.value = String(to);
  }
  function commit() {
    const range = [Number(low.value), Number(high.value)];
    const filled = low.value !== "" && high.value !== "";
    const valid = filled && 0 <= range[0] && range[0] <= range[1] && range[1] <= 1;
    const [from, to] = model.get("confidence_range");
    if (valid && (range[0] !== from || range[1] !== to)) send("confidence_range", range);
    else show();
  }
  for (const input of [low, high]) {
    input.addEventListener("change", commit, { signal });
    // Enter also reaches the notebook's shortcuts, which may keep "change" from firing.
    input.addEventListener("keydown", (event) => event.key === "Enter" && commit(), { signal });
  }
  listen("confidence_range", show);
  show();
  return h("span", { className: "fw-g-range" }, [
    h("span", { textContent: "Confidence" }),
    low,
    h("span", { textContent: "to" }),
    high,
  ]);
}

export function galleryControls(context, table, look, redraw) {
  const { model, send, listen, signal } = context;

  const outcome = menu(context, {
    name: "outcome",
    className: "fw-g-outcome",
    title: "Which images: all, correct, incorrect or failed",
    after: ["has_truth", "columns"],
    parse: String,
    fill(select) {
      const counts = valueCounts(table().outcome);
      select.replaceChildren(
        ...OUTCOMES.map(([value, text]) => {
          const shown = value === "all" ? model.get("count") : (counts.get(OUTCOME[value]) ?? 0);
          const entry = option(value, counted(text, shown));
          if (value === "correct" || value === "incorrect") {
            entry.disabled = !model.get("has_truth");
            if (entry.disabled) entry.title = NO_TRUTH;
          }
          return entry;
        }),
      );
    },
  });

  const truth = menu(context, {
    name: "true_label",
    className: "fw-g-true",
    title: "Only images with this true label",
    after: ["true_labels", "columns"],
    parse: String,
    fill(select) {
      const names = model.get("true_labels");
      const counts = valueCounts(table().true_label);
      select.replaceChildren(
        option("", "Any true label"),
        ...names.map((name, code) => option(name, counted(name, counts.get(code) ?? 0))),
      );
    },
  });
  const truthLabel = labelled("True label", truth);

  const predicted = menu(context, {
    name: "predicted_class",
    className: "fw-g-predicted",
    title: "Only images whose top prediction is this class",
    after: ["predicted_classes", "columns"],
    parse: Number,
    fill(select) {
      const classes = model.get("predicted_classes");
      const counts = valueCounts(table().predicted);
      const entries = classes
        .map((entry, code) => ({ ...entry, count: counts.get(code) ?? 0 }))
        .sort((a, b) => a.label.localeCompare(b.label) || a.class - b.class);
      select.replaceChildren(
        option(-1, "Any prediction"),
        ...entries.map((e) => option(e.class, counted(`${e.label} (class ${e.class})`, e.count))),
      );
    },
  });

  const sort = menu(context, {
    name: "sort",
    className: "fw-g-sort",
    title: "Order of the thumbnails",
    after: ["has_auc"],
    parse: String,
    fill(select) {
      select.replaceChildren(
        ...SORTS.map(([value, text]) => {
          const entry = option(value, text);
          if (value.startsWith("deletion_auc") && !model.get("has_auc")) {
            entry.disabled = true;
            entry.title = NO_AUC;
          }
          return entry;
        }),
      );
    },
  });

  const pageSize = menu(context, {
    name: "page_size",
    className: "fw-g-page-size",
    title: "Thumbnails a page",
    after: [],
    parse: Number,
    fill(select) {
      const sizes = [...new Set([...PAGE_SIZES, model.get("page_size")])].sort((a, b) => a - b);
      select.replaceChildren(...sizes.map((size) => option(size, String(size))));
    },
  });

  const colormap = menu(context, {
    name: "colormap",
    className: "fw-g-colormap",
    title: "Colormap of the maps",
    after: ["colormap_names"],
    parse: String,
    fill(select) {
      select.replaceChildren(...model.get("colormap_names").map((name) => option(name, name)));
    },
  });

  const alpha = h("input", {
    type: "range",
    className: "fw-g-alpha",
    min: "0",
    max: "1",
    step: "0.01",
    title: "Opacity of the maps",
  });
  const sendAlpha = throttle((value) => send("alpha", value), SEND_MS);
  alpha.addEventListener(
    "input",
    () => {
      look.alpha = Number(alpha.value);
      redraw(); // blend here at once; Python only needs to hear the final value
      sendAlpha(look.alpha);
    },
    { signal },
  );
  const showAlpha = () => {
    look.alpha = model.get("alpha");
    alpha.value = String(look.alpha);
    redraw();
  };
  listen("alpha", showAlpha);
  alpha.value = String(look.alpha);

  const showTruth = () => {
    truthLabel.hidden = model.get("true_labels").length === 0;
  };
  listen("true_labels", showTruth);
  showTruth();

  const element = h("div", { className: "fw-g-controls" }, [
    h("div", { className: "fw-toolbar" }, [
      labelled("Show", outcome),
      truthLabel,
      labelled("Predicted", predicted),
      confidenceRange(context),
    ]),
    h("div", { className: "fw-toolbar" }, [
      labelled("Sort by", sort),
      labelled("Per page", pageSize),
      labelled("Colormap", colormap),
      labelled("Alpha", alpha),
    ]),
  ]);
  return { element, cancel: () => sendAlpha.cancel() };
}
