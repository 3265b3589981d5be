"""What every attribution method shares: checks, targets, eval mode, the forward pass, results.

The shape follows torchcam and Captum. One base class, :class:`AttributionMethod`, owns
everything that must be the same for every method: the input and target checks, running the
model in eval mode on its own device, finding the logits in its output, refusing
``torch.inference_mode``, and turning the result into the shape the caller asked for. A method
overrides one template method, :meth:`AttributionMethod._explain`, which gets an input batch on
the model's device and a function that picks the classes from the logits, and returns an
:class:`Attribution`. Variants are built by composition (SmoothGrad over any input-space method,
Guided Grad-CAM from guided backprop and Grad-CAM), never by copying.

Why a selector function rather than target indices: a method that needs the logits anyway
(gradients) picks its targets from the same forward pass that it differentiates, so explaining
the top prediction costs one forward pass, not two. A selector chooses row by row: row ``n`` of
its answer depends only on row ``n`` of the logits.

Assumptions the engine checks rather than trusts:

- Inputs are cast to the model's floating dtype (that of its first floating parameter or
  buffer), so a float32 image works with a float64 or bfloat16 model; maps and logits come back
  in the model's dtype.
- A batch is explained by one backward pass of its summed logits, which is right only when the
  images do not affect each other. In eval mode that holds unless a batch norm layer has no
  running statistics (``track_running_stats=False``) and so normalises with the batch's own
  statistics, and a map can be tens of percent off. For such a model (found by
  :func:`~flashwidget.model_guard.batch_statistics_layers`, which says what is and is not
  detected) every ``_explain`` given several images runs once per image and concatenates the
  results, also when a composite method calls its base method on noisy copies or path points,
  so maps never depend on the batch or on ``internal_batch_size``. It costs one pass per image.
- Guided methods refuse a model without rectifiers, and warn (:class:`PartlyGuidedWarning`, the
  text also in ``Attribution.notes``) when the forward pass meets activations they do not
  guide, so a map that is vanilla almost everywhere is not presented as guided.
"""

from __future__ import annotations

import functools
import os
import re
import sys
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import torch
from torch import nn

from flashwidget.class_index import ClassIndex
from flashwidget.guided import (
    GuidedRectifiers,
    PartlyGuidedWarning,
    no_rectifiers_reason,
    partly_guided_note,
)
from flashwidget.inputs import as_image_batch
from flashwidget.model_guard import (
    batch_statistics_layers,
    evaluation_mode,
    first_conv_channels,
    floating_dtypes,
    model_device,
    model_dtype,
)
from flashwidget.model_output import OutputFn, logits_from
from flashwidget.targets import TargetClass, TargetSelector, asks_for_several, target_selector


@dataclass(frozen=True)
class Attribution:
    """What one call computed, all detached and on the model's device.

    ``logits`` is (N, classes) (``None`` inside ``attribute``, which returns the maps only,
    when SmoothGrad or Integrated Gradients had no other use for them), ``targets`` (N, K) the
    explained class indices, and ``maps``
    (N, K, C, H, W) for input-space methods or (N, K, 1, H, W) for Grad-CAM: the map of class
    ``targets[n, k]`` for image ``n``. ``notes`` holds what the call also warned about (a guided
    map that is only partly guided), one sentence each, for callers that show it rather than
    catch warnings.
    """

    logits: torch.Tensor | None
    targets: torch.Tensor
    maps: torch.Tensor
    notes: tuple[str, ...] = ()

    @property
    def probabilities(self) -> torch.Tensor:
        return self.logits.softmax(dim=1)

    @property
    def gradients(self) -> torch.Tensor:
        """``maps`` under the name ``saliency.Backprop`` has always used for them."""
        return self.maps


def fixed_targets(targets: torch.Tensor) -> TargetSelector:
    """A selector that ignores the logits: for methods that run a base method on other inputs
    (noisy copies, points on a path) but must explain the classes chosen on the real ones."""
    return lambda logits: targets


