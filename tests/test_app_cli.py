"""``python app.py`` as a user starts it: serves on the port it is given, answers, and on SIGTERM (here
while it is building its demo data) exits cleanly and removes its temporary folder."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("gradio")
from gradio_client import Client
from websockets.sync.client import connect

from head.correspondence import correspondence_path
from head.rig import default_rig_path

REPO = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(process: subprocess.Popen, port: int, log: Path, within_s: float = 180) -> str:
    """The URL of the ``app.py`` started as ``process`` once it serves (or a failure with its log's end)."""
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + within_s
    while True:
        assert process.poll() is None, log.read_text()[-2000:]
        try:
            with urllib.request.urlopen(url + "config", timeout=2):
                return url
        except OSError:
            assert time.monotonic() < deadline, f"app.py did not serve within {within_s:g} s"
            time.sleep(0.3)


def test_python_app_py_serves_and_cleans_up(tmp_path, rig) -> None:
    cache, temp = tmp_path / "cache", tmp_path / "tmp"
    cache.mkdir()
    temp.mkdir()
    for built in (default_rig_path(), correspondence_path()):  # the session's rig; demo data built here
        (cache / built.name).symlink_to(built)
    port = _free_port()
    env = {**os.environ, "EXPCLIP_CACHE": str(cache), "TMPDIR": str(temp), "PYOPENGL_PLATFORM": "egl",
           "GRADIO_EXAMPLES_CACHE": str(tmp_path / "examples")}
    log = (tmp_path / "app.log").open("w")
    process = subprocess.Popen([sys.executable, "app.py", "--port", str(port), "--no-cache-examples",
                                "--data", str(tmp_path / "no-data")], cwd=REPO, env=env, stdout=log,
                               stderr=subprocess.STDOUT)
    try:
        url = _serve(process, port, tmp_path / "app.log")
        deadline = time.monotonic() + 180
        front, *_ = Client(url, verbose=False, download_files=str(tmp_path / "client")).predict(
            "a proud, beaming smile", 1.0, "", 0.5, api_name="/text_to_expression")
        assert Path(front).stat().st_size > 1000
        with connect(url.replace("http", "ws") + "live/audio") as live:  # main() mounts the live routes
            assert json.loads(live.recv())["type"] == "hello"
        with urllib.request.urlopen(url + "live/static/app_viewer.js", timeout=30) as script:
            assert b"export function mount" in script.read()  # the 3D head's glue
        assert list(temp.glob("expclip-app-*"))  # its own temp folder, while it runs
        gallery = cache / "demo-data" / "mead3d-synthetic" / "images" / "test"
        while not (gallery.is_dir() and any(gallery.glob("*.jpg"))):  # stop it mid-build, inside MediaPipe
            assert time.monotonic() < deadline, "app.py did not start building its gallery within 180 s"
            time.sleep(0.2)
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=60)
        log.close()
    assert code == 0, (tmp_path / "app.log").read_text()[-2000:]
    assert not list(temp.glob("expclip-app-*"))  # removed at exit
