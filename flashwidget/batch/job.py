"""``explain_dataset``: attribution maps for every image of a data set, in batches, with a
progress bar, restartable, and split across processes under ``torchrun``.

A job is a fixed plan: the data's items cut into consecutive batches of ``batch_size``, batch
``b`` done by process ``b % world``. Everything that could make two runs differ is fixed by the
plan: which images share a batch (so a batch's maps do not depend on how the job was split or
restarted), the seed of a random method's noise (the batch's first position), the order of the
rows. Memory holds one batch of maps at a time, plus the batches the loader's workers prepare.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from flashwidget import methods
from flashwidget.batch import distributed
from flashwidget.batch.encoding import encode_map, jpeg_bytes, png_bytes
from flashwidget.batch.journal import SUMMARY, Journal, image_file, map_file
from flashwidget.batch.sources import Item, Items, items_of
from flashwidget.checks import require_positive_int
from flashwidget.class_index import ClassIndex
from flashwidget.explorer import check_options
from flashwidget.live import private_copy
from flashwidget.methods.core import Attribution, chunks, logits_without_graph
from flashwidget.model_guard import evaluation_mode, model_device
from flashwidget.pixels import channel_map, rgb_pixels
from flashwidget.trust.deletion import deletion_insertion
from flashwidget.utils import IMAGENET_MEAN, IMAGENET_STD, normalisation_of

TARGETS = ("predicted", "true")
# Points on the deletion curve of the faithfulness score: (steps + 1) * 4 forward passes a map.
DELETION_STEPS = 20


@dataclass(frozen=True)
class Summary:
    """What a job did: ``images`` in the data, ``explained`` of them, the ``failed`` ones as
    (source, reason), files in a folder that were not images by their names (``ignored``), and
    the seconds spent computing (over every run of a restarted job)."""

    out: Path
    images: int
    explained: int
    failed: list[tuple[str, str]] = field(default_factory=list)
    ignored: int = 0
    seconds: float = 0.0

    @classmethod
    def read(cls, out: Path) -> Summary:
        """The summary a finished job wrote in ``out``."""
        found = json.loads((out / SUMMARY).read_text())
        return cls(
            out=out,
            images=found["images"],
            explained=found["explained"],
            failed=[(entry["source"], entry["error"]) for entry in found["failed"]],
            ignored=found["ignored"],
            seconds=found["seconds"],
        )

    def __str__(self) -> str:
        lines = [f"explained {self.explained} of {self.images} images into {self.out}"]
        if self.images == 0:
            lines.append("the data holds no images (a folder: no .jpg, .png, ... files in it)")
        lines += [f"  failed: {source}: {error}" for source, error in self.failed]
        if self.ignored:
            lines.append(f"ignored {self.ignored} files that are not images by their names")
        return "\n".join(lines)


def _checked_targets(targets: Any, labels: ClassIndex) -> str | int:
    if isinstance(targets, str) and targets in TARGETS:
        return targets
    if isinstance(targets, int) and not isinstance(targets, bool):
        if not 0 <= targets < len(labels):
            raise ValueError(
                f"targets: class {targets} is out of range; the model's classes are "
                f"0..{len(labels) - 1}"
            )
        return targets
    if isinstance(targets, str):
        try:
            return labels[targets]
        except KeyError as error:
            raise ValueError(
                f"targets must be 'predicted', 'true' or a class (index or name): {error}"
            ) from None
    raise TypeError(
        f"targets must be 'predicted', 'true' or a class (index or name); got {targets!r}"
    )


def _class_names(
    model: nn.Module, items: Items, labels: Sequence[str] | None, device: torch.device
) -> ClassIndex | None:
    """The model's class names: the ones given, else ImageNet's for 1000 outputs and "class i"
    otherwise, counted on the first image that loads (``None`` when none does)."""
    if labels is not None:
        return labels if isinstance(labels, ClassIndex) else ClassIndex(labels)
    image = items.first_image()
    if image is None:
        return None
    with evaluation_mode(model):
        count = logits_without_graph(model, image[None].to(device)).shape[1]
    if count == 1000:
        from flashwidget.models import imagenet_labels

        return ClassIndex(imagenet_labels())
    return ClassIndex([f"class {i}" for i in range(count)])


def model_fingerprint(model: nn.Module) -> str:
    """A digest of the weights' bytes: a restart with another model is refused, and the gallery
    says when the model that explores an image is not the job's."""
    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy())
    return digest.hexdigest()[:16]


