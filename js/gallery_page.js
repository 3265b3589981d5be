// The batch result's page (`flashwidget report`, Gallery.to_html): the notebook's gallery view
// (js/gallery_view.js's render, unchanged) on the stand-in for the kernel of js/static_model.js,
// answered by js/gallery_responder.js from the thumbnails and colormaps the page embeds. Runs
// when the page loads.
import { galleryResponder } from "./gallery_responder.js";
import { render } from "./gallery_view.js";
import { startPage } from "./static_model.js";

// The stand-in model; js/build.py wants an entry's one export (nothing imports a page's).
export default startPage(render, galleryResponder);
