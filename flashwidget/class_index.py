"""Class indices looked up by (part of) a class name, like FlashTorch's ``ImageNetIndex``.

FlashTorch let users write ``"tench"`` instead of remembering that the tench is ImageNet class 0.
Its lookup returned ``None`` for unknown names, which surfaced later as a confusing error deep in
the saliency code. Here a lookup either resolves to exactly one index or raises
:class:`ClassNameError` saying what matched and what to pass instead.
"""

from __future__ import annotations

import difflib
import numbers
import re
from collections.abc import Iterator, Mapping, Sequence

from torchvision.models import ResNet18_Weights

_MAX_LISTED = 10


class ClassNameError(KeyError):
    """A class name that matches no class, or more than one.

    It is a :class:`KeyError` so that ``Mapping.get`` and ``except KeyError`` keep working, but it
    prints its message as is: ``KeyError.__str__`` would wrap it in quotes.
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def _collapse_spaces(text: str) -> str:
    return " ".join(text.split())


def _listing(names: Sequence[str], indices: Sequence[int]) -> str:
    """Format matches as ``2 'great white shark', 3 'tiger shark'``, eliding long lists."""
    shown = ", ".join(f"{i} {names[i]!r}" for i in indices[:_MAX_LISTED])
    hidden = len(indices) - _MAX_LISTED
    return f"{shown}, and {hidden} more" if hidden > 0 else shown


class ClassIndex(Mapping[str, int]):
    """A read-only mapping from class names, or words or fragments of them, to class indices.

    ``index[phrase]`` ignores surrounding and repeated whitespace and tries, in order:

    1. the name exactly as written (so ``"Cardigan"`` and ``"cardigan"``, two ImageNet classes
       that differ only in case, each stay reachable);
    2. the name ignoring case;
    3. names containing the phrase as whole words (``"shark"`` finds ``"tiger shark"``);
    4. names containing the phrase anywhere (``"hammerhe"`` finds ``"hammerhead"``).

    The first stage with any match decides: one index is returned, several raise
    :class:`ClassNameError` listing them, so an exact name is never shadowed by a longer name
    that contains it. A name listed more than once can only be selected by its index.

    Iteration yields the names in index order, so ``list(index)[i] == index.name(i)``.
    """

    def __init__(self, names: Sequence[str]) -> None:
        self._names = tuple(names)
        if isinstance(names, str) or not all(isinstance(n, str) for n in self._names):
            raise TypeError("ClassIndex expects a sequence of class-name strings")
        if not self._names:
            raise ValueError("ClassIndex needs at least one class name")
        self._spaced = tuple(_collapse_spaces(n) for n in self._names)
        self._folded = tuple(n.casefold() for n in self._spaced)

    @property
    def names(self) -> tuple[str, ...]:
        """The class names in index order."""
        return self._names

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
        for found in self._matches_by_stage(phrase):
            if len(found) == 1:
                return found[0]
            if found:
                listing = _listing(self._names, found)
                raise ClassNameError(
                    f"{phrase!r} is ambiguous: matches {listing}; pass the index instead"
                )
        raise ClassNameError(self._unknown_message(phrase))

    def _matches_by_stage(self, phrase: str) -> Iterator[list[int]]:
        """Yield the indices matching ``phrase`` at each stage, most specific first."""
        spaced = _collapse_spaces(phrase)
        yield [i for i, name in enumerate(self._spaced) if name == spaced]
        folded = spaced.casefold()
        yield [i for i, name in enumerate(self._folded) if name == folded]
        # Lookarounds rather than \b, so phrases that start or end with punctuation still work.
        word = re.compile(rf"(?<!\w){re.escape(folded)}(?!\w)")
        yield [i for i, name in enumerate(self._folded) if word.search(name)]
        yield [i for i, name in enumerate(self._folded) if folded in name]

    def _unknown_message(self, phrase: str) -> str:
        message = (
            f"no class matches {phrase!r}; expected one of the {len(self)} class names, "
            "a whole word of one, or part of one"
        )
        folded = _collapse_spaces(phrase).casefold()
        close = difflib.get_close_matches(folded, dict.fromkeys(self._folded), n=5)
        if not close:
            return message
        indices = [self._folded.index(name) for name in close]
        return f"{message}. Close names: {_listing(self._names, indices)}"

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
    downloaded and the names always agree with the models' outputs.
    """

    def __init__(self) -> None:
        super().__init__(ResNet18_Weights.IMAGENET1K_V1.meta["categories"])
