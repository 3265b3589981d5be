"""The widget's computing, without traitlets: which map to show, from cache or from a method.

``SaliencyWidget`` holds traits and the public API; this plain object holds what they are
computed from, so that it can be tested (and reused by other views) without a front end:

- the input (one image, on the CPU) and the model it is explained with: always a private copy
  of the user's model (see :mod:`flashwidget.live`), so that nothing the widget does (eval
  mode for a forward pass, Grad-CAM's hook) is ever seen by the user's model, even by a
  training step running in another thread. The copy follows the live weights whenever they
  change (:func:`weights_fingerprint`), until ``follow_training()`` is called: from then on
  only when the training loop says its weights are whole;
- one instance of each attribution method in use, built from the registry with its options;
- a least-recently-used cache of full maps, keyed by (class, method, options), so switching
  back to a map seen before costs nothing, and its invalidation when the weights change
  (:func:`weights_fingerprint`) or the image does;
- prefetching: after a map that needed the model, the top-k classes not cached yet for the same
  method are computed in one call, which shares a forward pass between them where the method
  allows (iterative methods excepted: they would hold the kernel for seconds);
- what the view needs to offer methods: which ones this model cannot run, and why, and the
  layers Grad-CAM can read;
- the trust checks of a map (:class:`flashwidget.trust.MapCheck`) on the same copy and input,
  their results kept like the maps (per class, method and options, forgotten with them), and
  each method's latest verdicts for the weights as they are.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from flashwidget import methods, trust
from flashwidget.guided import GuidedRectifiers, no_rectifiers_reason, partly_guided_note
from flashwidget.live import WeightsMirror, model_tensors
from flashwidget.method_names import OPTION_SPECS
from flashwidget.methods.core import logits_without_graph
from flashwidget.model_guard import evaluation_mode, model_device, model_dtype
from flashwidget.model_output import OutputFn
from flashwidget.targets import Target

OptionsKey = tuple[tuple[str, Any], ...]
MapKey = tuple[int, str, OptionsKey]


def weights_fingerprint(model: nn.Module) -> tuple[tuple[int, int, int], ...]:
    """A cheap value that changes whenever the model's weights do (about 1 ms for 300 tensors).

    Every in-place write to a tensor (an optimizer step, ``load_state_dict``, batch norm's
    running statistics) bumps its autograd version counter; replacing a tensor or moving the
    model to another device changes its identity and data pointer. Writes through ``.data``
    bypass the version counter and go unseen: call ``refresh()`` after those.
    """
    return tuple((id(t), t.data_ptr(), t._version) for t in model_tensors(model))


def options_key(options: Mapping[str, Any]) -> OptionsKey:
    """A hashable, order-free form of a method's options, for cache keys."""
    return tuple(sorted(options.items()))


