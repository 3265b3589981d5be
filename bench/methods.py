"""Benchmark the seven attribution methods against Captum's, in one process, on the same inputs.

For each model and method it times one map (one 224 px image, class 0) by
``flashwidget.methods.get(name, model, **options).attribute(x, 0)`` and by Captum's
implementation of the same method with the same options:

- gradient: ``Saliency(abs=False)``
- guided_backprop: ``GuidedBackprop``
- input_x_gradient: ``InputXGradient``
- smoothgrad: ``NoiseTunnel(Saliency)``, ``nt_type="smoothgrad"``, the same number of samples;
  our noise is a fraction of the image's max - min range, Captum's ``stdevs`` is absolute, so
  Captum gets ``noise * (x.max() - x.min())``
- integrated_gradients: ``IntegratedGradients``, the same ``n_steps`` and ``"gausslegendre"``,
  once with ``internal_batch_size`` equal to ours and once with Captum's default (``None``: all
  steps in one pass)
- gradcam: ``LayerGradCam(relu_attributions=True)`` at the layer our Grad-CAM picks, then
  ``LayerAttribution.interpolate(..., "bilinear")`` to the input's size
- guided_gradcam: ``GuidedGradCam(interpolate_mode="bilinear")`` at the same layer

All runs of one model are interleaved: each round times every run once, in an order shuffled
each round, so that drift in the machine's speed hits both sides alike. Each run is called once
before timing (warm-up); that call's maps are also compared with Captum's ("agree"), which is
expected only where both compute the same thing (not SmoothGrad, whose noise differs, nor guided
maps on models whose rectifiers are not ``nn.ReLU`` modules, which Captum does not hook).

    .venv/bin/python bench/methods.py                       # defaults: a few minutes on 2 cores
    .venv/bin/python bench/methods.py --models resnet18 --methods gradcam smoothgrad --repeats 9
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import captum
import torch
import torchvision
from captum.attr import (
    GuidedBackprop,
    GuidedGradCam,
    InputXGradient,
    IntegratedGradients,
    LayerAttribution,
    LayerGradCam,
    NoiseTunnel,
    Saliency,
)
from timing import TOLERANCE, interleaved, spread, verdict

from flashwidget import methods, models

MODEL_NAMES = ("default", "resnet18", "mobilenet_v2", "densenet121", "alexnet", "vgg11")
METHOD_NAMES = (
    "gradient",
    "guided_backprop",
    "input_x_gradient",
    "smoothgrad",
    "integrated_gradients",
    "gradcam",
    "guided_gradcam",
)
TARGET = 0


@dataclass
class Case:
    """One row: our run and Captum's for one method and model."""

    method: str
    ours: Callable[[], torch.Tensor]
    captum: Callable[[], torch.Tensor]
    captum_note: str = ""
    compare_maps: bool = True


def build(name: str) -> torch.nn.Module:
    if name == "default":
        return models.default_model()
    torch.manual_seed(0)
    return torchvision.models.get_model(name, weights=None).eval()


def cases(
    model: torch.nn.Module, image: torch.Tensor, wanted: list[str], args: argparse.Namespace
) -> list[Case]:
    """Our run and Captum's for each method in ``wanted``, on ``image`` for class 0."""

    def fresh() -> torch.Tensor:  # Captum sets requires_grad on its input: give it a copy
        return image.clone().requires_grad_(True)

    def ours(name: str, **options) -> Callable[[], torch.Tensor]:
        method = methods.get(name, model, **options)
        return lambda: method.attribute(image, TARGET)

    # The layer our Grad-CAM reads by default: the last one with a spatial output.
    layer_name = methods.spatial_layers(model, image)[-1][0]
    layer = model.get_submodule(layer_name)
    size = tuple(image.shape[-2:])
    stdev = args.noise * float(image.max() - image.min())
    ig = methods.get("integrated_gradients", model, steps=args.steps, rule="gausslegendre")
    ig_batch = ig.internal_batch_size  # ours' default, given to Captum as well

    saliency = Saliency(model)
    guided = GuidedBackprop(model)
    input_x_gradient = InputXGradient(model)
    noise_tunnel = NoiseTunnel(Saliency(model))
    integrated = IntegratedGradients(model)
    layer_gradcam = LayerGradCam(model, layer)
    guided_gradcam = GuidedGradCam(model, layer)

    def captum_gradcam() -> torch.Tensor:
        cam = layer_gradcam.attribute(fresh(), target=TARGET, relu_attributions=True)
        return LayerAttribution.interpolate(cam, size, interpolate_mode="bilinear")

    def captum_ig(batch: int | None) -> Callable[[], torch.Tensor]:
        return lambda: integrated.attribute(
            fresh(),
            target=TARGET,
            n_steps=args.steps,
            method="gausslegendre",
            internal_batch_size=batch,
        )

    table = {
        "gradient": [
            Case(
                "gradient",
                ours("gradient"),
                lambda: saliency.attribute(fresh(), target=TARGET, abs=False),
            )
        ],
        "guided_backprop": [
            Case(
                "guided_backprop",
                ours("guided_backprop"),
                lambda: guided.attribute(fresh(), target=TARGET),
            )
        ],
        "input_x_gradient": [
            Case(
                "input_x_gradient",
                ours("input_x_gradient"),
                lambda: input_x_gradient.attribute(fresh(), target=TARGET),
            )
        ],
        "smoothgrad": [
            Case(
                "smoothgrad",
                ours("smoothgrad", samples=args.samples, noise=args.noise),
                lambda: noise_tunnel.attribute(
                    fresh(),
                    nt_type="smoothgrad",
                    nt_samples=args.samples,
                    stdevs=stdev,
                    target=TARGET,
                    abs=False,
                ),
                compare_maps=False,
            )
        ],
        "integrated_gradients": [
            Case(
                "integrated_gradients",
                lambda: ig.attribute(image, TARGET),
                captum_ig(ig_batch),
                f"internal_batch_size={ig_batch}",
            ),
            Case(
                "integrated_gradients",
                lambda: ig.attribute(image, TARGET),
                captum_ig(None),
                "internal_batch_size=None",
            ),
        ],
        "gradcam": [Case("gradcam", ours("gradcam"), captum_gradcam)],
        "guided_gradcam": [
            Case(
                "guided_gradcam",
                ours("guided_gradcam"),
                lambda: guided_gradcam.attribute(
                    fresh(), target=TARGET, interpolate_mode="bilinear"
                ),
            )
        ],
    }
    return [case for name in wanted for case in table[name]]


