"""The output folder of a batch job, kept so that a job killed at any moment (``kill -9``
included) can be started again and end exactly as an uninterrupted run would.

Layout of ``out/``::

    job.json            the job's settings, checked on a restart, and the model's class names
    maps/0000017-281.png  map of image 17 for class 281 (see :mod:`.encoding`)
    images/0000017.jpg  image 17 as the model saw it (cropped and resized), under its maps
    parts/rank0-of-2.jsonl  rows written by each process, one JSON object a line, as it goes
    index.jsonl         every row, in the data's order: the result (written at the end)
    summary.json        counts, the images that failed and why, the time taken

Why rows are the record of what is done: a batch's files are written first, each atomically
(:func:`~.encoding.write_atomically`), and its rows are appended after them and flushed to the
disk. A row therefore only exists once its files do, and a file without a row is simply
written again. A kill in the middle of appending leaves a last line without its newline, which
is cut off before the next append and never parsed as a row. A batch counts as done only when
every one of its images has a row, so a restart recomputes whole batches, with the same images
together as before, and the maps come out the same to the last bit.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any, BinaryIO

from flashwidget.batch.encoding import write_atomically

JOB = "job.json"
INDEX = "index.jsonl"
SUMMARY = "summary.json"
PARTS = "parts"
# What a restart must agree with; the rest of job.json (class names) follows from these.
FORMAT = 1


def map_file(position: int, target: int) -> str:
    return f"maps/{position:07d}-{target}.png"


def image_file(position: int) -> str:
    return f"images/{position:07d}.jpg"


def _json_bytes(value: Any) -> bytes:
    return (json.dumps(value, indent=1, sort_keys=True) + "\n").encode()


def _rows_in(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """The complete rows of a part file, with their offsets; a last line cut short by a kill
    is not one."""
    offset = 0
    with open(path, "rb") as file:
        for line in file:
            if not line.endswith(b"\n"):
                return
            try:
                row = json.loads(line)
            except ValueError:
                row = None
            if isinstance(row, dict) and isinstance(row.get("position"), int):
                yield offset, row
            offset += len(line)


class Journal:
    """One process's view of a job's output folder: what is done, and recording more.

    Args:
        out: the output folder (created when missing).
        settings: what defines the job (method, options, targets, data, model); a folder
            holding a job with other settings is refused rather than mixed with it.
        rank, world: this process's number among ``world`` (torchrun's), which names the part
            file it appends to; parts of any earlier number of processes are read too.
    """

    def __init__(self, out: Path, settings: Mapping[str, Any], rank: int = 0, world: int = 1):
        if out.exists() and not out.is_dir():
            raise ValueError(f"out: {out} is a file; expected a folder to write the results in")
        self.out = out
        self.settings = {"format": FORMAT, **settings}
        self.part = out / PARTS / f"rank{rank}-of-{world}.jsonl"

    def start(self, extra: Mapping[str, Any]) -> None:
        """Check the folder's job against ours, or write ours (with ``extra``: class names)."""
        job = self.out / JOB
        if job.is_file():
            try:
                found = json.loads(job.read_text())
            except ValueError:
                found = None
            if not isinstance(found, dict):
                raise ValueError(f"out: {job} is damaged; remove it or choose another folder")
            differ = sorted(key for key in self.settings if found.get(key) != self.settings[key])
            if differ:
                shown = "; ".join(
                    f"{key}: {found.get(key)!r} there, {self.settings[key]!r} now" for key in differ
                )
                raise ValueError(
                    f"out: {self.out} holds a job with other settings ({shown}); give the same "
                    "arguments to resume it, or another folder (or remove this one) to start anew"
                )
        else:
            write_atomically(job, [_json_bytes({**self.settings, **extra})])
        self._cut_partial_line()

    def _cut_partial_line(self) -> None:
        """Drop a last line that a kill cut short, so the next append starts a line."""
        if not self.part.is_file():
            return
        data = self.part.read_bytes()
        end = data.rfind(b"\n") + 1
        if end < len(data):
            with open(self.part, "r+b") as file:
                file.truncate(end)

    def _latest(self) -> dict[int, tuple[Path, int]]:
        """Where each position's last complete row is: its part file and offset. Positions
        and places only, so that a job of a million images does not hold its rows."""
        found: dict[int, tuple[Path, int]] = {}
        folder = self.out / PARTS
        for path in sorted(folder.glob("*.jsonl")) if folder.is_dir() else ():
            for offset, row in _rows_in(path):
                found[row["position"]] = (path, offset)
        return found

    def rows(self) -> Iterator[dict[str, Any]]:
        """Every position's last complete row, in the data's order, read one at a time."""
        latest = self._latest()
        with ExitStack() as stack:
            files: dict[Path, BinaryIO] = {}
            for position in sorted(latest):
                path, offset = latest[position]
                if path not in files:
                    files[path] = stack.enter_context(open(path, "rb"))
                files[path].seek(offset)
                yield json.loads(files[path].readline())

    def done(self) -> set[int]:
        """Positions whose row is written and whose files are all there."""
        return {
            row["position"]
            for row in self.rows()
            if all((self.out / name).is_file() for name in _files_of(row))
        }

    def record(self, rows: Iterable[Mapping[str, Any]], files: Mapping[str, bytes]) -> None:
        """Write a batch's files, then its rows, each durably (see the module's docstring)."""
        for name, data in files.items():
            write_atomically(self.out / name, [data])
        text = "".join(json.dumps(row, sort_keys=True) + "\n" for row in rows).encode()
        self.part.parent.mkdir(parents=True, exist_ok=True)
        with open(self.part, "ab") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())

    def merge(self, images: int, ignored: int) -> None:
        """Write index.jsonl (every row, in the data's order) and summary.json: ``images`` in
        the data, ``ignored`` files that were not images, and from the rows the images
        explained, those that failed and why, and the seconds spent."""
        failed: list[dict[str, Any]] = []
        seconds = 0.0

        def lines() -> Iterator[bytes]:
            nonlocal seconds
            for row in self.rows():
                seconds += row["seconds"]
                if row["error"] is not None:
                    failed.append({key: row[key] for key in ("position", "source", "error")})
                yield (json.dumps(row, sort_keys=True) + "\n").encode()

        count = write_atomically(self.out / INDEX, lines())
        summary = {
            "images": images,
            "explained": count - len(failed),
            "failed": failed,
            "ignored": ignored,
            "seconds": round(seconds, 3),
        }
        write_atomically(self.out / SUMMARY, [_json_bytes(summary)])


def _files_of(row: Mapping[str, Any]) -> list[str]:
    names = [entry["file"] for entry in row.get("maps", ())]
    return names + ([row["image"]] if row.get("image") else [])
