// The flashwidget view (anywidget's render): a toolbar per concern, the stage, the status, and
// the "Check this map" panel under them.
// Python sends the image once, each map as signed float32 values and the colormap as a
// 256-colour table; the sign, clip, colouring, blending with alpha, the panels, compare mode
// and the PNG download all happen here, so those controls never wait for the kernel.
import { checkPanel } from "./check.js";
import { classMenu } from "./class_menu.js";
import { compareControls } from "./compare.js";
import { h, viewContext } from "./dom.js";
import { lookControls } from "./look.js";
import { methodMenu } from "./method_menu.js";
import { stage } from "./stage.js";
import { statusLine } from "./status.js";
import { timeline } from "./timeline.js";

export function render({ model, el }) {
  const context = viewContext(model);
  // What the stage draws with now: set by the look controls at once, by Python when it says.
  const look = {
    alpha: model.get("alpha"),
    sign: model.get("sign"),
    clip: model.get("clip_percentile"),
  };

  const pictures = stage(context, look);
  // A look change redraws at once (the slider must follow the hand); others wait for a frame.
  const redraw = (now = false) => (now ? pictures.draw() : pictures.schedule());
  const looks = lookControls(context, look, redraw, pictures.download);
  const steps = timeline(context);
  const status = statusLine(context);

  const root = h("div", { className: "flashwidget" }, [
    classMenu(context),
    methodMenu(context),
    looks.element,
    compareControls(context),
    steps.element,
    status.error,
    pictures.element,
    status.line,
    checkPanel(context),
  ]);
  el.append(root);
  model.send({ type: "view", shown: true }); // Python skips training updates nobody sees

  return () => {
    context.close();
    looks.cancel();
    steps.cancel();
    pictures.cancel();
    root.remove();
    model.send({ type: "view", shown: false });
  };
}

export default { render };
