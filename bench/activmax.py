"""Time per optimisation step of feature visualisation: flashwidget's ``render`` against
FlashTorch-style plain ascent and torch-lucent's ``render_vis``, in one process.

On the embedded default model (EfficientNet-Lite0), at each ``--sizes`` (128 and 224 px) and for
two objectives, a middle layer's channel (``blocks.4``, channel 10: the forward pass can stop
there) and a class logit (goldfish, 1: the whole model runs), it times:

- render: ``flashwidget.activmax.render(model, objective, size=size, steps=steps)``, Fourier
  parameterisation, decorrelated colour, Lucid's standard transforms, Adam (the defaults);
- plain: FlashTorch's algorithm, ``GradientAscent(model, img_size=size).optimize(layer, index,
  num_iter=steps)``: pixel space, no transforms, one forward and backward pass per step (the
  class logit as channel 1 of the layer ``classifier``);
- lucent: ``lucent.optvis.render.render_vis(model, "blocks_4:10" or "classifier:1", param_f=lambda:
  param.image(size, fft=True, decorrelate=True), transforms=transform.standard_transforms,
  thresholds=(steps,), show_image=False, progress=False, fixed_image_size=size)``: the same
  parameterisation, transforms and optimiser (Adam, lr 0.05). ``fixed_image_size=size`` makes
  lucent feed the model ``size`` px as the others do; without it lucent upsamples anything
  smaller than 224 px to 224 px, so at 128 px it would run the model at 224 px.
  lucent is given a fresh ``copy.deepcopy`` of the model for each call, inside the timed call:
  ``render_vis`` registers a forward hook on every module and never removes them, and leaves
  the weights' gradients in ``.grad`` (it does not freeze them), so reusing one model would
  make each call slower than the last. flashwidget makes the same kind of private copy inside
  ``render`` and ``GradientAscent``, so all three pay for one copy per call;
- lucent, frozen: the same, with the copy's weights frozen (``requires_grad_(False)``), as
  flashwidget freezes its copy: how much of lucent's time goes to the weights' gradients, which
  feature visualisation never uses.

Each contender is called with 1 step and with ``--steps`` (17) steps in every round; the time
per step of a round is the difference over the extra steps, (t(17) - median t(1)) / 16 (the
median of the 1-step calls, so that one slow short call does not spoil a round), so each
call's fixed setup (the model copy, hooks, the starting image) is left out of it and reported
on its own ("setup": median t(1) minus one step). All calls are interleaved: each round times
every call once, in an order shuffled each round, so drift in the machine's speed hits every
contender alike; each is called once untimed first (warm-up). ``gc.collect()`` runs, untimed,
before each call: lucent's hooks keep each of its model copies in a reference cycle, and the
collector's pause (about 0.4 s) otherwise fell on whichever call happened to trigger it. The
ratio is render's median time per step over the contender's (as elsewhere in
docs/benchmarks.md, ours / peer: below 1.0 means flashwidget is faster); "paired" is the range
of the per-round ratios.

torch-lucent: the latest release, 0.1.8, works on torch 2.14.1 with the kornia it pins
(``kornia<=0.4.1``, which pip resolves to 0.4.1, pure Python). It does not work with a current
kornia: lucent calls ``kornia.get_rotation_matrix2d`` and ``kornia.warp_affine`` at the
package's top level, which kornia 0.6 stopped exporting (AttributeError at the first step), and
kornia 0.9 also needs the compiled ``kornia-rs``. ``pip install torch-lucent`` (with its
dependencies) leaves torch and torchvision alone and installs kornia 0.4.1 plus lucent's other
declared dependencies (decorator, future, pytest-mock, coveralls, ...). Without lucent the bench
runs the other two and says so.

    .venv/bin/python bench/activmax.py            # defaults: about 4 minutes on 2 busy cores
    .venv/bin/python bench/activmax.py --quick    # 128 px, 5 steps, 3 rounds: about 15 s

It runs on one torch thread by default (``--threads 0`` for torch's default): on a 2-core
machine shared with other jobs, two spinning OpenMP threads per process make every timing
noisy (docs/benchmarks.md, "Threads").
"""

from __future__ import annotations

import argparse
import copy
import datetime
import functools
import gc
import os
import platform
import random
import statistics
import time
import warnings
from collections.abc import Callable
from importlib.metadata import version

import numpy as np
import torch

from flashwidget import models
from flashwidget.activmax import GradientAscent, channel, class_logit, render

# kornia 0.4 calls torch.jit.script at import, which torch 2.14 deprecates with a FutureWarning
warnings.filterwarnings("ignore", category=FutureWarning)
try:
    import lucent.optvis.param as lucent_param
    import lucent.optvis.render as lucent_render
    import lucent.optvis.transform as lucent_transform
except Exception as error:  # not installed, or broken by its kornia
    LUCENT_ERROR: str | None = f"{type(error).__name__}: {error}"
else:
    LUCENT_ERROR = None

# (label, flashwidget objective, GradientAscent's (layer, index), lucent's objective)
OBJECTIVES = (
    ("channel blocks.4:10", channel("blocks.4", 10), ("blocks.4", 10), "blocks_4:10"),
    ("class_logit goldfish", class_logit("goldfish"), ("classifier", 1), "classifier:1"),
)


