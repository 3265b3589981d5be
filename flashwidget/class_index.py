"""Class indices looked up by (part of) a class name, like FlashTorch's ``ImageNetIndex``.

FlashTorch let users write ``"tench"`` instead of remembering that the tench is ImageNet class 0.
Its lookup returned ``None`` for unknown names, which surfaced later as a confusing error deep in
the saliency code. Here a lookup either resolves to exactly one index or raises
:class:`ClassNameError` saying what matched and what to pass instead.
"""

from __future__ import annotations

import difflib
import functools
import importlib.util
import numbers
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from torchvision.models import ResNet18_Weights

_MAX_LISTED = 10


class ClassNameError(KeyError, ValueError):
    """A class name that matches no class, or more than one.

    It is a :class:`KeyError` so that ``Mapping.get`` and ``except KeyError`` keep working, and a
    :class:`ValueError` because FlashTorch raised ``ValueError`` for ambiguous names, so that
    ``except ValueError`` code written for it keeps working. It prints its message as is:
    ``KeyError.__str__`` would wrap it in quotes.
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def _collapse_spaces(text: str) -> str:
    return " ".join(text.split())


def _whole_words(text: str) -> re.Pattern[str]:
    """A pattern finding ``text`` as whole words: not preceded or followed by a word character.

    Lookarounds rather than ``\\b``, so that text starting or ending with punctuation still works.
    """
    return re.compile(rf"(?<!\w){re.escape(text)}(?!\w)")


@functools.cache
def _imagenet_categories() -> tuple[str, ...]:
    return tuple(ResNet18_Weights.IMAGENET1K_V1.meta["categories"])


@functools.cache
def imagenet_synonyms() -> tuple[tuple[str, ...], ...]:
    """The WordNet synonyms of the 1000 ImageNet-1k classes, in class order.

    ``imagenet_synonyms()[251]`` is ``("dalmatian", "coach dog", "carriage dog")``. They come from
    the metadata files timm (a dependency) ships, read without importing timm; where those files
    are missing (timm older than 0.9) the result is empty and lookups use the names alone.
    """
    spec = importlib.util.find_spec("timm")
    if spec is None or not spec.submodule_search_locations:
        return ()
    folder = Path(next(iter(spec.submodule_search_locations))) / "data" / "_info"
    try:
        synsets = (folder / "imagenet_synsets.txt").read_text(encoding="utf-8").split()
        lemma_lines = (folder / "imagenet_synset_to_lemma.txt").read_text(encoding="utf-8")
    except OSError:
        return ()
    lemmas = dict(line.split("\t", 1) for line in lemma_lines.splitlines() if "\t" in line)
    if len(synsets) != len(_imagenet_categories()) or not all(s in lemmas for s in synsets):
        return ()
    return tuple(
        tuple(_collapse_spaces(word) for word in lemmas[synset].split(",") if word.strip())
        for synset in synsets
    )


class ClassIndex(Mapping[str, int]):
    """A read-only mapping from class names, or words or fragments of them, to class indices.

    ``index[phrase]`` ignores surrounding and repeated whitespace and tries, in order:

    1. the name exactly as written (so ``"Cardigan"`` and ``"cardigan"``, two ImageNet classes
       that differ only in case, each stay reachable);
    2. the name ignoring case;
    3. names containing the phrase as whole words (``"shark"`` finds ``"tiger shark"``);
    4. a synonym, ignoring case (``"polar bear"`` finds ImageNet's ``"ice bear"``);
    5. names containing the phrase anywhere (``"hammerhe"`` finds ``"hammerhead"``);
    6. synonyms containing the phrase as whole words (``"orca"`` finds ``"killer whale"``);
    7. for a phrase of several words, classes whose name and synonyms together contain every
       word of the phrase as a whole word, in any order (``"dalmatian dog"`` finds
       ``"dalmatian"``, also called ``"coach dog"``; ``"terrier fox"`` finds
       ``"wire-haired fox terrier"``);
    8. synonyms containing the phrase anywhere.

    The first stage with any match decides: one index is returned, several raise
    :class:`ClassNameError` listing them, so an exact name is never shadowed by a longer name
    that contains it, nor a whole word of a name by a fragment of a longer word. Names are
    searched before synonyms, and only a phrase that is exactly a synonym comes before fragments
    of names, so synonyms change a lookup only where the phrase is itself a synonym (``"fiddle"``
    finds ``"violin"``, no longer ``"fiddler crab"``) or where the names alone matched nothing.
    A name listed more than once can only be selected by its index.

    ``synonyms``, if given, holds one sequence of alternative names per class. When it is not
    given and ``names`` are exactly ImageNet-1k's (torchvision's list, as
    :func:`flashwidget.models.imagenet_labels` returns), the WordNet synonyms of
    :func:`imagenet_synonyms` are used, so every ImageNet lookup behaves alike. Iteration yields
    the names (never the synonyms) in index order, so ``list(index)[i] == index.name(i)``.
    """

    def __init__(
        self, names: Sequence[str], synonyms: Sequence[Sequence[str]] | None = None
    ) -> None:
        self._names = tuple(names)
        if isinstance(names, str) or not all(isinstance(n, str) for n in self._names):
            raise TypeError("ClassIndex expects a sequence of class-name strings")
        if not self._names:
            raise ValueError("ClassIndex needs at least one class name")
        if synonyms is None and self._names == _imagenet_categories():
            synonyms = imagenet_synonyms()
        self._synonyms = self._checked_synonyms(synonyms)
        self._spaced = tuple(_collapse_spaces(n) for n in self._names)
        self._folded = tuple(n.casefold() for n in self._spaced)
        self._folded_synonyms = tuple(
            tuple(s.casefold() for s in group) for group in self._synonyms
        )

    def _checked_synonyms(self, synonyms: Sequence[Sequence[str]] | None) -> tuple:
        if not synonyms:
            return tuple(() for _ in self._names)
        groups = tuple(synonyms)
        valid = not isinstance(synonyms, str) and all(
            not isinstance(group, str) and all(isinstance(s, str) for s in group)
            for group in groups
        )
        if not valid:
            raise TypeError("synonyms must hold one sequence of str per class")
        if len(groups) != len(self._names):
            raise ValueError(
                f"synonyms must hold one sequence per class: got {len(groups)} for "
                f"{len(self._names)} classes"
            )
        return tuple(tuple(_collapse_spaces(s) for s in group if s.strip()) for group in groups)

    @property
    def names(self) -> tuple[str, ...]:
        """The class names in index order."""
        return self._names

    @property
    def synonyms(self) -> tuple[tuple[str, ...], ...]:
        """Each class's synonyms, in index order (empty tuples when there are none)."""
        return self._synonyms

    def name(self, index: int) -> str:
        """Return the name of class ``index``; raise IndexError outside ``0..len(self) - 1``.

        ``bool`` is rejected although it is an ``int`` subclass: ``True`` is almost certainly a
        bug, not class 1.
        """
        valid = isinstance(index, numbers.Integral) and not isinstance(index, bool)
        if not valid or not 0 <= index < len(self._names):
            raise IndexError(
                f"class index must be an int in 0..{len(self._names) - 1}, got {index!r}"
            )
        return self._names[int(index)]

    def __getitem__(self, phrase: str) -> int:
        if not isinstance(phrase, str):
            raise TypeError(
                f"class names are looked up by str, not {type(phrase).__name__}; "
                "use the index directly if you already have it"
            )
        if not phrase.strip():
            raise ClassNameError("class name is empty; expected a class name or part of one")
        for found, via_synonyms in self._matches_by_stage(phrase):
            if len(found) == 1:
                return found[0]
            if found:
                raise ClassNameError(
                    f"{phrase!r} is ambiguous: matches {self._listing(found, via_synonyms)}; "
                    "pass the index instead"
                )
        raise ClassNameError(self._unknown_message(phrase))

    def _matches_by_stage(self, phrase: str) -> Iterator[tuple[list[int], bool]]:
        """Yield the indices matching ``phrase`` at each stage, most specific first, each with
        whether the stage looked at synonyms."""
        spaced = _collapse_spaces(phrase)
        yield [i for i, name in enumerate(self._spaced) if name == spaced], False
        folded = spaced.casefold()
        names, synonyms = self._folded, self._folded_synonyms
        yield [i for i, name in enumerate(names) if name == folded], False
        word = _whole_words(folded)
        yield [i for i, name in enumerate(names) if word.search(name)], False
        yield [i for i, group in enumerate(synonyms) if folded in group], True
        yield [i for i, name in enumerate(names) if folded in name], False
        yield [i for i, group in enumerate(synonyms) if any(map(word.search, group))], True
        words = [_whole_words(w) for w in dict.fromkeys(folded.split())]
        if len(words) > 1:
            every = [
                i
                for i, group in enumerate(synonyms)
                if all(w.search(names[i]) or any(map(w.search, group)) for w in words)
            ]
            yield every, True
        yield [i for i, group in enumerate(synonyms) if any(folded in s for s in group)], True

    def _listing(self, indices: Sequence[int], with_synonyms: bool = False) -> str:
        """Format matches as ``2 'great white shark', 3 'tiger shark'``, eliding long lists.

        ``with_synonyms`` adds each class's other names in parentheses, for matches found
        through them: ``251 'dalmatian' (coach dog, carriage dog)``.
        """
        entries = []
        for i in indices[:_MAX_LISTED]:
            entry = f"{i} {self._names[i]!r}"
            others = [s for s in self._synonyms[i] if s.casefold() != self._folded[i]]
            entries.append(f"{entry} ({', '.join(others)})" if with_synonyms and others else entry)
        hidden = len(indices) - _MAX_LISTED
        shown = ", ".join(entries)
        return f"{shown}, and {hidden} more" if hidden > 0 else shown

    def _unknown_message(self, phrase: str) -> str:
        kinds = "class names (or their synonyms)" if any(self._synonyms) else "class names"
        message = (
            f"no class matches {phrase!r}; expected one of the {len(self)} {kinds}, "
            "a whole word of one, or part of one"
        )
        folded = _collapse_spaces(phrase).casefold()
        owners: dict[str, int] = {}
        for i, (name, group) in enumerate(zip(self._folded, self._folded_synonyms, strict=True)):
            for text in (name, *group):
                owners.setdefault(text, i)
        close = difflib.get_close_matches(folded, owners, n=5)
        if not close:
            return message
        indices = list(dict.fromkeys(owners[text] for text in close))
        return f"{message}. Close names: {self._listing(indices, with_synonyms=True)}"

    def __contains__(self, phrase: object) -> bool:
        """True when ``phrase`` is a str that resolves to exactly one class."""
        return isinstance(phrase, str) and super().__contains__(phrase)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self)} classes)"


class ImageNetIndex(ClassIndex):
    """The 1000 ImageNet-1k classes, in the order torchvision's pretrained classifiers use.

    The names come from the metadata torchvision ships with its weight enums, so nothing is
    downloaded and the names always agree with the models' outputs. Lookups also try each
    class's WordNet synonyms (:func:`imagenet_synonyms`), as FlashTorch's longer names allowed:
    ``ImageNetIndex()["dalmatian dog"]`` is 251, ``"dalmatian"``.
    """

    def __init__(self) -> None:
        super().__init__(_imagenet_categories(), imagenet_synonyms())
