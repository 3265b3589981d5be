"""How OpenMP's waiting policy and torch's thread count change the time of one map.

PyTorch's OpenMP threads spin while they wait for work (``OMP_WAIT_POLICY`` unset behaves as
ACTIVE for a while). On a 2-core machine shared with a browser, a notebook server or another
process, spinning threads compete with the ones doing the work. This script measures, for each
configuration, the time of one gradient map on the default model in a fresh process (the
policy must be set before torch is imported), idle and with ``--load`` busy processes beside
it, interleaving configurations round by round.

    .venv/bin/python bench/threads.py [--rounds 5] [--maps 10] [--load 2]
"""

from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing
import os
import random
import statistics
import subprocess
import sys
import time

CHILD = """
import json, statistics, sys, time
import torch
from flashwidget import methods, models
torch.set_num_threads(int(sys.argv[1]))
model = models.default_model()
image = models.default_transform()(models.sample_image())
gradient = methods.get("gradient", model)
gradient.attribute(image, 0)  # warm-up
times = []
for _ in range(int(sys.argv[2])):
    start = time.perf_counter()
    gradient.attribute(image, 0)
    times.append((time.perf_counter() - start) * 1000)
print(json.dumps(times))
"""


def busy(stop: multiprocessing.Event) -> None:
    """One core's worth of load: a Python loop until told to stop."""
    while not stop.is_set():
        sum(i * i for i in range(10_000))


def run(policy: str | None, threads: int, maps: int) -> list[float]:
    env = dict(os.environ)
    env.pop("OMP_WAIT_POLICY", None)
    if policy:
        env["OMP_WAIT_POLICY"] = policy
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(threads), str(maps)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--maps", type=int, default=10, help="timed maps per process")
    parser.add_argument("--load", type=int, default=2, help="busy processes for the loaded case")
    args = parser.parse_args()
    configs = list(itertools.product([None, "PASSIVE"], [1, 2]))
    print(
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {os.cpu_count()} cores; "
        f"{args.rounds} rounds x {args.maps} maps per configuration; loaded = {args.load} busy "
        "processes"
    )
    results: dict[tuple[str, str | None, int], list[float]] = {}
    for loaded in (False, True):
        stop = multiprocessing.Event()
        workers = [
            multiprocessing.Process(target=busy, args=(stop,), daemon=True)
            for _ in range(args.load if loaded else 0)
        ]
        for worker in workers:
            worker.start()
        try:
            for _ in range(args.rounds):
                for policy, threads in random.sample(configs, len(configs)):
                    key = ("loaded" if loaded else "idle", policy, threads)
                    results.setdefault(key, []).extend(run(policy, threads, args.maps))
        finally:
            stop.set()
            for worker in workers:
                worker.join()
    print("\n| machine | OMP_WAIT_POLICY | threads | median ms | p10-p90 ms |")
    print("|---|---|---|---|---|")
    order = sorted(results, key=lambda key: (key[0] != "idle", key[1] or "", key[2]))
    for state, policy, threads in order:
        times = results[state, policy, threads]
        deciles = statistics.quantiles(times, n=10)
        print(
            f"| {state} | {policy or 'unset'} | {threads} | {statistics.median(times):.1f} | "
            f"{deciles[0]:.1f}-{deciles[-1]:.1f} |"
        )


if __name__ == "__main__":
    main()
