"""The engine's assumptions are checked, not trusted.

- Guided backprop says when it meets activations it does not guide (GELU, SiLU, Hardswish, ...),
  and why a TorchScript model's rectifiers cannot be seen.
- A batch is explained by one backward of its summed logits only when its images do not affect
  each other; a model with batch norm on batch statistics is explained one image at a time.
- Inputs are cast to the model's floating dtype.
"""

from __future__ import annotations

import copy
import math
import warnings
from collections import Counter

import pytest
import torch
import torch.nn.functional as F
import torchvision
from reference import GuidedClamp
from torch import nn

from flashwidget import Backprop, methods
from flashwidget.guided import GuidedRectifiers, PartlyGuidedWarning, partly_guided_note
from flashwidget.model_guard import batch_statistics_layers, evaluation_mode

ALL_METHODS = methods.available()


def small_classifier(activation: object = None, norm: nn.Module | None = None) -> nn.Module:
    """conv, [norm], ReLU, conv, [activation], pool, linear: small enough for every method."""
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        norm if norm is not None else nn.Identity(),
        nn.ReLU(),
        nn.Conv2d(8, 8, 3, padding=1),
        Apply(activation) if activation is not None else nn.Identity(),
        nn.AdaptiveAvgPool2d(2),
        nn.Flatten(),
        nn.Linear(32, 6),
    ).eval()


class Apply(nn.Module):
    """A module that calls ``function``: functional activations inside a forward pass."""

    def __init__(self, function: object) -> None:
        super().__init__()
        self.function = function

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.function(x)


