"""Weights → pixels: an offscreen pyrender (EGL) renderer of the ICT head.

One :class:`HeadRenderer` keeps one scene; each frame only rewrites the vertex buffers of its
parts (positions and smooth normals), so sequences render at video rate. The look:

* per-vertex albedo and gloss: skin with tinted lips, mouth socket, gums, teeth, sclera, iris;
  shaded by the project's skin shader (``render/shaders/``: wrap-around diffuse with a warm
  terminator, Blinn-Phong highlights), far cheaper than pyrender's PBR shader on llvmpipe;
* eyes: the sclera mesh is a whole eyeball whose front cap (the cornea) hides the iris, so the cap
  is cut away and the iris mesh is coloured per vertex (pupil, iris with a darker limbal ring);
  the transparent eye overlay shells and the eyelash cards are not drawn (see :mod:`head.rig`);
* a soft three-point light (key, fill, rim) plus ambient; front and three-quarter cameras;
* a solid background colour, or a transparent one (RGBA output);
* any face (:class:`head.identity.Identity`): its rest shape replaces the neutral mesh before the
  blendshapes are added; the looks are per vertex, so lips, irises and the cut cornea follow the face.

Anti-aliasing is pyrender's multisampled framebuffer with a configurable sample count: 4 for
stills, 0 (off) is about three times faster on a CPU rasteriser and suits video.
"""

from __future__ import annotations

import functools
import os

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import scipy.sparse

from head.arkit import validate
from head.identity import Identity
from head.rig import Rig, load_rig

VIEWS: tuple[str, ...] = ("front", "three-quarter")
EGL_PACKAGES = "libegl1 libegl-mesa0 libgl1-mesa-dri"

# Centimetres, Y up, face toward +Z (the rig's frame).
_LOOK_AT = np.array([0.0, 0.5, 2.0])
_CAMERA_DISTANCE = 95.0
_YFOV_DEGREES = 19.0
_VIEW_YAW_DEGREES = {"front": 0.0, "three-quarter": 35.0}

# Per-part albedo (linear RGB) and gloss in [0, 1] (strength and tightness of highlights).
_ALBEDO_GLOSS: dict[str, tuple[tuple[float, float, float], float]] = {
    "skin": ((0.78, 0.53, 0.42), 0.30),
    "mouth_socket": ((0.30, 0.08, 0.08), 0.2),
    "eye_sockets": ((0.22, 0.10, 0.09), 0.1),
    "gums_tongue": ((0.66, 0.24, 0.26), 0.6),
    "teeth": ((0.90, 0.87, 0.78), 0.7),
    "sclera": ((0.90, 0.87, 0.85), 0.8),
    "iris": ((0.30, 0.17, 0.08), 0.3),
}
_DOUBLE_SIDED = ("mouth_socket", "eye_sockets")
# Key, fill and rim: (direction the light shines along, intensity).
_LIGHTS: tuple[tuple[tuple[float, float, float], float], ...] = (
    ((0.5, -0.45, -1.0), 0.95), ((-0.8, -0.1, -0.6), 0.35), ((0.0, -0.5, 1.0), 0.5),
)
_LIP_COLOUR = np.array([0.62, 0.30, 0.29])
_AMBIENT = (0.22, 0.21, 0.21)  # the ambient light's colour unless set_look gives a level
_BROW_DROP_CM = 0.35  # an eyebrow's middle lies this far under the iBUG contour of its upper edge
_LIMBUS_COLOUR = np.array([0.10, 0.06, 0.04])
_PUPIL_COLOUR = np.array([0.015, 0.012, 0.012])
_IRIS_HALF_ANGLE = np.radians(28.0)   # angular radius of the iris seen from the eyeball centre
_PUPIL_HALF_ANGLE = np.radians(10.0)
_CORNEA_CUT_ANGLE = np.radians(29.0)  # sclera faces closer than this to the eye axis are cut away
# ICT's lashes are long cards meant for an alpha-textured shader; drawn opaque they read as thick
# black bands around the eyes, so they are not drawn.
_HIDDEN_PARTS = ("lashes",)
_SHADER_DIR = Path(__file__).with_name("shaders")


class RenderError(RuntimeError):
    """Raised when rendering cannot start; the message says what to install or change."""


