"""Faces other than the default head: identity sampling and parsing, the rig's identity modes, renders,
the GLB's base mesh and the synthetic MEAD-3D builder's random faces."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from head import arkit
from head.identity import (NEUTRAL, NUM_IDENTITY_MODES, Identity, IdentityError, load_identity, parse_identity,
                           sample_identity)
from head.rig import _read_obj_vertices
from render import gltf

SMILE = arkit.from_dict({"mouthSmileLeft": 0.9, "mouthSmileRight": 0.9, "jawOpen": 0.2})


# sampling and parsing ---------------------------------------------------------------------------------

def test_a_seed_always_gives_the_same_face_and_seeds_differ() -> None:
    a, b = sample_identity(42), sample_identity(42)
    assert a.coefficients.shape == (NUM_IDENTITY_MODES,) and a.coefficients.dtype == np.float32
    np.testing.assert_array_equal(a.coefficients, b.coefficients)
    assert a.key == b.key != sample_identity(43).key
    assert a.seed == 42 and a.label == "face 42" and "--identity 42" in a.describe()
    np.testing.assert_allclose(a.coefficients, np.random.default_rng(42).standard_normal(30), rtol=1e-6)


def test_draws_are_standard_normal() -> None:
    draws = np.stack([sample_identity(seed).coefficients for seed in range(1, 401)])
    assert abs(draws.mean()) < 0.05 and abs(draws.std() - 1.0) < 0.05
    np.testing.assert_allclose(sample_identity(7, std=0.5).coefficients, 0.5 * sample_identity(7).coefficients)


@pytest.mark.parametrize("given", [None, "", "neutral", "Default", "0", 0, 0.0, " 0 "])
def test_zero_and_none_are_the_default_head(given) -> None:
    identity = parse_identity(given)
    assert identity.is_neutral and not identity.coefficients.any() and identity.label == "default head"


def test_seeds_as_text_or_numbers_and_random() -> None:
    assert parse_identity("42").key == parse_identity(42).key == parse_identity(42.0).key == sample_identity(42).key
    first, second = parse_identity("random"), parse_identity("RANDOM")
    assert first.seed and second.seed and first.key != second.key
    assert parse_identity(str(first.seed)).key == first.key  # the reported seed makes the face again
    assert parse_identity(sample_identity(5)).key == sample_identity(5).key


def test_json_files(tmp_path: Path, mirror: Path) -> None:
    listed = tmp_path / "list.json"
    listed.write_text(json.dumps([0.5, -1.0, 2]))
    identity = parse_identity(str(listed))
    np.testing.assert_array_equal(identity.coefficients[:3], [0.5, -1.0, 2.0])
    assert not identity.coefficients[3:].any() and identity.label == "list.json"
    saved = tmp_path / "face.json"
    saved.write_text(json.dumps(sample_identity(9).to_json()))
    again = load_identity(saved)
    np.testing.assert_allclose(again.coefficients, sample_identity(9).coefficients, atol=1e-6)
    assert again.seed == 9 and again.label == "face 9"
    edited = {**sample_identity(9).to_json(), "identity_coefficients": [1.0] * 30}  # a seed that no longer fits
    saved.write_text(json.dumps(edited))
    assert load_identity(saved).seed is None and load_identity(saved).label == "face.json"
    # ICT-FaceKit's own sample file: 100 coefficients, of which the rig's 30 modes take the first 30
    ict = mirror / "sample_data" / "sample_identity_coeffs.json"
    expected = json.loads(ict.read_text())["identity_coefficients"][:30]
    np.testing.assert_allclose(parse_identity(str(ict)).coefficients, expected, rtol=1e-6)


@pytest.mark.parametrize("content, message", [
    (None, "does not exist"),
    ("{not json", "not valid JSON"),
    ('{"coefficients": [1, 2]}', '"identity_coefficients"'),
    ('["a", "b"]', "list of identity coefficients"),
    ("[]", "list of identity coefficients"),
    ("[1, 9.5]", "within ±5"),
])
def test_bad_files_are_explained(tmp_path: Path, content, message) -> None:
    path = tmp_path / "face.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(IdentityError, match=message) as caught:
        parse_identity(str(path))
    assert str(caught.value).count(". ") == 0 and str(caught.value).endswith(".")  # one sentence


@pytest.mark.parametrize("given", ["-1", "smiley", "1.5", 1.5, -3, "99999999999", float("nan")])
def test_bad_input_says_what_is_accepted(given) -> None:
    with pytest.raises(IdentityError) as caught:
        parse_identity(given)
    message = str(caught.value)
    assert message.endswith(".") and ("whole number" in message or "random" in message), message


def test_an_identity_has_30_coefficients() -> None:
    with pytest.raises(IdentityError, match="30 coefficients"):
        Identity(np.zeros(3))
    assert NEUTRAL.is_neutral and Identity(np.ones(30)).label == "custom face"


# the rig -------------------------------------------------------------------------------------------

def test_the_rig_carries_ict_identity_modes(rig, mirror: Path) -> None:
    assert rig.identity_modes.shape == (NUM_IDENTITY_MODES, rig.num_vertices, 3)
    neutral = _read_obj_vertices(mirror / "FaceXModel" / "generic_neutral_mesh.obj")
    for k in (0, 17, 29):
        mode = _read_obj_vertices(mirror / "FaceXModel" / f"identity{k:03d}.obj") - neutral
        np.testing.assert_allclose(rig.identity_modes[k], mode, atol=2e-3)  # stored as float16


def test_blendshapes_are_added_on_top_of_the_face(rig) -> None:
    face = sample_identity(3)
    assert rig.identity_neutral(NEUTRAL) is rig.neutral and rig.identity_neutral(None) is rig.neutral
    rest = rig.identity_neutral(face)
    expected = rig.neutral + np.tensordot(face.coefficients, rig.identity_modes, axes=1)
    np.testing.assert_allclose(rest, expected, atol=1e-4)
    np.testing.assert_allclose(rig.vertices(SMILE, face), rest + rig.vertices(SMILE) - rig.neutral, atol=1e-4)
    frames = np.stack([SMILE, np.zeros(52, np.float32)])
    np.testing.assert_allclose(rig.vertices(frames, face)[1], rest, atol=1e-5)
    skin = np.unique(rig.parts["skin"])
    assert np.linalg.norm(rest - rig.neutral, axis=1)[skin].mean() > 0.2  # centimetres: another face


def test_a_blink_closes_the_eyes_and_the_jaw_opens_on_other_faces(rig) -> None:
    """ICT's blendshapes are deltas on its neutral; on another face they still close the lids and open the mouth."""
    upper, lower = rig.landmarks68[[37, 38, 43, 44]], rig.landmarks68[[41, 40, 47, 46]]
    lips = rig.landmarks68[[62, 66]]  # inner upper and lower lip
    blink = arkit.from_dict({"eyeBlinkLeft": 1.0, "eyeBlinkRight": 1.0})
    jaw = arkit.from_dict({"jawOpen": 1.0})
    for seed in (0, 5, 11, 23):
        face = sample_identity(seed)
        rest = rig.vertices(np.zeros(52), face)
        closed = rig.vertices(blink, face)
        gap, shut = (rest[upper, 1] - rest[lower, 1]), (closed[upper, 1] - closed[lower, 1])
        assert (gap > 0.4).all() and (np.abs(shut) < 0.25 * gap).all(), (seed, gap, shut)
        opened = rig.vertices(jaw, face)
        assert (opened[lips[0], 1] - opened[lips[1], 1]) - (rest[lips[0], 1] - rest[lips[1], 1]) > 1.5, seed


