// Pure helpers of the "Check this map" panel's charts and badges: scales, domains, ticks, SVG
// points, number formats and texts. No DOM, so that Node's test runner can check them.
// js/build.py inlines this file into flashwidget/static/widget.js; keep one export per line.
//
// Missing values: a value that is not a finite number (NaN, ±Infinity, null as JSON sends NaN,
// undefined, a string) is never drawn and never counted in a domain. A line is broken there
// (screenRuns), and a format shows it as MISSING.

export const MISSING = "n/a";

// The randomisation cascade's series, as the legend and the tooltips name them.
const SERIES_NAMES = { spearman: "Spearman ρ", ssim: "SSIM" };

// The ratio past which a nice step goes to the next of 1, 2, 5, 10 (as d3 does).
const NICE_STEPS = [
  [Math.sqrt(50), 10],
  [Math.sqrt(10), 5],
  [Math.sqrt(2), 2],
];

export function isFiniteNumber(value) {
  return typeof value === "number" && Number.isFinite(value);
}

// The finite numbers of any number of series (arrays, or null/undefined for none).
function finiteValuesOf(series) {
  const values = [];
  for (const list of series) {
    if (list == null) continue;
    if (!Array.isArray(list)) throw new TypeError(`a series is an array, got ${typeof list}`);
    for (const value of list) if (isFiniteNumber(value)) values.push(value);
  }
  return values;
}

function requireFinitePair(pair, what) {
  if (!Array.isArray(pair) || pair.length !== 2 || !pair.every(isFiniteNumber)) {
    throw new RangeError(`a ${what} is two finite numbers, got ${JSON.stringify(pair)}`);
  }
}

// Remove the float noise of k * step (0.30000000000000004 -> 0.3).
function withoutFloatNoise(value) {
  return Number(value.toPrecision(12));
}

// value -> position, mapping domain [d0, d1] linearly onto range [r0, r1] (either may be
// reversed, as a y axis is). A domain of one value maps everything to the middle of the range.
// Non-finite input gives NaN.
export function linearScale(domain, range) {
  requireFinitePair(domain, "domain");
  requireFinitePair(range, "range");
  const [d0, d1] = domain;
  const [r0, r1] = range;
  if (d0 === d1) return (value) => (isFiniteNumber(value) ? (r0 + r1) / 2 : NaN);
  return (value) => (isFiniteNumber(value) ? r0 + ((value - d0) / (d1 - d0)) * (r1 - r0) : NaN);
}

// As linearScale on log10 of the value; the domain must be positive, a value <= 0 gives NaN.
export function logScale(domain, range) {
  requireFinitePair(domain, "domain");
  if (!(domain[0] > 0 && domain[1] > 0)) {
    throw new RangeError(`a log scale's domain is positive, got ${JSON.stringify(domain)}`);
  }
  const linear = linearScale([Math.log10(domain[0]), Math.log10(domain[1])], range);
  return (value) => (isFiniteNumber(value) && value > 0 ? linear(Math.log10(value)) : NaN);
}

// The randomisation cascade's x scale: "log" when the steps crowd near the output (the median
// number of layers re-initialised is at most a quarter of a total of 20 or more), so that the
// first steps, where a sound map changes most, do not collapse into the axis; else "linear".
export function cascadeScaleKind(randomized, total) {
  const xs = finiteValuesOf([randomized]).sort((a, b) => a - b);
  if (!(total >= 20) || xs.length === 0 || xs[0] < 1) return "linear";
  const middle = xs.length >> 1;
  const median = xs.length % 2 ? xs[middle] : (xs[middle - 1] + xs[middle]) / 2;
  return median <= total / 4 ? "log" : "linear";
}

// The step between ticks: 1, 2 or 5 times a power of ten, near span / count.
export function niceStep(span, count) {
  if (!isFiniteNumber(span) || span <= 0) throw new RangeError(`a span is positive, got ${span}`);
  const raw = span / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const ratio = raw / power;
  const [, factor] = NICE_STEPS.find(([past]) => ratio >= past) ?? [0, 1];
  return withoutFloatNoise(power * factor);
}

