"""Canonical skeleton: adapters from every format, imputation, up axes, normalization, mirroring, resampling.

The reference body is a real CMU pose (subject 2, trial 5), so the adapters are checked on human proportions.
"""

from __future__ import annotations

import numpy as np
import pytest

from motion_text_node.data.cache import DatasetCache
from motion_text_node.errors import UserError
from motion_text_node.skeleton.adapt import UP_AXIS_ROTATIONS, to_canonical
from motion_text_node.skeleton.canonical import CANONICAL_BONE_LENGTHS, CANONICAL_JOINTS, CANONICAL_PARENTS
from motion_text_node.skeleton.canonical import JOINT_INDEX as J
from motion_text_node.skeleton.formats import FORMATS, KINECT32_JOINTS, MEDIAPIPE33_JOINTS, get_format
from motion_text_node.skeleton.mirror import has_side_words, mirror_motion, mirror_positions, mirror_text
from motion_text_node.skeleton.motion import Motion
from motion_text_node.skeleton.normalize import (
    GIRDLE_OFFSETS,
    NormalizationConfig,
    canonicalize,
    facing_angle,
    normalize_window,
    normalize_windows,
    retarget,
    rotation_z,
)
from motion_text_node.skeleton.resample import pad_window, resample_motion, resample_times, window_starts


@pytest.fixture(scope="module")
def punch(cmu_cache) -> Motion:
    return DatasetCache(cmu_cache).clip("02_05").motion


def _source_from_canonical(fmt_name: str, canon: np.ndarray) -> np.ndarray:
    """Positions in ``fmt_name`` whose directly mapped joints sit exactly at the canonical ones."""
    fmt = get_format(fmt_name)
    out = np.full((canon.shape[0], len(fmt.joint_names), 3), np.nan, dtype=np.float32)
    index = {n: i for i, n in enumerate(fmt.joint_names)}
    for canon_name, alts in fmt.mapping.items():
        for alt in alts:
            if len(alt) == 1:
                (src,) = alt
                if np.isnan(out[:, index[src]]).all():
                    out[:, index[src]] = canon[:, J[canon_name]]
    # Landmarks with no canonical counterpart (eyes, ears, hand tips...) near the head / hands.
    for name, i in index.items():
        if np.isnan(out[:, i]).all():
            anchor = "head" if any(k in name.lower() for k in ("eye", "ear", "nose", "mouth")) else (
                "left_wrist" if "left" in name.lower() else "right_wrist" if "right" in name.lower() else "pelvis")
            out[:, i] = canon[:, J[anchor]]
    return out


@pytest.mark.parametrize("fmt_name", sorted(FORMATS))
def test_every_format_maps_its_direct_joints_exactly(fmt_name, punch) -> None:
    canon = punch.positions[:20]
    fmt = get_format(fmt_name)
    source = _source_from_canonical(fmt_name, canon)
    # Express the source in the format's own up axis, as a real sensor would.
    rot = UP_AXIS_ROTATIONS[fmt.default_up_axis]
    source = source @ rot  # inverse of (x @ rot.T)
    m = to_canonical(source, 30.0, skeleton_format=fmt_name)
    direct = [c for c, alts in fmt.mapping.items() if len(alts[0]) == 1]
    for name in direct:
        np.testing.assert_allclose(m.positions[:, J[name]], canon[:, J[name]], atol=1e-5, err_msg=name)
    assert m.valid[:, [J[n] for n in direct]].all()


def test_kinect_and_mediapipe_bodies_land_close_to_the_truth(punch) -> None:
    canon = punch.positions[:10]
    for fmt_name in ("kinect32", "mediapipe33"):
        source = _source_from_canonical(fmt_name, canon) @ UP_AXIS_ROTATIONS[get_format(fmt_name).default_up_axis]
        m = to_canonical(source, 30.0, skeleton_format=fmt_name)
        err = np.linalg.norm(m.positions - canon, axis=-1).max(axis=0)
        assert err.max() < 0.25, dict(zip(CANONICAL_JOINTS, err.round(3), strict=True))