def disagreement(ours: torch.Tensor, theirs: torch.Tensor) -> float:
    """max |ours - Captum| / max |Captum|: 0 up to float rounding when both compute the same."""
    theirs = theirs.detach()
    if ours.shape != theirs.shape:
        raise ValueError(f"shapes differ: ours {tuple(ours.shape)}, Captum {tuple(theirs.shape)}")
    scale = float(theirs.abs().max()) or 1.0
    return float((ours - theirs).abs().max()) / scale


def bench_model(name: str, args: argparse.Namespace) -> list[str]:
    model = build(name)
    image = models.default_transform(args.size)(models.sample_image()).unsqueeze(0)
    rows = cases(model, image, args.methods, args)
    runs: dict[str, Callable[[], object]] = {}
    agree: list[str] = []
    for i, case in enumerate(rows):
        runs[f"ours {i}"] = case.ours
        runs[f"captum {i}"] = case.captum
        ours_map, captum_map = case.ours(), case.captum()  # warm-up, and the maps compared
        agree.append(f"{disagreement(ours_map, captum_map):.1e}" if case.compare_maps else "n/a")
    times = interleaved(runs, args.repeats, seed=0)
    lines = []
    for i, case in enumerate(rows):
        ours_t, captum_t = times[f"ours {i}"], times[f"captum {i}"]
        ratio = statistics.median(ours_t) / statistics.median(captum_t)
        paired = [a / b for a, b in zip(ours_t, captum_t, strict=True)]
        method = case.method + (f" (Captum {case.captum_note})" if case.captum_note else "")
        lines.append(
            f"| {name} | {method} | {spread(ours_t)} | {spread(captum_t)} | {ratio:.2f} "
            f"| {min(paired):.2f}-{max(paired):.2f} | {verdict(ratio)} | {agree[i]} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["default", "resnet18"], choices=MODEL_NAMES)
    parser.add_argument("--methods", nargs="+", default=list(METHOD_NAMES), choices=METHOD_NAMES)
    parser.add_argument("--repeats", type=int, default=5, help="timed runs of each (median)")
    parser.add_argument("--samples", type=int, default=10, help="SmoothGrad's noisy copies")
    parser.add_argument("--noise", type=float, default=0.15, help="SmoothGrad's noise fraction")
    parser.add_argument("--steps", type=int, default=20, help="Integrated Gradients' n_steps")
    parser.add_argument("--size", type=int, default=224, help="input side in pixels")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    # Captum's GuidedBackprop warns on every call that it sets hooks on ReLU modules.
    warnings.filterwarnings("ignore", message="Setting backward hooks on ReLU")

    print(
        f"# {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, "
        f"torch {torch.__version__}, Captum {captum.__version__}, "
        f"{torch.get_num_threads()} threads, {os.cpu_count()} CPUs, "
        f"{platform.machine()}, load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"# models {' '.join(args.models)}; input {args.size}px, class {TARGET}; "
        f"median of {args.repeats} (min-max) after one warm-up; SmoothGrad samples "
        f"{args.samples}, noise {args.noise}; IG steps {args.steps}, gausslegendre"
    )
    print(
        f"# ratio = median ours / median Captum; 'within noise' = ratio <= "
        f"{1 + TOLERANCE:.2f}; paired = per-round ratios; agree = max|ours - Captum| / "
        "max|Captum| of the warm-up maps"
    )
    print(
        "| model | method | ours ms | Captum ms | ratio | paired | ≤ 1.0? | agree |\n"
        "|---|---|---|---|---|---|---|---|",
        flush=True,
    )
    for name in args.models:
        print("\n".join(bench_model(name, args)), flush=True)
    print(f"# done, load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
