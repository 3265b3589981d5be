"""Fixtures for the browser tests: one Chromium for the session, one page per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import launch_chromium
from playwright.sync_api import Browser, ConsoleMessage, Error, Page, sync_playwright

HERE = Path(__file__).resolve().parent

# Where the widget's code runs: anywidget loads the bundle from a blob: URL.
OUR_CODE = ("blob:", "anywidget", "flashwidget")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test in this folder ``browser``: ``make test-fast`` leaves them out."""
    for item in items:
        if HERE in Path(item.fspath).resolve().parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh page that records script errors of the widget's code in ``page.errors``.

    Errors whose stack runs only through Jupyter's own bundles are left out: Notebook 7.6
    throws one from its settings registry while loading, with or without this widget.
    """
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    new_page = context.new_page()
    new_page.errors = []

    def record(error: Error) -> None:
        if any(source in (error.stack or "") for source in OUR_CODE):
            new_page.errors.append(f"{error}\n{error.stack}")

    def record_console(message: ConsoleMessage) -> None:
        if message.type == "error" and any(source in message.text for source in OUR_CODE):
            new_page.errors.append(message.text)

    new_page.on("pageerror", record)
    new_page.on("console", record_console)
    yield new_page
    context.close()
