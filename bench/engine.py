"""Benchmark the Backprop engine against Captum, in one process, on the same inputs.

For each model it prints the median time of one map by flashwidget and by Captum (vanilla:
``Saliency(abs=False)``; guided: ``GuidedBackprop``), their ratio, and the time of five classes
for one image in one call against five single calls. Runs alternate between the two peers so that
drift in the machine's speed hits both alike, in an order shuffled each round so that neither
always runs first.

    .venv/bin/python bench/engine.py                 # all models, 224 px, markdown table
    .venv/bin/python bench/engine.py --models default resnet18 --repeats 5
"""

from __future__ import annotations

import argparse
import platform
import random
import statistics
import time
from collections.abc import Callable

import torch
import torchvision
from captum.attr import GuidedBackprop, Saliency

from flashwidget import Backprop, models

MODEL_NAMES = ("default", "alexnet", "vgg11", "resnet18", "densenet121", "mobilenet_v2")
FIVE_CLASSES = [0, 1, 2, 3, 4]


def build(name: str) -> torch.nn.Module:
    if name == "default":
        return models.default_model()
    torch.manual_seed(0)
    return torchvision.models.get_model(name, weights=None).eval()


def interleaved_medians(runs: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Median of each run, taking one sample of each per round, in a shuffled order."""
    for run in runs.values():  # warm-up: allocator, kernels, lazy initialisation
        run()
    order = random.Random(0)
    samples: dict[str, list[float]] = {key: [] for key in runs}
    keys = list(runs)
    for _ in range(repeats):
        order.shuffle(keys)
        for key in keys:
            start = time.perf_counter()
            runs[key]()
            samples[key].append(time.perf_counter() - start)
    return {key: statistics.median(values) for key, values in samples.items()}


def bench_model(name: str, size: int, repeats: int) -> dict[str, float]:
    model = build(name)
    image = models.default_transform(size)(models.sample_image()).unsqueeze(0)
    ours = Backprop(model)
    saliency, guided_backprop = Saliency(model), GuidedBackprop(model)
    target = 0

    def captum_input() -> torch.Tensor:
        return image.clone().requires_grad_(True)

    runs = {
        "ours vanilla": lambda: ours.calculate_gradients(image, target),
        "captum vanilla": lambda: saliency.attribute(captum_input(), target=target, abs=False),
        "ours guided": lambda: ours.calculate_gradients(image, target, guided=True),
        "captum guided": lambda: guided_backprop.attribute(captum_input(), target=target),
        "five in one call": lambda: ours.calculate_gradients(image, FIVE_CLASSES),
        "five single calls": lambda: [ours.calculate_gradients(image, k) for k in FIVE_CLASSES],
    }
    return interleaved_medians(runs, repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(MODEL_NAMES), choices=MODEL_NAMES)
    parser.add_argument("--size", type=int, default=224, help="input side in pixels")
    parser.add_argument("--repeats", type=int, default=9, help="timed runs of each (median)")
    args = parser.parse_args()

    print(
        f"# torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"{platform.processor() or platform.machine()}, input {args.size}px, "
        f"median of {args.repeats}"
    )
    print(
        "| model | vanilla ms (ours / Captum) | ratio | guided ms (ours / Captum) | ratio "
        "| 5 classes: one call / 5 singles ms | ratio |"
    )
    print("|---|---|---|---|---|---|---|")
    for name in args.models:
        t = {key: value * 1000 for key, value in bench_model(name, args.size, args.repeats).items()}
        print(
            f"| {name} "
            f"| {t['ours vanilla']:.1f} / {t['captum vanilla']:.1f} "
            f"| {t['ours vanilla'] / t['captum vanilla']:.2f} "
            f"| {t['ours guided']:.1f} / {t['captum guided']:.1f} "
            f"| {t['ours guided'] / t['captum guided']:.2f} "
            f"| {t['five in one call']:.1f} / {t['five single calls']:.1f} "
            f"| {t['five in one call'] / t['five single calls']:.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
