"""The scripts in examples/ run and produce what they say."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from PIL import Image

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_first_map_example(tmp_path):
    out = tmp_path / "maps.png"
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "first_map.py"), str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    with Image.open(out) as figure:
        assert figure.width > 3 * figure.height


def test_marimo_example_runs_as_a_script():
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "marimo_app.py")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "mortarboard (class 667): gradients" in result.stdout
