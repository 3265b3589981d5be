import io
import re
import struct
import subprocess
import sys
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from matplotlib import cbook
from PIL import ExifTags, Image
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


def encoded(image: Image.Image, format: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format, **options)
    return buffer.getvalue()


def png_declaring(width: int, height: int) -> bytes:
    """A PNG whose header declares ``width`` x ``height`` 1-bit pixels, with a tiny payload.

    Pillow checks the declared size when it opens the file, before decoding anything.
    """

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1 bit, grayscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


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
        # Channels first, as torch lays images out (FlashTorch accepted these).
        (np.full((4, 5, 3), (1, 2, 3), dtype=np.uint8).transpose(2, 0, 1), (1, 2, 3)),
        (np.full((1, 4, 5), 90, dtype=np.uint8), (90, 90, 90)),
        (np.full((4, 5, 3), (0.0, 1.0, 0.2)).transpose(2, 0, 1), (0, 255, 51)),
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
        (np.zeros((2, 4, 5), dtype=np.uint8), "shape"),
        (np.zeros((4, 5, 6), dtype=np.uint8), "shape"),  # RGBA only channels last
        (np.zeros((3, 0, 5), dtype=np.uint8), "shape"),
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


def test_channels_first_array_keeps_its_layout():
    channels_last = np.random.default_rng(0).integers(0, 256, (6, 7, 3), dtype=np.uint8)
    channels_first = np.ascontiguousarray(channels_last.transpose(2, 0, 1))
    assert channels_first.shape == (3, 6, 7)
    assert (rgb_pixels(load_image(channels_first)) == channels_last).all()
    assert torch.equal(
        apply_transforms(channels_first, size=4), apply_transforms(channels_last, size=4)
    )


def test_shapes_that_read_both_ways_are_channels_last():
    # (3, 5, 3) is a 3 x 5 RGB image channels last, or a 5 x 3 one channels first: the
    # documented rule takes it as channels last, as before channels first was accepted.
    array = np.arange(3 * 5 * 3, dtype=np.uint8).reshape(3, 5, 3)
    pixels = rgb_pixels(load_image(array))
    assert pixels.shape == (3, 5, 3)
    assert (pixels == array).all()
    gray_column = np.arange(3, dtype=np.uint8).reshape(3, 1, 1) * 100  # channels last: 3 x 1
    assert (rgb_pixels(load_image(gray_column))[:, 0, 0] == [0, 100, 200]).all()


# load_image: EXIF orientation, 32-bit images


def sideways_jpeg(orientation: int) -> bytes:
    """A 64 x 32 JPEG, red on its left half and blue on its right, with an orientation tag."""
    stored = Image.new("RGB", (64, 32), (255, 0, 0))
    stored.paste((0, 0, 255), (32, 0, 64, 32))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    return encoded(stored, "JPEG", exif=exif.tobytes(), quality=95)


def test_exif_orientation_is_applied():
    data = sideways_jpeg(6)  # 6: shown turned 90 degrees clockwise, as phones store portraits
    assert Image.open(io.BytesIO(data)).size == (64, 32)
    for source in (data, Image.open(io.BytesIO(data))):
        pixels = rgb_pixels(load_image(source)).astype(int)
        assert pixels.shape == (64, 32, 3)  # upright: 32 wide, 64 tall
        # Turning clockwise brings the stored left edge (red) to the top.
        top, bottom = pixels[:24].mean(axis=(0, 1)), pixels[40:].mean(axis=(0, 1))
        assert top[0] > 200 and top[2] < 50
        assert bottom[2] > 200 and bottom[0] < 50
    upright = apply_transforms(data, size=32)
    assert upright.shape == (1, 3, 32, 32)


def test_exif_orientation_1_changes_nothing():
    pixels = rgb_pixels(load_image(sideways_jpeg(1))).astype(int)
    assert pixels.shape == (32, 64, 3)
    assert pixels[:, :24, 0].mean() > 200  # red still on the left


@pytest.mark.parametrize(
    ("samples", "mode", "expected"),
    [
        (np.array([[1000, 2000, 3000]], dtype=np.int32), "I", [0, 128, 255]),
        (np.array([[-70000, 0, 70000]], dtype=np.int32), "I", [0, 128, 255]),
        (np.array([[-0.5, 0.0, 0.5, np.nan]], dtype=np.float32), "F", [0, 128, 255, 0]),
        (np.array([[1e6, 2e6, np.inf]], dtype=np.float32), "F", [0, 255, 255]),
        (np.full((1, 3), 5000, dtype=np.int32), "I", [0, 0, 0]),
    ],
)
def test_32_bit_tiffs_are_stretched_from_their_minimum_to_their_maximum(samples, mode, expected):
    tiff = encoded(Image.fromarray(samples), "TIFF")
    assert Image.open(io.BytesIO(tiff)).mode == mode
    pixels = rgb_pixels(load_image(tiff))
    assert pixels[0, :, 0].tolist() == expected
    assert (pixels[..., 0] == pixels[..., 2]).all()  # gray


# load_image: decompression bombs


