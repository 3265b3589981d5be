"""flashwidget.batch: a data set explained into a folder, restartably, split across processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from model_state import assert_same_state, snapshot
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset

from flashwidget import cli, methods, models
from flashwidget.batch import explain_dataset
from flashwidget.batch.encoding import LEVELS, decode_map, encode_map
from flashwidget.batch.journal import Journal
from flashwidget.batch.results import Results
from flashwidget.batch.sources import resolve_classes
from flashwidget.class_index import ClassIndex
from flashwidget.models import imagenet_labels
from flashwidget.utils import load_image

CLASSES = [f"kind {i}" for i in range(10)]
MEAN, STD = [0.5, 0.5, 0.5], [0.25, 0.25, 0.25]
# The script a killed job runs in: a tiny model whose forward pass is slowed down, so that a
# kill lands in the middle of the job.
JOB_SCRIPT = """
import sys, time, torch
from torch import nn
sys.path.insert(0, {tests!r})
from test_batch import tiny_model, to_tensor
from flashwidget.batch import explain_dataset

class Slow(nn.Module):
    def __init__(self):
        super().__init__()
        self.inner = tiny_model()
    def forward(self, x):
        time.sleep({delay})
        return self.inner(x)

explain_dataset(Slow(), {data!r}, {out!r}, batch_size=3, top_k=2, labels={labels!r},
                transform=to_tensor, progress=False, method={method!r})
"""


def to_tensor(image) -> torch.Tensor:
    """A 32 x 32 normalised tensor from an image file (a folder's transform in these tests)."""
    picture = load_image(image).resize((32, 32))
    pixels = torch.from_numpy(np.asarray(picture).copy()).permute(2, 0, 1).float() / 255
    return torchvision.transforms.functional.normalize(pixels, MEAN, STD)


to_tensor.mean, to_tensor.std = MEAN, STD  # read back to store the images as they were seen


def tiny_model(classes: int = 10) -> nn.Module:
    """A small convolutional classifier with fixed weights (seeded on its own generator)."""
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(4),
        nn.Flatten(),
        nn.Linear(128, classes),
    )
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.3)
    return model.eval()


def image_folder(root: Path, counts: dict[str, int], seed: int = 0) -> Path:
    """Smooth random pictures (blobs of colour, as photographs are mostly smooth) in class
    sub-folders ("" puts them at the top)."""
    state = np.random.RandomState(seed)
    for folder, count in counts.items():
        (root / folder).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            blobs = Image.fromarray(state.randint(0, 256, size=(4, 4, 3), dtype=np.uint8))
            size = tuple(int(n) for n in state.randint(24, 60, size=2))
            blobs.resize(size, Image.BILINEAR).save(root / folder / f"image{i:02d}.png")
    return root


def rows(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "index.jsonl").read_text().splitlines()]


def without_time(found: list[dict]) -> list[dict]:
    return [{key: value for key, value in row.items() if key != "seconds"} for row in found]


def test_a_map_is_stored_within_its_stated_error():
    values = np.random.RandomState(0).standard_cauchy((40, 50)).astype(np.float32)
    levels, scale = encode_map(values)
    assert levels.dtype == np.uint8 and scale == np.abs(values).max()
    decoded = decode_map(levels, scale)
    # At most scale / 127 anywhere, and far less near zero (the square-root companding).
    assert np.abs(decoded - values).max() <= scale / LEVELS
    small = np.abs(values) < scale / 100
    assert np.abs(decoded - values)[small].max() <= scale / LEVELS / 4
    assert np.array_equal(np.sign(decoded[levels != 128]), np.sign(values[levels != 128]))
    zero_levels, zero_scale = encode_map(np.zeros((3, 3)))
    assert zero_scale == 0.0 and np.all(decode_map(zero_levels, zero_scale) == 0)


