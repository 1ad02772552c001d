"""Drive headless Chromium through the DevTools protocol: open a page, watch its requests.

Used by the browser test of the built book. Needs Debian's ``chromium`` and the
``websocket-client`` package (in the lock, through Jupyter).
"""

from __future__ import annotations

import base64
import contextlib
import functools
import itertools
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.request
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import websocket

__all__ = ["find_chromium", "Browser", "serve"]

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--remote-allow-origins=*",
]


def find_chromium() -> str | None:
    """The chromium executable, or None."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


@contextlib.contextmanager
def serve(directory: Path):
    """Serve ``directory`` over HTTP on 127.0.0.1 (as GitHub Pages serves the book); yields its
    base URL. A browser follows a ``download`` link only on a page served from an origin, not
    on a file:// page."""

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(directory)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class Browser:
    """One headless Chromium with one page; records every network request the page makes."""

    def __init__(self, executable: str, *, width: int = 1280, height: int = 2000):
        self._width, self._height, self._mobile = width, height, False
        self._profile = tempfile.mkdtemp(prefix="ltijepa-chromium-")
        self._process = subprocess.Popen(
            [executable, *FLAGS, f"--user-data-dir={self._profile}", "--remote-debugging-port=0",
             f"--window-size={width},{height}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        port = self._wait_for_port()
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json"))
        page = next(t for t in targets if t["type"] == "page")
        self._socket = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=30)
        self._ids = itertools.count(1)
        self.requests: list[str] = []
        self.send("Network.enable")
        self.send("Page.enable")

    def _wait_for_port(self) -> int:
        port_file = Path(self._profile) / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if port_file.is_file() and port_file.read_text().strip():
                return int(port_file.read_text().split()[0])
            time.sleep(0.1)
        raise RuntimeError("chromium did not open its DevTools port within 30 s")

    def send(self, method: str, **params):
        """Send a DevTools command and return its result, recording requests seen meanwhile."""
        message_id = next(self._ids)
        self._socket.send(json.dumps({"id": message_id, "method": method, "params": params}))
        while True:
            message = json.loads(self._socket.recv())
            if message.get("method") == "Network.requestWillBeSent":
                self.requests.append(message["params"]["request"]["url"])
            if message.get("id") == message_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def open(self, url: str, *, settle: float = 3.0) -> None:
        """Navigate to ``url`` and wait until the document is complete and ``settle`` s passed."""
        self.send("Page.navigate", url=url)
        deadline = time.monotonic() + 60
        while self.evaluate("document.readyState") != "complete":
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not finish loading in 60 s")
            time.sleep(0.2)
        end = time.monotonic() + settle
        while time.monotonic() < end:
            self.evaluate("1")  # keeps draining request events
            time.sleep(0.2)

    def evaluate(self, expression: str):
        """The JSON value of a JavaScript expression in the page."""
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression!r} raised {result['exceptionDetails']}")
        return result["result"].get("value")

    def resize(self, width: int, *, mobile: bool = False) -> None:
        """Lay pages out for a window ``width`` px wide (a phone's when ``mobile``)."""
        self._width, self._mobile = width, mobile
        self.send("Emulation.setDeviceMetricsOverride", width=width, height=self._height, deviceScaleFactor=1, mobile=mobile)

    def download(self, selector: str, folder: Path, *, timeout: float = 30) -> Path:
        """Click the link ``selector`` (a CSS selector) of the open page and return the file the
        browser saved into ``folder`` (which must be empty)."""
        folder.mkdir(parents=True, exist_ok=True)
        self.send("Browser.setDownloadBehavior", behavior="allow", downloadPath=str(folder))
        self.evaluate(f"document.querySelector({json.dumps(selector)}).click()")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            done = [p for p in folder.iterdir() if not p.name.endswith(".crdownload")]
            if done:
                return done[0]
            time.sleep(0.2)
        raise RuntimeError(f"clicking {selector} saved nothing in {timeout} s")

    def screenshot(self, path: Path, *, clip: str | None = None) -> Path:
        """Save a PNG of the whole page, or of the element ``clip`` (a CSS selector), at the
        current width (the viewport is resized to the page for the capture)."""
        height = int(self.evaluate("document.documentElement.scrollHeight"))
        self.send("Emulation.setDeviceMetricsOverride", width=self._width, height=height,
                  deviceScaleFactor=1, mobile=self._mobile)
        params = {}
        if clip is not None:
            box = self.evaluate(
                f"(() => {{ const r = document.querySelector({json.dumps(clip)}).getBoundingClientRect();"
                " return {x: r.x + scrollX, y: r.y + scrollY, width: r.width, height: r.height}; })()"
            )
            params["clip"] = {**box, "scale": 1}
        try:
            data = self.send("Page.captureScreenshot", format="png", **params)["data"]
        finally:
            self.resize(self._width, mobile=self._mobile)
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        try:
            self._socket.close()
        finally:
            self._process.terminate()
            self._process.wait(timeout=10)
            shutil.rmtree(self._profile, ignore_errors=True)

    def __enter__(self) -> "Browser":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def require_browser() -> bool:
    """True when the tests must fail rather than skip without chromium (set in CI)."""
    return os.environ.get("LTIJEPA_REQUIRE_BROWSER") == "1"