def check_options(method: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """The options with the view's bounds checked; a ValueError/TypeError says what is wrong.

    Only the options the view offers for ``method`` are accepted (JSON values: numbers and
    layer names); the method's constructor then checks them once more when it is built.
    """
    methods.method_class(method)  # an unknown name: KeyError listing the available ones
    specs = OPTION_SPECS[method]
    if not isinstance(options, Mapping):
        raise TypeError(f"method_options must be a dict; got {type(options).__name__}")
    unknown = sorted(set(options) - set(specs))
    if unknown:
        offered = ", ".join(sorted(specs)) or "none"
        raise ValueError(f"{method} has no option {', '.join(unknown)}; its options are: {offered}")
    checked = {}
    for name, value in options.items():
        spec = specs[name]
        if spec["kind"] == "layer":
            if value is not None and not isinstance(value, str):
                raise TypeError(f"layer must be a layer name (str) or None; got {value!r}")
        else:
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            if not number or (spec["kind"] == "int" and not float(value).is_integer()):
                kind = "an int" if spec["kind"] == "int" else "a number"
                raise TypeError(f"{name} must be {kind}; got {value!r}")
            if not spec["min"] <= value <= spec["max"]:
                raise ValueError(
                    f"{name} must be between {spec['min']} and {spec['max']}; got {value!r}"
                )
            value = int(value) if spec["kind"] == "int" else float(value)
        checked[name] = value
    return checked


class _LRU:
    """At most ``size`` maps, the least recently used dropped first."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[MapKey, torch.Tensor] = OrderedDict()

    def __contains__(self, key: MapKey) -> bool:
        return key in self._entries

    def get(self, key: MapKey) -> torch.Tensor | None:
        if key in self._entries:
            self._entries.move_to_end(key)
        return self._entries.get(key)

    def put(self, key: MapKey, value: torch.Tensor) -> None:
        self._entries[key] = value
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()


@dataclass(frozen=True)
class Probe:
    """What one forward pass tells about the model: its number of outputs; why guided
    backpropagation cannot run (no rectifier seen), or is only partly guided; or ``None``."""

    outputs: int
    unguidable: str | None
    partly_guided: str | None


@dataclass(frozen=True)
class Shown:
    """One map to show: the class it explains, the map (C, H, W), and the logits if the model
    ran for it (``None`` on a cache hit)."""

    target: int
    map: torch.Tensor
    logits: torch.Tensor | None

    @property
    def cached(self) -> bool:
        return self.logits is None


class Explorer:
    """Maps of one image for any class and method, cached, for one model.

    Args:
        model: the classifier; only read (its weights copied), never run.
        labels: class names, one per class, or ``None``.
        output_fn: picks the logits out of a model output that is not a tensor.
        top_k: how many of the best classes to prefetch.
        cache_size: how many maps to keep.
    """

    def __init__(
        self,
        model: nn.Module,
        *,
        labels: Sequence[str] | None = None,
        output_fn: OutputFn | None = None,
        top_k: int = 5,
        cache_size: int = 64,
    ) -> None:
        self.live = model
        self.labels = labels
        self.output_fn = output_fn
        self.top_k = top_k
        self.input: torch.Tensor | None = None
        self.top_classes: list[int] = []
        self._mirror = WeightsMirror(model)
        self._built_on: nn.Module | None = None
        self.following = False
        self._cache = _LRU(cache_size)
        self._fingerprint: tuple | None = None
        self._methods: dict[tuple[str, OptionsKey], methods.AttributionMethod] = {}
        self._probes: dict[tuple[int, ...], Probe] = {}
        self._layers: dict[tuple[int, ...], list[tuple[str, tuple[int, ...]]]] = {}
        self._checks: dict[MapKey, trust.CheckResult] = {}
        self.verdicts: dict[str, list[trust.Verdict]] = {}

    @property
    def model(self) -> nn.Module:
        """The private copy of the model that maps are computed with, made on first use."""
        if self._mirror.model is None:
            self._copy_weights()
        return self._mirror.model

    @property
    def copy_note(self) -> str:
        """How the private copy was made, when it could not be an ordinary deep copy."""
        return self._mirror.note

    # State --------------------------------------------------------------------------------

    def set_input(self, batch: torch.Tensor) -> None:
        """Explain ``batch`` (1, C, H, W) from now on; every cached map is forgotten."""
        self.input = batch
        self.forget()

    def forget(self) -> None:
        """Drop every cached map and the classes to prefetch: they belong to other weights or
        another image."""
        self._cache.clear()
        self._checks.clear()
        self.top_classes = []

    def _copy_weights(self) -> None:
        """Bring the private copy up to the live weights; what was computed before is stale."""
        mirror = self._mirror.refresh()
        self._fingerprint = weights_fingerprint(self.live)
        if mirror is not self._built_on:  # a new copy: the methods must be built on it
            self._methods.clear()
            self._probes.clear()
            self._layers.clear()
            self._built_on = mirror
        self.verdicts.clear()
        self.forget()

    def follow_training(self) -> None:
        """Copy the live weights now, and from now on only when this is called again: the
        training loop decides when its weights are whole."""
        self._copy_weights()
        self.following = True

    def forget_if_weights_changed(self) -> None:
        """Copy the live weights again if they changed since the last copy (not once training
        is followed: then only ``follow_training()`` copies)."""
        if self.following:
            return
        if self._fingerprint is None or weights_fingerprint(self.live) != self._fingerprint:
            self._copy_weights()

    def recopy(self) -> None:
        """Make a new private copy of the whole model now: for changes the
        fingerprint cannot see (writes through ``.data``, attributes that are not parameters or
        buffers)."""
        self._mirror.model = None
        self._copy_weights()

    # Maps ---------------------------------------------------------------------------------

    def method(self, name: str, options: Mapping[str, Any]) -> methods.AttributionMethod:
        """The method ``name`` with ``options`` for the current model, built once."""
        key = (name, options_key(options))
        if key not in self._methods:
            self._methods[key] = methods.get(
                name, self.model, labels=self.labels, output_fn=self.output_fn, **options
            )
        return self._methods[key]

    def cached(self, target: int, name: str, options: Mapping[str, Any]) -> torch.Tensor | None:
        return self._cache.get((target, name, options_key(options)))

    def show(
        self,
        target: Target | None,
        name: str,
        options: Mapping[str, Any],
        progress: Callable[[float], None] | None = None,
    ) -> Shown:
        """The map of ``target`` (index, name, or ``None`` for the top class) by ``name``.

        An index found in the cache is returned without running the model; anything else runs
        the method once and caches the map.
        """
        if self.input is None:
            raise RuntimeError("no image to explain")
        self.forget_if_weights_changed()
        if isinstance(target, int):
            hit = self.cached(target, name, options)
            if hit is not None:
                return Shown(target=target, map=hit, logits=None)
        result = self.method(name, options).explain(self.input, target, progress=progress)
        index = int(result.targets[0, 0])
        self._cache.put((index, name, options_key(options)), result.maps[0, 0])
        self._note_top(result.logits[0])
        return Shown(target=index, map=result.maps[0, 0], logits=result.logits[0])

    def prefetch(self, name: str, options: Mapping[str, Any], limit: int | None = None) -> int:
        """Compute the top-k classes' maps not cached yet (at most ``limit`` of them), in one
        call; return how many are still missing.

        Iterative methods (SmoothGrad, Integrated Gradients) are not prefetched: their maps
        take tens of passes each, and computing four of them ahead would hold the kernel for
        seconds that a user's next click would wait out.
        """
        if self.method(name, options).iterative:
            return 0
        key = options_key(options)
        missing = [c for c in self.top_classes if (c, name, key) not in self._cache]
        chosen = missing[:limit]
        if chosen:
            result = self.method(name, options).explain(self.input, chosen)
            for k, index in enumerate(chosen):
                self._cache.put((index, name, key), result.maps[0, k])
        return len(missing) - len(chosen)

    # Checks -------------------------------------------------------------------------------

    def start_check(self, target: int, name: str, options: Mapping[str, Any]) -> trust.MapCheck:
        """The trust checks of the map of ``target`` by ``name``, to run step by step. They run
        on a copy of the private model taken now, so weights a training loop sends meanwhile
        do not mix into one check; the map scored is the cached one when there is one."""
        if self.input is None:
            raise RuntimeError("no image to check")
        self.forget_if_weights_changed()
        return trust.MapCheck(
            self.model,
            self._input_on_device(),
            target,
            name,
            options,
            attributions=self.cached(target, name, options),
            output_fn=self.output_fn,
        )

    def keep_check(self, result: trust.CheckResult) -> None:
        """Remember a finished check for its map, and its verdicts for its method."""
        self._checks[(result.target, result.method, options_key(result.options))] = result
        self.verdicts[result.method] = result.verdicts

    def checked(
        self, target: int, name: str, options: Mapping[str, Any]
    ) -> trust.CheckResult | None:
        """The check of this map, if one finished since the weights or the image changed."""
        return self._checks.get((target, name, options_key(options)))

    def _note_top(self, logits: torch.Tensor) -> None:
        top = min(self.top_k, len(logits))
        self.top_classes = [int(i) for i in logits.topk(top).indices]

    # What the view can offer --------------------------------------------------------------

    def probe(self) -> Probe:
        """What one forward pass of the current input tells (see :class:`Probe`). Without
        autograd, once per input shape."""
        shape = tuple(self.input.shape)
        if shape not in self._probes:
            rectifiers = GuidedRectifiers()
            with evaluation_mode(self.model), rectifiers:
                logits = logits_without_graph(self.model, self._input_on_device(), self.output_fn)
            self._probes[shape] = Probe(
                outputs=logits.shape[1],
                unguidable=(
                    no_rectifiers_reason(rectifiers, self.model) if rectifiers.count == 0 else None
                ),
                partly_guided=partly_guided_note(rectifiers, self.model),
            )
        return self._probes[shape]

    def unavailable_methods(self) -> dict[str, str]:
        """Methods this model cannot run on the current input, each with the reason why.

        Guided methods need rectifiers in the forward pass (models with GELU or SiLU, such as
        ConvNeXt, EfficientNet-B0 or ViT, have none); Grad-CAM needs a layer with a spatial
        output.
        """
        if self.input is None:
            return {}
        notes: dict[str, str] = {}
        unguidable = self.probe().unguidable
        if unguidable:
            notes.update(
                {name: unguidable for name in methods.available() if methods.uses_rectifiers(name)}
            )
        if not self.spatial_layers():
            reason = "needs a layer with a spatial output (N, C, h, w) and this model has none"
            for name in ("gradcam", "guided_gradcam"):
                notes.setdefault(name, reason)
        return notes

    def spatial_layers(self) -> list[tuple[str, tuple[int, ...]]]:
        """Layers Grad-CAM can read for the current input, input to output."""
        if self.input is None:
            return []
        shape = tuple(self.input.shape)
        if shape not in self._layers:
            self._layers[shape] = methods.spatial_layers(self.model, self._input_on_device())
        return self._layers[shape]

    def _input_on_device(self) -> torch.Tensor:
        """The input on the model's device, in its floating dtype, as the methods give it."""
        device = model_device(self.model, fallback=self.input.device)
        return self.input.to(device=device, dtype=model_dtype(self.model) or self.input.dtype)
