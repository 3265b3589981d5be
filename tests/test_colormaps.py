import matplotlib
import numpy as np
import pytest

from flashwidget.colormaps import (
    LEVELS,
    apply_colormap,
    colormap_lut,
    colormap_names,
    quantize,
)


def tricky_values(dtype) -> np.ndarray:
    """Random values plus the ends of [0, 1], every level boundary and its neighbours."""
    dtype = np.dtype(dtype).type
    boundaries = np.arange(LEVELS + 1, dtype=dtype) / dtype(LEVELS)
    eight_bit = np.arange(256, dtype=dtype) / dtype(255)
    values = np.concatenate(
        [
            np.random.default_rng(0).random(5000).astype(dtype),
            boundaries,
            np.nextafter(boundaries, dtype(0)),
            np.nextafter(boundaries, dtype(1)),
            eight_bit,
            np.array([0, 1, np.nextafter(dtype(1), dtype(0))], dtype=dtype),
        ]
    )
    return np.clip(values, 0, 1).astype(dtype)


def matplotlib_reference(name: str, values: np.ndarray) -> np.ndarray:
    """The documented contract: matplotlib itself, resampled to 256 colours when N != 256."""
    cmap = matplotlib.colormaps[name]
    if cmap.N != LEVELS:
        cmap = cmap.resampled(LEVELS)
    return cmap(values, bytes=True)


def test_lut_shape_and_dtype():
    lut = colormap_lut()
    assert lut.shape == (256, 4)
    assert lut.dtype == np.uint8
    assert (lut == matplotlib.colormaps["viridis"](np.arange(256), bytes=True)).all()


@pytest.mark.parametrize("name", ["viridis", "gray", "jet", "magma_r"])
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_256_colour_maps_match_matplotlib_bit_for_bit(name, dtype):
    cmap = matplotlib.colormaps[name]
    assert cmap.N == 256
    values = tricky_values(dtype)
    assert np.array_equal(apply_colormap(values, name), cmap(values, bytes=True))


@pytest.mark.parametrize("name", ["tab10", "Set1", "twilight"])
def test_maps_with_other_sizes_match_their_256_colour_resampling(name):
    cmap = matplotlib.colormaps[name]
    assert cmap.N != 256
    values = tricky_values(np.float64)
    assert np.array_equal(apply_colormap(values, name), cmap.resampled(256)(values, bytes=True))
    # ...which is not the same as the original map: 256 levels cannot follow its band edges.
    assert not np.array_equal(apply_colormap(values, name), cmap(values, bytes=True))


def test_tab10_levels_sample_the_map_at_i_over_255():
    levels = np.arange(256) / 255
    assert np.array_equal(colormap_lut("tab10"), matplotlib.colormaps["tab10"](levels, bytes=True))


def test_every_registered_colormap_meets_the_contract():
    values = tricky_values(np.float32)
    for name in colormap_names():
        assert np.array_equal(apply_colormap(values, name), matplotlib_reference(name, values)), (
            name
        )


def test_quantize_rule():
    values = np.array([0.0, 0.5 / 256, 1 / 256, 0.5, np.nextafter(1.0, 0.0), 1.0])
    assert quantize(values).tolist() == [0, 0, 1, 128, 255, 255]
    assert quantize(values).dtype == np.uint8
    assert apply_colormap(np.float32(0.5)).shape == (4,)


def test_eight_bit_levels_index_the_table_directly():
    lut = colormap_lut("gray")
    levels = np.arange(256, dtype=np.uint8)
    assert np.array_equal(lut[levels], matplotlib.colormaps["gray"](levels, bytes=True))


@pytest.mark.parametrize("values", [np.array([1.5]), np.array([-0.1]), np.array([np.nan])])
def test_out_of_range_values_are_refused(values):
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        apply_colormap(values)


def test_integer_values_are_refused():
    with pytest.raises(TypeError, match="colormap_lut"):
        apply_colormap(np.array([0, 1]))


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match="unknown colormap 'viridus'") as info:
        colormap_lut("viridus")
    assert "'viridis'" in str(info.value)
    with pytest.raises(ValueError, match="unknown colormap") as info:
        apply_colormap(np.zeros(3), "no-such-map")
    assert "'Accent'" in str(info.value)  # falls back to the first few names


def test_non_str_name_is_refused():
    with pytest.raises(TypeError):
        colormap_lut(3)


def test_cached_table_cannot_be_corrupted():
    lut = colormap_lut("viridis")
    assert colormap_lut("viridis") is lut
    pristine = lut.copy()
    with pytest.raises(ValueError, match="read-only"):
        lut[0] = 0
    coloured = apply_colormap(np.zeros(2), "viridis")
    coloured[:] = 0
    assert np.array_equal(colormap_lut("viridis"), pristine)


def test_colormap_names():
    names = colormap_names()
    assert names == sorted(matplotlib.colormaps)
    assert {"viridis", "gray", "jet", "tab10"} <= set(names)
    for name in names:
        assert colormap_lut(name).shape == (256, 4)
