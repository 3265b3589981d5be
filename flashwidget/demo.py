"""The one-line tour: ``flashwidget.demo()`` in a notebook cell."""

from __future__ import annotations

from flashwidget.widget import SaliencyWidget


def demo() -> SaliencyWidget:
    """A widget on the embedded EfficientNet-Lite0 and matplotlib's sample photograph.

    Both ship with the installed packages, so this works offline.
    """
    return SaliencyWidget()
