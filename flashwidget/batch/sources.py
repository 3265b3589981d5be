"""What a batch job explains: a folder of images, an ``ImageFolder``, any ``Dataset`` or a
``DataLoader``, seen the same way: numbered items, each an image tensor or the reason there is
none, with where it came from and its true class when the data says.

Why items carry their error instead of raising: one unreadable file among 50,000 must be
reported in the index and the summary, not end the job (a ``DataLoader`` worker that raises
takes the whole iteration down with it). Loading therefore never raises past
:meth:`Items.__getitem__`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset

from flashwidget.class_index import ClassIndex

# The image files a folder is read for (torchvision's ImageFolder list, lower case).
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")


@dataclass(frozen=True)
class Item:
    """Item ``position`` of the data: its image (C, H, W) or, when it could not be had, the
    reason (``error``); ``source`` names it for a person (a file's path in the folder, or
    ``Dataset[17]``); ``true_label`` is the data's own label (a folder's name, a class name) and
    ``true_class`` its index among the model's classes, each ``None`` when unknown."""

    position: int
    source: str
    image: torch.Tensor | None
    true_class: int | None = None
    true_label: str | None = None
    error: str | None = None


def _folded(text: str) -> str:
    return " ".join(text.split()).casefold()


def class_table(labels: ClassIndex) -> dict[str, int | None]:
    """Each class name and synonym, case and spacing folded, with its class (``None`` when
    several classes share it). A data set's label must be one of these exactly: the looser
    matching that serves a person typing a class (``ClassIndex``: "dogs" finds "dogsled") would
    file a folder of dogs under the wrong class."""
    table: dict[str, int | None] = {}
    for index, (name, synonyms) in enumerate(zip(labels.names, labels.synonyms, strict=True)):
        for text in {name, *synonyms}:
            key = _folded(text)
            table[key] = index if table.get(key, index) == index else None
    return table


def resolve_classes(names: Sequence[str], labels: ClassIndex) -> list[int | None]:
    """The model's class index for each of a data set's class names (folder names).

    A whole number is an index; a name is one of the model's class names or their synonyms,
    ignoring case and spacing (:func:`class_table`); when no name resolves and there are as
    many names as classes, the sorted names are taken as the classes in order: ImageNet's
    validation set in WordNet-id folders (``n01440764`` ...) is laid out that way, as
    torchvision's ImageFolder numbers it. Names that resolve to nothing give ``None`` (true
    label unknown to the model).
    """
    table = class_table(labels)
    found: list[int | None] = []
    for name in names:
        if name.strip().isascii() and name.strip().isdigit():
            index = int(name.strip())
            found.append(index if index < len(labels) else None)
        else:
            found.append(table.get(_folded(name)))
    if all(index is None for index in found) and len(names) == len(labels):
        order = sorted(range(len(names)), key=lambda i: names[i])
        for rank, i in enumerate(order):
            found[i] = rank
    return found


def _checked_image(image: Any) -> torch.Tensor:
    """An item's image as a finite (C, H, W) float tensor; a ValueError says what is wrong."""
    if not isinstance(image, torch.Tensor):
        raise ValueError(
            f"the data gave a {type(image).__name__}, not a tensor; give a transform that "
            "turns images into normalised (C, H, W) tensors"
        )
    if image.ndim != 3 or not image.is_floating_point():
        raise ValueError(
            f"the data gave a tensor of shape {tuple(image.shape)} and dtype {image.dtype}; "
            "expected a (C, H, W) floating-point image"
        )
    if not bool(torch.isfinite(image).all()):
        raise ValueError("the image contains NaN or infinite values")
    return image.detach()


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