def contenders(model: torch.nn.Module, size: int) -> dict[tuple[str, str], Callable[[int], object]]:
    """For each objective and contender, a function of the number of steps that runs one call."""
    runs: dict[tuple[str, str], Callable[[int], object]] = {}
    for label, objective, (layer, index), lucent_objective in OBJECTIVES:

        def ours(steps: int, objective=objective):
            return render(model, objective, size=size, steps=steps)

        def plain(steps: int, layer=layer, index=index):
            return GradientAscent(model, img_size=size).optimize(
                layer, index, num_iter=steps, generator=torch.Generator().manual_seed(0)
            )

        runs[(label, "render")] = ours
        runs[(label, "plain")] = plain
        if LUCENT_ERROR is None:

            def lucent(steps: int, lucent_objective=lucent_objective, frozen=False):
                private = copy.deepcopy(model)
                if frozen:
                    private.requires_grad_(False)
                return lucent_render.render_vis(
                    private,
                    lucent_objective,
                    param_f=lambda: lucent_param.image(size, fft=True, decorrelate=True),
                    transforms=lucent_transform.standard_transforms,
                    thresholds=(steps,),
                    show_image=False,
                    progress=False,
                    fixed_image_size=size,
                )

            runs[(label, "lucent")] = lucent
            runs[(label, "lucent, frozen")] = functools.partial(lucent, frozen=True)
    return runs


def interleaved(runs: dict, lengths: tuple[int, ...], repeats: int, seed: int) -> dict:
    """Seconds of each (run, steps), one sample of each per round, in an order shuffled each
    round."""
    order = random.Random(seed)
    keys = [(key, steps) for key in runs for steps in lengths]
    samples: dict = {key: [] for key in keys}
    for _ in range(repeats):
        order.shuffle(keys)
        for key, steps in keys:
            # lucent's hooks hold its model copies in reference cycles: free them now, untimed,
            # or the collector's pause lands on whichever call happens to trigger it
            gc.collect()
            start = time.perf_counter()
            runs[key](steps)
            samples[(key, steps)].append(time.perf_counter() - start)
    return samples


def spread(values: list[float]) -> str:
    ms = [1000 * v for v in values]
    return f"{statistics.median(ms):.1f} ({min(ms):.1f}-{max(ms):.1f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 224], help="pixels")
    parser.add_argument("--steps", type=int, default=17, help="steps of the long call (> 1)")
    parser.add_argument("--repeats", type=int, default=9, help="timed rounds (median)")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch.set_num_threads (1: robust when other jobs share the cores; 0: torch's)",
    )
    parser.add_argument("--quick", action="store_true", help="128 px, 5 steps, 3 rounds")
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.steps, args.repeats = [128], 5, 3
    if args.steps < 2:
        parser.error("--steps must be at least 2")
    if args.threads:
        torch.set_num_threads(args.threads)
    versions = f"lucent unavailable ({LUCENT_ERROR})"
    if LUCENT_ERROR is None:
        np.random.seed(0)  # lucent's transforms draw from numpy's global random state
        versions = f"torch-lucent {version('torch-lucent')}, kornia {version('kornia')}"
    lengths = (1, args.steps)
    print(
        f"# {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, "
        f"torch {torch.__version__}, {versions}, "
        f"{torch.get_num_threads()} threads, {os.cpu_count()} CPUs, {platform.machine()}, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"# default model; calls of 1 and {args.steps} steps, {args.repeats} interleaved rounds "
        f"after one warm-up; ms/step = (t({args.steps}) - median t(1)) / {args.steps - 1} per "
        "round, median (min-max); setup = median t(1) - ms/step; ratio = render's median "
        "ms/step / the contender's (< 1: render faster); paired = per-round ratios"
    )
    print(
        "| size | objective | contender | ms/step | setup ms | render / contender | paired |\n"
        "|---|---|---|---|---|---|---|",
        flush=True,
    )
    model = models.default_model()
    for size in args.sizes:
        runs = contenders(model, size)
        for run in runs.values():
            run(2)  # warm-up
        times = interleaved(runs, lengths, args.repeats, seed=size)
        step: dict = {}
        setup: dict = {}
        for key in runs:
            # against the median 1-step call, so one slow short call does not spoil a round
            short = statistics.median(times[(key, 1)])
            step[key] = [(long - short) / (args.steps - 1) for long in times[(key, args.steps)]]
            setup[key] = short - statistics.median(step[key])
        for label, *_ in OBJECTIVES:
            base = step[(label, "render")]
            for name in ("render", "plain", "lucent", "lucent, frozen"):
                if (label, name) not in step:
                    continue
                mine = step[(label, name)]
                ratio = statistics.median(base) / statistics.median(mine)
                paired = [b / a for a, b in zip(mine, base, strict=True)]
                print(
                    f"| {size} | {label} | {name} | {spread(mine)} "
                    f"| {1000 * setup[(label, name)]:.0f} "
                    f"| {ratio:.2f} | {min(paired):.2f}-{max(paired):.2f} |",
                    flush=True,
                )
    print(f"# done, load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
