"""What every flashwidget widget does the same way, so that each widget class holds only its
own traits and API:

- refusing a bad value from the browser with a message in ``status`` (never an exception that
  only reaches the kernel's log), and a misspelt keyword argument with close matches;
- counting the views that show it, and dispatching the view's other messages (buttons) to
  methods named in :attr:`ExplorerWidget.actions`;
- running long work in pieces on the kernel's event loop (:meth:`ExplorerWidget._in_pieces`),
  so the kernel answers the view between two pieces; one lock serialises every computation of
  the widget and every message from the view. That lock matters: ipykernel 7 with JupyterLab
  4.4 handles widget messages on a subshell thread, concurrently with the kernel's main thread,
  where the pieces run (a Stop click was seen landing in the middle of a step).
"""

from __future__ import annotations

import asyncio
import difflib
import inspect
import sys
import threading
from collections.abc import Callable
from typing import Any, ClassVar

import anywidget
import traitlets

from flashwidget.class_index import ClassIndex
from flashwidget.colormaps import colormap_lut

REFUSED = "Refused a change from the browser: "
# Seconds between two pieces of background work in a kernel: long enough for the event loop to
# read a message that arrived meanwhile and answer it first.
PAUSE = 0.01


def kernel_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop turning a Jupyter kernel's messages, when this code runs in one, on it;
    ``None`` anywhere else. A running loop alone is not enough of a sign: Playwright's
    synchronous API, for one, keeps a loop running on the main thread that nobody turns."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if getattr(shell, "kernel", None) is None:
        return None
    try:
        return asyncio.get_running_loop()
    except RuntimeError:  # a thread of the user's (training): no loop here
        return None


def in_a_kernel() -> bool:
    """Whether background work can run in pieces on a kernel's event loop here."""
    return kernel_loop() is not None


def describe(error: BaseException) -> str:
    """An exception in the words of a status line."""
    return f"{type(error).__name__}: {error}"


class ClassTarget(traitlets.Int):
    """A class index that may also be set by name (``w.target = "bow tie"``), resolved through
    the widget's class names as the constructor resolves ``target=``."""

    def validate(self, obj: Any, value: Any) -> int:
        if isinstance(value, str):
            names = getattr(obj, "labels", None)
            if not names:
                raise traitlets.TraitError(
                    f"{self.name}={value!r} is a class name, and the widget has no class names "
                    "yet; pass labels=[...] or give the class index"
                )
            try:
                value = ClassIndex(names)[value]
            except KeyError as error:
                raise traitlets.TraitError(str(error)) from None
        return super().validate(obj, value)


class ColormapName(traitlets.Unicode):
    """A matplotlib colormap name, refused when matplotlib has no such colormap (whichever side
    sets it), so that the widget never holds a name it cannot turn into a colour table."""

    def validate(self, obj: Any, value: Any) -> str:
        value = super().validate(obj, value)
        try:
            colormap_lut(value)
        except (TypeError, ValueError) as error:
            raise traitlets.TraitError(str(error)) from None
        return value


class ExplorerWidget(anywidget.AnyWidget):
    """The base of flashwidget's widgets (see the module's docstring)."""

    # Traits the browser may set; everything else is computed in Python and only shown there.
    writable: ClassVar[frozenset[str]] = frozenset()
    # Messages {"type": name} from the view, and the method each one calls.
    actions: ClassVar[dict[str, str]] = {}

    status = traitlets.Unicode("", read_only=True, help="what is shown, or what went wrong").tag(
        sync=True
    )
    error = traitlets.Unicode("", read_only=True, help="the last failure; empty if none").tag(
        sync=True
    )

    def __init__(self, **kwargs: Any) -> None:
        self._refuse_unknown_arguments(kwargs)
        self._last_status = ""
        self._lock = threading.RLock()
        self._views: int | None = None  # views open in front ends; None until one is shown
        super().__init__(**kwargs)
        self.on_msg(self._on_front_end_message)

    @classmethod
    def _refuse_unknown_arguments(cls, kwargs: dict[str, Any]) -> None:
        """A misspelt option (``guidd=True``) must not be silently ignored: traitlets would
        accept any keyword. Allowed are the constructor's own and the settable traits."""
        settable = {
            name
            for name, trait in cls.class_traits().items()
            if not trait.read_only and not name.startswith("_")
        }
        unknown = sorted(set(kwargs) - settable)
        if unknown:
            own = list(inspect.signature(cls.__init__).parameters)[1:-1]
            known = sorted(settable | set(own))
            hints = {name: difflib.get_close_matches(name, known, n=3) for name in unknown}
            described = "; ".join(
                f"{name!r} (did you mean {', '.join(close)}?)" if close else repr(name)
                for name, close in hints.items()
            )
            raise TypeError(f"{cls.__name__} got unexpected keyword argument(s) {described}")

    def set_state(self, sync_data: dict) -> None:
        """Apply changes from the browser; refuse bad ones with a message instead of raising.

        An exception here would only reach the kernel's log and leave the browser showing the
        refused value, so the refusal goes to ``status`` and the current values are sent back.
        A message with any bad value, or with any trait only Python may set, is refused whole:
        none of its values is applied (traitlets rolls back the ones it had set).
        """
        read_only = sorted(
            name for name in sync_data if name in self.keys and name not in self.writable
        )
        if read_only:
            self._refuse(sorted(sync_data), f"{', '.join(read_only)} can only be set by Python")
            return
        with self._lock:  # never in the middle of a piece of background work
            try:
                super().set_state(sync_data)
            except traitlets.TraitError as error:
                self._refuse(sorted(sync_data), str(error))
            else:
                if self.status.startswith(REFUSED):  # a good change ends a refusal's notice
                    self.set_trait("status", self._last_status)

    def _refuse(self, names: list[str], reason: str) -> None:
        self.set_trait("status", REFUSED + reason)
        self.send_state([name for name in names if name in self.keys])

    def _on_front_end_message(self, _: Any, content: Any, buffers: list) -> None:
        """Count the views (each one says when it is shown and when it is closed), and call
        the method of an action the view asks for.

        A page reload closes views without a word, so the count can only err upward, which
        costs updates nobody sees, never updates someone would miss.
        """
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "view":
            opened = 1 if content.get("shown") else -1
            self._views = max(0, (self._views or 0) + opened)
        elif kind in self.actions:
            with self._lock:
                getattr(self, self.actions[kind])()

    def _say(self, status: str) -> None:
        self._last_status = status
        self.set_trait("status", status)

    def _in_pieces(self, piece: Callable[[], bool], wanted: Callable[[], bool]) -> None:
        """Call ``piece`` until it returns ``False`` or the work is no longer ``wanted``.

        In a Jupyter kernel each call is scheduled on the kernel's event loop a moment after
        the last, holding the widget's lock only while it runs: a click that arrives meanwhile
        is answered before the next piece, not after all of them. Elsewhere the pieces run
        now, one after another, under the lock.
        """
        loop = kernel_loop()
        if loop is None:
            with self._lock:
                while wanted() and piece():
                    pass
            return

        def step() -> None:
            if not wanted():
                return
            if not self._lock.acquire(blocking=False):  # a training update is computing
                loop.call_later(PAUSE, step)
                return
            try:
                more = piece()
            finally:
                self._lock.release()
            if more:
                loop.call_later(PAUSE, step)

        loop.call_later(PAUSE, step)
