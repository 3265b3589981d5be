"""Checks as stepwise work: a generator that yields ``(done, total)`` after each unit of work (a
map, or a batch of forward passes) and returns its result.

One form serves both callers. A function call runs the steps to the end, reporting progress
(:func:`finish`); the widget runs them a step at a time between the user's requests, so a check
of many seconds never holds the kernel for more than one step, and it drops the rest when the
class or method changes (:class:`flashwidget.trust.check.MapCheck`).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TypeVar

T = TypeVar("T")
Steps = Generator[tuple[int, int], None, T]


def finish(work: Steps[T], progress: Callable[[float], None] | None = None) -> T:
    """Run ``work`` to its end and return its result, calling ``progress`` with the fraction
    done after each step."""
    while True:
        try:
            done, total = next(work)
        except StopIteration as end:
            return end.value
        if progress is not None:
            progress(done / total)
