"""Which face the head has: ICT-FaceKit identity coefficients, from a seed, a file or the default head.

ICT-FaceKit's identity model is linear: a face is the neutral mesh plus ``sum_i w_i (identity_i -
neutral)`` over its shape modes, with ``w_i ~ N(0, 1)`` for a random plausible face (ICT's own
``Scripts/sample_random.py``). The rig carries the first :data:`NUM_IDENTITY_MODES` modes
(:attr:`head.rig.Rig.identity_modes`); the blendshape deltas are then added on top, as ICT does.

:func:`parse_identity` reads what a user types (``--identity`` and the app's face number):

* ``""``, ``"neutral"``, ``"default"`` or ``"0"``: the default head (all coefficients zero, today's look);
* a whole number ``1 … 4294967295``: a seed; the same seed always gives the same face
  (``numpy.random.default_rng(seed)``, 30 standard-normal draws);
* ``"random"``: a fresh seed, reported in :attr:`Identity.label` so that the face can be made again;
* a path to a ``.json`` file: a list of coefficients, or an object with ``"identity_coefficients"``
  (ICT's ``sample_data/sample_identity_coeffs.json`` format, which this module also writes); values
  past the 30th are ignored (the rig has 30 modes) and missing ones are zero.
"""

from __future__ import annotations

import json
import math
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

NUM_IDENTITY_MODES = 30
MAX_SEED = 2**32 - 1
RANDOM_SEEDS = 999_999  # "random" picks a seed up to this
MAX_COEFFICIENT = 5.0  # standard deviations; beyond this a face is no longer a plausible one
NEUTRAL_WORDS = ("", "neutral", "default")
ACCEPTED = ("'neutral' (the default head), 'random', a seed (a whole number; 0 is the default head) "
            "or a .json file of identity coefficients")


class IdentityError(ValueError):
    """Raised for an identity that cannot be read; the message says what is accepted."""


@dataclass(frozen=True, eq=False)
class Identity:
    """One face shape.

    Attributes:
        coefficients: ``(30,)`` float32 weights of the identity modes (zeros: the default head).
        seed: the seed the face was drawn from, when it was.
        source: where the coefficients came from (a file name), when not from a seed.
    """

    coefficients: np.ndarray = field(default_factory=lambda: np.zeros(NUM_IDENTITY_MODES, np.float32))
    seed: int | None = None
    source: str | None = None

    def __post_init__(self) -> None:
        values = np.asarray(self.coefficients, np.float32).reshape(-1)
        if values.shape != (NUM_IDENTITY_MODES,):
            raise IdentityError(f"An identity has {NUM_IDENTITY_MODES} coefficients, not {values.size}.")
        values.setflags(write=False)
        object.__setattr__(self, "coefficients", values)

    @property
    def is_neutral(self) -> bool:
        """Whether this is the default head (every coefficient zero)."""
        return not self.coefficients.any()

    @property
    def key(self) -> bytes:
        """A hashable key of the face shape (equal faces, equal keys)."""
        return self.coefficients.tobytes()

    @property
    def label(self) -> str:
        """A short description: ``default head``, ``face 42`` or the file name."""
        if self.is_neutral:
            return "default head"
        if self.seed is not None:
            return f"face {self.seed}"
        return self.source or "custom face"

    def describe(self) -> str:
        """One line for a command's output: which face, and how to make it again."""
        if self.seed is not None and not self.is_neutral:
            return f"Face: {self.label} (--identity {self.seed} makes it again)"
        return f"Face: {self.label}"

    def to_json(self) -> dict:
        """The coefficients (and seed) in the format :func:`parse_identity` reads back."""
        payload: dict = {"identity_coefficients": [round(float(v), 6) for v in self.coefficients]}
        if self.seed is not None:
            payload["seed"] = self.seed
        return payload


NEUTRAL = Identity()


