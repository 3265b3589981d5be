"""``SaliencyWidget``: explore what a classifier looks at, in any notebook that runs anywidget.

Division of labour, which is what keeps it fast: Python computes gradients and sends each map
once, as one byte per pixel, and the image once per image; the browser colours and blends them.
Moving the alpha slider therefore never leaves the browser, a colormap change sends a 1 KiB
lookup table, and the four-panel view only needs an RGB rendering of gradients already held.

Maps are computed synchronously, on the thread that delivers the widget's messages (the kernel's
main thread), one request at a time and in arrival order, so the map shown is always the one
for the latest request and no request counter is needed. A worker thread was not used because it
would run the user's model concurrently with the user's own cells: the engine switches modules
to eval mode for its forward pass, which would leak into a training step running at that moment.

Cache: the full (C, H, W) gradients of the current image, in a least-recently-used store keyed by
(class, guided); ``take_max`` is derived from them, so toggling it never recomputes. A new image,
``refresh()`` or a change of the model's weights (see :func:`weights_fingerprint`) empties it.
Prefetch: right after a map that needed the engine, the top-k classes (top_k=5 by default) that
are not cached yet for the same guided setting are computed in one more engine call, which
shares a single forward pass between them; switching among the predictions then hits the cache.

Training: ``update()``, called from a training loop (on its thread), copies the weights into a
private mirror of the model and computes the current map there; from then on every map comes
from the mirror, so the widget never touches the model being trained (see :mod:`flashwidget.live`).
One lock serialises all computing, so a browser request answered on the kernel's thread and an
update on a training thread never interleave.
"""

from __future__ import annotations

import pathlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import anywidget
import torch
import torchvision
import traitlets
from torch import nn

from flashwidget import models
from flashwidget.checks import require_positive_int
from flashwidget.colormaps import colormap_lut, colormap_names
from flashwidget.inputs import as_image_batch
from flashwidget.live import RateLimit, Snapshot, Timeline, WeightsMirror, model_tensors
from flashwidget.model_output import OutputFn
from flashwidget.pixels import gradient_rgb, image_rgba, saliency_levels
from flashwidget.saliency import Backprop
from flashwidget.utils import IMAGENET_MEAN, IMAGENET_STD, load_image

STATIC = pathlib.Path(__file__).parent / "static"
VIEWS = ("overlay", "panels")
# What the browser may change; everything else is computed in Python and only shown there.
FRONT_END_WRITABLE = frozenset(
    {"target", "guided", "take_max", "alpha", "colormap", "view", "step_index"}
)
LATEST = -1  # step_index of the newest map, which updates replace as training goes on
REFUSED = "Refused a change from the browser: "