class Items(Dataset):
    """Numbered :class:`Item` s over the user's data; loading errors become items' errors.

    Args:
        dataset: a torch ``Dataset`` whose items are an image or ``(image, label, ...)``.
        transform: turns an item's image into a tensor when it is not one (a file's path, a
            PIL image); tensors are taken as they are.
        sources: a name per item, or ``None`` for ``TypeName[i]``.
        class_names: when the dataset's integer labels index its own classes (an
            ``ImageFolder``'s folders), their names; ``None`` when labels are model classes.
    """

    def __init__(
        self,
        dataset: Dataset,
        transform: Callable[[Any], torch.Tensor] | None,
        sources: Sequence[str] | None = None,
        class_names: Sequence[str] | None = None,
    ) -> None:
        self.dataset = dataset
        self.transform = transform
        self.sources = sources
        self.class_names = class_names
        self.labels: ClassIndex | None = None
        self._table: dict[str, int | None] = {}
        self._model_classes: list[int | None] = []

    def label_with(self, labels: ClassIndex) -> None:
        """Take the model's class names, to which the data's labels are matched."""
        self.labels = labels
        self._table = class_table(labels)
        if self.class_names is not None:
            self._model_classes = resolve_classes(self.class_names, labels)

    def _sample(self, position: int) -> tuple[torch.Tensor, Any]:
        """Item ``position``'s image, transformed unless it is a tensor already, and label."""
        sample = self.dataset[position]
        image, label = (
            (sample[0], sample[1]) if isinstance(sample, tuple | list) else (sample, None)
        )
        if not isinstance(image, torch.Tensor) and self.transform is not None:
            image = self.transform(image)
        return _checked_image(image), label

    def first_image(self) -> torch.Tensor | None:
        """The first image that loads (to count the model's classes on), or ``None``."""
        for position in range(len(self)):
            try:
                return self._sample(position)[0]
            except Exception:  # the item's own error is reported when the job reaches it
                continue
        return None

    def __len__(self) -> int:
        return len(self.dataset)

    def ignored(self) -> int:
        """Files in a data folder that were skipped as not images by their names."""
        return getattr(self.dataset, "ignored", 0)

    def source(self, position: int) -> str:
        if self.sources is not None:
            return self.sources[position]
        return f"{type(self.dataset).__name__}[{position}]"

    def _truth(self, label: Any) -> tuple[int | None, str | None]:
        if isinstance(label, torch.Tensor) and label.numel() == 1:
            label = label.item()
        if isinstance(label, str):
            return self._table.get(_folded(label)), label
        if not isinstance(label, int) or isinstance(label, bool):
            return None, None
        if self.class_names is not None:
            if 0 <= label < len(self.class_names):
                return self._model_classes[label], self.class_names[label]
            return None, str(label)
        if 0 <= label < len(self.labels):
            return label, self.labels.name(label)
        return None, str(label)

    def __getitem__(self, position: int) -> Item:
        source = self.source(position)
        try:
            image, label = self._sample(position)
            true_class, true_label = self._truth(label)
            return Item(position, source, image, true_class, true_label)
        except Exception as error:  # one bad item is reported, never the end of the job
            return Item(position, source, None, error=_describe(error))


class ImageFiles(Dataset):
    """The image files under a folder, in sorted order, as (path, label) with the label the
    index of the file's first-level sub-folder (``None`` for files at the top): a plain folder
    and a torchvision ``ImageFolder`` layout alike."""

    def __init__(self, root: Path) -> None:
        if not root.is_dir():
            raise ValueError(f"data: {root} is not a folder; expected a folder of images")
        self.root = root
        found = [path for path in root.rglob("*") if path.is_file()]
        self.files = sorted(path for path in found if path.suffix.lower() in IMAGE_SUFFIXES)
        self.ignored = len(found) - len(self.files)  # not images by their names
        self.sources = [path.relative_to(root).as_posix() for path in self.files]
        folders = [Path(source).parts[0] if "/" in source else None for source in self.sources]
        self.classes = sorted({folder for folder in folders if folder is not None})
        index = {name: i for i, name in enumerate(self.classes)}
        self.targets = [None if folder is None else index[folder] for folder in folders]

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, position: int) -> tuple[Path, int | None]:
        return self.files[position], self.targets[position]


def items_of(
    data: str | os.PathLike | Dataset | DataLoader, transform: Callable[[Any], torch.Tensor]
) -> Items:
    """The :class:`Items` of ``data`` (to be given the model's class names).

    A ``DataLoader`` gives its dataset; its order (a shuffling sampler) is not followed, since
    items are done by their position so that a restarted or split job gives the same result.
    ``transform`` turns a folder's files, and a ``Dataset``'s images that are not tensors
    (PIL images), into tensors; a ``Dataset``'s tensors are taken as they are.
    """
    if isinstance(data, DataLoader):
        data = data.dataset
    if isinstance(data, str | os.PathLike):
        files = ImageFiles(Path(data))
        return Items(files, transform, files.sources, files.classes)
    if not isinstance(data, Dataset):
        raise TypeError(
            f"data must be a folder of images, a torch Dataset (such as torchvision's "
            f"ImageFolder) or a DataLoader; got {type(data).__qualname__}"
        )
    try:
        len(data)
    except TypeError:
        raise TypeError(
            f"data must have a length (a map-style Dataset); {type(data).__qualname__} has none"
        ) from None
    samples = getattr(data, "samples", None)
    root = getattr(data, "root", None)
    sources = None
    if isinstance(samples, list) and len(samples) == len(data) and root is not None:
        sources = [Path(os.path.relpath(path, root)).as_posix() for path, _ in samples]
    class_names = getattr(data, "classes", None) if samples is not None else None
    return Items(data, transform, sources, class_names)
