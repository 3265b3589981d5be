"""Guided backprop sees every kind of rectifier, and refuses a model that has none."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from reference import GuidedClamp, assert_maps_equal
from torch import nn

from flashwidget import Backprop


class AllRectifiers(nn.Module):
    """One of each way a forward pass can rectify; ``explicit`` uses the reference function."""

    CAPPED_AT_SIX = (1, 4, 5)

    def __init__(self, explicit: bool = False) -> None:
        super().__init__()
        self.explicit = explicit
        self.relu_inplace = nn.ReLU(inplace=True)
        self.relu6 = nn.ReLU6()
        self.rectifiers = (
            self.relu_inplace,
            self.relu6,
            F.relu,
            lambda t: t.relu(),
            F.relu6,
            lambda t: F.hardtanh(t, 0.0, 6.0),
            torch.relu,
        )
        self.convs = nn.ModuleList(
            nn.Conv2d(3 if step == 0 else 6, 6, 3, padding=1)
            for step in range(len(self.rectifiers))
        )
        self.head = nn.Linear(6, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for step, (conv, rectifier) in enumerate(zip(self.convs, self.rectifiers, strict=True)):
            x = conv(x) * 3
            if self.explicit:
                x = GuidedClamp.apply(x, 6.0 if step in self.CAPPED_AT_SIX else math.inf)
            else:
                x = rectifier(x)
        return self.head(x.mean(dim=(2, 3)))


def test_every_rectifier_kind_is_guided():
    torch.manual_seed(0)
    model = AllRectifiers().eval()
    explicit = AllRectifiers(explicit=True).eval()
    explicit.load_state_dict(model.state_dict())
    image = torch.randn(3, 16, 16)
    x = image.unsqueeze(0).requires_grad_(True)
    (expected,) = torch.autograd.grad(explicit(x)[0, 4], x)
    ours = Backprop(model).calculate_gradients(image, 4, guided=True)
    assert_maps_equal(ours, expected[0])


@pytest.mark.parametrize(
    "activation", [nn.SiLU(), nn.Tanh(), nn.Identity()], ids=["silu", "tanh", "none"]
)
def test_model_without_rectifiers_is_refused(activation):
    model = nn.Sequential(nn.Conv2d(3, 4, 3), activation, nn.Flatten(), nn.LazyLinear(5))
    model(torch.randn(1, 3, 8, 8))
    with pytest.raises(ValueError, match=r"guided backpropagation needs rectifiers.*guided=False"):
        Backprop(model).calculate_gradients(torch.randn(3, 8, 8), 0, guided=True)
    assert Backprop(model).calculate_gradients(torch.randn(3, 8, 8), 0).shape == (3, 8, 8)
