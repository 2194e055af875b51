"""Small screenshots of each tab of the real demo (released checkpoints) for the README, made in headless chromium.

    python scripts/screenshots.py    # → docs/screenshots/{text,image,retrieval,speech,manifold,model}.jpg, speech.gif
    python scripts/screenshots.py --out /tmp/shots --raw /tmp/raw --checkpoint DIR --generator DIR --gallery FOLDER

It launches ``app.py``'s demo on a free loopback port, drives every tab with Playwright and Debian's
chromium (``apt-get install chromium``; ``pip install -r requirements-dev.txt``) and saves, per tab,
a picture of the tab's panel down to its examples table, downscaled to ``--width`` (900 px) and
written as JPEG (``--format webp`` or ``png`` also work; 20-90 KB each; ``--raw`` also keeps the
full-size PNGs and the speech mp4). The speech tab's animation (styled ``--speech-prompt``, its first ``--gif-seconds``)
becomes ``speech.gif``, 320 px wide at 12 fps, with imageio-ffmpeg's ffmpeg.

Every input is made by the project itself: the image tab reads the app's own rendered example face,
and the speech tab a sentence spoken by eSpeak NG (``espeak-ng``; without it the speech pictures are
skipped). No photo or recording from the asset mirror is used, so the pictures can be committed:
they are renders of the ICT-FaceKit head (© USC ICT, MIT licence) made by this project's code.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

TIMEOUT_MS = 120_000
SENTENCE = "We did it! I can hardly believe it, this is the best news all year."


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


def _image_in(panel, label: str):
    """The ``<img>`` an image output shows (it appears when the output arrives)."""
    return panel.locator(f"div.block:has(> label:has-text('{label}')) img, "
                         f"div.block:has([data-testid='block-label']:text-is('{label}')) img").first


def _loaded(image) -> None:
    image.wait_for()
    image.page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())


def _above_examples(panel) -> float | None:
    """How far down ``panel`` its *Examples* table starts (CSS px), or None without one: the pictures stop there."""
    examples = panel.get_by_text("Examples", exact=True)
    if not examples.count():
        return None
    top, start = panel.bounding_box(), examples.first.bounding_box()
    return start["y"] - top["y"] - 4 if top and start and start["y"] > top["y"] else None


def speak(path: Path, sentence: str = SENTENCE) -> Path | None:
    """``sentence`` spoken by eSpeak NG into ``path`` (a WAV), or None without espeak-ng."""
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        return None
    subprocess.run([espeak, "-s", "150", "-w", str(path), sentence], capture_output=True, check=True, timeout=60)
    return path if path.is_file() and path.stat().st_size > 1000 else None


def shrink(png: bytes, path: Path, width: int = 900, quality: int = 85, height: float | None = None) -> Path:
    """A screenshot cut to its top ``height`` px (all without), downscaled to ``width`` px (never enlarged) and
    saved by its suffix (.webp, .png, .jpg)."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    if height is not None and 0 < height < image.height:
        image = image.crop((0, 0, image.width, round(height)))
    if image.width > width:
        image = image.resize((width, round(image.height * width / image.width)), Image.LANCZOS)
    suffix = path.suffix.lower()
    if suffix == ".webp":
        image.save(path, "WEBP", quality=quality, method=6)
    elif suffix in (".jpg", ".jpeg"):
        image.save(path, "JPEG", quality=quality, optimize=True, progressive=True)
    else:
        image.quantize(256, method=Image.Quantize.MEDIANCUT).save(path, "PNG", optimize=True)
    return path


def to_gif(video: Path, path: Path, seconds: float = 4.0, width: int = 320, fps: int = 12) -> Path:
    """The first ``seconds`` of ``video`` as a looping GIF, ``width`` px wide at ``fps`` (one palette for the clip)."""
    from head.media import ffmpeg_exe

    graph = (f"fps={fps},scale={width}:-2:flags=lanczos,split[a][b];"
             "[a]palettegen=max_colors=128:stats_mode=full[p];[b][p]paletteuse=dither=sierra2_4a")
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-t", f"{seconds:g}", "-i", str(video),
                    "-filter_complex", graph, "-loop", "0", str(path)], check=True, timeout=300)
    return path


