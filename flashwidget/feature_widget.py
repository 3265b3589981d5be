"""``FeatureWidget``: what does a layer's channel, or a class, look for? Browse a network's
channels by the images that excite them, made by gradient ascent (see
:mod:`flashwidget.activmax`), while the optimisation runs.

Division of labour, as in ``SaliencyWidget``: this class holds traits and the public API; the
computing (the model's private mirror, its layers, the runs) is
:class:`flashwidget.feature_explorer.FeatureExplorer`, a plain object. A rendering takes
hundreds of steps, so in a notebook it runs one step at a time on the kernel's event loop: the
view and other cells are answered between two steps, a new choice in the view replaces the run
at once, and the image is sent every few steps as it sharpens. Everything runs on a private
copy of the model, so the user's model never runs here, not even while it trains.
"""

from __future__ import annotations

import pathlib
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar

import torch
import traitlets
from torch import nn

from flashwidget import models
from flashwidget.checks import require_positive_int
from flashwidget.feature_explorer import MODES, FeatureExplorer, FeatureRequest, FeatureRun
from flashwidget.live import RateLimit
from flashwidget.model_output import OutputFn
from flashwidget.utils import IMAGENET_MEAN, IMAGENET_STD, apply_transforms, denormalize
from flashwidget.widget_base import ClassTarget, ExplorerWidget, describe, kernel_loop

STATIC = pathlib.Path(__file__).parent / "static"
# Seconds between two frames sent while a tile sharpens: smooth enough to watch, and a small
# share of the step time.
FRAME_INTERVAL = 0.2
REQUESTS = ("layer", "mode", "channel", "grid_size", "target", "quality", "steps")