def _sphere_fit(points: np.ndarray) -> tuple[np.ndarray, float]:
    """Least-squares sphere through ``(N, 3)`` points → centre ``(3,)`` and radius."""
    a = np.c_[2.0 * points, np.ones(len(points))]
    b = (points**2).sum(axis=1)
    solution = np.linalg.lstsq(a, b, rcond=None)[0]
    centre = solution[:3]
    return centre, float(np.sqrt(solution[3] + centre @ centre))


def _eye_frame(rig: Rig, side: str) -> tuple[np.ndarray, np.ndarray]:
    """Centre ``(3,)`` and forward axis ``(3,)`` of one eyeball in the neutral pose."""
    centre, _ = _sphere_fit(rig.neutral[np.unique(rig.parts[f"sclera_{side}"])])
    iris = rig.neutral[np.unique(rig.parts[f"iris_{side}"])] - centre
    front = iris[iris[:, 2] > 0].mean(axis=0)
    return centre, front / np.linalg.norm(front)


def _angle_from_axis(points: np.ndarray, centre: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """Angle in radians between ``(N, 3)`` points (seen from ``centre``) and ``axis``."""
    d = points - centre
    cos = (d @ axis) / np.maximum(np.linalg.norm(d, axis=1), 1e-9)
    return np.arccos(np.clip(cos, -1.0, 1.0))


def _iris_albedo(angle: np.ndarray) -> np.ndarray:
    """Albedo of iris-mesh vertices from their angle to the eye axis: ``(N,)`` → ``(N, 3)``."""
    iris = np.array(_ALBEDO_GLOSS["iris"][0])
    t = np.clip((angle - _PUPIL_HALF_ANGLE) / (_IRIS_HALF_ANGLE - _PUPIL_HALF_ANGLE), 0.0, 1.0)[:, None]
    ring = iris * (0.75 + 0.5 * t) * (1 - t**4) + _LIMBUS_COLOUR * t**4
    albedo = np.where(angle[:, None] < _PUPIL_HALF_ANGLE, _PUPIL_COLOUR, ring)
    # Just beyond the iris the mesh lies under the sclera's cut edge: white hides the cut's jagged
    # border. Its back half is seen only through the pupil: keep it dark.
    albedo = np.where(angle[:, None] > _IRIS_HALF_ANGLE, np.array(_ALBEDO_GLOSS["sclera"][0]), albedo)
    return np.where(angle[:, None] > np.pi / 2, _PUPIL_COLOUR, albedo)


def _lip_weight(rig: Rig, vertex_ids: np.ndarray) -> np.ndarray:
    """How much each skin vertex belongs to the lips, in [0, 1]: ``(n,)``.

    The lips are the skin in front of the mouth inside the outer lip contour (iBUG landmarks
    48-59), seen from the front, with a soft 2 mm edge.
    """
    from matplotlib.path import Path as Polygon

    contour = rig.neutral[rig.landmarks68[48:60]]
    points = rig.neutral[vertex_ids]
    polygon = Polygon(contour[:, :2])
    inside = polygon.contains_points(points[:, :2], radius=0.0)
    edges = np.stack([contour[:, :2], np.roll(contour[:, :2], -1, axis=0)], axis=1)  # (12, 2, 2)
    a, b = edges[:, 0], edges[:, 1]
    ab = b - a
    rel = points[:, None, :2] - a[None]
    t = np.clip((rel * ab).sum(-1) / (ab * ab).sum(-1), 0.0, 1.0)
    distance = np.linalg.norm(rel - t[..., None] * ab, axis=-1).min(axis=1)
    signed = np.where(inside, distance, -distance)
    weight = np.clip(0.5 + signed / 0.4, 0.0, 1.0)
    in_front = points[:, 2] > contour[:, 2].min() - 1.0
    return np.where(in_front, weight**0.7, 0.0)


def _brow_weight(rig: Rig, vertex_ids: np.ndarray) -> np.ndarray:
    """How much each vertex belongs to an eyebrow, in [0, 1]: ``(n,)``.

    ICT's head has no eyebrow hair, so a face detector finds its brows by the face's shape alone and barely
    sees them move. A brow is a band under each iBUG brow contour (landmarks 17-21 and 22-26, which trace the
    brow's upper edge), 1 cm thick at the inner end and 0.6 cm at the tail, with a soft 1.5 mm edge,
    measured in 3D so that it follows the brow round the side of the head. Painted on the skin's vertices,
    it moves with the brow shapes.
    """
    points = rig.neutral[vertex_ids]
    weight = np.zeros(len(points))
    rows = np.arange(len(points))
    for tail_to_inner in (range(17, 22), range(26, 21, -1)):
        line = rig.neutral[rig.landmarks68[list(tail_to_inner)]] - np.array([0.0, _BROW_DROP_CM, 0.0])
        a, ab = line[:-1], line[1:] - line[:-1]
        rel = points[:, None] - a[None]
        t = np.clip((rel * ab).sum(-1) / (ab * ab).sum(-1), 0.0, 1.0)  # (n, 4)
        distance = np.linalg.norm(rel - t[..., None] * ab, axis=-1)
        nearest = distance.argmin(axis=1)
        along = (nearest + t[rows, nearest]) / len(ab)  # 0 at the tail, 1 at the inner end
        half_thickness = 0.3 + 0.2 * along
        weight = np.maximum(weight, np.clip(0.5 + (half_thickness - distance[rows, nearest]) / 0.15, 0.0, 1.0))
    return weight


@dataclass
class _Part:
    """One rendered primitive: its rig vertices, local triangles and per-vertex albedo+gloss."""

    double_sided: bool
    vertex_ids: np.ndarray   # (n,) rig vertex indices
    triangles: np.ndarray    # (f, 3) indices into vertex_ids
    albedo_gloss: np.ndarray  # (n, 4) float32


def _build_parts(rig: Rig) -> list[_Part]:
    """Two primitives (single- and double-sided) with per-vertex looks; the cornea cap is cut away."""
    albedo_gloss = np.zeros((rig.num_vertices, 4), np.float32)
    chunks: dict[bool, list[np.ndarray]] = {False: [], True: []}
    for name, triangles in drawn_triangles(rig).items():
        material = name.split("_")[0] if name.startswith(("sclera", "iris")) else name
        ids = np.unique(rig.parts[name])
        colour, gloss = _ALBEDO_GLOSS[material]
        albedo_gloss[ids] = (*colour, gloss)
        if material == "iris":
            centre, axis = _eye_frame(rig, name.split("_")[1])
            albedo_gloss[ids, :3] = _iris_albedo(_angle_from_axis(rig.neutral[ids], centre, axis))
        if material == "skin":
            lips = _lip_weight(rig, ids)[:, None]
            albedo_gloss[ids, :3] = (1 - lips) * albedo_gloss[ids, :3] + lips * _LIP_COLOUR
            albedo_gloss[ids, 3] += 0.25 * lips[:, 0]
        chunks[material in _DOUBLE_SIDED].append(triangles)

    parts = []
    for double_sided, triangle_sets in chunks.items():
        vertex_ids, local = np.unique(np.concatenate(triangle_sets), return_inverse=True)
        parts.append(_Part(double_sided, vertex_ids, local.reshape(-1, 3).astype(np.uint32),
                           albedo_gloss[vertex_ids]))
    return parts


class _Normals:
    """Smooth per-vertex normals of a triangle set, welded across duplicated seam vertices."""

    def __init__(self, neutral: np.ndarray, parts: list[_Part]) -> None:
        self.triangles = np.concatenate([p.vertex_ids[p.triangles] for p in parts])  # (F, 3) rig ids
        used = np.unique(self.triangles)
        # Vertices at the same rest position share one normal, so seams between pieces do not show.
        keys = np.round(neutral[used] * 1e4).astype(np.int64)
        _, weld = np.unique(keys, axis=0, return_inverse=True)
        self.weld = np.zeros(len(neutral), np.int64)
        self.weld[used] = weld.ravel()
        faces = np.arange(len(self.triangles)).repeat(3)
        self.accumulate = scipy.sparse.csr_matrix(
            (np.ones(faces.size, np.float32), (self.weld[self.triangles.ravel()], faces)),
            shape=(int(weld.max()) + 1, len(self.triangles)),
        )

    def __call__(self, vertices: np.ndarray) -> np.ndarray:
        """``(V, 3)`` positions → ``(V, 3)`` unit normals (area-weighted)."""
        a, b, c = (vertices[self.triangles[:, k]] for k in range(3))
        face_normals = np.cross(b - a, c - a)
        welded = self.accumulate @ face_normals
        welded /= np.maximum(np.linalg.norm(welded, axis=1, keepdims=True), 1e-12)
        return welded[self.weld]


def drawn_triangles(rig: Rig) -> dict[str, np.ndarray]:
    """The triangles the renderer draws, per part: part name → ``(F, 3)`` rig vertex indices.

    Hidden parts are left out and the sclera has its cornea cap cut away, as in the images.
    """
    drawn = {}
    for name, triangles in rig.parts.items():
        if name in _HIDDEN_PARTS:
            continue
        if name.startswith("sclera"):
            centre, axis = _eye_frame(rig, name.split("_")[1])
            triangles = triangles[_angle_from_axis(rig.neutral[triangles].mean(axis=1), centre, axis) > _CORNEA_CUT_ANGLE]
        drawn[name] = triangles
    return drawn


def camera_position(view: str = "front") -> np.ndarray:
    """Where the camera of ``view`` is, in rig coordinates ``(3,)``."""
    return _camera_pose(view)[:3, 3].copy()


def _camera_pose(view: str) -> np.ndarray:
    """4x4 camera-to-world pose looking at the face from ``view``."""
    if view not in _VIEW_YAW_DEGREES:
        raise RenderError(f"Unknown view {view!r}; choose one of {', '.join(VIEWS)}.")
    yaw = np.radians(_VIEW_YAW_DEGREES[view])
    eye = _LOOK_AT + _CAMERA_DISTANCE * np.array([np.sin(yaw), 0.08, np.cos(yaw)])
    forward = _LOOK_AT - eye
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, [0.0, 1.0, 0.0])
    right /= np.linalg.norm(right)
    up = np.cross(right, forward)
    pose = np.eye(4)
    pose[:3, 0], pose[:3, 1], pose[:3, 2], pose[:3, 3] = right, up, -forward, eye
    return pose


