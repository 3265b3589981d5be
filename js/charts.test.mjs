// Tests of the check panel's pure chart helpers: `node --test js/` (Node's runner, no packages).
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  MISSING,
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
  formatAuc,
  formatCorrelation,
  formatNumber,
  formatPercent,
  formatTick,
  hasCheckResult,
  isFiniteNumber,
  linearScale,
  logScale,
  logTicks,
  niceCeil,
  niceStep,
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

const identity = (v) => v;

// A result as Python sends it (check_result), small.
const RESULT = {
  target: 667,
  label: "mortarboard",
  method: "gradient",
  method_label: "Gradient",
  badges: [
    {
      name: "randomization",
      title: "Randomisation",
      passed: true,
      summary: "ρ 0.46",
      detail: "Spearman 0.46 between the map and the classifier-randomised map; passes below 0.5",
    },
    { name: "class", title: "Class", passed: false, summary: "ρ 0.91", detail: "Too alike." },
  ],
  cascade: {
    layers: ["classifier", "conv_head", "blocks.6"],
    randomized: [1, 2, 5],
    total: 130,
    spearman: [0.46, 0.2, -0.05],
    ssim: [0.3, 0.1, 0.02],
  },
  curves: {
    fractions: [0, 0.5, 1],
    deletion: [0.3, 0.02, 0.01],
    insertion: [0.01, 0.1, 0.3],
    deletion_auc: 0.05,
    insertion_auc: 0.0704,
    random_deletion_auc: 0.06,
    random_insertion_auc: 0.045,
  },
};

describe("isFiniteNumber", () => {
  it("accepts finite numbers only", () => {
    assert.deepEqual(
      [0, -1.5, NaN, Infinity, -Infinity, null, undefined, "1", [1]].map(isFiniteNumber),
      [true, true, false, false, false, false, false, false, false],
    );
  });
});

describe("linearScale", () => {
  it("maps the domain onto the range, reversed ranges included", () => {
    const x = linearScale([0, 10], [20, 220]);
    assert.deepEqual([x(0), x(5), x(10), x(-5), x(15)], [20, 120, 220, -80, 320]);
    const y = linearScale([0, 1], [100, 10]);
    assert.deepEqual([y(0), y(1), y(0.5)], [100, 10, 55]);
  });

  it("maps a one-value domain to the middle of the range", () => {
    const x = linearScale([3, 3], [0, 100]);
    assert.deepEqual([x(3), x(7)], [50, 50]);
  });

  it("gives NaN for a value that is not a finite number", () => {
    const x = linearScale([0, 1], [0, 10]);
    for (const value of [NaN, null, undefined, Infinity, "0.5"]) assert.ok(Number.isNaN(x(value)));
    assert.ok(Number.isNaN(linearScale([3, 3], [0, 1])(NaN)));
  });

  it("refuses a domain or range that is not two finite numbers", () => {
    assert.throws(() => linearScale([0, NaN], [0, 1]), RangeError);
    assert.throws(() => linearScale([0, 1], [0]), RangeError);
    assert.throws(() => linearScale(null, [0, 1]), RangeError);
    assert.throws(() => linearScale([0, 1], [0, Infinity]), RangeError);
  });
});

describe("logScale", () => {
  it("is linear in log10", () => {
    const x = logScale([1, 100], [0, 200]);
    assert.deepEqual([x(1), x(10), x(100)], [0, 100, 200]);
  });

  it("gives NaN at or below 0 and refuses a domain that is not positive", () => {
    const x = logScale([1, 100], [0, 200]);
    assert.ok(Number.isNaN(x(0)));
    assert.ok(Number.isNaN(x(-1)));
    assert.ok(Number.isNaN(x(NaN)));
    assert.throws(() => logScale([0, 10], [0, 1]), RangeError);
    assert.throws(() => logScale([-1, 10], [0, 1]), RangeError);
  });

  it("maps a one-value domain to the middle", () => {
    assert.equal(logScale([5, 5], [0, 10])(5), 5);
  });
});

