// The "Check this map" panel: asks Python to run the sanity checks on the map shown (model
// randomisation, class sensitivity, deletion and insertion), shows their progress with a way to
// cancel, then a badge a check and two small charts: the randomisation cascade and the
// deletion/insertion curves. Python sends check_progress (-1 when no check runs),
// check_status (a sentence) and check_result ({} when there is none for what is shown).
import {
  badgeLabel,
  badgeText,
  badgesOf,
  cascadeDescription,
  cascadeLegend,
  cascadePointTitle,
  cascadeScaleKind,
  cascadeTotal,
  checkRunning,
  curvesDescription,
  curvesLegend,
  formatPercent,
  formatTick,
  hasCheckResult,
  linearScale,
  logScale,
  logTicks,
  niceTicks,
  pointsAttribute,
  probabilityDomain,
  progressValue,
  screenRuns,
  similarityDomain,
  subjectText,
  ticksWithEnds,
  truncateText,
} from "./charts.js";
import { h } from "./dom.js";
import { bytesFromDataView } from "./logic.js";

const SVG_NS = "http://www.w3.org/2000/svg";
const CHART_WIDTH = 240;
const CHART_HEIGHT = 140;
// The plot area of a chart: room on the left for the y ticks, above for the y axis's caption
// (written across, as a long caption does not fit along a 90 px axis), below for the x ticks
// and the x axis's caption.
const PLOT = { left: 30, right: 232, top: 18, bottom: 110 };
const TICK_GAP = 22; // fewest pixels between an x axis's end labels and an inner tick's
const Y_TICK_GAP = 14;
const CLASS_CHARS = 22; // longest class name shown in the curves' y caption
const MARKER_RADIUS = 2.5;

// An SVG element: every attribute set as such (SVG has few writable DOM properties).
function svgElement(tag, attributes = {}, children = []) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  node.append(...children);
  return node;
}

function mapShown(model) {
  return bytesFromDataView(model.get("map_values")).length > 0;
}

// A line chart of `series` ({name, xs, ys, titles?}: titles puts a marker with a tooltip on every
// point) in a CHART_WIDTH x CHART_HEIGHT SVG with axes, ticks, captions and a dashed line at 0.
function lineChart({ className, description, x, y, series }) {
  const tick = (x1, y1, x2, y2, name) => svgElement("line", { class: name, x1, y1, x2, y2 });
  const text = (content, attributes) => svgElement("text", attributes, [content]);
  const parts = [];

  for (const value of y.ticks) {
    const at = y.scale(value);
    parts.push(tick(PLOT.left, at, PLOT.right, at, "fw-chart-grid"));
    const label = { class: "fw-chart-tick", x: PLOT.left - 4, y: at + 3, "text-anchor": "end" };
    parts.push(text(formatTick(value, value), label));
  }
  const [low, high] = y.domain;
  if (low <= 0 && high >= 0) {
    const zero = y.scale(0);
    const line = tick(PLOT.left, zero, PLOT.right, zero, "fw-chart-zero");
    line.setAttribute("stroke-dasharray", "3 3");
    parts.push(line);
  }
  parts.push(tick(PLOT.left, PLOT.top, PLOT.left, PLOT.bottom, "fw-chart-axis"));
  parts.push(tick(PLOT.left, PLOT.bottom, PLOT.right, PLOT.bottom, "fw-chart-axis"));
  for (const value of x.ticks) {
    const at = x.scale(value);
    parts.push(tick(at, PLOT.bottom, at, PLOT.bottom + 3, "fw-chart-axis"));
    const label = { class: "fw-chart-tick", x: at, y: PLOT.bottom + 12, "text-anchor": "middle" };
    parts.push(text(x.format(value), label));
  }
  parts.push(text(y.caption, { class: "fw-chart-caption fw-chart-y-caption", x: 2, y: 10 }));
  parts.push(
    text(x.caption, {
      class: "fw-chart-caption fw-chart-x-caption",
      x: (PLOT.left + PLOT.right) / 2,
      y: CHART_HEIGHT - 4,
      "text-anchor": "middle",
    }),
  );

  for (const { name, xs, ys, titles } of series) {
    const group = svgElement("g", { class: "fw-chart-series", "data-series": name });
    for (const run of screenRuns(xs, ys, x.scale, y.scale)) {
      const points = pointsAttribute(run);
      group.append(svgElement("polyline", { class: "fw-chart-line", points, fill: "none" }));
      // A lone point draws no line: mark it, unless every point is marked anyway.
      if (run.length === 1 && !titles) {
        const [cx, cy] = run[0];
        group.append(svgElement("circle", { class: "fw-chart-marker", cx, cy, r: MARKER_RADIUS }));
      }
    }
    if (titles) {
      xs.forEach((value, i) => {
        const [cx, cy] = [x.scale(value), y.scale(ys[i])];
        if (!Number.isFinite(cx) || !Number.isFinite(cy)) return;
        const title = svgElement("title", {}, [titles[i]]);
        const marker = { class: "fw-chart-marker", cx, cy, r: MARKER_RADIUS };
        group.append(svgElement("circle", marker, [title]));
      });
    }
    parts.push(group);
  }

  return svgElement(
    "svg",
    {
      class: className,
      role: "img",
      "aria-label": description,
      viewBox: `0 0 ${CHART_WIDTH} ${CHART_HEIGHT}`,
      width: CHART_WIDTH,
      height: CHART_HEIGHT,
    },
    parts,
  );
}