def sample_identity(seed: int, std: float = 1.0) -> Identity:
    """The face of ``seed``: 30 draws of ``N(0, std²)`` from ``numpy.random.default_rng(seed)``.

    Seed 0 is the default head (all zeros), so that the app's face number 0 shows today's head.
    """
    if not 0 <= int(seed) <= MAX_SEED:
        raise IdentityError(f"The face seed {seed} is out of range; use a whole number from 0 to {MAX_SEED}.")
    if int(seed) == 0:
        return NEUTRAL
    draws = np.random.default_rng(int(seed)).standard_normal(NUM_IDENTITY_MODES) * float(std)
    return Identity(draws.astype(np.float32), seed=int(seed))


def random_seed() -> int:
    """A fresh face seed, 1 … :data:`RANDOM_SEEDS` (short enough to read out and type again)."""
    return 1 + secrets.randbelow(RANDOM_SEEDS)


def random_identity() -> Identity:
    """A face from a fresh random seed (its seed is kept, so it can be made again)."""
    return sample_identity(random_seed())


def identity_from_values(values: object, source: str) -> Identity:
    """Coefficients from a JSON list or ``{"identity_coefficients": [...]}`` (``source`` names them in errors)."""
    if isinstance(values, dict):
        if "identity_coefficients" not in values:
            raise IdentityError(f"{source} has no \"identity_coefficients\" list; give a JSON list of numbers or "
                                "an object {\"identity_coefficients\": [...]}.")
        values = values["identity_coefficients"]
    if (not isinstance(values, list) or not values
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)):
        raise IdentityError(f"{source} should hold a non-empty list of identity coefficients (numbers).")
    if not all(math.isfinite(v) and abs(v) <= MAX_COEFFICIENT for v in values):
        raise IdentityError(f"{source} has a coefficient that is not a number within ±{MAX_COEFFICIENT:g} "
                            "(they are in standard deviations of ICT-FaceKit's identity model).")
    coefficients = np.zeros(NUM_IDENTITY_MODES, np.float32)
    used = values[:NUM_IDENTITY_MODES]
    coefficients[: len(used)] = used
    return Identity(coefficients, source=source)


def load_identity(path: str | Path) -> Identity:
    """An identity from a JSON file (see the module docstring for the format)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise IdentityError(f"The identity file {path} does not exist; give {ACCEPTED}.")
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise IdentityError(f"The identity file {path} is not valid JSON ({error}).") from None
    found = identity_from_values(values, path.name)
    seed = values.get("seed") if isinstance(values, dict) else None
    if isinstance(seed, int) and 0 < seed <= MAX_SEED and np.allclose(
            sample_identity(seed).coefficients, found.coefficients, atol=1e-5):
        return sample_identity(seed)  # a file this module wrote for a seed: the face of that seed
    return found


def parse_identity(given: str | int | float | Identity | None) -> Identity:
    """What a user gave as ``--identity`` or the app's face number → an :class:`Identity`.

    Accepts None/``""``/``"neutral"``/``"default"``/0 (the default head), ``"random"``, a seed
    (a whole number, as text or a number) or the path of a ``.json`` file of coefficients.
    """
    if given is None or isinstance(given, Identity):
        return given or NEUTRAL
    if isinstance(given, (int, float)) and not isinstance(given, bool):
        if not (math.isfinite(given) and float(given).is_integer() and given >= 0):
            raise IdentityError(f"The face number {given!r} is not a seed; use a whole number from 0 to {MAX_SEED}.")
        return sample_identity(int(given))
    text = str(given).strip()
    if text.lower() in NEUTRAL_WORDS:
        return NEUTRAL
    if text.lower() == "random":
        return random_identity()
    if text.isdigit():
        return sample_identity(int(text))
    if text.lower().endswith(".json") or Path(text).expanduser().is_file():
        return load_identity(text)
    raise IdentityError(f"{text!r} is not an identity; give {ACCEPTED}.")
