"""A gallery of prompts the templates never contain, rendered through a checkpoint (PNG + JSON lines).

    python -m train.expclip gallery --checkpoint checkpoints/expclip-small --out gallery.png

The PNG shows the ICT-FaceKit head, so it is made on the user's machine and not committed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

from PIL import Image

from expclip.pipeline import load

PROMPTS = (
    "like someone who just won the lottery", "a grumpy cat", "poker face", "AU4 brow lowerer and AU23 lip tightener",
    "she wrinkles her nose at the smell", "a proud, beaming smile", "quietly furious", "terrified of the dark",
    "heartbroken after the funeral", "bored out of my mind in a meeting", "jaw-dropping surprise", "a smug little smirk",
    "trying not to laugh", "deep in thought", "exhausted after a night shift", "eww, gross",
)


def top_shapes(weights, count: int = 4) -> str:
    from head.arkit import strongest

    return ", ".join(f"{name} {value:.2f}" for name, value in strongest(weights, count)) or "neutral"


def gallery(checkpoint: str | Path, out: str | Path, prompts: Sequence[str] = PROMPTS, size: int = 256) -> list[dict]:
    from render.renderer import render_still
    from render.video import grid_frame

    pipe = load(checkpoint)
    weights = pipe.weights(list(prompts))
    images = [render_still(w, size=size) for w in weights]
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(grid_frame(images, list(prompts), columns=4)).save(out)
    rows = [{"prompt": p, "top": top_shapes(w), "aus": pipe.explain(w)} for p, w in zip(prompts, weights)]
    out.with_suffix(".jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return rows
