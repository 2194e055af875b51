"""Speech → facial animation: :func:`load_animator` and :class:`Animator`.

    from expclip.animation import load_animator
    animator = load_animator()                       # checkpoints/generator-small + its ExpCLIP
    clip = animator.animate("speech.wav", prompt="quietly furious", intensity=0.8)
    clip.frames                                      # (frames, 52) at clip.fps (30)
    clip = animator.animate("speech.wav", timeline=[(0.0, "calm"), (4.5, "furious")])
    clip = animator.animate("speech.wav", image="face.jpg")

The style of a prompt is made the way training made it: the prompt's expression (text → P_text → D,
or a photo's weights) is scaled by ``intensity`` and encoded by the frozen copy of ExpCLIP's E that
the generator carries. Long audio is
generated in overlapping windows that are cross-faded, so there are no seams; a timeline generates
the clip under each of its styles and cross-fades between them over ``TRANSITION_S``, so the lips
stay in sync through a change of mood. Natural blinks are added on top (:mod:`expclip.motion`).
"""

from __future__ import annotations

import hashlib

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from expclip.checkpoint import load_generator, read_config
from expclip.encoders import create_encoder
from expclip.generator import Generator
from expclip.motion import blinks as blink_track
from expclip.paths import GENERATOR_SMALL, default_checkpoint
from expclip.pipeline import TextToExpression, load
from head.arkit import INDEX, NUM_BLENDSHAPES

WINDOW_S = 8.0
OVERLAP_S = 1.0
TRANSITION_S = 0.6
BLINKS = [INDEX["eyeBlinkLeft"], INDEX["eyeBlinkRight"]]


class AnimationError(ValueError):
    """A request the animator cannot carry out; the message says what to change."""


@dataclass
class Animation:
    """A generated clip: ``frames (T, 52)`` at ``fps``, the 16 kHz ``audio (samples,)`` it follows."""

    frames: np.ndarray
    fps: float
    audio: np.ndarray
    sample_rate: int
    styles: list[dict]
    notes: list[str] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return len(self.frames) / self.fps

    def to_json(self) -> dict:
        from head import arkit

        return {"fps": self.fps, "frames": [arkit.to_dict(f) for f in self.frames], "styles": self.styles,
                "notes": self.notes}


def timeline_mix(starts: Sequence[float], frames: int, fps: float, transition_s: float = TRANSITION_S) -> np.ndarray:
    """Per-frame share of each timeline entry, ``(frames, K)``, rows summing to 1, eased over ``transition_s``."""
    starts = np.asarray(starts, np.float64)
    times = np.arange(frames) / fps
    active = np.clip(np.searchsorted(starts, times, side="right") - 1, 0, len(starts) - 1)
    mix = np.eye(len(starts), dtype=np.float64)[active]
    width = max(1, int(round(transition_s * fps)))
    if len(starts) > 1 and width > 1:
        kernel = np.hanning(width + 2)[1:-1]
        kernel /= kernel.sum()
        padded = np.pad(mix, ((width, width), (0, 0)), mode="edge")
        mix = np.stack([np.convolve(padded[:, k], kernel, mode="same") for k in range(len(starts))], 1)[width:-width]
    return (mix / mix.sum(1, keepdims=True)).astype(np.float32)


def window_starts(frames: int, window: int, overlap: int) -> list[int]:
    """Starts of the windows that cover ``frames``: every ``window - overlap`` frames, the last ending at the end."""
    if frames <= window:
        return [0]
    starts = list(range(0, frames - window, window - overlap))
    return starts + [frames - window]


