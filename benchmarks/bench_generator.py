"""Speech → animation: speed per stage, and behaviour on real speech.

Speed, on a 10 s clip (espeak-ng speech made here, or the first real clip of the asset mirror):
load the animator, read the audio, speech features, generation (real-time factor, rendering
excluded), then the whole ``python -m expclip animate … --video`` path to an mp4 with sound.

On real speech (``$EXPCLIP_ASSET_MIRROR/speech``, never used for training), per clip: the
correlation between jawOpen and the speech envelope, and how "overjoyed" and "deeply sad" differ
(mean smile, frown and inner-brow weights) while the lips stay in sync (correlation of the two
clips' jawOpen tracks).

    python -m benchmarks.bench_generator [--generator DIR]    # default: the released generator-small
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.bench_expclip import REPO
from benchmarks.common import emitter

PROMPTS = ("overjoyed", "deeply sad")


emit = emitter("generator", digits=3)


def _ten_seconds_of_speech(folder: Path) -> Path:
    """A real clip cut to 10 s when the mirror is there, else espeak-ng reading a paragraph."""
    from expclip.audio import load_speech
    from expclip.clips import write_wav

    mirror = os.environ.get("EXPCLIP_ASSET_MIRROR")
    clips = sorted((Path(mirror) / "speech").glob("*.wav")) if mirror else []
    path = folder / "speech10.wav"
    if clips:
        samples = np.concatenate([load_speech(c) for c in clips])[: 10 * 16_000]
    else:
        from train.talking.espeak import engine

        text = ("I never thought the day would come. We packed the car before sunrise, drove for hours, and when we "
                "finally saw the sea, nobody said a word. Then everybody laughed at once.")
        samples = engine().synthesize(text).resampled(16_000).samples[: 10 * 16_000]
    write_wav(path, samples)
    return path


def _stage(name: str, function):
    start = time.perf_counter()
    result = function()
    emit(f"{name}_s", time.perf_counter() - start, "s")
    return result


def _real_speech(animator) -> None:
    from expclip.audio import load_speech
    from head.arkit import INDEX
    from expclip.lipsync import loudness

    mirror = os.environ.get("EXPCLIP_ASSET_MIRROR")
    for path in sorted((Path(mirror) / "speech").glob("*.wav")) if mirror else []:
        samples = load_speech(path)
        envelope = loudness(samples)
        clips = {p: animator.animate(samples, p, blinks=False).frames for p in PROMPTS}
        joy, sad = (clips[p] for p in PROMPTS)
        jaw = INDEX["jawOpen"]
        emit("jaw_envelope_correlation", float(np.corrcoef(joy[:, jaw], envelope[: len(joy)])[0, 1]), "r",
             clip=path.name)
        emit("jaw_sync_between_prompts", float(np.corrcoef(joy[:, jaw], sad[:, jaw])[0, 1]), "r", clip=path.name)
        for shape in ("mouthSmileLeft", "mouthFrownLeft", "browInnerUp", "browDownLeft"):
            emit(f"{shape}_overjoyed_minus_sad", float(joy[:, INDEX[shape]].mean() - sad[:, INDEX[shape]].mean()),
                 "weight", clip=path.name)


def main() -> None:
    from expclip.animation import load_animator
    from expclip.audio import load_speech

    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_generator", description=__doc__.split("\n")[0])
    parser.add_argument("--generator", type=Path, default=None,
                        help="a generator checkpoint folder (default: the released generator-small)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="expclip-bench-"))
    speech = _ten_seconds_of_speech(folder)
    animator = _stage("load_animator", lambda: load_animator(args.generator))
    samples = _stage("read_audio", lambda: load_speech(speech))
    features = _stage("speech_features", lambda: animator.features(samples))
    style = animator.styles(animator.prompt_expression("quietly furious")[0][None])[0]
    animator.generate(features, style)  # warm
    start = time.perf_counter()
    for _ in range(5):
        animator.generate(features, style)
    per_clip = (time.perf_counter() - start) / 5
    emit("generate_s", per_clip, "s")
    emit("generation_realtime_factor", len(samples) / 16_000 / per_clip, "x")
    start = time.perf_counter()
    chosen = ["--checkpoint", str(args.generator.resolve())] if args.generator else []
    subprocess.run([sys.executable, "-m", "expclip", "animate", str(speech), "--prompt", "quietly furious",
                    "--video", str(folder / "out.mp4"), *chosen], cwd=REPO, check=True, capture_output=True)
    emit("animate_10s_to_mp4_end_to_end_s", time.perf_counter() - start, "s")
    _real_speech(animator)


if __name__ == "__main__":
    main()
