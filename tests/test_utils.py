import io
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from matplotlib import cbook
from PIL import Image
from torchvision import transforms as T

from flashwidget.utils import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    apply_transforms,
    denormalize,
    format_for_plotting,
    load_image,
    standardize_and_clip,
)

PHOTO = Path(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def rgb_pixels(image: Image.Image) -> np.ndarray:
    assert type(image) is Image.Image  # fully loaded, not a lazy file-backed ImageFile
    assert image.mode == "RGB"
    return np.asarray(image)


def reference_transform(image: Image.Image, size: int = 224, mean=IMAGENET_MEAN, std=IMAGENET_STD):
    """FlashTorch's original pipeline, written with torchvision's v1 transforms."""
    pipeline = T.Compose(
        [
            T.Resize(int(size * 256 / 224)),
            T.CenterCrop(size),
            T.ToTensor(),
            T.Normalize(mean, std),
        ]
    )
    return pipeline(image).unsqueeze(0)


# load_image: sources


@pytest.mark.parametrize("source", [PHOTO, str(PHOTO)])
def test_load_image_from_path(source):
    image = load_image(source)
    assert image.size == (512, 600)
    assert rgb_pixels(image).std() > 10  # a real photo, not a blank


@pytest.mark.parametrize("wrap", [bytes, bytearray, memoryview])
def test_load_image_from_bytes(wrap):
    original = Image.new("RGB", (5, 4), (10, 20, 30))
    image = load_image(wrap(png_bytes(original)))
    assert image.size == (5, 4)
    assert (rgb_pixels(image) == (10, 20, 30)).all()


def test_load_image_from_encoded_jpeg_bytes():
    assert load_image(PHOTO.read_bytes()).size == (512, 600)


def test_load_image_returns_a_copy_of_an_rgb_pil_image():
    original = Image.new("RGB", (3, 3), (1, 2, 3))
    image = load_image(original)
    assert image is not original
    image.putpixel((0, 0), (9, 9, 9))
    assert original.getpixel((0, 0)) == (1, 2, 3)


def test_load_image_from_gray_pil():
    image = load_image(Image.new("L", (6, 5), 77))
    assert image.size == (6, 5)
    assert (rgb_pixels(image) == 77).all()


def test_load_image_from_palette_pil():
    palette = Image.new("P", (4, 4), 1)
    palette.putpalette([0, 0, 0, 200, 100, 50] + [0] * 762)
    assert (rgb_pixels(load_image(palette)) == (200, 100, 50)).all()


def test_palette_transparency_becomes_white():
    palette = Image.new("P", (4, 4), 0)
    palette.putpalette([0, 0, 0, 200, 100, 50] + [0] * 762)
    palette.putpixel((0, 0), 1)
    palette.info["transparency"] = 0  # entry 0, black, is transparent
    pixels = rgb_pixels(load_image(Image.open(io.BytesIO(png_bytes(palette)))))
    assert tuple(pixels[0, 0]) == (200, 100, 50)
    assert (pixels[1:] == 255).all()


@pytest.mark.parametrize(
    ("mode", "colour"),
    [
        ("RGBA", (0, 0, 0, 0)),
        ("LA", (0, 0)),
        ("PA", (0, 0)),
        ("La", (0, 0)),
        ("RGBa", (0, 0, 0, 0)),
    ],
)
def test_fully_transparent_pixels_become_white(mode, colour):
    assert (rgb_pixels(load_image(Image.new(mode, (3, 2), colour))) == 255).all()


def test_partial_transparency_is_composited_over_white():
    image = load_image(Image.new("RGBA", (2, 2), (0, 0, 0, 128)))
    assert (np.abs(rgb_pixels(image).astype(int) - 127) <= 1).all()


def test_opaque_rgba_keeps_its_colours():
    image = load_image(Image.new("RGBA", (2, 2), (10, 20, 30, 255)))
    assert (rgb_pixels(image) == (10, 20, 30)).all()


def test_16_bit_image_is_scaled_not_clipped():
    samples = np.array([[0, 257 * 128, 65535]], dtype=np.uint16)
    sixteen_bit = Image.open(io.BytesIO(png_bytes(Image.fromarray(samples))))
    assert sixteen_bit.mode == "I;16"
    assert rgb_pixels(load_image(sixteen_bit))[0, :, 0].tolist() == [0, 128, 255]


def test_load_image_from_cmyk():
    assert (rgb_pixels(load_image(Image.new("CMYK", (2, 2), (0, 0, 0, 0)))) == 255).all()


@pytest.mark.parametrize(
    ("array", "expected"),
    [
        (np.full((4, 5), 90, dtype=np.uint8), (90, 90, 90)),
        (np.full((4, 5, 1), 90, dtype=np.uint8), (90, 90, 90)),
        (np.full((4, 5, 3), (1, 2, 3), dtype=np.uint8), (1, 2, 3)),
        (np.full((4, 5, 4), (1, 2, 3, 255), dtype=np.uint8), (1, 2, 3)),
        (np.full((4, 5, 4), (1, 2, 3, 0), dtype=np.uint8), (255, 255, 255)),
        (np.full((4, 5), 0.5, dtype=np.float32), (128, 128, 128)),
        (np.full((4, 5, 3), (0.0, 1.0, 0.2), dtype=np.float64), (0, 255, 51)),
        (np.full((5, 4, 3), (1, 2, 3), dtype=np.uint8).transpose(1, 0, 2), (1, 2, 3)),
    ],
)
def test_load_image_from_array(array, expected):
    pixels = rgb_pixels(load_image(array))
    assert pixels.shape == (4, 5, 3)
    assert (pixels == expected).all()


@pytest.mark.parametrize(
    ("array", "words"),
    [
        (np.zeros((4, 5, 2), dtype=np.uint8), "shape"),
        (np.zeros(5, dtype=np.uint8), "shape"),
        (np.zeros((0, 5), dtype=np.uint8), "shape"),
        (np.zeros((4, 5), dtype=np.int64), "uint8"),
        (np.full((4, 5), 1.5), "[0, 1]"),
        (np.full((4, 5), np.nan), "[0, 1]"),
    ],
)
def test_load_image_rejects_bad_arrays(array, words):
    with pytest.raises(ValueError, match=re.escape(words)):
        load_image(array)


# load_image: errors


def test_missing_file(tmp_path):
    missing = tmp_path / "nope.png"
    with pytest.raises(FileNotFoundError, match=r"nope\.png"):
        load_image(missing)


def test_empty_file(tmp_path):
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match=r"empty\.png' is empty; expected an image file") as info:
        load_image(str(empty))
    assert "PNG, JPEG" in str(info.value)


