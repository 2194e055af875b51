"""Where the released checkpoints are: :func:`default_checkpoint` is the one place that looks.

    from expclip.paths import default_checkpoint
    default_checkpoint()                    # the ExpCLIP of expclip.load(): …/expclip-small
    default_checkpoint("generator-small")   # the speech generator of load_animator()

A checkpoint called ``NAME`` is searched, in order, in

1. ``$EXPCLIP_CHECKPOINTS/NAME`` (a folder of checkpoints a user keeps elsewhere);
2. ``checkpoints/NAME`` of the source checkout this package runs from;
3. the installed copy: ``pip install`` puts the released checkpoints inside the package
   (``expclip/_checkpoints/NAME``, see ``pyproject.toml``).

``$EXPCLIP_CHECKPOINT`` (singular) still names the ExpCLIP checkpoint itself, as before.
"""

from __future__ import annotations

import os
from pathlib import Path

CHECKPOINTS_ENV = "EXPCLIP_CHECKPOINTS"
EXPCLIP_ENV = "EXPCLIP_CHECKPOINT"  # the ExpCLIP checkpoint folder itself
EXPCLIP_SMALL, GENERATOR_SMALL = "expclip-small", "generator-small"
SOURCE_CHECKPOINTS = Path(__file__).resolve().parents[1] / "checkpoints"
INSTALLED_CHECKPOINTS = Path(__file__).resolve().parent / "_checkpoints"
_MARKER = "config.json"


def checkpoint_locations(name: str = EXPCLIP_SMALL) -> list[Path]:
    """The folders :func:`default_checkpoint` tries for ``name``, in order."""
    places = [Path(os.environ[CHECKPOINTS_ENV]).expanduser() / name] if os.environ.get(CHECKPOINTS_ENV) else []
    return places + [SOURCE_CHECKPOINTS / name, INSTALLED_CHECKPOINTS / name]


def default_checkpoint(name: str = EXPCLIP_SMALL) -> Path:
    """The folder of the released checkpoint ``name`` (``"expclip-small"`` or ``"generator-small"``), or a
    :class:`FileNotFoundError` naming where it looked (``$EXPCLIP_CHECKPOINT``, when set, is the ExpCLIP one)."""
    if name == EXPCLIP_SMALL and os.environ.get(EXPCLIP_ENV):
        return Path(os.environ[EXPCLIP_ENV]).expanduser()
    places = checkpoint_locations(name)
    for place in places:
        if (place / _MARKER).is_file():
            return place
    raise FileNotFoundError(f"No checkpoint {name!r} was found (looked in {', '.join(str(p) for p in places)}); "
                            f"set {CHECKPOINTS_ENV} to a folder holding {name}/ or pass a checkpoint folder.")

