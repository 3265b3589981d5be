// The kernel side of the Gallery's view on a standalone page (`flashwidget report`,
// Gallery.to_html): it answers the view as flashwidget.Gallery does, from what
// flashwidget/gallery_page.py embedded. A "thumbnails" message is answered by a message holding
// exactly the payload GalleryIndex.thumbnail_payload makes for those positions; a colormap
// change by that colormap's table; the filters, sorting, paging and alpha are the view's own
// work, which the kernel only hears. Opening an image for exploration needs a model, which a
// page has not. Pure, for Node's test runner.
//
// `tables` is {thumbnails, luts, writable, status}. `thumbnails`: for each image on the page,
// what thumbnail_payload([its position]) returns: {item, buffers}, its one item and its files'
// bytes (the JPEG and the map's PNG, which the item's `image` and `map.buffer` index; none for
// a failed image). `luts`: each colormap's lut_bytes. `writable`: the traits the view may set
// (Gallery.writable). `status`: the status line, which a refusal's notice replaces for a while.

// flashwidget/widget_base.py's REFUSED: how the kernel's refusals start the status line.
export const REFUSED = "Refused a change from the browser: ";
const OPEN = "Opening an image for exploration needs flashwidget.Gallery in a notebook";

// The payload of a request for `positions`, as thumbnail_payload(positions) makes it: the items
// in the order asked, each pointing into the buffers of all of them, one image after another.
// `entries` maps a position to its {item, buffers}; a position it lacks, or positions that are
// not a list, are refused (RangeError).
export function thumbnailPayload(entries, positions) {
  if (!Array.isArray(positions)) throw new RangeError("thumbnails are asked for as a list of positions");
  const items = [];
  const buffers = [];
  for (const position of positions) {
    const entry = entries.get(position);
    if (!entry) {
      throw new RangeError(
        `no image at position ${JSON.stringify(position)} on this page, which holds ` +
          `${entries.size} images`,
      );
    }
    const { item, buffers: files } = entry;
    const at = (index) => index + buffers.length;
    items.push({
      ...item,
      image: item.image === null ? null : at(item.image),
      map: item.map === null ? null : { ...item.map, buffer: at(item.map.buffer) },
    });
    buffers.push(...files);
  }
  return { content: { type: "thumbnails", items }, buffers };
}

export function galleryResponder({ thumbnails, luts, writable, status }) {
  const entries = new Map(thumbnails.map((entry) => [entry.item.position, entry]));
  const settable = new Set(writable);

  // As Gallery.set_state: a change with a trait only Python sets, or a value it cannot take, is
  // refused whole (the old values go back, the status says why); a change answered ends the
  // notice of an earlier refusal.
  function answerChanges(changes, kernel) {
    const names = Object.keys(changes);
    const refuse = (reason) => ({
      ...Object.fromEntries(names.map((name) => [name, kernel[name]])),
      status: REFUSED + reason,
    });
    const readOnly = names.filter((name) => !settable.has(name)).sort();
    if (readOnly.length) return refuse(`${readOnly.join(", ")} can only be set by Python`);
    const answer = kernel.status.startsWith(REFUSED) ? { status } : {};
    if ("colormap" in changes) {
      const lut = luts[changes.colormap];
      if (!lut) return refuse(`the colormap ${changes.colormap} is not on this page`);
      answer.lut_bytes = lut;
    }
    return answer;
  }

  function answerMessage(message, reply) {
    if (message?.type === "thumbnails") {
      try {
        const { content, buffers } = thumbnailPayload(entries, message.positions);
        reply(content, buffers);
      } catch (error) {
        if (!(error instanceof RangeError)) throw error;
        return { status: REFUSED + error.message };
      }
      return null;
    }
    if (message?.type === "open") return { error: `${OPEN}; this page holds thumbnails only.` };
    return null; // as the kernel: a message it has no use for is dropped
  }

  return (request, kernel, reply) =>
    "message" in request ? answerMessage(request.message, reply) : answerChanges(request.changes, kernel);
}
