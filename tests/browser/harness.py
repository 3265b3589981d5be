"""Run a real Jupyter front end on loopback and drive it from headless Chromium.

Shared by the end-to-end tests and ``bench/widget_latency.py``, so that what is tested and what
is measured go through the same server, browser and kernel: JupyterLab or Notebook 7 started
from this interpreter (its ``python3`` kernel is this virtual environment), settings and runtime
files in a temporary folder so that nothing of the user's Jupyter set-up leaks in, and Debian's
chromium, never a downloaded browser.

The kernel is reached two ways: through the page, as a person would, and through a second
kernel client on the same connection file, which reads and sets Python state (``w.target``)
without touching the notebook's cells.
"""

from __future__ import annotations

import ast
import base64
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from jupyter_client import BlockingKernelClient
from playwright.sync_api import Browser, Page, Playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
APPS = ("lab", "notebook")
# JupyterLab asks on first start whether to fetch Jupyter news; the toast would cover the page.
# Notebook 7 has no such toast, and its settings registry throws on this plugin's file.
QUIET_LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    }
}


def launch_chromium(playwright: Playwright) -> Browser:
    """Debian's chromium, headless; a clear failure (never a skip) when it cannot start."""
    if not Path(CHROMIUM).exists():
        raise RuntimeError(
            f"{CHROMIUM} is missing: the browser tests need Debian's chromium "
            "(sudo apt-get install -y chromium); .ci/run installs it"
        )
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def free_port() -> int:
    """A loopback port nobody listens on now (the OS picks it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class JupyterServer:
    """A running server: where it listens, its token, and its folders."""

    app: str
    url: str
    token: str
    root: Path
    runtime: Path

    def notebook_url(self, name: str) -> str:
        route = "lab/tree" if self.app == "lab" else "notebooks"
        return f"{self.url}/{route}/{name}?token={self.token}"

    def api(self, path: str) -> Any:
        request = urllib.request.Request(
            f"{self.url}/api/{path}", headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)

    def kernel(self, notebook: str, timeout: float = 60) -> KernelClient:
        """A second client of the kernel that runs ``notebook`` (waits for it to exist)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for session in self.api("sessions"):
                if session["path"] == notebook and session.get("kernel"):
                    path = self.runtime / f"kernel-{session['kernel']['id']}.json"
                    if path.exists():
                        return KernelClient(path)
            time.sleep(0.2)
        raise TimeoutError(f"no kernel started for {notebook} within {timeout} s")


