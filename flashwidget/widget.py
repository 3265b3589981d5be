"""``SaliencyWidget``: explore what a classifier looks at, in any notebook that runs anywidget.

Division of labour, which is what keeps it fast: Python computes maps and sends each one once,
as one float32 a pixel with its sign, and the image once per image; the browser picks the sign
to show, clips outliers, colours and blends. Moving the alpha slider, choosing a sign or a clip
percentile therefore never leaves the browser, and a colormap change sends a 1 KiB lookup table.

This class holds traits and the public API. What the maps are computed from (the input, the
methods, the cache and prefetch, the weights fingerprint, the training mirror) lives in
:class:`flashwidget.explorer.Explorer`, a plain object.

Maps are computed synchronously, on the thread that delivers the widget's messages (the kernel's
main thread), one request at a time and in arrival order, so the map shown is always the one
for the latest request. Requests that arrive while a map is computed wait, and ipywidgets
merges them, so the newest choice supersedes one that has not started.

Every map is computed on a private copy of the model (see :mod:`flashwidget.explorer`), so the
widget never runs the user's model, and nothing it does there (eval mode, hooks) can reach a
training step running in another thread. Training: ``update()``, called from a training loop (on
its thread), copies the weights into that copy at a moment the loop chose and computes the
current map; from then on the copy changes only in ``update()``.
One lock serialises all computing, so a browser request answered on the kernel's thread and an
update on a training thread never interleave.
"""

from __future__ import annotations

import math
import pathlib
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar

import torch
import torchvision
import traitlets
from torch import nn

from flashwidget import methods, models
from flashwidget.checks import require_positive_int
from flashwidget.colormaps import colormap_lut, colormap_names
from flashwidget.explorer import Explorer, Shown, check_options
from flashwidget.inputs import as_image_batch
from flashwidget.live import RateLimit, Snapshot, Timeline
from flashwidget.method_names import OPTION_SPECS
from flashwidget.model_output import OutputFn
from flashwidget.pixels import DEFAULT_CLIP, SIGNS, channel_map, gradient_rgb, image_rgba
from flashwidget.utils import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    denormalize,
    load_image,
    normalisation_of,
)
from flashwidget.widget_base import (
    ClassTarget,
    ColormapName,
    ExplorerWidget,
    describe,
    in_a_kernel,
)

STATIC = pathlib.Path(__file__).parent / "static"
VIEWS = ("overlay", "panels")
COMPARE = ("off", "method", "class")
METHOD_LABELS = {
    "gradient": "Gradient",
    "guided_backprop": "Guided backprop",
    "input_x_gradient": "Input x gradient",
    "smoothgrad": "SmoothGrad",
    "integrated_gradients": "Integrated Gradients",
    "gradcam": "Grad-CAM",
    "guided_gradcam": "Guided Grad-CAM",
}
# Methods known to fail the model-randomisation sanity check (Adebayo et al. 2018).
SANITY_NOTES = {
    "guided_backprop": "fails the randomisation sanity check: its map barely depends on the "
    "classifier (Adebayo et al. 2018)",
    "guided_gradcam": "its guided-backprop factor fails the randomisation sanity check "
    "(Adebayo et al. 2018)",
}
# What the browser may change; everything else is computed in Python and only shown there.
FRONT_END_WRITABLE = frozenset(
    {
        "target",
        "method",
        "method_options",
        "take_max",
        "sign",
        "clip_percentile",
        "alpha",
        "colormap",
        "view",
        "step_index",
        "compare",
        "compare_method",
        "compare_target",
    }
)
# Changes that ask for another map; the others only change its look, in the browser.
REQUESTS = ("target", "method", "method_options", "take_max")
COMPARE_REQUESTS = ("compare", "compare_method", "compare_target")
# Requests that make a check about another map than the one shown, and how a person says them.
CHECKED = {"target": "class", "method": "method", "method_options": "method's options"}
CHECKED_PREFIX = "Checked: "  # the check_status line of a finished check
LATEST = -1  # step_index of the newest map, which updates replace as training goes on
DIVERGING = "RdBu_r"  # the colormap of signed maps: negative blue, zero white, positive red


