"""Explain a whole data set: ``explain_dataset`` writes every image's maps and an index to a
folder, restartably and across processes under ``torchrun``; ``flashwidget batch`` is the same
from the command line. See :mod:`flashwidget.batch.journal` for the folder's layout and
:mod:`flashwidget.batch.encoding` for how maps are stored.

``explain_dataset`` and ``Summary`` are imported on first use (PEP 562), so that reading a
result (:mod:`flashwidget.batch.results`, the HTML report) does not wait for torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flashwidget.batch.job import Summary, explain_dataset

__all__ = ["Summary", "explain_dataset"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("flashwidget.batch.job"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
