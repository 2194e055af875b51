"""The demo driven in a real headless browser: Debian's chromium through Playwright.

For each tab: type a prompt or click an example, upload a file where the tab takes one (a rendered
face PNG, an eSpeak NG WAV made here), wait for the output to appear, check that bad input shows a
message while the app stays up, and save a screenshot per tab (into the test's temp folder, or into
``$EXPCLIP_SCREENSHOTS`` when set). The app is the one ``tests/test_app.py`` launches: the released
ExpCLIP plus an untrained image projector and an untrained tiny generator, so it is fast.

The browser's camera and microphone are Chromium's fake devices fed from files made here: the camera
films the rendered smiling face (a Y4M video), the microphone hears the eSpeak NG sentence on a loop,
so the webcam and recording paths of the Image and Speech tabs run as a user would drive them.

Playwright's own browser download needs the internet, so the system chromium is used
(``packages-dev.txt`` names it; ``make test`` installs it). Without it the module is skipped.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import wave
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

pytest.importorskip("gradio")
sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (requirements-dev.txt)")

import test_app

# the launched app and its inputs, shared with the gradio_client tests (one instance per module)
files, served, monkeypatch_module = test_app.files, test_app.served, test_app.monkeypatch_module

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    pytest.skip("chromium is not installed (apt-get install chromium; `make test` does it as root)",
                allow_module_level=True)

TIMEOUT_MS = 60_000  # a generous ceiling on a busy 2-core machine; the outputs usually come in 1-5 s


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    folder = Path(os.environ.get("EXPCLIP_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def write_y4m(path: Path, rgb: np.ndarray, frames: int = 3) -> Path:
    """A still picture as a short YUV4MPEG2 (4:2:0, full-range BT.601) video, the format of Chromium's fake camera."""
    ycbcr = Image.fromarray(rgb).convert("YCbCr")  # JPEG's full-range BT.601, what C420jpeg means
    height, width = rgb.shape[:2]
    y, cb, cr = (np.asarray(plane if i == 0 else plane.resize((width // 2, height // 2), Image.BILINEAR))
                 for i, plane in enumerate(ycbcr.split()))
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F30:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            out.write(b"FRAME\n" + y.tobytes() + cb.tobytes() + cr.tobytes())
    return path


@pytest.fixture(scope="module")
def browser(files, tmp_path_factory):
    camera = write_y4m(tmp_path_factory.mktemp("camera") / "face.y4m",
                       np.asarray(Image.open(files["face"]).convert("RGB")))
    media = ["--use-fake-ui-for-media-stream",  # grant camera and microphone without asking
             "--use-fake-device-for-media-stream", f"--use-file-for-fake-video-capture={camera}",
             f"--use-file-for-fake-audio-capture={files['speech']}"]
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                              args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                                                    *media])
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture()
def page(browser, served):
    _, client = served
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto(client.src)
    page.get_by_role("tab").first.wait_for()
    yield page
    context.close()


def open_tab(page, name: str):
    page.get_by_role("tab", name=name, exact=True).click()
    panel = page.locator("[role=tabpanel]:visible")
    panel.first.wait_for()
    return panel


def field(panel, label: str):
    return panel.get_by_label(label, exact=True).first


def image_in(panel, label: str):
    """The ``<img>`` an image output shows (it appears when the output arrives)."""
    return panel.locator(f"[data-testid='image']:has-text('{label}') img, "
                         f"div.block:has(> label:has-text('{label}')) img, "
                         f"div.block:has([data-testid='block-label']:text-is('{label}')) img").first


def expect_error(page, text: str | re.Pattern, shot: Path | None = None) -> None:
    """An error toast with ``text`` appears (a screenshot of it is saved to ``shot``); then it is closed."""
    toast = page.locator("[data-testid='toast-body']").filter(has_text=text).first
    toast.wait_for()
    if shot is not None:
        page.screenshot(path=shot, full_page=True)
    close = toast.locator("[data-testid='toast-close']")
    if close.count():
        close.first.click()


def test_text_tab(page, shots) -> None:
    panel = open_tab(page, "Text → Expression")
    field(panel, "Prompt").fill("a proud, beaming smile")
    panel.get_by_role("button", name="Make the face").click()
    front = image_in(panel, "Front")
    front.wait_for()
    assert front.evaluate("img => img.complete && img.naturalWidth") == 512
    panel.get_by_text("Action Units").first.wait_for()
    page.screenshot(path=shots / "text.png", full_page=True)

    field(panel, "Prompt").fill("   ")
    panel.get_by_role("button", name="Make the face").click()
    expect_error(page, "Type a prompt first")

    panel.get_by_text("quietly furious", exact=True).first.click()  # an example fills the inputs
    sync_api.expect(field(panel, "Prompt")).to_have_value("quietly furious")
    panel.get_by_role("button", name="Make the face").click()
    page.get_by_text("quietly furious").last.wait_for()


def test_random_face_button_changes_the_head(page, shots) -> None:
    panel = open_tab(page, "Text → Expression")
    face = page.get_by_label("Face", exact=True).first
    sync_api.expect(face).to_have_value("0")  # the default head
    field(panel, "Prompt").fill("a proud, beaming smile")
    panel.get_by_role("button", name="Make the face").click()
    front = image_in(panel, "Front")
    front.wait_for()
    default = front.get_attribute("src")
    page.get_by_role("button", name="Random face").click()
    sync_api.expect(face).not_to_have_value("0")
    seed = int(face.input_value())
    panel.get_by_role("button", name="Make the face").click()
    sync_api.expect(front).not_to_have_attribute("src", default)
    with httpx.Client(timeout=30) as http:
        before, after = (np.asarray(Image.open(io.BytesIO(http.get(src).content)).convert("RGB")).astype(int)
                         for src in (default, front.get_attribute("src")))
    assert seed > 0 and np.abs(before - after).max() > 30  # the same expression on another face
    page.screenshot(path=shots / "random-face.png", full_page=True)


def bar_weight(panel, blendshape: str) -> float:
    """A blendshape's weight as the bar chart draws it (each bar's aria-label: 'blendshape: X; weight: W; ...')."""
    label = panel.locator(f"[aria-label^='blendshape: {blendshape};']").first.get_attribute("aria-label")
    return float(re.search(r"weight: ([-\d.e]+)", label).group(1))


def test_image_tab(page, files, shots) -> None:
    panel = open_tab(page, "Image → Expression")
    # a 50 MB photo (the limit is 25 MB): a message, and the page goes on working (the upload below)
    panel.locator("input[type=file]").first.set_input_files(str(files["huge"]))
    limit_mb = test_app.max_upload_bytes() / 2**20
    too_large = re.compile(rf"maximum allowed size of {limit_mb:g}(\.0)? ?mb.*huge\.jpg", re.IGNORECASE)
    expect_error(page, too_large, shot=shots / "image-too-large.png")
    panel.locator("input[type=file]").first.set_input_files(str(files["face"]))
    panel.get_by_label("fit", exact=True).check()
    panel.get_by_role("button", name="Read the expression").click()
    image_in(panel, "Face found (box and landmarks)").wait_for()
    panel.get_by_text("Method:").first.wait_for()
    page.screenshot(path=shots / "image.png", full_page=True)

    panel.get_by_role("button", name="Remove Image").first.click()
    panel.locator("input[type=file]").first.set_input_files(str(files["sky"]))
    panel.get_by_role("button", name="Read the expression").click()
    expect_error(page, "face")


def test_image_tab_webcam(page, shots) -> None:
    """The fake camera films the rendered smiling face; a snapshot of it is read like an uploaded photo."""
    panel = open_tab(page, "Image → Expression")
    panel.get_by_label("fit", exact=True).check()
    panel.get_by_role("button", name="Capture from camera").click()
    panel.get_by_role("button", name="Click to Access Webcam").click()
    panel.locator("[data-testid='webcam-video']").wait_for()
    panel.get_by_role("button", name="capture photo").click()
    photo = panel.locator("div.block:has([data-testid='block-label']:text-is('Face photo')) "
                          "img[src*='/gradio_api/file=']")
    photo.wait_for()  # the snapshot reached the server
    panel.get_by_role("button", name="Read the expression").click()
    image_in(panel, "Face found (box and landmarks)").wait_for()  # MediaPipe found the face in the frame
    panel.get_by_text("Method:").first.wait_for()
    panel.get_by_role("cell", name="image.json").wait_for()  # the downloads, named after the webcam snapshot
    smile = bar_weight(panel, "mouthSmileLeft") + bar_weight(panel, "mouthSmileRight")
    frown = bar_weight(panel, "mouthFrownLeft") + bar_weight(panel, "mouthFrownRight")
    assert smile > 0.5 and smile > 2 * frown, (smile, frown)
    page.screenshot(path=shots / "image-webcam.png", full_page=True)


def test_retrieval_tab(page, shots) -> None:
    panel = open_tab(page, "Text → Image retrieval")
    field(panel, "Look for").fill("a big happy smile")
    field(panel, "Gallery").click()  # the test's 3-face folder, not the 600-image synthetic set when it is built
    page.get_by_role("option", name="gallery", exact=True).click()
    sync_api.expect(field(panel, "Gallery")).to_have_value("gallery")
    panel.get_by_role("button", name="Search").click()
    panel.get_by_text("Indexed 3 faces").first.wait_for()
    assert panel.locator("img").count() >= 3
    page.screenshot(path=shots / "retrieval.png", full_page=True)

    field(panel, "Look for").fill("")
    panel.get_by_role("button", name="Search").click()
    expect_error(page, "expression to look for")


def test_speech_tab(page, files, shots) -> None:
    panel = open_tab(page, "Speech → Animation")
    panel.get_by_role("button", name="Animate").click()  # nothing uploaded yet
    expect_error(page, "speech first")

    panel.locator("input[type=file]").first.set_input_files(str(files["speech"]))
    field(panel, "Style prompt").fill("quietly furious")
    panel.get_by_role("button", name="Animate").click()
    panel.locator("video").first.wait_for()
    panel.get_by_text("fps").first.wait_for()
    page.screenshot(path=shots / "speech.png", full_page=True)


def spectrum(wav: bytes, top_hz: int = 4000, band_hz: int = 50) -> np.ndarray:
    """A WAV's long-term power spectrum in 50 Hz bands up to 4 kHz, unit length (sample rate and gain drop out)."""
    with wave.open(io.BytesIO(wav)) as sound:
        samples = np.frombuffer(sound.readframes(sound.getnframes()), "<i2").reshape(-1, sound.getnchannels())[:, 0]
        rate = sound.getframerate()
    power = np.abs(np.fft.rfft(samples.astype(np.float32))) ** 2
    band = np.minimum(np.fft.rfftfreq(len(samples), 1 / rate) // band_hz, top_hz // band_hz).astype(int)
    bands = np.bincount(band, power)[: top_hz // band_hz]
    return bands / np.linalg.norm(bands)


def test_speech_tab_microphone(page, files, shots) -> None:
    """Record about 2 s from the fake microphone (the eSpeak sentence) and animate the recording."""
    panel = open_tab(page, "Speech → Animation")
    panel.get_by_role("button", name="Record audio").click()
    panel.get_by_role("button", name="Record", exact=True).click()
    sync_api.expect(panel.locator(".timestamps time.duration").first).to_have_text(re.compile(r"0:0[2-4]"),
                                                                             timeout=TIMEOUT_MS)  # recorded 2 s
    panel.get_by_role("button", name="Stop", exact=True).first.click()
    recording = panel.locator("a[data-testid='download-link'][href$='.wav']").first
    recording.wait_for()  # the recording was uploaded
    heard = httpx.get(recording.get_attribute("href"), timeout=60).content
    # the file's sound, not the 400 Hz beep Chromium's fake microphone plays without one (cosine 0.98 vs 0.14)
    similarity = float(spectrum(heard) @ spectrum(files["speech"].read_bytes()))
    assert similarity > 0.8, f"the recording does not sound like {files['speech'].name} (cosine {similarity:.2f})"
    panel.get_by_role("button", name="Animate").click()
    panel.locator("video").first.wait_for()
    notes = panel.get_by_text(re.compile(r"s at [\d.]+ fps")).first
    notes.wait_for()
    seconds = float(re.search(r"([\d.]+) s at", notes.inner_text()).group(1))
    assert 1.5 <= seconds <= 5 and "silent" not in notes.inner_text(), notes.inner_text()
    page.screenshot(path=shots / "speech-microphone.png", full_page=True)


def click_map_point(page, panel, app, index: int) -> str:
    """Click point ``index`` of the expression map; returns the text that should fill the prompt box."""
    emap = app.manifold()
    x, y = emap.frame.to_pixels(emap.points)[index]
    image = image_in(panel, "Expression map")
    image.wait_for()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    natural = image.evaluate("img => img.naturalWidth")
    box = image.bounding_box()
    scale = box["width"] / natural
    page.mouse.click(box["x"] + x * scale, box["y"] + y * scale)
    return emap.texts[emap.pick(x, y)]


def test_manifold_tab(page, served, shots) -> None:
    app, _ = served
    panel = open_tab(page, "Expression manifold")
    field(panel, "To").fill("")  # first, while nothing runs (a click on a busy button is dropped)
    panel.get_by_role("button", name="Interpolate").click()
    expect_error(page, "two prompts")
    page.locator("[data-testid='toast-body']").first.wait_for(state="hidden")  # it would take the map's clicks
    sync_api.expect(panel.get_by_text("Error", exact=True)).to_have_count(2)  # on the strip and the video
    sync_api.expect(image_in(panel, "Expression map")).to_be_visible()  # the refusal leaves the map alone

    from_text = click_map_point(page, panel, app, 0)
    sync_api.expect(field(panel, "From")).to_have_value(from_text, timeout=TIMEOUT_MS)
    panel.get_by_text("Click a second point").first.wait_for()
    to_text = click_map_point(page, panel, app, len(app.manifold().points) - 1)
    sync_api.expect(field(panel, "To")).to_have_value(to_text, timeout=TIMEOUT_MS)
    sync_api.expect(field(panel, "From")).to_have_value(from_text, timeout=TIMEOUT_MS)
    panel.get_by_role("button", name="Interpolate").click()
    image_in(panel, "Interpolation strip").wait_for()
    panel.locator("video").first.wait_for()
    page.screenshot(path=shots / "manifold.png", full_page=True)

    panel.get_by_text("overjoyed", exact=True).first.click()  # the "sad → overjoyed" example
    sync_api.expect(field(panel, "To")).to_have_value("overjoyed")
    sync_api.expect(field(panel, "From")).to_have_value("sad")


def test_model_panel_and_app_still_up(page, shots) -> None:
    panel = open_tab(page, "Model")
    panel.get_by_text("expclip", exact=False).first.wait_for()
    page.screenshot(path=shots / "model.png", full_page=True)
    assert {p.name for p in shots.glob("*.png")} >= {"model.png"}
    panel = open_tab(page, "Text → Expression")  # after every refusal above, the app still answers
    field(panel, "Prompt").fill("joy")
    field(panel, "Prompt").press("Enter")
    image_in(panel, "Front").wait_for()