def images(count: int = 3, side: int = 12, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    generator = torch.Generator().manual_seed(3)
    return torch.randn(count, 3, side, side, generator=generator).to(dtype)


def method_options(name: str) -> dict[str, object]:
    """Few samples and steps, so that every method stays quick."""
    return {"smoothgrad": {"samples": 3}, "integrated_gradients": {"steps": 4}}.get(name, {})


def build(name: str, model: nn.Module, **options: object) -> methods.AttributionMethod:
    return methods.get(name, model, **{**method_options(name), **options})


# 1. Activations that guided backprop does not guide ------------------------------------------

UNGUIDED = [
    (nn.GELU(), "GELU"),
    (nn.SiLU(), "SiLU"),
    (nn.SiLU(inplace=True), "SiLU"),
    (nn.Hardswish(), "Hardswish"),
    (nn.Hardsigmoid(), "Hardsigmoid"),
    (nn.Mish(), "Mish"),
    (nn.ELU(), "ELU"),
    (nn.LeakyReLU(), "LeakyReLU"),
    (nn.Tanh(), "Tanh"),
    (nn.Sigmoid(), "Sigmoid"),
    (F.gelu, "GELU"),
    (F.silu, "SiLU"),
    (F.hardswish, "Hardswish"),
    (F.mish, "Mish"),
    (F.elu, "ELU"),
    (F.leaky_relu, "LeakyReLU"),
    (torch.sigmoid, "Sigmoid"),
    (torch.tanh, "Tanh"),
    (torch.Tensor.sigmoid, "Sigmoid"),
    (lambda t: F.hardtanh(t, -1.0, 1.0), "Hardtanh"),
]


@pytest.mark.parametrize(
    ("activation", "name"),
    UNGUIDED,
    ids=[f"{i}-{name}" for i, (_, name) in enumerate(UNGUIDED)],
)
def test_every_unguided_activation_is_counted_by_name(activation, name):
    model = small_classifier(activation)
    mode = GuidedRectifiers()
    with mode:
        model(images(1))
    assert mode.rectifiers == Counter({"ReLU": 1})
    assert mode.count == 1
    assert mode.unguided == Counter({name: 1})
    assert f"1 {name}" in partly_guided_note(mode)


def test_relu_and_gelu_model_warns_and_is_guided_only_at_the_relu():
    model = small_classifier(nn.GELU())
    x = images(2)
    with pytest.warns(PartlyGuidedWarning) as record:
        result = methods.get("guided_backprop", model).explain(x, [1, 4])
    guided_warnings = [w for w in record if w.category is PartlyGuidedWarning]
    assert len(guided_warnings) == 1
    message = str(guided_warnings[0].message)
    assert "1 rectifier call(s) (1 ReLU)" in message
    assert "1 activation call(s) it does not guide (1 GELU)" in message
    assert guided_warnings[0].filename == __file__  # points at the caller, not the engine
    assert result.notes == (message,)
    # What the message claims: the guided rule at the ReLU, the plain GELU gradient elsewhere.
    reference = copy.deepcopy(model)
    reference[2] = Apply(lambda t: GuidedClamp.apply(t, math.inf))
    leaf = x.clone().requires_grad_(True)
    logits = reference(leaf)
    (expected,) = torch.autograd.grad(logits[0, 1] + logits[1, 4], leaf)
    torch.testing.assert_close(result.maps[:, 0], expected)


@pytest.mark.parametrize("name", ["guided_backprop", "guided_gradcam"])
def test_mobilenet_v3_is_said_to_be_partly_guided(name):
    torch.manual_seed(0)
    model = torchvision.models.mobilenet_v3_small(weights=None).eval()
    modules = Counter(type(m).__name__ for m in model.modules())
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    mode = GuidedRectifiers()
    with mode:
        model(x)
    # torchvision's MobileNetV3 runs each activation module once per forward pass.
    assert mode.rectifiers == Counter({"ReLU": modules["ReLU"]})
    assert mode.unguided == Counter(
        {"Hardswish": modules["Hardswish"], "Hardsigmoid": modules["Hardsigmoid"]}
    )
    with pytest.warns(PartlyGuidedWarning, match=f"{modules['Hardswish']} Hardswish") as record:
        result = methods.get(name, model).explain(x)
    assert sum(w.category is PartlyGuidedWarning for w in record) == 1
    assert result.notes == (partly_guided_note(mode, model),)


def test_the_note_is_given_once_per_call_however_many_passes():
    model = small_classifier(nn.SiLU())
    smoothgrad = methods.get(
        "smoothgrad", model, base="guided_backprop", samples=4, internal_batch_size=2
    )
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        result = smoothgrad.explain(images(2))  # four passes of two noisy images
    assert [w.category for w in record] == [PartlyGuidedWarning]
    assert len(result.notes) == 1 and "1 SiLU" in result.notes[0]


def test_no_warning_and_no_note_for_a_pure_relu_model_or_vanilla_gradients():
    with warnings.catch_warnings():
        warnings.simplefilter("error", PartlyGuidedWarning)
        assert methods.get("guided_backprop", small_classifier()).explain(images(2)).notes == ()
        assert Backprop(small_classifier()).attribute(images(1), guided=True).notes == ()
        mixed = small_classifier(nn.GELU())
        assert methods.get("gradient", mixed).explain(images(2)).notes == ()
    mode = GuidedRectifiers()
    with mode:
        small_classifier()(images(1))
    assert partly_guided_note(mode) is None


def test_model_without_rectifiers_names_what_it_has():
    model = small_classifier(nn.SiLU())
    model[2] = nn.Tanh()
    with pytest.raises(ValueError, match=r"has none \(its activations, 1 Tanh, 1 SiLU, are not\)"):
        methods.get("guided_backprop", model).explain(images(1))


# 2. TorchScript ------------------------------------------------------------------------------


def scripted(kind: str, model: nn.Module) -> nn.Module:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit is deprecated in torch 2.x
        if kind == "script":
            return torch.jit.script(model)
        return torch.jit.trace(model, images(1))


@pytest.mark.parametrize("kind", ["script", "trace"])
def test_torchscript_model_is_told_why_its_rectifiers_are_unseen(kind):
    eager = small_classifier()
    model = scripted(kind, eager)
    with pytest.raises(ValueError, match="TorchScript model") as error:
        methods.get("guided_backprop", model).explain(images(1))
    assert "pass the original (eager) nn.Module" in str(error.value)
    assert "has none" not in str(error.value)
    # Vanilla gradients do not need to see inside, and are the eager model's.
    x = images(2)
    torch.testing.assert_close(
        methods.get("gradient", model).attribute(x, 1),
        methods.get("gradient", eager).attribute(x, 1),
    )


def test_torchscript_submodule_of_an_eager_model_is_named():
    model = small_classifier()
    model[3] = scripted("script", nn.Sequential(nn.Conv2d(8, 8, 3, padding=1), nn.ReLU()))
    with pytest.warns(PartlyGuidedWarning, match=r"TorchScript submodule\(s\) '3'"):
        methods.get("guided_backprop", model).explain(images(1))


def test_torchscript_model_is_in_eval_mode_while_explained_and_restored_after():
    torch.manual_seed(0)
    eager = nn.Sequential(nn.Flatten(), nn.Linear(3 * 12 * 12, 64), nn.Dropout(0.5))
    eager.append(nn.Linear(64, 5))
    model = scripted("script", eager).train()
    x = images(1)
    with evaluation_mode(model):
        assert torch.equal(model(x), model(x))  # dropout is off in the compiled code too
    assert all(module.training for module in model.modules())
    assert not any("training" in vars(module) for module in model.modules())
    model.eval()  # the flag read is the compiled module's, not a stale copy
    assert not any(module.training for module in model.modules())
    model.train()
    first = methods.get("gradient", model).attribute(x, 2)
    assert torch.equal(first, methods.get("gradient", model).attribute(x, 2))


# 3. Images that affect each other ------------------------------------------------------------


@pytest.mark.parametrize(
    ("norm", "found"),
    [
        (nn.BatchNorm2d(8, track_running_stats=False), True),
        (nn.SyncBatchNorm(8, track_running_stats=False), True),
        (nn.BatchNorm2d(8), False),
        (nn.GroupNorm(2, 8), False),
        (nn.InstanceNorm2d(8, track_running_stats=False), False),
    ],
    ids=["batchnorm without stats", "syncbatchnorm", "batchnorm", "groupnorm", "instancenorm"],
)
def test_batch_statistics_layers_are_found(norm, found):
    assert batch_statistics_layers(small_classifier(norm=norm)) == (["1"] if found else [])


def test_batchnorm_with_its_running_stats_removed_is_found():
    model = small_classifier(norm=nn.BatchNorm2d(8))
    model[1].running_mean = model[1].running_var = None
    assert batch_statistics_layers(model) == ["1"]


def mixing_model() -> nn.Module:
    return small_classifier(norm=nn.BatchNorm2d(8, track_running_stats=False))


def test_the_batch_really_mixes_without_the_per_image_path():
    model = mixing_model()
    x = images(3).requires_grad_(True)
    (batched,) = torch.autograd.grad(model(x)[:, 0].sum(), x)
    alone = torch.cat(
        [torch.autograd.grad(model(x[i : i + 1])[0, 0], x)[0][i : i + 1] for i in range(3)]
    )
    assert (batched - alone).norm() > 0.1 * alone.norm()
    torch.testing.assert_close(methods.get("gradient", model).attribute(x, 0), alone)


@pytest.mark.parametrize("name", ALL_METHODS)
@pytest.mark.parametrize("target", [None, [0, 5, 2]], ids=["top", "per image"])
def test_batch_maps_equal_per_image_maps_when_images_mix(name, target):
    model = mixing_model()
    x = images(3)
    method = build(name, model)
    batch = method.explain(x, target, top_k=2 if target is None else 1)
    for i in range(3):
        one = method.explain(
            x[i], None if target is None else target[i], top_k=batch.targets.shape[1]
        )
        assert torch.equal(batch.targets[i], one.targets[0])
        torch.testing.assert_close(batch.logits[i], one.logits[0])
        torch.testing.assert_close(batch.maps[i], one.maps[0])


@pytest.mark.parametrize("name", ["smoothgrad", "integrated_gradients"])
def test_noisy_copies_and_path_points_do_not_mix_either(name):
    model = mixing_model()
    x = images(1)
    one_by_one = build(name, model, internal_batch_size=1).attribute(x, 3)
    together = build(name, model, internal_batch_size=32).attribute(x, 3)
    torch.testing.assert_close(together, one_by_one)


def forward_batch_sizes(model: nn.Module, call) -> list[int]:
    sizes: list[int] = []
    handle = model.register_forward_pre_hook(lambda module, args: sizes.append(args[0].shape[0]))
    try:
        call()
    finally:
        handle.remove()
    return sizes


def test_an_ordinary_model_still_gets_one_pass_per_batch():
    model = small_classifier(norm=nn.BatchNorm2d(8))
    x = images(3)
    gradient = methods.get("gradient", model)
    assert forward_batch_sizes(model, lambda: gradient.attribute(x)) == [3]
    mixed = mixing_model()
    mixed_gradient = methods.get("gradient", mixed)
    assert forward_batch_sizes(mixed, lambda: mixed_gradient.attribute(x)) == [1, 1, 1]


def test_progress_of_a_batch_explained_image_by_image_runs_once_to_the_end():
    seen: list[float] = []
    smoothgrad = build("smoothgrad", mixing_model(), samples=4, internal_batch_size=1)
    smoothgrad.explain(images(2), progress=seen.append)
    assert seen == pytest.approx([k / 8 for k in range(1, 9)])


# 4. Floating dtypes --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL_METHODS)
@pytest.mark.parametrize(
    ("model_dtype", "input_dtype"),
    [(torch.float64, torch.float32), (torch.float32, torch.float64)],
    ids=["float64 model", "float32 model"],
)
def test_input_is_cast_to_the_model_dtype(name, model_dtype, input_dtype):
    model = small_classifier().to(model_dtype)
    x = images(2, dtype=input_dtype)
    before = x.clone()
    maps = build(name, model).attribute(x, [1, 2])
    expected = build(name, model).attribute(x.to(model_dtype), [1, 2])
    assert maps.dtype == model_dtype
    torch.testing.assert_close(maps, expected, rtol=0, atol=0)
    assert x.dtype == input_dtype and torch.equal(x, before)


class MixedDtypes(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3).double()
        self.head = nn.Linear(4, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.conv(x).mean(dim=(2, 3)))


def test_a_dtype_failure_is_named_as_one():
    with pytest.raises(
        ValueError, match=r"dtype is torch\.float64.*torch\.float64, torch\.float32"
    ):
        methods.get("gradient", MixedDtypes()).attribute(images(1), 0)


@pytest.mark.parametrize("name", ["gradient", "gradcam"])
def test_bfloat16_model_on_cpu(name):
    dtype = torch.bfloat16
    model = small_classifier()
    x = images(2)
    reference = methods.get(name, model).attribute(x, [1, 2])
    maps = methods.get(name, copy.deepcopy(model).to(dtype)).attribute(x, [1, 2])
    assert maps.dtype == dtype and bool(maps.isfinite().all())
    similarity = F.cosine_similarity(maps.float().flatten(), reference.flatten(), dim=0)
    assert similarity > 0.98
