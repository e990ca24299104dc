"""Every source of shared/data as a loader, on real files: frame rate, units, up axis, left/right; hostile copies;
the merged cache with provenance, licences and leakage-free splits."""

from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from motion_text_node.cli import main as cli_main
from motion_text_node.data.archives import unpacked
from motion_text_node.data.bandai import bandai_dir, bandai_files, bandai_splits, load_bandai_file
from motion_text_node.data.bvh import load_bvh
from motion_text_node.data.cache import DatasetCache
from motion_text_node.data.cmu import iter_cmu_clips, read_subject_split
from motion_text_node.data.deepmimic import load_character, load_deepmimic
from motion_text_node.data.hra import hra_dir, iter_hra_clips, load_hra_file, read_hra_manifest
from motion_text_node.data.humanoid3d import humanoid3d_dir, iter_humanoid3d_clips, read_humanoid3d_manifest
from motion_text_node.data.mocap6 import read_mocap6_segments
from motion_text_node.data.sources import is_non_commercial, provenance, select_clips
from motion_text_node.data.splits import block_splits
from motion_text_node.errors import UserError
from motion_text_node.export.onnx_export import training_data_terms
from motion_text_node.skeleton.canonical import JOINT_INDEX as J
from motion_text_node.skeleton.normalize import facing_angle
from motion_text_node.train.config import load_config

LEGS = [J[n] for n in ("left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
                       "left_foot", "right_foot")]
ARMS = [J[n] for n in ("left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist")]


def standing_height(positions: np.ndarray) -> float:
    """Head (or top joint) above the lowest foot joint in the first frame, metres (z up)."""
    return float(positions[0, :, 2].max() - positions[0, :, 2].min())


def upright(positions: np.ndarray) -> bool:
    """z is up: head above pelvis above ankles in the first frame."""
    z = positions[0, :, 2]
    return z[J["head"]] > z[J["pelvis"]] > max(z[J["left_ankle"]], z[J["right_ankle"]])


def heading_change(positions: np.ndarray) -> float:
    """Accumulated turn of the body's facing over the clip, degrees (positive = counter-clockwise = left)."""
    angles = np.unwrap([facing_angle(f) for f in positions])
    return float(np.degrees(angles[-1] - angles[0]))


def wrist_activity(positions: np.ndarray, fps: float) -> tuple[float, float]:
    """Mean speed of the left and right wrist relative to the chest, m/s."""
    rel = positions[:, [J["left_wrist"], J["right_wrist"]]] - positions[:, [J["spine3"]]]
    speed = np.linalg.norm(np.diff(rel, axis=0), axis=-1).mean(axis=0) * fps
    return float(speed[0]), float(speed[1])


# --- cmu_extra ---------------------------------------------------------------------------------------------------

def test_cmu_extra_trusts_the_manifest_fps_and_reads_both_skeletons() -> None:
    clips = {c.clip_id: (c, s) for c, s in iter_cmu_clips(fps=None, extra=True)}
    assert len(clips) == 17
    jump, split16 = clips["16_01"]  # header says 30 fps, the data is 120 (ASF names, ASF units, no T-pose)
    assert jump.motion.fps == 120 and jump.motion.duration == pytest.approx(322 / 120, abs=1e-3)
    saw, split62 = clips["62_03"]  # header says 120, subject 62 was captured at 60 (T-pose frame dropped, and the
    assert saw.motion.fps == 60 and (1378 - 5) / 60 <= saw.motion.duration < (1378 - 1) / 60  # frames blending out)
    first_steps = np.linalg.norm(np.diff(saw.motion.positions[:5], axis=0), axis=-1).max(axis=1) * 60
    assert first_steps.max() < 2.0  # m/s: no joint jumps out of the T-pose any more
    for clip in (jump, saw):
        assert 1.2 <= standing_height(clip.motion.positions) <= 2.0, clip.clip_id
        assert upright(clip.motion.positions) and clip.motion.valid[:, ARMS + LEGS].all()
        assert clip.source == "cmu_extra" and clip.licence == "CMU-mocap" and clip.take == clip.clip_id
    # The jump: both feet leave the floor, at the same time.
    feet = jump.motion.positions[:, [J["left_ankle"], J["right_ankle"]], 2]
    assert (feet.min(axis=1) - feet.min()).max() > 0.15
    assert (split16, split62) == ("test", "train") == (read_subject_split()["16"], read_subject_split()["62"])


