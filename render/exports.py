"""Every file the demo and ``python -m expclip`` hand to a user, written in one place.

* one expression: a PNG render, a JSON of the weights (and whatever the caller adds: prompt, AUs…)
  and a CSV of the 52 weights in canonical order;
* an animation: a Live Link Face CSV (Unreal), a JSON and a GLB of the head with its morph-target
  animation (Blender, three.js, Unreal).

Each writer takes the paths to write (``None`` skips that file), creates their folders, and returns
the paths it wrote, in the order given.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from head import arkit
from head.files import write_text_atomic
from head.identity import Identity
from render.gltf import write_glb


def write_png(path: str | Path, image: np.ndarray, fast: bool = False) -> Path:
    """An RGB image ``(H, W, 3)`` uint8 as PNG (``fast``: light compression, for files served at once)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(path, compress_level=1 if fast else 6)
    return path


def write_json(path: str | Path, payload: dict | list) -> Path:
    """``payload`` as indented JSON (written atomically)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, json.dumps(payload, indent=2) + "\n")
    return path


def write_expression(weights: np.ndarray, payload: dict | list, *, json_path: str | Path | None = None,
                     csv_path: str | Path | None = None) -> list[Path]:
    """One expression (or a few, ``(N, 52)``) as JSON (``payload``) and CSV (the weights)."""
    written = []
    if json_path is not None:
        written.append(write_json(json_path, payload))
    if csv_path is not None:
        Path(csv_path).parent.mkdir(parents=True, exist_ok=True)
        written.append(arkit.write_csv(csv_path, np.atleast_2d(weights)))
    return written


def write_animation(frames: np.ndarray, fps: float, payload: dict, *, csv_path: str | Path | None = None,
                    json_path: str | Path | None = None, glb_path: str | Path | None = None,
                    identity: Identity | None = None) -> list[Path]:
    """An animation ``(frames, 52)`` at ``fps`` as a Live Link Face CSV, a JSON (``payload``) and a GLB
    (whose base mesh is ``identity``'s face; default the ICT head's own)."""
    written = []
    if csv_path is not None:
        Path(csv_path).parent.mkdir(parents=True, exist_ok=True)
        written.append(arkit.write_csv(csv_path, frames, live_link_face=True, fps=fps))
    if json_path is not None:
        written.append(write_json(json_path, payload))
    if glb_path is not None:
        Path(glb_path).parent.mkdir(parents=True, exist_ok=True)
        written.append(write_glb(glb_path, frames, fps=fps, identity=identity))
    return written