def test_a_folder_gives_one_row_per_image_with_its_maps_and_predictions(tmp_path):
    data = image_folder(tmp_path / "data", {"kind 3": 3, "unknown": 2, "": 1})
    model = tiny_model()
    summary = explain_dataset(
        model, data, tmp_path / "out", top_k=3, batch_size=4, labels=CLASSES,
        transform=to_tensor, progress=False,
    )  # fmt: skip
    assert (summary.images, summary.explained, summary.failed) == (6, 6, [])
    found = rows(tmp_path / "out")
    assert [row["position"] for row in found] == list(range(6))
    assert [row["source"] for row in found] == sorted(
        p.relative_to(data).as_posix() for p in data.rglob("*.png")
    )
    gradient = methods.get("gradient", model)
    results = Results(tmp_path / "out")
    for row in found:
        x = to_tensor(data / row["source"])
        probabilities = model(x[None]).softmax(dim=1)[0]
        best, classes = probabilities.topk(3)
        assert [p["class"] for p in row["predictions"]] == classes.tolist()
        assert [p["probability"] for p in row["predictions"]] == pytest.approx(
            best.tolist(), abs=1e-6
        )
        assert [m["class"] for m in row["maps"]] == classes.tolist()  # targets="predicted"
        for k, entry in enumerate(row["maps"]):
            expected = gradient.attribute(x, int(classes[k])).sum(dim=0).numpy()
            assert results.map_values(row, k) == pytest.approx(expected, abs=entry["scale"] / 127)
        folder = row["source"].split("/")[0] if "/" in row["source"] else None
        assert row["true_label"] == folder
        assert row["true_class"] == (3 if folder == "kind 3" else None)
        assert row["correct"] == (None if folder != "kind 3" else classes[0].item() == 3)
        stored = results.image(row).astype(float)
        shown = (x * torch.tensor(STD)[:, None, None] + torch.tensor(MEAN)[:, None, None]) * 255
        assert np.abs(stored - shown.permute(1, 2, 0).numpy()).mean() < 4  # a JPEG of it
        assert row["method"] == "gradient" and row["options"] == {} and row["error"] is None


def test_bad_files_are_reported_and_every_good_one_is_explained(tmp_path):
    data = image_folder(tmp_path / "data", {"a": 3})
    (data / "a" / "broken.jpg").write_bytes(b"not an image at all")
    (data / "a" / "empty.png").write_bytes(b"")
    (data / "notes.txt").write_text("not an image by its name")
    summary = explain_dataset(
        tiny_model(), data, tmp_path / "out", batch_size=2, labels=CLASSES,
        transform=to_tensor, progress=False,
    )  # fmt: skip
    assert (summary.images, summary.explained, summary.ignored) == (5, 3, 1)
    assert sorted(source for source, _ in summary.failed) == ["a/broken.jpg", "a/empty.png"]
    assert all("ValueError" in reason for _, reason in summary.failed)
    failed = {row["source"]: row for row in rows(tmp_path / "out") if row["error"]}
    assert set(failed) == {"a/broken.jpg", "a/empty.png"}
    assert all(row["maps"] == [] and row["image"] is None for row in failed.values())
    assert "not a readable image" in failed["a/broken.jpg"]["error"]
    assert "a/broken.jpg" in str(summary) and "ignored 1 file" in str(summary)


def test_an_empty_folder_ends_with_a_summary_that_says_so(tmp_path):
    (tmp_path / "data").mkdir()
    summary = explain_dataset(tiny_model(), tmp_path / "data", tmp_path / "out", progress=False)
    assert (summary.images, summary.explained) == (0, 0)
    assert "no images" in str(summary)
    assert rows(tmp_path / "out") == []


class _Flaky(Dataset):
    """Five images with labels; item 2 raises, item 3 has another size."""

    def __len__(self) -> int:
        return 5

    def __getitem__(self, i: int):
        if i == 2:
            raise OSError("disk read failed")
        size = 40 if i == 3 else 32
        generator = torch.Generator().manual_seed(i)
        return torch.randn(3, size, size, generator=generator), i


