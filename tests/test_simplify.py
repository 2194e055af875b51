"""The lighter head: a subset of the rig's own vertices, moved by the rig's own deltas, a third of the size."""

import numpy as np
import pytest

from head.rig import load_rig
from head.simplify import KEEP, head_rig, simplified_rig


def test_the_lighter_head_is_the_rig_on_a_third_of_its_vertices() -> None:
    rig, light = load_rig(), simplified_rig()
    assert light.num_vertices < 0.4 * rig.num_vertices
    # every vertex is one of the rig's (seams hold several at one position), with its deltas and identity modes
    same_place: dict[tuple, list[int]] = {}
    for i, position in enumerate(map(tuple, rig.neutral)):
        same_place.setdefault(position, []).append(i)
    for k, position in enumerate(map(tuple, light.neutral)):
        assert any((rig.deltas[:, i] == light.deltas[:, k]).all()
                   and (rig.identity_modes[:, i] == light.identity_modes[:, k]).all() for i in same_place[position]), k
    for name, triangles in light.parts.items():
        assert len(triangles) <= max(KEEP[name], 0.05) * len(rig.parts[name]) * 1.1 + 1, name
        assert triangles.min() >= 0 and triangles.max() < light.num_vertices
        assert (triangles[:, 0] != triangles[:, 1]).all() and (triangles[:, 1] != triangles[:, 2]).all()
    assert len(light.parts["skin"]) > 0.2 * len(rig.parts["skin"])  # still a face
    assert light.landmarks68.shape == (68,) and light.landmarks68.max() < light.num_vertices


def test_the_lighter_head_exports_with_its_52_targets() -> None:
    from render.gltf import glb_bytes, primitive_vertex_ids

    light = head_rig("light")
    data = glb_bytes(np.zeros(52, np.float32), rig=light)
    assert data[:4] == b"glTF" and len(data) < 0.5 * len(glb_bytes(np.zeros(52, np.float32)))
    assert sum(len(ids) for ids in primitive_vertex_ids(light)) <= light.num_vertices * 2
    with pytest.raises(ValueError, match="The head's detail 'ultra' is not one of full, light."):
        head_rig("ultra")
