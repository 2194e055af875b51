"""static/head_viewer.js in headless chromium (Debian's, through Playwright): the GLB head's 52 morph targets
set from weights, a sequence in sync with <audio>, a live stream, and the browser's (fake) microphone through
the live server's /audio; plus the committed three.js bundle against the pinned npm packages."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from io import BytesIO
from pathlib import Path

import numpy as np
import pytest

from head.arkit import BLENDSHAPE_NAMES

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ESBUILD = REPO / "tests/js/node_modules/.bin/esbuild"
TIMEOUT_MS = 30_000


def test_the_committed_three_bundle_is_the_pinned_one(tmp_path):
    """static/vendor/three.min.js is what `make vendor` builds from tests/js's pinned three.js."""
    if not ESBUILD.exists():
        pytest.skip("tests/js/node_modules is not installed (make node-tools)")
    out = tmp_path / "three.min.js"
    subprocess.run([str(ESBUILD), "static/vendor/three-entry.js", "--bundle", "--minify", "--format=esm",
                    "--legal-comments=eof", "--log-level=warning", f"--outfile={out}"], cwd=REPO, check=True,
                   env={**os.environ, "NODE_PATH": str(REPO / "tests/js/node_modules")})
    assert out.read_bytes() == (REPO / "static/vendor/three.min.js").read_bytes(), "run `make vendor`"
    assert "SPDX-License-Identifier: MIT" in out.read_text()


@pytest.fixture(scope="module")
def speech(tmp_path_factory) -> Path:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (packages.txt)")
    path = tmp_path_factory.mktemp("viewer") / "speech.wav"
    subprocess.run(["espeak-ng", "-w", str(path), "Hello there, I am so glad to see you."], check=True)
    return path


@pytest.fixture(scope="module")
def site(speech):
    """The live server (the sentence again and again on /; /audio; the viewer page; the head GLB) on loopback."""
    from expclip.animation import load_animator
    from expclip.live import create_app, file_source, running
    from render.gltf import glb_bytes

    from head.simplify import simplified_rig

    rest = np.zeros(len(BLENDSHAPE_NAMES), np.float32)
    app = create_app(load_animator(), file_source(speech, loop=True), glb=glb_bytes(rest),
                     glb_light=lambda: glb_bytes(rest, rig=simplified_rig()))
    with running(app) as url:
        yield url


@pytest.fixture(scope="module")
def browser(speech):
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install chromium; `make test` does it as root)")
    sync_api = pytest.importorskip("playwright.sync_api")
    args = ["--no-sandbox", "--disable-dev-shm-usage", "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
            "--autoplay-policy=no-user-gesture-required", "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream", f"--use-file-for-fake-audio-capture={speech}"]
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def open_viewer(browser, site):
    contexts = []

    def open_(query: str = ""):
        context = browser.new_context(viewport={"width": 700, "height": 760})
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{site}/static/viewer.html?glb=/head.glb{query}")
        page.wait_for_selector("body[data-ready=true]")
        assert not errors, errors
        return page

    yield open_
    for context in contexts:
        context.close()


def canvas(page) -> np.ndarray:
    from PIL import Image

    data = page.evaluate("viewer.renderer.domElement.toDataURL('image/png')")
    return np.asarray(Image.open(BytesIO(base64.b64decode(data.split(",", 1)[1]))).convert("RGB"), np.int16)


def next_frames(page, count: int = 3) -> None:
    """Wait for ``count`` animation frames of the page."""
    page.evaluate("""(count) => new Promise((resolve) => {
        const step = () => (--count > 0 ? requestAnimationFrame(step) : resolve());
        requestAnimationFrame(step);
    })""", count)