def _digest(texts: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]


class _BatchExplainer:
    """Explains one batch of items and returns its rows and files (nothing written here)."""

    def __init__(
        self,
        method: methods.AttributionMethod,
        settings: Mapping[str, Any],
        top_k: int,
        labels: ClassIndex,
    ) -> None:
        self.method = method
        self.settings = settings
        self.targets = settings["targets"]
        self.top_k = top_k
        self.labels = labels
        self.mean, self.std = settings["mean"], settings["std"]
        self.deletion = settings["deletion"]

    def __call__(self, items: list[Item]) -> tuple[list[dict], dict[str, bytes]]:
        rows: dict[int, dict] = {}
        files: dict[str, bytes] = {}
        groups: dict[tuple[int, ...], list[Item]] = {}
        for item in items:
            if item.error is not None:
                rows[item.position] = self._failed(item, item.error)
            elif self.targets == "true" and item.true_class is None:
                reason = "targets='true', and the model's class for its label is unknown"
                if item.true_label is not None:
                    reason += f" ({item.true_label!r})"
                rows[item.position] = self._failed(item, reason)
            else:  # images of one size go through the model together
                groups.setdefault(tuple(item.image.shape), []).append(item)
        for group in groups.values():
            started = time.perf_counter()
            try:
                explained = self._explain(group)
            except torch.OutOfMemoryError:
                raise
            except Exception as error:  # the model refuses this size: those images fail
                reason = f"{type(error).__name__}: {error}"
                rows.update((item.position, self._failed(item, reason)) for item in group)
                continue
            seconds = (time.perf_counter() - started) / len(group)
            for item, (row, item_files) in zip(group, explained, strict=True):
                rows[item.position] = {**row, "seconds": round(seconds, 4)}
                files.update(item_files)
        return [rows[item.position] for item in items], files

    def _base(self, item: Item) -> dict[str, Any]:
        return {
            "position": item.position,
            "source": item.source,
            "true_class": item.true_class,
            "true_label": item.true_label,
            "method": self.settings["method"],
            "options": self.settings["options"],
        }

    def _failed(self, item: Item, reason: str) -> dict[str, Any]:
        return {
            **self._base(item),
            "predictions": [],
            "maps": [],
            "image": None,
            "correct": None,
            "confidence": None,
            "seconds": 0.0,
            "error": reason,
        }

    def _explain(self, group: list[Item]) -> list[tuple[dict, dict[str, bytes]]]:
        batch = torch.stack([item.image for item in group])
        if self.targets == "predicted":
            target, top_k = None, self.top_k
        elif self.targets == "true":
            target, top_k = [item.true_class for item in group], 1
        else:
            target, top_k = self.targets, 1
        call_options = {}
        if "generator" in self.method.call_options:  # the noise depends on the plan only
            device = model_device(self.method.model, fallback=batch.device)
            call_options["generator"] = torch.Generator(device).manual_seed(group[0].position)
        result = self.method.explain(batch, target, top_k=top_k, **call_options)
        scores = self._faithfulness(batch, result) if self.deletion else None
        probabilities = result.probabilities.float().cpu()
        best, classes = probabilities.topk(min(self.top_k, probabilities.shape[1]), dim=1)
        explained = []
        for n, item in enumerate(group):
            predictions = [
                {"class": c, "label": self.labels.name(c), "probability": round(p, 6)}
                for p, c in zip(best[n].tolist(), classes[n].tolist(), strict=True)
            ]
            files = {
                image_file(item.position): jpeg_bytes(rgb_pixels(batch[n], self.mean, self.std))
            }
            maps = []
            for k, target_class in enumerate(result.targets[n].tolist()):
                levels, scale = encode_map(channel_map(result.maps[n, k], take_max=False))
                name = map_file(item.position, target_class)
                files[name] = png_bytes(levels)
                entry = {
                    "class": target_class,
                    "label": self.labels.name(target_class),
                    "file": name,
                    "scale": scale,
                }
                if scores is not None:
                    entry.update(
                        (key, round(float(value[k, n]), 6)) for key, value in scores.items()
                    )
                maps.append(entry)
            top = predictions[0]["class"]
            row = {
                **self._base(item),
                "predictions": predictions,
                "maps": maps,
                "image": image_file(item.position),
                "correct": None if item.true_class is None else top == item.true_class,
                "confidence": predictions[0]["probability"],
                "deletion_auc": maps[0].get("deletion_auc"),
                "error": None,
            }
            explained.append((row, files))
        return explained

    def _faithfulness(self, batch: torch.Tensor, result: Attribution) -> dict[str, torch.Tensor]:
        """Deletion and insertion areas of every map, and deletion's chance level, (K, N)."""
        areas = {"deletion_auc": [], "insertion_auc": [], "random_deletion_auc": []}
        for k in range(result.targets.shape[1]):
            curves = deletion_insertion(
                self.method.model,
                batch,
                result.targets[:, k].tolist(),
                result.maps[:, k],
                steps=DELETION_STEPS,
                random_orderings=1,
                batch_size=len(batch) * 2,
                generator=torch.Generator().manual_seed(0),
                output_fn=self.method.output_fn,
            )
            for key, values in areas.items():
                values.append(getattr(curves, key).float().cpu())
        return {key: torch.stack(values) for key, values in areas.items()}


