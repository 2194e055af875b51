"""Live speech → face: :class:`LiveAnimator` turns 16 kHz audio arriving in small chunks into 52 ARKit
weights per 30 fps frame, a small fixed look-ahead behind the sound.

    from expclip.streaming import LiveAnimator
    live = LiveAnimator.load(prompt="overjoyed")     # the released generator-small and its ExpCLIP
    for chunk in chunks:                             # e.g. 20 ms pieces (320 samples) of float32 at 16 kHz
        for frame in live.push(chunk):               # 0, 1 or a few frames per chunk
            frame.index, frame.t, frame.weights      # frame k is the instant k / 30 s; weights (52,)
    live.set_prompt("quietly furious")               # at any time, from any thread: cross-faded in

How it keeps what the offline :class:`expclip.animation.Animator` does:

* Features: a frame of the ``logmel`` front end depends on the audio within 35 ms of its instant, so
  frame ``k`` is *settled* once the samples up to ``k · 16000/30 + 560`` have arrived. Each push encodes
  only the tail of a short audio buffer (starting on a multiple of 1600 samples, as windowed inference
  does, with 0.1 s of left context) and keeps the settled frames. Front ends that attend over whole
  pieces (``whisper``, ``wav2vec2``) get 1 s of context and are then an approximation.
* Generator: the decoder attends both ways over its window, so frame ``k`` is read from a window of the
  last ``window`` settled feature frames that ends ``lookahead`` frames after it (default 3 frames, 0.1 s).
  The sound-to-face delay is therefore ``lookahead / 30 + 35 ms`` plus the chunk size and the compute.
* Style: a prompt (text → ExpCLIP → expression → the generator's frozen E, exactly as the animator makes
  it), a photo, or any expression (52,). A change is cross-faded over ``transition_s``: while styles mix,
  the generator runs on all of them in one batch and their outputs are mixed, so the lips stay in sync.
* Lips: as ``animate``'s audio-only lips (:func:`expclip.articulation.audio_lips`): the generator's speech motion
  scaled as the phone-aware lips scale theirs, narrowed where the voice is quieter than its median speaking level.
  Offline that level is the whole clip's; live it is that of the last :data:`LEVEL_HISTORY_S` seconds heard
  (``audio_lips=False``: the generator's own lips, as before 2026-12-07).
* Blinks: :func:`expclip.motion.blinks` drawn in blocks of about 60 s (:class:`BlinkTrack`).

Phone-aware lips (:mod:`expclip.articulation`) need the words of a whole utterance and are offline only.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass

import numpy as np
import torch

from expclip.animation import BLINKS, Animator, load_animator
from expclip.articulation import audio_lips as shape_audio_lips
from expclip.articulation import opening_scale, speaking_level
from expclip.audio import SAMPLE_RATE, frame_level_db, normalise_envelope, num_frames
from expclip.motion import blinks as blink_track
from head.arkit import NUM_BLENDSHAPES

LOOKAHEAD_FRAMES = 3
WINDOW_FRAMES = 90  # the generator's training window (3 s)
TRANSITION_S = 0.3
SAMPLES_PER_PIECE = 1600  # 0.1 s = 3 frames: feature windows start on these
SETTLE_SAMPLES = 560  # logmel: a frame reads the audio within 35 ms of its instant
LOCAL_CONTEXT_S = {"logmel": 0.1}  # left context a front end needs for exact features; others get 1 s
BLINK_BLOCK_S, BLINK_GAP_S = 60.0, 2.0
LEVEL_HISTORY_S = 60.0  # the loudness heard over this long sets the live lips' speaking level


class StreamError(ValueError):
    """Audio or a style the live animator cannot use; the message says what to change."""


@dataclass
class LiveFrame:
    """One 30 fps frame: its number, its instant ``t = index / fps`` in the audio, ``weights (52,)`` in [0, 1],
    and ``latency``: seconds from the arrival of the sound at ``t`` to this frame being made."""

    index: int
    t: float
    weights: np.ndarray
    latency: float


class BlinkTrack:
    """Natural blinks for an endless stream: :func:`expclip.motion.blinks` drawn in blocks of about 60 s.

    A block keeps its blinks that start within :data:`BLINK_BLOCK_S` and ends 2 s after the last one; the
    next block's first blink then comes 2.2-5 s after it, as blinks within a block come 2.15-6.25 s apart.
    """

    def __init__(self, fps: float, seed: int = 0) -> None:
        self.fps = fps
        self.rng = np.random.default_rng(seed)
        self.first = 0  # frame number of the block's first frame
        self.lids = self._draw()

    def _draw(self) -> np.ndarray:
        """The next block's eyelid closure ``(frames, 2)``."""
        lids, starts = blink_track(np.arange(int((BLINK_BLOCK_S + 3.0) * self.fps)) / self.fps, self.rng)
        last = max(s for s in starts if s < BLINK_BLOCK_S)  # the first blink starts within 3 s
        return lids[:int(np.floor((last + BLINK_GAP_S) * self.fps))]

    def at(self, frame: int) -> np.ndarray:
        """Eyelid closure (left, right) at ``frame``; frames are asked for in increasing order."""
        while frame >= self.first + len(self.lids):
            self.first += len(self.lids)
            self.lids = self._draw()
        return self.lids[frame - self.first]


