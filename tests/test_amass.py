"""AMASS SMPL+H loading: forward kinematics against a synthetic body model in the real file formats."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from fixtures.synthetic_smplh import (
    GENDER_SCALES,
    NUM_JOINTS,
    REST_JOINTS,
    Z_UP_ROOT_ORIENT,
    axis_angle_to_matrix,
    make_smplh_model,
    write_amass_npz,
    write_body_model_dir,
)

from motion_text_node.data.amass import (
    SMPLH_JOINTS,
    build_smplh,
    load_amass_joints,
    load_amass_motion,
    read_amass_npz,
    resolve_body_model,
    smplh_joints,
)
from motion_text_node.errors import UserError
from motion_text_node.skeleton.canonical import CANONICAL_JOINTS

HEAD, LEFT_ANKLE = CANONICAL_JOINTS.index("head"), CANONICAL_JOINTS.index("left_ankle")


@pytest.fixture(scope="module")
def body_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_body_model_dir(tmp_path_factory.mktemp("smplh"))


def _poses(num_frames: int, root: np.ndarray | None = None) -> np.ndarray:
    poses = np.zeros((num_frames, 3 * NUM_JOINTS))
    if root is not None:
        poses[:, :3] = root
    return poses


def test_zero_pose_gives_rest_joints(body_models: Path, tmp_path: Path) -> None:
    npz = write_amass_npz(tmp_path / "rest_poses.npz", poses=_poses(3), fps=60.0)
    motion = load_amass_joints(npz, body_models)
    assert motion.joint_names == SMPLH_JOINTS and motion.fps == 60.0
    model = make_smplh_model()
    regressed = model["J_regressor"] @ model["v_template"]
    # All 52 joints, hands included: the model's hand means are not zero, so this needs flat_hand_mean.
    np.testing.assert_allclose(motion.positions, np.broadcast_to(regressed, (3, NUM_JOINTS, 3)), atol=1e-5)
    np.testing.assert_allclose(motion.positions[0], REST_JOINTS, atol=1e-5)


def test_matches_smplx_forward(body_models: Path, tmp_path: Path) -> None:
    import torch

    rng = np.random.default_rng(1)
    poses = rng.normal(0.0, 0.4, size=(3, 3 * NUM_JOINTS))
    trans = rng.normal(0.0, 1.0, size=(3, 3))
    betas = rng.normal(0.0, 1.0, size=16)
    seq = read_amass_npz(write_amass_npz(tmp_path / "x_poses.npz", poses=poses, trans=trans, betas=betas))
    ours = smplh_joints(seq, body_models)
    model = build_smplh(body_models / "male" / "model.npz")
    t = {k: torch.tensor(v, dtype=torch.float32) for k, v in {"p": poses, "tr": trans}.items()}
    out = model(
        betas=torch.tensor(betas, dtype=torch.float32)[None].expand(3, -1),  # forward does not broadcast betas
        global_orient=t["p"][:, :3], body_pose=t["p"][:, 3:66], left_hand_pose=t["p"][:, 66:111],
        right_hand_pose=t["p"][:, 111:], transl=t["tr"],
    )
    np.testing.assert_allclose(ours, out.joints[:, :NUM_JOINTS].detach().numpy(), atol=1e-5)


def test_root_rotation_rotates_about_the_root(body_models: Path, tmp_path: Path) -> None:
    root = np.array([0.3, -1.1, 0.7])
    motion = load_amass_joints(write_amass_npz(tmp_path / "r_poses.npz", poses=_poses(2, root)), body_models)
    expected = (REST_JOINTS - REST_JOINTS[0]) @ axis_angle_to_matrix(root).T + REST_JOINTS[0]
    np.testing.assert_allclose(motion.positions[1], expected, atol=1e-5)


def test_amass_root_orientation_stands_the_body_up_in_z(body_models: Path, tmp_path: Path) -> None:
    motion = load_amass_motion(write_amass_npz(tmp_path / "up_poses.npz", num_frames=2), body_models)
    assert motion.joint_names == CANONICAL_JOINTS and motion.positions.shape == (2, 22, 3)
    pos = motion.positions[0]
    assert pos[HEAD, 2] - pos[LEFT_ANKLE, 2] > 1.3  # head ~1.44 m above the ankle along z
    assert abs(pos[HEAD, 1] - pos[LEFT_ANKLE, 1]) < 0.1
    np.testing.assert_allclose(pos, (REST_JOINTS[:22] - REST_JOINTS[0]) @ axis_angle_to_matrix(Z_UP_ROOT_ORIENT).T
                               + REST_JOINTS[0], atol=1e-5)


def test_trans_translates_every_joint(body_models: Path, tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    poses = _poses(4, Z_UP_ROOT_ORIENT)
    poses[:, 3:66] = rng.normal(0.0, 0.3, size=(4, 63))
    trans = np.array([[0.0, 0.0, 0.0], [1.0, 2.0, 0.9], [-3.0, 0.5, 1.0], [0.1, -0.2, 0.3]])
    still = load_amass_joints(write_amass_npz(tmp_path / "a_poses.npz", poses=poses), body_models)
    moved = load_amass_joints(write_amass_npz(tmp_path / "b_poses.npz", poses=poses, trans=trans), body_models)
    np.testing.assert_allclose(moved.positions - still.positions, np.repeat(trans[:, None], NUM_JOINTS, 1), atol=1e-5)


def test_all_sixteen_betas_are_used(body_models: Path, tmp_path: Path) -> None:
    base = load_amass_joints(write_amass_npz(tmp_path / "b0_poses.npz"), body_models).positions
    betas = np.zeros(16)
    betas[12] = 2.0
    shaped = load_amass_joints(write_amass_npz(tmp_path / "b12_poses.npz", betas=betas), body_models).positions
    assert np.abs(shaped - base).max() > 0.01


def test_gender_picks_the_model_and_override_wins(body_models: Path, tmp_path: Path) -> None:
    def height(motion) -> float:
        return float(motion.positions[0, HEAD, 2] - motion.positions[0, LEFT_ANKLE, 2])

    male = load_amass_motion(write_amass_npz(tmp_path / "m_poses.npz", gender="male"), body_models)
    female_npz = write_amass_npz(tmp_path / "f_poses.npz", gender="female", gender_as_bytes=True)
    female = load_amass_motion(female_npz, body_models)
    assert height(female) == pytest.approx(height(male) * GENDER_SCALES["female"], rel=1e-4)
    neutral = load_amass_motion(female_npz, body_models, gender_override="neutral")
    assert height(neutral) == pytest.approx(height(male) * GENDER_SCALES["neutral"], rel=1e-4)
    single_file = load_amass_motion(female_npz, body_models / "male" / "model.npz")
    np.testing.assert_allclose(single_file.positions, male.positions, atol=1e-6)


def test_chunks_give_the_same_result(body_models: Path, tmp_path: Path) -> None:
    poses = np.random.default_rng(3).normal(0.0, 0.3, size=(7, 3 * NUM_JOINTS))
    seq = read_amass_npz(write_amass_npz(tmp_path / "c_poses.npz", poses=poses, trans=np.ones((7, 3))))
    np.testing.assert_allclose(smplh_joints(seq, body_models, chunk_frames=3), smplh_joints(seq, body_models),
                               atol=1e-6)


def test_missing_body_model_is_a_user_error(tmp_path: Path) -> None:
    npz = write_amass_npz(tmp_path / "x_poses.npz")
    with pytest.raises(UserError, match=r"not found: .*nowhere.*male,female,neutral"):
        load_amass_motion(npz, tmp_path / "nowhere")
    (tmp_path / "models" / "male").mkdir(parents=True)
    with pytest.raises(UserError, match=r"gender 'male' not found: .*male/model\.npz"):
        load_amass_motion(npz, tmp_path / "models")


def test_pkl_body_model_is_a_user_error(tmp_path: Path) -> None:
    pkl = tmp_path / "SMPLH_MALE.pkl"
    pkl.write_bytes(b"\x80\x04N.")
    for where in (pkl, tmp_path):
        with pytest.raises(UserError, match=r"\.pkl.*chumpy.*model\.npz"):
            resolve_body_model(where, "male")


def test_not_a_body_model_is_a_user_error(tmp_path: Path) -> None:
    model = make_smplh_model()
    del model["hands_meanr"]
    bad = tmp_path / "male" / "model.npz"
    bad.parent.mkdir()
    np.savez(bad, **model)
    with pytest.raises(UserError, match=r"model\.npz: not an SMPL\+H body model, missing hands_meanr"):
        load_amass_motion(write_amass_npz(tmp_path / "x_poses.npz"), tmp_path)
    smpl_like = make_smplh_model()
    smpl_like["J_regressor"] = smpl_like["J_regressor"][:24]
    np.savez(bad, **smpl_like)
    with pytest.raises(UserError, match=r"'J_regressor' has shape \(24, 6890\)"):
        build_smplh(bad)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"poses": np.zeros((4, 155))}, r"155 values per frame"),
        ({"poses": np.zeros((4, 165))}, r"looks like SMPL-X"),
        ({"poses": np.zeros((0, 156))}, r"T >= 1"),
        ({"trans": np.zeros((3, 3))}, r"'trans' must be \(4, 3\)"),
        ({"betas": np.zeros((2, 16))}, r"'betas' must be \(S,\)"),
        ({"poses": np.full((4, 156), np.nan)}, r"'poses' has 624 NaN/inf values \(frames 0, 1, 2, 3\)"),
        ({"mocap_framerate": np.array(0.0)}, r"positive frame rate"),
        ({"gender": np.array("robot")}, r"gender 'robot' is not one of"),
        ({"poses": None}, r"missing poses .*shape\.npz"),
    ],
)
def test_bad_sequence_is_a_user_error(tmp_path: Path, change: dict, message: str) -> None:
    arrays = dict(np.load(write_amass_npz(tmp_path / "ok_poses.npz")))
    arrays.update(change)
    bad = tmp_path / "bad_poses.npz"
    np.savez(bad, **{k: v for k, v in arrays.items() if v is not None})
    with pytest.raises(UserError, match=r"bad_poses\.npz: .*" + message):
        read_amass_npz(bad)


def test_unreadable_sequence_files_are_user_errors(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="AMASS file not found"):
        read_amass_npz(tmp_path / "missing.npz")
    (tmp_path / "junk.npz").write_text("not a zip")
    with pytest.raises(UserError, match=r"junk\.npz: not a readable \.npz"):
        read_amass_npz(tmp_path / "junk.npz")
    with pytest.raises(UserError, match="unknown gender 'robot'"):
        read_amass_npz(write_amass_npz(tmp_path / "x_poses.npz"), gender_override="robot")


def test_module_import_does_not_need_torch() -> None:
    code = "import sys, motion_text_node.data.amass; sys.exit('torch' in sys.modules or 'smplx' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0
