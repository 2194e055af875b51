"""The demo through ``gradio_client``, as a user meets it: ``python app.py`` start-up to ready, text →
rendered face latency (also clicked in headless chromium when it and Playwright are installed), eight
concurrent users of the text tab, and a ~10 s speech clip → video.

    python -m benchmarks.bench_app
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from benchmarks.bench_expclip import REPO
from benchmarks.common import emitter

emit = emitter("app", digits=3)
SENTENCE = ("The weather report said it would rain all afternoon, so we packed our umbrellas and walked down to "
            "the harbour to watch the boats come in before dinner, and then we walked slowly home together.")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_ready(url: str, process: subprocess.Popen, limit_s: float = 180.0) -> float:
    start = time.perf_counter()
    while time.perf_counter() - start < limit_s:
        if process.poll() is not None:
            raise RuntimeError(f"app.py exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(url + "config", timeout=2) as answer:
                if answer.status == 200:
                    return time.perf_counter() - start
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("app.py was not ready in time")


def main() -> None:
    from gradio_client import Client, handle_file

    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    folder = Path(tempfile.mkdtemp(prefix="bench-app-"))
    env = {**os.environ, "PYOPENGL_PLATFORM": "egl", "GRADIO_EXAMPLES_CACHE": str(folder / "examples")}
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=REPO, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_ready(url, process)
        emit("start-up to ready (python app.py, examples cached at launch)", time.perf_counter() - start, "s")
        client = Client(url, verbose=False, download_files=str(folder / "client"))
        client.predict("warm-up", 1.0, "", 0.5, api_name="/text_to_expression")
        times = []
        for prompt in ("a proud, beaming smile", "quietly furious", "wide-eyed and gasping", "poker face", "smug"):
            begin = time.perf_counter()
            client.predict(prompt, 1.0, "", 0.5, api_name="/text_to_expression")
            times.append(time.perf_counter() - begin)
        emit("text -> rendered face (front + three-quarter, chart, downloads), median of 5, files fetched",
             sorted(times)[2], "s")
        answers = Client(url, verbose=False, download_files=False)  # the answer only, as the page first gets it
        times = []
        for prompt in ("a proud, beaming smile", "quietly furious", "wide-eyed and gasping", "poker face", "smug"):
            begin = time.perf_counter()
            answers.predict(prompt, 1.0, "", 0.5, api_name="/text_to_expression")
            times.append(time.perf_counter() - begin)
        emit("text -> rendered face, answer without fetching the files, median of 5", sorted(times)[2], "s")

        browser_latency = _browser_text_latency(url)
        if browser_latency is not None:
            emit("text -> rendered face in the browser (click to the front render shown), median of 5",
                 browser_latency[0], "s")
            emit("text -> both renders in the browser (front, then three-quarter), median of 5", browser_latency[1], "s")

        def one(i: int) -> float:
            begin = time.perf_counter()
            Client(url, verbose=False, download_files=False).predict(f"prompt number {i}", 1.0, "", 0.5, api_name="/text_to_expression")
            return time.perf_counter() - begin

        begin = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            answered = list(pool.map(one, range(8)))
        emit("8 concurrent text users, all answered", time.perf_counter() - begin, "s", answered=len(answered),
             slowest_s=round(max(answered), 3))

        if shutil.which("espeak-ng"):
            wav = folder / "speech.wav"
            subprocess.run(["espeak-ng", "-w", str(wav), SENTENCE], check=True, capture_output=True)
            begin = time.perf_counter()
            try:
                client.predict(handle_file(str(wav)), "quietly furious", None, 1.0, "", "", api_name="/animate")
                emit("speech clip -> video with sound + CSV/JSON/GLB", time.perf_counter() - begin, "s",
                     clip_s=round(_seconds(wav), 2))
            except Exception as error:  # noqa: BLE001 - e.g. no generator checkpoint on this machine
                emit("speech clip -> video (not available)", 0.0, "s", reason=str(error)[:200])
    finally:
        process.terminate()
        process.wait(timeout=30)
        shutil.rmtree(folder, ignore_errors=True)


_IMAGE_OF = ("(label) => { const block = [...document.querySelectorAll(\"[data-testid='block-label']\")]"
             ".find(l => l.textContent.trim() === label); const img = block && block.closest('div.block')"
             ".querySelector('img'); return img && img.complete && img.naturalWidth > 0 ? img.src : ''; }")


def _wait_for_new_image(page, label: str, previous: str, begin: float) -> str:
    """Poll until the image output called ``label`` shows a loaded picture other than ``previous``; its URL."""
    while (src := page.evaluate(_IMAGE_OF, label)) in ("", previous):
        if time.perf_counter() - begin > 60:
            raise RuntimeError(f"No new {label!r} image appeared in 60 s.")
        time.sleep(0.01)
    return src


def _browser_text_latency(url: str) -> tuple[float, float] | None:
    """Median seconds from clicking "Make the face" to the front render shown, and to both renders shown,
    in headless chromium (None without chromium or Playwright)."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    if chromium is None:
        return None
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True,
                                             args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.goto(url)
            prompt = page.get_by_label("Prompt", exact=True).first
            button = page.get_by_role("button", name="Make the face")
            fronts, boths, front, side = [], [], "", ""
            for text in ("a warm smile", "a proud, beaming smile", "quietly furious", "wide-eyed and gasping",
                         "poker face", "smug"):
                prompt.fill(text)
                begin = time.perf_counter()
                button.click()
                front = _wait_for_new_image(page, "Front", front, begin)
                fronts.append(time.perf_counter() - begin)
                side = _wait_for_new_image(page, "Three-quarter", side, begin)  # the event is over: click again
                boths.append(time.perf_counter() - begin)
            return sorted(fronts[1:])[2], sorted(boths[1:])[2]
        finally:
            browser.close()


def _seconds(wav: Path) -> float:
    import wave

    with wave.open(str(wav)) as f:
        return f.getnframes() / f.getframerate()


if __name__ == "__main__":
    main()
