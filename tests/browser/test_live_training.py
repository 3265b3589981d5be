"""Exploring while a model trains, in JupyterLab: the documented recipe, end to end.

A notebook trains in a thread and calls ``w.update(step=...)`` after every step. While it runs,
the test picks another class in the view and checks that the following updates explain that
class, then scrubs back with the step slider to an earlier snapshot.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from harness import JupyterServer, jupyter_server, open_notebook, run_all_cells
from playwright.sync_api import Page, expect

SETUP = """\
import threading, time
import torch
import flashwidget as fw

torch.manual_seed(0)
model = torch.nn.Sequential(
    torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(4),
    torch.nn.Flatten(), torch.nn.Linear(128, 4),
)
optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
w = fw.SaliencyWidget(
    model, torch.rand(3, 32, 32), labels=["zero", "one", "two", "three"], update_interval=0.1
)
w.update(step=0)
w
"""
TRAIN = """\
stop = threading.Event()

def train():
    step = 0
    while not stop.is_set():
        step += 1
        x, y = torch.rand(8, 3, 32, 32), torch.randint(0, 4, (8,))
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
        w.update(step=step)
        time.sleep(0.02)

thread = threading.Thread(target=train, daemon=True)
thread.start()
"""
STEP = re.compile(r"^step (\d+): (\w+) \(class (\d+)\)")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[JupyterServer]:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(SETUP), nbformat.v4.new_code_cell(TRAIN)]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    path = tmp_path / "live.ipynb"
    nbformat.write(notebook, path)
    root = tmp_path / "notebooks"
    root.mkdir()
    with jupyter_server("lab", root, [path]) as running:
        yield running


def wait_for_step_after(page: Page, step: int, target: int | None = None) -> tuple[int, int]:
    for _ in range(300):
        text = page.locator(".flashwidget .fw-status").inner_text()
        match = STEP.match(text)
        if match and int(match[1]) > step and (target is None or int(match[3]) == target):
            return int(match[1]), int(match[3])
        page.wait_for_timeout(50)
    raise AssertionError(f"no update after step {step} for class {target}: {text!r}")


def test_the_view_answers_while_a_thread_trains(server: JupyterServer, page: Page) -> None:
    open_notebook(page, server, "live.ipynb")
    run_all_cells(page)
    view = page.locator(".flashwidget")
    expect(view.locator(".fw-status")).to_contain_text("step ", timeout=120_000)
    with server.kernel("live.ipynb") as kernel:
        step, target = wait_for_step_after(page, 2)
        other = (target + 1) % 4
        view.locator(".fw-class").select_option(str(other))
        # The thread's next updates explain the class picked while it runs.
        later, shown = wait_for_step_after(page, step, target=other)
        assert later > step and shown == other
        later, shown = wait_for_step_after(page, later)
        assert shown == other

        # The step slider holds the snapshots; moving it back shows one, which stays on screen
        # while newer snapshots arrive (until it is the oldest of the 50 kept and is dropped).
        slider = view.locator(".fw-step")
        expect(slider).to_be_visible()
        for _ in range(200):  # updates come every 0.1 s: let a few snapshots accumulate
            newest = int(slider.get_attribute("max"))
            if newest >= 4:
                break
            page.wait_for_timeout(50)
        assert newest >= 4, f"only {newest + 1} snapshots after 10 s"
        slider.fill(str(newest // 2))
        scrubbed = re.compile(r"^step (\d+) \(\d+ of \d+\)")
        expect(view.locator(".fw-status")).to_have_text(scrubbed)
        chosen = scrubbed.match(view.locator(".fw-status").inner_text())[1]
        expect(view.locator(".fw-step-label")).to_have_text(chosen)
        page.wait_for_timeout(500)
        assert view.locator(".fw-status").inner_text().startswith(f"step {chosen} (")

        kernel.run("stop.set(); thread.join()")
        assert kernel.eval("w.error") == ""
        assert kernel.eval("w.steps")[kernel.eval("w.step_index")] == chosen
    assert page.errors == []
