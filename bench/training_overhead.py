"""What watching costs a training step: the same training with and without ``w.update()``.

    .venv/bin/python bench/training_overhead.py [--steps 200] [--repeats 5]

Trains ``flashwidget.shapes.small_cnn`` on generated shapes (batch 32, 64 px, one CPU thread)
and prints the median time of a step alone, with ``w.update(step=i)`` after every step at the
default rate limit (0.25 s), and with a forced update after every step (the worst case: a map
each step); the median shows a typical step, the mean the cost spread over all steps. Runs
alternate, in the same process, on the same batches.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

from flashwidget.shapes import CLASSES, make_shapes, small_cnn
from flashwidget.widget import SaliencyWidget


def step_times(mode: str, images: torch.Tensor, labels: torch.Tensor, steps: int) -> list[float]:
    torch.manual_seed(0)
    model = small_cnn(len(CLASSES))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    widget = None
    if mode != "alone":
        widget = SaliencyWidget(model, images[0], labels=list(CLASSES), mean=(0,) * 3, std=(1,) * 3)
    times = []
    for step in range(steps):
        batch = slice(32 * step % len(images), 32 * step % len(images) + 32)
        started = time.perf_counter()
        model.train()
        loss = nn.functional.cross_entropy(model(images[batch]), labels[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if widget is not None:
            widget.update(step=step, force=mode == "forced")
        times.append((time.perf_counter() - started) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    arguments = parser.parse_args()
    torch.set_num_threads(1)
    images, labels, _ = make_shapes(32 * 20, seed=0)
    modes = ("alone", "rate-limited", "forced")
    times: dict[str, list[float]] = {mode: [] for mode in modes}
    for _ in range(arguments.repeats):
        for mode in modes:
            times[mode] += step_times(mode, images, labels, arguments.steps)
    alone = statistics.median(times["alone"]), statistics.mean(times["alone"])
    print(f"torch {torch.__version__}, 1 thread, {arguments.steps} steps x {arguments.repeats}")
    print("| training step | median ms | mean ms | mean over alone |\n|---|---|---|---|")
    for mode in modes:
        median, mean = statistics.median(times[mode]), statistics.mean(times[mode])
        print(f"| {mode} | {median:.2f} | {mean:.2f} | {mean - alone[1]:+.2f} ms |")


if __name__ == "__main__":
    main()
