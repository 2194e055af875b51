"""Weights → pixels: neutral pose, local effect of each blendshape, eyes, background, sequences."""

from __future__ import annotations

import numpy as np
import pytest

from head.arkit import INDEX, from_dict
from render.renderer import HeadRenderer, RenderError


def changed_pixels(a: np.ndarray, b: np.ndarray, threshold: int = 12) -> np.ndarray:
    """``(H, W)`` bool mask of pixels that differ between two images."""
    return np.abs(a.astype(int) - b.astype(int)).max(axis=-1) > threshold


def acting_box(renderer: HeadRenderer, name: str, margin: float = 8.0) -> tuple[float, float, float, float]:
    """Pixel box (x0, y0, x1, y1) around the vertices a blendshape moves, in front view."""
    rig = renderer.rig
    delta = rig.deltas[INDEX[name]]
    moving = np.linalg.norm(delta, axis=1) > 0.005
    points = np.concatenate([rig.neutral[moving], rig.neutral[moving] + delta[moving]])
    xy = renderer.project(points)
    return (*(xy.min(axis=0) - margin), *(xy.max(axis=0) + margin))


def test_zero_weights_render_the_neutral_mesh(renderer):
    a = renderer.render(np.zeros(52))
    b = renderer.render_vertices(renderer.rig.neutral)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (256, 256, 3) and a.dtype == np.uint8


@pytest.mark.parametrize("name", ["jawOpen", "mouthSmileLeft", "eyeBlinkLeft", "browInnerUp", "mouthPucker"])
def test_pixels_change_only_where_the_blendshape_acts(renderer, name):
    neutral = renderer.render(np.zeros(52))
    posed = renderer.render(from_dict({name: 1.0}))
    mask = changed_pixels(neutral, posed)
    assert mask.sum() > 40, f"{name} changed only {mask.sum()} pixels"
    x0, y0, x1, y1 = acting_box(renderer, name)
    ys, xs = np.nonzero(mask)
    inside = (xs >= x0) & (xs <= x1) & (ys >= y0) & (ys <= y1)
    assert inside.mean() > 0.99, f"{name} changed pixels outside the region it moves"


def test_blink_leaves_the_mouth_and_jaw_leaves_the_eyes(renderer):
    def box(landmarks: list[int], pad: int) -> tuple[slice, slice]:
        xy = renderer.project(renderer.rig.neutral[renderer.rig.landmarks68[landmarks]])
        (x0, y0), (x1, y1) = xy.min(axis=0).astype(int) - pad, xy.max(axis=0).astype(int) + pad
        return slice(y0, y1), slice(x0, x1)

    eyes = box(list(range(36, 48)), pad=6)  # both eyes' contours
    mouth = box(list(range(48, 68)), pad=6)
    neutral = renderer.render(np.zeros(52))
    blink = changed_pixels(neutral, renderer.render(from_dict({"eyeBlinkLeft": 1, "eyeBlinkRight": 1})))
    jaw = changed_pixels(neutral, renderer.render(from_dict({"jawOpen": 1})))
    assert blink[eyes].sum() > 50 and blink[mouth].sum() == 0
    # ICT's jawOpen pulls the lower lids by up to 0.5 mm: a few eye pixels may change, no more.
    assert jaw[mouth].sum() > 200 and jaw[eyes].mean() < 0.02


def test_painted_eyebrows_sit_above_the_eyes_and_rise_with_the_brows(renderer):
    def box(landmarks: list[int], pad: int) -> tuple[slice, slice]:
        xy = renderer.project(renderer.rig.neutral[renderer.rig.landmarks68[landmarks]])
        (x0, y0), (x1, y1) = xy.min(axis=0).astype(int) - pad, xy.max(axis=0).astype(int) + pad
        return slice(y0, y1), slice(x0, x1)

    bare = renderer.render(np.zeros(52))
    try:
        renderer.set_look(brows=(0.05, 0.04, 0.03, 0.9))
        browed = renderer.render(np.zeros(52))
        raised = renderer.render(from_dict({"browInnerUp": 1, "browOuterUpLeft": 1, "browOuterUpRight": 1}))
    finally:
        renderer.set_look()
    np.testing.assert_array_equal(renderer.render(np.zeros(52)), bare)  # no brows: the ICT head's own look
    darker = (bare.astype(int) - browed.astype(int)).max(axis=-1) > 40
    brows = box(list(range(17, 27)), pad=8)
    assert darker[brows].sum() > 100 and darker.sum() == darker[brows].sum()  # on the brows, nowhere else

    def centre_row(image: np.ndarray) -> float:
        dark = (bare.astype(int) - image.astype(int)).max(axis=-1) > 40
        return float(np.nonzero(dark[brows])[0].mean())

    assert centre_row(raised) < centre_row(browed) - 1  # the paint moves with the brow shapes (up in the image)


