"""BVH parsing and forward kinematics, on hand-made files with known answers and on real CMU files."""

from __future__ import annotations

import numpy as np
import pytest

from motion_text_node.data.bvh import detect_unit_scale, load_bvh, parse_bvh
from motion_text_node.errors import UserError

# A two-bone arm: root at (0,0,0) with translation channels, an elbow 10 units along x, a hand 10 further.
ARM = """HIERARCHY
ROOT root
{{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition {order}
  JOINT elbow
  {{
    OFFSET 10 0 0
    CHANNELS 3 {order}
    End Site
    {{
      OFFSET 10 0 0
    }}
  }}
}}
MOTION
Frames: {n}
Frame Time: 0.04
{rows}
"""


def _arm(order: str, rows: list[list[float]]) -> str:
    return ARM.format(order=order, n=len(rows), rows="\n".join(" ".join(map(str, r)) for r in rows))


def test_parser_reads_hierarchy_channels_and_end_sites() -> None:
    bvh = parse_bvh(_arm("Zrotation Xrotation Yrotation", [[0] * 9]))
    assert bvh.joint_names == ["root", "elbow", "elbow_end"]
    assert [j.parent for j in bvh.joints] == [-1, 0, 1]
    assert bvh.values.shape == (1, 9)
    assert bvh.frame_time == pytest.approx(0.04)


def test_rest_pose_is_the_sum_of_offsets(tmp_path) -> None:
    path = tmp_path / "arm.bvh"
    path.write_text(_arm("Zrotation Xrotation Yrotation", [[1, 2, 3, 0, 0, 0, 0, 0, 0]]))
    m = load_bvh(path, unit_scale=1.0)
    np.testing.assert_allclose(m.positions[0], [[1, 2, 3], [11, 2, 3], [21, 2, 3]], atol=1e-5)
    assert m.fps == pytest.approx(25.0)


@pytest.mark.parametrize("order", ["Zrotation Xrotation Yrotation", "Xrotation Yrotation Zrotation",
                                   "Yrotation Zrotation Xrotation"])
def test_single_axis_rotation_is_order_independent_and_right_handed(order, tmp_path) -> None:
    # 90 degrees about z at the root turns the +x arm to +y (right-handed); the elbow bends it another 90.
    names = order.split()
    root_rot = [90.0 if n == "Zrotation" else 0.0 for n in names]
    elbow_rot = [90.0 if n == "Zrotation" else 0.0 for n in names]
    path = tmp_path / "arm.bvh"
    path.write_text(_arm(order, [[0, 0, 0, *root_rot, *elbow_rot]]))
    m = load_bvh(path, unit_scale=1.0)
    np.testing.assert_allclose(m.positions[0], [[0, 0, 0], [0, 10, 0], [-10, 10, 0]], atol=1e-5)


def test_channel_order_matters_for_combined_rotations(tmp_path) -> None:
    # Rz(90) @ Rx(90) and Rx(90) @ Rz(90) send the x-axis bone to different places.
    a = tmp_path / "a.bvh"
    b = tmp_path / "b.bvh"
    a.write_text(_arm("Zrotation Xrotation Yrotation", [[0, 0, 0, 90, 90, 0, 0, 0, 0]]))
    b.write_text(_arm("Xrotation Zrotation Yrotation", [[0, 0, 0, 90, 90, 0, 0, 0, 0]]))
    pa, pb = load_bvh(a, unit_scale=1.0).positions[0, 1], load_bvh(b, unit_scale=1.0).positions[0, 1]
    np.testing.assert_allclose(pa, [0, 10, 0], atol=1e-5)   # Rz Rx x = Rz x = y
    np.testing.assert_allclose(pb, [0, 0, 10], atol=1e-5)   # Rx Rz x = Rx y = z


@pytest.mark.parametrize("text, problem", [
    ("", "unexpected end"),
    ("HIERARCHY\nROOT a\n{\n OFFSET 0 0 x\n", "expected a number"),
    (_arm("Zrotation Xrotation Yrotation", [[0] * 9]).replace("Frames: 1", "Frames: 5"), "announced"),
    (_arm("Zrotation Xrotation Yrotation", [[0] * 8 + ["nan"]]), "NaN"),
    (_arm("Qrotation Xrotation Yrotation", [[0] * 9]), "unknown channel"),
    ("MOTION\nFrames: 1", "HIERARCHY"),
])
def test_corrupt_files_give_one_clear_error(text, problem, tmp_path) -> None:
    path = tmp_path / "bad.bvh"
    path.write_text(text)
    with pytest.raises(UserError, match=problem) as info:
        load_bvh(path)
    assert str(path) in str(info.value)


def test_missing_file_is_a_user_error(tmp_path) -> None:
    with pytest.raises(UserError, match="no such file"):
        load_bvh(tmp_path / "nope.bvh")


@pytest.mark.parametrize("trial, unit", [("02_05", 0.01), ("60_01", 1.0), ("131_01", 0.0254 / 0.45)])
def test_real_cmu_files_units_are_detected(trial, unit, cmu_bvh_dir) -> None:
    # The three skeleton variants of the shared CMU data: cm, metres, and CMU ASF units (Max 2009).
    text = (cmu_bvh_dir / f"{trial}.bvh").read_text()
    assert detect_unit_scale(parse_bvh(text)) == pytest.approx(unit)
    m = load_bvh(cmu_bvh_dir / f"{trial}.bvh", drop_first_frames=1)
    height = m.positions[0, :, 1].max() - m.positions[0, :, 1].min()
    assert 1.0 < height < 2.0, f"{trial} stands {height:.2f} m tall"
    assert m.fps == pytest.approx(120.0, rel=1e-3)
