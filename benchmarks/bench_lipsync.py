"""Lip sync on real recordings: does the mouth close on p/b/m, rest in pauses, open on vowels, round on o/u?

    python -m benchmarks.bench_lipsync                          # $EXPCLIP_SPEECH_DIR, else ../shared/assets/speech
    python -m benchmarks.bench_lipsync ~/voices a.wav --generator checkpoints/generator-small --prompt calm \\
        --json-lines lipsync.jsonl --markdown lipsync.md

For every recording (a folder's audio files, or files given as they are): phone timings by
:func:`expclip.alignment.align` (a sidecar ``<stem>.txt`` transcript when there is one, else Whisper
tiny.en offline), then the measures of :mod:`expclip.lipsync` on three mouths over the same timings:

* ``generator``: the released speech → animation generator (or ``--generator DIR``) under ``--prompt``, as
  ``Animator.animate`` makes it, with its phone-aware lips on the phones just aligned (``--audio-only``:
  the generator's own lips, ``phones=False``);
* ``envelope``: the loudness envelope as the mouth (jawOpen ∝ the normalised RMS level);
* ``rule``: the project's phone → viseme rule alone (:func:`expclip.visemes.rule_face`, coarticulated).

Prints one JSON line per figure (``{"bench": "lipsync", "metric", "value", "unit", "clip", "mouth"}``,
``clip`` ``"pooled"`` for all clips together; to ``--json-lines OUT`` instead of stdout when given), then a
markdown table with a row per clip and mouth and the pooled rows. A recording the aligner cannot handle
(no speech, not English, a transcript that does not match) is skipped with its one-sentence reason.
Not part of ``python -m benchmarks`` (it needs recordings, and takes about 2 s per clip plus loading).
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import sys
import time
from pathlib import Path

from benchmarks.bench_expclip import REPO

BENCH = "lipsync"
AUDIO = (".wav", ".mp3", ".flac", ".ogg", ".m4a")
MOUTHS = ("generator", "envelope", "rule")
TITLES = {"generator": "generator", "envelope": "loudness envelope as the mouth", "rule": "phone → viseme rule"}
UNITS = {"closure_rate": "share", "pause_vowel_ratio": "ratio", "open_vowel_aperture": "aperture",
         "envelope_r": "r", "lag_frames": "frames", "rounding": "weight"}


def default_folder() -> Path:
    """``$EXPCLIP_SPEECH_DIR``, else ``speech/`` of the asset mirror, else ``../shared/assets/speech``."""
    if os.environ.get("EXPCLIP_SPEECH_DIR"):
        return Path(os.environ["EXPCLIP_SPEECH_DIR"])
    mirror = os.environ.get("EXPCLIP_ASSET_MIRROR")
    if mirror:
        for candidate in (Path(mirror) / "speech", Path(mirror).parent / "speech"):
            if candidate.is_dir():
                return candidate
    return REPO.parent / "shared" / "assets" / "speech"


def recordings(places: list[Path]) -> list[Path]:
    """Audio files of the given folders (sorted) and files, in order, each once."""
    found: list[Path] = []
    for place in places:
        if place.is_dir():
            found += sorted(p for p in place.iterdir() if p.suffix.lower() in AUDIO and p.is_file())
        elif place.is_file():
            found.append(place)
        else:
            raise SystemExit(f"{place} is neither a folder nor an audio file; give folders of recordings or files.")
    return list(dict.fromkeys(found))


class Output:
    """JSON lines to stdout or a file, one per figure; NaN (nothing to measure) is left out."""

    def __init__(self, path: Path | None) -> None:
        self.file = open(path, "w", encoding="utf-8") if path else sys.stdout

    def emit(self, metric: str, value: float, unit: str, **extra) -> None:
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return
        line = {"bench": BENCH, "metric": metric, "value": round(float(value), 3), "unit": unit, **extra}
        print(json.dumps(line), file=self.file, flush=True)

    def close(self) -> None:
        if self.file is not sys.stdout:
            self.file.close()


def _cell(value: float, digits: int = 2) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def table(rows: list[tuple[str, str, object]]) -> str:
    """Markdown: one line per (clip, mouth, LipSyncStats)."""
    head = ("| clip | mouth | lips close on P/B/M | pause / vowel aperture | open-vowel aperture | envelope r "
            "| lag (frames) | rounding |")
    lines = [head, "|" + "---|" * 8]
    for clip, mouth, stats in rows:
        closures = f"{_cell(stats.closure_rate)} ({stats.closures}/{stats.bilabials})"
        lag = "–" if not math.isfinite(stats.lag_frames) else f"{stats.lag_frames:+.0f}"
        lines.append(f"| {clip} | {TITLES[mouth]} | {closures} | {_cell(stats.pause_vowel_ratio)} | "
                     f"{_cell(stats.open_vowel_aperture)} | {_cell(stats.envelope_r)} | {lag} | "
                     f"{_cell(stats.rounding)} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_lipsync", description=__doc__.split("\n")[0])
    parser.add_argument("places", nargs="*", type=Path, metavar="FOLDER",
                        help="folders of recordings or audio files (default: $EXPCLIP_SPEECH_DIR or "
                             "../shared/assets/speech)")
    parser.add_argument("--generator", type=Path, default=None, help="a generator checkpoint folder "
                                                                      "(default: the released generator-small)")
    parser.add_argument("--prompt", default="", help="the style the generator speaks in (default: neutral)")
    parser.add_argument("--audio-only", action="store_true",
                        help="the generator's lips from the audio alone (animate(..., phones=False)), where the "
                             "animator has phone-aware lips")
    parser.add_argument("--json-lines", type=Path, default=None, metavar="OUT",
                        help="write the JSON lines here instead of stdout")
    parser.add_argument("--markdown", type=Path, default=None, metavar="OUT",
                        help="also write the table (with the command and date) to this file")
    args = parser.parse_args(argv)

    from tqdm import tqdm

    from expclip.alignment import AlignmentError, align, aligner
    from expclip.animation import load_animator
    from expclip.lipsync import envelope_weights, loudness, measure, pool, viseme_weights

    places = args.places or [default_folder()]
    clips = recordings(places)
    if not clips:
        raise SystemExit(f"No recordings ({', '.join(AUDIO)}) in {', '.join(map(str, places))}.")
    out = Output(args.json_lines)
    started = time.perf_counter()
    animator = load_animator(args.generator)
    out.emit("load_animator_s", time.perf_counter() - started, "s")
    started = time.perf_counter()
    try:  # loaded once, outside the per-clip timings
        aligner().whisper()
    except AlignmentError as error:  # recordings with a sidecar transcript still align
        print(f"note: {error}", file=sys.stderr)
    out.emit("load_aligner_s", time.perf_counter() - started, "s")

    rows: list[tuple[str, str, object]] = []
    per_mouth: dict[str, list] = {m: [] for m in MOUTHS}
    audio_s = align_s = 0.0
    skipped: list[str] = []
    for path in tqdm(clips, desc="lip sync", unit="clip", file=sys.stderr):
        name = path.name
        started = time.perf_counter()
        try:
            timing = align(path)
        except AlignmentError as error:
            skipped.append(f"{name}: {error}")
            print(f"skipped {name}: {error}", file=sys.stderr)
            out.emit("aligned", 0.0, "bool", clip=name, reason=error.reason, note=str(error))
            continue
        spent = time.perf_counter() - started
        audio_s, align_s = audio_s + timing.duration, align_s + spent
        out.emit("alignment_s", spent, "s", clip=name, audio_s=round(timing.duration, 2), source=timing.source,
                 agreement=round(timing.agreement, 3),
                 **{stage: round(seconds, 3) for stage, seconds in timing.seconds_spent.items()})
        out.emit("alignment_speed", timing.duration / spent, "audio s per s", clip=name)
        for note in timing.notes:
            print(f"{name}: {note}", file=sys.stderr)
        started = time.perf_counter()
        clip = animator.animate(path, args.prompt, blinks=False, phones=not args.audio_only, alignment=timing)
        out.emit("animate_s", time.perf_counter() - started, "s", clip=name, notes=clip.notes)
        envelope = loudness(clip.audio, clip.fps)
        frames = len(clip.frames)
        mouths = {"generator": clip.frames, "envelope": envelope_weights(envelope)[:frames],
                  "rule": viseme_weights(timing.phones, frames, clip.fps, clip.audio)}
        for mouth, weights in mouths.items():
            stats = measure(weights, clip.fps, timing.phones, envelope)
            per_mouth[mouth].append(stats)
            rows.append((name, mouth, stats))
            for metric, unit in UNITS.items():
                out.emit(metric, getattr(stats, metric), unit, clip=name, mouth=mouth)
            out.emit("closures", stats.closures, "count", clip=name, mouth=mouth, bilabials=stats.bilabials)
    pooled_rows = []
    for mouth in MOUTHS:
        if per_mouth[mouth]:
            stats = pool(per_mouth[mouth])
            pooled_rows.append((f"pooled ({stats.clips} clip{'' if stats.clips == 1 else 's'})", mouth, stats))
            for metric, unit in UNITS.items():
                out.emit(metric, getattr(stats, metric), unit, clip="pooled", mouth=mouth)
            out.emit("closures", stats.closures, "count", clip="pooled", mouth=mouth, bilabials=stats.bilabials)
    if align_s:
        out.emit("alignment_speed", audio_s / align_s, "audio s per s", clip="pooled")
    out.close()

    text = table(rows + pooled_rows)
    if skipped:
        text += "\n\nSkipped (no phone timings):\n" + "\n".join(f"- {line}" for line in skipped)
    if align_s:
        text += (f"\n\nAlignment (reading, transcript, pocketsphinx and its check; models loaded beforehand): "
                 f"{align_s:.1f} s for {audio_s:.1f} s of audio, {align_s / audio_s:.3f} s per second of audio.")
    print(text)
    if args.markdown:
        command = "python -m benchmarks.bench_lipsync " + " ".join(sys.argv[1:] if argv is None else argv)
        stamp = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
        args.markdown.write_text(f"Command: `{command.strip()}`  \nDate: {stamp}  \nGenerator: "
                                 f"{args.generator or 'released generator-small'}, prompt "
                                 f"{args.prompt!r}{', audio-only lips' if args.audio_only else ''}\n\n{text}\n",
                                 encoding="utf-8")
    return 0 if rows else 1


if __name__ == "__main__":
    raise SystemExit(main())
