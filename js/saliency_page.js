// SaliencyWidget.to_html's page: the notebook's view (js/view.js's render, unchanged) on the
// stand-in for the kernel of js/static_model.js, answered by js/saliency_responder.js from the
// maps the page embeds. Runs when the page loads.
import { saliencyResponder } from "./saliency_responder.js";
import { startPage } from "./static_model.js";
import { render } from "./view.js";

// The stand-in model; js/build.py wants an entry's one export (nothing imports a page's).
export default startPage(render, saliencyResponder);