def test_coco17_has_no_feet_so_they_are_imputed_and_flagged(punch) -> None:
    source = _source_from_canonical("coco17", punch.positions[:5])
    m = to_canonical(source, 30.0, skeleton_format="coco17")
    assert not m.valid[:, J["left_foot"]].any() and not m.valid[:, J["right_foot"]].any()
    np.testing.assert_allclose(m.positions[:, J["left_foot"]], m.positions[:, J["left_ankle"]])
    assert m.valid[:, J["left_wrist"]].all()


def test_partial_skeleton_by_names_imputes_spine_collars_and_feet(punch) -> None:
    keep = [n for n in CANONICAL_JOINTS if not n.startswith(("spine", "left_collar", "right_collar")) and
            not n.endswith("_foot")]
    assert len(keep) == 15
    m = to_canonical(punch.positions[:, [J[n] for n in keep]], punch.fps, joint_names=keep)
    missing = [J[n] for n in CANONICAL_JOINTS if n not in keep]
    assert not m.valid[:, missing].any() and m.valid[:, [J[n] for n in keep]].all()
    # Imputed spine joints lie between pelvis and neck, within a few centimetres of the real ones.
    err = np.linalg.norm(m.positions[:, J["spine3"]] - punch.positions[:, J["spine3"]], axis=-1)
    assert np.median(err) < 0.08


def test_nan_and_zero_confidence_joints_become_invalid_and_imputed(punch) -> None:
    pos = punch.positions[:4].copy()
    pos[1, J["left_elbow"]] = np.nan
    conf = np.ones(pos.shape[:2], dtype=np.float32)
    conf[2, J["right_knee"]] = 0.0
    m = to_canonical(pos, 30.0, skeleton_format="smpl22", confidences=conf)
    assert not m.valid[1, J["left_elbow"]] and not m.valid[2, J["right_knee"]]
    assert m.valid.sum() == 4 * 22 - 2
    assert np.isfinite(m.positions).all()
    mid = 0.5 * (pos[1, J["left_shoulder"]] + pos[1, J["left_wrist"]])
    np.testing.assert_allclose(m.positions[1, J["left_elbow"]], mid, atol=1e-5)


def test_frames_without_any_joint_copy_the_nearest_good_frame(punch) -> None:
    pos = punch.positions[:3].copy()
    pos[1] = np.nan
    m = to_canonical(pos, 30.0, skeleton_format="smpl22")
    assert not m.valid[1].any()
    np.testing.assert_allclose(m.positions[1], pos[0])


@pytest.mark.parametrize("kwargs, problem", [
    ({"positions": np.zeros((4, 21, 3)), "skeleton_format": "smpl22"}, "has 22 joints"),
    ({"positions": np.zeros((4, 22, 2)), "skeleton_format": "smpl22"}, "frames, joints, 3"),
    ({"positions": np.zeros((0, 22, 3)), "skeleton_format": "smpl22"}, "empty"),
    ({"positions": np.zeros((4, 22, 3)), "skeleton_format": "openpose99"}, "unknown skeleton format"),
    ({"positions": np.zeros((4, 2, 3)), "joint_names": ["foo", "bar"]}, "no joint name matches"),
    ({"positions": np.zeros((4, 2, 3))}, "needs joint_names"),
    ({"positions": np.full((4, 22, 3), np.nan), "skeleton_format": "smpl22"}, "no joint maps"),
    ({"positions": np.full((4, 22, 3), 1e6), "skeleton_format": "smpl22"}, "no joint maps"),
    ({"positions": np.zeros((4, 22, 3)), "skeleton_format": "smpl22", "up_axis": "x"}, "up_axis"),
    ({"positions": np.zeros((4, 22, 3)), "skeleton_format": "smpl22", "confidences": np.ones(5)}, "confidences"),
])
def test_bad_input_is_one_clear_error(kwargs, problem) -> None:
    with pytest.raises(UserError, match=problem):
        to_canonical(fps=30.0, **kwargs)


