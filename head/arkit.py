"""The 52 ARKit blendshapes: names, regions, mirror pairs and conversions.

Every tool of the project reads and writes blendshape weights through this module.

* Canonical order: Apple's 52 ``ARFaceAnchor.BlendShapeLocation`` names sorted alphabetically
  (``browDownLeft`` … ``tongueOut``), the order MediaPipe and most datasets use.
* ``Left``/``Right`` are the *subject's* left and right, as in ARKit.
* Weights are floats in [0, 1]. Values outside are clipped (``clip=True``, the default);
  NaN and inf are always rejected.
* JSON form used everywhere: ``{"blendshapes": {"browDownLeft": 0.0, ...}}`` with all 52 keys
  in canonical order.
* CSV form: one row per frame, the 52 names as columns. Live Link Face CSVs (``Timecode``,
  ``BlendShapeCount``, then capitalised names, then head/eye rotation columns) are read too,
  and can be written for Unreal.
"""

from __future__ import annotations

import csv
import difflib
import io
import json
import math
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np

BLENDSHAPE_NAMES: tuple[str, ...] = (
    "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight",
    "cheekPuff", "cheekSquintLeft", "cheekSquintRight",
    "eyeBlinkLeft", "eyeBlinkRight", "eyeLookDownLeft", "eyeLookDownRight",
    "eyeLookInLeft", "eyeLookInRight", "eyeLookOutLeft", "eyeLookOutRight",
    "eyeLookUpLeft", "eyeLookUpRight", "eyeSquintLeft", "eyeSquintRight",
    "eyeWideLeft", "eyeWideRight",
    "jawForward", "jawLeft", "jawOpen", "jawRight",
    "mouthClose", "mouthDimpleLeft", "mouthDimpleRight", "mouthFrownLeft", "mouthFrownRight",
    "mouthFunnel", "mouthLeft", "mouthLowerDownLeft", "mouthLowerDownRight",
    "mouthPressLeft", "mouthPressRight", "mouthPucker", "mouthRight",
    "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper",
    "mouthSmileLeft", "mouthSmileRight", "mouthStretchLeft", "mouthStretchRight",
    "mouthUpperUpLeft", "mouthUpperUpRight",
    "noseSneerLeft", "noseSneerRight",
    "tongueOut",
)
NUM_BLENDSHAPES = len(BLENDSHAPE_NAMES)
INDEX: dict[str, int] = {name: i for i, name in enumerate(BLENDSHAPE_NAMES)}

GROUP_NAMES: tuple[str, ...] = ("brow", "eye", "cheek", "nose", "jaw", "mouth", "tongue")
GROUPS: dict[str, tuple[str, ...]] = {
    group: tuple(n for n in BLENDSHAPE_NAMES if n.startswith(group)) for group in GROUP_NAMES
}


def _mirror_name(name: str) -> str:
    """The name of the mirrored shape: ``Left`` ↔ ``Right`` anywhere in the name."""
    if "Left" in name:
        return name.replace("Left", "Right")
    if "Right" in name:
        return name.replace("Right", "Left")
    return name


MIRROR: dict[str, str] = {name: _mirror_name(name) for name in BLENDSHAPE_NAMES}
MIRROR_PAIRS: tuple[tuple[str, str], ...] = tuple(
    (name, MIRROR[name]) for name in BLENDSHAPE_NAMES if "Left" in name
)
MIRROR_PERMUTATION: np.ndarray = np.array([INDEX[MIRROR[n]] for n in BLENDSHAPE_NAMES])