class Animator:
    """A trained generator with the ExpCLIP model whose E made its styles and its audio front end."""

    def __init__(self, generator: Generator, expressions: TextToExpression, audio_encoder,
                 expclip_checkpoint: str | Path | None = None) -> None:
        self.generator = generator
        self.expressions = expressions
        self.expclip_checkpoint = expclip_checkpoint  # its image pipeline reads photos (None: the released one)
        self.audio_encoder = audio_encoder
        self.fps = generator.config.fps
        self._image_pipeline = None
        self._aligned: tuple[tuple[str, str], object] | None = None  # the latest clip's alignment (or its error)

    @property
    def device(self) -> torch.device:
        return next(self.generator.parameters()).device

    # styles ---------------------------------------------------------------------------------------
    def prompt_expression(self, prompt: str, intensity: float = 1.0) -> tuple[np.ndarray, list[str]]:
        """A prompt's static expression (52,) scaled by ``intensity``; an empty prompt is neutral (said in the notes)."""
        if not prompt or not prompt.strip():
            return np.zeros(NUM_BLENDSHAPES, np.float32), ["No prompt given: the style is neutral."]
        weights = self.expressions.weights(prompt, intensity)[0]
        return weights, ["The prompt was cut to the text encoder's token limit."] if self.expressions.truncated else []

    def image_expression(self, image, intensity: float = 1.0) -> tuple[np.ndarray, list[str]]:
        """A face photo's expression (52,), read as the Image tab and ``python -m expclip image`` read it: the
        ExpCLIP checkpoint's image pipeline (its projector P_img with its image encoder, else a direct fit)."""
        if self._image_pipeline is None:
            from expclip.image_pipeline import load_image_pipeline

            self._image_pipeline = load_image_pipeline(self.expclip_checkpoint, self.device.type)
        result = self._image_pipeline.analyse(image, intensity=intensity)
        return result.weights, [f"Style from the photo ({result.method}).", *result.notes]

    @torch.inference_mode()
    def styles(self, expressions: np.ndarray) -> torch.Tensor:
        """Expressions (K, 52) → styles (K, style_dim): as speaking faces, through the generator's frozen E,
        as EPA made them in training."""
        expressions = torch.as_tensor(np.asarray(expressions, np.float32), device=self.device)
        return self.generator.style(self.generator.speaking_prompt(expressions))

    # generation -----------------------------------------------------------------------------------
    @torch.inference_mode()
    def features(self, audio: np.ndarray) -> torch.Tensor:
        """16 kHz samples (samples,) → speech features (frames, audio_dim)."""
        return self.audio_encoder.encode(np.asarray(audio, np.float32)).to(self.device)

    @torch.inference_mode()
    def generate(self, features: torch.Tensor, style: torch.Tensor, window_s: float = WINDOW_S,
                 overlap_s: float = OVERLAP_S) -> np.ndarray:
        """Features (T, audio_dim) + one style (style_dim,) → (T, 52), windows cross-faded over ``overlap_s``."""
        frames = len(features)
        window, overlap = int(round(window_s * self.fps)), int(round(overlap_s * self.fps))
        starts = window_starts(frames, window, overlap)
        length = min(window, frames)
        batch = torch.stack([features[s:s + length] for s in starts])
        outputs = self.generator(batch, style.expand(len(starts), -1)).float().cpu().numpy()
        total = np.zeros((frames, NUM_BLENDSHAPES), np.float64)
        weight = np.zeros((frames, 1), np.float64)
        fade = (np.arange(overlap) + 0.5) / max(overlap, 1)
        for i, (start, output) in enumerate(zip(starts, outputs)):
            w = np.ones(length)
            if overlap and i > 0:  # fade in where the previous window fades out
                w[:overlap] = fade
            if overlap and i < len(starts) - 1:
                w[-overlap:] = np.minimum(w[-overlap:], fade[::-1])
            total[start:start + length] += output * w[:, None]
            weight[start:start + length] += w[:, None]
        return (total / np.maximum(weight, 1e-8)).astype(np.float32)

    def animate(self, audio, prompt: str | None = None, *, image=None,
                timeline: Sequence[tuple[float, str]] | None = None, intensity: float = 1.0, blinks: bool = True,
                seed: int = 0, max_seconds: float | None = None, transcript: str | Path | None = None,
                phones: bool = True, alignment=None) -> Animation:
        """Speech under a prompt, a photo or a timeline of prompts → :class:`Animation`.

        ``audio``: a path (any format ffmpeg reads), a ``(sample_rate, samples)`` pair (any rate,
        mono or ``(samples, channels)``), or 16 kHz mono samples ``(samples,)``. With ``phones`` the
        speech's phones are aligned (``transcript``: the words said, or a text file of them; else a
        sidecar ``<stem>.txt`` beside an audio path, else Whisper) and the lips say them
        (:mod:`expclip.articulation`); speech that cannot be aligned keeps the audio-only lips (the
        generator's, narrowing with the loudness), and the notes say which it was. ``alignment``: this
        recording's :class:`expclip.alignment.Alignment` when the caller has already made it (it is then not
        aligned again).
        """
        from expclip.audio import MAX_SECONDS, SAMPLE_RATE, is_silent, load_speech, prepare_speech

        if sum(x is not None for x in (prompt, image, timeline)) > 1:
            raise AnimationError("Give one style: a prompt, an image or a timeline, not several.")
        if not 0.0 <= intensity <= 2.0:
            raise AnimationError(f"Intensity {intensity} is outside 0–2 (1 is the model's own strength).")
        limit = max_seconds or MAX_SECONDS
        if isinstance(audio, (str, Path)):
            samples = load_speech(audio, max_seconds=limit)
        elif isinstance(audio, tuple):
            samples = prepare_speech(audio[1], audio[0], max_seconds=limit)
        else:
            samples = prepare_speech(audio, SAMPLE_RATE, max_seconds=limit)
        notes: list[str] = []
        silent = is_silent(samples)
        if silent:
            notes.append("The recording is silent: the face keeps its style with the mouth at rest.")
        entries = self._timeline(prompt, image, timeline)
        expressions, styles_info = [], []
        for start, source in entries:
            if image is not None:
                expression, said = self.image_expression(source, intensity)
            else:
                expression, said = self.prompt_expression(source, intensity)
            expressions.append(expression)
            notes.extend(n for n in said if n not in notes)
            styles_info.append({"start": start, "prompt": source if image is None else str(source)})
        features = self.features(samples)
        styles = self.styles(np.stack(expressions))
        mix = timeline_mix([s for s, _ in entries], len(features), self.fps)
        frames = sum(self.generate(features, style) * mix[:, k:k + 1] for k, style in enumerate(styles))
        rest = mix @ np.stack(expressions)
        if phones and not silent:
            frames, said = self._articulate(frames, samples, audio, transcript, rest, alignment)
            notes.append(said)
        elif not silent:
            frames = self._audio_lips(frames, samples, rest)
        if blinks:
            lids, _ = blink_track(np.arange(len(frames)) / self.fps, np.random.default_rng(seed))
            frames[:, BLINKS] = np.maximum(frames[:, BLINKS], lids)
        return Animation(np.clip(frames, 0.0, 1.0).astype(np.float32), self.fps, samples, SAMPLE_RATE, styles_info, notes)

    def _articulate(self, frames: np.ndarray, samples: np.ndarray, audio, transcript,
                    rest: np.ndarray, aligned=None) -> tuple[np.ndarray, str]:
        """``frames (T, 52)`` with phone-aware lips, and the note saying which lips they are."""
        from expclip.alignment import AlignmentError, align, sidecar_transcript
        from expclip.articulation import articulate

        if aligned is None:
            if transcript is None and isinstance(audio, (str, Path)):
                transcript = sidecar_transcript(audio)
            key = (hashlib.sha1(samples.tobytes()).hexdigest(), str(transcript))
            if self._aligned is None or self._aligned[0] != key:  # side-by-side styles of one clip align it once
                try:
                    self._aligned = (key, align(samples, transcript))
                except AlignmentError as error:
                    self._aligned = (key, error)
            aligned = self._aligned[1]
        if isinstance(aligned, AlignmentError):
            return self._audio_lips(frames, samples, rest), aligned.fallback
        words = " ".join(aligned.transcript.split()[:8]) + (" …" if len(aligned.transcript.split()) > 8 else "")
        source = {"given": "the transcript given", "sidecar": "its .txt transcript", "whisper": "Whisper's transcript"}
        return (articulate(frames, aligned.phones, self.fps, rest, samples),
                f"Lips follow {len(aligned.words)} aligned words ({source.get(aligned.source, aligned.source)}: "
                f"“{words}”).")

    def _audio_lips(self, frames: np.ndarray, samples: np.ndarray, rest: np.ndarray) -> np.ndarray:
        """The lips where the phones are not known (:func:`expclip.articulation.audio_lips`): the generator's
        ``frames (T, 52)`` moving around the style's ``rest (T, 52)`` as the phone-aware lips do, narrowing with the
        loudness of ``samples``."""
        from expclip.articulation import audio_lips, opening_scale, speaking_level
        from expclip.lipsync import loudness

        level = loudness(samples, self.fps)
        return audio_lips(frames, rest, opening_scale(level, speaking_level(level)))

    @staticmethod
    def _timeline(prompt, image, timeline) -> list[tuple[float, object]]:
        if timeline is None:
            return [(0.0, image if image is not None else (prompt or ""))]
        entries = sorted((float(start), text) for start, text in timeline)
        if not entries:
            raise AnimationError("The emotion timeline is empty; give at least one (start second, prompt) pair.")
        if entries[0][0] < 0:
            raise AnimationError(f"Timeline start {entries[0][0]} s is negative; starts are seconds from 0.")
        if len({s for s, _ in entries}) != len(entries):
            raise AnimationError("Two timeline entries start at the same second; give each start once.")
        return [(0.0, entries[0][1])] + entries[1:] if entries[0][0] > 0 else entries


def load_animator(checkpoint: str | Path | None = None, expclip_checkpoint: str | Path | None = None,
                  device: str = "cpu", audio_encoder_weights: str | None = None) -> Animator:
    """Load a generator (the released small one by default) and an ExpCLIP (for prompts and photos)."""
    directory = Path(checkpoint) if checkpoint is not None else default_checkpoint(GENERATOR_SMALL)
    generator = load_generator(directory, device)
    training = read_config(directory).get("training", {})
    expressions = load(expclip_checkpoint, device)
    weights = audio_encoder_weights or training.get("audio_encoder_weights")
    audio_encoder = create_encoder(generator.config.audio_encoder, weights, device=device, kind="audio")
    return Animator(generator, expressions, audio_encoder, expclip_checkpoint)
