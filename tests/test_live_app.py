"""The app's 3D head and Live tab in headless chromium (Debian's, through Playwright; WebGL on SwiftShader).

The app runs the released ExpCLIP and speech generator (so a prompt visibly changes the face) on a loopback
port with its ``/live`` routes (``app_viewer.launch``, as ``python app.py`` serves). The browser's fake
microphone plays an eSpeak NG sentence on a loop. Checked: the text and image tabs' 3D heads show exactly
the weights of their result (the text tab's on the chosen face's shape), the speech tab's head follows its
clip's sound (paused, scrubbed and playing), the Live tab's head moves with the voice and changes with the
prompt, a visitor who leaves releases their stream, and a blocked microphone, a browser without WebGL or a
dropped connection gets one sentence while the app goes on.
Frame rates and latencies are printed, not asserted (``benchmarks/bench_live.py`` measures them).
"""

from __future__ import annotations

import gc
import gzip
import json
import shutil
import subprocess
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

pytest.importorskip("gradio")
sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (requirements-dev.txt)")

import app as demo_app
import app_viewer
from demo_data import DemoData
from head.arkit import BLENDSHAPE_NAMES
from test_app_cli import _free_port

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    pytest.skip("chromium is not installed (apt-get install chromium; `make test` does it as root)",
                allow_module_level=True)
if shutil.which("espeak-ng") is None:
    pytest.skip("espeak-ng is not installed (packages.txt)", allow_module_level=True)

TIMEOUT_MS = 60_000
SENTENCE = "Hello there, I am so glad to see you today."
MODULE = "import('/live/static/app_viewer.js').then((m) => { window.m = m; })"  # the page's views, as window.m
CHROMIUM_ARGS = ["--no-sandbox", "--disable-dev-shm-usage", "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
                 "--autoplay-policy=no-user-gesture-required", "--use-fake-device-for-media-stream"]


