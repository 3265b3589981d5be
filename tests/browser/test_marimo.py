"""The marimo example in a browser: the widget draws, and a change in the view re-runs the
cell that reads it (marimo's reactivity through ``mo.ui.anywidget``)."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import free_port
from playwright.sync_api import Page, expect

APP = Path(__file__).resolve().parents[2] / "examples" / "marimo_app.py"


@pytest.fixture
def marimo_url(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    log = (tmp_path / "marimo.log").open("wb")
    command = [sys.executable, "-m", "marimo", "run", str(APP), "--headless", "--no-token"]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(OSError):
                urllib.request.urlopen(url, timeout=5).close()
                break
            if process.poll() is not None or time.monotonic() > deadline:
                output = (tmp_path / "marimo.log").read_text()
                raise RuntimeError(f"marimo did not start:\n{output}")
            time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


def test_marimo_app_shows_the_widget_and_reacts_to_it(marimo_url: str, page: Page) -> None:
    page.goto(marimo_url)
    view = page.locator(".flashwidget")
    expect(view.locator(".fw-status")).to_contain_text("mortarboard (class 667)", timeout=120_000)
    expect(view.locator(".fw-class option")).to_have_count(5)
    # marimo puts the view in a shadow root; locators pierce it, querySelector would not.
    assert view.locator(".fw-overlay").evaluate("canvas => canvas.width") == 448

    view.locator(".fw-class").select_option("400")
    expect(view.locator(".fw-status")).to_contain_text("academic gown (class 400)")
    # The next cell reads explorer.status, so marimo re-ran it with the new class.
    expect(page.get_by_text("Shown: academic gown (class 400)")).to_be_visible()
    assert page.errors == []
