"""The demo on a fresh machine, started as ``make demo`` starts it: ``python app.py`` with its default flags,
a new home folder (so an empty user cache) and no ``data/``.

The app builds its rig, MediaPipe correspondence, TEAD and gallery into ``$HOME/.cache/expclip``, which is
neither the working directory nor the temp folder, so every file it serves from there must still reach
the client. Every endpoint is called (the optional arguments left out, as the UI's defaults fill them),
and the retrieval tab is used in chromium on the built-in gallery.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("gradio")
from gradio_client import Client, handle_file
from PIL import Image

from test_app_cli import REPO, _free_port, _serve

pytestmark = pytest.mark.skipif((REPO / "data").is_dir(), reason="this checkout has built data/, which a fresh "
                                "machine lacks")


@pytest.fixture(scope="module")
def fresh(tmp_path_factory, mirror):
    root = tmp_path_factory.mktemp("fresh")
    home, temp = root / "home", root / "tmp"
    home.mkdir()
    temp.mkdir()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("EXPCLIP_", "GRADIO_"))}
    env.update(HOME=str(home), TMPDIR=str(temp), PYOPENGL_PLATFORM="egl", EXPCLIP_ASSET_MIRROR=str(mirror))
    port = _free_port()
    log_path = root / "app.log"
    with log_path.open("w") as log:
        process = subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=REPO, env=env, stdout=log,
                                   stderr=subprocess.STDOUT)
        try:
            url = _serve(process, port, log_path, within_s=300)
            yield {"url": url, "home": home, "root": root,
                   "client": Client(url, verbose=False, download_files=str(root / "client"))}
        finally:
            process.send_signal(signal.SIGTERM)
            code = process.wait(timeout=60)
    assert code == 0, log_path.read_text()[-2000:]


def test_every_endpoint_answers_with_the_ui_defaults(fresh) -> None:
    client, root = fresh["client"], fresh["root"]
    front, side, *_ = client.predict("a proud, beaming smile", api_name="/text_to_expression")
    assert Image.open(front).size == (512, 512) and Image.open(side).size == (512, 512)
    annotated, head, *_ = client.predict(handle_file(front), api_name="/image_to_expression")
    assert Image.open(head).size == (512, 512)
    hits, summary = client.predict("a big happy smile", api_name="/retrieve")  # the built-in gallery
    assert len(hits) == 8 and "Indexed 96 faces" in summary, summary
    assert all(Path(hit["image"]).stat().st_size > 1000 for hit in hits), hits
    assert (fresh["home"] / ".cache" / "expclip" / "demo-data" / "mead3d-synthetic" / "meta.json").is_file()
    strip, video, expression_map = client.predict("calm", "furious", api_name="/interpolate")
    assert Image.open(strip).size[0] == 6 * 256 and Image.open(expression_map).size[0] > 300
    speech = root / "hello.wav"
    subprocess.run(["espeak-ng", "-w", str(speech), "Hello there, how are you today?"], check=True)
    video, downloads, notes = client.predict(handle_file(str(speech)), "quietly furious", api_name="/animate")
    assert {Path(f).suffix for f in downloads} == {".mp4", ".csv", ".json", ".glb"} and "fps" in notes


@pytest.mark.skipif(not (shutil.which("chromium") or shutil.which("chromium-browser")),
                    reason="chromium is not installed (apt-get install chromium; `make test` does it as root)")
def test_the_retrieval_tab_searches_the_built_in_gallery_in_a_browser(fresh) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    from test_app_browser import CHROMIUM, field, open_tab

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.set_default_timeout(180_000)  # the first search waits for the gallery built at the first start
            page.goto(fresh["url"])
            panel = open_tab(page, "Text → Image retrieval")
            sync_api.expect(field(panel, "Gallery")).to_have_value("MEAD-3D synthetic (test split)")
            field(panel, "Look for").fill("wide-eyed and gasping")
            panel.get_by_role("button", name="Search").click()
            panel.get_by_text("Indexed 96 faces").first.wait_for()
            thumbnails = panel.locator("[data-testid='gallery'] img, .gallery img, button img")
            sync_api.expect(thumbnails.first).to_be_visible()
            loaded = page.wait_for_function(
                "imgs => imgs.length >= 8 && imgs.every(img => img.complete && img.naturalWidth > 0)",
                arg=thumbnails.element_handles())
            assert loaded
            page.screenshot(path=fresh["root"] / "retrieval.png", full_page=True)
        finally:
            browser.close()