describe("cascadeScaleKind", () => {
  it("is log when the steps crowd near the output of a deep model", () => {
    assert.equal(cascadeScaleKind([1, 2, 3, 5, 8, 13, 130], 130), "log");
    assert.equal(cascadeScaleKind([1, 2, 3, 4, 5, 6], 130), "log");
  });

  it("is linear for spread steps, shallow models, nothing or bad values", () => {
    assert.equal(cascadeScaleKind([10, 40, 70, 100, 130], 130), "linear");
    assert.equal(cascadeScaleKind([1, 2, 3], 12), "linear");
    assert.equal(cascadeScaleKind([], 130), "linear");
    assert.equal(cascadeScaleKind(null, 130), "linear");
    assert.equal(cascadeScaleKind([0, 1, 2], 130), "linear", "0 has no log");
    assert.equal(cascadeScaleKind([1, 2], NaN), "linear");
  });

  it("ignores values that are not numbers", () => {
    assert.equal(cascadeScaleKind([1, null, NaN, 2, 3], 130), "log");
  });
});

describe("niceStep and niceCeil", () => {
  it("picks 1, 2 or 5 times a power of ten", () => {
    assert.equal(niceStep(1, 2), 0.5);
    assert.equal(niceStep(1, 4), 0.2);
    assert.equal(niceStep(129, 3), 50);
    assert.equal(niceStep(0.25, 2), 0.1);
    assert.equal(niceStep(10, 10), 1);
    assert.equal(niceStep(2, 1), 2);
  });

  it("refuses a span that is not positive", () => {
    for (const span of [0, -1, NaN, Infinity]) assert.throws(() => niceStep(span, 3), RangeError);
  });

  it("rounds up to 1, 2, 2.5 or 5 times a power of ten", () => {
    assert.deepEqual(
      [0.3, 0.07, 0.8, 0.21, 1, 0.25, 0.0123, 3].map(niceCeil),
      [0.5, 0.1, 1, 0.25, 1, 0.25, 0.02, 5],
    );
    assert.throws(() => niceCeil(0), RangeError);
    assert.throws(() => niceCeil(NaN), RangeError);
  });
});

describe("niceTicks", () => {
  it("gives the multiples of a nice step within the range, without float noise", () => {
    assert.deepEqual(niceTicks(0, 1, 2), [0, 0.5, 1]);
    assert.deepEqual(niceTicks(0, 1, 5), [0, 0.2, 0.4, 0.6, 0.8, 1]);
    assert.deepEqual(niceTicks(-1, 1, 2), [-1, 0, 1]);
    assert.deepEqual(niceTicks(-0.25, 1, 2), [0, 0.5, 1]);
    assert.deepEqual(niceTicks(0, 0.3, 3), [0, 0.1, 0.2, 0.3]);
  });

  it("keeps integer steps for counts", () => {
    assert.deepEqual(niceTicks(1, 130, 3, { integer: true }), [50, 100]);
    assert.deepEqual(niceTicks(1, 3, 5, { integer: true }), [1, 2, 3]);
  });

  it("gives the one value of an empty range and refuses bad ranges", () => {
    assert.deepEqual(niceTicks(2, 2, 3), [2]);
    assert.throws(() => niceTicks(1, 0, 3), RangeError);
    assert.throws(() => niceTicks(NaN, 1, 3), RangeError);
  });
});

describe("logTicks", () => {
  it("gives the powers of ten within the range", () => {
    assert.deepEqual(logTicks(1, 130), [1, 10, 100]);
    assert.deepEqual(logTicks(2, 9), []);
    assert.deepEqual(logTicks(1, 1), [1]);
    assert.deepEqual(logTicks(0.01, 1), [0.01, 0.1, 1]);
  });

  it("refuses a range that is not positive or is reversed", () => {
    assert.throws(() => logTicks(0, 10), RangeError);
    assert.throws(() => logTicks(10, 1), RangeError);
  });
});

describe("ticksWithEnds", () => {
  it("labels both ends and only the inner ticks far enough from them", () => {
    const scale = linearScale([1, 130], [0, 200]);
    assert.deepEqual(ticksWithEnds([50, 100], 1, 130, scale, 24), [1, 50, 100, 130]);
    assert.deepEqual(ticksWithEnds([50, 100, 120], 1, 130, scale, 24), [1, 50, 100, 130]);
    const log = logScale([1, 130], [0, 200]);
    assert.deepEqual(ticksWithEnds([1, 10, 100], 1, 130, log, 24), [1, 10, 130]);
  });

  it("gives one tick for one value", () => {
    assert.deepEqual(ticksWithEnds([], 1, 1, identity, 10), [1]);
  });
});

