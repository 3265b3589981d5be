"""Standalone pages: a notebook view, its data and a stand-in for the kernel in one HTML file.

A notebook view needs a kernel to answer it; a colleague without Python needs a file that opens
in a browser. Such a page runs the same view code as the notebook: a page bundle of
``js/build.py`` that holds the view's ``render``, rendered against the stand-in for anywidget's
model in ``js/static_model.js``. The stand-in's kernel side is a responder written for the view
(SaliencyWidget's: ``js/saliency_responder.js``), which answers the changes the view makes from
tables computed here in Python and embedded in the page, and says so in the view when they
cannot answer.

:func:`page_html` is the part any view can use, without torch;
:mod:`flashwidget.saliency_page` gathers a ``SaliencyWidget``'s state and tables
(``SaliencyWidget.to_html``) and :mod:`flashwidget.gallery_page` a batch result's.
"""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import anywidget

DATA_ID = "flashwidget-data"  # js/static_model.js's startPage reads the page's data here
ROOT_ID = "flashwidget-root"  # and renders the view into this element
BYTES_KEY = "$bytes"  # js/static_model.js's decodeBytes: {"$bytes": i} is the i-th bytes value
# The page runs its own inline script and style, and may load nothing from anywhere.
POLICY = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'"

# What must not appear as such in an inline script: its end tag, the opening of an HTML comment
# (which changes where a script element ends), and a URL (the page names none).
_IN_SCRIPT = re.compile(r"</(script)|<!--|(https?)://", re.IGNORECASE)
_URL_SCHEME = re.compile(r"(https?):", re.IGNORECASE)


def page_data(state: Mapping[str, Any], tables: Mapping[str, Any]) -> dict[str, Any]:
    """``state`` and ``tables`` as the page's JSON: each distinct bytes value once, as base64
    in the ``bytes`` list, and ``{"$bytes": its index}`` wherever it is used (the map shown is
    in the tables too), which the stand-in hands the view as one DataView, as anywidget hands
    it bytes traits. Tuples become lists."""
    pool: dict[bytes, int] = {}

    def encoded(value: Any) -> Any:
        if isinstance(value, bytes | bytearray | memoryview):
            return {BYTES_KEY: pool.setdefault(bytes(value), len(pool))}
        if isinstance(value, Mapping):
            return {str(key): encoded(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [encoded(item) for item in value]
        return value

    data = {"state": encoded(state), "tables": encoded(tables)}
    return {"bytes": [base64.b64encode(value).decode("ascii") for value in pool], **data}


def _escape_in_script(match: re.Match[str]) -> str:
    if match[1]:
        return "<\\/" + match[1]
    if match[2]:
        return match[2] + "\\x3a\\/\\/"
    return "\\x3C!--"


def inline_script(code: str) -> str:
    """JavaScript made safe to inline in a ``<script>`` element, meaning the same:
    ``</script`` is written ``<\\/script``, ``<!--`` ``\\x3C!--`` and a URL's ``://``
    ``\\x3a\\/\\/``. These escapes stand for the same characters in strings, template literals
    and regular expressions, and are harmless in comments, where such text can be (the view's
    one URL is the SVG namespace, a string the browser never fetches)."""
    return _IN_SCRIPT.sub(_escape_in_script, code)


def inline_json(data: Any) -> str:
    """``data`` as JSON that is safe in a ``<script>`` element: ``<``, ``>`` and ``&`` as
    ``\\u`` escapes, so that no value (a class name holding ``</script>``) can end the element,
    and the colon of ``http:`` too, so that the page names no URL."""
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return _URL_SCHEME.sub(r"\1\\u003a", text)


def page_html(
    *, title: str, bundle: Path, css: Path, state: Mapping[str, Any], tables: Mapping[str, Any]
) -> str:
    """One HTML page that shows a view with nothing but a browser: no kernel, no network.

    ``bundle`` is a page bundle of ``js/build.py`` whose entry calls ``startPage`` of
    ``js/static_model.js`` with the view's ``render`` and its responder; ``state`` holds every
    trait the view reads and ``tables`` what the responder answers from (bytes may be anywhere
    in both: see :func:`page_data`). ``css`` is the view's stylesheet, scoped under its root
    class so that it styles nothing else. All of it is inlined and escaped (:func:`inline_script`,
    :func:`inline_json`); a content security policy forbids every request, so the page works
    offline and cannot reach out.
    """
    style = re.sub(r"</(style)", r"<\\/\1", css.read_text(), flags=re.IGNORECASE)
    data = inline_json(page_data(state, tables))
    heading = _URL_SCHEME.sub(r"\1&#58;", html.escape(title))  # an entity: the same colon
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{POLICY}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{heading}</title>\n<style>\n{style}\n</style>\n</head>\n<body>\n"
        f'<div id="{ROOT_ID}"></div>\n'
        f'<script type="application/json" id="{DATA_ID}">{data}</script>\n'
        f'<script type="module">\n{inline_script(bundle.read_text())}\n</script>\n'
        "</body>\n</html>\n"
    )


def page_path(path: str | Path) -> Path:
    """``path`` checked before anything is computed: a file to write, in a folder that exists."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise IsADirectoryError(
            f"{str(path)!r} is a folder; expected the path of the HTML file to write, such as "
            f"{str(path / 'saliency.html')!r}"
        )
    if not path.parent.is_dir():
        raise FileNotFoundError(
            f"cannot write {str(path)!r}: the folder {str(path.parent)!r} does not exist; "
            "expected a file path in an existing folder"
        )
    return path


def synced_state(widget: anywidget.AnyWidget) -> dict[str, Any]:
    """The widget's own synced traits, which its view reads (not anywidget's machinery)."""
    machinery = set(anywidget.AnyWidget.class_trait_names(sync=True))
    return {
        name: getattr(widget, name)
        for name in widget.trait_names(sync=True)
        if not name.startswith("_") and name not in machinery
    }