function chartLegend(items) {
  return h(
    "div",
    { className: "fw-chart-legend" },
    items.map(({ series, text }) =>
      h("span", { className: "fw-legend-item", "data-series": series }, [
        h("span", { className: "fw-legend-swatch", "aria-hidden": "true" }),
        text,
      ]),
    ),
  );
}

// A chart and its legend; a chart that cannot be drawn (malformed data) says so instead of
// breaking the panel.
function chartFigure(draw, items) {
  let parts;
  try {
    parts = [draw(), chartLegend(items)];
  } catch (error) {
    const message = `Could not draw this chart: ${error.message}`;
    parts = [h("div", { className: "fw-note fw-chart-error", textContent: message })];
  }
  return h("figure", { className: "fw-check-figure" }, parts);
}

function cascadeChart(result) {
  const cascade = result.cascade;
  const xs = cascade.randomized ?? [];
  const total = cascadeTotal(cascade);
  const range = [PLOT.left, PLOT.right];
  const log = cascadeScaleKind(xs, total) === "log";
  const xScale = log ? logScale([1, total], range) : linearScale([1, total], range);
  const inner = log ? logTicks(1, total) : niceTicks(1, total, 3, { integer: true });
  const domain = similarityDomain(cascade.spearman, cascade.ssim);
  const yScale = linearScale(domain, [PLOT.bottom, PLOT.top]);
  const series = ["spearman", "ssim"].map((name) => ({
    name,
    xs,
    ys: cascade[name] ?? [],
    titles: xs.map((_, i) => cascadePointTitle(cascade, i, name)),
  }));
  return lineChart({
    className: "fw-cascade-chart",
    description: cascadeDescription(result),
    x: {
      scale: xScale,
      ticks: ticksWithEnds(inner, 1, total, xScale, TICK_GAP),
      format: (value) => formatTick(value, 1),
      caption: "layers re-initialised, from the output",
    },
    y: {
      scale: yScale,
      domain,
      ticks: ticksWithEnds(niceTicks(...domain, 2), ...domain, yScale, Y_TICK_GAP),
      caption: "similarity to the original map",
    },
    series,
  });
}