# --- cmu_humanoid3d ----------------------------------------------------------------------------------------------

def test_humanoid3d_fps_units_and_turns_toward_the_named_side() -> None:
    clips = {c.clip_id: c for c, _ in iter_humanoid3d_clips(fps=None)}
    rows = {r["trial_id"]: r for r in read_humanoid3d_manifest()}
    assert len(clips) == 72
    flip = clips["cmu_humanoid3d:88_08"]  # resampled as if 120 fps: the manifest's 15 fps is the truth
    assert flip.motion.fps == 15 and flip.motion.duration == pytest.approx(float(rows["88_08"]["duration_s"]), 0.01)
    walk = clips["cmu_humanoid3d:02_01"]
    assert walk.motion.fps == 30 and 1.2 <= standing_height(walk.motion.positions) <= 2.0
    assert upright(walk.motion.positions)
    # Observed: pelvis, hips, knees, ankles, chest (spine3), neck, shoulders, elbows, wrists; the rest imputed.
    assert walk.motion.valid[:, [J["left_ankle"], J["neck"], J["right_wrist"]]].all()
    assert not walk.motion.valid[:, [J["head"], J["left_collar"], J["left_foot"]]].any()
    sided = {k: c for k, c in clips.items() if ("left" in c.text.lower()) != ("right" in c.text.lower())}
    assert len(sided) >= 8
    for key, clip in sided.items():
        turn = heading_change(clip.motion.positions)
        want = 1 if "left" in clip.text.lower() else -1
        assert math.copysign(1, turn) == want and abs(turn) > 10, (key, clip.text, turn)


def test_deepmimic_hostile_files(tmp_path) -> None:
    folder = unpacked(humanoid3d_dir() / "cmu_humanoid3d.tar.xz", "cmu_humanoid3d")
    character = load_character(folder / "humanoid3d.txt")
    good = json.loads((folder / "02_01.txt").read_text())
    cases = {
        "truncated.txt": (folder / "02_01.txt").read_text()[:5000],
        "short_frames.txt": json.dumps({"Frames": [f[:40] for f in good["Frames"]]}),
        "nan.txt": json.dumps({"Frames": [[float("nan")] * 44] * 3}),
        "no_frames.txt": json.dumps({"Loop": "none"}),
        "strings.txt": json.dumps({"Frames": [["a"] * 44]}),
    }
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(UserError, match=name):
            load_deepmimic(tmp_path / name, character, fps=30)
    (tmp_path / "char.txt").write_text('{"Skeleton": {"Joints": [{"ID": 0}]}}')
    with pytest.raises(UserError, match="character"):
        load_character(tmp_path / "char.txt")


# --- mocap6 ------------------------------------------------------------------------------------------------------

def test_mocap6_segments_are_aligned_with_the_cmu_frames(cmu_cache) -> None:
    segments = read_mocap6_segments()
    assert set(segments) == {"13_30", "13_31"}  # the AMC trials have no ASF here; 14_06 has no motion
    clip = DatasetCache(cmu_cache).clip("13_30")
    labels = {s.label for s in clip.segments}
    assert {"jumping jacks", "squat", "twist the torso"} <= labels
    pelvis = clip.motion.positions[:, J["pelvis"], 2]
    t = np.arange(len(pelvis)) / clip.motion.fps
    standing = np.median(pelvis)
    for seg in clip.segments:
        inside = pelvis[(t >= seg.start) & (t < seg.end)]
        if seg.label == "squat":  # the labelled span is where the pelvis goes down
            assert standing - inside.min() > 0.25
        if seg.label == "jumping jacks":  # ... and where it goes up
            assert inside.max() - standing > 0.05


# --- hra ---------------------------------------------------------------------------------------------------------

