"""``import flashwidget`` is lazy (PEP 562): its public names are imported on first use."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import flashwidget as fw

PUBLIC = {
    "Attribution": "flashwidget.methods",
    "Backprop": "flashwidget.saliency",
    "FeatureWidget": "flashwidget.feature_widget",
    "Gallery": "flashwidget.gallery",
    "SaliencyWidget": "flashwidget.widget",
    "TrainingCallback": "flashwidget.live",
    "demo": "flashwidget.widget",
    "features": "flashwidget.feature_widget",
}
SUBMODULES = ("activmax", "batch", "methods", "models", "saliency", "trust", "utils")


def _python(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_importing_the_package_imports_no_torch_until_a_name_is_used():
    code = (
        "import sys; import flashwidget as fw; heavy = ('torch', 'timm', 'anywidget'); "
        "print(*[name in sys.modules for name in heavy]); fw.Backprop; "
        "print(*[name in sys.modules for name in heavy])"
    )
    assert _python(code).splitlines() == ["False False False", "True False False"]


def test_every_public_name_is_what_its_module_defines():
    assert fw.__all__ == sorted([*PUBLIC, *SUBMODULES])
    for name, module in PUBLIC.items():
        assert getattr(fw, name) is getattr(importlib.import_module(module), name), name
    for name in SUBMODULES:
        assert getattr(fw, name) is importlib.import_module(f"flashwidget.{name}"), name
    from flashwidget import Backprop, SaliencyWidget, methods

    assert (Backprop, SaliencyWidget, methods) == (fw.Backprop, fw.SaliencyWidget, fw.methods)
    assert callable(fw.demo) and fw.demo.__module__ == "flashwidget.widget"
    namespace: dict[str, object] = {}
    exec("from flashwidget import *", namespace)
    assert {name: namespace[name] for name in fw.__all__} == {
        name: getattr(fw, name) for name in fw.__all__
    }


def test_dir_lists_the_public_names_and_version():
    assert {*fw.__all__, "__version__"} <= set(dir(fw))


def test_unknown_names_raise_attribute_error():
    with pytest.raises(AttributeError, match="module 'flashwidget' has no attribute 'nope'"):
        fw.nope  # noqa: B018
    with pytest.raises(ImportError):
        exec("from flashwidget import nope", {})
