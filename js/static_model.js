// A stand-in for anywidget's model on a page with no kernel (flashwidget/standalone.py writes
// such pages): a notebook view renders against it unchanged. Like a notebook, it keeps two
// copies of the state: the view's, which the view's own `set` changes at once, and the
// kernel's, which a responder written for the view keeps in step by answering each batch of
// changes the view saves and each message it sends (with traits, and with messages of its own
// where the kernel sends some), from tables computed in Python and embedded in the page.
// Answers come asynchronously and in order, as a kernel's do.
// Pure but for startPage's default document, so that Node's test runner can check it.

export const DATA_ID = "flashwidget-data"; // the page's JSON: {bytes, state, tables}
export const ROOT_ID = "flashwidget-root"; // the element the view renders into

// The bytes of base64 text, as a DataView: how anywidget hands a view bytes traits.
export function dataViewOf(base64) {
  const text = atob(base64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return new DataView(bytes.buffer);
}

// Embedded JSON -> the values a view gets from anywidget. flashwidget/standalone.py embeds each
// distinct bytes value once, in the page's `bytes` list, and writes {"$bytes": its index}
// wherever it is used; each becomes that entry of `blobs` (their DataViews), in arrays and
// objects too, so that equal values are one DataView. Everything else is kept.
export function decodeBytes(value, blobs) {
  if (Array.isArray(value)) return value.map((item) => decodeBytes(item, blobs));
  if (value === null || typeof value !== "object") return value;
  if ("$bytes" in value) {
    const blob = blobs[value.$bytes];
    if (!(blob instanceof DataView)) throw new RangeError(`no embedded bytes ${value.$bytes}`);
    return blob;
  }
  const entries = Object.entries(value).map(([key, item]) => [key, decodeBytes(item, blobs)]);
  return Object.fromEntries(entries);
}

// The model interface a view uses (get, set, save_changes, on, off, send) over `state`, trait
// values as the view gets them (see decodeBytes). `respond(request, kernel, reply)` is the
// kernel side: `request` is {changes} (the traits the view saved, with their new values) or
// {message} (what the view sent); `kernel` holds the kernel's values before the request. It
// returns the traits to send back (a refusal sends back the old values), or nothing; the kernel
// then holds the view's changes overridden by that answer. A change event fires for each trait
// whose value is replaced by a different one (===), after all the answer's values are in place.
// While it answers, the responder may call `reply(content, buffers)` to send the view a custom
// message, as a widget's `send(content, buffers)` does: "msg:custom" listeners get (content,
// buffers), buffers a list of DataViews as anywidget hands them over, after the answer's change
// events and in the order sent.
export function staticModel(state, respond) {
  const view = { ...state };
  let kernel = { ...view };
  const handlers = new Map(); // event name -> callbacks
  let unsaved = {};
  let answering = Promise.resolve();

  // Backbone calls a change listener with (model, value), anywidget a message's with (content,
  // buffers): the arguments are the event's.
  function emit(event, ...args) {
    for (const callback of [...(handlers.get(event) ?? [])]) callback(...args);
  }

  function receive(values) {
    const changed = Object.keys(values).filter((name) => view[name] !== values[name]);
    Object.assign(view, values);
    for (const name of changed) emit(`change:${name}`, model, view[name]);
  }

  function ask(request) {
    answering = answering
      .then(() => {
        const messages = [];
        let replying = true;
        const reply = (content, buffers = []) => {
          if (!replying) throw new Error("a responder replies while it answers, not later");
          messages.push([content, buffers]);
        };
        let answer;
        try {
          answer = respond(request, { ...kernel }, reply) ?? {};
        } finally {
          replying = false;
        }
        kernel = { ...kernel, ...request.changes, ...answer };
        receive(answer);
        for (const [content, buffers] of messages) emit("msg:custom", content, buffers);
      })
      .catch((error) => {
        // A responder's bug: report it as uncaught, and keep answering the next requests.
        setTimeout(() => {
          throw error;
        });
      });
  }

  const model = {
    get(name) {
      return view[name];
    },
    set(name, value) {
      const changed = view[name] !== value;
      view[name] = value;
      unsaved[name] = value;
      if (changed) emit(`change:${name}`, model, value);
    },
    save_changes() {
      if (Object.keys(unsaved).length === 0) return;
      const changes = unsaved;
      unsaved = {};
      ask({ changes });
    },
    send(content) {
      ask({ message: content });
    },
    on(event, callback) {
      if (!handlers.has(event)) handlers.set(event, []);
      handlers.get(event).push(callback);
    },
    // As Backbone: without a callback, every callback of `event`; without both, all of them.
    off(event, callback) {
      if (event === undefined) handlers.clear();
      else if (callback === undefined) handlers.delete(event);
      else handlers.set(event, (handlers.get(event) ?? []).filter((c) => c !== callback));
    },
  };
  return model;
}

// Render a view on a standalone page: its data from the page's #flashwidget-data, the view's
// `render` (anywidget's) into #flashwidget-root, against a stand-in answered by
// `responder(tables)`. Returns the stand-in.
export function startPage(render, responder, doc = document) {
  const data = JSON.parse(doc.getElementById(DATA_ID).textContent);
  const blobs = data.bytes.map(dataViewOf);
  const tables = decodeBytes(data.tables, blobs);
  const model = staticModel(decodeBytes(data.state, blobs), responder(tables));
  render({ model, el: doc.getElementById(ROOT_ID) });
  return model;
}
