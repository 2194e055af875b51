"""Screenshots of each tab of the real demo (released checkpoints) for the README, made in headless chromium.

    python scripts/screenshots.py                       # → docs/screenshots/{text,image,retrieval,speech,manifold,model}.png
    python scripts/screenshots.py --out /tmp/shots --checkpoint DIR --generator DIR --gallery FOLDER

It launches ``app.py``'s demo on a free loopback port, drives every tab from its examples with
Playwright and Debian's chromium (``apt-get install chromium``; ``pip install -r requirements-dev.txt``),
and saves one full-page PNG per tab. The pictures show the ICT-FaceKit head, which the project
never commits (files derived from the asset mirror stay out of git), so they are made locally.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import sys
import time
from pathlib import Path

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

TIMEOUT_MS = 120_000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _panel(page, tab: str):
    page.get_by_role("tab", name=tab, exact=True).click()
    panel = page.locator("[role=tabpanel]:visible")
    panel.first.wait_for()
    return panel


def _field(panel, label: str):
    return panel.get_by_label(label, exact=True).first


def shoot(url: str, app, out: Path, chromium: str) -> list[Path]:
    from playwright.sync_api import sync_playwright

    saved: list[Path] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True,
                                             args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(url)
        page.get_by_role("tab").first.wait_for()

        def save(name: str) -> None:
            page.wait_for_timeout(500)  # let images finish painting
            path = out / f"{name}.png"
            page.screenshot(path=path, full_page=True)
            saved.append(path)
            print(f"saved {path}", flush=True)

        panel = _panel(page, "Text → Expression")
        _field(panel, "Prompt").fill("a proud, beaming smile")
        panel.get_by_role("button", name="Make the face").click()
        panel.get_by_text("Action Units").first.wait_for()
        save("text")

        panel = _panel(page, "Image → Expression")
        panel.locator("input[type=file]").first.set_input_files(str(app.examples["face"]))
        panel.get_by_role("button", name="Read the expression").click()
        panel.get_by_text("Method:").first.wait_for()
        save("image")

        panel = _panel(page, "Text → Image retrieval")
        if app.retrieval_problem() is None:
            _field(panel, "Look for").fill("wide-eyed and gasping")
            panel.get_by_role("button", name="Search").click()
            panel.get_by_text("Indexed").first.wait_for()
        save("retrieval")  # without P_img or a gallery the tab shows why

        panel = _panel(page, "Speech → Animation")
        if app.animator is not None and app.examples["speech"] is not None:
            panel.locator("input[type=file]").first.set_input_files(str(app.examples["speech"]))
            _field(panel, "Style prompt").fill("quietly furious")
            panel.get_by_role("button", name="Animate").click()
            panel.get_by_text("fps").first.wait_for()
        save("speech")

        panel = _panel(page, "Expression manifold")
        panel.get_by_role("button", name="Interpolate").click()
        panel.locator("video").first.wait_for()
        save("manifold")

        _panel(page, "Model")
        save("model")
        browser.close()
    return saved


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    parser.add_argument("--checkpoint", help="ExpCLIP checkpoint (default: the released one)")
    parser.add_argument("--generator", help="speech generator checkpoint (default: the released one)")
    parser.add_argument("--gallery", action="append", default=[], help="a folder of face photos for retrieval")
    args = parser.parse_args(argv)
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("chromium is not installed; install it with `apt-get install chromium`.")
    try:
        import playwright  # noqa: F401
    except ImportError:
        raise SystemExit("Playwright is not installed; `pip install -r requirements-dev.txt`.") from None
    import app as demo_app

    started = time.perf_counter()
    app = demo_app.DemoApp(args.checkpoint, args.generator, args.gallery)
    demo = demo_app.build_demo(app, cache_examples=False)
    port = _free_port()
    demo.queue(default_concurrency_limit=2).launch(server_name="127.0.0.1", server_port=port,
                                                   prevent_thread_lock=True, quiet=True)
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        app.manifold(timeout=300)  # the map is built in the background; wait so that its screenshot shows it
    except Exception as error:  # noqa: BLE001 - the screenshot then shows the app's own message
        print(f"expression map not ready: {error}", flush=True)
    try:
        saved = shoot(f"http://127.0.0.1:{port}/", app, args.out, chromium)
    finally:
        demo.close()
        app.close()
    print(f"{len(saved)} screenshots in {args.out} ({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