@pytest.fixture(scope="module")
def speech(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("live-app") / "speech.wav"
    subprocess.run(["espeak-ng", "-w", str(path), SENTENCE], check=True, capture_output=True, timeout=30)
    return path


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The app with the released models on a free port; yields (DemoApp, URL)."""
    root = tmp_path_factory.mktemp("live-app-server")
    data = DemoData(data_root=root / "no-data", cache=root / "demo-data", tead_size=400, gallery_size=4)
    app = demo_app.DemoApp(work_dir=root / "work", index_dir=root / "indexes", data=data)
    demo = demo_app.build_demo(app, cache_examples=False)
    _, url, _ = app_viewer.launch(demo.queue(), server_name="127.0.0.1", server_port=_free_port(),
                                  prevent_thread_lock=True, quiet=True)
    try:
        yield app, url
    finally:
        demo.close()
        app.close()


def launch(playwright, speech: Path, *extra: str):
    """Chromium whose fake microphone plays ``speech`` (and is allowed, unless ``extra`` says otherwise)."""
    args = [*CHROMIUM_ARGS, f"--use-file-for-fake-audio-capture={speech}", *extra]
    if not any(arg.startswith("--use-fake-ui-for-media-stream") for arg in extra):
        args.append("--use-fake-ui-for-media-stream")
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)


@pytest.fixture(scope="module")
def playwright():
    with sync_api.sync_playwright() as running:
        yield running


@pytest.fixture(scope="module")
def browser(playwright, speech):
    chromium = launch(playwright, speech)
    try:
        yield chromium
    finally:
        chromium.close()


def open_app(browser, url: str):
    """A fresh visitor's page of the app, with the 3D views' module as ``window.m``."""
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url)
    page.get_by_role("tab").first.wait_for()
    page.evaluate(MODULE)
    page.errors = errors
    return page


@pytest.fixture()
def page(browser, served):
    page = open_app(browser, served[1])
    yield page
    assert not page.errors, page.errors
    page.context.close()


def open_tab(page, name: str, view: str):
    """Open tab ``name`` and wait until its 3D view ``view`` has loaded the head."""
    page.get_by_role("tab", name=name, exact=True).click()
    page.wait_for_function(f"m.views.{view}?.viewer?.names.length === 52 && m.views.{view}.loading")
    page.wait_for_function(f"m.views.{view}.note.textContent.startsWith('Drag')")  # loaded and on screen
    return page.locator("[role=tabpanel]:visible")


def shown(page, view: str) -> np.ndarray:
    """The 52 morph target influences of view ``view``, in canonical order."""
    weights = page.evaluate(f"m.views.{view}.viewer.weights()")
    return np.array([weights[name] for name in BLENDSHAPE_NAMES])


def as_drawn(weights: np.ndarray) -> np.ndarray:
    """What the viewer sets for ``weights``: clipped to [0, 1], and 0 below 0.005 (it moves nothing visible)."""
    weights = np.clip(weights, 0, 1)
    return np.where(weights < 0.005, 0, weights)


def next_frames(page, count: int = 2) -> None:
    page.evaluate("""(count) => new Promise((resolve) => {
        const step = () => (--count > 0 ? requestAnimationFrame(step) : resolve());
        requestAnimationFrame(step);
    })""", count)


def smile(page, view: str = "live") -> float:
    return page.evaluate(f"(({{mouthSmileLeft: l, mouthSmileRight: r}}) => (l + r) / 2)"
                         f"(m.views.{view}.viewer.weights())")


def test_the_routes_on_the_app_server(served) -> None:
    _, url = served
    with httpx.Client(base_url=url, timeout=60) as http:
        plain = http.get("live/head.glb")
        face = http.get("live/head.glb", params={"face": 7})
        assert plain.headers["content-encoding"] == "gzip" and plain.content[:4] == b"glTF"  # httpx unzips
        assert face.content[:4] == b"glTF" and face.content != plain.content
        refused = http.get("live/head.glb", params={"face": "../../etc/passwd"})
        assert refused.status_code == 400 and "not a seed" in refused.text
        light = http.get("live/head.glb", params={"detail": "light"})
        assert light.content[:4] == b"glTF" and len(light.content) < 0.5 * len(plain.content)
        unknown = http.get("live/head.glb", params={"detail": "ultra"})
        assert unknown.status_code == 400 and unknown.text == "The head's detail 'ultra' is not one of full, light."
        raw = http.get("live/head.glb", headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in raw.headers and raw.content == plain.content
        assert http.get("live/static/vendor/three.min.js").status_code == 200
    assert gzip.decompress(app_viewer.HeadFiles().gzipped(0)) == plain.content


def test_the_text_tab_shows_its_result_on_the_3d_head(page, served) -> None:
    app, _ = served
    panel = open_tab(page, "Text → Expression", "text")
    assert shown(page, "text").max() == 0  # the head at rest
    default_shape = page.evaluate("Array.from(m.views.text.viewer.meshes[0].geometry.attributes.position.array"
                                  ".slice(0, 300))")
    panel.get_by_label("Prompt", exact=True).first.fill("a proud, beaming smile")
    panel.get_by_role("button", name="Make the face").click()
    page.wait_for_function("Object.values(m.views.text.viewer.weights()).some((v) => v > 0)")
    expected = as_drawn(app.text.mix("a proud, beaming smile", "", 0.5, 1.0))
    np.testing.assert_allclose(shown(page, "text"), expected, atol=1e-5)  # the JSON's weights, rounded to 1e-6
    assert expected[BLENDSHAPE_NAMES.index("mouthSmileLeft")] > 0.3
    panel.locator("a[href$='.json']").first.wait_for()  # done (a click while it runs would be dropped)

    page.get_by_label("Face", exact=True).first.fill("7")  # another face: the view loads its shape
    panel.get_by_role("button", name="Make the face").click()
    page.wait_for_function("m.views.text.face === 7 && m.views.text.note.textContent.startsWith('Drag')")
    other_shape = page.evaluate("Array.from(m.views.text.viewer.meshes[0].geometry.attributes.position.array"
                                ".slice(0, 300))")
    assert np.abs(np.array(other_shape) - default_shape).max() > 1e-3
    np.testing.assert_allclose(shown(page, "text"), expected, atol=1e-5)  # the same expression on it


def test_the_image_tab_shows_the_photo_s_expression_on_the_3d_head(page, served) -> None:
    app, _ = served
    panel = open_tab(page, "Image → Expression", "image")
    photo = app.examples["face"]  # the app's own rendered smile
    panel.locator("input[type=file]").first.set_input_files(str(photo))
    panel.get_by_role("button", name="Read the expression").click()
    page.wait_for_function("Object.values(m.views.image.viewer.weights()).some((v) => v > 0)")
    expected = as_drawn(app.image.analyse(str(photo), method="auto").weights)
    np.testing.assert_allclose(shown(page, "image"), expected, atol=1e-5)


def test_the_speech_tab_plays_its_clip_in_3d_in_sync_with_the_sound(page, speech) -> None:
    panel = open_tab(page, "Speech → Animation", "speech")
    panel.locator("input[type=file]").first.set_input_files(str(speech))
    panel.get_by_label("Style prompt", exact=True).fill("quietly furious")
    panel.get_by_label("Transcript (optional)", exact=True).fill(SENTENCE)  # no Whisper: faster
    panel.get_by_role("button", name="Animate").click()
    page.wait_for_function("m.views.speech.viewer.sequence && m.views.speech.audio.currentTime > 0.3",
                           timeout=3 * TIMEOUT_MS)  # it plays on its own, with the MP4's sound
    link = panel.locator("a[href$='animation.json']").first.get_attribute("href")
    clip = httpx.get(link, timeout=60).json()
    frames = np.array([[frame[name] for name in BLENDSHAPE_NAMES] for frame in clip["frames"]])
    assert page.evaluate("m.views.speech.audio.src").endswith("animation.mp4")

    def at(seconds: float) -> np.ndarray:  # the clip's weights at an instant, as the viewer interpolates them
        position = min(seconds * clip["fps"], len(frames) - 1)
        low = int(position)
        high, share = min(low + 1, len(frames) - 1), position - low
        return as_drawn(frames[low] * (1 - share) + frames[high] * share)

    # playing: the weights drawn in an animation frame are those of the sound's time in that frame
    now, weights = page.evaluate("""() => new Promise((resolve) => requestAnimationFrame(() => resolve(
        [m.views.speech.audio.currentTime, m.views.speech.viewer.weights()])))""")
    assert np.abs(np.array([weights[n] for n in BLENDSHAPE_NAMES]) - at(now)).max() < 0.05, now
    scrubbed = {}
    for seconds in (0.6, 1.5):  # paused and scrubbed with the sound's own controls
        page.evaluate(f"m.views.speech.audio.pause(); m.views.speech.audio.currentTime = {seconds}")
        page.wait_for_function("!m.views.speech.audio.seeking && m.views.speech.audio.paused")
        next_frames(page)
        scrubbed[seconds] = shown(page, "speech")
        np.testing.assert_allclose(scrubbed[seconds], at(seconds), atol=1e-5)
    assert np.abs(scrubbed[0.6] - scrubbed[1.5]).max() > 0.05  # two instants, two faces: the check can fail


def live_animators() -> int:
    from expclip.streaming import LiveAnimator

    gc.collect()
    return sum(type(thing) is LiveAnimator for thing in gc.get_objects())  # isinstance wakes lazy modules


def record_jaw(page, seconds: float) -> dict:
    """jawOpen of the live view every 20 ms for ``seconds``, and the frames it received and drew meanwhile."""
    return page.evaluate("""(ms) => new Promise((resolve) => {
        const viewer = m.views.live.viewer, values = [], drawn = viewer.drawn, frames = m.liveStats().frames;
        const timer = setInterval(() => values.push(viewer.weights().jawOpen), 20);
        setTimeout(() => { clearInterval(timer);
            resolve({jaw: values, drawn: viewer.drawn - drawn, frames: m.liveStats().frames - frames}); }, ms);
    })""", seconds * 1000)


def test_the_live_tab_follows_the_microphone_the_prompt_and_a_photo(page, served) -> None:
    before = live_animators()
    panel = open_tab(page, "Live", "live")
    panel.get_by_label("Live style prompt", exact=True).fill("calm")
    panel.get_by_role("button", name="Start").click()
    page.wait_for_function("m.liveStats()?.frames > 30")
    assert page.evaluate("m.views.live.note.textContent").startswith("Live:")
    assert live_animators() == before + 1  # this visitor's own stream
    recorded = record_jaw(page, 2.0)
    assert np.std(recorded["jaw"]) > 0.03  # the mouth moves with the sentence the microphone plays
    calm = smile(page)
    prompt = panel.get_by_label("Live style prompt", exact=True)
    prompt.fill("overjoyed")
    prompt.press("Enter")  # while speaking
    page.wait_for_function(f"(({{mouthSmileLeft: l, mouthSmileRight: r}}) => (l + r) / 2)"
                           f"(m.views.live.viewer.weights()) > {calm + 0.2}", timeout=10_000)
    joyful = smile(page)
    prompt.fill("deeply sad")
    prompt.press("Enter")
    page.wait_for_function(f"(({{mouthSmileLeft: l, mouthSmileRight: r}}) => (l + r) / 2)"
                           f"(m.views.live.viewer.weights()) < {joyful - 0.2}", timeout=10_000)
    sad = smile(page)
    app, _ = served  # a photo as the style: the app's own rendered smile, read as the Image tab reads it
    panel.locator("input[type=file]").first.set_input_files(str(app.examples["face"]))
    page.wait_for_function(f"(({{mouthSmileLeft: l, mouthSmileRight: r}}) => (l + r) / 2)"
                           f"(m.views.live.viewer.weights()) > {sad + 0.2}", timeout=40_000)
    latencies = np.array(page.evaluate("m.liveStats().latencies"))
    print(f"\nlive tab in headless chromium: {recorded['frames'] / 2:.1f} frames/s received, "
          f"{recorded['drawn'] / 2:.1f} drawn/s; sound → face p50 {np.percentile(latencies, 50) * 1000:.0f} ms, "
          f"p90 {np.percentile(latencies, 90) * 1000:.0f} ms")
    panel.get_by_role("button", name="Stop").click()
    page.wait_for_function("m.liveStats() === null && m.views.live.note.textContent.startsWith('Stopped')")
    deadline = time.monotonic() + 10
    while live_animators() > before:  # stopping released the server's stream
        assert time.monotonic() < deadline, "the stream was not released after Stop"
        time.sleep(0.2)


def test_a_visitor_who_leaves_releases_their_stream(browser, served) -> None:
    before = live_animators()
    page = open_app(browser, served[1])
    open_tab(page, "Live", "live")
    page.get_by_role("button", name="Start").click()
    page.wait_for_function("m.liveStats()?.frames > 10")
    assert live_animators() == before + 1
    page.context.close()  # the tab closes without Stop
    deadline = time.monotonic() + 10
    while live_animators() > before:
        assert time.monotonic() < deadline, "the stream of a visitor who left was not released"
        time.sleep(0.2)


def test_a_dropped_connection_says_so_and_start_reconnects(page) -> None:
    open_tab(page, "Live", "live")
    page.get_by_role("button", name="Start").click()
    page.wait_for_function("m.liveStats()?.frames > 10")
    page.evaluate("m.views.live.viewer.stream.socket.close()")  # the connection ends without Stop
    page.wait_for_function("m.views.live.note.textContent.startsWith('The live stream closed')")
    page.get_by_role("button", name="Start").click()
    page.wait_for_function("m.liveStats()?.frames > 10")
    page.get_by_role("button", name="Stop").click()


def test_a_blocked_microphone_or_no_webgl_gets_one_sentence_and_the_app_goes_on(playwright, speech, served) -> None:
    _, url = served
    for flag, tab, view, sentence in (("--use-fake-ui-for-media-stream=deny", "Live", "live", "microphone is blocked"),
                                      ("--disable-webgl", "Text → Expression", "text", "cannot show the 3D head")):
        chromium = launch(playwright, speech, flag)
        try:
            page = open_app(chromium, url)
            page.get_by_role("tab", name=tab, exact=True).click()
            if view == "live":
                page.wait_for_function("m.views.live?.note.textContent.startsWith('Drag')")
                page.get_by_role("button", name="Start").click()
                assert page.evaluate("m.liveStats()") is None
            page.wait_for_function(f"m.views.{view}?.note.textContent.includes({json.dumps(sentence)})")
            page.get_by_role("tab", name="Text → Expression", exact=True).click()  # the rest of the app works
            panel = page.locator("[role=tabpanel]:visible")
            panel.get_by_label("Prompt", exact=True).first.fill("joy")
            panel.get_by_role("button", name="Make the face").click()
            panel.locator("a[href$='.json']").first.wait_for()
            assert not page.errors, page.errors
        finally:
            chromium.close()