def test_hra_upper_body_millimetres_100fps() -> None:
    rows = {r["file"]: r for r in read_hra_manifest()}
    root = unpacked(hra_dir() / "hra_bvh.tar.xz", "hra_bvh")
    clip = load_hra_file(root / "CollaborativeLifting/2.bvh", "CollaborativeLifting")
    assert clip.motion.fps == 100
    assert clip.motion.duration == pytest.approx(float(rows["CollaborativeLifting/2.bvh"]["duration_s"]), abs=0.02)
    valid = clip.motion.valid
    assert valid[:, ARMS].all() and not valid[:, LEGS].any() and not valid[:, J["head"]].any()
    p = clip.motion.positions
    torso = np.linalg.norm(p[:, J["neck"]] - p[:, J["pelvis"]], axis=-1)
    shoulders = np.linalg.norm(p[:, J["left_shoulder"]] - p[:, J["right_shoulder"]], axis=-1)
    assert 0.25 < np.median(torso) < 0.45 and 0.2 < np.median(shoulders) < 0.4  # metres, not mm
    assert (p[:, J["neck"], 2] > p[:, J["pelvis"], 2]).mean() > 0.95  # z up
    # Lifting a board with both hands: the forearms point forward of the body (left stays left, else they would
    # point backward).
    forward = np.array([math.cos(a) for a in [facing_angle(f) for f in p]]), np.array(
        [math.sin(a) for a in [facing_angle(f) for f in p]])
    for wrist, elbow in (("left_wrist", "left_elbow"), ("right_wrist", "right_elbow")):
        arm = p[:, J[wrist], :2] - p[:, J[elbow], :2]
        assert np.median(arm[:, 0] * forward[0] + arm[:, 1] * forward[1]) > 0.05, wrist


def test_hra_splits_by_take_and_ambiguous_handovers() -> None:
    clips = list(iter_hra_clips(fps=30.0))
    assert len(clips) == 73 and {s for _, s in clips} == {"train", "val", "test"}
    by_task = defaultdict(set)
    for c, s in clips:
        by_task[c.label].add(s)
    assert sum(c.motion.duration for c, _ in clips) / 60 == pytest.approx(16.6, abs=0.2)
    ambiguous = [c for c, _ in clips if c.label == "hand over an object"]
    assert len(ambiguous) == 5 and all(c.take.startswith("HumanRobotHandover/") for c in ambiguous)


# --- bandai ------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def bandai_root() -> Path:
    return unpacked(bandai_dir() / "bandai_bvh.tar.xz", "bandai_bvh", wrap=True)


def _bandai(root: Path, stem: str):
    return load_bandai_file(next(root.glob(f"*/data/{stem}.bvh")))


def test_bandai_units_fps_up_axis_and_texts(bandai_root) -> None:
    clip = _bandai(bandai_root, "dataset-2_walk_elderly_001")
    assert clip.motion.fps == 30 and clip.label == "walk"
    assert 1.2 <= standing_height(clip.motion.positions) <= 2.0 and upright(clip.motion.positions)
    assert clip.motion.valid.all() and clip.licence == "CC-BY-NC-4.0" and is_non_commercial(clip.licence)
    assert clip.texts[0] == "a person walks in an elderly way" and len(set(clip.texts)) == len(clip.texts) >= 6
    # Position channels replace OFFSET: hips 0.9 m above the root (adding OFFSET's 91 cm would double it).
    assert 0.7 < np.median(clip.motion.positions[:, J["pelvis"], 2]) < 1.1
    raw = load_bvh(clip.path, unit_scale="cm")
    hips, root = raw.positions[:, raw.joint_names.index("Hips")], raw.positions[:, 0]
    assert np.abs(hips[:, 1] - root[:, 1] - 0.9).max() < 0.2


@pytest.mark.parametrize("side", ["left", "right"])
def test_bandai_named_side_moves(bandai_root, side) -> None:
    other = {"left": "right", "right": "left"}[side]
    for take in ("001", "010"):
        wave = _bandai(bandai_root, f"dataset-2_wave-{side}-hand_normal_{take}")
        act = dict(zip(("left", "right"), wrist_activity(wave.motion.positions, wave.motion.fps), strict=True))
        assert act[side] > 2 * act[other], (wave.clip_id, act)
        raise_ = _bandai(bandai_root, f"dataset-2_raise-up-{side}-hand_normal_{take}").motion.positions
        lift = {s: (raise_[:, J[f"{s}_wrist"], 2] - raise_[:, J["head"], 2]).max() for s in ("left", "right")}
        assert lift[side] > 0 > lift[other], lift
        turn = heading_change(_bandai(bandai_root, f"dataset-2_walk-turn-{side}_normal_{take}").motion.positions)
        assert (turn > 45) if side == "left" else (turn < -45), turn