def gradients_of(chosen: torch.Tensor, wrt: torch.Tensor) -> torch.Tensor:
    """Gradients (N, K, ...) of each column of ``chosen`` (N, K) with respect to ``wrt`` (N, ...).

    Images in a batch are independent in eval mode, so one backward of a column's sum gives each
    image its own gradient (a model for which they are not is explained one image at a time:
    see :func:`_image_by_image_if_mixed`). The K columns share one forward graph and take one
    backward each. A single vmapped backward (``is_grads_batched``) was measured too and was
    slower on the default model (0.79 of K separate calls against 0.52 here), since functorch's
    batching rules for depthwise convolution and batch norm backward fall back to loops and
    concatenation.
    """
    num_targets = chosen.shape[1]
    columns = [
        torch.autograd.grad(chosen[:, k].sum(), wrt, retain_graph=k < num_targets - 1)[0]
        for k in range(num_targets)
    ]
    return torch.stack(columns, dim=1)


# How torch words a dtype mismatch: "expected scalar type Double but found Float", "mat1 and mat2
# must have the same dtype", "Input type (double) and bias type (float) should be the same".
_DTYPE_ERROR = re.compile(r"dtype|scalar type|type \([\w:]+\) and \w+ type", re.IGNORECASE)


def run_model(model: nn.Module, inputs: torch.Tensor) -> object:
    """Call the model, turning a failure caused by the input into an error that says so."""
    try:
        return model(inputs)
    except torch.OutOfMemoryError:
        raise
    except RuntimeError as error:
        raise ValueError(
            f"the model failed on an input of shape {tuple(inputs.shape)}: {error}."
            f"{_failure_hint(model, inputs, error)}"
        ) from error


def _failure_hint(model: nn.Module, inputs: torch.Tensor, error: RuntimeError) -> str:
    """The likely cause of a failed forward pass: channels, dtypes, or else size and channels."""
    expected = first_conv_channels(model)
    if expected is not None and expected != inputs.shape[1]:
        return (
            f" The model's first convolution expects {expected} channels; the input has "
            f"{inputs.shape[1]}."
        )
    dtypes = floating_dtypes(model)
    foreign = bool(dtypes) and inputs.dtype not in dtypes
    if foreign or _DTYPE_ERROR.search(str(error)):
        found = ", ".join(str(dtype) for dtype in dtypes) or "none"
        if len(dtypes) > 1:
            advice = (
                "the model mixes floating dtypes, so some layer gets a tensor of another dtype; "
                "convert it to one (model.to(torch.float32), for one)"
            )
        elif foreign:
            advice = "cast the input to the model's dtype"
        else:
            advice = (
                "they agree, so a tensor made inside the model's forward has another dtype; "
                "create it with the input's dtype"
            )
        return (
            f" The input's dtype is {inputs.dtype} and the model's floating parameters and "
            f"buffers are {found}: {advice}."
        )
    return " Check that the input's size and channels are what the model was built for."


Progress = Callable[[float], None]
_progress: ContextVar[Progress | None] = ContextVar("flashwidget_progress", default=None)


@contextmanager
def reporting_progress(callback: Progress | None) -> Iterator[None]:
    """Send :func:`report_progress` calls in the body to ``callback`` (``None``: nowhere).

    A context variable rather than an argument threaded through every ``_explain``: only the
    methods that loop (SmoothGrad, Integrated Gradients) report, and a base method they run
    inside their loop is silenced with ``reporting_progress(None)`` so that only the outer loop
    is heard.
    """
    token = _progress.set(callback)
    try:
        yield
    finally:
        _progress.reset(token)


def report_progress(done: int, total: int) -> None:
    """Tell whoever listens that ``done`` of ``total`` pieces of work are finished."""
    callback = _progress.get()
    if callback is not None:
        callback(done / total)


_logits_wanted: ContextVar[bool] = ContextVar("flashwidget_logits_wanted", default=True)


