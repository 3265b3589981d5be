// The Gallery view (anywidget's render): a batch result's images with their maps, filtered,
// sorted and paged here from columns Python sends once; the thumbnails on show are asked of
// Python by message, and a click opens the image in a SaliencyWidget under them. Every exchange
// with Python is a trait or a message a static page could answer from a table.
import { h, memo, viewContext } from "./dom.js";
import { galleryControls } from "./gallery_controls.js";
import { thumbnailGrid } from "./gallery_grid.js";
import { columnsFrom } from "./gallery_logic.js";
import { openedViewer } from "./gallery_viewer.js";

function statusLines({ model, listen }) {
  const error = h("div", { className: "fw-error", role: "alert", hidden: true });
  const status = h("div", { className: "fw-status", "aria-live": "polite" });
  function show() {
    status.textContent = model.get("status");
    error.textContent = model.get("error");
    error.hidden = !model.get("error");
  }
  listen("status", show);
  listen("error", show);
  show();
  return { error, status };
}

export function render({ model, el, host }) {
  const context = viewContext(model);
  const columnsOf = memo((bytes, names, count) => columnsFrom(bytes, names, count));
  const table = () =>
    columnsOf(model.get("columns"), model.get("column_names"), model.get("count"));
  const look = { alpha: model.get("alpha") };

  const grid = thumbnailGrid(context, table, look);
  const controls = galleryControls(context, table, look, grid.redraw);
  const viewer = openedViewer(context, host, grid.sourceOf);
  const lines = statusLines(context);
  const root = h("div", { className: "flashwidget fw-gallery" }, [
    controls.element,
    lines.error,
    grid.element,
    lines.status,
    viewer.element,
  ]);
  el.append(root);

  return () => {
    context.close();
    controls.cancel();
    grid.cancel();
    viewer.cancel();
    root.remove();
  };
}

export default { render };
