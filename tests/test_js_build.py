"""js/build.py: the bundles, each fresh, each one ES module holding only what its entry reaches.

tests/test_widget.py checks SaliencyWidget's bundle through ``bundle()``'s default entry; these
tests cover every bundle, ``--check`` and what the bundler refuses.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STATIC = ROOT / "flashwidget" / "static"


def load_build():
    spec = importlib.util.spec_from_file_location("js_build", ROOT / "js" / "build.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    return build


build = load_build()


def modules_in(text: str) -> list[str]:
    return [
        line[len("// --- js/") :] for line in text.splitlines() if line.startswith("// --- js/")
    ]


def test_the_bundles_and_their_entries() -> None:
    assert build.BUNDLES == {
        "view.js": STATIC / "widget.js",
        "feature_view.js": STATIC / "feature.js",
        "saliency_page.js": STATIC / "saliency_page.js",
        "gallery_view.js": STATIC / "gallery.js",
        "gallery_page.js": STATIC / "gallery_page.js",
    }
    assert build.bundle() == build.bundle("view.js"), "the default entry is SaliencyWidget's view"


@pytest.mark.parametrize(
    "entry",
    ["view.js", "feature_view.js", "saliency_page.js", "gallery_view.js", "gallery_page.js"],
)
def test_each_bundle_is_fresh(entry: str) -> None:
    path = build.BUNDLES[entry]
    assert path.read_text() == build.bundle(entry), f"{path} is stale: run python js/build.py"


@pytest.mark.parametrize(
    ("entry", "export"),
    [
        ("view.js", "export default { render };"),
        ("feature_view.js", "export default { render };"),
        ("saliency_page.js", "export default startPage(render, saliencyResponder);"),
        ("gallery_view.js", "export default { render };"),
        ("gallery_page.js", "export default startPage(render, galleryResponder);"),
    ],
)
def test_each_bundle_is_one_es_module(entry: str, export: str, tmp_path: Path) -> None:
    copy = tmp_path / "bundle.mjs"
    shutil.copy(build.BUNDLES[entry], copy)
    subprocess.run(["node", "--check", str(copy)], check=True, capture_output=True)
    lines = copy.read_text().splitlines()
    assert not [line for line in lines if line.startswith("import")]
    assert [line for line in lines if line.startswith("export")] == [export]


def test_each_bundle_holds_only_the_modules_its_entry_reaches() -> None:
    saliency = modules_in((STATIC / "widget.js").read_text())
    feature = modules_in((STATIC / "feature.js").read_text())
    assert saliency[-1] == "view.js" and feature[-1] == "feature_view.js"
    assert not [name for name in saliency if name.startswith("feature_")]
    assert {"view.js", "stage.js", "check.js", "charts.js"}.isdisjoint(feature)
    assert set(feature) == {
        "dom.js",
        "logic.js",
        "canvas.js",
        "feature_logic.js",
        "feature_tiles.js",
        "feature_view.js",
    }


def test_the_saliency_page_holds_the_view_the_stand_in_and_its_responder() -> None:
    view = modules_in((STATIC / "widget.js").read_text())
    page = modules_in((STATIC / "saliency_page.js").read_text())
    assert page[-1] == "saliency_page.js"
    assert set(page) == {*view, "saliency_responder.js", "static_model.js", "saliency_page.js"}
    assert {"static_model.js", "saliency_responder.js"}.isdisjoint(view)


def test_the_gallery_page_holds_the_gallery_view_the_stand_in_and_its_responder() -> None:
    view = modules_in((STATIC / "gallery.js").read_text())
    page = modules_in((STATIC / "gallery_page.js").read_text())
    assert page[-1] == "gallery_page.js"
    assert set(page) == {*view, "gallery_responder.js", "static_model.js", "gallery_page.js"}
    assert {"static_model.js", "gallery_responder.js"}.isdisjoint(view)


def test_check_fails_when_either_bundle_is_stale(tmp_path: Path, monkeypatch) -> None:
    targets = {entry: tmp_path / path.name for entry, path in build.BUNDLES.items()}
    monkeypatch.setattr(build, "BUNDLES", targets)
    assert build.main(["--check"]) == 1, "missing bundles are stale"
    assert build.main([]) == 0
    assert build.main(["--check"]) == 0
    for path in targets.values():
        fresh = path.read_text()
        path.write_text(fresh + "// edited by hand\n")
        assert build.main(["--check"]) == 1, f"{path.name} is stale"
        path.write_text(fresh)
    assert build.main(["--check"]) == 0


def write_modules(folder: Path, modules: dict[str, str]) -> None:
    for name, text in modules.items():
        (folder / name).write_text(text)


def test_imports_are_followed_once_each_after_what_they_import(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(build, "JS", tmp_path)
    write_modules(
        tmp_path,
        {
            "entry.js": 'import { b } from "./b.js";\nimport { a } from "./a.js";\n'
            "export default { b, a };\n",
            "a.js": "export const a = 1;\n",
            "b.js": 'import { a } from "./a.js";\nexport function b() {\n  return a;\n}\n',
            "unused.js": "export const unused = 0;\n",
        },
    )
    assert modules_in(build.bundle("entry.js")) == ["a.js", "b.js", "entry.js"]
    assert "function b()" in build.bundle("entry.js")


def test_a_view_entry_inside_another_bundle_loses_its_default_export(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setattr(build, "JS", tmp_path)
    write_modules(
        tmp_path,
        {
            "page.js": 'import { render } from "./view.js";\nexport default render();\n',
            "view.js": "export function render() {\n  return 1;\n}\n\nexport default { render };\n",
        },
    )
    assert build.bundle("view.js").endswith("export default { render };\n")
    page = build.bundle("page.js")
    assert "function render()" in page and "export function" not in page
    assert [line for line in page.splitlines() if "export" in line] == ["export default render();"]


@pytest.mark.parametrize(
    ("modules", "message"),
    [
        ({"entry.js": 'import a from "./a.js";\nexport default {};\n'}, "cannot bundle"),
        ({"entry.js": "export { x };\nexport default {};\n"}, "cannot bundle"),
        ({"entry.js": "export const x = 1;\n"}, "exactly one `export default`"),
        (
            {
                "entry.js": 'import { a } from "./a.js";\nexport default { a };\n',
                "a.js": "export const a = 1;\nexport default {\n  a,\n};\n",
            },
            "cannot bundle",
        ),
        (
            {
                "entry.js": 'import { a } from "./a.js";\nexport default {};\n',
                "a.js": 'import { b } from "./b.js";\nexport const a = 1;\n',
                "b.js": 'import { a } from "./a.js";\nexport const b = 2;\n',
            },
            "import cycle",
        ),
    ],
    ids=["default-import", "export-list", "no-default", "multi-line-default", "cycle"],
)
def test_other_module_forms_are_refused(
    tmp_path: Path, monkeypatch, modules: dict[str, str], message: str
) -> None:
    monkeypatch.setattr(build, "JS", tmp_path)
    write_modules(tmp_path, modules)
    with pytest.raises(ValueError, match=message):
        build.bundle("entry.js")