describe("similarityDomain", () => {
  it("always spans 0 to 1", () => {
    assert.deepEqual(similarityDomain([0.2, 0.5], [0.1]), [0, 1]);
    assert.deepEqual(similarityDomain(), [0, 1]);
    assert.deepEqual(similarityDomain([], null, undefined), [0, 1]);
    assert.deepEqual(similarityDomain([0.5, 0.5, 0.5]), [0, 1], "all equal");
  });

  it("widens to negative correlations, in quarters", () => {
    assert.deepEqual(similarityDomain([0.4, -0.13], [0.2]), [-0.25, 1]);
    assert.deepEqual(similarityDomain([-0.6]), [-0.75, 1]);
    assert.deepEqual(similarityDomain([-1]), [-1, 1]);
    assert.deepEqual(similarityDomain([1.1]), [0, 1.25]);
  });

  it("ignores values that are not finite numbers", () => {
    assert.deepEqual(similarityDomain([NaN, -Infinity, null, 0.5, "-3"]), [0, 1]);
  });

  it("refuses a series that is not an array", () => {
    assert.throws(() => similarityDomain(0.5), TypeError);
  });
});

describe("probabilityDomain", () => {
  it("runs from 0 to the nice ceiling of the largest value", () => {
    assert.deepEqual(probabilityDomain([0.3, 0.02], [0.01, 0.1]), [0, 0.5]);
    assert.deepEqual(probabilityDomain([0.97]), [0, 1]);
    assert.deepEqual(probabilityDomain([0.07, 0.07]), [0, 0.1], "all equal");
  });

  it("is 0 to 1 with nothing above 0", () => {
    assert.deepEqual(probabilityDomain([]), [0, 1]);
    assert.deepEqual(probabilityDomain([0, 0]), [0, 1]);
    assert.deepEqual(probabilityDomain([NaN, null]), [0, 1]);
  });

  it("includes a negative value", () => {
    assert.deepEqual(probabilityDomain([-0.03, 0.4]), [-0.05, 0.5]);
  });
});

describe("screenRuns and pointsAttribute", () => {
  const x = linearScale([0, 1], [0, 100]);
  const y = linearScale([0, 1], [50, 0]);

  it("maps every point through the scales", () => {
    const runs = screenRuns([0, 0.5, 1], [0, 1, 0.5], x, y);
    assert.deepEqual(runs, [
      [
        [0, 50],
        [50, 0],
        [100, 25],
      ],
    ]);
    assert.equal(pointsAttribute(runs[0]), "0,50 50,0 100,25");
  });

  it("keeps a single point as a run of one", () => {
    assert.deepEqual(screenRuns([0.5], [0.5], x, y), [[[50, 25]]]);
  });

  it("draws all-equal values as a flat line", () => {
    const runs = screenRuns([0, 1], [0.2, 0.2], x, y);
    assert.equal(pointsAttribute(runs[0]), "0,40 100,40");
  });

  it("breaks the line at a value that is not a finite number", () => {
    const runs = screenRuns([0, 0.25, 0.5, 0.75, 1], [0, NaN, 1, null, 0], x, y);
    assert.deepEqual(runs.map(pointsAttribute), ["0,50", "50,0", "100,50"]);
    assert.deepEqual(screenRuns([NaN, 0.5], [0.5, undefined], x, y), []);
  });

  it("breaks the line where the scale has no position (log of 0)", () => {
    const log = logScale([1, 100], [0, 100]);
    const runs = screenRuns([0, 1, 10], [0, 0, 0], log, identity);
    assert.deepEqual(runs, [
      [
        [0, 0],
        [50, 0],
      ],
    ]);
  });

  it("treats missing series as empty and refuses unequal lengths", () => {
    assert.deepEqual(screenRuns([], [], x, y), []);
    assert.deepEqual(screenRuns(null, undefined, x, y), []);
    assert.throws(() => screenRuns([0, 1], [0], x, y), RangeError);
    assert.throws(() => screenRuns("01", "01", x, y), TypeError);
  });

  it("rounds to a hundredth of a pixel, never writing -0", () => {
    assert.equal(pointsAttribute([[1 / 3, -0.0001]]), "0.33,0");
    assert.equal(pointsAttribute([[-0, 2.005]]), "0,2.01");
    assert.equal(pointsAttribute([]), "");
  });
});