def test_bandai_walk_back_moves_backward(bandai_root) -> None:
    p = _bandai(bandai_root, "dataset-1_walk-back_normal_001").motion.positions
    a = facing_angle(p[0])
    travel = p[-1, J["pelvis"], :2] - p[0, J["pelvis"], :2]
    assert travel @ np.array([math.cos(a), math.sin(a)]) < -1.0


def test_bandai_splits_keep_takes_and_styles_together(bandai_root) -> None:
    files = bandai_files(bandai_root)
    assert len(files) == 3076
    split = bandai_splits(files)
    assert {s: list(split.values()).count(s) for s in ("train", "val", "test")} == {"train": 2465, "val": 300,
                                                                                    "test": 311}
    assert split["dataset-1_walk_proud_001"] == split["dataset-1_walk_proud_002"] == "test"
    takes = sorted(k for k in split if k.startswith("dataset-2_run_normal_"))
    assert [split[k] for k in takes[-3:]] == ["test"] * 3 and split[takes[0]] == "train"


def test_bandai_hostile_copies(bandai_root, tmp_path) -> None:
    src = next(bandai_root.glob("*/data/dataset-2_walk_normal_001.bvh"))
    text = src.read_text()
    head, motion = text.split("MOTION")
    frames = motion.strip().splitlines()
    cases = {
        "truncated": text[: len(text) // 2],
        "nan": head + "MOTION\n" + "\n".join(frames[:2]) + "\n" + frames[2].replace("0.", "nan", 1) + "\n"
        + "\n".join(frames[3:]),
        "metres": head.replace("OFFSET", "OFFSET") + "MOTION\n" + "\n".join(frames[:2]) + "\n" + "\n".join(
            " ".join(f"{float(v) / 100:.6f}" for v in line.split()) for line in frames[2:]),
        "wrong_channels": text.replace("CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation",
                                       "CHANNELS 3 Zrotation Xrotation Yrotation", 1),
    }
    for name, body in cases.items():
        path = tmp_path / f"dataset-2_walk_normal_{name}.bvh"
        path.write_text(body)
        with pytest.raises(UserError, match="walk_normal_" + name):
            load_bandai_file(path)
    with pytest.raises(UserError, match="not a Bandai file name"):
        load_bandai_file(tmp_path / "walk.bvh")


# --- the merged cache --------------------------------------------------------------------------------------------

def test_merged_cache_provenance_and_no_capture_in_two_splits(merged_cache, cmu_cache) -> None:
    merged = DatasetCache(merged_cache)
    entries = merged.entries + DatasetCache(cmu_cache).entries
    assert {e["source"] for e in merged.entries} == {"cmu_extra", "cmu_humanoid3d", "hra", "bandai"}
    assert all(e["licence"] and e["take"] and e["path"] for e in entries)
    by_source = merged.meta["summary"]["by_source"]
    assert by_source["bandai"]["all"]["clips"] == 120 and by_source["hra"]["all"]["minutes"] > 16
    for src in ("bandai", "hra", "cmu_humanoid3d"):
        assert by_source[src]["test"]["clips"] > 0 and by_source[src]["val"]["clips"] > 0, src
    # A capture (the same CMU trial in two sources, or one take) and a CMU subject live in one split only.
    splits_of_take, splits_of_subject = defaultdict(set), defaultdict(set)
    for e in entries:
        splits_of_take[e["take"]].add(e["split"])
        if e["source"].startswith("cmu"):
            splits_of_subject[e["subject"]].add(e["split"])
    assert all(len(s) == 1 for s in splits_of_take.values())
    assert all(len(s) == 1 for s in splits_of_subject.values())
    assert len([t for t in splits_of_take if t[:2].isdigit() and ("cmu_humanoid3d:" + t) in merged._by_id
                and t in DatasetCache(cmu_cache)._by_id]) == 25  # trials in both cmu and cmu_humanoid3d


def test_data_info_per_source_and_licences(merged_cache, capsys) -> None:
    assert cli_main(["data", "info", str(merged_cache)]) == 0
    out = capsys.readouterr().out
    for src in ("bandai", "hra", "cmu_humanoid3d", "cmu_extra"):
        assert any(line.startswith(src) and " test " in line for line in out.splitlines()), src
    assert "CC-BY-NC-4.0 (NON-COMMERCIAL" in out and "mocap.cs.cmu.edu" in out


def test_config_selects_sources_and_licences(merged_cache) -> None:
    clips = DatasetCache(merged_cache).clips("train")
    config = load_config(None, ["data.exclude_licences=[CC-BY-NC-4.0]"])
    kept = select_clips(clips, config.data.sources, config.data.exclude_sources, config.data.exclude_licences)
    assert kept and not any(c.source == "bandai" for c in kept) and len(kept) < len(clips)
    config = load_config(None, ["data.sources=cmu_extra,hra"])
    assert {c.source for c in select_clips(clips, config.data.sources)} == {"cmu_extra", "hra"}
    assert {c.source for c in select_clips(clips, exclude_licences=["CMU-mocap"])} == {"hra", "bandai"}
    terms = training_data_terms(provenance(clips))
    assert terms["non_commercial"] and "non-commercial" in terms["notice"]
    assert not training_data_terms(provenance(kept))["non_commercial"]


def test_exported_model_names_its_training_data(tiny_model_dir) -> None:
    data = json.loads((tiny_model_dir / "model.json").read_text())["training_data"]
    assert [r["source"] for r in data["sources"]] == ["cmu"] and data["non_commercial"] is False
    assert data["sources"][0]["clips"] > 100 and "mocap.cs.cmu.edu" in data["sources"][0]["attribution"]


def test_build_rejects_bad_fps_and_unknown_sources(tmp_path, capsys) -> None:
    for argv in (["--source", "cmu", "--fps", "0"], ["--source", "cmu", "--fps", "nan"], ["--source", "nope"]):
        assert cli_main(["data", "build", "--out", str(tmp_path / "c"), *argv]) != 0
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "error" in err[0] and "Traceback" not in err[0], err


def test_block_splits_keep_consecutive_takes_together() -> None:
    takes = [f"t_{i}" for i in range(1, 21)]
    split = block_splits(takes)
    assert [split[t] for t in takes] == ["train"] * 16 + ["val"] * 2 + ["test"] * 2
    assert block_splits(takes[::-1]) == split and set(block_splits(takes[:4]).values()) == {"train"}


def test_bvh_position_channels_replace_offset(tmp_path) -> None:
    # Two joints with 6 channels each whose position channels carry the offset (as Bandai's exporter writes).
    body = ("HIERARCHY\nROOT a\n{\n OFFSET 0 0 0\n CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation "
            "Yrotation\n JOINT b\n {\n  OFFSET 0 50 0\n  CHANNELS 6 Xposition Yposition Zposition Zrotation "
            "Xrotation Yrotation\n  End Site\n  {\n   OFFSET 0 0 0\n  }\n }\n}\nMOTION\nFrames: 1\n"
            "Frame Time: 0.1\n1 2 3 0 0 0 0 10 0 0 0 0\n")
    path = tmp_path / "p.bvh"
    path.write_text(body)
    np.testing.assert_allclose(load_bvh(path, unit_scale=1.0).positions[0, 1], [1, 12, 3], atol=1e-5)
    np.testing.assert_allclose(load_bvh(path, unit_scale=1.0, position_channels="add").positions[0, 1], [1, 62, 3],
                               atol=1e-5)
    (tmp_path / "n.bvh").write_text(body.replace("OFFSET 0 50 0", "OFFSET nan 50 0"))
    with pytest.raises(UserError, match="not finite"):
        load_bvh(tmp_path / "n.bvh")


def test_hra_hostile_copies(tmp_path) -> None:
    src = unpacked(hra_dir() / "hra_bvh.tar.xz", "hra_bvh") / "ObjectInspection/1.bvh"
    head, motion = src.read_text().split("MOTION")
    lines = motion.strip().splitlines()
    scaled = [" ".join(f"{float(v) / 1000:.6f}" for v in line.split()) for line in lines[2:]]
    offsets_in_m = "\n".join(
        (ln.split("OFFSET")[0] + "OFFSET " + " ".join(f"{float(v) / 1000:.6f}" for v in ln.split()[1:]))
        if ln.strip().startswith("OFFSET") else ln for ln in head.splitlines())
    cases = {"truncated.bvh": src.read_text()[:20000], "metres.bvh": offsets_in_m + "\nMOTION\n"
             + "\n".join(lines[:2] + scaled) + "\n", "legs.bvh": head.replace("left_forearm", "left_shin") + "MOTION"
             + motion}
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(UserError, match=name):
            load_hra_file(tmp_path / name, "ObjectInspection")
