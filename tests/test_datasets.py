"""CMU loader and split, the plain npz format, the dataset cache and the `motion-text data` commands."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from motion_text_node.cli import main as cli_main
from motion_text_node.data.build import build_cache, subject_of
from motion_text_node.data.cache import DatasetCache
from motion_text_node.data.cmu import CMU_ACKNOWLEDGEMENT, read_index_texts, read_manifest, read_subject_split
from motion_text_node.data.npz_format import load_npz_clip, save_npz_clip
from motion_text_node.data.splits import hash_split
from motion_text_node.errors import UserError
from motion_text_node.skeleton.canonical import CANONICAL_JOINTS
from motion_text_node.skeleton.canonical import JOINT_INDEX as J
from motion_text_node.skeleton.formats import MEDIAPIPE33_JOINTS


def test_cmu_cache_has_every_informative_trial_split_by_subject(cmu_cache) -> None:
    cache = DatasetCache(cmu_cache)
    manifest = read_manifest()
    assert len(cache) == sum(t.informative for t in manifest) == 173
    split = read_subject_split()
    subjects = {s: {cache.clip(i).subject for i in cache.ids(s)} for s in ("train", "val", "test")}
    assert subjects["test"] == {"12", "14"}
    assert not subjects["train"] & subjects["test"] and not subjects["train"] & subjects["val"]
    for clip_id in cache.ids()[::9]:
        assert cache.split_of(clip_id) == split[cache.clip(clip_id).subject]
    assert cache.meta["acknowledgement"] == CMU_ACKNOWLEDGEMENT
    assert cache.meta["summary"]["all"]["minutes"] == pytest.approx(36.0, abs=1.0)


def test_cmu_clips_are_canonical_30fps_with_their_descriptions(cmu_cache) -> None:
    cache = DatasetCache(cmu_cache)
    clip = cache.clip("02_05")
    assert clip.text == "punch/strike" and clip.subject == "2"
    assert clip.motion.fps == 30.0 and clip.motion.joint_names == CANONICAL_JOINTS
    assert clip.motion.duration == pytest.approx(15.45, abs=0.1)  # 1854 frames at 120 fps
    assert clip.segments and "right arm" in clip.segments[0].text  # HumanML3D caption
    # Subjects 60/61 were captured at 60 fps though their headers say 120: durations follow the manifest.
    salsa = cache.clip("60_01")
    row = next(t for t in read_manifest() if t.trial_id == "60_01")
    assert row.capture_fps == 60
    header_says = 2241 / 120.0  # frames / header fps
    assert salsa.motion.duration == pytest.approx(2 * header_says, abs=0.1)
    # A model at another rate gets the clips resampled (same duration, its own frame count).
    at15 = next(c for c in cache.clips("train", fps=15.0) if c.clip_id == "02_05")
    assert at15.motion.fps == 15.0 and at15.motion.duration == pytest.approx(clip.motion.duration, abs=0.1)
    np.testing.assert_allclose(at15.motion.positions[10], clip.motion.positions[20], atol=1e-5)


def test_cmu_index_vocabulary_is_available() -> None:
    texts = read_index_texts()
    assert len(texts) > 1000 and "walk" in texts


def test_npz_round_trip_with_partial_y_up_skeleton(tmp_path, cmu_cache) -> None:
    motion = DatasetCache(cmu_cache).clip("02_05").motion.slice(0, 60)
    keep = [n for n in CANONICAL_JOINTS if not n.startswith("spine")]
    y_up = motion.positions[:, [J[n] for n in keep]][..., [0, 2, 1]] * np.array([1, 1, -1], dtype=np.float32)
    path = tmp_path / "mine.npz"
    np.savez(path, positions=y_up, joint_names=np.array(keep), fps=np.float64(30.0), up_axis="y",
             text="punch with the right arm", label="punch")
    clip = load_npz_clip(path)
    assert clip.text == "punch with the right arm" and clip.label == "punch"
    np.testing.assert_allclose(clip.motion.positions[:, J["right_wrist"]], motion.positions[:, J["right_wrist"]],
                               atol=1e-5)
    assert not clip.motion.valid[:, J["spine2"]].any()
    again = load_npz_clip(save_npz_clip(tmp_path / "again.npz", clip.motion, clip.text, clip.label))
    np.testing.assert_allclose(again.motion.positions, clip.motion.positions, atol=1e-6)


def test_npz_in_a_named_format(tmp_path) -> None:
    pos = np.random.default_rng(0).normal(size=(5, 33, 3)).astype(np.float32)
    np.savez(tmp_path / "mp.npz", positions=pos, fps=15, skeleton_format="mediapipe33")
    clip = load_npz_clip(tmp_path / "mp.npz")
    assert clip.motion.num_frames == 5 and clip.motion.fps == 15
    assert len(MEDIAPIPE33_JOINTS) == pos.shape[1]


@pytest.mark.parametrize("arrays, problem", [
    ({"fps": 30}, "no 'positions'"),
    ({"positions": np.zeros((3, 22, 3))}, "no 'fps'"),
    ({"positions": np.zeros((3, 22, 3)), "fps": -1}, "fps must be positive"),
    ({"positions": np.zeros((3, 22, 3)), "fps": [1, 2]}, "one number"),
    ({"positions": np.zeros((3, 22)), "fps": 30, "skeleton_format": "smpl22"}, "frames, joints, 3"),
    ({"positions": np.zeros((3, 2, 3)), "fps": 30, "joint_names": np.array(["a", "b"])}, "no joint name matches"),
    ({"positions": np.array([["x"]]), "fps": 30}, "must be real numbers"),
])
def test_malformed_npz_names_the_file_and_problem(arrays, problem, tmp_path) -> None:
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(UserError, match=problem) as info:
        load_npz_clip(path)
    assert "bad.npz" in str(info.value)


def test_corrupt_npz_file(tmp_path) -> None:
    path = tmp_path / "corrupt.npz"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(UserError, match="not a readable .npz"):
        load_npz_clip(path)


def test_bvh_dir_and_npz_dir_sources(tmp_path, cmu_bvh_dir, cmu_cache) -> None:
    bvh_dir = tmp_path / "bvh"
    bvh_dir.mkdir()
    for trial in ("02_05", "131_01"):
        (bvh_dir / f"{trial}.bvh").write_text((cmu_bvh_dir / f"{trial}.bvh").read_text())
    (bvh_dir / "02_05.txt").write_text("punch with the right arm\nboxing\n")
    summary = build_cache("bvh-dir", tmp_path / "c1", fps=20.0, path=bvh_dir, progress=False)
    assert summary["all"]["clips"] == 2
    c1 = DatasetCache(tmp_path / "c1")
    assert c1.clip("02_05").texts == ["punch with the right arm", "boxing"] and c1.clip("02_05").motion.fps == 20
    assert c1.clip("131_01").subject == "131"

    npz_dir = tmp_path / "npz"
    motion = DatasetCache(cmu_cache).clip("02_05").motion
    save_npz_clip(npz_dir / "a.npz", motion.slice(0, 50), "walk", "walk")
    save_npz_clip(npz_dir / "b.npz", motion.slice(50, 90), "walk slowly", "walk")
    build_cache("npz-dir", tmp_path / "c2", fps=30.0, path=npz_dir, progress=False)
    c2 = DatasetCache(tmp_path / "c2")
    assert sorted(c2.ids()) == ["a", "b"] and c2.clip("b").motion.num_frames == 40
    assert c2.clip("a").label == "walk"


def test_hash_split_is_deterministic_and_balanced() -> None:
    splits = [hash_split(f"subject{i}") for i in range(2000)]
    assert splits == [hash_split(f"subject{i}") for i in range(2000)]
    assert 0.75 < splits.count("train") / 2000 < 0.85
    assert subject_of("02_05") == "2" and subject_of("my_take") == "my_take"


def test_cache_errors(tmp_path) -> None:
    with pytest.raises(UserError, match="not a dataset cache"):
        DatasetCache(tmp_path)
    (tmp_path / "index.json").write_text("{not json")
    with pytest.raises(UserError, match="corrupt"):
        DatasetCache(tmp_path)


def test_data_cli_info_show_and_errors(cmu_cache, tmp_path, capsys) -> None:
    assert cli_main(["data", "info", str(cmu_cache)]) == 0
    out = capsys.readouterr().out
    assert "173" in out and "mocap.cs.cmu.edu" in out
    gif = tmp_path / "walk.gif"
    assert cli_main(["data", "show", "07_01", "--data", str(cmu_cache), "--out", str(gif), "--max-seconds", "1"]) == 0
    from PIL import Image

    assert Image.open(gif).n_frames == 25
    assert cli_main(["data", "show", "nope", "--data", str(cmu_cache), "--out", str(gif)]) == 2
    assert "no clip 'nope'" in capsys.readouterr().err
    assert cli_main(["data", "build", "--source", "bvh-dir", "--out", str(tmp_path / "x")]) == 2
    assert "needs --path" in capsys.readouterr().err


def test_cli_user_errors_are_one_line_without_traceback(tmp_path) -> None:
    result = subprocess.run([sys.executable, "-m", "motion_text_node.cli", "data", "show", str(tmp_path / "x.bvh"),
                             "--out", str(tmp_path / "x.gif")], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.stderr
    assert "no such file" in result.stderr


def test_cache_index_is_plain_json(cmu_cache) -> None:
    index = json.loads((cmu_cache / "index.json").read_text())
    assert {"id", "offset", "length", "fps", "texts", "split", "subject", "segments"} <= set(index["clips"][0])


def test_clip_action_label_follows_the_label_set() -> None:
    """One rule for training classes and bag ground truth: "cmu" reads the description, "dataset" the clip's own
    label, "either" its own label first (bags of mixed sources)."""
    from motion_text_node.data.clip import Clip
    from motion_text_node.data.labels import clip_action_label
    from motion_text_node.skeleton.motion import Motion

    still = Motion(np.zeros((4, 22, 3), np.float32), CANONICAL_JOINTS, 30.0)
    labelled = Clip("a", still, ["a person walks forward"], label="wave")
    plain = Clip("b", still, ["a person walks forward"])
    assert [clip_action_label(labelled, s) for s in ("cmu", "dataset", "either")] == ["walk", "wave", "wave"]
    assert [clip_action_label(plain, s) for s in ("cmu", "dataset", "either")] == ["walk", "", "walk"]
