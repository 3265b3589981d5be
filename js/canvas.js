// Drawing RGBA arrays onto canvases at the screen's resolution.
import { h } from "./dom.js";

const scratch = typeof document === "undefined" ? null : document.createElement("canvas");

// Draw `rgba` (width x height) into `canvas`, its longer side `side` CSS pixels, with a backing
// store of devicePixelRatio device pixels a CSS pixel, enlarged with crisp pixels.
export function paint(canvas, rgba, width, height, side) {
  const scale = side / Math.max(width, height);
  const ratio = window.devicePixelRatio || 1;
  const cssWidth = Math.round(width * scale);
  canvas.style.width = `${cssWidth}px`;
  canvas.width = Math.max(1, Math.round(cssWidth * ratio));
  canvas.height = Math.max(1, Math.round(height * scale * ratio));
  const context = canvas.getContext("2d");
  context.clearRect(0, 0, canvas.width, canvas.height);
  if (!rgba) return;
  scratch.width = width;
  scratch.height = height;
  scratch.getContext("2d").putImageData(new ImageData(rgba, width, height), 0, 0);
  context.imageSmoothingEnabled = canvas.width < width; // enlarge with crisp pixels
  context.drawImage(scratch, 0, 0, canvas.width, canvas.height);
}

// A canvas with a caption under it.
export function figure(className = "") {
  const canvas = h("canvas", className ? { className } : {});
  const caption = h("figcaption");
  return { canvas, caption, element: h("figure", {}, [canvas, caption]) };
}