def test_weights_move_the_morph_targets(open_viewer):
    page = open_viewer()
    assert page.evaluate("viewer.names") == list(BLENDSHAPE_NAMES)
    assert page.evaluate("viewer.meshes.length") >= 1
    next_frames(page)
    neutral = canvas(page)
    assert (np.abs(neutral - neutral[2, 2]).sum(-1) > 30).mean() > 0.05  # a head is drawn on the background
    page.evaluate("viewer.setWeights({jawOpen: 0.8, mouthSmileLeft: 1.5})")
    next_frames(page)
    influences = page.evaluate("viewer.weights()")
    assert influences["jawOpen"] == pytest.approx(0.8) and influences["mouthSmileLeft"] == 1.0  # clipped
    assert page.evaluate("viewer.meshes.every(m => m.morphTargetInfluences[m.morphTargetDictionary.jawOpen] > 0.79)")
    assert (np.abs(canvas(page) - neutral).sum(-1) > 30).sum() > 500  # and the face on screen changes
    page.evaluate(f"viewer.setWeights({json.dumps([0.25] * 52)})")
    assert set(page.evaluate("viewer.weights()").values()) == {0.25}


def test_the_vertices_are_the_glb_targets_blended_on_the_cpu(open_viewer):
    """The viewer blends the targets itself (three.js's shader has none left): rest + Σ weight × target; on
    SwiftShader it has loaded the lighter head (head/simplify.py)."""
    from head.simplify import simplified_rig
    from render.gltf import METRES_PER_RIG_UNIT, MIN_OFFSET_CM, primitive_vertex_ids

    page = open_viewer()
    assert page.evaluate("viewer.url").endswith("/head.glb?detail=light")
    assert page.evaluate("viewer.meshes.every(m => Object.keys(m.geometry.morphAttributes).length === 0)")
    rig = simplified_rig()
    ids = primitive_vertex_ids(rig)[0]
    weights = {"jawOpen": 0.8, "mouthSmileLeft": 0.5}
    page.evaluate(f"viewer.setWeights({json.dumps(weights)})")
    next_frames(page)
    drawn = np.array(page.evaluate("Array.from(viewer.meshes[0].geometry.attributes.position.array)")).reshape(-1, 3)
    expected = rig.neutral[ids] + sum(w * rig.deltas[BLENDSHAPE_NAMES.index(n), ids] for n, w in weights.items())
    np.testing.assert_allclose(drawn, expected * METRES_PER_RIG_UNIT, atol=2 * MIN_OFFSET_CM * METRES_PER_RIG_UNIT)
    page.evaluate("viewer.setWeights({jawOpen: 0, mouthSmileLeft: 0})")
    next_frames(page)
    rest = np.array(page.evaluate("Array.from(viewer.meshes[0].geometry.attributes.position.array)")).reshape(-1, 3)
    np.testing.assert_allclose(rest, rig.neutral[ids] * METRES_PER_RIG_UNIT, atol=1e-7)


def test_swiftshader_draws_without_antialiasing_at_half_resolution(open_viewer):
    page = open_viewer()
    assert page.evaluate("viewer.software") is True  # SwiftShader: WebGL on the CPU
    assert page.evaluate("viewer.renderer.getContext().getContextAttributes().antialias") is False
    assert page.evaluate("[viewer.renderer.domElement.width, viewer.container.clientWidth]") == [320, 640]


def test_a_sequence_plays_in_sync_with_its_audio(open_viewer, speech):
    page = open_viewer()
    frames = [[0.0] * 52 for _ in range(60)]
    jaw = BLENDSHAPE_NAMES.index("jawOpen")
    for k, frame in enumerate(frames):
        frame[jaw] = k / 59  # the jaw opens over 2 s, so its value tells the time
    source = "data:audio/wav;base64," + base64.b64encode(speech.read_bytes()).decode()
    page.evaluate("""([frames, source]) => new Promise((resolve) => {
        const audio = window.audio = new Audio(source);
        audio.addEventListener('canplaythrough', () => { viewer.play(frames, 30, audio); resolve(); }, {once: true});
    })""", [frames, source])
    page.wait_for_function("audio.currentTime > 0.8")
    playing = page.evaluate("[audio.currentTime, viewer.weights().jawOpen]")
    assert playing[1] == pytest.approx(min(playing[0] * 30 / 59, 1), abs=0.12)
    page.evaluate("audio.pause(); audio.currentTime = 0.5")  # pause and scrub
    page.wait_for_function("!audio.seeking && audio.paused")
    next_frames(page)
    assert page.evaluate("viewer.weights().jawOpen") == pytest.approx(15 / 59, abs=0.02)