class FeatureWidget(ExplorerWidget):
    """The images that drive a model's channels, or its classes, made as you watch.

    Args:
        model: an ``nn.Module`` classifier; ``None`` for the embedded EfficientNet-Lite0.
        labels: class names, one per class (ImageNet's for a 1000-class model without them).
        layer: the layer to start with (a name from ``named_modules()``); by default one about
            two thirds of the way through the model's feature maps.
        size: the images' side in pixels (128 keeps a CPU responsive; 224 for more detail).
        mean, std: the model's input normalisation (ImageNet's by default).
        output_fn: picks the logits out of a model output that is not a tensor.
        update_interval: the least time in seconds between two ``update()`` calls that count.
        **kwargs: initial values of the other traits (mode, channel, grid_size, target,
            quality, steps).
    """

    _esm = STATIC / "feature.js"
    _css = STATIC / "widget.css"
    writable = frozenset(REQUESTS)
    actions: ClassVar[dict[str, str]] = {"run": "run", "stop": "stop"}

    # Set from the browser or from Python: what to render.
    layer = traitlets.Unicode("", help="the layer whose channels are shown").tag(sync=True)
    mode = traitlets.Enum(MODES, default_value="channel", help="one channel, a grid, a class").tag(
        sync=True
    )
    channel = traitlets.Int(0, min=0, help="the channel, in mode 'channel'").tag(sync=True)
    grid_size = traitlets.Int(8, min=1, max=64, help="the first channels, in mode 'grid'").tag(
        sync=True
    )
    target = ClassTarget(0, help="the class (index or, from Python, name), in mode 'class'").tag(
        sync=True
    )
    quality = traitlets.Bool(
        True, help="Fourier-space, decorrelated images under jitter; False: plain pixel ascent"
    ).tag(sync=True)
    steps = traitlets.Int(128, min=1, max=2048, help="optimisation steps per image").tag(sync=True)
    # Computed in Python, shown in the browser.
    layers = traitlets.List(
        traitlets.List(), read_only=True, help="[name, shape] of each layer, input to output"
    ).tag(sync=True)
    labels = traitlets.List(traitlets.Unicode(), read_only=True).tag(sync=True)
    channels = traitlets.Int(0, read_only=True, help="channels of the chosen layer").tag(sync=True)
    tiles = traitlets.Bytes(b"", read_only=True, help="RGBA images, one per tile").tag(sync=True)
    tile_shape = traitlets.List(traitlets.Int(), read_only=True, help="[H, W]").tag(sync=True)
    tile_labels = traitlets.List(traitlets.Unicode(), read_only=True).tag(sync=True)
    tile_done = traitlets.List(traitlets.Bool(), read_only=True).tag(sync=True)
    dream_original = traitlets.Bytes(b"", read_only=True).tag(sync=True)
    dream_result = traitlets.Bytes(b"", read_only=True).tag(sync=True)
    dream_shape = traitlets.List(traitlets.Int(), read_only=True).tag(sync=True)
    dream_caption = traitlets.Unicode("", read_only=True).tag(sync=True)
    progress = traitlets.Float(-1.0, read_only=True, help="fraction done; -1 when idle").tag(
        sync=True
    )
    running = traitlets.Bool(False, read_only=True).tag(sync=True)

    def __init__(
        self,
        model: nn.Module | None = None,
        *,
        labels: Sequence[str] | None = None,
        layer: str | None = None,
        size: int = 128,
        mean: Sequence[float] = IMAGENET_MEAN,
        std: Sequence[float] = IMAGENET_STD,
        output_fn: OutputFn | None = None,
        update_interval: float = 1.0,
        **kwargs: Any,
    ) -> None:
        require_positive_int(size, "size", "pixels")
        self._active = False
        self._generation = 0  # of the run under way; a newer request or stop() ends it
        self._run: FeatureRun | None = None
        self._dream: FeatureRun | None = None
        self._sent = 0.0
        self._step_label = ""  # the training step of the weights shown, after update()
        self._rate = RateLimit(update_interval)
        self._size = size
        super().__init__(**kwargs)
        if model is None:
            model = models.default_model()
        self._explorer = FeatureExplorer(
            model, labels=labels, output_fn=output_fn, mean=mean, std=std
        )
        self._loop = kernel_loop()  # a training thread's update() schedules runs on it
        found, classes = self._explorer.probe(size)
        if labels is None:
            labels = models.imagenet_labels() if classes == 1000 else None
        names = list(labels) if labels is not None else [f"class {i}" for i in range(classes)]
        self._explorer.labels = names
        self.set_trait("labels", names)
        self.set_trait("layers", [[name, "x".join(map(str, shape))] for name, shape in found])
        maps = [name for name, shape in found if len(shape) == 3]
        self.layer = layer if layer is not None else (maps or [found[-1][0]])[len(maps) * 2 // 3]
        self._active = True
        self.run()

    # Public API ---------------------------------------------------------------------------

    @property
    def images(self) -> torch.Tensor:
        """The tiles as they are now: (tiles, 3, H, W) in [0, 1]."""
        run = self._run
        if run is None:
            raise RuntimeError("nothing has been rendered")
        return torch.from_numpy(run.tiles[..., :3].copy()).permute(0, 3, 1, 2).float() / 255

    def run(self) -> None:
        """Render what the traits ask for, from the start. In a notebook it runs in the
        background, a step at a time; elsewhere it returns when done."""

        with self._lock:
            self._generation += 1
            generation = self._generation
            try:
                self._run = self._explorer.start(self._request())
            except Exception as error:  # a bad layer for this model, a model that fails
                self._fail(error)
                return
            self._publish(self._run, force=True)
        self._in_pieces(
            lambda: self._piece(self._run, generation), lambda: self._wanted(generation)
        )

    def stop(self) -> None:
        """Stop the run under way; its images stay as they are."""
        with self._lock:  # not in the middle of a step, which would publish after this
            if self.running:
                self._generation += 1
                self.set_trait("running", False)
                self.set_trait("progress", -1.0)
                run = self._run
                self._say(f"Stopped at {run.doing}" if run is not None else "Stopped")

    def deepdream(self, image: Any) -> None:
        """DeepDream: change ``image`` a little at a time so that it excites the chosen channel
        (or class), shown beside the original. ``image``: a ``SaliencyWidget`` (its current
        image), a path, bytes, a PIL image or an array (resized and centre-cropped to the
        widget's size)."""
        photo = self._photo(image)
        with self._lock:
            self._generation += 1
            generation = self._generation
            self._dream = self._explorer.dream(self._request(), photo)
            self._publish(self._dream, force=True)
        self._in_pieces(
            lambda: self._piece(self._dream, generation), lambda: self._wanted(generation)
        )

    def update(self, step: Any = None, *, force: bool = False) -> bool:
        """Show what the model's channels look for now: call it from a training loop, on the
        thread that trains. It copies the weights into the private mirror (cheap, at a moment
        the loop chose) and starts the rendering again from them; in a notebook the rendering
        runs on the kernel's event loop, not in the training thread. Rate-limited like
        ``SaliencyWidget.update`` (``update_interval``); ``force=True`` always updates.
        Returns whether it did."""
        if not force and not self._rate.ready():
            return False
        if not self._lock.acquire(blocking=force):
            return False
        try:
            self._rate.mark()
            self._explorer.follow_training()
            self._step_label = "" if step is None else f"step {step}: "
        finally:
            self._lock.release()
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self.run)
        else:
            self.run()
        return True

    # Requests from the traits -------------------------------------------------------------

    @traitlets.validate("layer")
    def _check_layer(self, proposal: dict) -> str:
        names = [name for name, _ in self.layers]
        if names and proposal["value"] not in names:
            close = [name for name in names if proposal["value"] in name][:5]
            raise traitlets.TraitError(
                f"layer {proposal['value']!r} is not one an objective can read"
                + (f"; close: {', '.join(close)}" if close else "")
            )
        return proposal["value"]

    @traitlets.validate("channel")
    def _check_channel(self, proposal: dict) -> int:
        value, count = proposal["value"], self.channels
        if count and value >= count:
            raise traitlets.TraitError(
                f"channel {value} is out of range: layer {self.layer!r} has {count} channels, "
                f"so expected 0 <= channel < {count}"
            )
        return value

    @traitlets.validate("target")
    def _check_target(self, proposal: dict) -> int:
        value, count = proposal["value"], len(self.labels)
        if count and not 0 <= value < count:
            raise traitlets.TraitError(
                f"target {value} is out of range: the model has {count} classes, so expected "
                f"0 <= target < {count}"
            )
        return value

    @traitlets.observe("layer")
    def _on_layer(self, change: dict) -> None:
        count = self._explorer.channels(change["new"], self._size) if self.layers else 0
        self.set_trait("channels", count)
        if self.channel >= count > 0:
            with self._paused():
                self.channel = 0

    @traitlets.observe(*REQUESTS)
    def _on_request(self, change: dict) -> None:
        if self._active:
            self.run()

    # Running ------------------------------------------------------------------------------

    def _request(self) -> FeatureRequest:
        return FeatureRequest(
            layer=self.layer,
            mode=self.mode,
            channel=self.channel,
            grid_size=self.grid_size,
            target=self.target,
            quality=self.quality,
            steps=self.steps,
            size=self._size,
        )

    def _wanted(self, generation: int) -> bool:
        return generation == self._generation

    def _piece(self, run: FeatureRun, generation: int) -> bool:
        if generation != self._generation:
            return False
        try:
            more = run.step()
        except Exception as error:  # the user's model may raise anything; keep the widget
            self._fail(error)
            return False
        if generation != self._generation:  # stopped or replaced during the step
            return False
        self._publish(run, force=not more)
        return more

    def _publish(self, run: FeatureRun, force: bool = False) -> None:
        """Send the run's images, at most every FRAME_INTERVAL seconds until it ends."""
        now = time.monotonic()
        if not force and now - self._sent < FRAME_INTERVAL:
            return
        self._sent = now
        dream = run is self._dream
        with self.hold_sync():
            if dream:
                self.set_trait("dream_result", run.tiles[0].tobytes())
                self.set_trait("dream_shape", list(run.tiles.shape[1:3]))
                self.set_trait("dream_caption", f"DeepDream: {run.labels[0]}")
            else:
                self.set_trait("tiles", run.tiles.tobytes())
                self.set_trait("tile_shape", list(run.tiles.shape[1:3]))
                self.set_trait("tile_labels", run.labels)
                self.set_trait("tile_done", list(run.done))
            self.set_trait("running", not run.finished)
            self.set_trait("progress", -1.0 if run.finished else run.fraction)
            self.set_trait("error", "")
            mode = "quality" if run.request.quality else "plain"
            where = "" if run.request.mode == "class" else f"{run.request.layer}, "
            self._say(f"{self._step_label}{where}{run.doing} ({mode})")

    def _fail(self, error: BaseException) -> None:
        with self.hold_sync():
            self.set_trait("running", False)
            self.set_trait("progress", -1.0)
            self.set_trait("error", describe(error))
            self._say(f"Error: {describe(error)}")

    def _photo(self, image: Any) -> torch.Tensor:
        """(1, 3, H, W) in [0, 1] from a SaliencyWidget or an image."""
        from flashwidget.widget import SaliencyWidget

        if isinstance(image, SaliencyWidget):
            photo = image.shown_image()
        else:
            photo = denormalize(apply_transforms(image, size=self._size).detach())
        photo = photo.clamp(0, 1)
        original = (photo[0].permute(1, 2, 0) * 255).round().to(torch.uint8)
        alpha = torch.full((*original.shape[:2], 1), 255, dtype=torch.uint8)
        self.set_trait("dream_original", torch.cat([original, alpha], dim=2).numpy().tobytes())
        return photo

    @contextmanager
    def _paused(self) -> Iterator[None]:
        """Set request traits from Python without each change starting a run."""
        active, self._active = self._active, False
        try:
            yield
        finally:
            self._active = active


def features() -> FeatureWidget:
    """``flashwidget.features()`` in a notebook cell: the feature widget on the embedded
    EfficientNet-Lite0, offline."""
    return FeatureWidget()