describe("number formats", () => {
  it("gives AUCs three decimals and correlations two", () => {
    assert.equal(formatAuc(0.05), "0.050");
    assert.equal(formatAuc(0.0704), "0.070");
    assert.equal(formatCorrelation(0.456), "0.46");
    assert.equal(formatCorrelation(-0.05), "-0.05");
    assert.equal(formatCorrelation(1), "1.00");
  });

  it("never writes -0", () => {
    assert.equal(formatCorrelation(-0.001), "0.00");
    assert.equal(formatAuc(-0), "0.000");
    assert.equal(formatNumber(-0.4, 0), "0");
  });

  it("shows a value that is not a finite number as missing", () => {
    for (const value of [NaN, null, undefined, Infinity, "0.5"]) {
      assert.equal(formatAuc(value), MISSING);
      assert.equal(formatCorrelation(value), MISSING);
    }
  });

  it("labels ticks with the decimals their step needs", () => {
    assert.equal(formatTick(0.5, 0.5), "0.5");
    assert.equal(formatTick(1, 0.5), "1.0");
    assert.equal(formatTick(0.25, 0.25), "0.25");
    assert.equal(formatTick(100, 50), "100");
    assert.equal(formatTick(0.30000000000000004, 0.1), "0.3");
  });

  it("writes fractions as whole percentages", () => {
    assert.deepEqual([0, 0.5, 1, 0.333, -0.001].map(formatPercent), ["0%", "50%", "100%", "33%", "0%"]);
    assert.equal(formatPercent(NaN), MISSING);
  });

  it("cuts long text with an ellipsis", () => {
    assert.equal(truncateText("mortarboard", 20), "mortarboard");
    assert.equal(truncateText("mortarboard", 6), "morta…");
    assert.equal(truncateText(null, 5), "");
    assert.equal(truncateText("abc", 3), "abc");
  });
});

describe("progress", () => {
  it("runs while check_progress is a fraction, not at -1", () => {
    assert.deepEqual(
      [0, 0.5, 1, -1, NaN, null, undefined].map(checkRunning),
      [true, true, true, false, false, false, false],
    );
  });

  it("clamps the shown value to [0, 1]", () => {
    assert.deepEqual([0.25, -1, 2, NaN, null].map(progressValue), [0.25, 0, 1, 0, 0]);
  });
});

describe("hasCheckResult", () => {
  it("is false for {} and anything that is not a result", () => {
    for (const value of [{}, null, undefined, [], "x", 3, { badges: [] }, { badges: [null] }]) {
      assert.equal(hasCheckResult(value), false, JSON.stringify(value));
    }
  });

  it("is true with badges, a cascade or curves", () => {
    assert.equal(hasCheckResult(RESULT), true);
    assert.equal(hasCheckResult({ cascade: {} }), true);
    assert.equal(hasCheckResult({ curves: {} }), true);
    assert.equal(hasCheckResult({ badges: [{ name: "class" }] }), true);
  });
});

describe("badges", () => {
  it("reads the badges, with defaults for what is missing", () => {
    const badges = badgesOf({ badges: [RESULT.badges[0], null, { name: "faithfulness", passed: 1 }] });
    assert.equal(badges.length, 2);
    assert.deepEqual(badges[1], {
      name: "faithfulness",
      title: "faithfulness",
      passed: false,
      summary: "",
      detail: "",
    });
    assert.deepEqual(badgesOf({}), []);
    assert.deepEqual(badgesOf(null), []);
  });

  it("writes a tick or a cross, the title and the summary", () => {
    const [passed, failed] = badgesOf(RESULT);
    assert.equal(badgeText(passed), "✓ Randomisation ρ 0.46");
    assert.equal(badgeText(failed), "✗ Class ρ 0.91");
    assert.equal(badgeText({ ...failed, summary: "" }), "✗ Class");
  });

  it("says passed or failed and the detail to a screen reader", () => {
    const [passed, failed] = badgesOf(RESULT);
    assert.equal(
      badgeLabel(passed),
      "Randomisation passed: ρ 0.46. Spearman 0.46 between the map and the " +
        "classifier-randomised map; passes below 0.5.",
    );
    assert.equal(badgeLabel(failed), "Class failed: ρ 0.91. Too alike.");
    assert.equal(badgeLabel({ title: "Class", passed: true, summary: "", detail: "" }), "Class passed.");
  });
});