// The smallest of 1, 2, 2.5, 5 times a power of ten that is >= value (value > 0).
export function niceCeil(value) {
  if (!isFiniteNumber(value) || value <= 0) throw new RangeError(`expected > 0, got ${value}`);
  const power = 10 ** Math.floor(Math.log10(value));
  const factor = [1, 2, 2.5, 5, 10].find((f) => withoutFloatNoise(f * power) >= value);
  return withoutFloatNoise(factor * power);
}

// Tick values: the multiples of a nice step (about `count` of them) within [lo, hi], in order.
// `integer` keeps the step a whole number (a count of layers). lo === hi gives [lo].
export function niceTicks(lo, hi, count, { integer = false } = {}) {
  requireFinitePair([lo, hi], "tick range");
  if (lo > hi) throw new RangeError(`ticks need lo <= hi, got ${lo} and ${hi}`);
  if (lo === hi) return [lo];
  const step = integer ? Math.max(1, Math.round(niceStep(hi - lo, count))) : niceStep(hi - lo, count);
  const slack = step * 1e-9;
  const first = Math.ceil((lo - slack) / step);
  const last = Math.floor((hi + slack) / step);
  const values = [];
  for (let k = first; k <= last; k++) values.push(withoutFloatNoise(k * step));
  return values;
}

// Powers of ten within [lo, hi] (lo > 0), for a log axis.
export function logTicks(lo, hi) {
  requireFinitePair([lo, hi], "tick range");
  if (!(lo > 0) || lo > hi) throw new RangeError(`log ticks need 0 < lo <= hi, got ${lo}, ${hi}`);
  const values = [];
  for (let p = Math.ceil(Math.log10(lo) - 1e-9); p <= Math.floor(Math.log10(hi) + 1e-9); p++) {
    values.push(withoutFloatNoise(10 ** p));
  }
  return values;
}

// The ends of an axis as ticks, plus the inner ticks at least `gap` pixels (through `scale`)
// from both ends, so that "1" and "130" are labelled without crowding "100".
export function ticksWithEnds(values, lo, hi, scale, gap) {
  if (lo === hi) return [lo];
  const far = (a, b) => Math.abs(scale(a) - scale(b)) >= gap;
  const inner = values.filter((v) => v > lo && v < hi && far(v, lo) && far(v, hi));
  return [lo, ...inner, hi];
}

// The y domain of similarity curves (Spearman, SSIM): always 0 to 1, widened to any value
// outside (a negative correlation), in quarters.
export function similarityDomain(...series) {
  const values = finiteValuesOf(series);
  const lo = Math.min(0, ...values);
  const hi = Math.max(1, ...values);
  return [withoutFloatNoise(Math.floor(lo * 4) / 4), withoutFloatNoise(Math.ceil(hi * 4) / 4)];
}

// The y domain of probability curves: from 0 (or below, for a negative value) to the nice
// ceiling of the largest value, so that a class of probability 0.2 does not hug the axis;
// [0, 1] when there is nothing above 0.
export function probabilityDomain(...series) {
  const values = finiteValuesOf(series);
  const lo = Math.min(0, ...values);
  const hi = Math.max(0, ...values);
  return [lo < 0 ? -niceCeil(-lo) : 0, hi > 0 ? niceCeil(hi) : 1];
}

// Runs of screen points [x, y] of the series (xs[i], ys[i]) through the scales: a point whose
// value or position is not finite is dropped and breaks the line there. Null or undefined
// series are empty; series of different lengths are refused.
export function screenRuns(xs, ys, xScale, yScale) {
  const [x, y] = [xs ?? [], ys ?? []];
  if (!Array.isArray(x) || !Array.isArray(y)) throw new TypeError("xs and ys are arrays");
  if (x.length !== y.length) {
    throw new RangeError(`xs and ys differ in length: ${x.length} and ${y.length}`);
  }
  const runs = [];
  let run = [];
  for (let i = 0; i < x.length; i++) {
    const point = [xScale(x[i]), yScale(y[i])];
    if (isFiniteNumber(x[i]) && isFiniteNumber(y[i]) && point.every(isFiniteNumber)) {
      run.push(point);
    } else if (run.length) {
      runs.push(run);
      run = [];
    }
  }
  if (run.length) runs.push(run);
  return runs;
}