# Live Link Face (Unreal) spells names with a capital first letter and orders them by region.
LIVE_LINK_FACE_ORDER: tuple[str, ...] = (
    "eyeBlinkLeft", "eyeLookDownLeft", "eyeLookInLeft", "eyeLookOutLeft", "eyeLookUpLeft",
    "eyeSquintLeft", "eyeWideLeft", "eyeBlinkRight", "eyeLookDownRight", "eyeLookInRight",
    "eyeLookOutRight", "eyeLookUpRight", "eyeSquintRight", "eyeWideRight",
    "jawForward", "jawRight", "jawLeft", "jawOpen", "mouthClose", "mouthFunnel", "mouthPucker",
    "mouthRight", "mouthLeft", "mouthSmileLeft", "mouthSmileRight", "mouthFrownLeft",
    "mouthFrownRight", "mouthDimpleLeft", "mouthDimpleRight", "mouthStretchLeft",
    "mouthStretchRight", "mouthRollLower", "mouthRollUpper", "mouthShrugLower",
    "mouthShrugUpper", "mouthPressLeft", "mouthPressRight", "mouthLowerDownLeft",
    "mouthLowerDownRight", "mouthUpperUpLeft", "mouthUpperUpRight", "browDownLeft",
    "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight", "cheekPuff",
    "cheekSquintLeft", "cheekSquintRight", "noseSneerLeft", "noseSneerRight", "tongueOut",
)
LIVE_LINK_FACE_EXTRA_COLUMNS: tuple[str, ...] = (
    "HeadYaw", "HeadPitch", "HeadRoll", "LeftEyeYaw", "LeftEyePitch", "LeftEyeRoll",
    "RightEyeYaw", "RightEyePitch", "RightEyeRoll",
)
# The app's BlendShapeCount column: the 52 shapes plus the 9 rotations, the curves that follow it.
LIVE_LINK_FACE_CURVE_COUNT = NUM_BLENDSHAPES + len(LIVE_LINK_FACE_EXTRA_COLUMNS)
# Columns a blendshape CSV may carry besides the 52 names; they are ignored on reading.
IGNORED_CSV_COLUMNS: frozenset[str] = frozenset(
    c.lower() for c in ("Timecode", "BlendShapeCount", "frame", "time", "timestamp",
                        *LIVE_LINK_FACE_EXTRA_COLUMNS)
)
_LOWER_TO_NAME: dict[str, str] = {n.lower(): n for n in BLENDSHAPE_NAMES}


class BlendshapeError(ValueError):
    """Raised for blendshape input that cannot be used; the message says what is accepted."""


def canonical_name(name: str) -> str:
    """Return the canonical spelling of ``name`` (case-insensitive, e.g. ``JawOpen``).

    Raises:
        BlendshapeError: naming the nearest valid names when ``name`` is not one of the 52.
    """
    found = _LOWER_TO_NAME.get(name.strip().lower())
    if found is not None:
        return found
    close = difflib.get_close_matches(name, BLENDSHAPE_NAMES, n=3, cutoff=0.5)
    hint = f"did you mean {', '.join(close)}?" if close else "see head.arkit.BLENDSHAPE_NAMES"
    raise BlendshapeError(f"Unknown blendshape name {name!r}: {hint}")


def _check_finite(values: np.ndarray, what: str) -> None:
    if not np.all(np.isfinite(values)):
        bad = np.argwhere(~np.isfinite(values))[0]
        raise BlendshapeError(
            f"{what} contains NaN or infinity (first at index {tuple(int(i) for i in bad)}); "
            "weights must be finite numbers in [0, 1]."
        )


def validate(weights: np.ndarray, clip: bool = True, what: str = "Blendshape weights") -> np.ndarray:
    """Check an array of weights whose last axis is 52 and return it as float32.

    Args:
        weights: ``(..., 52)`` array in canonical order.
        clip: clip to [0, 1] (the documented behaviour); when False values outside raise.
    Returns:
        ``(..., 52)`` float32 array.
    """
    arr = np.asarray(weights, dtype=np.float32)
    if arr.ndim == 0 or arr.shape[-1] != NUM_BLENDSHAPES:
        raise BlendshapeError(
            f"{what} have shape {arr.shape}; expected a last axis of {NUM_BLENDSHAPES} values."
        )
    _check_finite(arr, what)
    if clip:
        return np.clip(arr, 0.0, 1.0)
    if arr.min(initial=0.0) < 0.0 or arr.max(initial=0.0) > 1.0:
        raise BlendshapeError(f"{what} has values outside [0, 1].")
    return arr


def from_dict(weights: Mapping[str, float], clip: bool = True) -> np.ndarray:
    """Turn ``{"jawOpen": 0.7, ...}`` (any subset; missing names are 0) into a ``(52,)`` vector.

    Also accepts the project's JSON form ``{"blendshapes": {...}}``, whose other keys (``prompt``,
    ``aus``, …) are ignored.
    """
    if not isinstance(weights, Mapping):
        raise BlendshapeError(
            f"Blendshape weights must be a mapping of names to numbers, got {type(weights).__name__}."
        )
    if "blendshapes" in weights:
        weights = weights["blendshapes"]
        if not isinstance(weights, Mapping):
            raise BlendshapeError('"blendshapes" must map names to numbers.')
    vec = np.zeros(NUM_BLENDSHAPES, dtype=np.float32)
    for name, value in weights.items():
        idx = INDEX[canonical_name(str(name))]
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise BlendshapeError(f"Weight of {name!r} is {value!r}; expected a number in [0, 1].") from None
        if not math.isfinite(number):
            raise BlendshapeError(f"Weight of {name!r} is {value!r}; weights must be finite numbers in [0, 1].")
        vec[idx] = number
    return validate(vec, clip=clip)


