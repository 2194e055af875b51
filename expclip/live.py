"""The live face as a WebSocket stream: ``python -m expclip live`` and :func:`create_app`.

    python -m expclip live --file speech.wav --prompt "overjoyed"     # a file played in real time
    python -m expclip live --prompt "calm"                            # the default microphone

A Starlette app served by uvicorn (both come with Gradio; the WebSocket protocol is the ``websockets``
package), so the same routes mount into the demo's own server. Routes (the protocol: docs/live.md):

* ``ws://HOST:PORT/`` — the server's source (a file played in real time, or a microphone) through one
  :class:`~expclip.streaming.LiveAnimator`; every client gets every frame. The source runs while at least
  one client is connected and starts again from the beginning for the next first client.
* ``ws://HOST:PORT/audio`` — a client sends its own sound (binary messages of 16 kHz mono int16
  little-endian samples, any length) and gets its own frames back: a browser's microphone.
* ``http://HOST:PORT/`` — the 3D viewer page (``static/viewer.html``) following ``/``; ``/head.glb`` the head.

Server → client, JSON text: first ``{"type": "hello", "names": [52 ARKit names], "fps": 30, "delay_s": …,
"prompt": …}``, then per frame ``{"type": "frame", "t": seconds, "frame": n, "weights": {name: value ×52}}``;
``{"type": "prompt", "prompt": …}`` when the style changes, ``{"type": "error", "message": …}`` for a
message the server cannot use. Client → server: ``{"prompt": "…", "intensity": 1.0}`` changes the style, or
``{"expression": [52 weights] or {name: weight}, "label": "…"}`` sets it to an expression (a photo's, as the
app reads it).
A client that falls more than :data:`QUEUE_FRAMES` frames behind loses its oldest frames (the frame rate
drops, the sync does not).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from expclip.animation import Animator
from expclip.audio import SAMPLE_RATE, load_speech
from expclip.streaming import LiveAnimator, LiveFrame, StreamError
from head.arkit import BLENDSHAPE_NAMES, NUM_BLENDSHAPES

CHUNK = 320  # samples a source sends at a time (20 ms)
QUEUE_FRAMES = 15  # frames a slow client may fall behind before its oldest are dropped (0.5 s)
WS_PROTOCOL = "websockets-sansio"  # uvicorn's WebSocket implementation over the websockets package
STATIC = Path(__file__).resolve().parents[1] / "static"
Chunks = Callable[[], Iterator[np.ndarray]]  # a fresh run of a source: chunks of 16 kHz float32 (n,)


class LiveError(ValueError):
    """A source the live stream cannot open; the message says what to do."""


# messages ---------------------------------------------------------------------------------------
def hello_message(live: LiveAnimator, prompt: str) -> str:
    return json.dumps({"type": "hello", "names": list(BLENDSHAPE_NAMES), "fps": live.fps,
                       "delay_s": round(live.delay_s, 4), "prompt": prompt})


def frame_message(frame: LiveFrame) -> str:
    """``{"type": "frame", "t": …, "frame": …, "weights": {name: value}}`` for one frame."""
    weights = {name: round(float(value), 4) for name, value in zip(BLENDSHAPE_NAMES, frame.weights)}
    return json.dumps({"type": "frame", "t": round(frame.t, 4), "frame": frame.index, "weights": weights},
                      separators=(",", ":"))


@dataclass(frozen=True)
class StyleRequest:
    """What a client asked the style to be: a prompt (with an intensity) or an expression ``(52,)``."""

    label: str
    intensity: float = 1.0
    expression: tuple[float, ...] | None = None

    def apply(self, live: LiveAnimator) -> None:
        if self.expression is None:
            live.set_prompt(self.label, self.intensity)
        else:
            live.set_expression(np.asarray(self.expression, np.float32))

    def message(self) -> str:
        return json.dumps({"type": "prompt", "prompt": self.label})


def read_request(text: str) -> StyleRequest:
    """A client's ``{"prompt": …, "intensity": …}`` or ``{"expression": […52], "label": …}`` → a
    :class:`StyleRequest`, or :class:`StreamError`."""
    try:
        request = json.loads(text)
    except json.JSONDecodeError:
        raise StreamError('A text message must be JSON such as {"prompt": "overjoyed"}.') from None
    if isinstance(request, dict) and "expression" in request:
        values = request["expression"]
        if isinstance(values, dict) and set(values) <= set(BLENDSHAPE_NAMES):
            values = [values.get(name, 0.0) for name in BLENDSHAPE_NAMES]
        if (not isinstance(values, list) or len(values) != NUM_BLENDSHAPES
                or not all(isinstance(v, (int, float)) and 0 <= v <= 1 for v in values)):
            raise StreamError(f"An expression must be {NUM_BLENDSHAPES} weights from 0 to 1, as a list in the ARKit "
                              "order or as {name: weight}.")
        label = request.get("label", "an expression")
        return StyleRequest(label if isinstance(label, str) else "an expression", 1.0, tuple(map(float, values)))
    if not isinstance(request, dict) or not isinstance(request.get("prompt"), str):
        raise StreamError('A text message must carry a prompt string, e.g. {"prompt": "overjoyed"}, or an '
                          'expression of 52 weights, e.g. {"expression": [0, …]}.')
    intensity = request.get("intensity", 1.0)
    if not isinstance(intensity, (int, float)):
        raise StreamError("The intensity must be a number from 0 to 2.")
    return StyleRequest(request["prompt"], float(intensity))


# sources ----------------------------------------------------------------------------------------
def file_source(path: str | Path, loop: bool = False, chunk: int = CHUNK) -> Chunks:
    """A recording played in real time (decoded once now): the file, then silence, or the file again. A
    consumer that falls behind gets what is due in one larger piece, so it catches up instead of lagging."""
    samples = load_speech(path)

    def piece(position: int, length: int) -> np.ndarray:
        if loop:
            return samples[np.arange(position, position + length) % len(samples)]
        out = np.zeros(length, np.float32)
        part = samples[position:position + length]
        out[:len(part)] = part
        return out

    def run() -> Iterator[np.ndarray]:
        start, position = time.perf_counter(), 0
        while True:
            behind = int((time.perf_counter() - start) * SAMPLE_RATE) - position
            length = max(1, -(-behind // chunk)) * chunk
            time.sleep(max(0.0, start + (position + length) / SAMPLE_RATE - time.perf_counter()))  # due at its end
            yield piece(position, length)
            position += length

    return run


def microphone_source(device: str | int | None = None, chunk: int = CHUNK) -> Chunks:
    """The microphone (``sounddevice``, PortAudio) at 16 kHz mono; checked now, opened when a client comes."""
    try:
        import sounddevice
    except OSError:
        raise LiveError("No microphone input: sounddevice needs the PortAudio library (apt-get install "
                        "libportaudio2); or stream a file with --file.") from None
    try:
        sounddevice.check_input_settings(device=device, channels=1, samplerate=SAMPLE_RATE, dtype="float32")
    except (sounddevice.PortAudioError, ValueError) as error:
        raise LiveError(f"No usable microphone ({error}); plug one in, pick one with --device, or stream a file "
                        "with --file.") from None

    def run() -> Iterator[np.ndarray]:
        blocks: queue.Queue[np.ndarray] = queue.Queue()
        with sounddevice.InputStream(samplerate=SAMPLE_RATE, channels=1, dtype="float32", blocksize=chunk,
                                     device=device, callback=lambda data, *_: blocks.put(data[:, 0].copy())):
            while True:
                pieces = [blocks.get()]
                while not blocks.empty():  # behind: all that has come, at once
                    pieces.append(blocks.get_nowait())
                yield np.concatenate(pieces)

    return run


# the shared stream ------------------------------------------------------------------------------
class Broadcast:
    """One :class:`LiveAnimator` fed by a source in a thread while clients are connected; every client's
    queue gets every frame's message."""

    def __init__(self, live: LiveAnimator, source: Chunks, prompt: str = "") -> None:
        self.live, self.source, self.prompt = live, source, prompt
        self.clients: set[asyncio.Queue[str]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.started_at = 0.0  # perf_counter when the current run of the source began

    async def join(self) -> asyncio.Queue[str]:
        """A new client's queue; the first client starts the source."""
        self._loop = asyncio.get_running_loop()
        messages: asyncio.Queue[str] = asyncio.Queue(QUEUE_FRAMES)
        self.clients.add(messages)
        if self._thread is None:
            self._stop = threading.Event()
            self.live.reset()
            self._thread = threading.Thread(target=self._run, args=(self._stop,), daemon=True, name="live-source")
            self._thread.start()
        return messages

    async def leave(self, messages: asyncio.Queue[str]) -> None:
        """Release a client; the last one stops the source."""
        self.clients.discard(messages)
        if not self.clients and self._thread is not None:
            self._stop.set()
            thread, self._thread = self._thread, None
            await asyncio.to_thread(thread.join)

    async def set_style(self, request: StyleRequest) -> None:
        await asyncio.to_thread(request.apply, self.live)
        self.prompt = request.label
        self._deliver([request.message()])

    def _run(self, stop: threading.Event) -> None:
        self.started_at = time.perf_counter()
        with contextlib.closing(self.source()) as chunks:  # closing it closes a microphone
            for chunk in chunks:
                if stop.is_set():
                    return
                messages = [frame_message(f) for f in self.live.push(chunk)]
                if messages:
                    self._loop.call_soon_threadsafe(self._deliver, messages)

    def _deliver(self, messages: list[str]) -> None:
        for client in self.clients:
            for message in messages:
                if client.full():
                    client.get_nowait()
                client.put_nowait(message)


# the app ----------------------------------------------------------------------------------------
def routes(animator: Animator, *, prefix: str = "", prompt: str = "", glb: bytes | None = None,
           glb_light: Callable[[], bytes] | None = None, static: Path = STATIC, **options) -> list:
    """The routes every live server has, under ``prefix``: ``/audio`` (a client's own sound), ``/static``
    (the viewer's files) and ``/head.glb`` (when given; ``?detail=light`` gives what ``glb_light()`` makes, on
    the first such request: the lighter head the viewer asks for where WebGL runs on the CPU). Another server
    mounts them as they are, e.g. the demo's: ``demo.launch(app_kwargs={"routes": routes(animator,
    prefix="/live", glb=...)})``."""
    from starlette.responses import PlainTextResponse, Response
    from starlette.routing import Mount, Route, WebSocketRoute
    from starlette.staticfiles import StaticFiles

    found = [WebSocketRoute(f"{prefix}/audio", audio_endpoint(animator, prompt, **options))]
    if static.is_dir():
        found.append(Mount(f"{prefix}/static", StaticFiles(directory=static)))
    if glb is not None:
        from head.simplify import check_detail

        light = functools.cache(glb_light) if glb_light is not None else None

        def head(request) -> Response:
            try:
                detail = check_detail(request.query_params.get("detail") or "full")
            except ValueError as error:
                return PlainTextResponse(str(error), status_code=400)
            body = light() if detail == "light" and light is not None else glb
            return Response(body, media_type="model/gltf-binary")

        found.append(Route(f"{prefix}/head.glb", head))
    return found


def create_app(animator: Animator, source: Chunks | None = None, *, prompt: str = "", glb: bytes | None = None,
               glb_light: Callable[[], bytes] | None = None, static: Path = STATIC, **options):
    """The Starlette app of ``python -m expclip live``: :func:`routes`, and ``/`` (the source's stream, when a
    source is given; over HTTP, the viewer page). ``options`` go to each :class:`LiveAnimator`."""
    from starlette.applications import Starlette
    from starlette.responses import RedirectResponse
    from starlette.routing import Route, WebSocketRoute

    found = routes(animator, prompt=prompt, glb=glb, glb_light=glb_light, static=static, **options)
    broadcast = None
    if source is not None:
        live = LiveAnimator(animator, **options)
        live.set_prompt(prompt, fade=False)
        broadcast = Broadcast(live, source, prompt)
        found.append(WebSocketRoute("/", stream_endpoint(broadcast)))
    if static.is_dir():
        found.append(Route("/", lambda request: RedirectResponse("/static/viewer.html?glb=/head.glb&ws=/")))
    app = Starlette(routes=found)
    app.state.broadcast = broadcast
    return app


def stream_endpoint(broadcast: Broadcast):
    """The WebSocket handler of the shared stream."""
    from starlette.websockets import WebSocket, WebSocketDisconnect

    async def endpoint(websocket: WebSocket) -> None:
        await websocket.accept()
        messages = await broadcast.join()
        try:
            await websocket.send_text(hello_message(broadcast.live, broadcast.prompt))
            sender = asyncio.create_task(_send_all(websocket, messages))
            try:
                while True:
                    try:
                        await broadcast.set_style(read_request(await websocket.receive_text()))
                    except StreamError as error:
                        await websocket.send_text(json.dumps({"type": "error", "message": str(error)}))
            finally:
                sender.cancel()
        except (WebSocketDisconnect, RuntimeError):  # the client left (RuntimeError: it left mid-send)
            pass
        finally:
            await broadcast.leave(messages)

    return endpoint


async def _send_all(websocket, messages: asyncio.Queue[str]) -> None:
    while True:
        await websocket.send_text(await messages.get())


def audio_endpoint(animator: Animator, prompt: str = "", **options):
    """The WebSocket handler of ``/audio``: a client's int16 sound in, its own frames out. Sound that comes
    while the animator is busy is pushed at once the next time, so a busy server sends frames in bursts but
    never falls behind the voice."""
    from starlette.websockets import WebSocket, WebSocketDisconnect

    async def endpoint(websocket: WebSocket) -> None:
        await websocket.accept()
        live = LiveAnimator(animator, **options)
        await asyncio.to_thread(live.set_prompt, prompt, 1.0, False)
        pending, arrived, closed = bytearray(), asyncio.Event(), []

        async def receive() -> None:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                if message.get("bytes") is not None:
                    pending.extend(message["bytes"])
                    arrived.set()
                    continue
                try:
                    request = read_request(message.get("text") or "")
                    await asyncio.to_thread(request.apply, live)
                    await websocket.send_text(request.message())
                except StreamError as error:
                    await websocket.send_text(json.dumps({"type": "error", "message": str(error)}))
            closed.append(True)
            arrived.set()

        receiver = asyncio.create_task(receive())
        try:
            await websocket.send_text(hello_message(live, prompt))
            while True:
                await arrived.wait()
                arrived.clear()
                if closed:
                    return
                size = len(pending) // 2 * 2
                samples = np.frombuffer(bytes(pending[:size]), "<i2").astype(np.float32) / 32768.0
                del pending[:size]
                for frame in await asyncio.to_thread(live.push, samples):
                    await websocket.send_text(frame_message(frame))
        except (WebSocketDisconnect, RuntimeError):  # the client left
            pass
        finally:
            receiver.cancel()

    return endpoint


def serve(app, host: str = "127.0.0.1", port: int = 8765) -> None:
    """Serve ``app`` until interrupted."""
    import uvicorn

    uvicorn.run(app, host=host, port=port, log_level="warning", ws=WS_PROTOCOL)


@contextlib.contextmanager
def running(app, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve ``app`` in a thread while the block runs (port 0: a free one); yields ``http://HOST:PORT``."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", ws=WS_PROTOCOL))
    thread = threading.Thread(target=server.run, daemon=True, name="live-server")
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise LiveError(f"The live server could not start on {host}:{port} (is the port taken?).")
        time.sleep(0.02)
    try:
        yield f"http://{host}:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