# renders -------------------------------------------------------------------------------------------

def test_the_default_render_is_unchanged_and_a_face_differs(renderer, rig) -> None:
    active = np.flatnonzero(SMILE)  # the rig's sum before identities existed
    before = renderer.render_vertices(rig.neutral + np.tensordot(SMILE[active], rig.deltas[active], axes=1))
    np.testing.assert_array_equal(renderer.render(SMILE), before)
    np.testing.assert_array_equal(renderer.render(SMILE, identity=NEUTRAL), before)
    other = renderer.render(SMILE, identity=sample_identity(3))
    changed = np.abs(other.astype(int) - before.astype(int)).max(axis=2) > 30
    assert changed.mean() > 0.02, changed.mean()
    np.testing.assert_array_equal(renderer.render(SMILE, identity=sample_identity(3)), other)  # deterministic


def test_render_still_and_the_sequence_take_the_face(renderer) -> None:
    from render.renderer import render_still

    face = sample_identity(8)
    frames = np.stack([SMILE, np.zeros(52, np.float32)])
    sequence = list(renderer.render_sequence(frames, identity=face))
    np.testing.assert_array_equal(sequence[0], renderer.render(SMILE, identity=face))
    still = render_still(SMILE, size=128, identity=face)
    assert still.shape == (128, 128, 3) and not np.array_equal(still, render_still(SMILE, size=128))


