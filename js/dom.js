// Small DOM helpers shared by the view's controls.

// Create an element: attributes that are DOM properties are set as such, others as attributes.
export function h(tag, attributes = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key in node) node[key] = value;
    else node.setAttribute(key, value);
  }
  node.append(...children);
  return node;
}

export function option(value, text) {
  return h("option", { value: String(value), textContent: text });
}

// A control with its caption, as the toolbars show them.
export function labelled(text, control) {
  return h("label", {}, [h("span", { textContent: text }), control]);
}

// Remember the last result of `compute` for the same arguments (compared by identity), so
// that a DataView received once is decoded and coloured once, not on every redraw.
export function memo(compute) {
  let last = null;
  let value;
  return (...args) => {
    if (last === null || args.some((arg, i) => arg !== last[i])) {
      value = compute(...args);
      last = args;
    }
    return value;
  };
}

// The label of class `index`, from the synced class names.
export function classLabel(model, index) {
  const labels = model.get("labels");
  return index < labels.length ? labels[index] : `class ${index}`;
}

// What a view's controls share: the model, an abort signal for their DOM listeners, `send` (set
// a trait and sync it) and `listen` (a model change listener), and `close`, which removes all of
// them when the view goes away.
export function viewContext(model) {
  const controller = new AbortController();
  const listeners = [];
  return {
    model,
    signal: controller.signal,
    send(name, value) {
      model.set(name, value);
      model.save_changes();
    },
    listen(name, callback) {
      model.on(`change:${name}`, callback);
      listeners.push([`change:${name}`, callback]);
    },
    close() {
      controller.abort();
      for (const [event, callback] of listeners) model.off(event, callback);
    },
  };
}