class LiveAnimator:
    """Incremental speech → face over an :class:`Animator`: :meth:`push` chunks, get :class:`LiveFrame` s."""

    def __init__(self, animator: Animator, *, lookahead: int = LOOKAHEAD_FRAMES, window: int = WINDOW_FRAMES,
                 transition_s: float = TRANSITION_S, blinks: bool = True, seed: int = 0,
                 audio_lips: bool = True) -> None:
        if lookahead < 0 or window <= lookahead:
            raise StreamError(f"A look-ahead of {lookahead} frames needs a window longer than it (got {window}).")
        self.animator = animator
        self.fps = animator.fps
        self.lookahead, self.window = lookahead, window
        self.transition_frames = max(1, int(round(transition_s * self.fps)))
        encoder = animator.audio_encoder
        self.context = int(round(LOCAL_CONTEXT_S.get(encoder.name, 1.0) * 10)) * SAMPLES_PER_PIECE
        self.blinks = BlinkTrack(self.fps, seed) if blinks else None
        self.audio_lips = audio_lips
        self._lock = threading.Lock()
        self._styles: dict[str, tuple[torch.Tensor, np.ndarray]] = {}  # prompts already encoded: style, expression
        self._mix: list[list] = []  # [style (style_dim,), share now, target share, expression (52,)]
        self.set_expression(np.zeros(NUM_BLENDSHAPES, np.float32))
        self.reset()

    @classmethod
    def load(cls, prompt: str = "", checkpoint=None, expclip_checkpoint=None, **options) -> "LiveAnimator":
        """The released (or given) generator and ExpCLIP, styled by ``prompt``."""
        live = cls(load_animator(checkpoint, expclip_checkpoint), **options)
        live.set_prompt(prompt, fade=False)
        return live

    def reset(self) -> None:
        """Forget the audio: the next push starts a new stream at frame 0 (the style and blinks stay)."""
        self._audio = np.zeros(0, np.float32)  # received samples from self._audio_start on
        self._audio_start = 0
        self._received = 0  # samples so far
        self._features = deque(maxlen=self.window)  # settled feature frames (audio_dim,), the latest last
        self._levels = deque(maxlen=int(LEVEL_HISTORY_S * self.fps))  # settled frames' loudness (dBFS), latest last
        self._settled = 0  # feature frames settled so far
        self._emitted = 0  # frames made so far
        self._arrivals: deque[tuple[int, float]] = deque()  # (samples received, wall time) per push

    # styles ---------------------------------------------------------------------------------------
    def set_prompt(self, prompt: str, intensity: float = 1.0, fade: bool = True) -> None:
        """Style from a text prompt (empty: neutral), cross-faded in unless ``fade`` is False."""
        if not 0.0 <= intensity <= 2.0:
            raise StreamError(f"Intensity {intensity} is outside 0–2 (1 is the model's own strength).")
        key = f"{intensity:.3f}:{prompt.strip()}"
        if key not in self._styles:
            expression, _ = self.animator.prompt_expression(prompt, intensity)
            self._styles[key] = (self.animator.styles(expression[None])[0], expression)
        self._set_style(*self._styles[key], fade)

    def set_image(self, image, intensity: float = 1.0, fade: bool = True) -> None:
        """Style from a face photo (a path, PIL image or array), read as the Image tab reads it."""
        expression, _ = self.animator.image_expression(image, intensity)
        self.set_expression(expression, fade)

    def set_expression(self, expression: np.ndarray, fade: bool = True) -> None:
        """Style from an expression ``(52,)`` in [0, 1]."""
        expression = np.asarray(expression, np.float32)
        if expression.shape != (NUM_BLENDSHAPES,) or not np.all(np.isfinite(expression)):
            raise StreamError(f"An expression is {NUM_BLENDSHAPES} finite weights; got shape {expression.shape}.")
        self._set_style(self.animator.styles(expression[None])[0], expression, fade)

    def _set_style(self, style: torch.Tensor, expression: np.ndarray, fade: bool) -> None:
        with self._lock:
            if not fade or not self._mix:
                self._mix = [[style, 1.0, 1.0, expression]]
                return
            for entry in self._mix:
                entry[2] = 0.0
            self._mix.append([style, 0.0, 1.0, expression])

    def _shares(self, frames: int) -> np.ndarray:
        """Move every style's share towards its target, one step a frame: the shares ``(frames, K)`` of the
        current styles (rows summing to 1); styles faded out by the end are then dropped."""
        step = 1.0 / self.transition_frames
        current = np.array([e[1] for e in self._mix], np.float64)
        target = np.array([e[2] for e in self._mix], np.float64)
        moves = np.arange(1, frames + 1)[:, None] * step
        shares = np.where(target > current, np.minimum(target, current + moves), np.maximum(target, current - moves))
        for entry, share in zip(self._mix, shares[-1]):
            entry[1] = float(share)
        self._mix = [e for e in self._mix if e[1] > 0 or e[2] > 0]
        return shares / shares.sum(1, keepdims=True)

    # audio ----------------------------------------------------------------------------------------
    def push(self, samples: np.ndarray) -> list[LiveFrame]:
        """16 kHz mono float32 samples ``(n,)`` (any n) → the frames that became ready, in order."""
        samples = np.asarray(samples, np.float32).reshape(-1)
        if not np.all(np.isfinite(samples)):
            raise StreamError("The audio chunk contains NaN or infinite samples; send finite 16 kHz samples.")
        now = time.perf_counter()
        self._audio = np.concatenate([self._audio, np.clip(samples, -1.0, 1.0)])
        self._received += len(samples)
        self._arrivals.append((self._received, now))
        self._settle()
        ready = self._settled - self.lookahead  # frames whose look-ahead has settled
        if ready <= self._emitted:
            return []
        frames = self._generate(ready)
        done = time.perf_counter()
        out = []
        for offset, weights in enumerate(frames):
            index = self._emitted + offset
            out.append(LiveFrame(index, index / self.fps, weights, done - self._arrival(index)))
        self._emitted = ready
        return out

    def finish(self) -> list[LiveFrame]:
        """The end of the stream: the frames still waiting for sound after it (the end is padded with
        silence, as the offline front end pads it), up to the recording's last frame ``num_frames(samples)``."""
        total, received = num_frames(self._received), self._received
        per_frame = SAMPLE_RATE / self.fps
        padding = int(np.ceil((total - 1 + self.lookahead) * per_frame + SETTLE_SAMPLES)) - received
        frames = self.push(np.zeros(max(padding, 0), np.float32)) if self._emitted < total else []
        return [f for f in frames if f.index < total]

    def _arrival(self, frame: int) -> float:
        """Wall time at which the sound of ``frame``'s instant arrived."""
        centre = frame * SAMPLE_RATE / self.fps
        while len(self._arrivals) > 1 and self._arrivals[0][0] <= centre:
            self._arrivals.popleft()
        return self._arrivals[0][1]

    def _settle(self) -> None:
        """Encode the newly settled feature frames into ``self._features``; trim the audio buffer."""
        per_frame = SAMPLE_RATE / self.fps
        settled = int(np.floor((self._received - SETTLE_SAMPLES) / per_frame)) + 1
        if settled <= self._settled:
            return
        start = max(0, int((self._settled * per_frame - self.context) // SAMPLES_PER_PIECE) * SAMPLES_PER_PIECE)
        start = max(start, self._audio_start)
        features = self.animator.features(self._audio[start - self._audio_start:])  # (frames, audio_dim)
        first = start * 3 // SAMPLES_PER_PIECE
        self._features.extend(features[self._settled - first:settled - first])
        self._levels.extend(frame_level_db(self._audio, np.arange(self._settled, settled), self._audio_start, self.fps))
        self._settled = settled
        keep = max(0, int((settled * per_frame - self.context) // SAMPLES_PER_PIECE) * SAMPLES_PER_PIECE)
        if keep > self._audio_start:
            self._audio = self._audio[keep - self._audio_start:]
            self._audio_start = keep

    @torch.inference_mode()
    def _generate(self, ready: int) -> np.ndarray:
        """Frames ``self._emitted .. ready - 1`` → ``(n, 52)`` from one generator pass over the window."""
        window = torch.stack(list(self._features))  # (W, audio_dim): feature frames settled - W .. settled - 1
        first = self._settled - len(window)
        with self._lock:
            styles = torch.stack([e[0] for e in self._mix])  # (K, style_dim)
            expressions = np.stack([e[3] for e in self._mix])  # (K, 52)
            shares = self._shares(ready - self._emitted)  # (n, K)
        out = self.animator.generator(window.expand(len(styles), -1, -1), styles).float().cpu().numpy()
        rows = np.arange(self._emitted, ready) - first
        frames = np.einsum("nk,knc->nc", shares, out[:, rows]).astype(np.float32)  # (n, 52)
        if self.audio_lips:
            heard = normalise_envelope(np.asarray(self._levels, np.float32))  # 0–1 by the last minute's loud speech
            rows = np.arange(self._emitted, ready) - (self._settled - len(heard))
            scale = opening_scale(heard[rows], speaking_level(heard))
            frames = shape_audio_lips(frames, shares @ expressions, scale)
        if self.blinks is not None:
            lids = np.stack([self.blinks.at(i) for i in range(self._emitted, ready)])
            frames[:, BLINKS] = np.maximum(frames[:, BLINKS], lids)
        return np.clip(frames, 0.0, 1.0)

    @property
    def delay_s(self) -> float:
        """The fixed part of the sound-to-face delay: the look-ahead and the features' reach, in seconds."""
        return self.lookahead / self.fps + SETTLE_SAMPLES / SAMPLE_RATE