# the GLB -------------------------------------------------------------------------------------------

def test_the_glb_base_mesh_is_the_face(tmp_path: Path, rig) -> None:
    from test_gltf import _morphed, read_glb

    face = sample_identity(4)
    frames = np.stack([SMILE, 0.5 * SMILE, np.zeros(52, np.float32)])
    document, blob = read_glb(gltf.write_glb(tmp_path / "face.glb", frames, fps=10, rig=rig, identity=face))
    extras = document["meshes"][0]["extras"]
    np.testing.assert_allclose(extras["identity"]["identity_coefficients"], face.coefficients, atol=1e-6)
    assert extras["identity"]["seed"] == 4
    ids = gltf.primitive_vertex_ids(rig)
    tolerance = gltf.MIN_OFFSET_CM * gltf.METRES_PER_RIG_UNIT * SMILE.sum() + 1e-6
    for weights in (np.zeros(52, np.float32), SMILE):
        expected = rig.vertices(weights, face) * gltf.METRES_PER_RIG_UNIT
        for positions, vertex_ids in zip(_morphed(document, blob, weights, "POSITION"), ids):
            assert np.abs(positions - expected[vertex_ids]).max() <= tolerance
    default, _ = read_glb(gltf.write_glb(tmp_path / "default.glb", frames, fps=10, rig=rig))
    assert "identity" not in default["meshes"][0]["extras"]
    assert gltf.glb_bytes(frames, 10, rig, NEUTRAL) == gltf.glb_bytes(frames, 10, rig)


# synthetic MEAD-3D ---------------------------------------------------------------------------------

def test_the_synthetic_builder_draws_a_face_per_image_on_its_own_stream(rig) -> None:
    from expclip.mead3d_synthetic import SyntheticBuilder, SyntheticConfig
    from expclip.tead import TeadSample
    from render.renderer import HeadRenderer

    sample = TeadSample("", [], {}, "", "", SMILE)
    with HeadRenderer(rig, size=128, samples=0, background=None) as opened:
        renders = {}
        for std in (0.0, 1.0):
            builder = SyntheticBuilder(SyntheticConfig(image_size=128, identity_std=std), rig, opened, detector=None)
            faces = [builder.identity(0, index) for index in range(3)]
            renders[std] = builder.render(sample, np.random.default_rng([0, 0, 1]), faces[1])
    assert faces[0].key != faces[1].key and builder.identity(0, 1).key == faces[1].key
    (plain, plain_varied), (varied_image, varied) = renders[0.0], renders[1.0]
    assert "identity" not in plain_varied and len(varied["identity"]) == NUM_IDENTITY_MODES
    assert {k: v for k, v in varied.items() if k != "identity"} == plain_varied  # pose and look: the same draws
    assert np.abs(varied_image.astype(int) - plain.astype(int)).max() > 30


def test_the_synthetic_builder_paints_eyebrows_on_a_stream_of_their_own(rig) -> None:
    from expclip.mead3d_synthetic import SyntheticBuilder, SyntheticConfig
    from expclip.tead import TeadSample
    from render.renderer import HeadRenderer

    sample = TeadSample("", [], {}, "", "", SMILE)
    with HeadRenderer(rig, size=128, samples=0, background=None) as opened:
        bare = SyntheticBuilder(SyntheticConfig(image_size=128), rig, opened, detector=None)
        browed = SyntheticBuilder(SyntheticConfig(image_size=128, eyebrows=True), rig, opened, detector=None)
        assert bare.brows(0, 3) is None
        looks = [browed.brows(0, index) for index in range(20)]
        assert looks[3] == browed.brows(0, 3) and len(set(looks)) == 20  # one per image, reproducibly
        assert all(0 < min(look[:3]) and max(look[:3]) <= 0.3 and 0.5 <= look[3] <= 0.95 for look in looks)
        plain, plain_varied = bare.render(sample, np.random.default_rng([0, 0, 3]))
        painted, varied = browed.render(sample, np.random.default_rng([0, 0, 3]), brows=looks[3])
    assert {k: v for k, v in varied.items() if k != "brows"} == plain_varied  # pose and look: the same draws
    assert varied["brows"] == [round(v, 3) for v in looks[3]]
    assert (plain.astype(int) - painted.astype(int)).max() > 30
