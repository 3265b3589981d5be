"""Benchmark ``flashwidget.batch.explain_dataset`` against a plain loop of Captum calls, and the
``flashwidget batch`` command's scaling from one process to two under torchrun.

Why: a batch job is worth having only if it explains a data set at least as fast as the loop a
user would write with Captum, although it also writes every map (8-bit PNG), the image under it
(JPEG) and an index, each file durably (fsync), so that a killed job can resume. And splitting
the job across processes should speed it up about as much as the hardware allows.

Data: ``--images`` JPEGs cut from matplotlib's sample photo (random crop, rotation, mirror or
flip, size), in four class folders, in a temporary folder. Model: the embedded default
(``models.default_classifier()``: EfficientNet-Lite0, its transform and ImageNet's labels).

In one process (torch's default threads, or ``--threads``), interleaved rounds in a shuffled
order, each run into a fresh output folder (a folder holding the same job would be resumed, i.e.
skipped):

- ours: ``explain_dataset(model, data, out, method, options={"steps": S} for IG,
  batch_size=B, progress=False, labels=..., transform=...)``;
- Captum: a ``DataLoader`` over torchvision's ``ImageFolder`` of the same files, the same
  transform and batch size; per batch the top-1 class from a ``no_grad`` forward pass, then
  ``Saliency(model).attribute(x, target, abs=False)`` or ``IntegratedGradients(model)
  .attribute(x, target, n_steps=S, internal_batch_size=ours')``; the maps are dropped;
- Captum + np.save: the same, and each map (3, H, W) saved as float16 with ``np.save``, one
  file per image, no fsync: a fair count of the writing that ours does too.

Before timing, each runs once on a folder of B other images (warm-up); there, ours' stored maps
(decoded) are compared with the channel sums of Captum's saved maps ("agree": largest difference
over the largest value; the 8-bit encoding allows up to about 1/127).

Scaling (``--skip-scaling`` to leave it out): ``python -m flashwidget batch DATA --out fresh
--batch-size B --no-progress --method M``, M the first method asked for, on ``--scaling-images``
images (more than in one process: start-up takes seconds), as one process with torch's default
threads, as one process with ``OMP_NUM_THREADS=1``, and as two processes under ``python -m
torch.distributed.run --standalone --nproc_per_node=2`` (gloo on a CPU machine; torchrun gives
each process ``OMP_NUM_THREADS=1``). Each runs on that data and on 2 * B images (one batch a
process), interleaved; the difference gives the time an image costs once the processes are
started and the model is loaded (per round: (t(all) - t(2B)) / (N - 2B)), and the rest of t(2B)
is the fixed cost (interpreter, imports, model, rendezvous).

    .venv/bin/python bench/batch.py                 # both methods: about 11 min on 2 idle cores
    .venv/bin/python bench/batch.py --quick         # smoke check (not a measurement): under 1 min
    .venv/bin/python bench/batch.py --method gradient --threads 1 --skip-scaling --repeats 5

On a shared machine, torch's two threads slow down by several times when another job takes a
core (docs/benchmarks.md, threads section); ``--threads 1`` gives steadier in-process ratios.
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path

import captum
import numpy as np
import torch
from captum.attr import IntegratedGradients, Saliency
from PIL import Image, ImageOps
from timing import TOLERANCE, interleaved, verdict
from torch.utils.data import DataLoader
from torchvision.datasets import ImageFolder

from flashwidget import methods, models
from flashwidget.batch import explain_dataset
from flashwidget.batch.results import Results

METHODS = ("gradient", "integrated_gradients")
CLASSES = 4


def make_images(folder: Path, count: int, seed: int) -> None:
    """``count`` JPEGs of varied sizes and framings cut from the sample photo, in class folders."""
    photo = models.sample_image()
    rng = random.Random(seed)
    for i in range(count):
        fraction = rng.uniform(0.55, 1.0)
        width, height = round(photo.width * fraction), round(photo.height * fraction)
        left, top = rng.randint(0, photo.width - width), rng.randint(0, photo.height - height)
        image = photo.crop((left, top, left + width, top + height))
        image = image.rotate(rng.uniform(-25, 25), Image.BILINEAR, fillcolor=(128, 128, 128))
        if rng.random() < 0.5:
            image = ImageOps.mirror(image)
        if rng.random() < 0.2:
            image = ImageOps.flip(image)
        scale = rng.uniform(256, 480) / min(image.size)
        image = image.resize((round(image.width * scale), round(image.height * scale)))
        path = folder / f"class{i % CLASSES}" / f"{i:05d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        image.save(path, quality=90)


def captum_loop(
    classifier: models.Classifier,
    data: Path,
    method: str,
    batch_size: int,
    steps: int,
    internal_batch_size: int | None,
    out: Path | None,
) -> None:
    """The loop a user writes with Captum: top-1 class, then its map, batch by batch; with
    ``out``, each map saved as float16 (numbered in the loader's order)."""
    model = classifier.model
    loader = DataLoader(ImageFolder(data, transform=classifier.transform), batch_size=batch_size)
    saliency, integrated = Saliency(model), IntegratedGradients(model)
    if out is not None:
        out.mkdir(parents=True)
    count = 0
    for x, _ in loader:
        with torch.no_grad():
            target = model(x).argmax(dim=1)
        if method == "gradient":
            maps = saliency.attribute(x, target=target, abs=False)
        else:
            maps = integrated.attribute(
                x, target=target, n_steps=steps, internal_batch_size=internal_batch_size
            )
        if out is not None:
            for one in maps.detach().to(torch.float16).numpy():
                np.save(out / f"{count:07d}.npy", one)
                count += 1


def agreement(ours: Path, data: Path, captum_out: Path) -> float:
    """Largest |ours' stored map - channel sum of Captum's| over the largest |Captum's| value."""
    numbered = {
        Path(path).relative_to(data).as_posix(): i
        for i, (path, _) in enumerate(ImageFolder(data).samples)
    }
    results = Results(ours)
    worst = 0.0
    for row in results.rows:
        theirs = np.load(captum_out / f"{numbered[row['source']]:07d}.npy").astype(np.float32)
        theirs = theirs.sum(axis=0)
        difference = np.abs(results.map_values(row) - theirs).max()
        worst = max(worst, float(difference / np.abs(theirs).max()))
    return worst


def rate(seconds: list[float], images: int) -> str:
    """Images per second: median (min-max) over rounds."""
    rates = [images / s for s in seconds]
    return f"{statistics.median(rates):.1f} ({min(rates):.1f}-{max(rates):.1f})"


def fresh_folders(work: Path, name: str) -> Callable[[], Path]:
    """A new, not yet existing output folder under ``work`` at each call."""
    numbers = itertools.count()
    return lambda: work / f"{name}-{next(numbers)}"


def compare(
    classifier: models.Classifier,
    method: str,
    data: Path,
    warm: Path,
    work: Path,
    args: argparse.Namespace,
) -> list[str]:
    """The table rows of ours against the Captum loop for ``method``."""
    options, internal = {}, None
    if method == "integrated_gradients":
        options = {"steps": args.steps}
        internal = methods.get(method, classifier.model, **options).internal_batch_size
    ours_out, captum_out = (
        fresh_folders(work, f"ours-{method}"),
        fresh_folders(work, f"captum-{method}"),
    )

    def ours(folder: Path, out: Path) -> None:
        explain_dataset(
            classifier.model,
            folder,
            out,
            method=method,
            options=options,
            batch_size=args.batch_size,
            progress=False,
            labels=classifier.labels,
            transform=classifier.transform,
        )

    def peer(folder: Path, out: Path | None) -> None:
        captum_loop(classifier, folder, method, args.batch_size, args.steps, internal, out)

    warm_ours, warm_captum = ours_out(), captum_out()
    ours(warm, warm_ours)
    peer(warm, warm_captum)
    agree = agreement(warm_ours, warm, warm_captum)
    runs: dict[str, Callable[[], object]] = {
        "ours": lambda: ours(data, ours_out()),
        "Captum": lambda: peer(data, None),
        "Captum + np.save": lambda: peer(data, captum_out()),
    }
    times = interleaved(runs, args.repeats, seed=0, log=True)
    lines = []
    for name in ("Captum", "Captum + np.save"):
        ratio = statistics.median(times[name]) / statistics.median(times["ours"])
        paired = [p / o for o, p in zip(times["ours"], times[name], strict=True)]
        lines.append(
            f"| {method} | {name} | {rate(times['ours'], args.images)} "
            f"| {rate(times[name], args.images)} | {ratio:.2f} "
            f"| {min(paired):.2f}-{max(paired):.2f} | {verdict(1 / ratio)} | {agree:.1e} |"
        )
    return lines


# (name, OMP_NUM_THREADS or None for torch's default, processes). torchrun sets
# OMP_NUM_THREADS=1 in each process it starts, unless it is set already.
SETUPS = (
    ("1 process, default threads", None, 1),
    ("1 process, OMP_NUM_THREADS=1", "1", 1),
    ("2 processes (torchrun), 1 thread each", None, 2),
)


def cli_run(
    data: Path, images: int, processes: int, threads: str | None, out: Callable[[], Path], args
) -> Callable[[], None]:
    """A run of ``flashwidget batch`` on ``data`` (``images`` images) into a fresh folder."""
    environment = {key: value for key, value in os.environ.items() if key != "OMP_NUM_THREADS"}
    if threads is not None:
        environment["OMP_NUM_THREADS"] = threads
    method = args.methods[0]
    job = ["-m", "flashwidget", "batch", str(data), "--batch-size", str(args.batch_size)]
    job += ["--no-progress", "--method", method]
    if method == "integrated_gradients":
        job += ["--steps", str(args.steps)]
    if processes > 1:
        launcher = ["-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}"]
        job = launcher + job

    def run() -> None:
        done = subprocess.run(
            [sys.executable, *job, "--out", str(out())],
            env=environment,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0 or f"explained {images} of {images} images" not in done.stdout:
            raise RuntimeError(f"{' '.join(job)} failed:\n{done.stdout}\n{done.stderr}")

    return run


def scaling(work: Path, args: argparse.Namespace) -> list[str]:
    """The table rows of the command line's three set-ups, on ``--scaling-images`` images and
    on 2 * B of them."""
    images, few = args.scaling_images, 2 * args.batch_size
    data, small = work / "scaling", work / "scaling-few"
    make_images(data, images, seed=2)
    make_images(small, few, seed=2)
    runs: dict[str, Callable[[], object]] = {}
    for name, threads, processes in SETUPS:
        out = fresh_folders(work, f"cli-{processes}-{threads}")
        runs[f"{name} full"] = cli_run(data, images, processes, threads, out, args)
        runs[f"{name} few"] = cli_run(small, few, processes, threads, out, args)
    times = interleaved(runs, args.repeats, seed=0, log=True)
    per_image = {  # seconds an image costs once started, per round
        name: [
            (full - part) / (images - few)
            for full, part in zip(times[f"{name} full"], times[f"{name} few"], strict=True)
        ]
        for name, _, _ in SETUPS
    }
    lines = [
        f"\n# flashwidget batch --method {args.methods[0]}, batches of {args.batch_size}: wall "
        f"seconds of the whole command on {images} and on {few} images; per image = (t({images})"
        f" - t({few})) / {images - few}, per round; start-up = t({few}) minus {few} images at "
        "that cost; speed-ups are ratios of medians, to the first row's (wall) and to the first "
        "and second rows' (after start-up)",
        f"| set-up | wall s, {images} | images/s, wall | wall s, {few} | start-up s "
        "| ms per image | images/s after start-up | speed-up, wall "
        "| speed-up after start-up, to row 1 / row 2 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    first, second = (statistics.median(per_image[name]) for name, _, _ in SETUPS[:2])
    for name, _, _ in SETUPS:
        full, part, each = times[f"{name} full"], times[f"{name} few"], per_image[name]
        fixed = [p - few * e for p, e in zip(part, each, strict=True)]
        wall = statistics.median(times[f"{SETUPS[0][0]} full"]) / statistics.median(full)
        after = statistics.median(each)
        lines.append(
            f"| {name} | {seconds(full)} | {rate(full, images)} | {seconds(part)} "
            f"| {seconds(fixed)} | {seconds(each, 1000)} | {rate(each, 1)} | {wall:.2f} "
            f"| {first / after:.2f} / {second / after:.2f} |"
        )
    return lines


def seconds(values: list[float], unit: float = 1.0) -> str:
    """Median (min-max) of ``values`` times ``unit`` (1000 for milliseconds)."""
    scaled = [v * unit for v in values]
    return f"{statistics.median(scaled):.2f} ({min(scaled):.2f}-{max(scaled):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=64, help="images in the data")
    parser.add_argument("--batch-size", type=int, default=16, help="images a batch, both sides")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved rounds (median)")
    parser.add_argument("--method", choices=(*METHODS, "all"), default="all")
    parser.add_argument("--steps", type=int, default=16, help="Integrated Gradients' steps")
    parser.add_argument(
        "--threads", type=int, default=None, help="torch.set_num_threads in this process"
    )
    parser.add_argument(
        "--scaling-images",
        type=int,
        default=192,
        help="images in the scaling runs' data (more than in-process: start-up is seconds)",
    )
    parser.add_argument("--skip-scaling", action="store_true", help="no command-line runs")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke check: 16 images, batches of 4, 1 round, gradient only (overrides those)",
    )
    args = parser.parse_args()
    if args.quick:
        args.images, args.scaling_images, args.batch_size, args.repeats = 16, 16, 4, 1
        args.method = "gradient"
    args.methods = list(METHODS) if args.method == "all" else [args.method]
    if not args.skip_scaling and args.scaling_images <= 2 * args.batch_size:
        parser.error("scaling needs --scaling-images > 2 * --batch-size (it also times 2 * B)")

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    started = datetime.datetime.now(datetime.timezone.utc)
    print(
        f"# {started:%Y-%m-%d %H:%M} UTC, torch {torch.__version__}, Captum {captum.__version__}, "
        f"{torch.get_num_threads()} threads, {os.cpu_count()} CPUs, {platform.machine()}, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"# {args.images} images, batches of {args.batch_size}, {args.repeats} interleaved "
        f"rounds after a warm-up; IG: {args.steps} steps, gausslegendre"
    )
    # Captum's Saliency says on every call that it sets requires_grad on its input.
    warnings.filterwarnings("ignore", message="Input Tensor 0 did not already require gradients")
    classifier = models.default_classifier()
    with tempfile.TemporaryDirectory(prefix="flashwidget-bench-batch-") as folder:
        work = Path(folder)
        data = work / "data"
        make_images(data, args.images, seed=0)
        print(
            "# images/s: median (min-max) over rounds; ratio = ours' images/s over the "
            "peer's (median times); paired = per-round ratios; 'not slower' = time ratio <= "
            f"{1 + TOLERANCE:.2f}; agree = max|ours' stored map - Captum's channel sum| / "
            "max|Captum's| on the warm-up images\n"
            "| method | peer | ours images/s | peer images/s | ours / peer | paired "
            "| not slower? | agree |\n|---|---|---|---|---|---|---|---|",
            flush=True,
        )
        warm = work / "warm-up"
        make_images(warm, args.batch_size, seed=1)
        for method in args.methods:
            print("\n".join(compare(classifier, method, data, warm, work, args)), flush=True)
        if not args.skip_scaling:
            print("\n".join(scaling(work, args)), flush=True)
    minutes = (datetime.datetime.now(datetime.timezone.utc) - started).total_seconds() / 60
    print(f"# done in {minutes:.1f} min, load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
