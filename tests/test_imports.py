"""``import flashwidget`` stays light: no pyplot (which picks a matplotlib backend) until a
figure is drawn."""

from __future__ import annotations

import subprocess
import sys


def test_import_flashwidget_does_not_import_pyplot():
    code = "import sys, flashwidget; print('matplotlib.pyplot' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
