"""The cluttered-shapes data set, the pointing game, and a training run whose maps find shapes."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from flashwidget.pointing import chance_level, dilate, pointing_game, shuffled_level
from flashwidget.shapes import CLASSES, make_shapes, small_cnn

SIZE = 64


@pytest.fixture(scope="module")
def shapes() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    return make_shapes(200, size=SIZE, seed=5)


# The data set ----------------------------------------------------------------------------------


def test_same_seed_gives_identical_tensors():
    first, second = make_shapes(24, seed=3), make_shapes(24, seed=3)
    for a, b in zip(first, second, strict=True):
        assert a.dtype == b.dtype
        assert torch.equal(a, b)


def test_another_seed_gives_other_images():
    images_a, labels_a, masks_a = make_shapes(24, seed=3)
    images_b, labels_b, masks_b = make_shapes(24, seed=4)
    assert not torch.equal(images_a, images_b)
    assert not torch.equal(masks_a, masks_b)
    assert not torch.equal(labels_a, labels_b)


def test_types_shapes_and_range(shapes):
    images, labels, masks = shapes
    assert images.shape == (200, 3, SIZE, SIZE) and images.dtype == torch.float32
    assert labels.shape == (200,) and labels.dtype == torch.int64
    assert masks.shape == (200, SIZE, SIZE) and masks.dtype == torch.bool
    assert images.min() >= 0.0 and images.max() <= 1.0
    assert labels.min() >= 0 and labels.max() < len(CLASSES)


def test_other_sizes():
    images, _, masks = make_shapes(4, size=40, seed=0)
    assert images.shape == (4, 3, 40, 40) and masks.shape == (4, 40, 40)
    assert masks.flatten(1).any(dim=1).all()


def test_every_class_present_and_balanced(shapes):
    _, labels, _ = shapes
    assert torch.bincount(labels, minlength=len(CLASSES)).tolist() == [50] * len(CLASSES)
    _, few, _ = make_shapes(len(CLASSES), seed=9)
    assert sorted(few.tolist()) == list(range(len(CLASSES)))


def test_masks_are_whole_shapes_inside_the_image(shapes):
    _, _, masks = shapes
    area = masks.flatten(1).sum(dim=1)
    assert area.min() > 50  # the smallest shape (a triangle of half-extent 7.7) has ~115
    assert area.max() < 0.25 * SIZE * SIZE
    # Not cut by the border: no mask touches the outermost rows and columns.
    border = masks[:, 0].any() | masks[:, -1].any() | masks[:, :, 0].any() | masks[:, :, -1].any()
    assert not border


def test_mask_pixels_are_the_shape_and_nothing_covers_it(shapes):
    """Inside a mask, one colour plus the pixel noise (std 0.04): clutter never lies on top."""
    images, _, masks = shapes
    for image, mask in zip(images, masks, strict=True):
        inside = image[:, mask]
        assert inside.std(dim=1).max() < 0.06
        # The shape stands out from the pixels around it.
        ring = dilate(mask[None], 3)[0] & ~dilate(mask[None], 1)[0]
        assert (inside.mean(dim=1) - image[:, ring].mean(dim=1)).norm() > 0.1


def _bounding_box(mask: torch.Tensor) -> torch.Tensor:
    rows = mask.any(dim=1).nonzero().flatten()
    cols = mask.any(dim=0).nonzero().flatten()
    return mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def test_labels_name_the_shape_drawn(shapes):
    _, labels, masks = shapes
    for label, mask in zip(labels.tolist(), masks, strict=True):
        box = _bounding_box(mask)
        fill = box.float().mean().item()
        width = box.shape[1]
        name = CLASSES[label]
        if name == "square":
            assert fill == 1.0
        elif name == "circle":
            assert 0.70 < fill < 0.86  # pi / 4 = 0.785 for a perfect disc
        elif name == "triangle":  # apex up: narrow top row, full bottom row
            assert box[0].sum() < 0.3 * width and box[-1].sum() == width
        else:
            assert name == "cross"
            assert not (box[0, 0] or box[0, -1] or box[-1, 0] or box[-1, -1])
            assert box.all(dim=1).any() and box.all(dim=0).any()  # the two full arms


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"n": 0}, ValueError),
        ({"n": 2.5}, TypeError),
        ({"n": True}, TypeError),
        ({"n": 2, "size": 16}, ValueError),
        ({"n": 2, "clutter": -1}, ValueError),
        ({"n": 2, "seed": -1}, ValueError),
    ],
)
def test_make_shapes_refuses_bad_arguments(kwargs, error):
    with pytest.raises(error):
        make_shapes(**kwargs)


def test_small_cnn_classifies_a_batch():
    torch.manual_seed(0)
    model = small_cnn().eval()
    assert model(torch.rand(2, 3, SIZE, SIZE)).shape == (2, len(CLASSES))
    assert small_cnn(7).eval()(torch.rand(1, 3, 40, 40)).shape == (1, 7)
    assert any(isinstance(module, nn.BatchNorm2d) for module in model.modules())
    assert any(isinstance(module, nn.ReLU) for module in model.modules())
    with pytest.raises(ValueError, match="num_classes"):
        small_cnn(1)


# The pointing game -----------------------------------------------------------------------------


def _one_hot_map(peaks: list[tuple[int, int]], side: int = 8) -> torch.Tensor:
    maps = torch.zeros(len(peaks), side, side)
    for n, (row, col) in enumerate(peaks):
        maps[n, row, col] = 1.0
    return maps


def _box_masks(count: int, rows: slice, cols: slice, side: int = 8) -> torch.Tensor:
    masks = torch.zeros(count, side, side, dtype=torch.bool)
    masks[:, rows, cols] = True
    return masks


def test_peak_inside_or_outside_the_mask():
    masks = _box_masks(3, slice(2, 5), slice(2, 5))
    assert pointing_game(_one_hot_map([(3, 3)]), masks[:1]) == 1.0
    assert pointing_game(_one_hot_map([(6, 6)]), masks[:1]) == 0.0
    assert pointing_game(_one_hot_map([(2, 2), (4, 4), (1, 3)]), masks) == pytest.approx(2 / 3)


def test_channel_dimension_of_one_is_accepted():
    masks = _box_masks(2, slice(0, 2), slice(0, 2))
    maps = _one_hot_map([(1, 1), (7, 7)])
    assert pointing_game(maps[:, None], masks) == pointing_game(maps, masks) == 0.5


def test_tolerance_is_a_euclidean_distance():
    masks = torch.zeros(1, 9, 9, dtype=torch.bool)
    masks[0, 4, 4] = True
    straight = _one_hot_map([(4, 6)], side=9)  # 2 pixels away
    diagonal = _one_hot_map([(6, 6)], side=9)  # 2.83 pixels away
    assert pointing_game(straight, masks, tolerance=1) == 0.0
    assert pointing_game(straight, masks, tolerance=2) == 1.0
    assert pointing_game(diagonal, masks, tolerance=2) == 0.0
    assert pointing_game(diagonal, masks, tolerance=3) == 1.0


def test_ties_go_to_the_first_pixel_in_row_major_order():
    flat = torch.ones(1, 4, 4)
    corner = torch.zeros(1, 4, 4, dtype=torch.bool)
    corner[0, 0, 0] = True
    assert pointing_game(flat, corner) == 1.0
    assert pointing_game(flat, ~corner) == 0.0
    two_peaks = torch.zeros(1, 4, 4)
    two_peaks[0, 1, 3] = two_peaks[0, 2, 0] = 5.0  # (1, 3) comes first
    second = torch.zeros(1, 4, 4, dtype=torch.bool)
    second[0, 2, 0] = True
    assert pointing_game(two_peaks, second) == 0.0
    assert pointing_game(two_peaks, second.roll(-1)) == 1.0  # the mask moved onto (1, 3)


def test_chance_level_is_the_mean_mask_fraction():
    masks = torch.zeros(2, 4, 4, dtype=torch.bool)
    masks[0, :2, :2] = True  # 4 of 16
    masks[1, :2] = True  # 8 of 16
    assert chance_level(masks) == pytest.approx(0.375)
    centre = torch.zeros(1, 5, 5, dtype=torch.bool)
    centre[0, 2, 2] = True
    assert chance_level(centre) == pytest.approx(1 / 25)
    assert chance_level(centre, tolerance=1) == pytest.approx(5 / 25)  # a plus, not a 3x3 box


def test_random_peaks_score_the_chance_level(shapes):
    _, _, masks = shapes
    many = masks.repeat(20, 1, 1)
    noise = torch.rand(many.shape, generator=torch.Generator().manual_seed(0))
    expected = chance_level(many)
    assert pointing_game(noise, many) == pytest.approx(expected, abs=0.02)
    assert shuffled_level(noise, many) == pytest.approx(expected, abs=0.02)
    assert 0.04 < expected < 0.15


def test_shuffled_level_scores_each_map_against_the_next_mask():
    masks = torch.zeros(2, 4, 4, dtype=torch.bool)
    masks[0, 0, 0] = True
    masks[1, 3, 3] = True
    maps = _one_hot_map([(3, 3), (0, 0)], side=4)  # each map points at the other's object
    assert pointing_game(maps, masks) == 0.0
    assert shuffled_level(maps, masks) == 1.0
    with pytest.raises(ValueError, match="two images"):
        shuffled_level(maps[:1], masks[:1])


@pytest.mark.parametrize(
    ("saliency", "masks", "tolerance", "error", "match"),
    [
        (torch.rand(2, 4, 4), torch.ones(3, 4, 4, dtype=torch.bool), 0, ValueError, "same"),
        (torch.rand(2, 4, 5), torch.ones(2, 4, 4, dtype=torch.bool), 0, ValueError, "same"),
        (torch.rand(2, 3, 4, 4), torch.ones(2, 4, 4, dtype=torch.bool), 0, ValueError, "channels"),
        (torch.rand(4, 4), torch.ones(1, 4, 4, dtype=torch.bool), 0, ValueError, "shape"),
        (torch.rand(2, 4, 4), torch.ones(2, 4, 4), 0, TypeError, "bool"),
        (torch.rand(2, 4, 4), torch.ones(4, 4, dtype=torch.bool), 0, ValueError, "shape"),
        (torch.rand(2, 4, 4), torch.zeros(2, 4, 4, dtype=torch.bool), 0, ValueError, "empty"),
        (
            torch.full((1, 4, 4), float("nan")),
            torch.ones(1, 4, 4, dtype=torch.bool),
            0,
            ValueError,
            "NaN",
        ),
        (torch.rand(1, 4, 4), torch.ones(1, 4, 4, dtype=torch.bool), -1, ValueError, "tolerance"),
        (torch.rand(1, 4, 4), torch.ones(1, 4, 4, dtype=torch.bool), 1.5, TypeError, "tolerance"),
        ([[0.0]], torch.ones(1, 1, 1, dtype=torch.bool), 0, TypeError, "Tensor"),
        (torch.zeros(0, 4, 4), torch.ones(0, 4, 4, dtype=torch.bool), 0, ValueError, "empty"),
    ],
)
def test_pointing_game_refuses_bad_input(saliency, masks, tolerance, error, match):
    with pytest.raises(error, match=match):
        pointing_game(saliency, masks, tolerance)


def test_chance_level_refuses_bad_masks():
    with pytest.raises(TypeError, match="bool"):
        chance_level(torch.ones(2, 4, 4))
    with pytest.raises(ValueError, match="shape"):
        chance_level(torch.ones(4, 4, dtype=torch.bool))