def _light_pose(direction: Iterable[float]) -> np.ndarray:
    """Pose of a directional light shining along ``direction`` (pyrender lights shine along -Z)."""
    d = np.asarray(direction, float)
    z = -d / np.linalg.norm(d)
    x = np.cross([0.0, 1.0, 0.0], z)
    if np.linalg.norm(x) < 1e-6:
        x = np.array([1.0, 0.0, 0.0])
    x /= np.linalg.norm(x)
    pose = np.eye(4)
    pose[:3, 0], pose[:3, 1], pose[:3, 2] = x, np.cross(z, x), z
    return pose


def _import_pyrender():
    try:
        import pyrender
        from pyrender import renderer as pyrender_renderer
    except Exception as err:  # PyOpenGL raises several kinds when EGL is absent
        raise RenderError(
            f"OpenGL/EGL could not be loaded ({err}); install the Debian packages {EGL_PACKAGES} "
            "and keep PYOPENGL_PLATFORM=egl."
        ) from None
    return pyrender, pyrender_renderer


class HeadRenderer:
    """Offscreen renderer of the head rig.

    Args:
        rig: the head rig (default: the cached one).
        size: output width and height in pixels.
        samples: multisample anti-aliasing samples (4 for stills, 0 for fast video).
        background: RGB in [0, 1], or None for a transparent background (RGBA output).
    """

    def __init__(
        self,
        rig: Rig | None = None,
        size: int = 512,
        samples: int = 4,
        background: tuple[float, float, float] | None = (1.0, 1.0, 1.0),
    ) -> None:
        if not 16 <= int(size) <= 4096:
            raise RenderError(f"Image size {size} is out of range; use 16 to 4096 pixels.")
        if samples not in (0, 2, 4, 8):
            raise RenderError(f"Anti-aliasing samples {samples} not supported; use 0, 2, 4 or 8.")
        self.rig = rig if rig is not None else load_rig()
        self.size = int(size)
        self.samples = samples
        self.transparent = background is None
        self._parts = _build_parts(self.rig)
        self._normals = _Normals(self.rig.neutral, self._parts)
        pyrender, pyrender_renderer = _import_pyrender()
        self._pyrender = pyrender
        self._gl_module = pyrender_renderer

        bg = [0.0, 0.0, 0.0, 0.0] if background is None else [*background, 1.0]
        self._scene = pyrender.Scene(bg_color=bg, ambient_light=_AMBIENT)
        normals = self._normals(self.rig.neutral)
        self._primitives = []
        for part in self._parts:
            material = pyrender.MetallicRoughnessMaterial(doubleSided=part.double_sided)
            self._primitives.append(pyrender.Primitive(
                positions=self.rig.neutral[part.vertex_ids], normals=normals[part.vertex_ids],
                indices=part.triangles, color_0=part.albedo_gloss, material=material,
            ))
        self._scene.add(pyrender.Mesh(self._primitives))
        camera = pyrender.PerspectiveCamera(yfov=np.radians(_YFOV_DEGREES), znear=40.0, zfar=200.0)
        self._camera = self._scene.add(camera, pose=_camera_pose("front"))
        self._lights = [
            self._scene.add(pyrender.DirectionalLight(color=[1.0, 0.97, 0.93], intensity=intensity),
                            pose=_light_pose(direction))
            for direction, intensity in _LIGHTS
        ]
        skin = np.unique(self.rig.parts["skin"])
        self._skin_rows = [np.isin(part.vertex_ids, skin) for part in self._parts]
        self._base_albedo = [part.albedo_gloss.copy() for part in self._parts]
        try:
            self._offscreen = pyrender.OffscreenRenderer(self.size, self.size)
        except Exception as err:
            raise RenderError(
                f"Could not open an offscreen EGL context ({err}); install the Debian packages "
                f"{EGL_PACKAGES} and keep PYOPENGL_PLATFORM=egl."
            ) from None
        self._configure_gl()
        self._uploaded = False

    def _configure_gl(self) -> None:
        """Use the project's shaders and our multisample count (pyrender hard-codes 4 samples)."""
        module, samples = self._gl_module, self.samples

        class SampledRenderer(module.Renderer):
            def _configure_main_framebuffer(self) -> None:
                original = module.glRenderbufferStorageMultisample
                module.glRenderbufferStorageMultisample = (
                    lambda target, _samples, fmt, w, h: original(target, samples, fmt, w, h)
                )
                try:
                    super()._configure_main_framebuffer()
                finally:
                    module.glRenderbufferStorageMultisample = original

        self._offscreen._renderer.__class__ = SampledRenderer
        self._offscreen._renderer._program_cache = self._pyrender.shader_program.ShaderProgramCache(
            shader_dir=str(_SHADER_DIR)
        )

    def set_look(self, skin_tint: tuple[float, float, float] = (1.0, 1.0, 1.0),
                 lights: Iterable[tuple[Iterable[float], float]] | None = None, ambient: float | None = None,
                 brows: tuple[float, float, float, float] | None = None) -> None:
        """Change skin colour (a multiplier of the default albedo), the three lights ((direction, intensity)
        each; None = the defaults), the ambient level (None = the default) and the eyebrows (hair colour r, g, b
        and density in [0, 1], painted over the skin; None = none, the ICT head's look), for varied renders."""
        tint = np.asarray(skin_tint, np.float32)
        for k, (part, base, rows) in enumerate(zip(self._parts, self._base_albedo, self._skin_rows)):
            part.albedo_gloss[:] = base
            part.albedo_gloss[rows, :3] = np.clip(base[rows, :3] * tint, 0.0, 1.0)
            if brows is not None:
                cover = (np.clip(brows[3], 0.0, 1.0) * self._brows[k])[:, None].astype(np.float32)
                hair = np.asarray(brows[:3], np.float32)
                part.albedo_gloss[:, :3] = (1 - cover) * part.albedo_gloss[:, :3] + cover * hair
        for node, (direction, intensity) in zip(self._lights, list(lights) if lights is not None else _LIGHTS):
            node.light.intensity = float(intensity)
            self._scene.set_pose(node, _light_pose(direction))
        level = _AMBIENT if ambient is None else (ambient, ambient * 0.95, ambient * 0.95)
        self._scene.ambient_light = np.array(level)

    @functools.cached_property
    def _brows(self) -> list[np.ndarray]:
        """Per primitive, how much each skin vertex belongs to an eyebrow (only renders that paint brows need it)."""
        return [_brow_weight(self.rig, part.vertex_ids) * rows for part, rows in zip(self._parts, self._skin_rows)]

    def _upload(self, vertices: np.ndarray) -> None:
        """Rewrite every primitive's vertex buffer with new positions and normals."""
        from OpenGL import GL

        normals = self._normals(vertices)
        self._offscreen._platform.make_current()
        for part, primitive in zip(self._parts, self._primitives):
            columns = [vertices[part.vertex_ids], normals[part.vertex_ids]]
            columns.append(part.albedo_gloss)
            data = np.ascontiguousarray(np.hstack(columns), dtype=np.float32)
            GL.glBindBuffer(GL.GL_ARRAY_BUFFER, primitive._buffers[0])
            GL.glBufferSubData(GL.GL_ARRAY_BUFFER, 0, data.nbytes, data)
        GL.glBindBuffer(GL.GL_ARRAY_BUFFER, 0)

    def _draw(self) -> np.ndarray:
        flags = self._pyrender.RenderFlags.RGBA if self.transparent else self._pyrender.RenderFlags.NONE
        colour, _ = self._offscreen.render(self._scene, flags=flags)
        return np.ascontiguousarray(colour)

    def render_vertices(self, vertices: np.ndarray, view: str = "front") -> np.ndarray:
        """``(V, 3)`` rig positions → ``(size, size, 3)`` uint8 RGB (RGBA when transparent)."""
        self._scene.set_pose(self._camera, _camera_pose(view))
        if not self._uploaded:
            self._draw()  # pyrender creates the GL buffers here
            self._uploaded = True
        self._upload(np.asarray(vertices, np.float32))
        return self._draw()

    def render(self, weights: np.ndarray, view: str = "front", identity: Identity | None = None) -> np.ndarray:
        """``(52,)`` weights (clipped to [0, 1]) on ``identity``'s face (default: the ICT head) →
        ``(size, size, 3|4)`` uint8 image."""
        return self.render_vertices(self.rig.vertices(weights, identity), view)  # rig.vertices validates

    def render_sequence(self, frames: np.ndarray, view: str = "front",
                        identity: Identity | None = None) -> Iterator[np.ndarray]:
        """``(T, 52)`` weights → T images, one scene, only vertex buffers updated per frame."""
        frames = validate(np.atleast_2d(frames))
        for weights in frames:
            yield self.render(weights, view, identity)

    def project(self, points: np.ndarray, view: str = "front") -> np.ndarray:
        """Pixel coordinates ``(N, 2)`` (x right, y down) of ``(N, 3)`` rig-space points."""
        pose = _camera_pose(view)
        cam = (np.linalg.inv(pose) @ np.c_[points, np.ones(len(points))].T).T[:, :3]
        focal = 0.5 * self.size / np.tan(np.radians(_YFOV_DEGREES) / 2)
        x = focal * cam[:, 0] / -cam[:, 2] + self.size / 2
        y = -focal * cam[:, 1] / -cam[:, 2] + self.size / 2
        return np.c_[x, y]

    def close(self) -> None:
        """Free this renderer's GL objects and context.

        pyrender's own ``delete`` also terminates the EGL display, which every renderer in the
        process shares, and so breaks the others; only this renderer's context is destroyed here.
        """
        offscreen = getattr(self, "_offscreen", None)
        if offscreen is None:
            return
        from OpenGL import EGL

        platform = offscreen._platform
        platform.make_current()
        offscreen._renderer.delete()
        EGL.eglMakeCurrent(platform._egl_display, EGL.EGL_NO_SURFACE, EGL.EGL_NO_SURFACE, EGL.EGL_NO_CONTEXT)
        EGL.eglDestroyContext(platform._egl_display, platform._egl_context)
        self._offscreen = None

    def __enter__(self) -> "HeadRenderer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_THREAD_RENDERERS = threading.local()


