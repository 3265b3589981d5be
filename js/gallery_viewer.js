// The image opened from the gallery, explored in a SaliencyWidget shown under the thumbnails.
// Python holds that widget in the `opened` trait, which reaches the view as a reference that
// anywidget's `host.getWidget` (anywidget 0.11 and later; JupyterLab and Notebook 7 are tested)
// turns into the widget's own view, rendered here. Where the front end offers no host, the
// view says how to show it from Python instead.
import { h } from "./dom.js";

export function openedViewer({ model, listen }, host, sourceOf) {
  const title = h("div", { className: "fw-g-opened-title" });
  const note = h("div", { className: "fw-g-opened-note", hidden: true });
  const holder = h("div", { className: "fw-g-opened-view" });
  const element = h("section", { className: "fw-g-opened", hidden: true }, [title, note, holder]);
  let mounted = null; // the reference rendered in `holder`
  let controller = null; // ends the rendered view

  async function mount() {
    const ref = model.get("opened");
    if (ref === mounted) return;
    controller?.abort();
    holder.replaceChildren();
    mounted = ref;
    note.hidden = !ref || Boolean(host);
    note.textContent =
      "This front end cannot show a widget inside another: show g.opened in a cell.";
    if (!ref || !host) return;
    controller = new AbortController();
    const { signal } = controller;
    const widget = await host.getWidget(ref);
    if (!signal.aborted) await widget.render({ el: holder, signal });
  }

  function showTitle() {
    const position = model.get("opened_position");
    element.hidden = position < 0;
    const source = sourceOf(position);
    title.textContent = `Image ${position}${source === null ? "" : `: ${source}`}`;
  }

  const update = () => {
    showTitle();
    mount().catch((error) => {
      note.hidden = false;
      note.textContent = `Could not show the image opened: ${error}`;
    });
  };
  listen("opened", update);
  listen("opened_position", showTitle);
  update();
  return { element, cancel: () => controller?.abort() };
}
