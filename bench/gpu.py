"""On a CUDA machine: do CPU and GPU maps agree, and how long does a map and a control change take?

    .venv/bin/python bench/gpu.py [--repeats 20]

For the default model on the sample image, and for a small CNN in training (the live use):

- agreement: the largest difference between CPU and GPU gradients, relative to the largest
  CPU gradient, for vanilla and guided maps;
- per map: the median time of ``Backprop.attribute`` on the GPU and on the CPU, and the ratio;
- per control change: the median ``compute_ms`` of a widget on the GPU model for an uncached
  class switch and a guided toggle (engine, reduction to 8-bit levels, traits set);
- per training update: the median time of ``SaliencyWidget.update(force=True)`` on the GPU;
- batch job: images a second of ``explain_dataset`` (gradient, batches of 32, maps and images
  written) on 64 images made by bench/batch.py, on the CPU and on the GPU.

Exits with status 1 when there is no CUDA device, or when the maps disagree beyond 1e-3.
``--device cpu`` runs every step with the CPU in the GPU's place: a dry run of the script itself.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
from batch import fresh_folders, make_images
from torch import nn

from flashwidget import models
from flashwidget.batch import explain_dataset
from flashwidget.saliency import Backprop
from flashwidget.widget import SaliencyWidget

TOLERANCE = 1e-3
JOB_IMAGES = 64


def median_ms(run: Callable[[], object], repeats: int, device: torch.device) -> float:
    run()  # warm-up: kernels, allocator, cuDNN autotuning
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        started = time.perf_counter()
        run()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def map_ms(
    model: nn.Module, image: torch.Tensor, guided: bool, device: torch.device, repeats: int
) -> float:
    engine = Backprop(model.to(device))
    return median_ms(lambda: engine.attribute(image, 0, guided=guided), repeats, device)


def agreement(model: nn.Module, image: torch.Tensor, guided: bool, device: torch.device) -> float:
    cpu = Backprop(model.cpu()).calculate_gradients(image, 0, guided=guided)
    gpu = Backprop(model.to(device)).calculate_gradients(image, 0, guided=guided).cpu()
    return float((cpu - gpu).abs().max() / cpu.abs().max())


def job_images_per_second(
    classifier: models.Classifier, device: torch.device, repeats: int
) -> float:
    """Images a second of ``explain_dataset`` with the classifier's model on ``device``."""
    with tempfile.TemporaryDirectory(prefix="flashwidget-gpu-batch-") as folder:
        data = Path(folder) / "data"
        make_images(data, JOB_IMAGES, seed=0)
        out = fresh_folders(Path(folder), "out")  # a folder of the same job would be resumed
        model = classifier.model.to(device)

        def job() -> None:
            explain_dataset(
                model,
                data,
                out(),
                batch_size=32,
                progress=False,
                labels=classifier.labels,
                transform=classifier.transform,
            )

        return JOB_IMAGES / median_ms(job, repeats, device) * 1000


def small_cnn() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 32, 3, padding=1),
        nn.BatchNorm2d(32),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(64, 10),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--device", default="cuda", help="cpu for a dry run of the script")
    arguments = parser.parse_args()
    repeats, gpu, cpu = arguments.repeats, torch.device(arguments.device), torch.device("cpu")
    if gpu.type == "cuda" and not torch.cuda.is_available():
        print("no CUDA device: nothing to measure", file=sys.stderr)
        return 1
    card = torch.cuda.get_device_name() if gpu.type == "cuda" else "dry run on the CPU"
    print(f"{card}; torch {torch.__version__}; {time.strftime('%F')}")

    model, transform, labels = models.default_classifier()
    image = transform(models.sample_image())
    worst = 0.0
    for guided in (False, True):
        error = agreement(model, image, guided, gpu)
        worst = max(worst, error)
        name = "guided" if guided else "vanilla"
        print(f"default model, {name}: CPU vs GPU max rel. diff {error:.2e}")

    print("\n| map of the default model | CPU ms | GPU ms | GPU / CPU |\n|---|---|---|---|")
    for guided in (False, True):
        cpu_ms, gpu_ms = (map_ms(model, image, guided, d, repeats) for d in (cpu, gpu))
        name = "guided" if guided else "vanilla"
        print(f"| {name} | {cpu_ms:.1f} | {gpu_ms:.1f} | {gpu_ms / cpu_ms:.2f} |")

    model.to(gpu)
    widget = SaliencyWidget(model, image, labels=labels)
    switches, toggles = [], []
    for target in range(repeats):  # classes 0.. are outside the sample's top-5: uncached
        widget.target = target
        switches.append(widget.compute_ms)
        widget.method = "gradient" if widget.method == "guided_backprop" else "guided_backprop"
        toggles.append(widget.compute_ms)
    print(
        f"\nwidget on the GPU: uncached class switch {statistics.median(switches):.1f} ms, "
        f"guided toggle {statistics.median(toggles):.1f} ms (median compute_ms)"
    )

    live = small_cnn().to(gpu).train()
    watcher = SaliencyWidget(live, torch.rand(3, 64, 64), labels=[str(i) for i in range(10)])
    update = median_ms(lambda: watcher.update(force=True), repeats, gpu)
    print(
        f"training update (small CNN, 64 px): {update:.1f} ms; maps stay on "
        f"{watcher.gradients.device}"
    )

    cpu_rate, gpu_rate = (
        job_images_per_second(models.default_classifier(), d, min(repeats, 5)) for d in (cpu, gpu)
    )
    print(
        f"batch job (explain_dataset, gradient, {JOB_IMAGES} images, batches of 32): "
        f"CPU {cpu_rate:.1f} images/s, GPU {gpu_rate:.1f} images/s, {gpu_rate / cpu_rate:.1f}x"
    )
    return 0 if worst <= TOLERANCE else 1


if __name__ == "__main__":
    sys.exit(main())
