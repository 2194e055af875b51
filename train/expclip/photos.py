"""Real-photo evaluation: does the image path read a labelled photo as a person would, and does text find it?

    python -m train.expclip eval-photos --checkpoint checkpoints/expclip-small      # $EXPCLIP_ASSET_MIRROR/faces
    python -m train.expclip eval-photos --folder photos/ --markdown photos.md

A photo's label comes from its name, ``<anything>.<label>.<ext>`` (the Yale files:
``yale_subject04.sleepy.gif``), or from the folder it is in (``photos/wink/1.jpg``); :data:`LABELS` lists
the labels understood and their other spellings. Photos with no known label are left out.

What "agrees" means, per label (:func:`agreement`; a pair ``xLeft``/``xRight`` counts as the mean of
the two, and a shape at 0.3 or more counts as visible, :data:`VISIBLE`):

* ``normal`` (neutral, relaxed): no shape above 0.3;
* ``happy``: ``mouthSmile`` ≥ 0.3;
* ``surprised``: the brows raised (``browInnerUp`` or ``browOuterUp`` ≥ 0.3) and the eyes wide or the
  jaw dropped (``eyeWide`` or ``jawOpen`` ≥ 0.3);
* ``sad``: a sad sign (``mouthFrown``, ``browInnerUp`` or ``mouthShrugLower`` ≥ 0.3: AU15, AU1, AU17) and
  no smile (``mouthSmile`` < 0.3);
* ``sleepy`` (eyes closed): both ``eyeBlink`` ≥ 0.7;
* ``wink``: one ``eyeBlink`` ≥ 0.7 and the other ≤ 0.4;
* ``angry``: ``browDown`` ≥ 0.3 and no smile (the relaxed faces' brows stay under 0.3 by their own rule).

These rules were written before any change was measured against them and are not tuned to a set of photos.
Retrieval (:func:`retrieval_precision`): for each plain query of :data:`QUERIES` whose label the folder
holds, the share of the top ``k`` photos (text → photo through :func:`expclip.gallery.retrieve`) that
carry that label.
"""

from __future__ import annotations

import tempfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from head import arkit

VISIBLE = 0.3     # a shape at least this strong is visible
BLINK_SHUT = 0.7  # an eye at least this closed is shut
BLINK_OPEN = 0.4  # an eye at most this closed is open (a wink's other eye)

LABELS: dict[str, tuple[str, ...]] = {  # label → other spellings (in names and folder names)
    "normal": ("neutral", "relaxed"), "happy": ("smile", "smiling"), "surprised": ("surprise",),
    "sad": ("sadness",), "sleepy": ("eyes_closed", "closed"), "wink": ("winking",), "angry": ("anger",),
}
QUERIES: dict[str, str] = {  # a plain text query → the label it asks for
    "smiling": "happy", "eyes closed": "sleepy", "winking": "wink", "angry scowl": "angry",
    "surprised": "surprised", "sad": "sad", "neutral face": "normal",
}
_SPELLINGS = {spelling: label for label, others in LABELS.items() for spelling in (label, *others)}


def photo_label(path: str | Path) -> str | None:
    """The label of a photo from its name (``name.label.ext``) or its folder, or None."""
    path = Path(path)
    parts = path.stem.lower().split(".")
    if len(parts) > 1 and parts[-1] in _SPELLINGS:
        return _SPELLINGS[parts[-1]]
    return _SPELLINGS.get(path.parent.name.lower())


def side_means(weights: np.ndarray) -> dict[str, float]:
    """``weights (52,)`` → each shape by name, plus each Left/Right pair's mean under the name without its side."""
    values = arkit.to_dict(np.asarray(weights, np.float32))
    for name in list(values):
        if name.endswith("Left") and name[:-4] + "Right" in values:
            values[name[:-4]] = (values[name] + values[name[:-4] + "Right"]) / 2
    return values


