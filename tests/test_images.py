"""Image reading, MediaPipe landmarks and their normalisation, the rig correspondence and blendshape fitting."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from expclip.fitting import BlendshapeFitter, default_fitter
from expclip.images import MAX_SIDE, ImageError, load_image
from expclip.landmarks import FaceNotFound, detect, normalise, shared_detector
from head.arkit import BLENDSHAPE_NAMES
from head.correspondence import load_correspondence
from head.geometry import PIXELS_TO_RIG_AXES, similarity

FACES = Path(os.environ.get("EXPCLIP_ASSET_MIRROR", "/nonexistent")) / "faces"


def _weights(**values: float) -> np.ndarray:
    w = np.zeros(len(BLENDSHAPE_NAMES), np.float32)
    for name, value in values.items():
        w[BLENDSHAPE_NAMES.index(name)] = value
    return w


@pytest.fixture(scope="module")
def face_render(renderer) -> np.ndarray:
    return renderer.render(np.zeros(52))


# --- reading images -------------------------------------------------------------------------------

def test_formats_modes_and_exif(tmp_path: Path) -> None:
    rgb = np.zeros((40, 60, 3), np.uint8)
    rgb[:, :30] = (255, 0, 0)
    gray = Image.fromarray(rgb[..., 0])
    gray.save(tmp_path / "g.png")
    assert load_image(tmp_path / "g.png").shape == (40, 60, 3)
    rgba = np.dstack([rgb, np.full((40, 60), 0, np.uint8)])
    assert (load_image(rgba) == 255).all()  # fully transparent → white
    image = Image.fromarray(rgb)
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    image.save(tmp_path / "r.jpg", exif=exif)
    upright = load_image(tmp_path / "r.jpg")
    assert upright.shape == (60, 40, 3) and upright[0, -1, 0] > 200 and upright[-1, -1, 0] < 60


def test_huge_images_are_scaled_down() -> None:
    big = np.zeros((3000, 4000, 3), np.uint8)
    assert max(load_image(big).shape[:2]) == MAX_SIDE


def test_a_pdf_named_jpg_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    path.write_bytes(b"%PDF-1.4 not an image")
    with pytest.raises(ImageError, match="not an image; give a JPEG"):
        load_image(path)


def test_truncated_jpeg_and_missing_file(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (200, 200, 3), dtype=np.uint8)).save(buffer, "JPEG")
    (tmp_path / "cut.jpg").write_bytes(buffer.getvalue()[:2000])
    with pytest.raises(ImageError, match="damaged or truncated"):
        load_image(tmp_path / "cut.jpg")
    with pytest.raises(ImageError, match="does not exist"):
        load_image(tmp_path / "nope.jpg")


# --- landmarks ------------------------------------------------------------------------------------

def test_landmarks_of_the_rendered_head(face_render: np.ndarray) -> None:
    face = detect(face_render)
    assert face.points.shape == (478, 3) and face.faces_found == 1
    x0, y0, x1, y1 = face.box
    assert 0 < x0 < x1 < 256 and 0 < y0 < y1 < 256
    # the subject's right eye (landmark 33) is on the image's left
    assert face.points[33, 0] < face.points[263, 0]


def test_no_face_and_tiny_face(face_render: np.ndarray) -> None:
    with pytest.raises(FaceNotFound, match="No face was found"):
        detect(np.full((200, 200, 3), 128, np.uint8))
    with pytest.raises(FaceNotFound, match="pixels wide"):
        shared_detector().detect(face_render, min_face=400)


def test_largest_of_several_faces(face_render: np.ndarray) -> None:
    small = np.asarray(Image.fromarray(face_render).resize((160, 160)))
    canvas = np.full((300, 500, 3), 255, np.uint8)
    canvas[:256, :256] = face_render
    canvas[60:220, 320:480] = small
    face = detect(canvas)
    assert face.faces_found == 2 and face.box[2] < 256 and "largest" in face.notes[0]


def test_a_distant_face_is_found_and_placed(face_render: np.ndarray) -> None:
    # 128 px of a 1600 px picture: too small for the face mesh's own detector, found by the full-range one
    small = np.asarray(Image.fromarray(face_render).resize((128, 128), Image.Resampling.BICUBIC))
    canvas = np.full((1200, 1600, 3), 128, np.uint8)
    canvas[700:828, 300:428] = small
    assert shared_detector().detect_all(canvas) == []
    face = detect(canvas)
    assert face.faces_found == 1
    reference = detect(face_render).points * 0.5 + np.array([300, 700, 0], np.float32)
    eyes = np.linalg.norm(reference[33, :2] - reference[263, :2])
    assert np.abs(face.points[:, :2] - reference[:, :2]).mean() < 0.05 * eyes
    assert np.abs(face.points[:, 2] - reference[:, 2]).mean() < 0.1 * eyes  # depth in the same units as x


def test_the_drawn_face_is_the_face_s_part_of_a_wide_picture(face_render: np.ndarray) -> None:
    from expclip.images import FACE_VIEW, draw_face

    face = detect(face_render)
    whole = draw_face(face_render, face.box, face.points)
    assert whole.shape == face_render.shape  # a face that fills the picture: all of it
    canvas = np.full((1200, 1600, 3), 128, np.uint8)
    canvas[500:756, 600:856] = face_render
    box = (face.box[0] + 600, face.box[1] + 500, face.box[2] + 600, face.box[3] + 500)
    shown = draw_face(canvas, box, face.points + np.array([600, 500, 0], np.float32))
    side = round(FACE_VIEW * max(box[2] - box[0], box[3] - box[1]))
    assert shown.shape == (side, side, 3)
    ys, xs = np.nonzero((shown[..., 1] == 200) & (shown[..., 0] == 0))  # the box's green outline
    assert abs((xs.min() + xs.max()) / 2 - side / 2) < 3 and abs((ys.min() + ys.max()) / 2 - side / 2) < 3
    at_edge = draw_face(canvas, (1500, 20, 1590, 110), np.zeros((478, 3)))  # the view stays inside the picture
    assert at_edge.shape == (270, 270, 3)


def test_exposure_is_judged_on_the_face_and_evened_to_the_full_range() -> None:
    from expclip.images import evened_exposure, poorly_exposed

    rng = np.random.default_rng(0)
    lit = rng.integers(0, 256, (100, 100, 3)).astype(np.uint8)  # the face's part spans the whole range
    box = (20.0, 20.0, 80.0, 80.0)
    assert not poorly_exposed(lit, box)
    dark = (lit * 0.1).astype(np.uint8)
    flat = (128 + (lit.astype(np.float32) - 128) * 0.2).astype(np.uint8)
    assert poorly_exposed(dark, box) and poorly_exposed(flat, box)
    assert not poorly_exposed(np.clip(lit.astype(np.int32) * 2, 0, 255).astype(np.uint8), box)  # glare: left alone
    for image in (dark, flat):
        evened = evened_exposure(image, box)
        luminance = evened[20:80, 20:80].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
        low, high = np.percentile(luminance, [2, 98])
        assert evened.dtype == np.uint8 and evened.shape == image.shape
        assert low < 20 and high > 235 and abs(np.median(luminance) - 128) < 20


def test_a_dark_face_is_found_again_on_an_evened_copy(face_render: np.ndarray) -> None:
    dark = (face_render.astype(np.float32) * 0.08).astype(np.uint8)
    truth = detect(face_render).points
    evened, as_found = detect(dark), shared_detector().detect(dark, even_exposure=False)
    assert any("evened out" in note for note in evened.notes) and not as_found.notes
    assert not any("evened out" in note for note in detect(face_render).notes)
    error = {name: np.abs(face.points[:, :2] - truth[:, :2]).mean() for name, face in
             (("evened", evened), ("as found", as_found))}
    assert error["evened"] < error["as found"], error


def test_a_face_read_again_from_a_level_or_mirrored_crop_lands_where_it_was(renderer) -> None:
    from expclip.real_face import mirror_order

    image = renderer.render(_weights(mouthSmileLeft=0.6, eyeBlinkRight=0.8, browInnerUp=0.5))
    points = shared_detector().detect_all(image)[0]
    eyes = np.linalg.norm(points[33, :2] - points[263, :2])
    for order in (None, mirror_order()):  # the mirrored crop's points are put back on the sides they belong to
        again = shared_detector().look_again(image, points, order)
        assert np.abs(again[:, :2] - points[:, :2]).mean() < 0.02 * eyes
        assert np.abs(again[:, 2] - points[:, 2]).mean() < 0.05 * eyes  # depth scaled back like x


def test_a_tilted_face_reads_as_the_level_one(renderer) -> None:
    import cv2

    image = renderer.render(_weights(mouthSmileLeft=0.6, eyeBlinkRight=0.8, browInnerUp=0.5))
    level = default_fitter().fit(detect(image).points).weights
    height, width = image.shape[:2]
    turn = cv2.getRotationMatrix2D((width / 2, height / 2), 30.0, 1.0)
    tilted = cv2.warpAffine(image, turn, (width, height), borderMode=cv2.BORDER_REPLICATE)
    error = {steady: np.abs(default_fitter().fit(shared_detector().detect(tilted, steady=steady).points).weights
                            - level).mean() for steady in (True, False)}
    assert error[True] < 0.02 and error[True] < error[False] / 2, error  # 0.005 against 0.038 when measured


def test_normalise_removes_pose() -> None:
    rng = np.random.default_rng(0)
    points = rng.normal(0, 30, (478, 3))
    points[[33, 133]] = [[-40, 0, 0], [-20, 0, 0]]
    points[[263, 362]] = [[40, 0, 0], [20, 0, 0]]
    points[10], points[152] = [0, -80, 0], [0, 60, 0]
    angle = np.radians(25)
    rotation = np.array([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]])
    moved = 2.5 * points @ rotation.T + [300, 200, 5]
    assert np.allclose(normalise(points), normalise(moved), atol=1e-4)
    eyes = normalise(points)
    assert np.isclose(np.linalg.norm(eyes[[263, 362]].mean(0) - eyes[[33, 133]].mean(0)), 1.0, atol=1e-5)
    assert eyes[10, 1] > 0 > eyes[152, 1]  # forehead up, chin down


# --- correspondence -------------------------------------------------------------------------------

def test_correspondence_matches_mediapipe_on_new_poses(rig, renderer) -> None:
    found = load_correspondence()
    assert found.vertex_ids.shape == (478, 3) and np.allclose(found.barycentric.sum(1), 1, atol=1e-5)
    assert (found.barycentric >= 0).all()
    for weights in (_weights(jawOpen=0.5), _weights(mouthSmileLeft=0.8, mouthSmileRight=0.8)):
        detected = shared_detector().detect_all(renderer.render(weights))[0][:, :2]
        predicted = renderer.project(found.points(rig.vertices(weights)))
        face_width = np.ptp(detected[:, 0])
        assert np.median(np.linalg.norm(detected - predicted, axis=1)) < 0.03 * face_width


def test_correspondence_sides_and_irises(rig) -> None:
    found = load_correspondence()
    points = found.points(rig.neutral)
    assert points[263, 0] > 0 > points[33, 0]  # subject's left eye at +x in the rig
    irises = np.unique(np.concatenate([rig.parts["iris_left"], rig.parts["iris_right"]]))
    assert np.isin(found.vertex_ids[468:], irises).all()
    assert not np.isin(found.vertex_ids[:468], irises).any()


# --- fitting --------------------------------------------------------------------------------------

def test_fitter_recovers_weights_from_exact_landmarks() -> None:
    rng = np.random.default_rng(1)
    fitter = default_fitter()
    exact = BlendshapeFitter(fitter.neutral, fitter.deltas, l2=1e-4, l1=0.0, iterations=6)
    truth = _weights(jawOpen=0.5, mouthSmileLeft=0.6, mouthSmileRight=0.6, browInnerUp=0.7, eyeBlinkLeft=0.9)
    model = fitter.neutral + np.tensordot(truth, fitter.deltas, 1)
    angle = np.radians(10)
    rotation = np.array([[np.cos(angle), 0, np.sin(angle)], [0, 1, 0], [-np.sin(angle), 0, np.cos(angle)]])
    pixels = (12.0 * model @ rotation.T + [200, -180, 40]) * PIXELS_TO_RIG_AXES
    result = exact.fit(pixels + rng.normal(0, 0.02, pixels.shape))
    assert np.abs(result.weights - truth).max() < 0.08
    assert result.rms < 0.01 and np.isclose(result.scale, 12.0, rtol=0.02)


def test_similarity_is_exact() -> None:
    rng = np.random.default_rng(2)
    source = rng.normal(size=(50, 3))
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    q *= np.sign(np.linalg.det(q))
    scale, rotation, shift = similarity(source, 3.0 * source @ q.T + [1, 2, 3], np.ones(50))
    assert np.isclose(scale, 3.0) and np.allclose(rotation, q) and np.allclose(shift, [1, 2, 3])


@pytest.mark.parametrize("truth, checks", [
    (dict(jawOpen=0.7), lambda w: w["jawOpen"] > 0.4),
    (dict(eyeBlinkLeft=1.0), lambda w: w["eyeBlinkLeft"] > 0.5 and w["eyeBlinkRight"] < 0.2),
    (dict(mouthSmileLeft=0.9, mouthSmileRight=0.9), lambda w: min(w["mouthSmileLeft"], w["mouthSmileRight"]) > 0.3),
    (dict(browDownLeft=0.9, browDownRight=0.9), lambda w: min(w["browDownLeft"], w["browDownRight"]) > 0.2),
    ({}, lambda w: max(w.values()) < 0.2),
])
def test_fitter_reads_renders(renderer, truth: dict, checks) -> None:
    """Through the whole chain (render → MediaPipe → fit) the main shapes come back, the others stay low."""
    landmarks = shared_detector().detect_all(renderer.render(_weights(**truth)))[0]
    fitted = default_fitter().fit(landmarks).weights
    named = dict(zip(BLENDSHAPE_NAMES, fitted.tolist()))
    assert checks(named), {k: round(v, 2) for k, v in named.items() if v > 0.1}


@pytest.mark.skipif(not FACES.is_dir(), reason="EXPCLIP_ASSET_MIRROR/faces (real photos) is not available")
@pytest.mark.parametrize("path", ["fit", "released auto"])
def test_real_photos_mirror_their_expressions(path: str) -> None:
    """On the five Yale subjects: smiles, open mouths, closed eyes and winks read as such, by the fitter
    alone and by the released checkpoint's default path (its image projector plus the fit's asymmetry)."""
    if path == "fit":
        fitter = default_fitter()
        read = lambda image: fitter.fit(detect(image).points).weights  # noqa: E731
    else:
        from expclip.image_pipeline import load_image_pipeline

        pipe = load_image_pipeline()
        assert pipe.has_projector
        read = lambda image: pipe.analyse(image).weights  # noqa: E731

    def fit(subject: str, expression: str) -> dict[str, float]:
        return dict(zip(BLENDSHAPE_NAMES, read(FACES / f"yale_subject{subject}.{expression}.gif").tolist()))

    subjects = ("04", "06", "08", "13", "15")
    smile = jaw = blink = wink = 0
    for subject in subjects:
        normal = fit(subject, "normal")
        happy, surprised = fit(subject, "happy"), fit(subject, "surprised")
        sleepy, winking = fit(subject, "sleepy"), fit(subject, "wink")
        mouth = lambda w: w["mouthSmileLeft"] + w["mouthSmileRight"] + w["mouthStretchLeft"] + w["mouthStretchRight"]  # noqa: E731
        smile += mouth(happy) > mouth(normal) + 0.3
        opening = lambda w: w["jawOpen"] + w["mouthFunnel"] + w["mouthLowerDownLeft"] + w["mouthLowerDownRight"]  # noqa: E731
        jaw += opening(surprised) > opening(normal) + 0.3
        closed = lambda w: w["eyeBlinkLeft"] + w["eyeBlinkRight"]  # noqa: E731
        blink += closed(sleepy) > closed(normal) + 0.3
        wink += winking["eyeBlinkLeft"] - winking["eyeBlinkRight"] > 0.2  # they all wink their left eye
    # The 2026-12-03 release reads 3 of the 5 winks by this measure (the previous one 4): two subjects' open eye
    # squints and reads half closed (benchmarks/results/photos.md); the fitter alone reads 4.
    assert smile >= 4 and jaw >= 4 and blink >= 4 and wink >= (4 if path == "fit" else 3), (smile, jaw, blink, wink)
