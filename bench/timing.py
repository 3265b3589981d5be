"""What the benchmarks share: interleaved timing and how a ratio is reported.

Each contender runs once per round, in an order shuffled every round, so that a slow spell of
the shared machine falls on all of them alike; medians with their range are reported, and a
ratio within TOLERANCE of 1 is "within noise". Imported by the scripts in bench/ (run as
``python bench/<name>.py``, which puts this folder on the path).
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from collections.abc import Callable

TOLERANCE = 0.05  # run-to-run noise of a ratio on the shared 2-core machine (docs/benchmarks.md)


def interleaved(
    runs: dict[str, Callable[[], object]], repeats: int, seed: int, log: bool = False
) -> dict[str, list[float]]:
    """Seconds of each run, one sample of each per round, in an order shuffled each round;
    with ``log``, a line on stderr after each round."""
    order = random.Random(seed)
    samples: dict[str, list[float]] = {key: [] for key in runs}
    keys = list(runs)
    for round_ in range(1, repeats + 1):
        order.shuffle(keys)
        for key in keys:
            start = time.perf_counter()
            runs[key]()
            samples[key].append(time.perf_counter() - start)
        if log:
            print(f"# round {round_}/{repeats} done", file=sys.stderr, flush=True)
    return samples


def verdict(ratio: float) -> str:
    """Whether a ratio (ours over the peer's) meets "not slower"."""
    if ratio <= 1.0:
        return "yes"
    if ratio <= 1.0 + TOLERANCE:
        return "within noise"
    return "no"


def spread(values: list[float], decimals: int = 1) -> str:
    """Median (min-max) of seconds, in milliseconds."""
    ms = [v * 1000 for v in values]
    return f"{statistics.median(ms):.{decimals}f} ({min(ms):.{decimals}f}-{max(ms):.{decimals}f})"