class _LRU:
    """At most ``size`` gradients, the least recently used dropped first."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[tuple[int, bool], torch.Tensor] = OrderedDict()

    def __contains__(self, key: tuple[int, bool]) -> bool:
        return key in self._entries

    def get(self, key: tuple[int, bool]) -> torch.Tensor | None:
        if key in self._entries:
            self._entries.move_to_end(key)
        return self._entries.get(key)

    def put(self, key: tuple[int, bool], value: torch.Tensor) -> None:
        self._entries[key] = value
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()


def weights_fingerprint(model: nn.Module) -> tuple[tuple[int, int, int], ...]:
    """A cheap value that changes whenever the model's weights do (about 1 ms for 300 tensors).

    Every in-place write to a tensor (an optimizer step, ``load_state_dict``, batch norm's
    running statistics) bumps its autograd version counter; replacing a tensor or moving the
    model to another device changes its identity and data pointer. Writes through ``.data``
    bypass the version counter and go unseen: call ``refresh()`` after those.
    """
    return tuple((id(t), t.data_ptr(), t._version) for t in model_tensors(model))


def _normalisation(transform: Any) -> tuple[Sequence[float], Sequence[float]] | None:
    """Find the mean and std a transform normalises with (torchvision's presets and Compose)."""
    if hasattr(transform, "mean") and hasattr(transform, "std"):
        return transform.mean, transform.std
    for step in getattr(transform, "transforms", ()):
        found = _normalisation(step)
        if found is not None:
            return found
    return None


def _method(guided: bool, take_max: bool) -> str:
    """How a map was made, in the words of the status line."""
    method = "guided backprop" if guided else "gradients"
    return f"{method}, {'max' if take_max else 'sum of'} |gradient| over channels"


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


class SaliencyWidget(anywidget.AnyWidget):
    """Interactive saliency maps of an image classifier: pick a class, see what drives it.

    Args:
        model: an ``nn.Module`` classifier; ``None`` for the embedded EfficientNet-Lite0, whose
            transform and labels then fill in whatever is not given.
        image: a path, the bytes of an image file, a PIL image or an array, which ``transform``
            turns into the model's input; or an already transformed tensor (3, H, W) or
            (1, 3, H, W). ``None`` shows matplotlib's sample photograph.
        labels: class names, one per class. Without them a 1000-class model gets ImageNet's
            names and any other model "class 0", "class 1", ...
        transform: a callable from an RGB PIL image to the input tensor (the default model's
            preprocessing when omitted), or torchvision weights (``ResNet18_Weights.DEFAULT``),
            whose preprocessing and category names are then used.
        weights: the same as passing torchvision weights as ``transform``.
        target: the class to explain first (index or name); ``None`` for the top prediction.
        top_k: how many predictions to list, and to prefetch maps for.
        output_fn: picks the logits out of a model output that is not a tensor.
        mean, std: the normalisation to undo when showing a tensor; found in the transform
            when it has them (torchvision presets, ``Compose`` with ``Normalize``), otherwise
            ImageNet's.
        cache_size: how many maps (full gradients) to keep for the current image.
        history: how many snapshots ``update()`` keeps for the step slider (oldest dropped).
        update_interval: the least time in seconds between two ``update()`` computations;
            calls in between return at once.
        **kwargs: initial values of the other traits (guided, take_max, alpha, colormap, view).
    """

    _esm = STATIC / "widget.js"
    _css = STATIC / "widget.css"

    # Set from the browser or from Python.
    target = traitlets.Int(0, help="index of the class explained").tag(sync=True)
    guided = traitlets.Bool(False, help="guided backpropagation").tag(sync=True)
    take_max = traitlets.Bool(
        True, help="max |gradient| over channels; False: sum of |gradient| over channels"
    ).tag(sync=True)
    alpha = traitlets.Float(0.5, min=0.0, max=1.0, help="opacity of the map").tag(sync=True)
    colormap = traitlets.Unicode("viridis", help="a matplotlib colormap name").tag(sync=True)
    view = traitlets.Enum(VIEWS, default_value="overlay").tag(sync=True)
    step_index = traitlets.Int(
        LATEST, help="which snapshot of training to show: an index into steps, or -1 for the newest"
    ).tag(sync=True)

    # Set by Python only (read-only to users; refused when the browser sends them).
    predictions = traitlets.List(
        traitlets.Dict(), read_only=True, help="top-k: {index, label, probability}, best first"
    ).tag(sync=True)
    labels = traitlets.List(traitlets.Unicode(), read_only=True, help="every class name").tag(
        sync=True
    )
    colormap_names = traitlets.List(traitlets.Unicode(), read_only=True).tag(sync=True)
    status = traitlets.Unicode("", read_only=True, help="what is shown, or what went wrong").tag(
        sync=True
    )
    error = traitlets.Unicode("", read_only=True, help="the last failure; empty if none").tag(
        sync=True
    )
    image_bytes = traitlets.Bytes(
        b"", read_only=True, help="the model's input, denormalised: H*W*4 RGBA bytes"
    ).tag(sync=True)
    image_shape = traitlets.List(traitlets.Int(), read_only=True, help="[H, W]").tag(sync=True)
    map_bytes = traitlets.Bytes(
        b"",
        read_only=True,
        help="H*W colormap levels: |gradient| reduced over channels, divided by its 99th "
        "percentile, clipped to [0, 1], quantised as matplotlib does (pixels.saliency_levels)",
    ).tag(sync=True)
    map_shape = traitlets.List(traitlets.Int(), read_only=True, help="[H, W]").tag(sync=True)
    gradient_rgb_bytes = traitlets.Bytes(
        b"", read_only=True, help="panels view only: standardised gradients, H*W*3 RGB bytes"
    ).tag(sync=True)
    lut_bytes = traitlets.Bytes(
        b"", read_only=True, help="the colormap: 256 RGBA colours, one per level"
    ).tag(sync=True)
    steps = traitlets.List(
        traitlets.Unicode(), read_only=True, help="labels of the snapshots kept by update()"
    ).tag(sync=True)
    compute_ms = traitlets.Float(
        0.0, read_only=True, help="time to produce the last map, engine included on a miss"
    ).tag(sync=True)

    def __init__(
        self,
        model: nn.Module | None = None,
        image: Any = None,
        *,
        labels: Sequence[str] | None = None,
        transform: Callable[[Any], torch.Tensor] | torchvision.models.WeightsEnum | None = None,
        weights: torchvision.models.WeightsEnum | None = None,
        target: int | str | None = None,
        top_k: int = 5,
        output_fn: OutputFn | None = None,
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
        cache_size: int = 64,
        history: int = 50,
        update_interval: float = 0.25,
        **kwargs: Any,
    ) -> None:
        if weights is not None:
            if transform is not None:
                raise TypeError("pass torchvision weights as weights= or transform=, not both")
            transform = weights
        require_positive_int(top_k, "top_k")
        require_positive_int(cache_size, "cache_size")
        self._active = False  # map requests wait until the model and image are in place
        self._num_classes: int | None = None
        self._current: torch.Tensor | None = None
        self._last_status = ""
        self._lock = threading.RLock()
        self._views: int | None = None  # views open in front ends; None until one is shown
        self._timeline = Timeline(history)
        self._rate = RateLimit(update_interval)
        super().__init__(**kwargs)

        if isinstance(transform, torchvision.models.WeightsEnum):
            labels = list(transform.meta["categories"]) if labels is None else labels
            transform = transform.transforms()
        if model is None:
            model = models.default_model()
            labels = models.imagenet_labels() if labels is None else labels
        transform = models.default_transform() if transform is None else transform
        found = _normalisation(transform) or (IMAGENET_MEAN, IMAGENET_STD)
        self._mean = found[0] if mean is None else mean
        self._std = found[1] if std is None else std
        self._transform = transform
        self._model = model
        self._backprop = Backprop(model, labels=labels, output_fn=output_fn)
        self._output_fn = output_fn
        self._mirror = WeightsMirror(model)
        self._following = False  # True once update() has been called: maps use the mirror
        self._top_k = top_k
        self._cache = _LRU(cache_size)
        self._fingerprint: tuple | None = None
        self._top_classes: list[int] = []
        self._input: torch.Tensor | None = None
        self._first_target: int | str | None = None
        self._fresh_image = False
        if labels is not None:
            self._set_labels(list(labels))
        self.set_trait("colormap_names", colormap_names())
        self.set_trait("lut_bytes", colormap_lut(self.colormap).tobytes())
        self._active = True
        self.on_msg(self._on_front_end_message)
        self.set_image(models.sample_image() if image is None else image, target=target)

    # Public API ---------------------------------------------------------------------------

    @property
    def gradients(self) -> torch.Tensor:
        """The current map's gradients (C, H, W): a detached copy, on the model's device."""
        if self._current is None:
            raise RuntimeError(f"no map is shown: {self.error or 'none has been computed yet'}")
        return self._current.clone()

    def set_image(self, image: Any, target: int | str | None = None) -> None:
        """Show and explain a new image (anything the constructor accepts as ``image``).

        ``target`` is the class to explain (index or name); ``None`` for the image's top
        prediction. An image that cannot be read or transformed raises, and the widget keeps
        the previous one; a model that fails on the new image shows the error in ``status``.
        """
        try:
            batch = self._to_input(image)
            pixels, shape = image_rgba(batch[0], self._mean, self._std)
        except Exception as error:
            self._show_error(f"could not use this image: {_describe(error)}")
            raise
        with self._lock:
            self._input = batch
            self._forget_maps()
            self._timeline.clear()
            self.set_trait("steps", [])
            self._first_target, self._fresh_image = target, True
            with self.hold_sync():  # image and map reach the browser in one message
                self.set_trait("image_bytes", pixels)
                self.set_trait("image_shape", shape)
                self.set_trait("step_index", LATEST)
                shown = self._explain()
            if shown:
                self._prefetch()

    def refresh(self) -> None:
        """Forget every cached map and recompute the current one with the model as it is now.

        Weight changes are noticed on their own (see :func:`weights_fingerprint`); call this
        after changes that cannot be, such as writes through ``parameter.data``. Once
        ``update()`` has been used, this is ``update(force=True)``: call it when no other thread
        is changing the weights.
        """
        if self._following:
            self.update(force=True)
            return
        self._fingerprint = None
        self._update()

    def update(self, step: Any = None, *, force: bool = False) -> bool:
        """Show the current map computed with the model's weights as they are now.

        Call it from a training loop, after an optimizer step or an epoch, on the thread that
        trains. It copies the weights into a private mirror of the model and computes only what
        is shown (the selected class, guided or not); the other classes are computed from the
        same mirror when the view asks for them. The model being trained is only read: its
        mode, ``requires_grad`` flags, ``.grad``, buffers and the random number generators are
        left as they were, so training is bit-identical with or without the widget.

        Cheap to call every step: it returns ``False`` at once, computing nothing, when the last
        update was less than ``update_interval`` seconds ago, when the widget is busy answering
        the view (the next call catches up), or when every view of the widget has been closed
        (a widget never displayed still updates, for use from Python). ``force=True`` always
        updates, waiting for the widget if needed. Each update keeps a snapshot (``step``
        label, predictions, map) for the view's step slider; the newest ``history`` are kept.

        Returns whether the map was updated.
        """
        if not force and (self._views == 0 or not self._rate.ready()):
            return False
        if not self._lock.acquire(blocking=force):
            return False
        try:
            self._rate.mark()
            self._follow_mirror()
            label = str(len(self._timeline) if step is None else step)
            return self._explain(record_step=label)
        finally:
            self._lock.release()

    def _follow_mirror(self) -> None:
        """Copy the live weights into the mirror and compute on it from now on."""
        mirror = self._mirror.refresh()
        if not self._following or self._backprop.model is not mirror:
            labels = list(self.labels) or None
            self._backprop = Backprop(mirror, labels=labels, output_fn=self._output_fn)
        self._following = True
        self._forget_maps()

    # Requests from the traits -------------------------------------------------------------

    @traitlets.validate("target")
    def _check_target(self, proposal: dict) -> int:
        value = proposal["value"]
        if isinstance(value, bool):
            raise traitlets.TraitError(f"target must be a class index (int), not {value!r}")
        limit = self._num_classes
        if value < 0 or (limit is not None and value >= limit):
            bounds = f"0 <= target < {limit}" if limit is not None else "target >= 0"
            raise traitlets.TraitError(
                f"target {value} is out of range: the model has "
                f"{limit if limit is not None else 'an unknown number of'} classes, so expected "
                f"{bounds}"
            )
        return value

    @traitlets.validate("colormap")
    def _check_colormap(self, proposal: dict) -> str:
        try:
            colormap_lut(proposal["value"])
        except (TypeError, ValueError) as error:
            raise traitlets.TraitError(str(error)) from None
        return proposal["value"]

    @traitlets.validate("step_index")
    def _check_step_index(self, proposal: dict) -> int:
        value, kept = proposal["value"], len(self._timeline)
        if value != LATEST and not 0 <= value < kept:
            raise traitlets.TraitError(
                f"step_index {value} is out of range: {kept} snapshots are kept, so expected "
                f"-1 (the newest map) or 0 <= step_index < {kept}"
            )
        return value

    @traitlets.observe("target", "guided", "take_max")
    def _on_request(self, change: dict) -> None:
        if change["name"] == "target":
            self._fresh_image = False  # the user picked a class: explain that one
        if self._active:
            with self._requests_paused():
                self.step_index = LATEST  # a new request is about the model as it is now
            self._update()

    @traitlets.observe("step_index")
    def _on_step_index(self, change: dict) -> None:
        if not self._active:
            return
        if change["new"] == LATEST:
            self._update()
        else:
            with self._lock:  # a training thread may be adding a snapshot
                self._show_snapshot(change["new"])

    @traitlets.observe("colormap")
    def _on_colormap(self, change: dict) -> None:
        self.set_trait("lut_bytes", colormap_lut(change["new"]).tobytes())

    @traitlets.observe("view")
    def _on_view(self, change: dict) -> None:
        self._send_gradient_rgb()

    def set_state(self, sync_data: dict) -> None:
        """Apply changes from the browser; refuse bad ones with a message instead of raising.

        An exception here would only reach the kernel's log and leave the browser showing the
        refused value, so the refusal goes to ``status`` and the current values are sent back.
        A message with any bad value is refused whole (traitlets rolls the others back).
        """
        read_only = sorted(
            name for name in sync_data if name in self.keys and name not in FRONT_END_WRITABLE
        )
        accepted = {name: v for name, v in sync_data.items() if name not in read_only}
        try:
            super().set_state(accepted)
        except traitlets.TraitError as error:
            self._refuse(sorted(accepted), str(error))
        else:
            if read_only:
                self._refuse(read_only, f"{', '.join(read_only)} can only be set by Python")
            elif self.status.startswith(REFUSED):  # a good change ends an earlier refusal's notice
                self.set_trait("status", self._last_status)

    def _on_front_end_message(self, _: Any, content: Any, buffers: list) -> None:
        """Count the views: each one says when it is shown and when it is closed.

        A page reload closes views without a word, so the count can only err upward, which
        costs updates nobody sees, never updates someone would miss.
        """
        if isinstance(content, dict) and content.get("type") == "view":
            opened = 1 if content.get("shown") else -1
            self._views = max(0, (self._views or 0) + opened)

    def _refuse(self, names: list[str], reason: str) -> None:
        self.set_trait("status", REFUSED + reason)
        self.send_state([name for name in names if name in self.keys])

    # Computing and showing maps -----------------------------------------------------------

    def _update(self) -> None:
        with self._lock:
            if self._explain():
                self._prefetch()

    def _explain(self, record_step: str | None = None) -> bool:
        """Show the map for the current request, computing it only on a cache miss.

        With ``record_step`` (from ``update()``), also keep it as a snapshot with that label; a
        user looking at an older snapshot keeps seeing it. Returns whether a map was made; a
        failure is shown in ``status`` instead of raised.
        """
        started = time.perf_counter()
        try:
            self._forget_if_weights_changed()
            gradients = self._cache.get((self.target, self.guided))
            cached = gradients is not None
            if not cached:
                if self.step_index == LATEST:  # a snapshot on show keeps its status line
                    self._say("Computing the map...")
                gradients = self._compute()
            self._current = gradients
            with self.hold_sync():
                if record_step is not None:
                    self._record(record_step)
                if self.step_index == LATEST:
                    self._publish(started, cached)
                else:
                    self._show_snapshot(self.step_index)
        except Exception as error:  # the user's model may raise anything; keep the widget alive
            self._current = None
            self._show_error(_describe(error))
            return False
        return True

    def _record(self, step: str) -> None:
        """Keep the current map as a snapshot; an index shown in the view keeps its snapshot."""
        levels = saliency_levels(self._current, self.take_max)
        dropping = len(self._timeline) == self._timeline.size and self.step_index != LATEST
        self._timeline.add(
            Snapshot(
                step=step,
                target=self.target,
                guided=self.guided,
                take_max=self.take_max,
                predictions=list(self.predictions),
                levels=levels.tobytes(),
                shape=(levels.shape[0], levels.shape[1]),
            )
        )
        self.set_trait("steps", self._timeline.steps())
        if dropping:  # the oldest went: the one being looked at moved down by one
            with self._requests_paused():
                self.step_index = max(0, self.step_index - 1)

    def _show_snapshot(self, index: int) -> None:
        """Draw a kept snapshot: its map and what it explained, without computing anything."""
        snapshot = self._timeline[index]
        label = self.labels[snapshot.target] if snapshot.target < len(self.labels) else ""
        with self.hold_sync():
            self.set_trait("map_bytes", snapshot.levels)
            self.set_trait("map_shape", list(snapshot.shape))
            self.set_trait("gradient_rgb_bytes", b"")  # snapshots keep the map only
            self.set_trait("error", "")
            self._say(
                f"step {snapshot.step} ({index + 1} of {len(self._timeline)}): {label} (class "
                f"{snapshot.target}), {_method(snapshot.guided, snapshot.take_max)}"
            )

    def _compute(self) -> torch.Tensor:
        """One engine call for the requested class: its map, and the predictions with it."""
        requested = self._first_target if self._fresh_image else self.target
        result = self._backprop.attribute(self._input, requested, guided=self.guided)
        self._note_predictions(result.logits[0])
        index = int(result.targets[0, 0])
        self._cache.put((index, self.guided), result.gradients[0, 0])
        if self._fresh_image:
            self._fresh_image = False
            with self._requests_paused():
                self.target = index
        return result.gradients[0, 0]

    def _prefetch(self) -> None:
        """Compute the top-k classes' maps not cached yet, in one call (one forward pass)."""
        missing = [c for c in self._top_classes if (c, self.guided) not in self._cache]
        if not missing:
            return
        try:
            result = self._backprop.attribute(self._input, missing, guided=self.guided)
        except Exception as error:
            self._say(f"{self.status} (prefetching failed: {_describe(error)})")
            return
        for k, index in enumerate(missing):
            self._cache.put((index, self.guided), result.gradients[0, k])

    def _forget_if_weights_changed(self) -> None:
        if self._following:  # the mirror changes only in update(), which empties the cache
            return
        fingerprint = weights_fingerprint(self._model)
        if fingerprint != self._fingerprint:
            self._fingerprint = fingerprint
            self._forget_maps()

    def _forget_maps(self) -> None:
        """Drop every cached map and the top-k to prefetch: they belong to other weights or
        another image."""
        self._cache.clear()
        self._top_classes = []

    def _note_predictions(self, logits: torch.Tensor) -> None:
        """Record the number of classes, the labels if still unknown, and the top-k."""
        self._num_classes = len(logits)
        if not self.labels:
            names = (
                models.imagenet_labels()
                if len(logits) == 1000
                else [f"class {i}" for i in range(len(logits))]
            )
            self._set_labels(names)
        top = logits.softmax(dim=0).topk(min(self._top_k, len(logits)))
        self._top_classes = [int(i) for i in top.indices]
        predictions = [
            {"index": int(i), "label": self.labels[int(i)], "probability": float(p)}
            for p, i in zip(top.values, top.indices, strict=True)
        ]
        self.set_trait("predictions", predictions)

    def _set_labels(self, names: list[str]) -> None:
        self._num_classes = len(names)
        self.set_trait("labels", names)

    def _publish(self, started: float, cached: bool) -> None:
        levels = saliency_levels(self._current, self.take_max)
        label = self.labels[self.target] if self.target < len(self.labels) else ""
        step = f"step {self._timeline[-1].step}: " if self._following and self._timeline else ""
        with self.hold_sync():
            self.set_trait("map_bytes", levels.tobytes())
            self.set_trait("map_shape", list(levels.shape))
            self._send_gradient_rgb()
            self.set_trait("compute_ms", (time.perf_counter() - started) * 1000)
            self.set_trait("error", "")
            self._say(
                f"{step}{label} (class {self.target}): {_method(self.guided, self.take_max)}"
                + (", from cache" if cached else "")
            )

    def _send_gradient_rgb(self) -> None:
        """Only the panels view shows the RGB gradients, so only then are they sent."""
        showing = self.view == "panels" and self._current is not None
        self.set_trait("gradient_rgb_bytes", gradient_rgb(self._current) if showing else b"")

    def _show_error(self, message: str) -> None:
        with self.hold_sync():
            if self._current is None:
                self.set_trait("map_bytes", b"")
                self.set_trait("map_shape", [])
                self.set_trait("gradient_rgb_bytes", b"")
            self.set_trait("error", message)
            self._say(f"Error: {message}")

    def _say(self, status: str) -> None:
        self._last_status = status
        self.set_trait("status", status)

    # Inputs -------------------------------------------------------------------------------

    def _to_input(self, image: Any) -> torch.Tensor:
        """Turn what the user gave into a (1, C, H, W) input on the CPU."""
        if not isinstance(image, torch.Tensor):
            image = self._transform(load_image(image))
            if not isinstance(image, torch.Tensor):
                raise TypeError(
                    f"the transform returned {type(image).__qualname__}; expected a tensor"
                )
        batch = as_image_batch(image)
        if batch.shape[0] != 1:
            raise ValueError(f"expected one image; got a batch of {batch.shape[0]}")
        return batch.detach().cpu().clone()

    @contextmanager
    def _requests_paused(self) -> Iterator[None]:
        """Set request traits from Python without each change starting a computation."""
        self._active = False
        try:
            yield
        finally:
            self._active = True