def pass_selector(
    select: TargetSelector,
    rows: Callable[[torch.Tensor], torch.Tensor],
    spread: Callable[[torch.Tensor], torch.Tensor],
) -> TargetSelector:
    """For the first pass of a base method over other inputs (noisy copies, path points) when
    the classes are given explicitly: ``select`` reads one row of the pass's logits per image
    (``rows``), which only gives it the number of classes to check against, and its choice is
    spread to every row of the pass (``spread``)."""

    def chosen(logits: torch.Tensor) -> torch.Tensor:
        return spread(select(rows(logits)))

    chosen.uses_logits = False
    return chosen


def logits_without_graph(
    model: nn.Module, inputs: torch.Tensor, output_fn: OutputFn | None = None
) -> torch.Tensor:
    """The model's logits for ``inputs`` from a forward pass without autograd: for picking
    classes, counting outputs, or scoring perturbed images."""
    with torch.no_grad():
        return logits_from(run_model(model, inputs), output_fn, batch_size=len(inputs), graph=False)


def chunks(total: int, size: int) -> list[range]:
    """``range(total)`` cut into consecutive pieces of at most ``size``."""
    return [range(start, min(start + size, total)) for start in range(0, total, size)]


Note = tuple[str, type[Warning]]
_notes: ContextVar[list[Note] | None] = ContextVar("flashwidget_notes", default=None)
_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def _warn_from_caller(message: str, category: type[Warning]) -> None:
    """Warn at the first frame outside flashwidget: the warning names the user's line, and
    Python's default filter then shows it once per line rather than once per call inside."""
    level, frame = 1, sys._getframe(0)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level)


def add_note(message: str, category: type[Warning] = UserWarning) -> None:
    """Tell the caller of :meth:`AttributionMethod.explain` something about its maps.

    Inside ``explain`` the note is kept (once, however many passes repeat it), raised as a
    ``category`` warning when the call ends and returned in ``Attribution.notes``; outside,
    it is raised at once.
    """
    collected = _notes.get()
    if collected is None:
        _warn_from_caller(message, category)
    elif (message, category) not in collected:
        collected.append((message, category))


def _row_of(select: TargetSelector, row: int, rows: int) -> TargetSelector:
    """The selector of image ``row`` alone, from the selector of a batch of ``rows`` images.

    The one image's logits are repeated to the batch's shape, so that the batch's selector
    (which checks its number of rows and may hold one class per image) runs unchanged, and its
    row ``row`` is kept: selectors choose row by row.
    """
    return lambda logits: select(logits.expand(rows, -1))[row : row + 1]


def _image_by_image_if_mixed(explain: Callable[..., Attribution]) -> Callable[..., Attribution]:
    """Wrap an ``_explain`` so that a model whose images affect each other gets them one by one.

    One backward of a batch's summed logits gives each image its own gradient only when the
    images are independent; for a model with batch norm on batch statistics
    (:func:`~flashwidget.model_guard.batch_statistics_layers`) each image is explained alone
    and the results concatenated. Every subclass's ``_explain`` is wrapped (see
    ``AttributionMethod.__init_subclass__``), so this also holds where a composite method calls
    its base method on a batch of noisy copies or points on a path. Progress reported per image
    is scaled to the whole batch.
    """

    @functools.wraps(explain)
    def wrapper(
        self: AttributionMethod, x: torch.Tensor, select: TargetSelector, **call_options: Any
    ) -> Attribution:
        rows = x.shape[0]
        if rows == 1 or not batch_statistics_layers(self.model):
            return explain(self, x, select, **call_options)
        outer = _progress.get()
        parts = []
        for row in range(rows):
            scaled = None if outer is None else functools.partial(_part_of, outer, row, rows)
            with reporting_progress(scaled):
                parts.append(
                    explain(
                        self, x[row : row + 1].clone(), _row_of(select, row, rows), **call_options
                    )
                )
        return Attribution(
            logits=torch.cat([part.logits for part in parts]),
            targets=torch.cat([part.targets for part in parts]),
            maps=torch.cat([part.maps for part in parts]),
        )

    wrapper.splits_mixed_batches = True  # type: ignore[attr-defined]
    return wrapper