def test_text_file_is_not_an_image(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("not a picture\n")
    with pytest.raises(ValueError, match=r"notes\.txt' is not a readable image") as info:
        load_image(notes)
    assert isinstance(info.value.__cause__, Image.UnidentifiedImageError)


def test_truncated_file_is_not_an_image():
    data = png_bytes(Image.effect_noise((64, 64), 50))
    with pytest.raises(ValueError, match="the given bytes object is not a readable image"):
        load_image(data[: len(data) // 2])


def test_empty_bytes():
    with pytest.raises(ValueError, match="the given bytes object is empty; expected an image"):
        load_image(b"")


@pytest.mark.parametrize("source", [[1, 2, 3], 42, None, torch.zeros(3, 4, 4)])
def test_unsupported_type(source):
    with pytest.raises(TypeError, match=type(source).__name__) as info:
        load_image(source)
    for accepted in ("path", "bytes", "PIL image", "numpy array"):
        assert accepted in str(info.value)


# apply_transforms


def test_apply_transforms_matches_flashtorch_pipeline():
    tensor = apply_transforms(PHOTO)
    assert tensor.shape == (1, 3, 224, 224)
    assert tensor.dtype == torch.float32
    assert tensor.requires_grad
    assert tensor.is_leaf
    expected = reference_transform(Image.open(PHOTO).convert("RGB"))
    assert torch.allclose(tensor.detach(), expected, atol=1e-6)


def test_apply_transforms_solid_colour_is_normalised_exactly():
    colour = (10, 128, 250)
    tensor = apply_transforms(Image.new("RGB", (300, 400), colour)).detach()
    for channel, value in enumerate(colour):
        expected = (value / 255 - IMAGENET_MEAN[channel]) / IMAGENET_STD[channel]
        assert torch.allclose(tensor[0, channel], torch.tensor(expected), atol=1e-6)


def test_apply_transforms_custom_size_mean_std():
    tensor = apply_transforms(PHOTO, size=100, mean=(0.5, 0.5, 0.5), std=(0.25, 0.5, 1.0))
    assert tensor.shape == (1, 3, 100, 100)
    expected = reference_transform(
        Image.open(PHOTO).convert("RGB"), size=100, mean=(0.5, 0.5, 0.5), std=(0.25, 0.5, 1.0)
    )
    assert torch.allclose(tensor.detach(), expected, atol=1e-6)


def test_apply_transforms_accepts_arrays_and_gray_images():
    assert apply_transforms(np.zeros((50, 60), dtype=np.uint8), size=32).shape == (1, 3, 32, 32)
    assert apply_transforms(Image.new("L", (40, 40)), size=16).shape == (1, 3, 16, 16)


@pytest.mark.parametrize("size", [0, -5, 2.5, True, "224"])
def test_apply_transforms_rejects_bad_sizes(size):
    with pytest.raises(ValueError, match="size"):
        apply_transforms(PHOTO, size=size)


@pytest.mark.parametrize(
    ("mean", "std", "words"),
    [
        ((0.5, 0.5), IMAGENET_STD, "one value per channel"),
        (IMAGENET_MEAN, (0.2, 0.2, 0.2, 0.2), "one value per channel"),
        (IMAGENET_MEAN, (0.2, 0.0, 0.2), "positive"),
        (IMAGENET_MEAN, (0.2, -1.0, 0.2), "positive"),
    ],
)
def test_apply_transforms_rejects_bad_stats(mean, std, words):
    with pytest.raises(ValueError, match=words):
        apply_transforms(PHOTO, mean=mean, std=std)


# denormalize


def test_denormalize_inverts_apply_transforms():
    tensor = apply_transforms(PHOTO)
    before = tensor.detach().clone()
    restored = denormalize(tensor)
    unnormalised = T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor()])(
        Image.open(PHOTO).convert("RGB")
    )
    assert torch.allclose(restored[0], unnormalised, atol=1e-6)
    assert torch.equal(tensor.detach(), before)
    assert not restored.requires_grad
    assert restored.data_ptr() != tensor.data_ptr()


def test_denormalize_batches_and_single_images():
    batch = torch.randn(2, 3, 5, 5, requires_grad=True)
    before = batch.detach().clone()
    restored = denormalize(batch, mean=(1.0, 2.0, 3.0), std=(2.0, 2.0, 2.0))
    assert restored.shape == (2, 3, 5, 5)
    assert torch.allclose(restored[:, 1], before[:, 1] * 2 + 2)
    assert torch.allclose(denormalize(batch[0]), denormalize(batch)[0])
    assert torch.equal(batch.detach(), before)


def test_denormalize_does_not_touch_a_view_of_its_input():
    batch = torch.randn(1, 3, 4, 4, requires_grad=True) * 1  # non-leaf, as after a model
    view = batch[0]
    before = view.detach().clone()
    denormalize(view)
    assert torch.equal(view.detach(), before)


@pytest.mark.parametrize("shape", [(1, 4, 4), (2, 1, 4, 4), (4, 4), (1, 1, 3, 4, 4)])
def test_denormalize_rejects_wrong_shapes(shape):
    with pytest.raises(ValueError):
        denormalize(torch.zeros(shape))


# standardize_and_clip


def test_standardize_and_clip_range_and_spread():
    gradient = torch.randn(3, 64, 64, generator=torch.Generator().manual_seed(0)) * 7 + 3
    result = standardize_and_clip(gradient)
    assert result.min() >= 0
    assert result.max() <= 1
    assert result.mean().item() == pytest.approx(0.5, abs=0.01)
    assert result.std().item() == pytest.approx(0.1, abs=0.01)


def test_standardize_and_clip_custom_bounds():
    result = standardize_and_clip(torch.randn(1000), min_value=0.4, max_value=0.45)
    assert result.min().item() == pytest.approx(0.4)
    assert result.max().item() == pytest.approx(0.45)


def test_standardize_and_clip_leaves_input_and_graph_alone():
    gradient = torch.randn(3, 8, 8, requires_grad=True)
    before = gradient.detach().clone()
    result = standardize_and_clip(gradient)
    assert not result.requires_grad
    assert torch.equal(gradient.detach(), before)


@pytest.mark.parametrize("tensor", [torch.full((3, 4, 4), 2.5), torch.tensor([7.0])])
def test_standardize_and_clip_constant_input(tensor):
    result = standardize_and_clip(tensor)
    assert not torch.isnan(result).any()
    assert (result == 0.5).all()
    assert (standardize_and_clip(tensor, brightness=3.0) == 1.0).all()


def test_standardize_and_clip_rejects_inverted_bounds():
    with pytest.raises(ValueError, match="min_value"):
        standardize_and_clip(torch.randn(4), min_value=1.0, max_value=0.0)


# format_for_plotting


@pytest.mark.parametrize(
    ("shape", "expected"),
    [
        ((1, 3, 5, 6), (5, 6, 3)),
        ((3, 5, 6), (5, 6, 3)),
        ((4, 5, 6), (5, 6, 4)),
        ((1, 1, 5, 6), (5, 6)),
        ((1, 5, 6), (5, 6)),
        ((5, 6), (5, 6)),
    ],
)
def test_format_for_plotting_shapes(shape, expected):
    tensor = torch.randn(shape, requires_grad=True)
    formatted = format_for_plotting(tensor)
    assert formatted.shape == expected
    assert not formatted.requires_grad
    assert formatted.device.type == "cpu"


def test_format_for_plotting_moves_channels_last_and_copies():
    tensor = torch.arange(2 * 3 * 3, dtype=torch.float32).reshape(1, 3, 2, 3)
    formatted = format_for_plotting(tensor)
    assert formatted[1, 2, 0] == tensor[0, 0, 1, 2]
    assert formatted[0, 1, 2] == tensor[0, 2, 0, 1]
    formatted.zero_()
    assert tensor.sum() > 0


@pytest.mark.parametrize("shape", [(2, 3, 5, 6), (2, 5, 6), (5,), (1, 1, 1, 5, 6)])
def test_format_for_plotting_rejects_other_shapes(shape):
    with pytest.raises(ValueError, match=rf"\({', '.join(map(str, shape))},?\)"):
        format_for_plotting(torch.zeros(shape))
