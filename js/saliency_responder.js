// The kernel side of SaliencyWidget's view on a standalone page (SaliencyWidget.to_html): it
// answers the view's changes as the widget does, from the maps flashwidget/standalone.py
// precomputed. What those cannot answer (another class or method, a method's options, the
// reduction over channels, a check) it refuses, as the widget refuses a bad value: the old
// values go back to the view, and the view's error line says why. Pure, for Node's test runner.
//
// `tables` is {maps, options, luts}. `maps`: [{target, method, options, values, rgb, status}],
// one per class and method (with those options): its map_values, its gradient_rgb_bytes (empty
// for a one-channel map) and its status line. `options`: each method's options on the page.
// `luts`: each colormap's lut_bytes.

const EMPTY = new DataView(new ArrayBuffer(0));
// Drawn in the browser: the kernel only hears them.
const LOOKS = new Set(["alpha", "sign", "clip_percentile"]);
// Answered with maps from the tables.
const REQUESTS = new Set(["target", "method", "compare", "compare_method", "compare_target", "view"]);
const KERNEL = "the widget in a running kernel";
const NEEDS_KERNEL = `needs ${KERNEL}: this page holds maps precomputed in Python`;
const CHANGING = {
  method_options: "Changing a method's options",
  take_max: "Switching between max |value| and the sum over channels",
  step_index: "Showing a training step",
};

// Whether two trait values are the same: equal, or flat objects (a method's options) with the
// same keys and equal values.
export function sameValue(a, b) {
  if (a === b) return true;
  if (!a || !b || typeof a !== "object" || typeof b !== "object") return false;
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => key in b && a[key] === b[key]);
}

function listed(items) {
  return items.length < 2 ? items.join("") : `${items.slice(0, -1).join(", ")} and ${items.at(-1)}`;
}

// A class as the widget's status line names it.
function subject(state, target) {
  return `${state.labels[target] ?? ""} (class ${target})`;
}

function labelOfMethod(state, method) {
  return state.method_specs.find((spec) => spec.name === method)?.label ?? method;
}

export function saliencyResponder({ maps, options, luts }) {
  const find = (target, method, chosen) =>
    maps.find((m) => m.target === target && m.method === method && sameValue(m.options, chosen));

  function methodMissing(state, method, chosen) {
    const held = [...new Set(maps.map((m) => m.method))].map((name) => labelOfMethod(state, name));
    let which = "";
    if (maps.some((m) => m.method === method)) {
      which = Object.keys(chosen).length ? " with these options" : " with its default options";
    }
    return (
      `${labelOfMethod(state, method)}${which} was not precomputed for this page, which holds ` +
      `${listed(held)} maps; other methods need ${KERNEL}.`
    );
  }

  // Why the map of `target` by `method` with `chosen` options is not on the page.
  function missing(state, target, method, chosen) {
    if (!maps.some((m) => m.method === method && sameValue(m.options, chosen))) {
      return methodMissing(state, method, chosen);
    }
    const classes = [...new Set(maps.map((m) => m.target))].map((t) => subject(state, t));
    return (
      `${subject(state, target)} was not precomputed for this page, which holds maps of ` +
      `${listed(classes)}; other classes need ${KERNEL}.`
    );
  }

  // The map traits the kernel's values `next` show, as {answer}, or {refusal} saying why not.
  function shown(next) {
    const main = find(next.target, next.method, next.method_options);
    if (!main) return { refusal: missing(next, next.target, next.method, next.method_options) };
    const answer = {
      map_values: main.values,
      gradient_rgb_bytes: next.view === "panels" ? main.rgb : EMPTY,
      status: main.status,
      compare_values: EMPTY,
      compare_caption: "",
    };
    if (next.compare === "off") return { answer };
    // As the widget: another method with its default options, or another class with these.
    const [target, method, chosen] =
      next.compare === "method"
        ? [next.target, next.compare_method, {}]
        : [next.compare_target, next.method, next.method_options];
    const other = find(target, method, chosen);
    if (!other) return { refusal: missing(next, target, method, chosen) };
    answer.compare_values = other.values;
    answer.compare_caption = next.compare === "method" ? labelOfMethod(next, method) : subject(next, target);
    return { answer };
  }

  function answerChanges(changes, kernel) {
    const names = Object.keys(changes);
    const refuse = (message) => ({
      ...Object.fromEntries(names.map((name) => [name, kernel[name]])),
      error: message,
    });
    const answerable = (name) => LOOKS.has(name) || REQUESTS.has(name) || name === "colormap";
    const other = names.find((name) => !answerable(name) && !sameValue(changes[name], kernel[name]));
    if (other) return refuse(`${CHANGING[other] ?? `Changing ${other}`} ${NEEDS_KERNEL}.`);

    const next = { ...kernel, ...changes };
    const answer = { error: "" }; // a change answered ends a refusal's message
    if ("colormap" in changes) {
      if (!luts[next.colormap]) return refuse(`The colormap ${next.colormap} is not on this page.`);
      answer.lut_bytes = luts[next.colormap];
    }
    if ("method" in changes) {
      // The widget gives each method the options last chosen for it; the page, those it holds.
      if (!options[next.method]) return refuse(methodMissing(kernel, next.method, {}));
      next.method_options = answer.method_options = options[next.method];
    }
    if (names.some((name) => REQUESTS.has(name))) {
      const result = shown(next);
      if (result.refusal) return refuse(result.refusal);
      Object.assign(answer, result.answer);
    }
    return answer;
  }

  function answerMessage(message) {
    if (message?.type === "view" || message?.type === "cancel_check") return null; // nothing to do
    if (message?.type === "check") return { check_status: `Checking a map ${NEEDS_KERNEL}.` };
    return { error: `${JSON.stringify(message?.type)} ${NEEDS_KERNEL}.` };
  }

  return (request, kernel) =>
    "message" in request ? answerMessage(request.message) : answerChanges(request.changes, kernel);
}