function curvesChart(result) {
  const curves = result.curves;
  const xs = curves.fractions ?? [];
  const xScale = linearScale([0, 1], [PLOT.left, PLOT.right]);
  const domain = probabilityDomain(curves.deletion, curves.insertion);
  const yScale = linearScale(domain, [PLOT.bottom, PLOT.top]);
  const label = result.label ? truncateText(result.label, CLASS_CHARS) : "the class";
  return lineChart({
    className: "fw-curves-chart",
    description: curvesDescription(result),
    x: {
      scale: xScale,
      ticks: [0, 0.5, 1],
      format: formatPercent,
      caption: "pixels deleted or inserted, most salient first",
    },
    y: {
      scale: yScale,
      domain,
      ticks: ticksWithEnds(niceTicks(...domain, 2), ...domain, yScale, Y_TICK_GAP),
      caption: `probability of ${label}`,
    },
    series: ["deletion", "insertion"].map((name) => ({ name, xs, ys: curves[name] ?? [] })),
  });
}

export function checkPanel({ model, listen, signal }) {
  const button = (className, textContent) => h("button", { type: "button", className, textContent });
  const run = button("fw-check-run", "Check this map");
  const cancel = button("fw-check-cancel", "Cancel");
  cancel.hidden = true;
  const progress = h("progress", { className: "fw-check-progress", max: 1, hidden: true });
  const status = h("span", { className: "fw-check-status", "aria-live": "polite" });
  progress.setAttribute("aria-label", "Check progress");
  const result = h("div", { className: "fw-check-result", hidden: true });
  const element = h("div", { className: "fw-check" }, [
    h("div", { className: "fw-toolbar fw-check-controls" }, [run, cancel, progress, status]),
    result,
  ]);

  function running() {
    return checkRunning(model.get("check_progress"));
  }

  function showControls() {
    const busy = running();
    const map = mapShown(model);
    element.dataset.running = String(busy);
    run.disabled = busy || !map;
    run.title = busy
      ? "A check is running"
      : map
        ? "Run the sanity checks on the map shown: model randomisation, class sensitivity, " +
          "deletion and insertion"
        : "Nothing to check yet: no map is shown";
    cancel.hidden = !busy;
    progress.hidden = !busy;
    if (busy) progress.value = progressValue(model.get("check_progress"));
  }

  function showStatus() {
    status.textContent = model.get("check_status") ?? "";
  }

  function showResult() {
    const shown = model.get("check_result");
    if (!hasCheckResult(shown)) {
      result.hidden = true;
      result.replaceChildren();
      return;
    }
    const badges = badgesOf(shown).map((badge) =>
      h("li", {
        className: "fw-badge",
        textContent: badgeText(badge),
        title: badge.detail,
        "data-check": badge.name,
        "data-passed": String(badge.passed),
        "aria-label": badgeLabel(badge),
      }),
    );
    const charts = [];
    if (shown.cascade && typeof shown.cascade === "object") {
      charts.push(chartFigure(() => cascadeChart(shown), cascadeLegend()));
    }
    if (shown.curves && typeof shown.curves === "object") {
      charts.push(chartFigure(() => curvesChart(shown), curvesLegend(shown.curves)));
    }
    result.replaceChildren(
      h("div", { className: "fw-check-subject", textContent: `Checked: ${subjectText(shown)}` }),
      ...(badges.length ? [h("ul", { className: "fw-badges", role: "list" }, badges)] : []),
      ...(charts.length ? [h("div", { className: "fw-check-charts" }, charts)] : []),
    );
    result.hidden = false;
  }

  // Buttons send custom messages, not traits: a check is an action, not a state to sync.
  run.addEventListener(
    "click",
    () => {
      if (running() || !mapShown(model)) return;
      model.send({ type: "check" });
    },
    { signal },
  );
  cancel.addEventListener(
    "click",
    () => {
      if (running()) model.send({ type: "cancel_check" });
    },
    { signal },
  );
  listen("check_progress", showControls);
  listen("map_values", showControls);
  listen("check_status", showStatus);
  listen("check_result", showResult);
  showControls();
  showStatus();
  showResult();
  return element;
}