def agreement(label: str, weights: np.ndarray) -> tuple[bool, dict[str, float]]:
    """Whether ``weights (52,)`` agree with ``label`` by the module's rules, and the values the rule looked at."""
    v = side_means(weights)
    blinks = sorted((v["eyeBlinkLeft"], v["eyeBlinkRight"]))
    if label == "normal":
        strongest = max(arkit.BLENDSHAPE_NAMES, key=lambda n: v[n])
        return v[strongest] <= VISIBLE, {strongest: v[strongest]}
    if label == "happy":
        return v["mouthSmile"] >= VISIBLE, {"mouthSmile": v["mouthSmile"]}
    if label == "surprised":
        brows, opened = max(v["browInnerUp"], v["browOuterUp"]), max(v["eyeWide"], v["jawOpen"])
        return brows >= VISIBLE and opened >= VISIBLE, {"brows_up": brows, "eyes_wide_or_jaw": opened}
    if label == "sad":
        sign = max(v["mouthFrown"], v["browInnerUp"], v["mouthShrugLower"])
        return sign >= VISIBLE and v["mouthSmile"] < VISIBLE, {"sad_sign": sign, "mouthSmile": v["mouthSmile"]}
    if label == "sleepy":
        return blinks[0] >= BLINK_SHUT, {"eyeBlink_min": blinks[0], "eyeBlink_max": blinks[1]}
    if label == "wink":
        return blinks[1] >= BLINK_SHUT and blinks[0] <= BLINK_OPEN, {"eyeBlink_min": blinks[0],
                                                                      "eyeBlink_max": blinks[1]}
    if label == "angry":
        return v["browDown"] >= VISIBLE and v["mouthSmile"] < VISIBLE, {"browDown": v["browDown"],
                                                                        "mouthSmile": v["mouthSmile"]}
    raise ValueError(f"Unknown label {label!r}; known labels: {', '.join(LABELS)}.")


@dataclass
class PhotoReading:
    """One labelled photo read by the image pipeline: ``weights (52,)``, the rule's verdict and its values."""

    path: str
    label: str
    weights: np.ndarray
    agrees: bool
    values: dict[str, float]
    seconds: float

    def to_json(self) -> dict:
        top = np.argsort(-self.weights)[:4]
        return {"photo": Path(self.path).name, "label": self.label, "agrees": self.agrees,
                **{k: round(float(x), 3) for k, x in self.values.items()},
                "top": {arkit.BLENDSHAPE_NAMES[i]: round(float(self.weights[i]), 2) for i in top},
                "ms": round(1000 * self.seconds, 1)}


def labelled_photos(folder: str | Path) -> list[tuple[Path, str]]:
    """The photos under ``folder`` with a known label, sorted by path (or a one-sentence error)."""
    from expclip.gallery import IMAGE_EXTENSIONS

    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise ValueError(f"The photo folder {folder} does not exist; give a folder of labelled photos.")
    found = [(p, photo_label(p)) for p in sorted(folder.rglob("*")) if p.suffix.lower() in IMAGE_EXTENSIONS]
    found = [(p, label) for p, label in found if label is not None]
    if not found:
        raise ValueError(f"{folder} holds no labelled photos; name them like face.happy.jpg or put them in folders "
                         f"named after the label ({', '.join(LABELS)}).")
    return found


def read_photos(folder: str | Path, pipe, method: str = "auto") -> list[PhotoReading]:
    """Every labelled photo of ``folder`` read by the image pipeline ``pipe`` with ``method``."""
    import time

    readings = []
    for path, label in labelled_photos(folder):
        start = time.perf_counter()
        weights = pipe.analyse(path, method=method).weights
        seconds = time.perf_counter() - start
        agrees, values = agreement(label, weights)
        readings.append(PhotoReading(str(path), label, weights, agrees, values, seconds))
    return readings


def summarise(readings: list[PhotoReading]) -> dict[str, dict]:
    """Per label and ``"all"``: photos, how many agree, the share, and the mean of each value the rule looked at."""
    groups: dict[str, list[PhotoReading]] = defaultdict(list)
    for reading in readings:
        groups[reading.label].append(reading)
    summary = {}
    for label in [*(lab for lab in LABELS if lab in groups), "all"]:
        rows = readings if label == "all" else groups[label]
        agree = sum(r.agrees for r in rows)
        summary[label] = {"photos": len(rows), "agree": agree, "share": agree / len(rows)}
        if label == "normal":
            summary[label]["mean_strongest"] = float(np.mean([max(side_means(r.weights)[n] for n in
                                                                  arkit.BLENDSHAPE_NAMES) for r in rows]))
        elif label != "all":
            for key in rows[0].values:
                summary[label][f"mean_{key}"] = float(np.mean([r.values[key] for r in rows]))
    summary["all"]["mean_ms"] = float(1000 * np.mean([r.seconds for r in readings]))
    summary["all"]["browDown_of_relaxed"] = float(np.mean([side_means(r.weights)["browDown"] for r in groups["normal"]])) \
        if groups["normal"] else float("nan")
    return summary