def to_dict(vector: np.ndarray) -> dict[str, float]:
    """``(52,)`` vector → ``{name: weight}`` with all 52 names in canonical order."""
    if np.shape(vector) != (NUM_BLENDSHAPES,):
        raise BlendshapeError(f"Expected one frame of shape (52,), got shape {np.shape(vector)}.")
    vec = validate(vector, clip=False, what="Blendshape vector")
    return {name: round(float(v), 6) for name, v in zip(BLENDSHAPE_NAMES, vec)}


def strongest(vector: np.ndarray, count: int = 5, minimum: float = 0.05) -> list[tuple[str, float]]:
    """The ``count`` largest weights of a ``(52,)`` vector at or above ``minimum``, as ``(name, weight)``."""
    vec = validate(np.asarray(vector).reshape(NUM_BLENDSHAPES), clip=False)
    order = np.argsort(-vec, kind="stable")[:count]
    return [(BLENDSHAPE_NAMES[i], float(vec[i])) for i in order if vec[i] >= minimum]


def to_json(vector: np.ndarray) -> str:
    """``(52,)`` vector → the project's JSON text ``{"blendshapes": {...}}``."""
    return json.dumps({"blendshapes": to_dict(vector)}, indent=2)


def parse_weights(text_or_path: str | Path) -> np.ndarray:
    """Read weights from JSON text or a JSON file (either form of :func:`from_dict`) → ``(52,)``."""
    source = str(text_or_path)
    stripped = source.strip()
    if stripped.startswith("{"):
        origin, text = "The weights JSON text", stripped
    else:
        path = Path(source)
        if not path.is_file():
            raise BlendshapeError(
                f"{source!r} is neither JSON text starting with '{{' nor an existing JSON file."
            )
        origin, text = f"The weights file {path}", path.read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise BlendshapeError(f"{origin} is not valid JSON ({err.msg} at line {err.lineno}).") from None
    return from_dict(data)


def frames_from_json(data: object, clip: bool = True) -> np.ndarray:
    """The project's JSON of one or many frames → ``(frames, 52)``.

    Accepts an animation ``{"fps": 30, "frames": [{"jawOpen": 0.2, ...}, ...], ...}`` (as
    ``python -m expclip animate --json`` writes it), a bare list of frames, or one expression in
    either form of :func:`from_dict` (one frame).
    """
    if isinstance(data, Mapping) and "frames" in data:
        data = data["frames"]
    if not isinstance(data, list):
        return from_dict(data, clip=clip)[None]  # type: ignore[arg-type]
    if not data:
        raise BlendshapeError("The JSON holds an empty list of frames; expected at least one.")
    frames = []
    for i, frame in enumerate(data):
        try:
            frames.append(from_dict(frame, clip=clip))
        except BlendshapeError as err:
            raise BlendshapeError(f"Frame {i}: {err}") from None
    return np.stack(frames)


def read_frames(text_or_path: str | Path, clip: bool = True) -> tuple[np.ndarray, float | None]:
    """Per-frame weights from a CSV file (:func:`read_csv`), a JSON file or JSON text
    (:func:`frames_from_json`) → ``((frames, 52), fps)``; ``fps`` is the JSON's ``"fps"``, else None."""
    source = str(text_or_path)
    if source.strip().startswith("{"):
        origin, text = "The weights JSON text", source.strip()
    else:
        path = Path(source)
        if path.suffix.lower() == ".csv":
            return read_csv(path, clip=clip), None
        if not path.is_file():
            raise BlendshapeError(f"{source!r} is not an existing CSV or JSON file (nor JSON text starting with '{{').")
        origin = f"The weights file {path}"
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (UnicodeDecodeError, OSError) as err:
            raise BlendshapeError(f"{origin} could not be read as UTF-8 text ({err}).") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise BlendshapeError(f"{origin} is not valid JSON ({err.msg} at line {err.lineno}); "
                              "give a .csv file or the project's JSON.") from None
    fps = data.get("fps") if isinstance(data, Mapping) else None
    if fps is not None and not (isinstance(fps, (int, float)) and math.isfinite(fps) and fps > 0):
        raise BlendshapeError(f"{origin} has \"fps\": {fps!r}; expected a positive number.")
    return frames_from_json(data, clip=clip), (float(fps) if fps is not None else None)


def mirror(weights: np.ndarray) -> np.ndarray:
    """Swap left and right: ``(..., 52)`` → ``(..., 52)``."""
    return np.asarray(weights)[..., MIRROR_PERMUTATION]