def _part_of(outer: Progress, row: int, rows: int, fraction: float) -> None:
    outer((row + fraction) / rows)


class AttributionMethod(ABC):
    """Base class of the attribution methods: ``attribute(inputs, target)`` for all of them.

    Args:
        model: any ``nn.Module`` classifier. It is never moved, switched to eval for good, or
            left with hooks; maps are computed on the device it lives on.
        labels: class names, one per class, so that targets can be given by name. For a model
            with 1000 outputs, ImageNet's names are used when this is omitted.
        output_fn: picks the logits out of the model's output when it is not a tensor (a tuple,
            a dict). An object with a ``.logits`` tensor is handled without it.

    Subclasses set ``name`` (the registry's name), ``map_space`` ("input" when maps have the
    input's shape, "layer" when they come from a layer and are upsampled to one channel), and
    ``uses_rectifiers`` (True for guided methods, which need ReLU-like activations),
    ``iterative`` (True for methods that run the model many times for one map, SmoothGrad and
    Integrated Gradients, which report progress and are not computed ahead of a request), and
    implement :meth:`_explain`. Each subclass's ``_explain`` is wrapped so that a model whose
    images affect each other in eval mode is explained one image at a time (see the module's
    docstring); the subclass writes it for a batch as usual.
    """

    name: ClassVar[str]
    map_space: ClassVar[str] = "input"
    uses_rectifiers: ClassVar[bool] = False
    iterative: ClassVar[bool] = False
    call_options: ClassVar[frozenset[str]] = frozenset()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        explain = cls.__dict__.get("_explain")
        if (
            explain is not None
            and not getattr(explain, "__isabstractmethod__", False)
            and not getattr(explain, "splits_mixed_batches", False)
        ):
            cls._explain = _image_by_image_if_mixed(explain)

    def __init__(
        self,
        model: nn.Module,
        *,
        labels: Sequence[str] | ClassIndex | None = None,
        output_fn: OutputFn | None = None,
    ) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module; got {type(model).__qualname__}")
        if output_fn is not None and not callable(output_fn):
            raise TypeError(f"output_fn must be callable; got {type(output_fn).__qualname__}")
        self.model = model
        self.labels = (
            labels if labels is None or isinstance(labels, ClassIndex) else ClassIndex(labels)
        )
        self.output_fn = output_fn

    def attribute(
        self, inputs: torch.Tensor, target: TargetClass = None, **call_options: Any
    ) -> torch.Tensor:
        """The maps of ``inputs`` for ``target``, detached, on the model's device.

        Args:
            inputs: one image (C, H, W) or a batch (N, C, H, W), normalised as the model
                expects. It is not modified.
            target: a class index or name, ``None`` for each image's top prediction, or a list:
                one class per image of a batch, or for one image several classes, which share
                the work where the method allows (one forward pass for gradients).
            call_options: options of this call that only some methods take (SmoothGrad's
                ``generator``).

        Returns:
            For input-space methods the input's shape: (C, H, W) for a single (C, H, W) image,
            (N, C, H, W) for a batch, (K, C, H, W) for one image and K classes. Grad-CAM's maps
            have one channel: (1, H, W), (N, 1, H, W), (K, 1, H, W).
        """
        token = _logits_wanted.set(False)  # only the maps are returned
        try:
            maps = self.explain(inputs, target, **call_options).maps
        finally:
            _logits_wanted.reset(token)
        if maps.shape[0] > 1:
            return maps[:, 0]
        if asks_for_several(target):
            return maps[0]
        return maps[0, 0] if inputs.ndim == 3 else maps[:, 0]

    def explain(
        self,
        inputs: torch.Tensor,
        target: TargetClass = None,
        *,
        top_k: int = 1,
        progress: Progress | None = None,
        **call_options,
    ) -> Attribution:
        """Logits, explained classes and maps (N, K, ...) in one :class:`Attribution`.

        ``target=None`` explains each image's ``top_k`` best classes; otherwise the rules of
        :meth:`attribute` apply. ``progress``, if given, is called with the fraction done
        (0 to 1) as a method that loops over samples or steps goes through them.

        ``inputs`` is cast to the model's floating dtype, and the result is in that dtype. What
        the call warns about (:class:`PartlyGuidedWarning`) is warned once per call and also
        returned, as text, in the result's ``notes``.
        """
        unknown = sorted(set(call_options) - self.call_options)
        if unknown:
            accepted = ", ".join(sorted(self.call_options)) or "none"
            raise TypeError(
                f"{type(self).__name__}.attribute got unexpected option(s) {', '.join(unknown)}; "
                f"it accepts: {accepted}"
            )
        batch = as_image_batch(inputs)
        select = target_selector(target, len(batch), self.labels, top_k)
        if torch.is_inference_mode_enabled():
            raise RuntimeError(
                "attribution maps need autograd, which torch.inference_mode() disables; call "
                "this outside the inference_mode block (torch.no_grad() is fine)"
            )
        device = model_device(self.model, fallback=batch.device)
        dtype = model_dtype(self.model) or batch.dtype
        x = batch.detach().to(device=device, dtype=dtype, copy=True)
        collected: list[Note] = []
        token = _notes.set(collected)
        try:
            with torch.enable_grad(), evaluation_mode(self.model), reporting_progress(progress):
                result = self._explain(x, select, **call_options)
        finally:
            _notes.reset(token)
        for message, category in collected:
            _warn_from_caller(message, category)
        return replace(result, notes=tuple(message for message, _ in collected))

    @abstractmethod
    def _explain(self, x: torch.Tensor, select: TargetSelector, **call_options) -> Attribution:
        """Explain ``x`` (N, C, H, W), a private copy on the model's device, in eval mode with
        autograd on, for the classes ``select`` picks from the logits (N, classes)."""

    # Helpers for subclasses --------------------------------------------------------------

    def _logits(self, x: torch.Tensor, *, guided: bool = False) -> torch.Tensor:
        """The model's logits (N, classes) for ``x``, attached to the graph.

        With ``guided``, every rectifier of the forward pass gets the guided-backprop rule; a
        model without rectifiers (or a TorchScript one, whose rectifiers cannot be seen) is
        refused rather than silently given a vanilla gradient, and one that also has activations
        that are not guided (GELU, SiLU, Hardswish, ...) gets a :class:`PartlyGuidedWarning`.
        """
        rectifiers = GuidedRectifiers() if guided else nullcontext()
        with rectifiers:
            output = run_model(self.model, x)
        if guided:
            if rectifiers.count == 0:
                raise ValueError(no_rectifiers_reason(rectifiers, self.model))
            note = partly_guided_note(rectifiers, self.model)
            if note is not None:
                add_note(note, PartlyGuidedWarning)
        return logits_from(output, self.output_fn, batch_size=x.shape[0])

    def _classes(
        self, x: torch.Tensor, select: TargetSelector
    ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """Logits and classes of ``x`` for a method that explains other inputs (noisy copies,
        a path) for the classes of ``x``: one forward pass when it is needed (the top class is
        asked for, or the caller wants the logits); otherwise ``(None, None)``, and the first
        pass over the other inputs checks and spreads the given classes (:func:`pass_selector`),
        so that ``attribute`` runs no more passes than Captum does."""
        if getattr(select, "uses_logits", True) or _logits_wanted.get():
            return self._predict(x, select)
        return None, None

    def _predict(
        self, x: torch.Tensor, select: TargetSelector
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits and chosen targets of ``x`` from one forward pass without a graph: for
        methods that then explain other inputs (noisy copies, a path) for the same classes."""
        logits = logits_without_graph(self.model, x, self.output_fn)
        return logits, select(logits)


def with_maps(result: Attribution, maps: torch.Tensor) -> Attribution:
    """``result`` with other maps: for methods that transform a base method's maps."""
    return replace(result, maps=maps)
