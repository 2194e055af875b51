"""Blendshape fitting: detected landmarks → 52 weights in [0, 1] plus a similarity transform.

As in the paper's MEAD-3D construction, the weights are a bounded least-squares solve. The rig's
landmarks are linear in the weights, ``X(w) = N + sum_k w_k D_k`` (``(478, 3)`` centimetres, from
:mod:`head.correspondence`), and the detected landmarks ``P`` should be a scaled, rotated and
shifted copy of them. The fit alternates:

1. the similarity ``P ≈ s R X(w) + t`` for the current weights (weighted Umeyama, closed form);
2. the weights for that pose: minimise ``|| X(w) + small pose change - (R^T (P - t) / s) ||²`` with
   MediaPipe's depth counted less than the image-plane coordinates, plus an L2 and an L1 penalty
   per shape, under ``0 <= w <= 1``. The quadratic's matrix never changes (only its linear term follows
   the landmarks), so the unbounded unknowns are eliminated once at construction and each solve is an
   exact active-set box QP over the 52 weights (:func:`box_qp`; SciPy's SLSQP on all unknowns gave the
   same weights 17 times slower).

The penalties keep shapes the landmarks barely see (``cheekPuff``, ``mouthRoll*``) and the
difference between a person's face and the ICT head from turning into spurious expressions.

A person's own proportions (a wide mouth, low brows, narrow eyes) are not an expression. With
``identity_modes`` (the rig's ICT-FaceKit identity modes at the landmarks, the default of
:meth:`BlendshapeFitter.for_rig`) the face's shape is solved in the same step: 30 identity
coefficients, unbounded, with the prior ``c ~ N(0, 1)`` as an L2 penalty of ``identity_l2`` per
coefficient, so that the weights only explain what the rig's faces cannot. ``identity_l2`` = 0.3 was
chosen among 0.3, 1 and 3 on front renders of 12 random ICT faces (seeds 101–112, not those of
``python -m benchmarks.bench_identity``) making its 8 expressions: the readings of one expression on
different faces differ by MAE 0.036 (0.050 without identity modes); never on photos.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from threadpoolctl import ThreadpoolController

from head.arkit import BLENDSHAPE_NAMES, NUM_BLENDSHAPES
from head.geometry import PIXELS_TO_RIG_AXES, similarity

DEPTH_WEIGHT = 0.3  # MediaPipe's z is a guess from one image; trust it less than x and y
# Shapes to which landmark evidence is weak or easily faked by identity get a stronger L2 penalty.
_CAUTIOUS = ("cheekPuff", "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper",
             "noseSneerLeft", "noseSneerRight", "cheekSquintLeft", "cheekSquintRight", "jawForward")


@dataclass(frozen=True)
class FitResult:
    """Weights ``(52,)`` and the pose that maps rig centimetres to image pixels:
    ``pixels ≈ flip(scale * rotation @ x + translation)`` with ``flip`` = (x, -y, -z).

    ``rms`` is the root-mean-square landmark error after the fit, as a fraction of the eye distance;
    ``identity`` the face's ICT identity coefficients ``(30,)`` when the fitter solves them.
    """

    weights: np.ndarray
    scale: float
    rotation: np.ndarray
    translation: np.ndarray
    rms: float
    iterations: int
    identity: np.ndarray | None = None  # (30,) the face's identity coefficients, when the fit solved them


class BlendshapeFitter:
    """Fits the landmark model of a rig to detected landmarks.

    Args:
        neutral: ``(478, 3)`` rig landmarks at rest (centimetres, y up, z toward the viewer).
        deltas: ``(52, 478, 3)`` their offsets per shape.
        l2: L2 penalty per weight (in cm² of landmark error); ``l1``: L1 penalty (sparsity).
        iterations: pose/weights alternations.
        identity_modes: ``(M, 478, 3)`` landmark offsets of identity shape modes, solved with the weights
            (None: the face is the rig's own).
        identity_l2: L2 penalty per identity coefficient (the prior ``c ~ N(0, 1)``).
    """

    def __init__(self, neutral: np.ndarray, deltas: np.ndarray, l2: float = 1.0, l1: float = 0.2,
                 iterations: int = 4, identity_modes: np.ndarray | None = None, identity_l2: float = 0.3) -> None:
        self.neutral = np.asarray(neutral, np.float64)
        self.deltas = np.asarray(deltas, np.float64)
        self.iterations = iterations
        seen = np.abs(self.deltas).reshape(NUM_BLENDSHAPES, -1).max(1) > 1e-3
        self.upper = seen.astype(np.float64)  # shapes that move no landmark stay at 0
        self.l2 = np.full(NUM_BLENDSHAPES, l2)
        self.l2[[BLENDSHAPE_NAMES.index(n) for n in _CAUTIOUS]] *= 10.0
        self.l1 = l1
        self.identity_modes = (np.zeros((0, *self.neutral.shape)) if identity_modes is None
                               else np.asarray(identity_modes, np.float64))
        self.identity_l2 = identity_l2
        self.point_weight = np.ones(len(self.neutral))
        self._scale = np.sqrt(self.point_weight[:, None] * np.array([1.0, 1.0, DEPTH_WEIGHT])[None])  # (478, 3)
        centred = self.neutral - self.neutral.mean(0)
        pose = [np.broadcast_to(np.eye(3)[k], self.neutral.shape) for k in range(3)]  # shifts
        pose += [np.cross(np.eye(3)[k], centred) for k in range(3)]                    # small rotations
        pose += [centred]                                                               # size
        columns = np.concatenate([self.deltas, self.identity_modes, np.stack(pose)])  # (52 + M + 7, 478, 3)
        self._design = (columns * self._scale[None]).reshape(len(columns), -1)     # (52 + M + 7, 1434)
        self._reduce()

    def _reduce(self) -> None:
        """The quadratic ``x^T H x - 2 l^T x`` of every solve has the same ``H`` (the columns and penalties are
        fixed; only ``l`` follows the target): minimising it over the free unknowns ``y`` (identity, pose) gives
        ``y = H_yy^-1 (l_y - H_yw w)``, leaving ``w^T (H_ww - H_wy H_yy^-1 H_yw) w - 2 (l_w - ...)^T w`` in the
        weights alone. Stores that ``(52, 52)`` matrix, ``H_yy^-1 H_yw (M + 7, 52)`` and ``H_yy^-1``."""
        n, modes = NUM_BLENDSHAPES, len(self.identity_modes)
        penalty = np.concatenate([self.l2, np.full(modes, self.identity_l2), np.zeros(len(self._design) - n - modes)])
        hessian = self._design @ self._design.T + np.diag(penalty)
        self._free_inverse = np.linalg.inv(hessian[n:, n:])
        self._eliminated = self._free_inverse @ hessian[n:, :n]
        self._reduced = hessian[:n, :n] - hessian[:n, n:] @ self._eliminated

    @classmethod
    def for_rig(cls, rig=None, identities: bool = True, **options) -> "BlendshapeFitter":
        """A fitter for the (cached, default) ICT rig through its MediaPipe correspondence; ``identities``: solve
        the face's shape with its identity modes."""
        from head.correspondence import load_correspondence
        from head.rig import load_rig

        rig = rig or load_rig()
        correspondence = load_correspondence()
        neutral, deltas = correspondence.landmark_model(rig)
        modes = correspondence.points(rig.identity_modes) if identities else None
        return cls(neutral, deltas, identity_modes=modes, **options)

    def _model(self, weights: np.ndarray, identity: np.ndarray) -> np.ndarray:
        """Landmarks ``(478, 3)`` of the rig at ``weights (52,)`` on the face ``identity (M,)``."""
        return self.neutral + np.tensordot(weights, self.deltas, 1) + np.tensordot(identity, self.identity_modes, 1)

    def _solve_weights(self, target: np.ndarray, start: np.ndarray) -> np.ndarray:
        """Weights and identity coefficients ``(52 + M,)`` for landmarks ``target (478, 3)`` already roughly in the
        rig's frame, from the weights ``start (52,)`` (where the search for the shapes at their bounds begins).

        A small shift, rotation and change of size (linearised, free, unpenalised) are solved together
        with the weights: raising the brows or dropping the jaw also moves the landmarks' centre and
        spread, and MediaPipe's view of a shape carries a little head motion of its own, so without
        them the pose step and the weights step settle on a wrong compromise. The identity and pose
        unknowns are eliminated in closed form (:meth:`_reduce`), leaving a 52-weight box QP.
        """
        linear = self._design @ ((target - self.neutral) * self._scale).ravel()  # (52 + M + 7,)
        linear[:NUM_BLENDSHAPES] -= 0.5 * self.l1
        weights = box_qp(self._reduced, linear[:NUM_BLENDSHAPES] - self._eliminated.T @ linear[NUM_BLENDSHAPES:],
                         self.upper, start)
        others = self._free_inverse @ linear[NUM_BLENDSHAPES:] - self._eliminated @ weights  # identity, then pose
        return np.concatenate([weights, others[:len(self.identity_modes)]])

    def fit(self, pixels: np.ndarray) -> FitResult:
        """Pixel landmarks ``(478, 3)`` (x right, y down, z negative toward the camera) → :class:`FitResult`."""
        # Many tiny solves: BLAS threads only fight over the cores here (0.11 s per fit with one thread,
        # 1.9 s with two on a busy 2-core machine).
        with _threadpools().limit(limits=1, user_api="blas"):
            return self._fit(np.asarray(pixels, np.float64))

    def without_identity(self, pixels: np.ndarray, fitted: FitResult) -> np.ndarray:
        """Pixel landmarks ``(478, 3)`` with the face's own shape taken out: the offsets of the ``fitted`` identity
        coefficients (rig centimetres) moved into the image by the fit's pose and subtracted, leaving the rig's mean
        face making the same expression (the same ``pixels`` when the fit solved no identity)."""
        if fitted.identity is None:
            return np.asarray(pixels, np.float64)
        return self.without_offsets(pixels, fitted, np.tensordot(fitted.identity.astype(np.float64),
                                                                 self.identity_modes, 1))

    @staticmethod
    def without_offsets(pixels: np.ndarray, fitted: FitResult, offsets: np.ndarray) -> np.ndarray:
        """Pixel landmarks ``(478, 3)`` less landmark ``offsets (478, 3)`` in rig centimetres, moved into the image by
        the ``fitted`` pose (scaled and turned as the face is)."""
        offsets = np.asarray(offsets, np.float64)
        return np.asarray(pixels, np.float64) - fitted.scale * offsets @ fitted.rotation.T * PIXELS_TO_RIG_AXES

    def _fit(self, pixels: np.ndarray) -> FitResult:
        if pixels.shape != self.neutral.shape:
            raise ValueError(f"Expected landmarks of shape {self.neutral.shape}, got {pixels.shape}.")
        target = pixels * PIXELS_TO_RIG_AXES
        weights, identity = np.zeros(NUM_BLENDSHAPES), np.zeros(len(self.identity_modes))
        for _ in range(self.iterations):
            s, rotation, t = similarity(self._model(weights, identity), target, self.point_weight)
            in_rig = (target - t) @ rotation / s
            solved = self._solve_weights(in_rig, weights)  # the whole face's identity, solved afresh each time
            weights, identity = solved[:NUM_BLENDSHAPES], solved[NUM_BLENDSHAPES:]
        model = self._model(weights, identity)
        s, rotation, t = similarity(model, target, self.point_weight)
        residual = s * model @ rotation.T + t - target
        eyes = np.linalg.norm(pixels[[33, 133]].mean(0) - pixels[[263, 362]].mean(0))
        rms = float(np.sqrt((residual[:, :2] ** 2).sum(1).mean()) / max(eyes, 1e-6))
        return FitResult(weights.astype(np.float32), s, rotation, t, rms, self.iterations,
                         identity.astype(np.float32) if len(identity) else None)


@lru_cache(maxsize=1)
def _threadpools() -> ThreadpoolController:
    """The process's BLAS thread pools (found once: looking them up costs more than a solve)."""
    return ThreadpoolController()


def box_qp(hessian: np.ndarray, linear: np.ndarray, upper: np.ndarray, start: np.ndarray,
           max_steps: int = 500) -> np.ndarray:
    """The exact minimiser ``(n,)`` of ``w^T H w - 2 l^T w`` under ``0 <= w <= upper`` (``H (n, n)`` positive
    definite, ``l (n,)``, ``upper (n,)``): a primal active-set method (Lawson and Hanson's, for two bounds) from
    ``start (n,)``. Each step solves the shapes off their bounds with the others held; when that leaves the box it
    moves only as far as the box allows and holds what it hit, else it frees the held shape whose gradient pulls
    it inward most, until none does (the KKT conditions)."""
    w = np.clip(start, 0.0, upper)
    free = (w > 0.0) & (w < upper)
    tolerance = 1e-9 * max(1.0, float(np.abs(linear).max()))
    for _ in range(max_steps):
        target = w.copy()
        if free.any():
            rest = linear[free] - hessian[np.ix_(free, ~free)] @ w[~free]
            target[free] = np.linalg.solve(hessian[np.ix_(free, free)], rest)
        if np.all((target >= 0.0) & (target <= upper)):
            w = target
            pull = linear - hessian @ w  # minus half the gradient: where each shape would like to go
            movable = ~free & (upper > 0.0)
            wants = np.where(movable & (w <= 0.0), pull, 0.0) - np.where(movable & (w >= upper), pull, 0.0)
            best = int(np.argmax(wants))
            if wants[best] <= tolerance:
                return w
            free[best] = True
        else:
            step = target - w
            with np.errstate(divide="ignore", invalid="ignore"):
                room = np.where(step < 0, -w / step, np.where(step > 0, (upper - w) / step, np.inf))
            alpha = float(np.clip(room[free].min(), 0.0, 1.0))
            w = np.clip(w + alpha * step, 0.0, upper)
            hit = free & ((room <= alpha + 1e-12) | (w <= 0.0) | (w >= upper))
            w[hit & (step < 0)] = 0.0
            w[hit & (step > 0)] = upper[hit & (step > 0)]
            free &= ~hit
    return w


@lru_cache(maxsize=1)
def default_fitter() -> BlendshapeFitter:
    """The process-wide fitter for the default rig."""
    return BlendshapeFitter.for_rig()