class FiniteFloat(traitlets.Float):
    """A float in [min, max] that is not NaN (which compares false with both bounds)."""

    def validate(self, obj: Any, value: Any) -> float:
        value = super().validate(obj, value)
        if not math.isfinite(value):
            raise traitlets.TraitError(f"{self.name} must be a finite number; got {value!r}")
        return value


def _describe_method(method: str, options: dict[str, Any], take_max: bool) -> str:
    """How a map was made, in the words of the status line."""
    described = METHOD_LABELS.get(method, method)
    if options:
        described += " (" + ", ".join(f"{k}={v}" for k, v in sorted(options.items())) + ")"
    if methods.method_class(method).map_space == "input":
        described += ", max |value| over channels" if take_max else ", sum over channels"
    return described


def _float_bytes(values: Any) -> bytes:
    return values.astype("<f4").tobytes()


class SaliencyWidget(ExplorerWidget):
    """Interactive attribution maps of an image classifier: pick a class and a method, see what
    drives the prediction, and compare.

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
        cache_size: how many maps to keep for the current image.
        history: how many snapshots ``update()`` keeps for the step slider (oldest dropped).
        update_interval: the least time in seconds between two ``update()`` computations;
            calls in between return at once.
        **kwargs: initial values of the other traits (method, method_options, take_max, sign,
            clip_percentile, alpha, colormap, view, compare, compare_method).
    """

    _esm = STATIC / "widget.js"
    _css = STATIC / "widget.css"
    writable = FRONT_END_WRITABLE
    actions: ClassVar[dict[str, str]] = {"check": "check_map", "cancel_check": "cancel_check"}

    # Set from the browser or from Python: what to compute.
    target = ClassTarget(0, help="index (or, from Python, name) of the class explained").tag(
        sync=True
    )
    method = traitlets.Unicode("gradient", help="an attribution method's registry name").tag(
        sync=True
    )
    method_options = traitlets.Dict(
        help="the method's options (steps, samples, noise, layer); {} for its defaults"
    ).tag(sync=True)
    take_max = traitlets.Bool(
        True, help="max |value| over channels; False: the sum over channels, with its sign"
    ).tag(sync=True)
    step_index = traitlets.Int(
        LATEST, help="which snapshot of training to show: an index into steps, or -1 for the newest"
    ).tag(sync=True)
    compare = traitlets.Enum(
        COMPARE,
        default_value="off",
        help="a second map beside the first: another method for "
        "the same class, or another class with the same method",
    ).tag(sync=True)
    compare_method = traitlets.Unicode("gradcam", help="the second method, with its defaults").tag(
        sync=True
    )
    compare_target = ClassTarget(0, help="the second class").tag(sync=True)
    # Set from the browser or from Python: only the look, applied in the browser.
    sign = traitlets.Enum(
        SIGNS,
        default_value="absolute",
        help="which sign of the map to show; 'all' shows both "
        "on a diverging colormap centred at zero",
    ).tag(sync=True)
    clip_percentile = FiniteFloat(
        DEFAULT_CLIP,
        min=50.0,
        max=100.0,
        help="the percentile of the map's magnitudes at the "
        "top of the colour scale; larger values are clipped",
    ).tag(sync=True)
    alpha = FiniteFloat(0.5, min=0.0, max=1.0, help="opacity of the map").tag(sync=True)
    colormap = ColormapName("viridis", help="a matplotlib colormap name").tag(sync=True)
    view = traitlets.Enum(VIEWS, default_value="overlay").tag(sync=True)

    # Set by Python only (read-only to users; refused when the browser sends them).
    predictions = traitlets.List(
        traitlets.Dict(), read_only=True, help="top-k: {index, label, probability}, best first"
    ).tag(sync=True)
    labels = traitlets.List(traitlets.Unicode(), read_only=True, help="every class name").tag(
        sync=True
    )
    method_specs = traitlets.List(
        traitlets.Dict(),
        read_only=True,
        help="the methods offered: {name, label, map_space, options, unavailable, note}",
    ).tag(sync=True)
    layers = traitlets.List(
        traitlets.List(),
        read_only=True,
        help="layers Grad-CAM can read: [name, 'CxHxW'], input to output",
    ).tag(sync=True)
    colormap_names = traitlets.List(traitlets.Unicode(), read_only=True).tag(sync=True)
    progress = traitlets.Float(
        -1.0, read_only=True, help="fraction done of a map being computed; -1 when idle"
    ).tag(sync=True)
    image_bytes = traitlets.Bytes(
        b"", read_only=True, help="the model's input, denormalised: H*W*4 RGBA bytes"
    ).tag(sync=True)
    image_shape = traitlets.List(traitlets.Int(), read_only=True, help="[H, W]").tag(sync=True)
    map_values = traitlets.Bytes(
        b"",
        read_only=True,
        help="H*W little-endian float32: the map reduced over channels, with its sign "
        "(pixels.channel_map)",
    ).tag(sync=True)
    map_shape = traitlets.List(traitlets.Int(), read_only=True, help="[H, W]").tag(sync=True)
    compare_values = traitlets.Bytes(
        b"", read_only=True, help="the second map in compare mode, as map_values"
    ).tag(sync=True)
    compare_caption = traitlets.Unicode("", read_only=True, help="what the second map shows").tag(
        sync=True
    )
    gradient_rgb_bytes = traitlets.Bytes(
        b"", read_only=True, help="panels view only: standardised map, H*W*3 RGB bytes"
    ).tag(sync=True)
    lut_bytes = traitlets.Bytes(
        b"", read_only=True, help="the colormap: 256 RGBA colours, one per level"
    ).tag(sync=True)
    diverging_lut_bytes = traitlets.Bytes(
        b"", read_only=True, help=f"the colormap of sign 'all' ({DIVERGING}), as lut_bytes"
    ).tag(sync=True)
    steps = traitlets.List(
        traitlets.Unicode(), read_only=True, help="labels of the snapshots kept by update()"
    ).tag(sync=True)
    check_progress = traitlets.Float(
        -1.0, read_only=True, help="fraction done of the running check; -1 when none runs"
    ).tag(sync=True)
    check_status = traitlets.Unicode(
        "", read_only=True, help="what the check is doing, or what it found"
    ).tag(sync=True)
    check_result = traitlets.Dict(
        read_only=True,
        help="the finished check of the map shown (badges, cascade, curves); {} when none",
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
        self._timeline = Timeline(history)
        self._rate = RateLimit(update_interval)
        self._options_by_method: dict[str, dict[str, Any]] = {}
        self._explorer: Explorer | None = None
        self._prefetching = 0  # generation of the prefetch under way
        self._checking = 0  # generation of the check under way
        super().__init__(**kwargs)

        if isinstance(transform, torchvision.models.WeightsEnum):
            labels = list(transform.meta["categories"]) if labels is None else labels
            transform = transform.transforms()
        if model is None:
            model = models.default_model()
            labels = models.imagenet_labels() if labels is None else labels
        transform = models.default_transform() if transform is None else transform
        found = normalisation_of(transform) or (IMAGENET_MEAN, IMAGENET_STD)
        self._mean = found[0] if mean is None else mean
        self._std = found[1] if std is None else std
        self._transform = transform
        self._explorer = Explorer(
            model, labels=labels, output_fn=output_fn, top_k=top_k, cache_size=cache_size
        )
        self._first_target: int | str | None = None
        self._fresh_image = False
        if labels is not None:
            self._set_labels(list(labels))
        self.set_trait("colormap_names", colormap_names())
        self.set_trait("lut_bytes", colormap_lut(self.colormap).tobytes())
        self.set_trait("diverging_lut_bytes", colormap_lut(DIVERGING).tobytes())
        self._active = True
        self.set_image(models.sample_image() if image is None else image, target=target)

    # Public API ---------------------------------------------------------------------------

    @property
    def attributions(self) -> torch.Tensor:
        """The current map: (C, H, W), or (1, H, W) for Grad-CAM; a detached copy, on the
        model's device."""
        if self._current is None:
            raise RuntimeError(f"no map is shown: {self.error or 'none has been computed yet'}")
        return self._current.clone()

    def shown_image(self) -> torch.Tensor:
        """The image explained, as the model sees it (cropped and resized) but before its
        normalisation: (1, 3, H, W), values in [0, 1] (what DeepDream starts from)."""
        return denormalize(self._explorer.input, self._mean, self._std).clamp(0, 1)

    @property
    def gradients(self) -> torch.Tensor:
        """The current map, under the name it had when the widget showed gradients only."""
        return self.attributions

    def check_map(self) -> None:
        """Check the map shown: the randomisation, class and faithfulness checks of
        :class:`flashwidget.trust.MapCheck`, with a verdict each, into ``check_result``.

        In a notebook the check runs in the background of the widget's own work, one step (a
        map, or a batch of forward passes) at a time, so the view keeps answering; its progress
        is in ``check_progress`` and ``check_status``. A change of class, method or options, or
        a new image, cancels it. Elsewhere (a script, a test) it returns when done.
        """
        with self._lock:
            if self._current is None or self.step_index != LATEST:
                self._check_says("Nothing to check: no current map is shown")
                return
            self._checking += 1
            generation = self._checking
            try:
                check = self._explorer.start_check(self.target, self.method, self.method_options)
            except Exception as error:
                self._check_says(f"Check failed: {describe(error)}")
                return
            self.set_trait("check_result", {})
            self._check_says(f"Checking the map: {check.doing}", progress=0.0)

        def piece() -> bool:
            if generation != self._checking:
                return False
            try:
                more = check.step()
            except Exception as error:  # the user's model may raise anything
                self._check_says(f"Check failed: {describe(error)}")
                return False
            if generation != self._checking:  # cancelled during the step
                return False
            if more:
                self._check_says(f"Checking the map: {check.doing}", progress=check.fraction)
            else:
                self._finish_check(check.result)
            return more

        self._in_pieces(piece, lambda: generation == self._checking)

    def cancel_check(self, reason: str = "cancelled") -> None:
        """Stop a running check (its steps done so far are dropped); nothing if none runs."""
        with self._lock:  # not in the middle of a step, which would report after this
            if self.check_progress >= 0:
                self._checking += 1
                self._check_says(f"Check cancelled: {reason}")

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
            self._show_error(f"could not use this image: {describe(error)}")
            raise
        with self._lock:
            self.cancel_check("the image changed")
            self._explorer.set_input(batch)
            self._check_outputs()
            self._timeline.clear()
            self.set_trait("steps", [])
            self._first_target, self._fresh_image = target, True
            with self.hold_sync():  # image and map reach the browser in one message
                self.set_trait("image_bytes", pixels)
                self.set_trait("image_shape", shape)
                self.set_trait("step_index", LATEST)
                self._offer_methods()
                shown = self._explain()
            if shown:
                self._prefetch()

    def _check_outputs(self) -> None:
        """Learn the number of classes from the model itself, so that a target beyond its
        outputs is refused even when more labels were given; refuse mismatched labels."""
        try:
            outputs = self._explorer.probe().outputs
        except Exception:  # the model fails on this input: the map's error will say how
            return
        if self.labels and len(self.labels) != outputs:
            raise ValueError(
                f"labels has {len(self.labels)} names but the model has {outputs} outputs; "
                "expected one name per output"
            )
        self._num_classes = outputs

    def refresh(self) -> None:
        """Forget every cached map and recompute the current one with the model as it is now.

        Maps are computed on a private copy of the model. Weight changes reach it on their own
        (see :func:`flashwidget.explorer.weights_fingerprint`); call this after changes that
        cannot be seen that way, such as writes through ``parameter.data`` or a changed
        attribute that is not a parameter or buffer: it copies the whole model again. Once
        ``update()`` has been used, this also does ``update(force=True)``: call it when no
        other thread is changing the weights.
        """
        with self._lock:
            self._explorer.recopy()
        if self._explorer.following:
            self.update(force=True)
            return
        self._update()

    def update(self, step: Any = None, *, force: bool = False) -> bool:
        """Show the current map computed with the model's weights as they are now.

        Call it from a training loop, after an optimizer step or an epoch, on the thread that
        trains. It copies the weights into a private mirror of the model and computes only what
        is shown (the selected class and method); the other classes are computed from the
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
            try:
                self._explorer.follow_training()
            except Exception as error:  # never an exception in the user's training loop
                self._show_error(f"could not copy the model's weights: {describe(error)}")
                return False
            label = str(len(self._timeline) if step is None else step)
            return self._explain(record_step=label)
        finally:
            self._lock.release()

    def to_html(
        self,
        path: str | pathlib.Path,
        *,
        methods: Sequence[str] | None = None,
        top_k: int | None = None,
    ) -> pathlib.Path:
        """Write this view as one self-contained HTML file, to hand to someone without Python.

        The file opens in any browser, offline: it holds the view's code (the notebook's, run
        unchanged), its CSS and its data, and loads nothing. A stand-in for the kernel answers
        the view from maps computed now, so alpha, colormap, sign, clip, the view mode and
        compare mode work as here, and so do the classes and methods precomputed; anything
        else (another class or method, a method's options, the reduction over channels, "Check
        this map") says in the view that it needs a running kernel. The page opens as the
        widget looks now. The work is in :mod:`flashwidget.saliency_page`, on the page builder
        of :mod:`flashwidget.standalone`, which other views' pages share.

        Args:
            path: the HTML file to write, in a folder that exists.
            methods: names from ``flashwidget.methods.available()`` to precompute, each with
                the options the widget would use for it; the method shown (and in compare mode
                the one compared with) always. SmoothGrad and Integrated Gradients take tens of
                passes a map.
            top_k: how many top classes to precompute, the widget's predictions by default; the
                class shown (and the one compared with, in class compare mode) always.

        Missing maps are computed through the widget's engine and cached there: on its private
        copy of the model, so the model, its mode and the random number generators are left as
        they were, and what the widget shows does not change.

        Size: maps and the image are embedded as base64 of the bytes the notebook receives.
        At 224 x 224 that is 268 KB for the image and 268 KB a map, plus 201 KB for the RGB
        panel of a three-channel map (Gradient, not Grad-CAM); the code, CSS, colormaps and
        class names add about 0.35 MB. For the default model, its top 5 classes by Gradient
        and Grad-CAM: 4.3 MB.

        Returns:
            The path written.
        """
        from flashwidget.saliency_page import write_saliency_page  # it builds on this module

        with self._lock:  # no map computed meanwhile, by the view or a training update
            return write_saliency_page(self, path, methods=methods, top_k=top_k)

    # Requests from the traits -------------------------------------------------------------

    @traitlets.validate("target", "compare_target")
    def _check_target(self, proposal: dict) -> int:
        value, name = proposal["value"], proposal["trait"].name
        if isinstance(value, bool):
            raise traitlets.TraitError(f"{name} must be a class index (int), not {value!r}")
        limit = self._num_classes
        if value < 0 or (limit is not None and value >= limit):
            bounds = f"0 <= {name} < {limit}" if limit is not None else f"{name} >= 0"
            raise traitlets.TraitError(
                f"{name} {value} is out of range: the model has "
                f"{limit if limit is not None else 'an unknown number of'} classes, so expected "
                f"{bounds}"
            )
        return value

    @traitlets.validate("method", "compare_method")
    def _check_method(self, proposal: dict) -> str:
        value = proposal["value"]
        try:
            methods.method_class(value)
        except KeyError as error:
            raise traitlets.TraitError(error.args[0]) from None
        unavailable = self._explorer.unavailable_methods() if self._explorer else {}
        if value in unavailable:
            raise traitlets.TraitError(
                f"{value} is not available for this model: it {unavailable[value]}"
            )
        return value

    @traitlets.validate("method_options")
    def _check_method_options(self, proposal: dict) -> dict:
        try:
            return check_options(self.method, proposal["value"])
        except (TypeError, ValueError, KeyError) as error:
            raise traitlets.TraitError(str(error)) from None

    @traitlets.validate("step_index")
    def _check_step_index(self, proposal: dict) -> int:
        value, kept = proposal["value"], len(self._timeline)
        if value != LATEST and not 0 <= value < kept:
            raise traitlets.TraitError(
                f"step_index {value} is out of range: {kept} snapshots are kept, so expected "
                f"-1 (the newest map) or 0 <= step_index < {kept}"
            )
        return value

    @traitlets.observe("method")
    def _on_method(self, change: dict) -> None:
        """Each method keeps the options last chosen for it; options that the new method does
        not take are never carried over."""
        self._options_by_method[change["old"]] = dict(self.method_options)
        try:
            check_options(change["new"], self.method_options)
        except (TypeError, ValueError):
            with self._requests_paused():
                self.method_options = self._options_by_method.get(change["new"], {})

    @traitlets.observe(*REQUESTS, *COMPARE_REQUESTS)
    def _on_request(self, change: dict) -> None:
        if change["name"] == "target":
            self._fresh_image = False  # the user picked a class: explain that one
        if change["name"] in CHECKED:
            self.cancel_check(f"the {CHECKED[change['name']]} changed")
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
            shown = self._show_main()
            compared = self._show_compared()
            self._current = shown.map
            with self.hold_sync():
                if record_step is not None:
                    self._record(record_step)
                if self.step_index == LATEST:
                    self._publish(started, shown, compared)
                else:
                    self._show_snapshot(self.step_index)
        except Exception as error:  # the user's model may raise anything; keep the widget alive
            self._current = None
            self._show_error(describe(error))
            return False
        finally:
            self.set_trait("progress", -1.0)
        return True

    def _compute(self, target: int | str | None, method: str, options: dict) -> Shown:
        """One map from the explorer, saying so in the status while the model runs."""
        if (
            not isinstance(target, int) or self._explorer.cached(target, method, options) is None
        ) and self.step_index == LATEST:  # a snapshot on show keeps its status line
            self.set_trait("compute_ms", 0.0)  # the last map's time would read as this one's
            self._say(f"Computing the map ({METHOD_LABELS.get(method, method)})...")
        shown = self._explorer.show(target, method, options, progress=self._progress)
        if shown.logits is not None:
            self._note_predictions(shown.logits)
        return shown

    def _show_main(self) -> Shown:
        requested = self._first_target if self._fresh_image else self.target
        shown = self._compute(requested, self.method, self.method_options)
        if self._fresh_image:
            self._fresh_image = False
            with self._requests_paused():
                self.target = shown.target
                others = [c for c in self._explorer.top_classes if c != shown.target]
                if others:
                    self.compare_target = others[0]
        return shown

    def _show_compared(self) -> Shown | None:
        if self.compare == "off":
            return None
        if self.compare == "method":
            return self._compute(self.target, self.compare_method, {})
        return self._compute(self.compare_target, self.method, self.method_options)

    def _progress(self, fraction: float) -> None:
        self.set_trait("progress", fraction)

    def _prefetch(self) -> None:
        """Compute the top-k classes' maps not cached yet for the current method.

        In a Jupyter kernel, one class at a time (see :meth:`_in_pieces`): one class costs
        about a map, and four in one call would hold the kernel four times as long. Elsewhere
        (plain Python, a test, a training thread) all at once, sharing one forward pass.
        """
        self._prefetching += 1  # a newer map restarts the prefetch; older pieces stop
        generation = self._prefetching
        if not in_a_kernel():
            self._prefetch_piece(limit=None)
        else:
            self._in_pieces(
                lambda: self._prefetch_piece(limit=1) > 0,
                lambda: generation == self._prefetching,
            )

    def _prefetch_piece(self, limit: int | None) -> int:
        try:
            return self._explorer.prefetch(self.method, self.method_options, limit=limit)
        except Exception as error:
            self._say(f"{self.status} (prefetching failed: {describe(error)})")
            return 0

    def _record(self, step: str) -> None:
        """Keep the current map as a snapshot; an index shown in the view keeps its snapshot."""
        values = channel_map(self._current, self.take_max)
        dropping = len(self._timeline) == self._timeline.size and self.step_index != LATEST
        self._timeline.add(
            Snapshot(
                step=step,
                target=self.target,
                method=self.method,
                options=dict(self.method_options),
                take_max=self.take_max,
                predictions=list(self.predictions),
                values=_float_bytes(values),
                shape=(values.shape[0], values.shape[1]),
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
        method = _describe_method(snapshot.method, snapshot.options, snapshot.take_max)
        with self.hold_sync():
            self.set_trait("map_values", snapshot.values)
            self.set_trait("map_shape", list(snapshot.shape))
            self.set_trait("compare_values", b"")  # snapshots keep the main map only
            self.set_trait("check_result", {})  # checks are of the current weights
            self.set_trait("gradient_rgb_bytes", b"")
            self.set_trait("error", "")
            self._say(
                f"step {snapshot.step} ({index + 1} of {len(self._timeline)}): {label} (class "
                f"{snapshot.target}), {method}"
            )

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
        if len(logits) == 1:  # one logit: a binary classifier, its probability a sigmoid
            yes = float(logits[0].sigmoid())
            predictions = [
                {"index": 0, "label": self.labels[0], "probability": yes},
                {"index": 0, "label": f"not {self.labels[0]}", "probability": 1.0 - yes},
            ]
        else:
            probabilities = logits.softmax(dim=0)
            predictions = [
                {"index": i, "label": self.labels[i], "probability": float(probabilities[i])}
                for i in self._explorer.top_classes
            ]
        self.set_trait("predictions", predictions)

    def _set_labels(self, names: list[str]) -> None:
        self._num_classes = len(names)
        self.set_trait("labels", names)

    def _offer_methods(self) -> None:
        """Tell the view which methods this model can run on this image, and Grad-CAM's
        layers; a method it cannot run is offered greyed out with the reason."""
        try:
            unavailable = self._explorer.unavailable_methods()
            layers = self._explorer.spatial_layers()
            partly = self._explorer.probe().partly_guided
        except Exception:  # the model fails on this input: the map's error will say how
            unavailable, layers, partly = {}, [], None
        specs = [
            {
                "name": name,
                "label": METHOD_LABELS.get(name, name),
                "map_space": methods.method_class(name).map_space,
                "options": [
                    {"name": option, **spec} for option, spec in OPTION_SPECS[name].items()
                ],
                "unavailable": unavailable.get(name, ""),
                "note": self._method_note(name, partly),
            }
            for name in methods.available()
        ]
        self.set_trait("method_specs", specs)
        self.set_trait("layers", [[name, "x".join(map(str, shape))] for name, shape in layers])

    def _method_note(self, name: str, partly_guided: str | None) -> str:
        """What the method menu says about a method: a known failure of the randomisation
        check, guiding only part of the model, and the verdicts of the latest check run with
        it on this model's weights."""
        verdicts = self._explorer.verdicts.get(name, [])
        measured = ", ".join(
            f"{v.title.lower()} {v.summary} ({'passes' if v.passed else 'fails'})" for v in verdicts
        )
        return "; ".join(
            filter(
                None,
                [
                    SANITY_NOTES.get(name),
                    partly_guided if methods.uses_rectifiers(name) else None,
                    f"checked on this model: {measured}" if measured else None,
                ],
            )
        )

    def _publish(self, started: float, shown: Shown, compared: Shown | None) -> None:
        values = channel_map(shown.map, self.take_max)
        label = self.labels[self.target] if self.target < len(self.labels) else ""
        explorer = self._explorer
        step = f"step {self._timeline[-1].step}: " if explorer.following and self._timeline else ""
        with self.hold_sync():
            self.set_trait("map_values", _float_bytes(values))
            self.set_trait("map_shape", list(values.shape))
            self._publish_compared(compared)
            self._send_gradient_rgb()
            self.set_trait("compute_ms", (time.perf_counter() - started) * 1000)
            self.set_trait("error", "")
            self._show_check()
            cached = shown.cached and (compared is None or compared.cached)
            note = f" (note: {explorer.copy_note})" if explorer.copy_note else ""
            self._say(
                f"{step}{label} (class {self.target}): "
                f"{_describe_method(self.method, self.method_options, self.take_max)}"
                + (", from cache" if cached else "")
                + note
            )

    def _show_check(self) -> None:
        """Send the finished check of the map shown and what it found, or ``{}`` (and no word
        of another map's check) when it has none. A running check keeps its status line."""
        result = self._explorer.checked(self.target, self.method, self.method_options)
        running = self.check_progress >= 0
        if result is None:
            self.set_trait("check_result", {})
            if not running and self.check_status.startswith(CHECKED_PREFIX):
                self.set_trait("check_status", "")
            return
        label = self.labels[result.target] if result.target < len(self.labels) else ""
        method_label = METHOD_LABELS.get(result.method, result.method)
        self.set_trait(
            "check_result", {**result.as_json(), "label": label, "method_label": method_label}
        )
        if not running:
            failed = [verdict.title for verdict in result.verdicts if not verdict.passed]
            passed = len(result.verdicts) - len(failed)
            self.set_trait(
                "check_status",
                f"{CHECKED_PREFIX}{passed} of {len(result.verdicts)} checks pass"
                + (f" ({', '.join(failed)} failed)" if failed else ""),
            )

    def _finish_check(self, result: Any) -> None:
        self._explorer.keep_check(result)
        with self.hold_sync():
            self.set_trait("check_progress", -1.0)
            self._show_check()
            self._offer_methods()  # the method menu's notes quote the verdicts

    def _check_says(self, status: str, progress: float = -1.0) -> None:
        with self.hold_sync():
            self.set_trait("check_status", status)
            self.set_trait("check_progress", progress)

    def _publish_compared(self, compared: Shown | None) -> None:
        if compared is None:
            self.set_trait("compare_values", b"")
            self.set_trait("compare_caption", "")
            return
        if self.compare == "method":
            caption = METHOD_LABELS.get(self.compare_method, self.compare_method)
        else:
            label = self.labels[compared.target] if compared.target < len(self.labels) else ""
            caption = f"{label} (class {compared.target})"
        self.set_trait("compare_values", _float_bytes(channel_map(compared.map, self.take_max)))
        self.set_trait("compare_caption", caption)

    def _send_gradient_rgb(self) -> None:
        """Only the panels view shows the RGB map, so only then is it sent."""
        showing = (
            self.view == "panels" and self._current is not None and self._current.shape[0] == 3
        )
        self.set_trait("gradient_rgb_bytes", gradient_rgb(self._current) if showing else b"")

    def _show_error(self, message: str) -> None:
        with self.hold_sync():
            if self._current is None:
                self.set_trait("map_values", b"")
                self.set_trait("map_shape", [])
                self.set_trait("compare_values", b"")
                self.set_trait("gradient_rgb_bytes", b"")
            self.set_trait("error", message)
            self._say(f"Error: {message}")

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


def demo() -> SaliencyWidget:
    """The one-line tour, ``flashwidget.demo()`` in a notebook cell: a widget on the embedded
    EfficientNet-Lite0 and matplotlib's sample photograph, both shipped with the installed
    packages, so it works offline."""
    return SaliencyWidget()