describe("texts", () => {
  it("names what was checked", () => {
    assert.equal(subjectText(RESULT), "Gradient map of mortarboard (class 667)");
    assert.equal(subjectText({ method: "gradient", target: 3 }), "gradient map of class 3");
    assert.equal(subjectText({}), "saliency map");
    assert.equal(subjectText(null), "");
  });

  it("lists the series of each chart, with each AUC and the random order's", () => {
    assert.deepEqual(
      cascadeLegend().map((item) => item.series),
      ["spearman", "ssim"],
    );
    assert.deepEqual(curvesLegend(RESULT.curves), [
      { series: "deletion", text: "Deletion AUC 0.050 (random 0.060)" },
      { series: "insertion", text: "Insertion AUC 0.070 (random 0.045)" },
    ]);
    assert.deepEqual(
      curvesLegend(null).map((item) => item.text),
      [`Deletion AUC ${MISSING} (random ${MISSING})`, `Insertion AUC ${MISSING} (random ${MISSING})`],
    );
  });

  it("takes the cascade's total, else its largest step", () => {
    assert.equal(cascadeTotal(RESULT.cascade), 130);
    assert.equal(cascadeTotal({ randomized: [1, 4, NaN] }), 4);
    assert.equal(cascadeTotal({ randomized: [] }), 1);
    assert.equal(cascadeTotal({ total: 3, randomized: [1, 5] }), 5, "widened to its steps");
    assert.equal(cascadeTotal({ total: 0 }), 1);
    assert.equal(cascadeTotal(null), 1);
  });

  it("titles each point of the cascade, naming the layer when there is one a step", () => {
    assert.equal(
      cascadePointTitle(RESULT.cascade, 1, "spearman"),
      "2 layers re-initialised (down to conv_head): Spearman ρ 0.20",
    );
    assert.equal(
      cascadePointTitle(RESULT.cascade, 0, "ssim"),
      "1 layer re-initialised (down to classifier): SSIM 0.30",
    );
    const unnamed = { randomized: [1, 2], layers: ["a"], spearman: [0.5, NaN] };
    assert.equal(cascadePointTitle(unnamed, 1, "spearman"), "2 layers re-initialised: Spearman ρ n/a");
    assert.equal(cascadePointTitle({}, 0, "ssim"), "n/a re-initialised: SSIM n/a");
  });

  it("summarises the cascade's first and last steps", () => {
    const text = cascadeDescription(RESULT);
    assert.match(text, /^Randomisation cascade of the Gradient map of mortarboard \(class 667\)/);
    assert.match(text, /130 layers/);
    assert.match(text, /3 steps; 1 layer re-initialised: Spearman 0\.46, SSIM 0\.30; /);
    assert.match(text, /5 layers re-initialised: Spearman -0\.05, SSIM 0\.02\.$/);
  });

  it("summarises a cascade of one step, none, or with missing values", () => {
    const one = { ...RESULT, cascade: { randomized: [1], total: 1, spearman: [NaN], ssim: [0.5] } };
    assert.match(cascadeDescription(one), /1 layer re-initialised: Spearman n\/a, SSIM 0\.50\.$/);
    assert.match(cascadeDescription({ cascade: {} }), /No steps to show\.$/);
    assert.match(cascadeDescription({}), /No steps to show\.$/);
  });

  it("summarises the curves with each AUC", () => {
    const text = curvesDescription(RESULT);
    assert.match(text, /probability of mortarboard/);
    assert.match(text, /Deletion AUC 0\.050, random order 0\.060 \(lower is better\)/);
    assert.match(text, /Insertion AUC 0\.070, random order 0\.045 \(higher is better\)/);
    assert.match(curvesDescription({}), /probability of the class.*Deletion AUC n\/a/);
  });
});
