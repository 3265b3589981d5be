"""Bad input gets a clear error that names what was wrong and what is expected."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from flashwidget import Backprop


class TupleModel(nn.Module):
    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return self.inner(x), "aux"


class DictModel(TupleModel):
    def __init__(self, inner: nn.Module, key: str = "logits") -> None:
        super().__init__(inner)
        self.key = key

    def forward(self, x):
        return {self.key: self.inner(x)}


class HasLogits:
    def __init__(self, logits: torch.Tensor) -> None:
        self.logits = logits


class LogitsObjectModel(TupleModel):
    def forward(self, x):
        return HasLogits(self.inner(x))


@pytest.fixture(scope="module")
def small_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10)
    ).eval()


@pytest.mark.parametrize(
    ("make_input", "target", "error", "words"),
    [
        (lambda: [[0.0]], None, TypeError, "must be a torch.Tensor.*got list"),
        (lambda: torch.rand(8, 8), None, ValueError, r"shape \(C, H, W\).*got 2 dimensions"),
        (lambda: torch.rand(1, 1, 3, 8, 8), None, ValueError, "got 5 dimensions"),
        (lambda: torch.rand(1, 8, 8), None, ValueError, "expects 3 channels; the input has 1"),
        (lambda: torch.zeros(3, 8, 8, dtype=torch.uint8), None, TypeError, "dtype torch.uint8"),
        (lambda: torch.full((3, 8, 8), float("nan")), None, ValueError, "NaN"),
        (lambda: torch.rand(3, 8, 8), 10, IndexError, r"out of range.*0 <= target_class < 10"),
        (lambda: torch.rand(3, 8, 8), -1, IndexError, "out of range"),
        (lambda: torch.rand(3, 8, 8), 2.5, TypeError, "class indices .int. or class names"),
        (lambda: torch.rand(3, 8, 8), True, TypeError, "class indices"),
        (lambda: torch.rand(3, 8, 8), "cat", KeyError, "needs labels"),
        (lambda: torch.rand(2, 3, 8, 8), [1, 2, 3], ValueError, "3 target classes for 2 images"),
        (lambda: torch.rand(3, 8, 8), [], ValueError, "empty"),
    ],
    ids=[
        "not a tensor",
        "rank 2",
        "rank 5",
        "wrong channels",
        "integer dtype",
        "NaN",
        "target too large",
        "negative target",
        "float target",
        "bool target",
        "name without labels",
        "targets vs batch",
        "no targets",
    ],
)
def test_bad_input_is_named(small_model, make_input, target, error, words):
    with pytest.raises(error, match=words):
        Backprop(small_model).calculate_gradients(make_input(), target)


def test_unknown_and_ambiguous_names_with_labels(small_model):
    labels = ["cat", "dog", "hot dog", "crane", "crane", "a", "b", "c", "d", "e"]
    backprop = Backprop(small_model, labels=labels)
    image = torch.rand(3, 8, 8)
    assert torch.equal(
        backprop.calculate_gradients(image, "cat"), backprop.calculate_gradients(image, 0)
    )
    with pytest.raises(KeyError, match="ambiguous"):
        backprop.calculate_gradients(image, "crane")
    with pytest.raises(KeyError, match="zebra"):
        backprop.calculate_gradients(image, "zebra")


def test_labels_must_match_the_number_of_classes(small_model):
    with pytest.raises(ValueError, match="labels has 2 names but the model has 10 classes"):
        Backprop(small_model, labels=["a", "b"]).calculate_gradients(torch.rand(3, 8, 8), "a")


def test_not_a_model():
    with pytest.raises(TypeError, match=r"torch\.nn\.Module"):
        Backprop(lambda x: x)


def test_tuple_and_dict_outputs_need_output_fn(small_model):
    """A tuple or a dict without a "logits" entry needs output_fn; a dict with one does not."""
    image = torch.rand(3, 8, 8)
    expected = Backprop(small_model).calculate_gradients(image, 1)
    with pytest.raises(TypeError, match=r"returned a tuple of 2 items.*output_fn"):
        Backprop(TupleModel(small_model)).calculate_gradients(image, 1)
    assert torch.equal(Backprop(DictModel(small_model)).calculate_gradients(image, 1), expected)
    with pytest.raises(TypeError, match=r"returned a dict with keys \['out'\].*output_fn"):
        Backprop(DictModel(small_model, key="out")).calculate_gradients(image, 1)
    tuple_map = Backprop(TupleModel(small_model), output_fn=lambda out: out[0])
    assert torch.equal(tuple_map.calculate_gradients(image, 1), expected)
    dict_map = Backprop(DictModel(small_model), output_fn=lambda out: out["logits"])
    assert torch.equal(dict_map.calculate_gradients(image, 1), expected)
    logits_object = Backprop(LogitsObjectModel(small_model))
    assert torch.equal(logits_object.calculate_gradients(image, 1), expected)


def test_output_fn_returning_garbage(small_model):
    backprop = Backprop(TupleModel(small_model), output_fn=lambda out: out[1])
    with pytest.raises(TypeError, match="output_fn gave an object of type str"):
        backprop.calculate_gradients(torch.rand(3, 8, 8), 0)


def test_logits_of_wrong_shape(small_model):
    backprop = Backprop(small_model, output_fn=lambda out: out[0])
    with pytest.raises(ValueError, match=r"logits of shape \(10,\).*\(1, classes\)"):
        backprop.calculate_gradients(torch.rand(3, 8, 8), 0)


def test_inference_mode_is_refused_clearly(small_model):
    with torch.inference_mode(), pytest.raises(RuntimeError, match="inference_mode"):
        Backprop(small_model).calculate_gradients(torch.rand(3, 8, 8), 0)


def test_use_gpu_is_accepted_with_a_warning(small_model):
    with pytest.warns(UserWarning, match="use_gpu is ignored"):
        maps = Backprop(small_model).calculate_gradients(torch.rand(3, 8, 8), 0, use_gpu=True)
    assert maps.device == torch.device("cpu")