def test_y_up_and_z_up_inputs_give_the_same_canonical_motion(punch) -> None:
    z_up = punch.positions[:5]
    y_up = z_up @ UP_AXIS_ROTATIONS["y"]  # back to y up
    a = to_canonical(z_up, 30.0, skeleton_format="smpl22", up_axis="z")
    b = to_canonical(y_up, 30.0, skeleton_format="smpl22", up_axis="y")
    np.testing.assert_allclose(a.positions, b.positions, atol=1e-5)
    for rot in UP_AXIS_ROTATIONS.values():  # proper rotations: left stays left
        assert np.linalg.det(rot) == pytest.approx(1.0)


def test_cmu_bodies_face_forward_with_toes_ahead(cmu_cache) -> None:
    # A reflection anywhere (axes, joint mapping) would put the toes behind the ankles.
    cache = DatasetCache(cmu_cache)
    for clip in cache.clips()[::10]:
        p = canonicalize(clip.motion.positions[:1])[0]
        # Toes ahead of the ankle on average over the first second (one captured frame may lift the heel).
        first = np.stack([canonicalize(clip.motion.positions[k:k + 1])[0] for k in range(0, 30, 3)])
        assert (first[:, J["left_foot"], 0] - first[:, J["left_ankle"], 0]).mean() > 0, clip.clip_id
        assert p[J["left_hip"], 1] > 0 > p[J["right_hip"], 1]
        assert p[J["head"], 2] > p[J["pelvis"], 2] > p[J["left_ankle"], 2]


def test_retarget_sets_bone_lengths_and_keeps_limb_directions(punch) -> None:
    pos = punch.positions[:30]
    out = retarget(pos)
    for j, parent in enumerate(CANONICAL_PARENTS):
        if parent < 0:
            continue
        b = out[:, j] - out[:, parent]
        np.testing.assert_allclose(np.linalg.norm(b, axis=-1), CANONICAL_BONE_LENGTHS[j], atol=2e-3,
                                   err_msg=CANONICAL_JOINTS[j])
        if CANONICAL_JOINTS[j] in GIRDLE_OFFSETS:
            continue
        a = pos[:, j] - pos[:, parent]
        cos = (a * b).sum(-1) / np.linalg.norm(a, axis=-1) / np.linalg.norm(b, axis=-1)
        assert cos.min() > 0.9999, CANONICAL_JOINTS[j]


def test_retargeting_makes_cmu_shoulders_canonical_width(punch) -> None:
    raw_width = np.linalg.norm(punch.positions[0, J["left_shoulder"]] - punch.positions[0, J["right_shoulder"]])
    new = retarget(punch.positions[:1])[0]
    new_width = np.linalg.norm(new[J["left_shoulder"]] - new[J["right_shoulder"]])
    assert raw_width < 0.27 and new_width == pytest.approx(0.35, abs=0.01)


def test_canonicalize_floor_origin_and_heading(punch) -> None:
    turned = punch.positions[:40] @ rotation_z(1.3).T + np.array([2.0, -1.0, 0.5], dtype=np.float32)
    a, b = canonicalize(punch.positions[:40]), canonicalize(turned)
    np.testing.assert_allclose(a, b, atol=1e-4)
    assert a[..., 2].min() == pytest.approx(0.0, abs=1e-6)
    np.testing.assert_allclose(a[0, J["pelvis"], :2], 0.0, atol=1e-5)
    assert facing_angle(a[0]) == pytest.approx(0.0, abs=1e-5)


def test_normalize_window_layout_and_config_round_trip(punch) -> None:
    cfg = NormalizationConfig(window_frames=60)
    feats = normalize_window(punch.positions[:60], punch.valid[:60], cfg)
    assert feats.shape == (60, cfg.feature_dim) == (60, 66 + 2 + 66 + 22)
    assert np.isfinite(feats).all()
    np.testing.assert_allclose(feats[:, 0:2], 0.0, atol=1e-5)  # pelvis xy is the origin of local joints
    np.testing.assert_allclose(feats[0, 66:68], 0.0, atol=1e-5)  # trajectory starts at the origin
    assert NormalizationConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="unknown"):
        NormalizationConfig.from_dict({**cfg.to_dict(), "bogus": 1})
    with pytest.raises(ValueError, match="version"):
        NormalizationConfig.from_dict({**cfg.to_dict(), "version": 99})