// A run as an SVG polyline's `points`: "x,y x,y", to 0.01 of a pixel.
export function pointsAttribute(run) {
  const round = (v) => String(Math.round(v * 100) / 100 || 0);
  return run.map(([x, y]) => `${round(x)},${round(y)}`).join(" ");
}

// `value` with `decimals` decimals, never "-0.00"; MISSING when it is not a finite number.
export function formatNumber(value, decimals) {
  if (!isFiniteNumber(value)) return MISSING;
  const text = value.toFixed(decimals);
  return Number(text) === 0 ? (0).toFixed(decimals) : text;
}

export function formatAuc(value) {
  return formatNumber(value, 3);
}

export function formatCorrelation(value) {
  return formatNumber(value, 2);
}

// A tick label with as many decimals as its step needs (0.25 -> 2, 0.5 -> 1, 10 -> 0).
export function formatTick(value, step) {
  let decimals = 0;
  while (decimals < 6 && Math.abs(step * 10 ** decimals - Math.round(step * 10 ** decimals)) > 1e-9) {
    decimals += 1;
  }
  return formatNumber(value, decimals);
}

export function formatPercent(fraction) {
  return isFiniteNumber(fraction) ? `${Math.round(fraction * 100) || 0}%` : MISSING;
}

// `text` cut to at most `max` characters, ending in "…" when cut.
export function truncateText(text, max) {
  const value = String(text ?? "");
  return value.length <= max ? value : `${value.slice(0, Math.max(0, max - 1))}…`;
}

// Whether a check is running, from check_progress (a fraction, -1 when none is).
export function checkRunning(progress) {
  return isFiniteNumber(progress) && progress >= 0;
}

// check_progress as a <progress> value: within [0, 1], 0 when not a number.
export function progressValue(progress) {
  return isFiniteNumber(progress) ? Math.min(1, Math.max(0, progress)) : 0;
}

function isPlainObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

// Whether check_result holds a result to show ({} when there is none for what is shown).
export function hasCheckResult(result) {
  if (!isPlainObject(result)) return false;
  return (
    (Array.isArray(result.badges) && result.badges.some(isPlainObject)) ||
    isPlainObject(result.cascade) ||
    isPlainObject(result.curves)
  );
}

// The badges of a result that can be shown, each with a name, title and passed (boolean).
export function badgesOf(result) {
  if (!isPlainObject(result) || !Array.isArray(result.badges)) return [];
  return result.badges.filter(isPlainObject).map((badge) => ({
    name: String(badge.name ?? ""),
    title: String(badge.title || badge.name || "Check"),
    passed: badge.passed === true,
    summary: String(badge.summary ?? ""),
    detail: String(badge.detail ?? ""),
  }));
}

// The text on a badge: "✓ Randomisation ρ 0.46" or "✗ Class ρ 0.91".
export function badgeText(badge) {
  return [badge.passed ? "✓" : "✗", badge.title, badge.summary].filter(Boolean).join(" ");
}

// What a screen reader says of a badge: "Randomisation passed: ρ 0.46. Spearman 0.46 ...".
export function badgeLabel(badge) {
  const head = `${badge.title} ${badge.passed ? "passed" : "failed"}`;
  const summary = badge.summary ? `: ${badge.summary}` : "";
  const detail = badge.detail ? ` ${badge.detail.replace(/\.?$/, ".")}` : "";
  return `${head}${summary}.${detail}`;
}

