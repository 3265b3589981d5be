"""The page every standalone view test renders a bundled anywidget view on, without Jupyter.

One fake anywidget model serves every standalone view test (test_view_standalone.py,
test_feature_view_standalone.py, test_gallery_view_standalone.py), so that a fix to it reaches all
views; each view's test module adds only what that view needs beyond it, as options of
``view_page_for`` or as a little JavaScript of its own (``extra_js``).

The page imports a shipped bundle from a Blob URL, as anywidget does, and calls its
``render({model, el, host})`` with a fake model written here in JavaScript that behaves like
anywidget's: ``get``/``set``/``save_changes``/``on``/``off``/``send``, change events fired after a
batch of values is in place (as Backbone does), custom messages with buffers (``msg:custom``),
and binary traits delivered as DataViews into a larger, poisoned buffer, so that a view ignoring
``byteOffset`` reads garbage. The fake refuses to read a trait it was not given, records every
``set``/``save_changes`` with a timestamp and every ``send``, and counts ``on``/``off``, which is
how the tests see what would reach Python.

The page is served by ``page.route``: nothing leaves the machine. Any script error or console
error on it fails the test.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, Route

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "flashwidget" / "static"
ORIGIN = "http://flashwidget.test/"  # served by page.route: nothing leaves the machine

# OPTIONS ({byteOffset, settle}) is declared just before this script by page_html.
FAKE_MODEL_JS = r"""
// anywidget hands binary traits over as DataViews that may start inside a larger buffer; make
// them so, with poison bytes around, so that a view ignoring byteOffset shows wrong colours.
const PAD = 8;
function decode(value) {
  if (Array.isArray(value)) return value.map(decode);
  if (value === null || typeof value !== "object") return value;
  if ("$bytes" in value) {
    const raw = atob(value.$bytes);
    const start = OPTIONS.byteOffset;
    const buffer = new ArrayBuffer(start + raw.length + PAD);
    const all = new Uint8Array(buffer).fill(0xab);
    for (let i = 0; i < raw.length; i++) all[start + i] = raw.charCodeAt(i);
    return new DataView(buffer, start, raw.length);
  }
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, decode(v)]));
}

// The part of anywidget's model the view may use, recording what would reach Python.
class FakeModel {
  constructor(state) {
    this.state = { ...state };
    this.handlers = new Map();
    this.calls = [];
    this.messages = [];
    this.onCalls = 0;
    this.offCalls = 0;
  }
  get(name) {
    if (!(name in this.state)) throw new Error(`the view read an unknown trait: ${name}`);
    return this.state[name];
  }
  set(name, value) {
    this.calls.push({ op: "set", name, value, t: performance.now() });
    this.update({ [name]: value });
  }
  send(content) {
    this.messages.push(content);
  }
  save_changes() {
    this.calls.push({ op: "save_changes", name: null, value: null, t: performance.now() });
  }
  on(event, callback) {
    this.onCalls += 1;
    if (!this.handlers.has(event)) this.handlers.set(event, []);
    this.handlers.get(event).push(callback);
  }
  off(event, callback) {
    this.offCalls += 1;
    const kept = (this.handlers.get(event) ?? []).filter((c) => callback && c !== callback);
    this.handlers.set(event, kept);
  }
  listenerCount() {
    let count = 0;
    for (const callbacks of this.handlers.values()) count += callbacks.length;
    return count;
  }
  // New values, all in place before any change event, one event per trait that changed.
  update(changes) {
    const changed = [];
    for (const [name, value] of Object.entries(changes)) {
      if (!(name in this.state)) throw new Error(`no such trait: ${name}`);
      if (this.state[name] !== value) changed.push(name);
      this.state[name] = value;
    }
    for (const name of changed) {
      for (const callback of [...(this.handlers.get(`change:${name}`) ?? [])]) {
        callback(this, this.state[name]);
      }
    }
  }
  // A custom message from Python, as anywidget delivers one: content and buffers.
  deliver(content, buffers) {
    for (const callback of [...(this.handlers.get("msg:custom") ?? [])]) {
      callback(content, buffers);
    }
  }
}

let widget = null;
window.views = [];
window.frames = () =>
  new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));

window.loadBundle = async (text) => {
  const url = URL.createObjectURL(new Blob([text], { type: "text/javascript" }));
  try {
    widget = (await import(url)).default;
  } finally {
    URL.revokeObjectURL(url);
  }
};

// One more view of window.model; `host` is what anywidget 0.11 gives render for composition.
window.renderView = async (host) => {
  const el = document.createElement("div");
  el.className = "host";
  document.body.append(el);
  const cleanup = await widget.render({ model: window.model, el, host });
  window.views.push({ el, cleanup });
  if (OPTIONS.settle) await window.frames();
  return window.views.length - 1;
};

window.mount = async (state, host) => {
  window.model = new FakeModel(decode(state));
  return window.renderView(host);
};

window.receive = async (changes) => {
  window.model.update(decode(changes));
  await window.frames();
};

