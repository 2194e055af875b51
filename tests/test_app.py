"""The demo launched on a loopback port and driven through ``gradio_client``: every named endpoint with
small inputs made here, and bad inputs answered with one sentence while the app stays up.

The app is started with two checkpoints made here, so that the tests do not depend on the released
ones: the released ExpCLIP plus an untrained ``P_img``, and an untrained tiny generator. They test
the plumbing, not the quality (tests/test_released_*.py test the released models).
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import wave
from pathlib import Path

import httpx
import numpy as np
import pytest
import torch
from PIL import Image

gr = pytest.importorskip("gradio")
from gradio_client import Client, handle_file

import app as demo_app
import app_viewer
from demo_data import DemoData
from head import arkit

RELEASED = Path(__file__).resolve().parents[1] / "checkpoints" / "expclip-small"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wav(path: Path, samples: np.ndarray, rate: int = 16_000) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def _speech(path: Path, text: str) -> Path:
    if shutil.which("espeak-ng"):
        subprocess.run(["espeak-ng", "-w", str(path), text], check=True, capture_output=True, timeout=30)
        return path
    t = np.arange(int(1.5 * 16_000)) / 16_000  # a voiced-like tone with a syllable rhythm
    return _wav(path, 0.3 * np.sin(2 * np.pi * 140 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 4 * t)))


def _checkpoints(root: Path) -> tuple[Path, Path]:
    """The released ExpCLIP with an untrained landmark projector, and an untrained tiny generator."""
    from expclip.checkpoint import load_model, read_config, save_checkpoint
    from expclip.generator import Generator, GeneratorConfig
    from head.landmarks import NUM_LANDMARKS
    from expclip.model import ExpCLIP, ExpCLIPConfig

    torch.manual_seed(0)
    released = load_model(RELEASED)
    config = ExpCLIPConfig(**{**released.config.to_dict(), "image_encoder": "landmarks",
                              "image_dim": NUM_LANDMARKS * 3})
    model = ExpCLIP(config)
    model.load_state_dict(released.state_dict(), strict=False)
    expclip_dir = save_checkpoint(root / "expclip", model, {}, read_config(RELEASED).get("training", {}))
    generator = Generator(GeneratorConfig(audio_encoder="logmel", audio_dim=240, width=32, heads=2, decoder_layers=1,
                                          max_distance=16, expression_encoder=config.to_dict()))
    generator.style_encoder.load_state_dict(model.expression_encoder.state_dict())
    return expclip_dir, save_checkpoint(root / "generator", generator, {})


@pytest.fixture(scope="module")
def files(tmp_path_factory, rig) -> dict[str, Path]:
    from render.renderer import render_still

    root = tmp_path_factory.mktemp("app")
    gallery = root / "gallery"
    gallery.mkdir()
    faces = {"smile": {"mouthSmileLeft": 1, "mouthSmileRight": 1}, "open": {"jawOpen": 0.8, "eyeWideLeft": 0.7,
             "eyeWideRight": 0.7}, "frown": {"browDownLeft": 1, "browDownRight": 1, "mouthFrownLeft": 0.8}}
    for name, weights in faces.items():
        Image.fromarray(render_still(arkit.from_dict(weights))).save(gallery / f"{name}.png")
    expclip_dir, generator_dir = _checkpoints(root)
    (root / "report.jpg").write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n")
    Image.new("RGB", (320, 240), (120, 160, 200)).save(root / "sky.png")
    (root / "corrupt.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt garbage that is not audio" * 4)
    with (root / "huge.jpg").open("wb") as huge:  # a 50 MB "photo", twice the upload limit (sparse: no disk used)
        huge.truncate(50 * 2**20)
    return {"root": root, "gallery": gallery, "face": gallery / "smile.png", "expclip": expclip_dir,
            "generator": generator_dir, "pdf": root / "report.jpg", "sky": root / "sky.png",
            "speech": _speech(root / "speech.wav", "Hello there."), "corrupt": root / "corrupt.wav",
            "silent": _wav(root / "silent.wav", np.zeros(16_000)), "huge": root / "huge.jpg",
            "long": _wav(root / "long.wav", 0.1 * np.sin(np.arange(6 * 16_000) * 0.05))}


@pytest.fixture(scope="module")
def served(files, tmp_path_factory, monkeypatch_module):
    monkeypatch_module.setenv("GRADIO_EXAMPLES_CACHE", str(tmp_path_factory.mktemp("examples-cache")))
    data = DemoData(data_root=files["root"] / "no-data", cache=files["root"] / "demo-data", tead_size=400,
                    gallery_size=4)  # built by the app in the background, as on a fresh machine
    app = demo_app.DemoApp(files["expclip"], files["generator"], [files["gallery"]], max_audio_seconds=5,
                           work_dir=files["root"] / "work", index_dir=files["root"] / "indexes", data=data)
    demo = demo_app.build_demo(app, cache_examples=False)
    port = _free_port()
    app_viewer.launch(demo.queue(default_concurrency_limit=2), server_name="127.0.0.1", server_port=port,
                      max_file_size=demo_app.DEFAULT_MAX_FILE_SIZE,  # as main() serves, with the /live routes
                      prevent_thread_lock=True, quiet=True)
    try:
        yield app, Client(f"http://127.0.0.1:{port}/", verbose=False, download_files=str(files["root"] / "client"))
    finally:
        demo.close()
        app.close()


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def _path(value) -> Path:
    return Path(value["video"] if isinstance(value, dict) and "video" in value else value)


def _refused(client: Client, endpoint: str, *args, match: str) -> str:
    with pytest.raises(Exception) as caught:
        client.predict(*args, api_name=endpoint)
    message = str(caught.value)
    assert match.lower() in message.lower(), message
    return message


def test_endpoints_are_named(served) -> None:
    _, client = served
    names = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    assert {"/text_to_expression", "/image_to_expression", "/retrieve", "/interpolate", "/animate"} <= names


def test_text_to_expression(served) -> None:
    _, client = served
    front, side, _bars, aus, data, downloads = client.predict("a proud, beaming smile", 1.0, "surprise", 0.3,
                                                              api_name="/text_to_expression")
    assert Image.open(front).size == (512, 512) and Image.open(side).size == (512, 512)
    assert set(data["blendshapes"]) == set(arkit.BLENDSHAPE_NAMES) and data["second_prompt"] == "surprise"
    assert "Action Units" in aus
    suffixes = sorted(Path(f).suffix for f in downloads)
    assert suffixes == [".csv", ".json", ".png"]
    saved = json.loads(Path(next(f for f in downloads if f.endswith(".json"))).read_text())
    assert saved["blendshapes"] == data["blendshapes"]
    _refused(client, "/text_to_expression", "   ", 1.0, "", 0.5, match="Type a prompt")


def test_image_to_expression(served, files) -> None:
    _, client = served
    annotated, head, _bars, notes, data, downloads = client.predict(
        handle_file(str(files["face"])), 1.0, "fit", api_name="/image_to_expression")
    assert Image.open(annotated).size == (512, 512) and Image.open(head).size == (512, 512)
    assert data["method"] == "fit" and data["source"] == "smile.png"
    smile = data["blendshapes"]["mouthSmileLeft"] + data["blendshapes"]["mouthSmileRight"]
    assert smile > 2 * (data["blendshapes"]["mouthFrownLeft"] + data["blendshapes"]["mouthFrownRight"])
    assert len(downloads) == 3 and "fit" in notes
    _refused(client, "/image_to_expression", handle_file(str(files["pdf"])), 1.0, "auto", match="not an image")
    _refused(client, "/image_to_expression", handle_file(str(files["sky"])), 1.0, "auto", match="face")


def test_the_face_control_changes_the_head_not_the_weights(served, files) -> None:
    from head.identity import sample_identity
    from render.renderer import render_still

    _, client = served
    plain, *_, data, _ = client.predict("a proud, beaming smile", api_name="/text_to_expression")
    other, side, _, _, other_data, downloads = client.predict("a proud, beaming smile", face=7,
                                                              api_name="/text_to_expression")
    assert other_data["blendshapes"] == data["blendshapes"] and "identity" not in data
    assert other_data["identity"]["seed"] == 7 and Path(side).exists() and len(downloads) == 3
    image = np.asarray(Image.open(other).convert("RGB")).astype(int)
    expected = render_still(arkit.from_dict(data["blendshapes"]), identity=sample_identity(7))
    assert np.abs(image - expected).max() <= 2  # the JSON's weights are rounded
    assert np.abs(image - np.asarray(Image.open(plain).convert("RGB")).astype(int)).max() > 30
    _, head, *_ = client.predict(handle_file(str(files["face"])), 1.0, "fit", 7, api_name="/image_to_expression")
    assert Image.open(head).size == (512, 512)
    _refused(client, "/text_to_expression", "joy", 1.0, "", 0.5, -1, match="less than minimum value 0")
    _refused(client, "/image_to_expression", handle_file(str(files["face"])), 1.0, "fit", 2.5,  # unprocessed
             match="not a seed; use a whole number")


def test_the_face_number_and_random_face_button_are_on_the_page(served) -> None:
    _, client = served
    components = {c["id"]: c for c in client.config["components"]}
    (face,) = [c for c in components.values() if c.get("props", {}).get("label") == "Face"]
    (button,) = [c for c in components.values() if c.get("props", {}).get("value") == "Random face"]
    assert face["type"] == "number" and face["props"]["value"] == 0 and "default head" in face["props"]["info"]
    rolls = [d for d in client.config["dependencies"] if any(t[0] == button["id"] for t in d["targets"])]
    assert len(rolls) == 1 and rolls[0]["outputs"] == [face["id"]]
    renders = [d for d in client.config["dependencies"] if d.get("api_name") in
               ("text_to_expression", "image_to_expression", "interpolate", "animate")]
    assert len(renders) == 4 and all(d["inputs"][-1] == face["id"] for d in renders)


def test_retrieve(served) -> None:
    app, client = served
    hits, summary = client.predict("a big happy smile", 2, "gallery", api_name="/retrieve")
    assert len(hits) == 2 and "Indexed 3 faces" in summary
    assert all(Path(h["image"]).exists() and h["caption"].startswith(f"#{i}") for i, h in enumerate(hits, 1))
    _refused(client, "/retrieve", "", 2, "gallery", match="expression to look for")
    image = app.image
    app.image = type(image)()  # a checkpoint without P_img: the tab says so instead of failing
    try:
        _refused(client, "/retrieve", "smile", 2, "gallery", match="image projector")
    finally:
        app.image = image


def test_interpolate(served) -> None:
    _, client = served
    strip, video, plot = client.predict("calm", "furious", 4, api_name="/interpolate")
    assert Image.open(strip).size == (4 * 256, 256)
    assert _path(video).stat().st_size > 1000
    assert Image.open(plot).size[0] > 400  # the map of the TEAD the app built for itself
    _refused(client, "/interpolate", "calm", "", 4, match="two prompts")


def test_retrieve_from_the_gallery_the_app_built(served) -> None:
    _, client = served
    hits, summary = client.predict("a big happy smile", 2, demo_app.SYNTHETIC_GALLERY, api_name="/retrieve")
    assert len(hits) == 2 and "Indexed" in summary


def test_picking_points_on_the_map(served) -> None:
    app, _ = served
    emap = app.manifold()
    pixels = emap.frame.to_pixels(emap.points)
    first = emap.pick(*pixels[3])
    assert np.allclose(pixels[first], pixels[3])  # the point under the click (or one drawn on top of it)
    with pytest.raises(ValueError, match="click on one of the coloured dots"):
        emap.pick(1.0, 1.0)  # the figure's corner, outside the axes


def test_animate_and_exports(served, files) -> None:
    _, client = served
    video, downloads, notes = client.predict(handle_file(str(files["speech"])), "quietly furious", None, 1.0, "", "",
                                             face=3, api_name="/animate")
    assert _path(video).stat().st_size > 1000 and "fps" in notes
    by_suffix = {Path(f).suffix: Path(f) for f in downloads}
    assert set(by_suffix) == {".mp4", ".csv", ".json", ".glb"}
    assert by_suffix[".csv"].read_text().startswith("Timecode,BlendShapeCount,")
    assert by_suffix[".glb"].read_bytes()[:4] == b"glTF"
    from test_gltf import read_glb

    assert read_glb(by_suffix[".glb"])[0]["meshes"][0]["extras"]["identity"]["seed"] == 3  # the chosen face
    frames = json.loads(by_suffix[".json"].read_text())["frames"]
    assert len(frames) > 10 and set(frames[0]) == set(arkit.BLENDSHAPE_NAMES)


def test_animate_side_by_side_and_timeline(served, files) -> None:
    _, client = served
    speech = handle_file(str(files["speech"]))
    video, downloads, _ = client.predict(speech, "", None, 1.0, "", "calm; furious", api_name="/animate")
    assert sum(f.endswith(".glb") for f in downloads) == 2 and _path(video).exists()
    video, downloads, _ = client.predict(speech, "", None, 1.0, "0: calm; 0.5: furious", "", api_name="/animate")
    assert _path(video).exists()
    _refused(client, "/animate", speech, "", None, 1.0, "calm then furious", "", match="seconds: prompt")


def test_bad_audio_is_refused_and_the_app_stays_up(served, files) -> None:
    _, client = served
    _refused(client, "/animate", handle_file(str(files["corrupt"])), "calm", None, 1.0, "", "", match="not")
    _refused(client, "/animate", handle_file(str(files["long"])), "calm", None, 1.0, "", "", match="5 s, the limit")
    _refused(client, "/animate", None, "calm", None, 1.0, "", "", match="speech first")
    _, _, notes = client.predict(handle_file(str(files["silent"])), "calm", None, 1.0, "", "", api_name="/animate")
    assert "silent" in notes
    front, *_ = client.predict("joy", 1.0, "", 0.5, api_name="/text_to_expression")
    assert Path(front).exists()


def max_upload_bytes() -> int:
    """``DEFAULT_MAX_FILE_SIZE`` ("25mb") in bytes, as gradio reads it (1 mb = 2**20 bytes)."""
    number, unit = re.fullmatch(r"(\d+)\s*(b|kb|mb|gb)", demo_app.DEFAULT_MAX_FILE_SIZE.lower()).groups()
    return int(number) * 1024 ** ["b", "kb", "mb", "gb"].index(unit)


def test_a_50_mb_upload_is_refused_and_the_app_stays_up(served, files) -> None:
    """A real request to the upload route (gradio 6: /gradio_api/upload, gradio_client's ``upload_url``)."""
    _, client = served
    limit = max_upload_bytes()
    assert files["huge"].stat().st_size > limit and client.upload_url.endswith("/gradio_api/upload")
    with httpx.Client(timeout=120) as http:
        small = http.post(client.upload_url, files={"files": ("smile.png", files["face"].read_bytes(), "image/png")})
        assert small.status_code == 200 and Path(small.json()[0]).name == "smile.png"  # the route takes photos
        with files["huge"].open("rb") as huge:
            big = http.post(client.upload_url, files={"files": ("huge.jpg", huge, "image/jpeg")})
    assert big.status_code == 413, (big.status_code, big.text)
    assert "maximum allowed size" in big.text and f"{limit} bytes" in big.text, big.text
    front, *_ = client.predict("joy", 1.0, "", 0.5, api_name="/text_to_expression")
    assert Image.open(front).size == (512, 512)


def test_helpers() -> None:
    from expclip.manifold import project_2d
    from expclip.timeline import parse_timeline

    assert parse_timeline("0:calm; 4.5 : furious") == [(0.0, "calm"), (4.5, "furious")]
    table = demo_app.bar_table(np.linspace(0, 1, 52, dtype=np.float32))
    assert len(table) == 52 and list(table["region"].unique()) == list(arkit.GROUPS)
    points, method = project_2d(np.random.default_rng(0).normal(size=(60, 8)).astype(np.float32))
    assert points.shape == (60, 2) and method in ("t-SNE", "PCA")


def test_api_arguments_with_a_ui_default_are_optional(served) -> None:
    _, client = served
    info = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    required = {name: [p["parameter_name"] for p in endpoint["parameters"] if not p["parameter_has_default"]]
                for name, endpoint in info.items()}
    assert required == {"/text_to_expression": ["prompt"], "/image_to_expression": ["photo"],
                        "/retrieve": ["query"], "/interpolate": [], "/animate": ["audio"]}, required
    hits, _ = client.predict("a big happy smile", k=1, gallery="gallery", api_name="/retrieve")
    assert len(hits) == 1


def test_one_sided_action_units_read_as_a_side_and_a_number() -> None:
    text = demo_app.describe_aus({"L14": 0.3, "12": 0.5})
    assert "- AU14: left dimpler (0.30)" in text and "AUL14" not in text and "- AU12: lip corner puller" in text


def test_a_photo_reads_the_same_in_the_image_tab_and_as_a_speech_style(served, files) -> None:
    app, _ = served
    assert app.image.has_projector
    tab = app.image.analyse(str(files["face"]), method="auto")
    style, notes = app.animator.image_expression(str(files["face"]))
    np.testing.assert_allclose(style, tab.weights, atol=1e-6)
    assert tab.method in notes[0]  # the projector, as in the tab; no silent fall back to fitting