def smile_of(page) -> float:
    return page.evaluate("(viewer.weights().mouthSmileLeft + viewer.weights().mouthSmileRight) / 2")


def record(page, seconds: float) -> dict:
    """jawOpen every 20 ms for ``seconds``, and how many frames the page drew meanwhile."""
    return page.evaluate("""(ms) => new Promise((resolve) => {
        const values = [], drawn = viewer.drawn;
        const timer = setInterval(() => values.push(viewer.weights().jawOpen), 20);
        setTimeout(() => { clearInterval(timer); resolve({jaw: values, drawn: viewer.drawn - drawn}); }, ms);
    })""", seconds * 1000)


def test_the_head_follows_the_live_stream_and_its_prompt(open_viewer):
    page = open_viewer("&ws=/")
    recorded = record(page, 2.0)
    assert page.evaluate("viewer.stream.frames") > 40  # ~30 a second
    assert np.std(recorded["jaw"]) > 0.03 and recorded["drawn"] > 0
    before = smile_of(page)
    page.fill("#prompt", "overjoyed")
    page.click("text=Set style")
    page.wait_for_function(f"(viewer.weights().mouthSmileLeft + viewer.weights().mouthSmileRight) / 2 > {before + 0.2}",
                           timeout=5000)


def test_live_frames_arriving_together_are_drawn_in_turn_and_late_ones_give_way(open_viewer):
    page = open_viewer("&ws=/")
    page.wait_for_function("viewer.stream.frames > 5")
    shown = page.evaluate("""() => new Promise((resolve) => {
        const stream = viewer.stream, shown = [];
        stream.socket.onmessage = null;  // only the frames made here from now on
        stream.queue.length = 0;
        stream.onFrame = (message) => shown.push(message.index);
        const frame = (index, waited) => ({type: "frame", index, weights: {jawOpen: index / 10},
                                           arrived: performance.now() - waited});
        viewer.lateMs = 60_000;  // however slowly this browser draws, nothing counts as late yet
        requestAnimationFrame(() => {
          stream.queue.push(frame(1, 0), frame(2, 0));  // two together: both drawn, one per drawn frame
          requestAnimationFrame(() => requestAnimationFrame(() => {
            viewer.lateMs = 20;
            stream.queue.push(frame(3, 50), frame(4, 0));  // 3 waited 50 ms and 4 is behind it: 3 gives way
            requestAnimationFrame(() => requestAnimationFrame(() => resolve(shown)));
          }));
        });
    })""")
    assert shown == [1, 2, 4]
    assert page.evaluate("viewer.weights().jawOpen") == pytest.approx(0.4)


def test_the_browser_microphone_drives_the_head(open_viewer):
    page = open_viewer("&mic=/audio")
    recorded = record(page, 3.0)
    stats = page.evaluate("live.stats")
    assert stats["frames"] > 60 and stats["sent"] > 40_000  # ~30 frames and 16 000 samples a second
    assert np.std(recorded["jaw"]) > 0.03  # the fake microphone plays the sentence: the mouth moves with it
    before = smile_of(page)
    page.evaluate("live.setPrompt('overjoyed')")
    page.wait_for_function(f"(viewer.weights().mouthSmileLeft + viewer.weights().mouthSmileRight) / 2 > {before + 0.2}",
                           timeout=5000)
    latencies = np.array(stats["latencies"])
    assert len(latencies) and latencies.min() >= 0
