"""Shared fixtures: the models the engine is checked on, built once per test session."""

from __future__ import annotations

import pytest
import torch
import torchvision

from flashwidget import models

# torchvision architectures named by the engine issue, with random weights (no download): the
# gradient rules do not depend on the weights' values.
TORCHVISION_NAMES = ("alexnet", "vgg11", "resnet18", "densenet121", "mobilenet_v2")
SMALL_SIDE = 64  # every architecture above accepts it, and it keeps CPU tests quick


@pytest.fixture(scope="session")
def torchvision_models() -> dict[str, torch.nn.Module]:
    torch.manual_seed(0)
    return {
        name: torchvision.models.get_model(name, weights=None).eval() for name in TORCHVISION_NAMES
    }


@pytest.fixture(scope="session")
def default_model() -> torch.nn.Module:
    return models.default_model()


@pytest.fixture(scope="session")
def sample_input() -> torch.Tensor:
    """Grace Hopper, preprocessed for the default model: (3, 224, 224)."""
    return models.default_transform()(models.sample_image())


@pytest.fixture
def small_input() -> torch.Tensor:
    generator = torch.Generator().manual_seed(1)
    return torch.randn(1, 3, SMALL_SIDE, SMALL_SIDE, generator=generator)