def test_decompression_bomb_is_a_clear_value_error(tmp_path):
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_declaring(20000, 9600))  # 192 million pixels in 100-odd bytes
    assert bomb.stat().st_size < 200
    with pytest.raises(ValueError, match=r"bomb\.png' is too large to decode safely") as info:
        load_image(bomb)
    message = str(info.value)
    assert "192000000 pixels" in message  # Pillow's own figures
    assert "PIL.Image.MAX_IMAGE_PIXELS = None" in message
    assert isinstance(info.value.__cause__, Image.DecompressionBombError)


def test_decompression_bomb_warning_as_error_is_a_clear_value_error():
    # Between MAX_IMAGE_PIXELS and twice that, Pillow only warns; made an error, it is ours.
    data = png_declaring(10000, 10000)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with pytest.raises(ValueError, match="too large to decode safely"):
            load_image(data)


def test_the_advice_for_trusted_large_images_works(monkeypatch):
    data = png_bytes(Image.new("RGB", (20, 10), (1, 2, 3)))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 50)  # 200 pixels: more than twice 50
    with pytest.raises(ValueError, match="too large"):
        load_image(data)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    assert (rgb_pixels(load_image(data)) == (1, 2, 3)).all()


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


def test_apply_transforms_matches_torchvision_up_to_an_aspect_ratio_of_6():
    # Up to about 6:1 the whole image is resized as torchvision does: the same pixels (one level
    # of 255 would be 0.017 here).
    noise = np.random.default_rng(1).integers(0, 256, (50, 290, 3), dtype=np.uint8)
    image = Image.fromarray(noise)
    assert torch.allclose(apply_transforms(image).detach(), reference_transform(image), atol=1e-6)


@pytest.mark.parametrize("shape", [(2000, 40), (37, 3001), (20000, 7)])
def test_apply_transforms_on_elongated_images_is_within_a_rounding_step(shape):
    # Cropped before resampling, which Pillow does from 32-bit float coordinates: pixels may
    # differ from the whole-image resize by one level of 255, never more.
    noise = np.random.default_rng(2).integers(0, 256, (*shape, 3), dtype=np.uint8)
    image = Image.fromarray(noise)
    ours = denormalize(apply_transforms(image, size=64))[0]
    expected = T.Compose([T.Resize(73), T.CenterCrop(64), T.ToTensor()])(image)
    assert (ours - expected).abs().max().item() <= 1 / 255 + 1e-6
    assert (ours - expected).abs().mean().item() < 0.5 / 255


@pytest.fixture
def large_resizes_refused(monkeypatch):
    """Make PIL refuse, before allocating, any resize to more than 16 times 224 x 224 pixels."""
    requested = []
    resize = Image.Image.resize

    def checked_resize(self, size, *args, **kwargs):
        requested.append(tuple(size))
        assert size[0] * size[1] <= 16 * 224 * 224, f"resize to {tuple(size)} requested"
        return resize(self, size, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "resize", checked_resize)
    return requested


def test_apply_transforms_never_resizes_an_elongated_image_whole(large_resizes_refused):
    # A 1 x 20000 image resized whole would be 256 x 5,120,000 pixels (3.9 GB, 16 s).
    column = np.zeros((20000, 1, 3), dtype=np.uint8)
    column[9990:10010] = 255  # white around the middle, black elsewhere
    tensor = apply_transforms(column)
    assert tensor.shape == (1, 3, 224, 224)
    assert large_resizes_refused == [(224, 224)]
    # The centre 224 of 5,120,000 resized rows covers source rows 9999.6 to 10000.4: all white.
    assert torch.allclose(denormalize(tensor), torch.ones(1, 3, 224, 224), atol=1e-6)
    wide = apply_transforms(np.full((1, 20000, 3), 7, dtype=np.uint8), size=32)
    assert torch.allclose(denormalize(wide) * 255, torch.full((1, 3, 32, 32), 7.0), atol=1e-4)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads VmSize from /proc")
def test_apply_transforms_on_a_1_by_20000_image_fits_in_little_memory():
    # In a fresh process whose address space may grow by at most 1 GiB, whatever allocates it.
    script = """
import resource
from PIL import Image
from flashwidget.utils import apply_transforms
apply_transforms(Image.new("RGB", (40, 30)))  # warm up threads and allocator arenas
with open("/proc/self/status") as status:
    size = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize:"))
soft, hard = resource.getrlimit(resource.RLIMIT_AS)
limit = size + (1 << 30)
if hard != resource.RLIM_INFINITY:
    limit = min(limit, hard)
resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
print(tuple(apply_transforms(Image.new("RGB", (1, 20000), (200, 100, 50))).shape))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "(1, 3, 224, 224)"


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


def test_a_one_channel_image_without_statistics_says_what_was_assumed():
    with pytest.raises(ValueError, match=r"ImageNet's three-channel statistics were assumed"):
        denormalize(torch.zeros(1, 4, 4))
    with pytest.raises(ValueError) as raised:
        denormalize(torch.zeros(1, 4, 4), mean=[0.1, 0.2], std=[1.0, 1.0])
    assert "assumed" not in str(raised.value)  # the user's own statistics: nothing assumed
    assert denormalize(torch.zeros(1, 4, 4), mean=[0.5], std=[0.5]).shape == (1, 4, 4)


def test_apply_transforms_gives_a_contiguous_batch():
    assert apply_transforms(load_image(PHOTO)).is_contiguous()
