import pytest
import torchvision

from flashwidget.class_index import ClassIndex, ClassNameError, ImageNetIndex
from flashwidget.utils import ImageNetIndex as ReexportedImageNetIndex


@pytest.fixture(scope="module")
def index() -> ImageNetIndex:
    return ImageNetIndex()


def test_has_torchvision_categories_in_order(index):
    categories = torchvision.models.ResNet18_Weights.IMAGENET1K_V1.meta["categories"]
    assert len(index) == 1000
    assert list(index) == categories
    assert index.names == tuple(categories)
    assert index.name(0) == "tench"


def test_utils_reexports_the_same_class():
    assert ReexportedImageNetIndex is ImageNetIndex


@pytest.mark.parametrize(
    ("phrase", "expected", "longer_name"),
    [
        ("tench", 0, None),
        ("tiger", 292, "tiger shark"),
        ("crane", 517, "crane bird"),
        ("hen", 8, "hen-of-the-woods"),
        ("maillot", 638, "maillot tank suit"),
    ],
)
def test_exact_name_beats_names_containing_it(index, phrase, expected, longer_name):
    if longer_name is not None:
        assert longer_name in index.names
    assert index[phrase] == expected


def test_names_differing_only_in_case_stay_reachable(index):
    assert index.name(264) == "Cardigan"  # the corgi
    assert index.name(474) == "cardigan"  # the sweater
    assert index["Cardigan"] == 264
    assert index["cardigan"] == 474
    with pytest.raises(ClassNameError, match=r"264 'Cardigan', 474 'cardigan'"):
        index["CARDIGAN"]


def test_lookup_ignores_case_and_extra_whitespace(index):
    assert index["  Great   WHITE shark\t"] == 2
    assert index["TENCH"] == 0


def test_whole_word_match(index):
    assert index["fox terrier"] == 188  # wire-haired fox terrier
    # "ray" is a substring of many names (stingray, tray, ...) but a whole word only here.
    assert index["ray"] == 5
    assert index.name(5) == "electric ray"


def test_shark_is_ambiguous_between_the_two_names_with_the_word(index):
    # hammerhead (4) is a shark too, but its name lacks the word.
    with pytest.raises(ClassNameError) as info:
        index["shark"]
    message = str(info.value)
    assert "2 'great white shark'" in message
    assert "3 'tiger shark'" in message
    assert "hammerhead" not in message
    assert "ambiguous" in message


def test_substring_match(index):
    assert index["hammerhe"] == 4
    assert index["polar"] == 732  # Polaroid camera
    with pytest.raises(ClassNameError, match=r"1 'goldfish', 11 'goldfinch'"):
        index["goldfi"]


def test_long_ambiguity_lists_are_elided(index):
    with pytest.raises(ClassNameError, match=r"and \d+ more; pass the index instead$"):
        index["terrier"]


def test_exact_duplicates_are_ambiguous():
    names = ClassIndex(["tench", "crane", "bird", "crane"])
    with pytest.raises(ClassNameError) as info:
        names["crane"]
    assert str(info.value) == (
        "'crane' is ambiguous: matches 1 'crane', 3 'crane'; pass the index instead"
    )
    assert "crane" not in names
    assert names.name(3) == "crane"


def test_unknown_name_message_is_plain_and_suggests(index):
    with pytest.raises(ClassNameError) as info:
        index["tenchh"]
    message = str(info.value)
    assert isinstance(info.value, KeyError)
    assert not message.startswith(("'", '"'))
    assert message.startswith("no class matches 'tenchh'")
    assert "0 'tench'" in message


def test_unknown_name_without_close_names(index):
    with pytest.raises(ClassNameError, match=r"^no class matches 'qqqqzzzz'; expected") as info:
        index["qqqqzzzz"]
    assert "Close names" not in str(info.value)


def test_empty_name(index):
    with pytest.raises(ClassNameError, match="empty"):
        index["   "]


@pytest.mark.parametrize("key", [3, 2.5, None, b"tench"])
def test_non_str_keys_raise_type_error(index, key):
    with pytest.raises(TypeError, match="looked up by str"):
        index[key]
    assert key not in index


def test_contains(index):
    assert "tench" in index
    assert "Tench" in index
    assert "shark" not in index
    assert "qqqqzzzz" not in index


def test_get_returns_default_for_unknown_and_ambiguous(index):
    assert index.get("tench") == 0
    assert index.get("shark", -1) == -1
    assert index.get("qqqqzzzz") is None


def test_every_imagenet_name_resolves_to_its_own_index(index):
    assert dict(index.items()) == {name: i for i, name in enumerate(index.names)}


@pytest.mark.parametrize("bad", [1000, -1, True, 1.0, "3"])
def test_name_rejects_bad_indices(index, bad):
    with pytest.raises(IndexError, match=r"0\.\.999"):
        index.name(bad)


def test_constructor_validation():
    with pytest.raises(TypeError):
        ClassIndex("tench")
    with pytest.raises(TypeError):
        ClassIndex(["tench", 3])
    with pytest.raises(ValueError):
        ClassIndex([])