class _FixedSize(nn.Module):
    """A classifier that only takes 32 x 32 images (a flatten into a linear layer)."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(3 * 32 * 32, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x.flatten(1))


def test_a_dataset_item_that_fails_to_load_or_to_run_is_reported_alone(tmp_path):
    summary = explain_dataset(
        _FixedSize(), _Flaky(), tmp_path / "out", batch_size=5, labels=CLASSES, progress=False
    )
    assert summary.explained == 3
    errors = {row["position"]: row["error"] for row in rows(tmp_path / "out")}
    assert errors[0] is None and errors[1] is None and errors[4] is None
    assert errors[2] == "OSError: disk read failed"
    assert "(1, 3, 40, 40)" in errors[3]  # the model's failure on that size, said as such
    found = rows(tmp_path / "out")
    assert [row["source"] for row in found] == [f"_Flaky[{i}]" for i in range(5)]
    assert [row["true_class"] for row in found] == [0, 1, None, 3, 4]
    assert found[1]["true_label"] == "kind 1"


def test_a_dataloader_gives_its_dataset_in_order_whatever_its_sampler(tmp_path):
    generator = torch.Generator().manual_seed(0)
    dataset = TensorDataset(torch.randn(7, 3, 32, 32, generator=generator), torch.arange(7) % 10)
    options = {"batch_size": 3, "labels": CLASSES, "progress": False}
    explain_dataset(tiny_model(), dataset, tmp_path / "a", **options)
    shuffled = DataLoader(dataset, batch_size=2, shuffle=True)
    explain_dataset(tiny_model(), shuffled, tmp_path / "b", num_workers=2, **options)
    assert without_time(rows(tmp_path / "a")) == without_time(rows(tmp_path / "b"))
    for name in sorted(os.listdir(tmp_path / "a" / "maps")):
        assert (tmp_path / "a" / "maps" / name).read_bytes() == (
            tmp_path / "b" / "maps" / name
        ).read_bytes()


class _Pictures(Dataset):
    """PIL images with class names as labels, as many datasets without a transform give."""

    def __init__(self, folder: Path) -> None:
        self.files = sorted(folder.rglob("*.png"))

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int):
        return Image.open(self.files[i]).convert("RGB"), self.files[i].parent.name


def test_a_datasets_pictures_go_through_the_transform_and_names_are_labels(tmp_path):
    data = image_folder(tmp_path / "data", {"kind 4": 2, "nothing": 1})
    explain_dataset(
        tiny_model(), _Pictures(data), tmp_path / "out", labels=CLASSES, transform=to_tensor,
        progress=False, num_workers=2,
    )  # fmt: skip
    explain_dataset(
        tiny_model(), data, tmp_path / "folder", labels=CLASSES, transform=to_tensor,
        progress=False,
    )  # fmt: skip
    found, expected = rows(tmp_path / "out"), rows(tmp_path / "folder")
    assert [row["true_class"] for row in found] == [4, 4, None]
    assert [row["true_label"] for row in found] == ["kind 4", "kind 4", "nothing"]
    assert [row["predictions"] for row in found] == [row["predictions"] for row in expected]


def test_targets_true_and_one_class_explain_those_classes(tmp_path):
    generator = torch.Generator().manual_seed(1)
    dataset = TensorDataset(torch.randn(4, 3, 32, 32, generator=generator), torch.arange(4))
    options = {"labels": CLASSES, "progress": False, "top_k": 3}
    explain_dataset(tiny_model(), dataset, tmp_path / "true", targets="true", **options)
    explain_dataset(tiny_model(), dataset, tmp_path / "one", targets="kind 7", **options)
    for row in rows(tmp_path / "true"):
        assert [m["class"] for m in row["maps"]] == [row["true_class"]]
        assert len(row["predictions"]) == 3
    assert all([m["class"] for m in row["maps"]] == [7] for row in rows(tmp_path / "one"))


def test_targets_true_without_a_known_class_fails_that_image_only(tmp_path):
    data = image_folder(tmp_path / "data", {"kind 2": 1, "mystery": 1})
    summary = explain_dataset(
        tiny_model(), data, tmp_path / "out", targets="true", labels=CLASSES,
        transform=to_tensor, progress=False,
    )  # fmt: skip
    assert summary.explained == 1
    assert summary.failed[0][0] == "mystery/image00.png"
    assert "'mystery'" in summary.failed[0][1] and "targets='true'" in summary.failed[0][1]


def test_folder_names_become_the_models_classes():
    labels = ClassIndex(imagenet_labels())
    assert resolve_classes(["tabby", "7", "no such animal"], labels) == [281, 7, None]
    # Exact names and synonyms, any case and spacing; never a part of a name ("dogsled").
    assert resolve_classes(["Tabby  Cat", "dogs", "cats", "MILITARY uniform"], labels) == [
        281, None, None, 652
    ]  # fmt: skip
    wordnet_ids = [f"n{i:08d}" for i in range(1000)][::-1]  # ImageNet's layout, any order
    assert resolve_classes(wordnet_ids, labels) == list(range(1000))[::-1]


def test_an_image_folder_dataset_keeps_its_file_names_and_labels(tmp_path):
    data = image_folder(tmp_path / "data", {"kind 5": 2, "kind 1": 1})
    folder = torchvision.datasets.ImageFolder(data, transform=to_tensor)
    explain_dataset(tiny_model(), folder, tmp_path / "out", labels=CLASSES, progress=False)
    found = rows(tmp_path / "out")
    assert [row["source"] for row in found] == [
        "kind 1/image00.png", "kind 5/image00.png", "kind 5/image01.png"
    ]  # fmt: skip
    assert [row["true_class"] for row in found] == [1, 5, 5]


def test_smoothgrad_with_scores_leaves_the_model_and_random_state_alone(tmp_path):
    model = tiny_model()
    before, state = snapshot(model), torch.random.get_rng_state()
    data = image_folder(tmp_path / "data", {"a": 3})
    common = {"method": "smoothgrad", "options": {"samples": 3}, "labels": CLASSES}
    explain_dataset(model, data, tmp_path / "out", transform=to_tensor, progress=False,
                    deletion=True, batch_size=2, **common)  # fmt: skip
    assert_same_state(before, snapshot(model))
    assert torch.equal(torch.random.get_rng_state(), state)
    for row in rows(tmp_path / "out"):
        entry = row["maps"][0]
        assert 0 <= entry["deletion_auc"] <= 1 and 0 <= entry["insertion_auc"] <= 1
        assert row["deletion_auc"] == entry["deletion_auc"]
        assert 0 <= entry["random_deletion_auc"] <= 1
    # SmoothGrad's noise is seeded by the plan: the same job elsewhere gives the same maps.
    explain_dataset(model, data, tmp_path / "again", transform=to_tensor, progress=False,
                    deletion=True, batch_size=2, **common)  # fmt: skip
    assert without_time(rows(tmp_path / "out")) == without_time(rows(tmp_path / "again"))


@pytest.mark.parametrize(
    "arguments, error, words",
    [
        ({"method": "lime"}, ValueError, "unknown attribution method 'lime'"),
        ({"method": "smoothgrad", "options": {"samples": 0}}, ValueError, "samples must be"),
        ({"options": {"steps": 5}}, ValueError, "gradient has no option steps"),
        ({"top_k": 0}, ValueError, "top_k"),
        ({"batch_size": 2.5}, ValueError, "batch_size"),
        ({"num_workers": -1}, ValueError, "num_workers must be an int >= 0"),
        ({"targets": "biggest"}, ValueError, "targets must be 'predicted', 'true' or a class"),
        ({"targets": 10}, ValueError, "class 10 is out of range"),
        ({"data": [1, 2]}, TypeError, "data must be a folder of images, a torch Dataset"),
        ({"data": "missing-folder"}, ValueError, "is not a folder"),
        ({"model": "resnet"}, TypeError, "model must be a torch.nn.Module"),
    ],
)
def test_bad_arguments_say_what_was_wrong(arguments, error, words, tmp_path):
    call = {"model": tiny_model(), "data": image_folder(tmp_path / "d", {"a": 1}), **arguments}
    with pytest.raises(error, match=words):
        explain_dataset(
            call.pop("model"), call.pop("data"), tmp_path / "out", labels=CLASSES,
            transform=to_tensor, progress=False, **call,
        )  # fmt: skip


def test_a_folder_with_another_jobs_results_is_refused(tmp_path):
    data = image_folder(tmp_path / "data", {"a": 2})
    options = {"labels": CLASSES, "transform": to_tensor, "progress": False}
    explain_dataset(tiny_model(), data, tmp_path / "out", **options)
    with pytest.raises(ValueError, match=r"holds a job with other settings .*method: 'gradient'"):
        explain_dataset(tiny_model(), data, tmp_path / "out", method="gradcam", **options)
    (tmp_path / "file").write_text("")
    with pytest.raises(ValueError, match="is a file; expected a folder"):
        explain_dataset(tiny_model(), data, tmp_path / "file", **options)


def test_a_cut_last_line_and_a_row_without_its_file_are_not_done(tmp_path):
    journal = Journal(tmp_path, {"method": "gradient"})
    journal.start({})
    journal.record([{"position": 0, "maps": [], "image": "images/0.jpg"}], {"images/0.jpg": b"x"})
    journal.record([{"position": 1, "maps": [], "image": "images/1.jpg"}], {})  # file lost
    with open(journal.part, "ab") as file:
        file.write(b'{"position": 2, "maps": [], "ima')  # killed while appending
    assert journal.done() == {0}
    Journal(tmp_path, {"method": "gradient"}).start({})  # a restart cuts the broken line
    assert journal.part.read_bytes().endswith(b"\n")
    assert [row["position"] for row in journal.rows()] == [0, 1]
    assert not list(tmp_path.rglob("*.tmp"))  # atomic writes leave no temporary files


def _start_job(data: Path, out: Path, method: str, delay: float) -> subprocess.Popen:
    script = JOB_SCRIPT.format(
        tests=str(Path(__file__).parent), data=str(data), out=str(out), labels=CLASSES,
        delay=delay, method=method,
    )  # fmt: skip
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-c", script], env=environment)


def _written_rows(out: Path) -> int:
    parts = out / "parts"
    return sum(p.read_bytes().count(b"\n") for p in parts.glob("*.jsonl")) if parts.exists() else 0


@pytest.mark.parametrize("method", ["gradient", "smoothgrad"])
def test_a_job_killed_again_and_again_ends_as_one_that_never_stopped(method, tmp_path):
    data = image_folder(tmp_path / "data", {"a": 10, "b": 8})
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    assert _start_job(data, whole, method, 0.0).wait(timeout=120) == 0
    kills = 0
    for written in (2, 7, 12):  # kill -9 once this many rows are on disk, then start again
        job = _start_job(data, killed, method, 0.05)
        deadline = time.monotonic() + 120
        while _written_rows(killed) < written and job.poll() is None:
            assert time.monotonic() < deadline
            time.sleep(0.005)
        if job.poll() is None:
            os.kill(job.pid, signal.SIGKILL)
            kills += 1
        job.wait(timeout=60)
    assert kills >= 2, "the job finished before it could be killed: slow it down"
    assert _start_job(data, killed, method, 0.0).wait(timeout=120) == 0
    assert without_time(rows(killed)) == without_time(rows(whole))
    for folder in ("maps", "images"):
        names = sorted(os.listdir(whole / folder))
        assert names == sorted(os.listdir(killed / folder))
        for name in names:
            assert (whole / folder / name).read_bytes() == (killed / folder / name).read_bytes()
    summary = json.loads((killed / "summary.json").read_text())
    assert (summary["images"], summary["explained"]) == (18, 18)


def test_the_command_line_explains_a_folder_with_a_progress_bar(tmp_path, capfd):
    data = image_folder(tmp_path / "data", {"tabby": 2})
    (data / "tabby" / "bad.jpg").write_bytes(b"nope")
    status = cli.main(
        ["batch", str(data), "--out", str(tmp_path / "out"), "--targets", "true", "--top-k", "2"]
    )
    captured = capfd.readouterr()
    assert status == 0
    assert "explained 2 of 3 images" in captured.out and "tabby/bad.jpg" in captured.out
    assert "img/s" in captured.err  # tqdm's bar, with images per second
    found = rows(tmp_path / "out")
    assert [row["true_class"] for row in found if not row["error"]] == [281, 281]
    assert all([m["class"] for m in row["maps"]] == [281] for row in found if not row["error"])


@pytest.mark.parametrize(
    "args, words",
    [
        (["batch", "missing", "--out", "o"], "missing is not a folder"),
        (["batch", ".", "--out", "o", "--steps", "3"], "--steps applies only to"),
        (["batch", ".", "--out", "o", "--method", "lime"], "unknown attribution method"),
        (["batch", ".", "--out", "o", "--workers", "-1"], "expected a whole number >= 0"),
        (["batch", "."], "the following arguments are required: --out"),
    ],
)
def test_command_line_mistakes_exit_2_in_one_line(args, words, capsys):
    assert cli.main(args) == 2
    error = capsys.readouterr().err
    assert words in error and error.count("\n") == 1


def test_model_names_that_cannot_be_loaded_exit_2_in_one_line(tmp_path, capsys, monkeypatch):
    data = image_folder(tmp_path / "data", {"a": 1})
    command = ["batch", str(data), "--out", str(tmp_path / "out")]
    assert cli.main([*command, "--model", "no_such_net"]) == 2
    assert "unknown torchvision classifier or weights: 'no_such_net'" in capsys.readouterr().err

    def offline(name: str) -> None:
        raise models.WeightsUnavailableError(f"could not load the weights for {name!r}: offline")

    monkeypatch.setattr(models, "torchvision_classifier", offline)
    assert cli.main([*command, "--model", "resnet18"]) == 2
    error = capsys.readouterr().err
    assert error == "flashwidget: error: could not load the weights for 'resnet18': offline\n"
    assert not (tmp_path / "out").exists()


def test_torchrun_with_two_processes_gives_what_one_process_gives(tmp_path):
    """Two CPU processes (gloo) under torchrun split the batches; the merged index and every
    map equal a single process's. Both use one thread per process, as torchrun sets, so that
    each batch is computed by the same kernels."""
    data = image_folder(tmp_path / "data", {"tabby": 5, "tiger": 4})
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    common = ["batch", str(data), "--batch-size", "2", "--top-k", "2", "--no-progress"]
    one = subprocess.run(
        [sys.executable, "-m", "flashwidget", *common, "--out", str(tmp_path / "one")],
        env=environment, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert one.returncode == 0, one.stderr
    two = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         "-m", "flashwidget", *common, "--out", str(tmp_path / "two")],
        env=environment, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert two.returncode == 0, two.stderr
    assert two.stdout.count("explained 9 of 9 images") == 1  # the first process reports
    parts = sorted(os.listdir(tmp_path / "two" / "parts"))
    assert parts == ["rank0-of-2.jsonl", "rank1-of-2.jsonl"]
    split = [(tmp_path / "two" / "parts" / name).read_text().count("\n") for name in parts]
    assert split == [5, 4]  # batches 0, 2, 4 and 1, 3: each image exactly once
    assert without_time(rows(tmp_path / "one")) == without_time(rows(tmp_path / "two"))
    for name in sorted(os.listdir(tmp_path / "one" / "maps")):
        assert (tmp_path / "one" / "maps" / name).read_bytes() == (
            tmp_path / "two" / "maps" / name
        ).read_bytes()