def shoot(url: str, app, out: Path, chromium: str, work: Path, *, width: int, suffix: str,
          gif_seconds: float, speech_prompt: str, raw: Path | None = None) -> list[Path]:
    from playwright.sync_api import sync_playwright

    saved: list[Path] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True,
                                             args=["--no-sandbox", "--disable-dev-shm-usage", "--use-angle=swiftshader",
                                                   "--enable-unsafe-swiftshader"])  # WebGL for the 3D views
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(url)
        page.get_by_role("tab").first.wait_for()

        def save(name: str, panel) -> None:
            page.wait_for_timeout(800)  # let images and charts finish painting
            toasts = page.locator("[data-testid='toast-body']")
            if toasts.count():
                print(f"warning: {name}: the page shows a message: {toasts.first.inner_text()!r}", flush=True)
            png = panel.first.screenshot(animations="disabled")
            if raw is not None:
                (raw / f"{name}.png").write_bytes(png)
            path = shrink(png, out / f"{name}{suffix}", width, height=_above_examples(panel.first))
            saved.append(path)
            print(f"saved {path} ({path.stat().st_size // 1024} KB)", flush=True)

        panel = _panel(page, "Text → Expression")
        _field(panel, "Prompt").fill("a proud, beaming smile")
        panel.get_by_role("button", name="Make the face").click()
        _loaded(_image_in(panel, "Front"))
        _loaded(_image_in(panel, "Three-quarter"))
        panel.get_by_text("Action Units").first.wait_for()
        save("text", panel)

        panel = _panel(page, "Image → Expression")
        panel.locator("input[type=file]").first.set_input_files(str(app.examples["face"]))  # the app's own render
        panel.get_by_role("button", name="Read the expression").click()
        _loaded(_image_in(panel, "Face found (box and landmarks)"))
        panel.get_by_text("Method:").first.wait_for()
        save("image", panel)

        panel = _panel(page, "Text → Image retrieval")
        if app.retrieval_problem() is None:
            _field(panel, "Look for").fill("wide-eyed and gasping")
            panel.get_by_role("button", name="Search").click()
            panel.get_by_text("Indexed").first.wait_for()
            _loaded(panel.locator("[data-testid='gallery'] img, .gallery img, button img").first)
        save("retrieval", panel)  # without P_img or a gallery the tab shows why

        panel = _panel(page, "Speech → Animation")
        speech = speak(work / "speech.wav") if app.animator is not None else None
        if speech is None:
            print("speech tab: no animator or no espeak-ng; its pictures are skipped", flush=True)
        else:
            panel.locator("input[type=file]").first.set_input_files(str(speech))
            _field(panel, "Style prompt").fill(speech_prompt)
            panel.get_by_role("button", name="Animate").click()
            video = panel.locator("video").first
            video.wait_for()
            panel.get_by_text("fps").first.wait_for()
            page.wait_for_function("v => v.readyState >= 2", arg=video.element_handle())  # a frame to show
            save("speech", panel)
            mp4 = work / "speech.mp4"
            mp4.write_bytes(page.request.get(video.get_attribute("src")).body())
            if raw is not None:
                shutil.copy(mp4, raw / "speech.mp4")
            gif = to_gif(mp4, out / "speech.gif", gif_seconds)
            saved.append(gif)
            print(f"saved {gif} ({gif.stat().st_size // 1024} KB)", flush=True)

        panel = _panel(page, "Expression manifold")
        panel.get_by_role("button", name="Interpolate").click()
        panel.locator("video").first.wait_for()
        _loaded(_image_in(panel, "Interpolation strip"))
        save("manifold", panel)

        panel = _panel(page, "Model")
        save("model", panel)
        browser.close()
    return saved


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    parser.add_argument("--raw", type=Path, help="also keep the full-size PNG screenshots and the speech mp4 here")
    parser.add_argument("--width", type=int, default=900, help="width of the pictures in px")
    parser.add_argument("--format", choices=["jpg", "webp", "png"], default="jpg")
    parser.add_argument("--gif-seconds", type=float, default=4.0, help="length of the animated preview")
    parser.add_argument("--speech-prompt", default="overjoyed", help="style prompt of the speech tab's animation")
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
    import app_viewer

    started = time.perf_counter()
    app = demo_app.DemoApp(args.checkpoint, args.generator, args.gallery)
    demo = demo_app.build_demo(app, cache_examples=False)
    port = _free_port()
    app_viewer.launch(demo.queue(default_concurrency_limit=2), server_name="127.0.0.1", server_port=port,
                      prevent_thread_lock=True, quiet=True)  # with the 3D views' routes (/live/...)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.raw is not None:
        args.raw.mkdir(parents=True, exist_ok=True)
    try:
        app.manifold(timeout=300)  # the map is built in the background; wait so that its screenshot shows it
    except Exception as error:  # noqa: BLE001 - the screenshot then shows the app's own message
        print(f"expression map not ready: {error}", flush=True)
    try:
        with tempfile.TemporaryDirectory(prefix="expclip-shots-") as work:
            saved = shoot(f"http://127.0.0.1:{port}/", app, args.out, chromium, Path(work), width=args.width,
                          suffix=f".{args.format}", gif_seconds=args.gif_seconds,
                          speech_prompt=args.speech_prompt, raw=args.raw)
    finally:
        demo.close()
        app.close()
    total = sum(path.stat().st_size for path in saved)
    print(f"{len(saved)} pictures in {args.out}, {total / 1024:.0f} KB in all ({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
