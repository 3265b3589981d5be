"""Why the engine explains several classes with separate backward passes over one forward pass.

Times three ways of getting the input gradients of K classes for one image against K single
forward-and-backward passes, with plain torch (no flashwidget code), in one process:

- separate: one forward pass, K backward passes over its retained graph (the engine's choice);
- vmapped: one forward pass, one batched backward (``autograd.grad(is_grads_batched=True)``);
- expanded: the image repeated K times as a batch, one forward and one backward pass.

    .venv/bin/python bench/multiclass.py [--models default resnet18 ...] [--k 5]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable

import torch
import torchvision

from flashwidget import models

MODEL_NAMES = ("default", "resnet18", "densenet121", "mobilenet_v2", "alexnet")


def strategies(model: torch.nn.Module, image: torch.Tensor, k: int) -> dict[str, Callable]:
    classes = list(range(k))

    def fresh() -> torch.Tensor:
        return image.clone().requires_grad_(True)

    def singles():
        grads = []
        for c in classes:
            x = fresh()
            grads.append(torch.autograd.grad(model(x)[0, c], x)[0])
        return grads

    def separate():
        x = fresh()
        logits = model(x)[0]
        return [torch.autograd.grad(logits[c], x, retain_graph=True)[0] for c in classes]

    def vmapped():
        x = fresh()
        chosen = model(x)[:, classes]
        one_hot = torch.eye(k).unsqueeze(1)
        return torch.autograd.grad(chosen, x, one_hot, is_grads_batched=True)[0]

    def expanded():
        x = image.expand(k, -1, -1, -1).clone().requires_grad_(True)
        return torch.autograd.grad(model(x)[torch.arange(k), classes].sum(), x)[0]

    return {"singles": singles, "separate": separate, "vmapped": vmapped, "expanded": expanded}


def medians(runs: dict[str, Callable], repeats: int) -> dict[str, float]:
    for run in runs.values():
        run()
    keys, order = list(runs), random.Random(0)
    samples: dict[str, list[float]] = {key: [] for key in keys}
    for _ in range(repeats):
        order.shuffle(keys)
        for key in keys:
            start = time.perf_counter()
            runs[key]()
            samples[key].append(time.perf_counter() - start)
    return {key: statistics.median(values) for key, values in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(MODEL_NAMES), choices=MODEL_NAMES)
    parser.add_argument("--k", type=int, default=5, help="number of classes")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    image = models.default_transform()(models.sample_image()).unsqueeze(0)
    print(f"# {args.k} classes, ratios to {args.k} single calls, median of {args.repeats}")
    print("| model | singles ms | separate | vmapped | expanded |")
    print("|---|---|---|---|---|")
    for name in args.models:
        torch.manual_seed(0)
        model = (
            models.default_model()
            if name == "default"
            else torchvision.models.get_model(name, weights=None).eval()
        )
        t = medians(strategies(model, image, args.k), args.repeats)
        ratios = " | ".join(
            f"{t[key] / t['singles']:.2f}" for key in ("separate", "vmapped", "expanded")
        )
        print(f"| {name} | {t['singles'] * 1000:.0f} | {ratios} |", flush=True)


if __name__ == "__main__":
    main()