window.reply = (content, buffers) => window.model.deliver(decode(content), buffers.map(decode));

// A canvas given itself or by a selector.
const canvasOf = (canvas) =>
  typeof canvas === "string" ? document.querySelector(canvas) : canvas;

// RGBA at one point of every source pixel (fraction 0.5: its centre) of an enlarged canvas.
window.sample = (target, width, height, fraction) => {
  const canvas = canvasOf(target);
  const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  const out = [];
  for (let y = 0; y < height; y++) {
    const row = Math.floor(((y + fraction) * canvas.height) / height);
    for (let x = 0; x < width; x++) {
      const col = Math.floor(((x + fraction) * canvas.width) / width);
      const at = (row * canvas.width + col) * 4;
      out.push(data[at], data[at + 1], data[at + 2], data[at + 3]);
    }
  }
  return out;
};

window.box = (target) => {
  const canvas = canvasOf(target);
  const rect = canvas.getBoundingClientRect();
  const { width, height } = canvas;
  return { cssWidth: rect.width, cssHeight: rect.height, width, height };
};
"""


def page_html(title: str, *, extra_js: str = "", byte_offset: int = 8, settle: bool = False) -> str:
    """The harness page: widget.css, the fake model and ``extra_js``, in one script."""
    options = json.dumps({"byteOffset": byte_offset, "settle": settle})
    script = f'"use strict";\nconst OPTIONS = {options};\n{FAKE_MODEL_JS}\n{extra_js}'
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{title}</title>'
        "<style>\n" + (STATIC / "widget.css").read_text() + "\n</style></head>"
        "<body><script>\n" + script + "\n</script></body></html>"
    )


def _serve(html: str) -> Callable[[Route], None]:
    """A page.route handler that answers ORIGIN with ``html`` and anything else with a 404."""

    def serve(route: Route) -> None:
        if route.request.url == ORIGIN:
            route.fulfill(status=200, content_type="text/html", body=html)
        else:
            route.fulfill(status=404, body="")

    return serve


@contextmanager
def view_page_for(
    browser: Browser,
    bundle: Path,
    *,
    scale: float = 1,
    title: str = "flashwidget view",
    extra_js: str = "",
    byte_offset: int = 8,
    settle: bool = False,
) -> Iterator[Page]:
    """A fresh context and page with ``bundle`` imported; fails the test on any script error.

    ``scale`` is the device scale factor; ``extra_js`` runs after the fake model, in its scope;
    ``byte_offset`` is where a binary trait's bytes start in their poisoned buffer (an odd one
    tries a view on unaligned data); ``settle`` waits two animation frames after each render.
    """
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, device_scale_factor=scale
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
    page.on(
        "console",
        lambda message: (
            errors.append(f"console: {message.text}") if message.type == "error" else None
        ),
    )
    html = page_html(title, extra_js=extra_js, byte_offset=byte_offset, settle=settle)
    page.route(f"{ORIGIN}**", _serve(html))
    try:
        page.goto(ORIGIN)
        page.evaluate("(text) => loadBundle(text)", bundle.read_text())
        yield page
        assert errors == [], "the page reported errors"
    finally:
        context.close()


# Driving the fake model from Python -------------------------------------------------------------


@contextmanager
def offline_page(browser: Browser, path: Path, ready: str) -> Iterator[Page]:
    """A standalone HTML file opened by its file:// URL in an offline context that aborts any
    other request, once ``ready`` (a selector) shows; fails the test on a request made
    elsewhere, a script error or a console error."""
    context = browser.new_context(offline=True, viewport={"width": 1280, "height": 1000})
    requested: list[str] = []
    errors: list[str] = []

    def refuse(route: Route) -> None:
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            route.abort()

    context.route("**/*", refuse)
    page = context.new_page()
    page.on("request", lambda request: requested.append(request.url))
    page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    try:
        page.goto(path.as_uri())
        page.wait_for_selector(ready)
        yield page
        assert requested == [path.as_uri()], "the page asked for nothing but itself"
        assert errors == []
    finally:
        context.close()


def to_js(value: Any) -> Any:
    """A trait value as JSON for the page; bytes go as base64, to become DataViews there."""
    if isinstance(value, bytes | bytearray | memoryview):
        return {"$bytes": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, dict):
        return {key: to_js(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_js(item) for item in value]
    return value


def mount(page: Page, state: dict[str, Any], **overrides: Any) -> None:
    """Render one view on a new fake model holding ``state`` (with ``overrides``)."""
    page.evaluate("(state) => mount(state)", to_js({**state, **overrides}))


def receive(page: Page, **changes: Any) -> None:
    """Deliver changes from Python, as one message, and wait until the view has redrawn."""
    page.evaluate("(changes) => receive(changes)", to_js(changes))


def calls(page: Page) -> list[tuple[str, str | None, Any]]:
    """What the views asked the model: ("set", name, value) and ("save_changes", None, None)."""
    recorded = page.evaluate("() => model.calls")
    return [(call["op"], call["name"], call["value"]) for call in recorded]
