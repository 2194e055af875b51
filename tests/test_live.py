"""expclip.live: the WebSocket stream on loopback, a real uvicorn server and real clients (``websockets``),
an eSpeak NG sentence played in real time."""

from __future__ import annotations

import json
import shutil
import subprocess
import time

import numpy as np
import pytest

from expclip.audio import load_speech
from expclip.live import create_app, file_source, running
from head.arkit import BLENDSHAPE_NAMES

pytest.importorskip("websockets")
from websockets.sync.client import connect  # noqa: E402

if shutil.which("espeak-ng") is None:
    pytest.skip("espeak-ng is not installed (packages.txt)", allow_module_level=True)

SENTENCE = "Hello there, I am so glad to see you."


@pytest.fixture(scope="module")
def animator():
    from expclip.animation import load_animator

    return load_animator()


@pytest.fixture(scope="module")
def speech_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("live") / "speech.wav"
    subprocess.run(["espeak-ng", "-w", str(path), SENTENCE], check=True)
    return path


@pytest.fixture
def server(animator, speech_file):
    """A live server on a free loopback port playing the sentence, then silence; yields (url, app)."""
    app = create_app(animator, file_source(speech_file), prompt="")
    with running(app) as url:
        yield url.replace("http:", "ws:"), app


def frames_for(ws, seconds: float) -> list[tuple[float, dict]]:
    """(arrival time, message) of the frames received within ``seconds``."""
    out, end = [], time.perf_counter() + seconds
    while time.perf_counter() < end:
        message = json.loads(ws.recv(timeout=5))
        if message["type"] == "frame":
            out.append((time.perf_counter(), message))
    return out


def smile(message: dict) -> float:
    return (message["weights"]["mouthSmileLeft"] + message["weights"]["mouthSmileRight"]) / 2


def test_frames_follow_the_file_at_30_fps_and_a_prompt_steers_them(server, speech_file):
    url, _ = server
    speech_s = len(load_speech(speech_file)) / 16000
    with connect(url + "/") as ws:
        hello = json.loads(ws.recv(timeout=10))
        assert hello["type"] == "hello" and hello["names"] == list(BLENDSHAPE_NAMES) and hello["fps"] == 30
        received = frames_for(ws, speech_s + 1.0)
        numbers = [m["frame"] for _, m in received]
        assert numbers == list(range(len(numbers))) and numbers[0] == 0
        times = [m["t"] for _, m in received]
        assert np.all(np.diff(times) > 0) and abs(times[-1] - numbers[-1] / 30) < 1e-3
        assert all(set(m["weights"]) == set(BLENDSHAPE_NAMES) for _, m in received)
        arrivals = np.array([a for a, _ in received])
        rate = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0])
        assert 20 < rate < 40, f"{rate:.1f} frames/s"  # ~30 fps (measured in benchmarks/bench_live.py)
        jaw = np.array([m["weights"]["jawOpen"] for _, m in received])
        talking, quiet = jaw[times < np.float64(speech_s - 0.3)], jaw[np.array(times) > speech_s + 0.2]
        assert talking.std() > 0.05 and talking.std() > 3 * quiet.std()  # the mouth moves with the voice only
        before = np.mean([smile(m) for _, m in received[-10:]])

        ws.send(json.dumps({"prompt": "overjoyed"}))
        later = frames_for(ws, 1.0)
        after = np.mean([smile(m) for _, m in later[-10:]])
        assert after > before + 0.2
        assert later[0][1]["frame"] == numbers[-1] + 1 or later[0][1]["frame"] > numbers[-1]


def test_every_client_gets_the_frames_and_a_client_that_leaves_is_released(server):
    url, app = server
    broadcast = app.state.broadcast
    with connect(url + "/") as first:
        with connect(url + "/") as second:
            json.loads(first.recv(timeout=10)), json.loads(second.recv(timeout=10))
            a = {m["frame"]: m["weights"] for _, m in frames_for(first, 0.5)}
            b = {m["frame"]: m["weights"] for _, m in frames_for(second, 0.5)}
            shared = set(a) & set(b)
            assert len(shared) > 5 and all(a[n] == b[n] for n in shared)
            assert len(broadcast.clients) == 2
        deadline = time.monotonic() + 5
        while len(broadcast.clients) != 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(broadcast.clients) == 1
        assert len(frames_for(first, 0.5)) > 8  # the stream goes on for the one who stayed
        first.send("not json")
        while (message := json.loads(first.recv(timeout=5)))["type"] == "frame":
            pass
        assert message == {"type": "error", "message": 'A text message must be JSON such as {"prompt": "overjoyed"}.'}
    deadline = time.monotonic() + 5
    while broadcast.clients and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not broadcast.clients and broadcast._thread is None  # the source stops with the last client


def test_a_client_streams_its_own_audio(server, speech_file):
    url, _ = server
    speech = (load_speech(speech_file) * 32767).astype("<i2")
    samples = np.concatenate([speech, np.zeros(16000, "<i2")])  # then 1 s of silence
    with connect(url + "/audio") as ws:
        assert json.loads(ws.recv(timeout=10))["names"] == list(BLENDSHAPE_NAMES)
        ws.send(json.dumps({"prompt": "furious", "intensity": 1.0}))
        assert json.loads(ws.recv(timeout=10)) == {"type": "prompt", "prompt": "furious"}
        frames = []
        for i in range(0, len(samples), 1600):  # 0.1 s pieces, as fast as they go
            ws.send(samples[i:i + 1600].tobytes())
        while len(frames) < len(samples) * 30 // 16000 - 6:
            message = json.loads(ws.recv(timeout=10))
            assert message["type"] == "frame"
            frames.append(message)
    assert [m["frame"] for m in frames] == list(range(len(frames)))
    jaw = np.array([m["weights"]["jawOpen"] for m in frames])
    talking, quiet = jaw[:len(speech) * 30 // 16000 - 10], jaw[len(speech) * 30 // 16000 + 6:]
    assert talking.std() > 0.03 and talking.std() > 3 * quiet.std()


def test_an_expression_sets_the_style(server):
    """A photo's weights (as the app reads a photo) steer a client's frames; bad weights get one sentence."""
    url, _ = server
    smile = np.zeros(52)
    smile[[BLENDSHAPE_NAMES.index("mouthSmileLeft"), BLENDSHAPE_NAMES.index("mouthSmileRight")]] = 0.9
    quiet = np.zeros(16000, "<i2").tobytes()
    with connect(url + "/audio") as ws:
        json.loads(ws.recv(timeout=10))

        def next_not_frame() -> dict:
            while (message := json.loads(ws.recv(timeout=10)))["type"] == "frame":
                pass
            return message

        def smile_after(message: dict) -> float:
            ws.send(json.dumps(message))
            assert next_not_frame()["type"] == "prompt"
            ws.send(quiet)
            frames = [json.loads(ws.recv(timeout=10)) for _ in range(20)]
            return float(np.mean([f["weights"]["mouthSmileLeft"] for f in frames[-5:]]))

        neutral = smile_after({"prompt": ""})
        assert smile_after({"expression": smile.tolist(), "label": "a photo"}) > neutral + 0.2
        assert smile_after({"prompt": ""}) < neutral + 0.1
        assert smile_after({"expression": {"mouthSmileLeft": 0.9, "mouthSmileRight": 0.9}}) > neutral + 0.2
        ws.send(json.dumps({"expression": [0.5] * 51}))
        assert next_not_frame() == {"type": "error", "message": "An expression must be 52 weights from 0 to 1, as a "
                                                                "list in the ARKit order or as {name: weight}."}