def shared_renderer(size: int = 512, samples: int = 4, transparent: bool = False) -> HeadRenderer:
    """A renderer per thread and setting, so repeated stills stay warm (white background).

    Per thread because an EGL context belongs to the thread that made it: another thread drawing
    with it fails (EGL_BAD_ACCESS), and servers such as Gradio answer requests on worker threads.
    """
    renderers = getattr(_THREAD_RENDERERS, "by_setting", None)
    if renderers is None:
        renderers = _THREAD_RENDERERS.by_setting = {}
    key = (size, samples, transparent)
    if key not in renderers:
        renderers[key] = HeadRenderer(size=size, samples=samples, background=None if transparent else (1.0, 1.0, 1.0))
    return renderers[key]


def close_thread_renderers() -> None:
    """Close the shared renderers of the calling thread (call it before a worker thread ends)."""
    for renderer in getattr(_THREAD_RENDERERS, "by_setting", {}).values():
        renderer.close()
    _THREAD_RENDERERS.by_setting = {}


def render_still(weights: np.ndarray, view: str = "front", size: int = 512, transparent: bool = False,
                 identity: Identity | None = None) -> np.ndarray:
    """One anti-aliased image of the head (``identity``'s face; default the ICT head) making ``weights``
    ``(52,)`` → ``(size, size, 3|4)`` uint8."""
    return shared_renderer(size, 4, transparent).render(weights, view, identity)
