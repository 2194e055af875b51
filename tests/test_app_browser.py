"""The demo driven in a real headless browser: Debian's chromium through Playwright.

For each tab: type a prompt or click an example, upload a file where the tab takes one (a rendered
face PNG, an eSpeak NG WAV made here), wait for the output to appear, check that bad input shows a
message while the app stays up, and save a screenshot per tab (into the test's temp folder, or into
``$EXPCLIP_SCREENSHOTS`` when set). The app is the one ``tests/test_app.py`` launches: the released
ExpCLIP plus an untrained image projector and an untrained tiny generator, so it is fast.

Playwright's own browser download needs the internet, so the system chromium is used
(``packages.txt`` names it; ``make test`` installs it). Without it the module is skipped.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

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


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                              args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
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


def expect_error(page, text: str) -> None:
    """An error toast with ``text`` appears; then it is closed."""
    toast = page.locator("[data-testid='toast-body']").filter(has_text=text).first
    toast.wait_for()
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


def test_image_tab(page, files, shots) -> None:
    panel = open_tab(page, "Image → Expression")
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


def test_manifold_tab(page, shots) -> None:
    panel = open_tab(page, "Expression manifold")
    panel.get_by_text("overjoyed", exact=True).first.click()  # the "sad → overjoyed" example
    sync_api.expect(field(panel, "To")).to_have_value("overjoyed")
    panel.get_by_role("button", name="Interpolate").click()
    image_in(panel, "Interpolation strip").wait_for()
    panel.locator("video").first.wait_for()
    page.screenshot(path=shots / "manifold.png", full_page=True)

    field(panel, "To").fill("")
    panel.get_by_role("button", name="Interpolate").click()
    expect_error(page, "two prompts")


def test_model_panel_and_app_still_up(page, shots) -> None:
    panel = open_tab(page, "Model")
    panel.get_by_text("expclip", exact=False).first.wait_for()
    page.screenshot(path=shots / "model.png", full_page=True)
    assert {p.name for p in shots.glob("*.png")} >= {"model.png"}
    panel = open_tab(page, "Text → Expression")  # after every refusal above, the app still answers
    field(panel, "Prompt").fill("joy")
    field(panel, "Prompt").press("Enter")
    image_in(panel, "Front").wait_for()