// What was checked: "Gradient map of mortarboard (class 667)".
export function subjectText(result) {
  if (!isPlainObject(result)) return "";
  const method = result.method_label || result.method || "saliency";
  const label = result.label || (isFiniteNumber(result.target) ? `class ${result.target}` : "");
  const index = isFiniteNumber(result.target) && result.label ? ` (class ${result.target})` : "";
  return label ? `${method} map of ${label}${index}` : `${method} map`;
}

export function cascadeLegend() {
  return Object.entries(SERIES_NAMES).map(([series, text]) => ({ series, text }));
}

export function curvesLegend(curves) {
  const c = isPlainObject(curves) ? curves : {};
  return [
    {
      series: "deletion",
      text: `Deletion AUC ${formatAuc(c.deletion_auc)} (random ${formatAuc(c.random_deletion_auc)})`,
    },
    {
      series: "insertion",
      text: `Insertion AUC ${formatAuc(c.insertion_auc)} (random ${formatAuc(c.random_insertion_auc)})`,
    },
  ];
}

function layersText(count) {
  return `${count} layer${count === 1 ? "" : "s"}`;
}

// The total number of layers of a cascade: its `total`, widened to its largest step, at least 1.
export function cascadeTotal(cascade) {
  if (!isPlainObject(cascade)) return 1;
  const total = isFiniteNumber(cascade.total) ? cascade.total : 1;
  return Math.max(1, total, ...finiteValuesOf([cascade.randomized]));
}

// The tooltip of step `index` of a cascade's series ("spearman" or "ssim"):
// "2 layers re-initialised (down to conv_head): SSIM 0.10". The layer is named when `layers`
// has one name a step.
export function cascadePointTitle(cascade, index, series) {
  const steps = cascade.randomized ?? [];
  const count = isFiniteNumber(steps[index]) ? layersText(steps[index]) : MISSING;
  const names = Array.isArray(cascade.layers) ? cascade.layers : [];
  const layer = names.length === steps.length && names[index] ? ` (down to ${names[index]})` : "";
  const value = formatCorrelation(cascade[series]?.[index]);
  return `${count} re-initialised${layer}: ${SERIES_NAMES[series] ?? series} ${value}`;
}

// The randomisation chart's summary for screen readers (its aria-label).
export function cascadeDescription(result) {
  const cascade = isPlainObject(result) && isPlainObject(result.cascade) ? result.cascade : {};
  const subject = subjectText(result);
  const head =
    `Randomisation cascade${subject ? ` of the ${subject}` : ""}: similarity to the original ` +
    `map as more of the model's ${layersText(cascadeTotal(cascade))} are re-initialised, from ` +
    `the output down.`;
  const steps = Array.isArray(cascade.randomized) ? cascade.randomized : [];
  const at = (i) => {
    const count = isFiniteNumber(steps[i]) ? layersText(steps[i]) : MISSING;
    const spearman = formatCorrelation(cascade.spearman?.[i]);
    const ssim = formatCorrelation(cascade.ssim?.[i]);
    return `${count} re-initialised: Spearman ${spearman}, SSIM ${ssim}`;
  };
  if (steps.length === 0) return `${head} No steps to show.`;
  if (steps.length === 1) return `${head} ${at(0)}.`;
  return `${head} ${steps.length} steps; ${at(0)}; ${at(steps.length - 1)}.`;
}

// The deletion and insertion chart's summary for screen readers (its aria-label).
export function curvesDescription(result) {
  const curves = isPlainObject(result) && isPlainObject(result.curves) ? result.curves : {};
  const label = isPlainObject(result) && result.label ? result.label : "the class";
  const subject = subjectText(result);
  return (
    `Deletion and insertion${subject ? ` for the ${subject}` : ""}: the probability of ` +
    `${label} as the most salient pixels are deleted or inserted first. ` +
    `Deletion AUC ${formatAuc(curves.deletion_auc)}, random order ` +
    `${formatAuc(curves.random_deletion_auc)} (lower is better). ` +
    `Insertion AUC ${formatAuc(curves.insertion_auc)}, random order ` +
    `${formatAuc(curves.random_insertion_auc)} (higher is better).`
  );
}