def _collate(items: list[Item]) -> list[Item]:
    return items


def _progress_bar(total: int, done: int, group: distributed.Group, shown: bool):
    from tqdm.auto import tqdm

    description = "explaining" if group.world == 1 else f"explaining (process {group.rank})"
    return tqdm(
        total=total,
        initial=done,
        unit="img",
        desc=description,
        position=group.rank,
        disable=not shown,
        dynamic_ncols=True,
    )


def explain_dataset(
    model: nn.Module,
    data: str | os.PathLike | Dataset | DataLoader,
    out: str | os.PathLike,
    method: str = "gradient",
    options: Mapping[str, Any] | None = None,
    targets: str | int = "predicted",
    top_k: int = 1,
    batch_size: int = 32,
    num_workers: int = 0,
    device: str | torch.device | None = None,
    labels: Sequence[str] | None = None,
    transform: Callable[[Any], torch.Tensor] | None = None,
    progress: bool = True,
    deletion: bool = False,
) -> Summary:
    """Explain every image of ``data`` with ``method`` and write the maps and an index to ``out``.

    Args:
        model: the classifier; never changed (on another ``device`` a private copy runs).
        data: a folder of images (each image's first-level sub-folder is its true label, as in
            torchvision's ``ImageFolder``), a ``Dataset`` of images or ``(image, label)``
            pairs (an ``ImageFolder``'s folder names are matched to the model's classes), or a
            ``DataLoader``, whose dataset, batch size and workers are used (not its order).
        out: the output folder (layout in :mod:`flashwidget.batch.journal`). Running the same
            job again resumes it; a folder with another job's settings is refused.
        method, options: an attribution method's registry name and its options.
        targets: "predicted" (the ``top_k`` best classes, a map each), "true" (the data's
            label), or one class (index or name) for every image.
        top_k: predictions recorded per image, and maps per image when targets="predicted".
        batch_size, num_workers: images per batch (memory is bounded by it), loader workers.
        device: where to compute (default: the model's, or each process's GPU under torchrun).
        labels: the model's class names (default: ImageNet's for 1000 outputs).
        transform: a folder's images, and a ``Dataset``'s that are not tensors, to (C, H, W)
            tensors (default: the default model's preprocessing); its normalisation is undone
            to store the image under the maps.
        progress: show a progress bar (tqdm) with images per second.
        deletion: also score each map's faithfulness: the areas under its deletion and
            insertion curves and under deletion's curve for a random pixel order, its chance
            level (Petsiuk et al. 2018; :func:`flashwidget.trust.deletion_insertion`, 20 steps,
            blurred canvas). A lower deletion area than chance means the map found pixels the
            prediction needs. It costs 84 forward passes a map.

    Returns:
        A :class:`Summary`; ``out/index.jsonl`` holds one row per image (source, true label,
        top-k predictions, explained classes and their map files, method, options, seconds, or
        the error that stopped it), ``out/summary.json`` the summary.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module; got {type(model).__qualname__}")
    try:
        options = check_options(method, options or {})
    except KeyError as error:
        raise ValueError(error.args[0]) from None
    require_positive_int(top_k, "top_k")
    require_positive_int(batch_size, "batch_size")
    if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 0:
        raise ValueError(f"num_workers must be an int >= 0; got {num_workers!r}")
    if transform is None:
        from flashwidget.models import default_transform

        transform = default_transform()
    stats = normalisation_of(transform) or normalisation_of(getattr(data, "transform", None))
    mean, std = stats or (IMAGENET_MEAN, IMAGENET_STD)

    group = distributed.join()
    try:
        device = torch.device(device) if device is not None else group.device()
        if device is not None and device != model_device(model, fallback=device):
            model = private_copy(model)[0].to(device)
        device = model_device(model, fallback=torch.device("cpu"))
        items = items_of(data, transform)
        names = _class_names(model, items, labels, device)
        if names is not None:
            items.label_with(names)
        settings = {
            "method": method,
            "options": options,
            "targets": targets if names is None else _checked_targets(targets, names),
            "top_k": top_k,
            "batch_size": batch_size,
            "images": len(items),
            "sources": _digest([items.source(i) for i in range(len(items))]),
            "model": model_fingerprint(model),
            "mean": [float(m) for m in mean],
            "std": [float(s) for s in std],
            "deletion": bool(deletion),
        }
        journal = Journal(Path(out), settings, group.rank, group.world)
        journal.start({"labels": [] if names is None else list(names.names)})
        explainer = _BatchExplainer(
            methods.get(method, model, labels=names, **options), settings, top_k, names
        )
        _explain_my_batches(items, batch_size, num_workers, group, journal, explainer, progress)
        group.wait()
        if group.rank == 0:
            journal.merge(len(items), items.ignored())
        group.wait()
        return Summary.read(Path(out))
    finally:
        group.leave()


def _explain_my_batches(
    items: Items,
    batch_size: int,
    num_workers: int,
    group: distributed.Group,
    journal: Journal,
    explainer: _BatchExplainer,
    progress: bool,
) -> None:
    """This process's share of the plan (batch ``b`` is process ``b % world``'s), less what an
    earlier run of the job finished."""
    plan = chunks(len(items), batch_size)
    mine = [plan[b] for b in range(len(plan)) if b % group.world == group.rank]
    done = journal.done()
    todo = [list(batch) for batch in mine if not set(batch) <= done]
    total = sum(len(batch) for batch in mine)
    left = sum(len(batch) for batch in todo)
    # A generator of the loader's own: it would otherwise draw its workers' seeds from the
    # global random state, which flashwidget leaves alone.
    loader = DataLoader(
        items,
        batch_sampler=todo,
        num_workers=num_workers,
        collate_fn=_collate,
        generator=torch.Generator().manual_seed(0),
    )
    with _progress_bar(total, total - left, group, progress) as bar:
        for batch in loader:
            journal.record(*explainer(batch))
            bar.update(len(batch))