def test_subjects_left_eye_is_on_the_image_right(renderer):
    neutral = renderer.render(np.zeros(52))
    mask = changed_pixels(neutral, renderer.render(from_dict({"eyeBlinkLeft": 1})))
    assert np.nonzero(mask)[1].mean() > renderer.size / 2


def test_irises_and_pupils_are_visible(renderer):
    image = renderer.render(np.zeros(52)).astype(int)
    for side in ("left", "right"):
        centre = renderer.rig.neutral[np.unique(renderer.rig.parts[f"iris_{side}"])].mean(axis=0)
        x, y = renderer.project(centre[None])[0].round().astype(int)
        patch = image[y - 3 : y + 4, x - 3 : x + 4]
        assert patch.max(axis=-1).min() < 80, f"no dark pupil at the {side} eye"
        ring = image[y - 5 : y + 6, x - 8 : x + 9]
        assert (ring.max(axis=-1) - ring.min(axis=-1)).max() > 40, "iris should be coloured, not grey"


def test_teeth_show_when_the_mouth_opens(renderer):
    image = renderer.render(from_dict({"jawOpen": 0.6, "mouthUpperUpLeft": 0.5, "mouthUpperUpRight": 0.5}))
    teeth = renderer.rig.neutral[np.unique(renderer.rig.parts["teeth"])]
    front_top = teeth[teeth[:, 2] > teeth[:, 2].max() - 0.3].mean(axis=0)
    x, y = renderer.project(front_top[None])[0].round().astype(int)
    patch = image[y - 4 : y + 5, x - 4 : x + 5].reshape(-1, 3).astype(int)
    assert (patch.min(axis=1) > 150).any(), "no bright tooth pixels near the upper incisors"


def test_transparent_background(rig):
    with HeadRenderer(rig, size=128, samples=0, background=None) as r:
        image = r.render(np.zeros(52))
    assert image.shape == (128, 128, 4)
    assert image[0, 0, 3] == 0 and image[64, 64, 3] == 255


def test_solid_background_colour(rig):
    with HeadRenderer(rig, size=64, samples=0, background=(0.0, 0.0, 1.0)) as r:
        image = r.render(np.zeros(52))
    np.testing.assert_array_equal(image[0, 0], [0, 0, 255])


def test_three_quarter_view_differs_from_front(renderer):
    front = renderer.render(np.zeros(52), "front")
    side = renderer.render(np.zeros(52), "three-quarter")
    assert changed_pixels(front, side).mean() > 0.1


def test_sequence_matches_stills_and_reuses_one_scene(renderer):
    frames = np.zeros((3, 52), np.float32)
    frames[1, INDEX["jawOpen"]] = 0.8
    frames[2, INDEX["eyeBlinkRight"]] = 1.0
    scene = renderer._scene
    images = list(renderer.render_sequence(frames))
    assert renderer._scene is scene and len(images) == 3
    for image, weights in zip(images, frames):
        np.testing.assert_array_equal(image, renderer.render(weights))


def test_bad_arguments_are_explained(rig, renderer):
    with pytest.raises(RenderError, match="Unknown view 'side'; choose one of front, three-quarter"):
        renderer.render(np.zeros(52), "side")
    with pytest.raises(RenderError, match="use 16 to 4096"):
        HeadRenderer(rig, size=5)
    with pytest.raises(RenderError, match="use 0, 2, 4 or 8"):
        HeadRenderer(rig, samples=3)


def test_render_still_works_from_several_threads() -> None:
    from concurrent.futures import ThreadPoolExecutor

    from render.renderer import close_thread_renderers, render_still

    weights = np.zeros(52, np.float32)

    def draw_twice(_: int) -> list[np.ndarray]:
        try:
            return [render_still(weights, size=64), render_still(weights, size=64)]
        finally:
            close_thread_renderers()

    with ThreadPoolExecutor(max_workers=2) as pool:
        images = [image for pair in pool.map(draw_twice, range(2)) for image in pair]
    assert all(image.shape == (64, 64, 3) for image in images)
    assert all(np.array_equal(images[0], image) for image in images[1:])
