"""Long computations as stepwise work: a generator that yields ``(done, total)`` after each
unit of work (a map, a batch of forward passes, an optimisation step) and returns its result.

One form serves both kinds of caller. A function call runs the steps to the end, reporting
progress (:func:`finish`); a widget runs them a step at a time between the user's requests, so
work of many seconds never holds the kernel for more than one step, and it drops the rest when
the request changes (:class:`flashwidget.trust.MapCheck`, :func:`flashwidget.activmax.render`).
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
