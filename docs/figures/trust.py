"""The figures and numbers of docs/trust.md: what flashwidget.trust says about each of the seven
attribution methods on the embedded default model.

Regenerate everything (figures, docs/figures/trust_numbers.md, and the same tables on stdout)
from the repository root with:

    .venv/bin/python docs/figures/trust.py --out docs/figures

Model: the embedded EfficientNet-Lite0 (``models.default_model()``); image: matplotlib's sample
photo (Grace Hopper) through ``models.default_transform()``; class explained: its top
prediction, 667 ("mortarboard"). Every method runs with its defaults except Integrated Gradients
(``steps=16`` instead of 50) and SmoothGrad (``samples=10`` instead of 25), cut for time.

What it computes, all with the public API:

- ``trust.randomization_check(..., checkpoints=12)`` (cascading, generator seeded 0) for each
  method: the Spearman and SSIM similarities after 1, 2, 4, 5, 8, 12, 19, 28, 43, 65 and 99
  layers re-initialised. The function returns only similarities, so the maps drawn in
  ``cascade_maps.png`` come from the same cascade redone here on a ``copy.deepcopy`` of the
  model, layer by layer in ``trust.randomizable_layers`` order, each layer's
  ``reset_parameters()`` run under ``torch.manual_seed`` of a seed drawn from
  ``torch.Generator().manual_seed(0)`` (what ``flashwidget.trust.randomization`` does). The
  script asserts that the redone cascade's similarities equal ``randomization_check``'s: at every
  checkpoint for the gradient, and at the drawn checkpoints (1, 5, 19, 99) for every method.
- ``trust.class_sensitivity`` (against the least likely class) for each method.
- ``trust.deletion_insertion(..., steps=50, random_orderings=4)`` for each method, with the
  baseline "blur" (a Gaussian blur of the image, sigma 5 px) and with the baseline 0.0 (the
  normalised mean colour: a constant grey canvas). The random orderings come from a generator
  seeded 0 in every call, so for one image, class and baseline they are the same pixel orderings
  with the same areas whatever the map is. So the chance level is computed once per baseline, by
  one call with ``random_orderings=16`` (its first four orderings are the four that every call
  with ``random_orderings=4`` draws; the twelve more show how widely chance spreads), and each
  method's call draws only the first ordering (``random_orderings=1``), which the script asserts
  equal to the chance call's. Every method is thus reported against the same four orderings
  that ``random_orderings=4`` would give it, and the sixteen orderings cost fewer forward passes
  than seven calls with four each; ``--independent-chance`` makes each method's call draw all
  four (and asserts that they equal the chance call's). The map given to the chance call ranks
  the pixels in the first random ordering's order, so its own curves are that ordering's
  (asserted), drawn in grey in deletion_curves.png.
- A control for the deletion and insertion scores of coarse maps: four maps of uniform noise on
  Grad-CAM's 7 x 7 grid (its layer, ``bn2``, at 224 px), upsampled bilinearly as Grad-CAM's map
  is: coherent orderings that know nothing about the image, scored the same way.
- ``trust.MapCheck(model, x, 667, method, options, attributions=map).run()``: the verdicts the
  widget's "Check this map" gives (its defaults: 12 checkpoints, deletion and insertion in 20
  steps onto the blurred image, 4 random orderings). The script checks that its cascade and
  class comparison equal the standalone calls'.

Writes to ``--out``: cascade_maps.png, cascade_similarity.png, deletion_curves.png and
trust_numbers.md (the tables, also printed).
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F

from flashwidget import methods, models, trust
from flashwidget.models import imagenet_labels
from flashwidget.utils import IMAGENET_MEAN, IMAGENET_STD
from flashwidget.widget import METHOD_LABELS

TARGET = 667  # "mortarboard", the sample photo's top class on the default model
OPTIONS = {"smoothgrad": {"samples": 10}, "integrated_gradients": {"steps": 16}}
CHECKPOINTS = 12
DRAWN = [1, 5, 19, 99]  # layers re-initialised in the maps' figure (of the 12 checkpoints)
BASELINES = {"blur": "blurred image (sigma 5 px)", 0.0: "constant 0.0 (mean colour)"}
STEPS, ORDERINGS, SPREAD = 50, 4, 16
BLOBS, COARSE = 4, 7  # the control's maps: noise on a 7 x 7 grid, as Grad-CAM's layer
TOLERANCE = 1e-6
COLOURS = dict(zip(METHOD_LABELS, plt.get_cmap("tab10").colors, strict=False))

_start = time.perf_counter()


def log(message: str) -> None:
    print(f"[{time.perf_counter() - _start:6.1f} s] {message}", file=sys.stderr, flush=True)


def magnitude(maps: torch.Tensor) -> torch.Tensor:
    """(C, H, W) -> (H, W): the largest absolute value over channels, as trust compares maps."""
    return maps.detach().abs().amax(dim=0).double()


def similarity(a: torch.Tensor, b: torch.Tensor) -> tuple[float, float]:
    first, second = magnitude(a), magnitude(b)
    return trust.spearman(first.flatten(), second.flatten()), trust.ssim(first, second)


def cascade_maps(
    model: torch.nn.Module, x: torch.Tensor, name: str, positions: list[int]
) -> dict[int, torch.Tensor]:
    """The maps of the cascading randomisation after each of ``positions`` layers, redone with
    public calls as flashwidget.trust.randomization does it (one seed drawn per layer)."""
    model = copy.deepcopy(model)
    generator = torch.Generator().manual_seed(0)
    maps = {}
    for position, layer in enumerate(trust.randomizable_layers(model)[: max(positions)], 1):
        seed = int(torch.randint(2**62, (), generator=generator))
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            torch.manual_seed(seed)
            model.get_submodule(layer).reset_parameters()
        if position in positions:
            maps[position] = methods.get(name, model, **OPTIONS.get(name, {})).attribute(x, TARGET)
    return maps


def check_cascade(name: str, steps: list, original: torch.Tensor, maps: dict) -> None:
    by_position = {step.position: step for step in steps}
    for position, new in maps.items():
        rank, structure = similarity(original, new)
        step = by_position[position]
        assert abs(rank - step.spearman) < TOLERANCE and abs(structure - step.ssim) < TOLERANCE, (
            f"{name}: the redone cascade after {position} layers gives Spearman {rank:.6f}, "
            f"SSIM {structure:.6f}; randomization_check gave {step.spearman:.6f}, "
            f"{step.ssim:.6f}"
        )


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def shown(maps: torch.Tensor) -> np.ndarray:
    """A map as drawn: |map|, max over channels, divided by its 99th percentile, clipped."""
    values = magnitude(maps).numpy()
    scale = np.percentile(values, 99)
    if scale <= 0:
        scale = values.max()
    return np.clip(values / scale, 0, 1) if scale > 0 else values


def draw_maps(path: Path, photo: np.ndarray, originals: dict, drawn: dict, layers: list) -> None:
    names = list(originals)
    size, rows, columns = 1.7, len(names), 1 + len(DRAWN)
    header = 1.9  # inches above the grid: the input photo, the column titles, the title
    height = rows * size * 1.06 + header
    figure = plt.figure(figsize=(size * (columns + 1.1), height))
    grid = figure.add_gridspec(
        rows,
        columns + 1,
        width_ratios=[1.1] + [1] * columns,
        left=0.01,
        right=0.99,
        bottom=0.01,
        top=1 - header / height,
        wspace=0.04,
        hspace=0.06,
    )
    titles = ["original\n(trained model)", "1 layer re-initialised\n(classifier)"]
    titles += [f"{k} layers, down to\n{layers[k - 1]}" for k in DRAWN[1:-1]]
    titles += [f"all {DRAWN[-1]} layers, down to\n{layers[DRAWN[-1] - 1]}"]
    for row, name in enumerate(names):
        label = figure.add_subplot(grid[row, 0])
        label.axis("off")
        label.text(
            0.95,
            0.5,
            METHOD_LABELS[name],
            ha="right",
            va="center",
            fontsize=10,
            fontweight="bold",
            transform=label.transAxes,
        )
        pictures = [originals[name]] + [drawn[name][k] for k in DRAWN]
        for column, picture in enumerate(pictures, start=1):
            ax = figure.add_subplot(grid[row, column])
            ax.set_xticks([])
            ax.set_yticks([])
            ax.imshow(shown(picture), cmap="gray", vmin=0, vmax=1)
            if not bool(picture.abs().amax() > 0):
                ax.text(
                    0.5,
                    0.5,
                    "all zero",
                    color="white",
                    ha="center",
                    va="center",
                    transform=ax.transAxes,
                    fontsize=9,
                )
            if row == 0:
                ax.set_title(titles[column - 1], fontsize=8)
    top = 1 - header / height
    inset = figure.add_axes([0.02, top + 0.1 / height, 0.13, 1.4 / height])
    inset.imshow(photo)
    inset.set_xticks([])
    inset.set_yticks([])
    inset.set_title("input, class 667\n(mortarboard)", fontsize=8)
    figure.text(
        0.58,
        1 - 0.2 / height,
        "Cascading randomisation (Adebayo et al. 2018): the map of class 667 as the\n"
        "EfficientNet-Lite0's layers are re-initialised from the output down, one column per\n"
        "number of layers re-initialised. Each map: |map|, max over colour channels, scaled\n"
        "to its own 99th percentile. SmoothGrad: 10 samples; Integrated Gradients: 16 steps.",
        ha="center",
        va="top",
        fontsize=9,
    )
    figure.savefig(path, dpi=100)
    plt.close(figure)


def draw_similarity(path: Path, cascades: dict, layers: list) -> None:
    figure, axes = plt.subplots(1, 2, figsize=(12, 5.2), sharey=True)
    positions = [step.position for step in next(iter(cascades.values()))]
    for name, steps in cascades.items():
        colour = COLOURS[name]
        axes[0].plot(
            positions,
            [s.spearman for s in steps],
            "-o",
            ms=3,
            color=colour,
            label=METHOD_LABELS[name],
        )
        axes[1].plot(positions, [s.ssim for s in steps], "--o", ms=3, color=colour)
    axes[0].axhline(trust.THRESHOLDS["randomization"], color="black", lw=0.8, ls=":")
    axes[0].text(
        1.05,
        trust.THRESHOLDS["randomization"] + 0.02,
        "badge threshold: the median over the checkpoints passes below 0.5",
        fontsize=8,
    )
    for ax, what in zip(axes, ["Spearman rank correlation (solid)", "SSIM (dashed)"], strict=True):
        ax.set_xscale("log")
        ax.set_xticks(positions)
        ax.set_xticklabels([str(p) for p in positions], fontsize=8)
        ax.minorticks_off()
        ax.axhline(0, color="grey", lw=0.5)
        ax.set_xlabel(
            f"layers re-initialised, from the output down (log scale; 1 = {layers[0]},"
            f" {len(layers)} = all)",
            fontsize=9,
        )
        ax.set_title(f"{what} with the trained model's map", fontsize=10)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("similarity to the trained model's map")
    figure.legend(
        *axes[0].get_legend_handles_labels(), loc="lower center", ncol=7, fontsize=9, frameon=False
    )
    figure.suptitle(
        "Cascading randomisation: how much of each map survives re-initialisation "
        "(EfficientNet-Lite0, class 667)",
        fontsize=11,
    )
    figure.tight_layout(rect=(0, 0.06, 1, 1))
    figure.savefig(path, dpi=110)
    plt.close(figure)


def draw_curves(path: Path, curves: dict, chance: dict) -> None:
    figure, axes = plt.subplots(2, 2, figsize=(12, 9.6), sharex=True, sharey=True)
    for row, baseline in enumerate(BASELINES):
        reference = chance[baseline]
        for column, kind in enumerate(["deletion", "insertion"]):
            ax = axes[row, column]
            spread = getattr(reference, f"random_{kind}_aucs")[:, 0]
            ax.plot(
                reference.fractions.numpy(),
                getattr(reference, kind)[0].numpy(),
                color="grey",
                ls="--",
                lw=1.2,
                label=f"random ordering 1 ({float(spread[0]):.3f})",
            )
            for name, result in curves[baseline].items():
                values = getattr(result, kind)[0].numpy()
                area = float(getattr(result, f"{kind}_auc")[0])
                ax.plot(
                    result.fractions.numpy(),
                    values,
                    color=COLOURS[name],
                    label=f"{METHOD_LABELS[name]} ({area:.3f})",
                )
            first = spread[:ORDERINGS]
            ax.set_title(
                f"{kind.capitalize()}: {'onto' if kind == 'deletion' else 'from'} the "
                f"{BASELINES[baseline]}\nrandom orderings' areas: the {ORDERINGS} of the tables "
                f"{float(first.min()):.3f} to {float(first.max()):.3f} (mean "
                f"{float(first.mean()):.3f});\nall {len(spread)}: {float(spread.min()):.3f} to "
                f"{float(spread.max()):.3f}",
                fontsize=9,
            )
            ax.legend(
                title="method (area under the curve)",
                fontsize=8,
                title_fontsize=8,
                loc="upper right" if kind == "deletion" else "upper left",
            )
            ax.grid(alpha=0.3)
            if row == 1:
                ax.set_xlabel(
                    f"fraction of pixels {'deleted' if kind == 'deletion' else 'revealed'}, "
                    "most salient first"
                )
            if column == 0:
                ax.set_ylabel("probability of class 667 (mortarboard)")
    axes[0, 0].set_ylim(-0.02, 0.62)
    figure.suptitle(
        f"Deletion and insertion curves ({STEPS} steps), EfficientNet-Lite0, sample photo, "
        "class 667.\nDeletion: lower is better (the evidence goes first); insertion: higher is "
        "better.",
        fontsize=11,
    )
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def ordering_map(pixels: int, side: int) -> torch.Tensor:
    """A (1, side, side) map that ranks the pixels in the order of the first random ordering of
    ``deletion_insertion`` (``torch.randperm`` from a generator seeded 0)."""
    order = torch.randperm(pixels, generator=torch.Generator().manual_seed(0))
    saliency = torch.empty(pixels)
    saliency[order] = torch.arange(pixels, 0, -1, dtype=torch.float32)
    return saliency.view(1, side, side)


def blob_map(seed: int, side: int) -> torch.Tensor:
    """A (1, side, side) map of uniform noise on a COARSE x COARSE grid, upsampled as Grad-CAM
    upsamples its map: a coherent ordering of the pixels that knows nothing about the image."""
    coarse = torch.rand(1, 1, COARSE, COARSE, generator=torch.Generator().manual_seed(seed))
    return F.interpolate(coarse, size=(side, side), mode="bilinear", align_corners=False)[0]


def close(a: torch.Tensor, b: torch.Tensor) -> bool:
    return torch.allclose(a.double(), b.double(), atol=TOLERANCE, rtol=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("docs/figures"),
        help="folder for the figures and trust_numbers.md",
    )
    parser.add_argument(
        "--independent-chance",
        action="store_true",
        help=f"draw all {ORDERINGS} random orderings in every method's "
        "deletion_insertion call (same numbers, more time)",
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    model = models.default_model()
    x = models.default_transform()(models.sample_image())
    with torch.no_grad():
        logits = model(x[None])
    assert int(logits.argmax()) == TARGET, int(logits.argmax())
    probability = float(logits.softmax(dim=1)[0, TARGET])
    names = methods.available()
    assert list(METHOD_LABELS) == names, names
    layers = trust.randomizable_layers(model)
    positions = trust.checkpoint_positions(len(layers), CHECKPOINTS)
    assert set(DRAWN) <= set(positions), positions
    log(f"{len(layers)} layers; checkpoints {positions}; torch threads {torch.get_num_threads()}")

    originals, cascades, drawn, sensitivity = {}, {}, {}, {}
    for name in names:
        options = OPTIONS.get(name, {})
        originals[name] = methods.get(name, model, **options).attribute(x, TARGET)
        cascades[name] = trust.randomization_check(
            model, x, TARGET, method=name, options=options, checkpoints=CHECKPOINTS
        )
        # The gradient's redone cascade is compared at every checkpoint, the others' at the
        # checkpoints drawn.
        redone = cascade_maps(model, x, name, positions if name == "gradient" else DRAWN)
        check_cascade(name, cascades[name], originals[name], redone)
        drawn[name] = redone
        sensitivity[name] = trust.class_sensitivity(model, x, TARGET, method=name, options=options)
        log(f"{name}: cascade (redone cascade equal at {sorted(redone)}) and class sensitivity")

    photo = (
        (x * torch.tensor(IMAGENET_STD)[:, None, None] + torch.tensor(IMAGENET_MEAN)[:, None, None])
        .clamp(0, 1)
        .permute(1, 2, 0)
        .numpy()
    )
    draw_maps(args.out / "cascade_maps.png", photo, originals, drawn, layers)
    draw_similarity(args.out / "cascade_similarity.png", cascades, layers)
    log("cascade figures written")

    curves: dict = {baseline: {} for baseline in BASELINES}
    chance: dict = {}
    blobs: dict = {}
    side = x.shape[-1]
    for baseline in BASELINES:
        reference = trust.deletion_insertion(
            model,
            x,
            TARGET,
            ordering_map(side * side, side),
            steps=STEPS,
            baseline=baseline,
            random_orderings=SPREAD,
        )
        assert close(reference.deletion_auc, reference.random_deletion_aucs[0])
        assert close(reference.insertion_auc, reference.random_insertion_aucs[0])
        chance[baseline] = reference
        log(f"chance onto {baseline!r}: {SPREAD} random orderings")
        for name in names:
            orderings = ORDERINGS if args.independent_chance else 1
            result = trust.deletion_insertion(
                model,
                x,
                TARGET,
                originals[name],
                steps=STEPS,
                baseline=baseline,
                random_orderings=orderings,
            )
            for kind in ("deletion", "insertion"):
                mine = getattr(result, f"random_{kind}_aucs")
                assert close(mine, getattr(reference, f"random_{kind}_aucs")[:orderings]), name
            curves[baseline][name] = result
            log(f"{name}: deletion and insertion onto {baseline!r} ({orderings} orderings drawn)")
        blobs[baseline] = [
            trust.deletion_insertion(
                model,
                x,
                TARGET,
                blob_map(seed, side),
                steps=STEPS,
                baseline=baseline,
                random_orderings=1,
            )
            for seed in range(BLOBS)
        ]
        log(f"control onto {baseline!r}: {BLOBS} coarse random maps")
    draw_curves(args.out / "deletion_curves.png", curves, chance)
    log("curves figure written")

    checks, mismatches = {}, []
    for name in names:
        result = trust.MapCheck(
            model, x, TARGET, name, OPTIONS.get(name, {}), attributions=originals[name]
        ).run()
        checks[name] = result
        for ours, theirs in zip(result.randomization, cascades[name], strict=True):
            if abs(ours.spearman - theirs.spearman) > TOLERANCE:
                mismatches.append(f"{name}: MapCheck's cascade differs at {ours.position}")
        if abs(result.sensitivity.spearman - sensitivity[name].spearman) > TOLERANCE:
            mismatches.append(f"{name}: MapCheck's class comparison differs")
        log(f"{name}: MapCheck done")
    elapsed = time.perf_counter() - _start

    labels = imagenet_labels()
    out = [
        "# flashwidget.trust on the default model: the numbers",
        "",
        "Generated by `.venv/bin/python docs/figures/trust.py --out docs/figures` "
        f"({elapsed / 60:.1f} min, torch {torch.__version__}, {torch.get_num_threads()} threads)."
        f" EfficientNet-Lite0, sample photo, class {TARGET} ({labels[TARGET]}, probability "
        f"{probability:.3f}). SmoothGrad with samples=10, Integrated Gradients with steps=16, the "
        "other methods with their defaults.",
        "",
        f"## Cascading randomisation (checkpoints={CHECKPOINTS}: after {positions} layers)",
        "",
    ]
    rows = []
    for name in names:
        steps = cascades[name]
        rows.append(
            [
                METHOD_LABELS[name],
                f"{steps[0].spearman:.2f}",
                f"{steps[0].ssim:.2f}",
                f"{statistics.median(s.spearman for s in steps):.2f}",
                f"{statistics.median(s.ssim for s in steps):.2f}",
                f"{steps[-1].spearman:.2f}",
                f"{steps[-1].ssim:.2f}",
            ]
        )
    out.append(
        table(
            [
                "method",
                "Spearman, classifier only",
                "SSIM, classifier only",
                "median Spearman, cascade",
                "median SSIM, cascade",
                f"Spearman, all {len(layers)}",
                f"SSIM, all {len(layers)}",
            ],
            rows,
        )
    )
    out += ["", "Spearman after each checkpoint (layers re-initialised):", ""]
    out.append(
        table(
            ["method"] + [str(p) for p in positions],
            [[METHOD_LABELS[n]] + [f"{s.spearman:.2f}" for s in cascades[n]] for n in names],
        )
    )
    out += ["", "SSIM after each checkpoint:", ""]
    out.append(
        table(
            ["method"] + [str(p) for p in positions],
            [[METHOD_LABELS[n]] + [f"{s.ssim:.2f}" for s in cascades[n]] for n in names],
        )
    )
    out += ["", "## Class sensitivity (against the least likely class)", ""]
    out.append(
        table(
            ["method", "other class", "Spearman", "SSIM"],
            [
                [
                    METHOD_LABELS[n],
                    f"{sensitivity[n].other[0]} ({labels[sensitivity[n].other[0]]})",
                    f"{sensitivity[n].spearman:.2f}",
                    f"{sensitivity[n].ssim:.2f}",
                ]
                for n in names
            ],
        )
    )

    def areas(values: torch.Tensor, sign: str = "") -> str:
        return ", ".join(f"{v:{sign}.3f}" for v in values.tolist())

    def beaten(wins: torch.Tensor) -> str:
        """How many random orderings the map beats: of the first four, and of all."""
        return f"{int(wins[:ORDERINGS].sum())} of {ORDERINGS}; {int(wins.sum())} of {len(wins)}"

    for baseline, described in BASELINES.items():
        reference = chance[baseline]
        deletions = reference.random_deletion_aucs[:, 0]
        insertions = reference.random_insertion_aucs[:, 0]
        gains = insertions - deletions
        used = slice(0, ORDERINGS)
        out += [
            "",
            f"## Deletion and insertion onto the {described}, {STEPS} steps",
            "",
            f"The {ORDERINGS} random orderings of `random_orderings={ORDERINGS}` (the same for "
            f"every method): deletion areas {areas(deletions[used])} (mean "
            f"{float(deletions[used].mean()):.3f}); insertion areas {areas(insertions[used])} "
            f"(mean {float(insertions[used].mean()):.3f}); insertion minus deletion "
            f"{areas(gains[used], '+')}.",
            "",
            f"All {SPREAD} random orderings (those 4 first): deletion {float(deletions.min()):.3f}"
            f" to {float(deletions.max()):.3f} (median {float(deletions.median()):.3f}), "
            f"insertion {float(insertions.min()):.3f} to {float(insertions.max()):.3f} (median "
            f"{float(insertions.median()):.3f}), insertion minus deletion "
            f"{float(gains.min()):+.3f} to {float(gains.max()):+.3f} (median "
            f"{float(gains.median()):+.3f}).",
            "",
        ]
        rows = []
        for name in names:
            result = curves[baseline][name]
            deletion, insertion = float(result.deletion_auc[0]), float(result.insertion_auc[0])
            gain = insertion - deletion
            rows.append(
                [
                    METHOD_LABELS[name],
                    f"{deletion:.3f}",
                    f"{float(deletions[used].mean()):.3f}",
                    f"{insertion:.3f}",
                    f"{float(insertions[used].mean()):.3f}",
                    f"{gain:+.3f}",
                    beaten(deletions > deletion),
                    beaten(insertions < insertion),
                    beaten(gains < gain),
                    "yes" if bool((gains[used] < gain).all()) else "no",
                ]
            )
        out.append(
            table(
                [
                    "method",
                    "deletion",
                    f"chance deletion (mean of {ORDERINGS})",
                    "insertion",
                    f"chance insertion (mean of {ORDERINGS})",
                    "insertion - deletion",
                    f"orderings beaten on deletion (of the {ORDERINGS}; all {SPREAD})",
                    f"orderings beaten on insertion (of the {ORDERINGS}; all {SPREAD})",
                    f"orderings beaten on insertion - deletion (of the {ORDERINGS}; all {SPREAD})",
                    f"insertion - deletion above all {ORDERINGS} (the badge's rule)",
                ],
                rows,
            )
        )
    out += [
        "",
        f"## The curves' highest points (probability of class {TARGET}; {probability:.3f} on the "
        "intact photo)",
        "",
        "Deletion: the highest probability once deletion has begun (after the first point); "
        "insertion: the highest before every pixel is back (before the last point); each with "
        "the fraction of pixels deleted or revealed.",
        "",
    ]

    def peak(values: torch.Tensor, fractions: torch.Tensor) -> str:
        index = int(values.argmax())
        return f"{float(values[index]):.3f} at {float(fractions[index]):.2f}"

    rows = []
    for name in names:
        cells = [METHOD_LABELS[name]]
        for baseline in BASELINES:
            result = curves[baseline][name]
            fractions = result.fractions
            cells.append(peak(result.deletion[0, 1:], fractions[1:]))
            cells.append(peak(result.insertion[0, :-1], fractions[:-1]))
        rows.append(cells)
    out.append(
        table(
            ["method"]
            + [f"{kind}, {BASELINES[b]}" for b in BASELINES for kind in ("deletion", "insertion")],
            rows,
        )
    )
    out += [
        "",
        f"## Control: {BLOBS} coherent random maps (uniform noise on a {COARSE} x {COARSE} grid, "
        f"upsampled bilinearly as Grad-CAM's map), {STEPS} steps",
        "",
    ]
    rows = []
    for baseline, described in BASELINES.items():
        deletions = torch.cat([result.deletion_auc for result in blobs[baseline]])
        insertions = torch.cat([result.insertion_auc for result in blobs[baseline]])
        gradcam = curves[baseline]["gradcam"]
        rows.append(
            [
                described,
                f"{areas(deletions)} (mean {float(deletions.mean()):.3f})",
                f"{areas(insertions)} (mean {float(insertions.mean()):.3f})",
                f"{areas(insertions - deletions, '+')}",
                f"{float(gradcam.deletion_auc[0]):.3f}, {float(gradcam.insertion_auc[0]):.3f}",
            ]
        )
    out.append(
        table(
            [
                "canvas",
                "deletion areas",
                "insertion areas",
                "insertion - deletion",
                "Grad-CAM's deletion, insertion",
            ],
            rows,
        )
    )
    mapcheck = next(iter(checks.values())).curves
    mc_deletions = mapcheck.random_deletion_aucs[:, 0]
    mc_insertions = mapcheck.random_insertion_aucs[:, 0]
    out += [
        "",
        "## Verdicts of MapCheck (the widget's defaults: 12 checkpoints, 20 steps onto the "
        "blurred image, 4 random orderings)",
        "",
        "MapCheck's orderings come from a generator of their own, seeded 0 as "
        "deletion_insertion's, so they are the four orderings above, scored here in 20 steps, "
        "the same for every method: deletion areas "
        f"{areas(mc_deletions)}, insertion areas {areas(mc_insertions)}, insertion minus "
        f"deletion {areas(mc_insertions - mc_deletions, '+')}.",
        "",
    ]
    rows = []
    for name in names:
        result = checks[name]
        cells = [METHOD_LABELS[name]]
        cells += [f"{'pass' if v.passed else 'FAIL'} ({v.summary})" for v in result.verdicts]
        cells += [
            f"{float(result.curves.deletion_auc[0]):.3f}",
            f"{float(result.curves.insertion_auc[0]):.3f}",
        ]
        rows.append(cells)
    out.append(
        table(
            [
                "method",
                "Randomisation",
                "Class",
                "Faithfulness (margin)",
                "deletion (20 steps)",
                "insertion (20 steps)",
            ],
            rows,
        )
    )
    if mismatches:
        out += ["", "Mismatches between MapCheck and the standalone checks:", ""]
        out += [f"- {line}" for line in mismatches]
    text = "\n".join(out) + "\n"
    print(text)
    (args.out / "trust_numbers.md").write_text(text)
    log(f"done in {elapsed:.0f} s; wrote {args.out}")


if __name__ == "__main__":
    main()