def retrieval_precision(folder: str | Path, text_pipe, image_pipe, k: int = 5,
                        queries: dict[str, str] | None = None) -> dict[str, dict]:
    """Per query of ``queries`` (default :data:`QUERIES`) whose label the folder holds: the top ``k`` photos and
    the share carrying the label (``precision``); ``"mean"`` is the mean over those queries."""
    from expclip.gallery import retrieve

    labels = {str(p.resolve()): label for p, label in labelled_photos(folder)}
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="expclip-photo-index-") as cache:
        for query, label in (queries or QUERIES).items():
            if label not in labels.values():
                continue
            hits = retrieve(query, folder, text_pipe, image_pipe, k=k, progress=False, cache=Path(cache))
            found = [labels.get(str(Path(h.path).resolve())) for h in hits]
            results[query] = {"label": label, "precision": sum(f == label for f in found) / k,
                              "top": [Path(h.path).name for h in hits]}
    if results:
        results["mean"] = {"precision": float(np.mean([r["precision"] for r in results.values()]))}
    return results


def markdown_table(summary: dict[str, dict], retrieval: dict[str, dict] | None = None, k: int = 5) -> str:
    """The per-label agreement (and retrieval precision) as Markdown."""
    lines = ["| label | photos | agree | share | rule's values (mean) |", "|---|---|---|---|---|"]
    for label, row in summary.items():
        values = ", ".join(f"{key[5:]} {value:.2f}" for key, value in row.items() if key.startswith("mean_")
                           and key != "mean_ms")
        lines.append(f"| {label} | {row['photos']} | {row['agree']} | {row['share']:.0%} | {values} |")
    if retrieval:
        lines += ["", f"| query | label | precision@{k} |", "|---|---|---|"]
        lines += [f"| {q} | {r.get('label', '')} | {r['precision']:.0%} |" for q, r in retrieval.items()]
    return "\n".join(lines) + "\n"


def default_folder() -> Path:
    """``$EXPCLIP_ASSET_MIRROR/faces`` (the Yale photos), or a one-sentence error when the variable is unset."""
    import os

    mirror = os.environ.get("EXPCLIP_ASSET_MIRROR")
    if not mirror:
        raise ValueError("No photo folder: give --folder or set EXPCLIP_ASSET_MIRROR to an asset mirror with faces/.")
    return Path(mirror) / "faces"


def evaluate_folder(checkpoint: str | Path | None, folder: str | Path | None, method: str = "auto", k: int = 5,
                    markdown: str | Path | None = None) -> dict:
    """Read, score and search a labelled folder; print JSON lines (each photo, each label, each query) and return
    ``{"summary", "retrieval"}``; ``markdown`` also gets :func:`markdown_table`."""
    import json

    from expclip.image_pipeline import load_image_pipeline
    from expclip.pipeline import load

    folder = Path(folder) if folder is not None else default_folder()
    image_pipe = load_image_pipeline(checkpoint)
    readings = read_photos(folder, image_pipe, method)
    for reading in readings:
        print(json.dumps({"eval": "photos", **reading.to_json()}))
    summary = summarise(readings)
    for label, row in summary.items():
        print(json.dumps({"eval": "photos_label", "label": label, "method": method,
                          **{key: round(v, 3) if isinstance(v, float) else v for key, v in row.items()}}))
    retrieval = retrieval_precision(folder, load(checkpoint), image_pipe, k) if image_pipe.has_projector else {}
    for query, row in retrieval.items():
        print(json.dumps({"eval": "photos_retrieval", "query": query, "k": k, **row}))
    if markdown is not None:
        Path(markdown).write_text(markdown_table(summary, retrieval, k), encoding="utf-8")
    return {"summary": summary, "retrieval": retrieval}
