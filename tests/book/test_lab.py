"""`make lab`: JupyterLab on notebooks/ with the project's environment, started as a reader would."""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "ltijepa-test-token"

pytestmark = pytest.mark.slow


def test_make_lab_runs_the_environments_jupyter_lab_on_notebooks():
    if shutil.which("make") is None:
        pytest.skip("no make")
    # Under `make test` the outer make's MAKEFLAGS would make this one print "Entering directory".
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    out = subprocess.run(
        ["make", "--no-print-directory", "-n", "lab"], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout
    assert ".venv/bin/jupyter lab" in out and out.rstrip().endswith("notebooks/")
    assert ("--allow-root" in out) == (os.geteuid() == 0), "Jupyter refuses to run as root without --allow-root"
    readme = (ROOT / "README.md").read_text()
    assert "make lab" in readme and 'profile = "ci"' in readme and "seed" in readme


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str):
    request = urllib.request.Request(url, headers={"Authorization": f"token {TOKEN}"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.status, response.read()


def test_jupyterlab_serves_the_chapters_with_a_kernel_that_imports_ltijepa(tmp_path):
    """What `make lab` starts (the environment's ``jupyter lab`` on notebooks/), on a local port."""
    port = _free_port()
    log = tmp_path / "lab.log"
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
           "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces")}
    with log.open("w") as err:
        server = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
             f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={TOKEN}",
             *(["--allow-root"] if os.geteuid() == 0 else []), str(ROOT / "notebooks")],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, body = _get(f"{base}/api/contents")
                break
            except (urllib.error.URLError, ConnectionError):
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not start in 60 s:\n{log.read_text()[-2000:]}")
                time.sleep(0.5)
        listed = {item["name"] for item in json.loads(body)["content"]}
        assert {p.name for p in (ROOT / "notebooks").glob("*.ipynb")} <= listed, "the lab opens on notebooks/"
        assert _get(f"{base}/lab")[0] == 200
        specs = json.loads(_get(f"{base}/api/kernelspecs")[1])
        assert specs["default"] == "python3"
        argv = specs["kernelspecs"]["python3"]["spec"]["argv"]
        python = sys.executable if argv[0] in ("python", "python3", "{python}") else argv[0]
        subprocess.run([python, "-c", "import ltijepa, jupyterlab"], check=True)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