def test_windows_normalized_together_are_the_windows_normalized_alone(punch) -> None:
    """The live node normalizes a round's windows in one pass: each must get exactly its own features (its own
    floor, origin and facing), with or without validity."""
    cfg = NormalizationConfig(window_frames=30)
    turned = punch.positions @ rotation_z(1.1).T + np.array([2.0, -1.0, 0.3], np.float32)
    starts = [0, 7, 19, 33]
    pos = np.stack([(turned if k % 2 else punch.positions)[s:s + 30] for k, s in enumerate(starts)])
    valid = np.stack([punch.valid[s:s + 30] for s in starts])
    valid[1, :, 3] = False
    for v in (valid, None):
        together = normalize_windows(pos, v, cfg)
        for k in range(len(starts)):
            np.testing.assert_array_equal(together[k], normalize_window(pos[k], None if v is None else v[k], cfg))
    assert not np.array_equal(together[0], together[1])


def test_mirroring_twice_is_identity_and_swaps_sides(punch) -> None:
    m = punch.slice(0, 30)
    mm = mirror_motion(m)
    np.testing.assert_allclose(mirror_motion(mm).positions, m.positions)
    # The mirrored right wrist is where the original left wrist was, reflected.
    np.testing.assert_allclose(mm.positions[:, J["right_wrist"]], m.positions[:, J["left_wrist"]] * [1, -1, 1])
    # 02_05 punches with the right arm: after mirroring it is the left arm that travels furthest.
    def travel(p, name):
        return np.linalg.norm(np.diff(p[:, J[name]], axis=0), axis=-1).sum()
    full = punch.positions
    assert travel(full, "right_wrist") > travel(full, "left_wrist")
    mirrored = mirror_positions(full)
    assert travel(mirrored, "left_wrist") > travel(mirrored, "right_wrist")


def test_mirror_text_swaps_side_words_and_round_trips() -> None:
    text = "Wave the LEFT hand, turn counter-clockwise, then step Right"
    swapped = mirror_text(text)
    assert swapped == "Wave the RIGHT hand, turn clockwise, then step Left"
    assert mirror_text("turn clockwise") == "turn counterclockwise"
    assert mirror_text(mirror_text("kick with the left foot")) == "kick with the left foot"
    assert mirror_text("leftover bright light") == "leftover bright light"
    assert has_side_words("raise the right arm") and not has_side_words("walk forward")


def test_resample_120_to_30_fps_keeps_duration_and_values(punch) -> None:
    fast = Motion(np.repeat(punch.positions[:31], 4, axis=0)[:121], punch.joint_names, 120.0)
    slow = resample_motion(fast, 30.0)
    assert slow.num_frames == 31
    np.testing.assert_allclose(slow.positions[5], fast.positions[20])


def test_resample_irregular_times_interpolates_linearly() -> None:
    pos = np.zeros((3, 1, 3), dtype=np.float32)
    pos[:, 0, 0] = [0.0, 1.0, 3.0]
    out, valid, t = resample_times(pos, np.array([0.0, 0.1, 0.3]), fps=20.0,
                                   valid=np.array([[True], [False], [True]]))
    np.testing.assert_allclose(t, [0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3])
    np.testing.assert_allclose(out[:, 0, 0], [0, 0.5, 1, 1.5, 2, 2.5, 3], atol=1e-6)
    assert valid[:, 0].tolist() == [True, False, False, False, False, False, True]
    with pytest.raises(ValueError, match="increasing"):
        resample_times(pos, np.array([0.0, 0.2, 0.1]), 20.0)


def test_windows_and_padding() -> None:
    assert window_starts(10, 4, 3) == [0, 3, 6]
    assert window_starts(11, 4, 3) == [0, 3, 6, 7]
    assert window_starts(3, 4, 2) == [0]
    padded, mask = pad_window(np.ones((3, 2)), 5)
    assert padded.shape == (5, 2) and mask.tolist() == [True] * 3 + [False] * 2 and padded[3:].sum() == 0


def test_kinect_marker_names_and_mediapipe_names_are_complete() -> None:
    assert len(KINECT32_JOINTS) == 32 and len(set(KINECT32_JOINTS)) == 32
    assert len(MEDIAPIPE33_JOINTS) == 33 and len(set(MEDIAPIPE33_JOINTS)) == 33