@contextlib.contextmanager
def jupyter_server(app: str, root: Path, notebooks: list[Path]) -> Iterator[JupyterServer]:
    """Start ``jupyter lab`` or ``jupyter notebook`` serving copies of ``notebooks`` in ``root``."""
    if app not in APPS:
        raise ValueError(f"app must be one of {APPS}; got {app!r}")
    for notebook in notebooks:
        shutil.copy(notebook, root / notebook.name)
    home = root.parent / f".jupyter-{app}"
    settings = home / "config" / "lab" / "user-settings"
    settings.mkdir(parents=True)
    for name, values in QUIET_LAB_SETTINGS.items() if app == "lab" else ():
        path = settings / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    runtime = home / "runtime"
    env = os.environ | {
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_RUNTIME_DIR": str(runtime),
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
        "JUPYTER_PLATFORM_DIRS": "1",
    }
    port, token = free_port(), os.urandom(16).hex()
    command = [
        sys.executable,
        "-m",
        "jupyter",
        app,
        "--no-browser",
        "--expose-app-in-browser",  # window.jupyterapp, to run all cells through its commands
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
    ]
    if os.geteuid() == 0:  # containers and CI runners often run as root
        command.append("--allow-root")
    log = (home / "server.log").open("wb")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    server = JupyterServer(app, f"http://127.0.0.1:{port}", token, root, runtime)
    try:
        _wait_until_up(server, process, home / "server.log")
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _wait_until_up(server: JupyterServer, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"jupyter {server.app} exited:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(OSError):
            server.api("status")
            return
        time.sleep(0.3)
    raise TimeoutError(f"jupyter {server.app} did not answer within 90 s:\n{log.read_text()}")


class KernelClient:
    """Read and change the kernel's state from the test, beside the notebook's own client."""

    def __init__(self, connection_file: Path) -> None:
        """Connect the shell channel only, and check that the kernel answers on it.

        Not ``wait_for_ready``: after the kernel's reply it drains IOPub until 0.2 s pass with
        no message, which never happens while a training thread publishes widget updates.
        IOPub is not needed here anyway (replies come on the shell channel).
        """
        self._client = BlockingKernelClient(connection_file=str(connection_file))
        self._client.load_connection_file()
        self._client.start_channels(iopub=False, stdin=False, hb=False, control=False)
        try:
            self._request("", {}, timeout=60)
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> KernelClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the sockets now: a ZeroMQ context that still holds open sockets when it is
        garbage-collected blocks the collecting thread forever (seen: the whole test run)."""
        self._client.stop_channels()
        self._client.context.destroy(linger=0)

    def _request(self, code: str, expressions: dict[str, str], timeout: float) -> dict:
        msg_id = self._client.execute(
            code, silent=True, store_history=False, user_expressions=expressions
        )
        deadline = time.monotonic() + timeout
        while True:  # get_shell_msg raises queue.Empty when nothing comes before the deadline
            reply = self._client.get_shell_msg(timeout=max(0.1, deadline - time.monotonic()))
            if reply["parent_header"].get("msg_id") == msg_id:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"the kernel did not answer {code!r} within {timeout} s")
        content = reply["content"]
        if content["status"] != "ok":
            raise RuntimeError(f"kernel error: {content.get('ename')}: {content.get('evalue')}")
        return content

    def run(self, code: str, timeout: float = 60) -> None:
        """Execute ``code`` in the notebook's namespace; a Python error raises here."""
        self._request(code, {}, timeout)

    def eval(self, expression: str, timeout: float = 60) -> Any:
        """The value of ``expression`` (a literal: numbers, strings, lists, dicts, bools)."""
        result = self._request("", {"value": expression}, timeout)["user_expressions"]["value"]
        if result["status"] != "ok":
            raise RuntimeError(f"{expression}: {result.get('ename')}: {result.get('evalue')}")
        return ast.literal_eval(result["data"]["text/plain"])

    def wait_for(
        self,
        expression: str,
        predicate: Callable[[Any], bool],
        timeout: float = 30,
        context: str = "w.status",
    ) -> Any:
        """Poll ``expression`` until ``predicate`` holds for its value; return the value.

        On a timeout the error also shows ``context`` (the widget's status line by default),
        which usually says why the value never came.
        """
        deadline = time.monotonic() + timeout
        while True:
            value = self.eval(expression)
            if predicate(value):
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{expression} is still {value!r} after {timeout} s; "
                    f"{context} is {self.eval(context)!r}"
                )
            time.sleep(0.05)


def open_notebook(page: Page, server: JupyterServer, name: str) -> None:
    """Open ``name`` and wait until its kernel is connected."""
    page.goto(server.notebook_url(name))
    page.wait_for_function(
        """() => {
            const panel = window.jupyterapp?.shell?.currentWidget;
            const kernel = panel?.sessionContext?.session?.kernel;
            return kernel?.connectionStatus === "connected" && kernel.status === "idle";
        }""",
        timeout=120_000,
    )


def run_all_cells(page: Page) -> None:
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")


def wait_for_kernel_idle(page: Page, timeout_ms: float = 120_000) -> None:
    page.wait_for_function(
        "() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status"
        " === 'idle'",
        timeout=timeout_ms,
    )


def settle(page: Page) -> None:
    """Let the view's last change reach the kernel, the kernel finish with it, the view draw.

    The pause outlasts the alpha slider's throttle (150 ms), so its trailing message has left;
    two animation frames let the view paint what the kernel sent back.
    """
    page.wait_for_timeout(300)
    wait_for_kernel_idle(page)
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")


# Reads a canvas back at the centre of each source pixel: the view enlarges the model's input
# with nearest-neighbour sampling, so these are exactly the RGBA values it blended.
_SAMPLE_CANVAS = """([canvas, width, height]) => {
    const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    const out = new Uint8Array(width * height * 4);
    for (let y = 0; y < height; y++) {
        const cy = Math.floor((y + 0.5) * canvas.height / height);
        for (let x = 0; x < width; x++) {
            const cx = Math.floor((x + 0.5) * canvas.width / width);
            out.set(data.subarray((cy * canvas.width + cx) * 4, (cy * canvas.width + cx) * 4 + 4),
                    (y * width + x) * 4);
        }
    }
    let text = "";
    for (let i = 0; i < out.length; i += 0x8000) {
        text += String.fromCharCode(...out.subarray(i, i + 0x8000));
    }
    return btoa(text);
}"""


def canvas_pixels(page: Page, selector: str, width: int, height: int) -> np.ndarray:
    """The (height, width, 4) RGBA image drawn on the canvas ``selector``, at source size."""
    handle = page.locator(selector).element_handle()
    encoded = page.evaluate(_SAMPLE_CANVAS, [handle, width, height])
    return np.frombuffer(base64.b64decode(encoded), dtype=np.uint8).reshape(height, width, 4)
