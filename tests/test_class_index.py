import pytest
import torchvision

from flashwidget.class_index import ClassIndex, ClassNameError, ImageNetIndex, imagenet_synonyms
from flashwidget.models import imagenet_labels
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
    # A fragment of a name still beats a whole word of a synonym ("polar bear", class 296).
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


# Synonyms (ImageNet's WordNet lemmas) and phrases of several words


def test_imagenet_synonyms_are_aligned_with_the_class_order(index):
    synonyms = imagenet_synonyms()
    assert len(synonyms) == 1000
    assert synonyms[251] == ("dalmatian", "coach dog", "carriage dog")
    assert synonyms[0] == ("tench", "Tinca tinca")
    # torchvision renamed the two duplicated "crane"s and "maillot"s; every other class's first
    # synonym is its name, so the lists are in the same order.
    differing = [
        i for i, group in enumerate(synonyms) if group[0].casefold() != index.name(i).casefold()
    ]
    assert differing == [134, 639]
    assert index.synonyms == synonyms


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("dalmatian dog", 251),  # FlashTorch's own example: 'dalmatian, coach dog, carriage dog'
        ("dog dalmatian", 251),
        ("  Dalmatian   DOG ", 251),
        ("coach dog", 251),
        ("german shepherd dog", 235),  # 'German shepherd'
        ("alsatian", 235),
        ("polar bear", 296),  # 'ice bear'
        ("hot dog", 934),  # 'hotdog'
        ("orca", 148),  # 'killer whale', also 'Orcinus orca'
        ("tabby cat", 281),  # 'tabby'
        ("racing car", 751),  # 'racer'
        ("mobile phone", 487),  # 'cellular telephone', also 'mobile phone'
        ("terrier wire-haired", 188),  # every word, in any order
    ],
)
def test_phrases_found_through_synonyms_or_all_their_words(index, phrase, expected):
    assert index[phrase] == expected


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("tiger", 292),  # not tiger shark, tiger cat, tiger beetle
        ("crane", 517),
        ("Maillot", 638),  # not 639 'maillot tank suit', whose synonyms include 'maillot'
        ("fox terrier", 188),
        ("ray", 5),
        ("great white", 2),
        ("brush", 696),  # paintbrush, though 'brush' is a whole word of two animals' synonyms
        ("staffordshire bull", 179),  # a fragment of one name beats every-word matches
        ("siamese", 284),
    ],
)
def test_names_keep_priority_over_synonyms(index, phrase, expected):
    assert index[phrase] == expected


def test_a_phrase_that_is_exactly_a_synonym_beats_fragments_of_names(index):
    assert index.name(889) == "violin"
    assert "fiddle" in index.synonyms[889]
    assert index["fiddle"] == 889  # not 120 'fiddler crab', which only contains the letters


def test_every_word_stage_without_synonyms():
    names = ClassIndex(["wire-haired fox terrier", "red fox", "fox squirrel", "toy terrier"])
    assert names["terrier fox"] == 0
    assert names["squirrel FOX"] == 2
    with pytest.raises(ClassNameError, match=r"matches 0 'wire-haired fox terrier', 3 'toy"):
        names["terrier"]
    with pytest.raises(ClassNameError, match="no class matches 'fox cat'"):
        names["fox cat"]  # every word must be found


def test_ambiguity_through_synonyms_lists_them(index):
    with pytest.raises(ClassNameError) as info:
        index["welsh corgi"]
    assert str(info.value) == (
        "'welsh corgi' is ambiguous: matches 263 'Pembroke' (Pembroke Welsh corgi), "
        "264 'Cardigan' (Cardigan Welsh corgi); pass the index instead"
    )
    with pytest.raises(ClassNameError, match=r"238 'Greater Swiss Mountain dog', 239 'Bernese"):
        index["dog mountain"]


def test_unknown_name_suggests_through_synonyms(index):
    with pytest.raises(ClassNameError) as info:
        index["alsation"]
    message = str(info.value)
    assert "class names (or their synonyms)" in message
    assert "235 'German shepherd' (German shepherd dog, German police dog, alsatian)" in message


def test_imagenet_label_lists_get_the_synonyms_too(index):
    # The default classifier's labels and the CLI go through ClassIndex(labels), not
    # ImageNetIndex: an ImageNet list must find the same classes.
    from_labels = ClassIndex(imagenet_labels())
    assert from_labels.synonyms == index.synonyms
    assert from_labels["dalmatian dog"] == 251
    assert ClassIndex(["tench", "goldfish"]).synonyms == ((), ())
    with pytest.raises(ClassNameError):
        ClassIndex(imagenet_labels()[:999])["dalmatian dog"]


def test_custom_synonyms():
    names = ClassIndex(["cat", "dog"], synonyms=[["kitty", "house cat"], ["puppy"]])
    assert names["kitty"] == 0
    assert names["PUPPY"] == 1
    assert names["house"] == 0
    assert list(names) == ["cat", "dog"]
    with pytest.raises(ValueError, match="one sequence per class: got 1 for 2 classes"):
        ClassIndex(["cat", "dog"], synonyms=[["kitty"]])
    with pytest.raises(TypeError, match="synonyms"):
        ClassIndex(["cat", "dog"], synonyms=["kitty", "puppy"])


# FlashTorch compatibility of the error type


@pytest.mark.parametrize("phrase", ["shark", "qqqqzzzz"])
def test_errors_are_value_errors_too(index, phrase):
    # FlashTorch raised ValueError("Multiple potential matches found: ...") for ambiguous names.
    with pytest.raises(ValueError) as info:
        index[phrase]
    assert isinstance(info.value, KeyError)
    assert isinstance(info.value, ClassNameError)
    assert str(info.value) == info.value.args[0]  # no quotes added around the message