def _csv_column_index(header: Iterable[str], source: str) -> dict[int, int]:
    """Map CSV column positions to blendshape indices, ignoring known extra columns."""
    mapping: dict[int, int] = {}
    for col, raw in enumerate(header):
        name = raw.strip()
        if not name or name.lower() in IGNORED_CSV_COLUMNS:
            continue
        try:
            mapping[col] = INDEX[canonical_name(name)]
        except BlendshapeError as err:
            raise BlendshapeError(f"{source}: column {col + 1}: {err}") from None
    if not mapping:
        raise BlendshapeError(
            f"{source} has no blendshape columns; expected a header with ARKit names such as jawOpen."
        )
    return mapping


def read_csv(path: str | Path, clip: bool = True) -> np.ndarray:
    """Read a blendshape CSV (project or Live Link Face layout) → ``(frames, 52)`` float32.

    Columns absent from the file are 0; ``Timecode``, ``BlendShapeCount``, ``frame``, ``time`` and
    head/eye rotation columns are ignored.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise BlendshapeError(f"CSV file {path} does not exist.") from None
    except (UnicodeDecodeError, OSError) as err:
        raise BlendshapeError(f"CSV file {path} could not be read as UTF-8 text ({err}).") from None
    rows = list(csv.reader(io.StringIO(text)))
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if len(rows) < 2:
        raise BlendshapeError(f"CSV file {path} needs a header row and at least one frame row.")
    mapping = _csv_column_index(rows[0], f"CSV file {path}")
    frames = np.zeros((len(rows) - 1, NUM_BLENDSHAPES), dtype=np.float32)
    for r, row in enumerate(rows[1:], start=2):
        for col, idx in mapping.items():
            try:
                frames[r - 2, idx] = float(row[col])
            except (IndexError, ValueError):
                cell = row[col] if col < len(row) else "<missing>"
                raise BlendshapeError(
                    f"CSV file {path}, line {r}, column {rows[0][col]!r}: {cell!r} is not a number."
                ) from None
    return validate(frames, clip=clip, what=f"CSV file {path}")


def write_csv(path: str | Path, frames: np.ndarray, live_link_face: bool = False, fps: float = 30.0) -> Path:
    """Write ``(frames, 52)`` weights as CSV.

    The project layout has the 52 canonical names as header. ``live_link_face=True`` writes the layout
    of the Live Link Face app, which Unreal's Live Link Face importer reads: ``Timecode``,
    ``BlendShapeCount`` (61, the curves that follow, as the app writes), the 52 capitalised names in
    the app's order, then zero head/eye rotation columns. See :func:`_timecode` for the timecodes.
    """
    frames = validate(np.atleast_2d(frames), clip=False, what="Frames to write")
    if live_link_face and not (isinstance(fps, (int, float)) and math.isfinite(fps) and fps > 0):
        raise BlendshapeError(f"Frame rate {fps!r} is not a positive number of frames per second.")
    path = Path(path)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        if not live_link_face:
            writer.writerow(BLENDSHAPE_NAMES)
            writer.writerows([[f"{v:.6f}" for v in row] for row in frames])
            return path
        order = [INDEX[n] for n in LIVE_LINK_FACE_ORDER]
        writer.writerow(["Timecode", "BlendShapeCount",
                         *(n[0].upper() + n[1:] for n in LIVE_LINK_FACE_ORDER),
                         *LIVE_LINK_FACE_EXTRA_COLUMNS])
        base = _timecode_base(len(frames), fps)
        for i, row in enumerate(frames):
            writer.writerow([_timecode(i, fps, base), LIVE_LINK_FACE_CURVE_COUNT, *(f"{row[j]:.6f}" for j in order),
                             *(["0"] * len(LIVE_LINK_FACE_EXTRA_COLUMNS))])
    return path


def _timecode_base(count: int, fps: float) -> int:
    """The frame rate Live Link Face timecodes of a ``count``-frame clip at ``fps`` count in: 30 or 60.

    Unreal's importer knows only these two and takes 60 when some frame number exceeds 30, so a
    faster clip counts in 60 once it is long enough to show such a number, else in 30.
    """
    return 60 if fps > 30 and (count - 1) / fps >= 31 / 60 else 30


def _timecode(frame: int, fps: float, base: int = 30) -> str:
    """Live Link Face timecode ``HH:MM:SS:FF.fff`` of frame ``frame`` of a clip at ``fps``.

    ``FF`` counts frames at ``base`` frames per second and ``.fff`` is thousandths of a frame, which
    Unreal reads as a fractional frame, so clips at any rate (24, 25, 29.97, …) land at their times.
    Computed in whole thousandths of a frame, so rounding never repeats or skips a frame number.
    """
    seconds, thousandths = divmod(round(frame * base * 1000 / fps), base * 1000)
    return (f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}:"
            f"{thousandths // 1000:02d}.{thousandths % 1000:03d}")
