"""Benchmark the sanity checks of flashwidget.trust against Quantus's, in one process, on the same
model, image, class and gradient map.

Each row times one call of a flashwidget check and one call of the Quantus metric configured to
compute the same thing as closely as Quantus allows. Both explain with the plain gradient: ours
is ``methods.get("gradient")``, Quantus's an ``explain_func`` that calls ``quantus.explain(...,
method="Gradient", reduce_axes=())`` (Captum's ``Saliency(abs=False)``, which costs the same as
ours: docs/benchmarks.md) and takes the largest absolute value over the colour channels, which is
how flashwidget reduces a map before comparing or ranking it (Quantus's own default sums the
channels). Model: the embedded EfficientNet-Lite0; image: matplotlib's sample photo (Grace
Hopper), its top class (667) explained.

What is compared, and where the computations differ:

- ``randomization_check(model, x)`` (cascading, all 99 layers from the output, a gradient map
  after each, Spearman and SSIM against the original) against ``quantus.MPRT(layer_order=
  "top_down")``. Both walk the same 99 layers in the same order (``named_modules`` reversed,
  those with ``reset_parameters``; checked below) and re-initialise them with their own
  ``reset_parameters``; the new weights differ (Quantus calls ``torch.manual_seed(seed + 1)``
  before every layer, we draw a seed per layer from our own generator), so the similarities
  after each layer are close but not equal. Quantus 0.6 has no option to stop after k layers,
  so both go through all 99 (our ``layers=`` is not used). Quantus gets the original map as
  ``a_batch`` (computed once, outside the timing), so both compute 100 maps per call. Row
  "Spearman only": Quantus's default similarity (``correlation_spearman``, scipy), less work than
  ours (we also compute SSIM). Row "Spearman + SSIM": Quantus's ``correlation_spearman``
  and Quantus's ``ssim`` on the 2-d maps (``win_size=11``; skimage's uniform window with sample
  covariance, where ours is an 11-px Gaussian window of sigma 1.5), the same two numbers ours
  computes. Quantus also normalises each map by its maximum (``normalise=True``) where our SSIM
  scales each to [0, 1] by its minimum and maximum (the minimum of an absolute map is ~0).
- ``class_sensitivity(model, x, other=c)`` against ``quantus.RandomLogit``: two maps (the top
  class and another) and their similarity. RandomLogit draws the other class at random
  (``np.random.seed(42)``, here class 102); ours defaults to the least likely class, so ours is
  given Quantus's class and both compare the same two maps. Both compute the two maps inside the
  call. Row "1-d SSIM only": Quantus's default, ``ssim`` on the maps flattened to 1-d vectors
  (skimage on an H*W-long signal, 7-px window), not the 2-d SSIM of the paper. Row
  "Spearman + SSIM": as for MPRT.
- ``deletion_insertion(model, x, 667, map, steps, baseline=0.0, random_orderings=1)`` against
  ``quantus.PixelFlipping(features_in_step=C*H*W/steps, perturb_baseline=0.0)``: pixels removed
  in order of decreasing saliency, replaced by 0 (the mean colour once normalised; ours
  defaults to a blurred image, Quantus has no blur baseline), the target's softmax probability
  after each step. PixelFlipping computes the deletion curve only (``steps`` points, one forward
  pass of one image each), with no insertion curve and no chance level; ours computes four
  curves (deletion, insertion, and both for one random ordering) of ``steps + 1`` points,
  ``batch_size`` images a forward pass (32, its default; ``--batch-size``). Hence three rows:
  ours against PixelFlipping's deletion curve alone (unequal work: ours does four curves); ours
  against four PixelFlipping calls that give the same four curves (insertion through a
  ``perturb_func`` that reveals the image's pixels on a zero canvas, the random ordering through
  a random ``a_batch``: equal curves, different batching); and ours with ``batch_size=1``
  against the same four calls (equal curves and one image a pass, as Quantus). The random
  orderings differ (ours from its generator, Quantus's from numpy), so their areas differ.
  Quantus broadcasts the one-channel map to the three colour channels and steps over channel
  values: ``features_in_step`` must divide H*W (Quantus's assertion) while ``C*H*W /
  features_in_step`` is the number of steps, so ``steps`` must be a multiple of 3 whose third
  divides H*W (21 at 224 px); a step's boundary can split a pixel's channels where ours moves
  whole pixels (``round(k * H*W / steps)`` of them at point k), hence curves that agree to
  about 1e-3, not to rounding. RegionPerturbation (patches ranked by their summed
  attribution) is a different ordering and is not compared.
- Captum's ``captum.metrics.infidelity`` and ``sensitivity_max`` are not timed: they score other
  properties (the error of attribution times noise against the output's change; the map's
  change under input noise), so no ratio with these checks would mean anything.

All runs are interleaved: each round times every run once, in an order shuffled each round, so
that drift in the machine's speed hits both sides alike; each run is called once first (warm-up)
and that call's results are compared in the second table.

    .venv/bin/python bench/trust.py                 # defaults: about 3 minutes on 2 idle cores
    .venv/bin/python bench/trust.py --quick         # 112 px, 2 repeats: under a minute
    .venv/bin/python bench/trust.py --checks deletion class --repeats 9
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import quantus
import torch
from quantus.functions.similarity_func import correlation_spearman
from quantus.functions.similarity_func import ssim as quantus_ssim
from timing import TOLERANCE, interleaved, spread, verdict

from flashwidget import models, trust

CHECKS = ("randomization", "class", "deletion")
QUANTUS_SEED = 42  # Quantus's default seed for MPRT and RandomLogit


@dataclass
class Row:
    """One line of the timing table: a flashwidget run against a Quantus run."""

    check: str
    ours: str
    quantus: str
    work: str


def gradient_magnitude(model: torch.nn.Module, inputs: np.ndarray, targets: np.ndarray, **kwargs):
    """Quantus's ``explain_func``: the plain gradient (Captum's Saliency, abs=False, through
    ``quantus.explain``), reduced to (N, 1, H, W) by the largest absolute value over channels, as
    flashwidget reduces a map before comparing or ranking it."""
    maps = quantus.explain(model, inputs, targets, method="Gradient", reduce_axes=())
    return np.abs(maps).max(axis=1, keepdims=True)


def spearman_and_ssim(shape: tuple[int, int]) -> Callable:
    """A Quantus ``similarity_func`` computing both numbers ours does, with Quantus's own
    functions: Spearman (scipy) on the flattened maps, SSIM on the 2-d maps. Returns (N, 2)."""

    def similarity(a: np.ndarray, b: np.ndarray, batched: bool = True, **kwargs) -> np.ndarray:
        a, b = a.reshape(len(a), -1), b.reshape(len(b), -1)
        rank = np.asarray(correlation_spearman(a, b, batched=True))
        structure = [
            quantus_ssim(x.reshape(shape), y.reshape(shape), win_size=11)
            for x, y in zip(a, b, strict=True)
        ]
        return np.stack([rank, np.asarray(structure)], axis=1)

    return similarity


def quantus_other_class(label: int, num_classes: int, seed: int) -> int:
    """The off-class RandomLogit draws for one image of class ``label`` (its own code, replayed)."""
    np.random.seed(seed)
    index = int(np.random.randint(0, num_classes - 1, 1)[0])
    return index + (index >= label)


def check_steps(steps: int, channels: int, pixels: int) -> int:
    """PixelFlipping's ``features_in_step`` for ``steps`` steps, or an explanation of why not."""
    features = channels * pixels
    if features % steps or pixels % (features // steps):
        usable = [s for s in range(channels, 200, channels) if pixels % (features // s) == 0]
        raise SystemExit(
            f"--steps {steps}: PixelFlipping needs features_in_step = {channels}*H*W/steps to "
            f"divide H*W = {pixels}; steps that work at this size: {usable[:12]}"
        )
    return features // steps


def runs_and_rows(
    model: torch.nn.Module, image: torch.Tensor, label: int, args: argparse.Namespace
) -> tuple[dict[str, Callable[[], object]], list[Row], Callable[[dict], list[str]]]:
    """The timed runs (name -> call), the timing table's rows, and a function that turns the
    warm-up results into the agreement table's lines."""
    x = image.numpy()
    y = np.array([label])
    shape = tuple(image.shape[-2:])
    both = spearman_and_ssim(shape)
    reference = gradient_magnitude(model, x, y)  # the map every run starts from, (1, 1, H, W)
    reference_t = torch.from_numpy(reference)
    runs: dict[str, Callable[[], object]] = {}
    rows: list[Row] = []
    reports: list[Callable[[dict], list[str]]] = []

    if "randomization" in args.checks:

        def mprt(similarity: Callable | None) -> Callable[[], object]:
            metric = quantus.MPRT(
                similarity_func=similarity,
                layer_order="top_down",
                seed=QUANTUS_SEED,
                disable_warnings=True,
            )
            return lambda: metric(
                model=model,
                x_batch=x,
                y_batch=y,
                a_batch=reference,
                explain_func=gradient_magnitude,
                device="cpu",
            )

        runs["ours randomization"] = lambda: trust.randomization_check(model, image)
        runs["quantus MPRT spearman"] = mprt(None)
        runs["quantus MPRT both"] = mprt(both)
        rows += [
            Row(
                "randomization, cascading, all layers",
                "ours randomization",
                "quantus MPRT spearman",
                "Quantus less: Spearman only (its default)",
            ),
            Row(
                "randomization, cascading, all layers",
                "ours randomization",
                "quantus MPRT both",
                "equal: 100 maps, Spearman + SSIM",
            ),
        ]

        def report_randomization(results: dict) -> list[str]:
            ours = results["ours randomization"]
            spearman_only = results["quantus MPRT spearman"]
            theirs = results["quantus MPRT both"]
            names = [name for name in theirs if name != "original"]
            same = names == [step.layer for step in ours]
            lines = [
                f"| randomization | layers, order | {len(ours)} | {len(names)} | "
                f"{'same names, same order' if same else 'DIFFERENT'} |"
            ]
            for i in sorted({0, 1, 2, 9, len(ours) - 1}):
                step, (rank, structure) = ours[i], theirs[names[i]][0]
                lines.append(
                    f"| randomization | after {i + 1} ({step.layer}): Spearman / SSIM | "
                    f"{step.spearman:.3f} / {step.ssim:.3f} | {rank:.3f} / {structure:.3f} | "
                    "different random weights |"
                )
            plain = [spearman_only[name][0] for name in names]
            paired = [theirs[name][0][0] for name in names]
            lines.append(
                f"| randomization | Quantus's two runs, Spearman, max difference | — | "
                f"{max(abs(a - b) for a, b in zip(plain, paired, strict=True)):.1e} | "
                "same seed: same weights |"
            )
            return lines

        reports.append(report_randomization)

    if "class" in args.checks:
        other = quantus_other_class(label, 1000, QUANTUS_SEED)

        def random_logit(similarity: Callable | None) -> Callable[[], object]:
            metric = quantus.RandomLogit(
                similarity_func=similarity,
                num_classes=1000,
                seed=QUANTUS_SEED,
                disable_warnings=True,
            )
            return lambda: metric(
                model=model, x_batch=x, y_batch=y, explain_func=gradient_magnitude, device="cpu"
            )

        runs["ours class"] = lambda: trust.class_sensitivity(model, image, label, other=other)
        runs["quantus RandomLogit ssim"] = random_logit(None)
        runs["quantus RandomLogit both"] = random_logit(both)
        rows += [
            Row(
                f"class sensitivity ({label} vs {other})",
                "ours class",
                "quantus RandomLogit ssim",
                "2 maps each; Quantus: 1-d SSIM only (its default)",
            ),
            Row(
                f"class sensitivity ({label} vs {other})",
                "ours class",
                "quantus RandomLogit both",
                "equal: 2 maps, Spearman + SSIM",
            ),
        ]

        def report_class(results: dict) -> list[str]:
            ours = results["ours class"]
            (rank, structure) = results["quantus RandomLogit both"][0]
            flat = results["quantus RandomLogit ssim"][0]
            return [
                f"| class sensitivity | other class | {ours.other[0]} | {other} | "
                "ours given Quantus's draw |",
                f"| class sensitivity | Spearman | {ours.spearman:.6f} | {rank:.6f} | "
                f"difference {abs(ours.spearman - rank):.1e} |",
                f"| class sensitivity | SSIM (2-d) | {ours.ssim:.3f} | {structure:.3f} | "
                "Gaussian 11 px vs uniform 11 px window |",
                f"| class sensitivity | SSIM, Quantus default (1-d) | — | {flat:.3f} | "
                "maps flattened to vectors |",
            ]

        reports.append(report_class)

    if "deletion" in args.checks:
        channels, pixels = image.shape[1], shape[0] * shape[1]
        features_in_step = check_steps(args.steps, channels, pixels)
        noise = np.random.default_rng(0).random(reference.shape).astype(np.float32)
        flat_image = x.reshape(len(x), -1)
        canvas = np.zeros_like(x)

        def reveal(arr: np.ndarray, indices: np.ndarray, **kwargs) -> np.ndarray:
            """Quantus ``perturb_func`` for insertion: the image's values at ``indices``."""
            rows_ = np.arange(len(arr))[:, None]
            revealed = arr.copy()
            revealed[rows_, indices] = flat_image[rows_, indices]
            return revealed

        delete = quantus.PixelFlipping(
            features_in_step=features_in_step, perturb_baseline=0.0, disable_warnings=True
        )
        insert = quantus.PixelFlipping(
            features_in_step=features_in_step, perturb_func=reveal, disable_warnings=True
        )

        def pixel_flipping(start: np.ndarray, metric, order: np.ndarray) -> list:
            return metric(model=model, x_batch=start, y_batch=y, a_batch=order, device="cpu")

        def quantus_four() -> list:
            return [
                pixel_flipping(x, delete, reference),
                pixel_flipping(canvas, insert, reference),
                pixel_flipping(x, delete, noise),
                pixel_flipping(canvas, insert, noise),
            ]

        def ours(batch_size: int) -> Callable[[], object]:
            return lambda: trust.deletion_insertion(
                model,
                image,
                label,
                reference_t,
                steps=args.steps,
                baseline=0.0,
                random_orderings=1,
                batch_size=batch_size,
            )

        runs["ours deletion"] = ours(args.batch_size)
        runs["ours deletion batch 1"] = ours(1)
        runs["quantus PixelFlipping"] = lambda: pixel_flipping(x, delete, reference)
        runs["quantus PixelFlipping x4"] = quantus_four
        check = f"deletion/insertion, {args.steps} steps"
        rows += [
            Row(
                check,
                "ours deletion",
                "quantus PixelFlipping",
                f"unequal: ours 4 curves ({args.batch_size} images a pass); Quantus deletion only",
            ),
            Row(
                check,
                "ours deletion",
                "quantus PixelFlipping x4",
                f"same 4 curves; ours {args.batch_size} images a pass, Quantus 1",
            ),
            Row(
                check,
                "ours deletion batch 1",
                "quantus PixelFlipping x4",
                "equal: same 4 curves, 1 image a pass",
            ),
        ]

        def report_deletion(results: dict) -> list[str]:
            ours_ = results["ours deletion"]
            four = [np.asarray(curve)[0] for curve in results["quantus PixelFlipping x4"]]
            batch_1 = results["ours deletion batch 1"]

            def gap(a: torch.Tensor, b: np.ndarray) -> float:
                return float(np.abs(a[0, 1:].numpy() - b).max())

            def area(curve: np.ndarray) -> float:  # Quantus's points, with ours' first point
                return float(np.trapezoid(curve, dx=1.0 / (len(curve) - 1)))

            first_d, first_i = float(ours_.deletion[0, 0]), float(ours_.insertion[0, 0])
            return [
                f"| deletion | deletion curve, max difference | — | "
                f"{gap(ours_.deletion, four[0]):.1e} | same order and baseline |",
                f"| deletion | insertion curve, max difference | — | "
                f"{gap(ours_.insertion, four[1]):.1e} | Quantus via a reveal perturb_func |",
                f"| deletion | deletion / insertion area | {float(ours_.deletion_auc[0]):.4f} / "
                f"{float(ours_.insertion_auc[0]):.4f} | {area([first_d, *four[0]]):.4f} / "
                f"{area([first_i, *four[1]]):.4f} | Quantus's curves with our point at 0 |",
                f"| deletion | random-order deletion / insertion area | "
                f"{float(ours_.random_deletion_auc[0]):.4f} / "
                f"{float(ours_.random_insertion_auc[0]):.4f} | "
                f"{area([first_d, *four[2]]):.4f} / {area([first_i, *four[3]]):.4f} | "
                "different random orders |",
                f"| deletion | batch {args.batch_size} vs batch 1, max difference | "
                f"{float((ours_.deletion - batch_1.deletion).abs().max()):.1e} | — | "
                "ours against itself |",
            ]

        reports.append(report_deletion)

    def report(results: dict) -> list[str]:
        return [line for make in reports for line in make(results)]

    return runs, rows, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", nargs="+", default=list(CHECKS), choices=CHECKS)
    parser.add_argument("--repeats", type=int, default=5, help="timed runs of each (median)")
    parser.add_argument("--steps", type=int, default=21, help="deletion steps (a multiple of 3)")
    parser.add_argument("--size", type=int, default=224, help="input side in pixels")
    parser.add_argument(
        "--batch-size", type=int, default=32, help="deletion_insertion's batch_size (its default)"
    )
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    parser.add_argument("--quick", action="store_true", help="112 px and 2 repeats")
    args = parser.parse_args()
    if args.quick:
        args.size, args.repeats = 112, 2
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore", module="quantus")

    model = models.default_model()
    image = models.default_transform(args.size)(models.sample_image()).unsqueeze(0)
    with torch.no_grad():
        label = int(model(image).argmax())
    runs, rows, report = runs_and_rows(model, image, label, args)

    print(
        f"# {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, "
        f"torch {torch.__version__}, Quantus {quantus.__version__}, "
        f"{torch.get_num_threads()} threads, {os.cpu_count()} CPUs, "
        f"{platform.machine()}, load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"# default model, input {args.size}px, class {label}, gradient maps; median of "
        f"{args.repeats} (min-max) after one warm-up; ratio = median ours / median Quantus; "
        f"'within noise' = ratio <= {1 + TOLERANCE:.2f}; paired = per-round ratios",
        flush=True,
    )
    results = {key: run() for key, run in runs.items()}  # warm-up, and the results compared
    print("# warm-up done", file=sys.stderr, flush=True)
    times = interleaved(runs, args.repeats, seed=0, log=True)
    print(
        "| check | work compared | ours ms | Quantus ms | ratio | paired | ≤ 1.0? |\n"
        "|---|---|---|---|---|---|---|"
    )
    for row in rows:
        ours, theirs = times[row.ours], times[row.quantus]
        ratio = statistics.median(ours) / statistics.median(theirs)
        paired = [a / b for a, b in zip(ours, theirs, strict=True)]
        print(
            f"| {row.check} | {row.work} | {spread(ours, decimals=0)} "
            f"| {spread(theirs, decimals=0)} | {ratio:.2f} "
            f"| {min(paired):.2f}-{max(paired):.2f} | {verdict(ratio)} |"
        )
    print(
        "\n| check | result | flashwidget | Quantus | note |\n|---|---|---|---|---|\n"
        + "\n".join(report(results))
    )
    print(f"# done, load average {os.getloadavg()[0]:.1f}", flush=True)


if __name__ == "__main__":
    main()
