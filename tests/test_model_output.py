"""Finding the logits in what a model returns, without output_fn where that is unambiguous."""

from __future__ import annotations

from collections import OrderedDict
from types import MappingProxyType, SimpleNamespace

import pytest
import torch
from torch import nn

from flashwidget import Backprop
from flashwidget.model_output import logits_from


def logits(batch: int = 2, classes: int = 5) -> torch.Tensor:
    return torch.randn(batch, classes, requires_grad=True) * 1


@pytest.mark.parametrize(
    "wrap",
    [
        lambda t: {"logits": t},
        lambda t: {"aux": torch.zeros(2, 5), "logits": t, "loss": None},
        lambda t: OrderedDict(logits=t),
        lambda t: MappingProxyType({"logits": t}),
    ],
    ids=["dict", "dict-with-extras", "ordered-dict", "read-only-mapping"],
)
def test_a_mapping_with_a_logits_entry_needs_no_output_fn(wrap):
    expected = logits()
    assert logits_from(wrap(expected), None, batch_size=2) is expected


def test_an_object_with_logits_still_comes_first():
    expected = logits()
    output = SimpleNamespace(logits=expected)
    assert logits_from(output, None, batch_size=2) is expected


def test_output_fn_overrides_the_logits_entry():
    chosen, ignored = logits(), logits()
    output = {"logits": ignored, "calibrated": chosen}
    assert logits_from(output, lambda out: out["calibrated"], batch_size=2) is chosen


@pytest.mark.parametrize(
    "output",
    [{"out": logits(), "aux": logits()}, {}, OrderedDict(scores=logits())],
)
def test_other_mappings_still_get_the_clear_error(output):
    with pytest.raises(TypeError, match=r"returned an? \w+ with keys .*output_fn") as info:
        logits_from(output, None, batch_size=2)
    assert "a dict with a 'logits' entry" in str(info.value)


def test_a_logits_entry_that_is_not_a_tensor_is_named():
    with pytest.raises(TypeError, match=r"the model's 'logits' entry gave a list of 2 items"):
        logits_from({"logits": [1.0, 2.0]}, None, batch_size=2)


def test_a_logits_entry_of_the_wrong_shape_is_named():
    with pytest.raises(ValueError, match=r"'logits' entry gave logits of shape \(5,\)"):
        logits_from({"logits": torch.randn(5, requires_grad=True)}, None, batch_size=2)


class DictWithAuxModel(nn.Module):
    """Returns logits and an auxiliary head in a dict, as some detection/segmentation-style
    classifiers do."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x):
        out = self.inner(x)
        return {"aux": out.detach() * 0, "logits": out}


def test_backprop_on_a_model_returning_a_dict_with_logits():
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 6)
    ).eval()
    image = torch.rand(3, 8, 8)
    expected = Backprop(model).calculate_gradients(image, 2)
    assert expected.abs().sum() > 0
    assert torch.equal(Backprop(DictWithAuxModel(model)).calculate_gradients(image, 2), expected)
