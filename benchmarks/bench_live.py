"""Live speech → face: sound-to-face latency, frames per second and CPU per frame (JSON lines).

    python -m benchmarks.bench_live [--seconds 8] [--clients 4] [--no-browser]

* ``animator``: :class:`expclip.streaming.LiveAnimator` alone on 20 ms chunks: CPU per frame, and how far
  its frames are from the offline animator's (mean absolute difference of the 52 weights) per look-ahead.
* ``stream``: ``python -m expclip live``'s server on loopback, a file played in real time, one WebSocket
  client: latency from the sound of a frame's instant reaching the server to the frame reaching the
  client (p50, p90), frames per second delivered, the process's CPU per frame.
* ``audio``: N clients at once each sending their own sound to ``/audio`` in real time (20 ms pieces):
  latency from a piece being sent to the frame of its instant coming back, frames per second per client.
* ``browser``: headless chromium, its fake microphone playing the sentence into ``static/viewer.html``
  through ``/audio``: latency from a 20 ms piece leaving the page's AudioWorklet to its frame being drawn
  in the page, frames per second received and drawn (SwiftShader's CPU WebGL here; a GPU draws at the display rate),
  with the lighter head the viewer loads there and with the whole head;
* ``app_tab``: the same in the demo app's Live tab (the app in this process, its own ``/live/audio``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from benchmarks.common import emitter

emit = emitter("live")
SENTENCE = "Hello there, I am so glad to see you today. Shall we talk for a while about the weather?"


def percentiles(values, unit: str, metric: str, **extra) -> None:
    values = np.asarray(values, np.float64)
    for q in (50, 90):
        emit(f"{metric}_p{q}", float(np.percentile(values, q)) * 1000, unit, n=len(values), **extra)


def bench_animator(animator, speech: np.ndarray) -> None:
    from expclip.streaming import LiveAnimator

    features = animator.features(speech)
    style = animator.styles(animator.prompt_expression("overjoyed")[0][None])[0]
    reference = animator.generate(features, style)
    for lookahead in (0, 1, 3, 6):
        live = LiveAnimator(animator, lookahead=lookahead, blinks=False)
        live.set_prompt("overjoyed", fade=False)
        cpu = time.process_time()
        frames = [f for i in range(0, len(speech), 320) for f in live.push(speech[i:i + 320])]
        cpu = time.process_time() - cpu
        weights = np.stack([f.weights for f in frames])
        extra = {"lookahead_frames": lookahead, "delay_ms": round(live.delay_s * 1000, 1)}
        emit("cpu_per_frame", cpu / len(frames) * 1000, "ms", **extra)
        emit("difference_from_offline", float(np.abs(weights - reference[:len(weights)]).mean()), "weight", **extra)


def bench_stream(animator, path: Path, seconds: float) -> None:
    from websockets.sync.client import connect

    from expclip.live import create_app, file_source, running

    app = create_app(animator, file_source(path, loop=True))
    with running(app) as url, connect(url.replace("http:", "ws:") + "/") as ws:
        ws.recv(timeout=10)  # hello
        cpu, arrivals, latencies = time.process_time(), [], []
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            message = json.loads(ws.recv(timeout=10))
            now = time.perf_counter()
            arrivals.append(now)
            latencies.append(now - (app.state.broadcast.started_at + message["t"]))
        cpu = time.process_time() - cpu
    percentiles(latencies, "ms", "stream_latency")
    emit("stream_fps", (len(arrivals) - 1) / (arrivals[-1] - arrivals[0]), "frames/s")
    emit("stream_cpu_per_frame", cpu / len(arrivals) * 1000, "ms", note="server and client in one process")


def bench_audio_clients(animator, speech: np.ndarray, clients: int, seconds: float) -> None:
    from websockets.sync.client import connect

    from expclip.live import create_app, running

    pcm = (np.resize(speech, int(seconds * 16000)) * 32767).astype("<i2")
    results: list[tuple[list[float], list[float]]] = []

    def client(url: str) -> None:
        sent, latencies, arrivals = [], [], []
        with connect(url + "/audio") as ws:
            ws.recv(timeout=10)

            def read() -> None:
                while len(arrivals) < len(pcm) * 30 // 16000 - 8:
                    message = json.loads(ws.recv(timeout=10))
                    now = time.perf_counter()
                    arrivals.append(now)
                    piece = int(message["t"] * 16000) // 320  # the piece holding the frame's instant
                    latencies.append(now - sent[min(piece, len(sent) - 1)])

            reader = threading.Thread(target=read)
            start = time.perf_counter()
            for i in range(0, len(pcm), 320):
                time.sleep(max(0.0, start + (i + 320) / 16000 - time.perf_counter()))
                sent.append(time.perf_counter())
                ws.send(pcm[i:i + 320].tobytes())
                if i == 0:
                    reader.start()
            reader.join(20)
        results.append((latencies, arrivals))

    with running(create_app(animator)) as url:
        threads = [threading.Thread(target=client, args=(url.replace("http:", "ws:"),)) for _ in range(clients)]
        cpu = time.process_time()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        cpu = time.process_time() - cpu
    latencies = [x for lat, _ in results for x in lat]
    percentiles(latencies, "ms", "audio_latency", clients=clients)
    fps = [(len(a) - 1) / (a[-1] - a[0]) for _, a in results]
    emit("audio_fps_per_client", float(np.mean(fps)), "frames/s", clients=clients)
    emit("audio_cpu_per_frame", cpu / sum(len(a) for _, a in results) * 1000, "ms", clients=clients,
         note="server and clients in one process")


def bench_browser(animator, path: Path, seconds: float) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        emit("browser_skipped", 0, "", reason="chromium is not installed")
        return
    from playwright.sync_api import sync_playwright

    from expclip.live import create_app, running
    from head.simplify import simplified_rig
    from render.gltf import glb_bytes

    rest = np.zeros(52, np.float32)
    app = create_app(animator, glb=glb_bytes(rest), glb_light=lambda: glb_bytes(rest, rig=simplified_rig()))
    args = ["--no-sandbox", "--disable-dev-shm-usage", "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
            "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={path}"]
    # The viewer loads the lighter head on SwiftShader by itself; detail=full asks for the whole one.
    for detail, glb in (("light", "/head.glb"), ("full", "/head.glb%3Fdetail%3Dfull")):
        with running(app) as url, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=args)
            page = browser.new_page(viewport={"width": 320, "height": 420})
            page.goto(f"{url}/static/viewer.html?glb={glb}&mic=/audio")
            page.wait_for_selector("body[data-ready=true]", timeout=60_000)
            probe = "[viewer.stream.frames, viewer.drawn, performance.now()]"  # received, drawn
            before = page.evaluate(probe)
            page.wait_for_timeout(seconds * 1000)
            after = page.evaluate(probe)
            latencies = page.evaluate("live.stats.latencies")
            browser.close()
        elapsed = (after[2] - before[2]) / 1000
        percentiles(latencies[len(latencies) // 4:], "ms", "browser_latency",
                    note="piece sent → frame drawn in the page", head=detail)
        emit("browser_fps_received", (after[0] - before[0]) / elapsed, "frames/s", head=detail)
        emit("browser_fps_drawn", (after[1] - before[1]) / elapsed, "frames/s", note="SwiftShader (CPU WebGL)",
             head=detail)


def bench_app_tab(path: Path, seconds: float) -> None:
    """The demo app's Live tab in headless chromium (1280 × 1000), its fake microphone playing ``path``: frames
    received and drawn per second and the latency in the page, over ``seconds`` after 3 s of warm-up."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        emit("app_tab_skipped", 0, "", reason="chromium is not installed")
        return
    import socket

    from playwright.sync_api import sync_playwright

    import app as demo_app
    import app_viewer
    from demo_data import DemoData

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        app = demo_app.DemoApp(work_dir=root / "work", index_dir=root / "indexes",
                               data=DemoData(data_root=root / "no-data", cache=root / "demo-data", tead_size=400,
                                             gallery_size=4))
        demo = demo_app.build_demo(app, cache_examples=False)
        _, url, _ = app_viewer.launch(demo.queue(), server_name="127.0.0.1", server_port=port,
                                      prevent_thread_lock=True, quiet=True)
        args = ["--no-sandbox", "--disable-dev-shm-usage", "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
                "--autoplay-policy=no-user-gesture-required", "--use-fake-device-for-media-stream",
                "--use-fake-ui-for-media-stream", f"--use-file-for-fake-audio-capture={path}"]
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=args)
                page = browser.new_page(viewport={"width": 1280, "height": 1000})
                page.set_default_timeout(60_000)
                page.goto(url)
                page.get_by_role("tab", name="Live", exact=True).click()
                page.evaluate("import('/live/static/app_viewer.js').then((m) => { window.m = m; })")
                page.wait_for_function("window.m?.views.live?.viewer?.names.length === 52")
                panel = page.locator("[role=tabpanel]:visible")
                panel.get_by_label("Live style prompt", exact=True).fill("overjoyed")
                panel.get_by_role("button", name="Start").click()
                page.wait_for_function("m.liveStats()?.frames > 30")
                page.wait_for_timeout(3000)
                probe = ("[m.views.live.viewer.stream.frames, m.views.live.viewer.drawn, performance.now(), "
                         "m.liveStats().latencies.length]")  # received, drawn
                before = page.evaluate(probe)
                page.wait_for_timeout(seconds * 1000)
                after = page.evaluate(probe)
                latencies = page.evaluate("m.liveStats().latencies")[before[3]:]
                browser.close()
        finally:
            demo.close()
            app.close()
    elapsed = (after[2] - before[2]) / 1000
    percentiles(np.asarray(latencies), "ms", "app_tab_latency", note="sound → face in the app's Live tab")
    emit("app_tab_fps_received", (after[0] - before[0]) / elapsed, "frames/s")
    emit("app_tab_fps_drawn", (after[1] - before[1]) / elapsed, "frames/s", note="SwiftShader (CPU WebGL)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_live", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="how long each live run lasts")
    parser.add_argument("--clients", type=int, default=4, help="clients sending their own audio at once")
    parser.add_argument("--no-browser", action="store_true", help="leave out the headless-chromium run")
    args = parser.parse_args(argv)
    from expclip.animation import load_animator
    from expclip.audio import load_speech

    animator = load_animator()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "speech.wav"
        subprocess.run(["espeak-ng", "-w", str(path), SENTENCE], check=True)
        speech = load_speech(path)
        bench_animator(animator, speech)
        bench_stream(animator, path, args.seconds)
        for clients in sorted({1, args.clients}):
            bench_audio_clients(animator, speech, clients, args.seconds)
        if not args.no_browser:
            bench_browser(animator, path, args.seconds)
            bench_app_tab(path, args.seconds)


if __name__ == "__main__":
    main()
