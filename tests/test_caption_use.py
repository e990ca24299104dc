"""Kinematic captions where they are used: `motion-text caption` on files of several skeletons, training windows
with caption texts, the runtime's caption summary and library descriptions."""

from __future__ import annotations

import json

import numpy as np
import pytest

from motion_text_node.cli import main as cli_main
from motion_text_node.data.cache import DatasetCache
from motion_text_node.data.clip import Clip
from motion_text_node.data.npz_format import save_npz_clip
from motion_text_node.runtime.engine import motion_captions
from motion_text_node.skeleton.canonical import CANONICAL_JOINTS
from motion_text_node.skeleton.canonical import JOINT_INDEX as J
from motion_text_node.skeleton.mirror import mirror_motion, mirror_text
from motion_text_node.skeleton.motion import Motion
from motion_text_node.train.config import load_config
from motion_text_node.train.samples import WindowSampler


def _caption_json(argv: list[str], capsys) -> dict:
    assert cli_main(["caption", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def _facts(report: dict) -> set[str]:
    return {f["name"] for w in report["windows"] for f in w["facts"]}


def test_caption_cli_on_bvh_of_two_skeletons(cmu_bvh_dir, merged_cache, capsys) -> None:
    walk = _caption_json([str(cmu_bvh_dir / "02_01.bvh")], capsys)  # cgspeed DAZ skeleton, 120 fps
    assert walk["windows"] and any(n.startswith("walk") for n in _facts(walk))
    assert all(w["sentences"] for w in walk["windows"] if w["facts"])
    bandai = DatasetCache(merged_cache)
    path = next(bandai.clip(i).path for i in bandai.ids() if "raise-up-left-hand" in i)
    raised = _facts(_caption_json([path], capsys))  # Bandai skeleton, position channels, cm
    assert "raise_hand_left" in raised and "raise_hand_right" not in raised
    assert cli_main(["caption", path]) == 0
    out = capsys.readouterr().out
    assert "left hand" in out and " s  " in out


def test_caption_cli_on_a_partial_npz_and_its_mirror(cmu_cache, tmp_path, capsys) -> None:
    motion = DatasetCache(cmu_cache).clip("02_05").motion  # punches with the right arm
    keep = [n for n in CANONICAL_JOINTS if not n.startswith("spine") and "collar" not in n]
    partial = Motion(motion.positions[:, [J[n] for n in keep]], keep, motion.fps)
    save_npz_clip(tmp_path / "punch.npz", partial)
    mirrored = mirror_motion(motion)
    save_npz_clip(tmp_path / "mirror.npz", Motion(mirrored.positions[:, [J[n] for n in keep]], keep, motion.fps))
    right = _facts(_caption_json([str(tmp_path / "punch.npz")], capsys))
    left = _facts(_caption_json([str(tmp_path / "mirror.npz")], capsys))
    sided = {n for n in right if n.endswith("_right")}
    assert sided and {n.replace("_right", "_left") for n in sided} <= left
    assert not {n for n in right if n.endswith("_left")} & {n.replace("_right", "_left") for n in sided}


def test_caption_cli_errors_are_one_line(tmp_path, capsys) -> None:
    (tmp_path / "bad.bvh").write_text("HIERARCHY\nROOT x\n{")
    for argv in (["caption", str(tmp_path / "bad.bvh")], ["caption", "nope.txt"],
                 ["caption", str(tmp_path / "bad.bvh"), "--stride-s", "0"]):
        assert cli_main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "error" in err[0]


def test_training_windows_carry_captions_and_mirrored_ones_the_swapped_side(merged_cache) -> None:
    clips = [c for c in DatasetCache(merged_cache).clips("train", fps=15.0) if "raise-up-left-hand" in c.clip_id]
    assert clips
    config = load_config(None, ["augment.kinematic_captions=1.0", "augment.paraphrase=false",
                                "augment.mirror=0.0", "normalization.fps=15.0", "normalization.window_frames=30"])
    sampler = WindowSampler(clips, config.norm, config.augment, seed=0)
    texts = [sampler.sample().text for _ in range(60)]
    dataset_texts = {t for c in clips for t in c.texts}
    captioned = [t for t in texts if t not in dataset_texts]
    assert len(captioned) > 40 and any("left hand" in t for t in captioned)
    assert not any("right hand" in t for t in captioned)
    assert set(captioned) <= set(sampler.training_texts())
    mirrored = WindowSampler(clips, config.norm, load_config(None, [
        "augment.kinematic_captions=1.0", "augment.paraphrase=false", "augment.mirror=1.0"]).augment, seed=0)
    swapped = [mirrored.sample().text for _ in range(60)]
    assert any("right hand" in t for t in swapped) and not any("left hand" in t for t in swapped)
    assert {mirror_text(t) for t in captioned} & set(swapped)
    assert set(swapped) <= set(mirrored.training_texts())


def test_sampler_without_captions_is_unchanged(cmu_cache) -> None:
    clips = DatasetCache(cmu_cache).clips("train", fps=15.0)[:20]
    config = load_config(None, ["normalization.fps=15.0", "normalization.window_frames=30"])
    a, b = WindowSampler(clips, config.norm, config.augment, seed=3), WindowSampler(clips, config.norm,
                                                                                    config.augment, seed=3)
    assert not a.caption_texts and [a.sample().text for _ in range(20)] == [b.sample().text for _ in range(20)]


def test_runtime_captions_and_library_descriptions(cmu_cache, shipped_model) -> None:
    from motion_text_node.runtime.engine import MotionTextRuntime, build_library

    walk = DatasetCache(cmu_cache).clip("12_01")
    said = motion_captions(walk.motion)
    assert said and any("walk" in s for s in said) and len(said) <= 8
    still = Motion(np.repeat(walk.motion.positions[:1], 90, axis=0), CANONICAL_JOINTS, 30.0)
    assert all("walk" not in s for s in motion_captions(still))
    rt = MotionTextRuntime(shipped_model, library=None)
    lib = build_library(rt, [Clip("untitled", walk.motion), walk], progress=False)
    assert "walk" in lib.descriptions[0] and lib.descriptions[1] == walk.text


def test_caption_config_is_typed() -> None:
    from motion_text_node.errors import UserError

    with pytest.raises(UserError, match="kinematic_captions"):
        load_config(None, ["augment.kinematic_captions=nope"])
    with pytest.raises(UserError, match="needs augment.kinematic_captions"):
        load_config(None, ["augment.near_miss_negatives=0.5"])
    with pytest.raises(UserError, match="probability"):
        load_config(None, ["augment.kinematic_captions=0.4", "augment.near_miss_negatives=2"])


def _fact(name: str, rule: str, side: str | None):
    from motion_text_node.captions import Fact

    return Fact(name, rule, name.replace("_", " "), side, 0.5)


def test_near_misses_are_the_other_hand_count_and_the_look_alike_rule_never_a_shown_fact() -> None:
    from motion_text_node.captions.near_miss import near_miss_names

    assert near_miss_names([_fact("raise_hand_left", "raise_hand", "left")]) == ["raise_hand_both", "wave_left"]
    assert near_miss_names([_fact("wave_both", "wave", "both")]) == ["raise_hand_both", "wave_left", "wave_right"]
    assert near_miss_names([_fact("walk_forward", "walk", None)]) == ["run_forward"]
    # Shown facts make their look-alikes partly true: raising the left hand while waving both is no "wave" miss.
    both = near_miss_names([_fact("wave_both", "wave", "both"), _fact("raise_hand_left", "raise_hand", "left")])
    assert "wave_both" not in both and "raise_hand_left" not in both
    assert near_miss_names([_fact("wave_left", "wave", "left"), _fact("raise_hand_left", "raise_hand", "left")]) == [
        "raise_hand_both", "wave_both"]
    # Only facts a rule declares; turns have no near miss but their plain side swap (side_negatives' job).
    assert near_miss_names([_fact("walk_sideways_left", "walk", "left")]) == ["run_sideways_left"]
    assert near_miss_names([_fact("turn_left_90", "turn", "left")]) == []


def test_training_windows_carry_near_misses_of_their_own_caption(merged_cache) -> None:
    clips = [c for c in DatasetCache(merged_cache).clips("train", fps=15.0) if "raise-up-left-hand" in c.clip_id]
    sets = ["augment.kinematic_captions=1.0", "augment.paraphrase=false", "augment.mirror=0.0",
            "augment.near_miss_negatives=1.0", "normalization.fps=15.0", "normalization.window_frames=30"]
    sampler = WindowSampler(clips, load_config(None, sets).norm, load_config(None, sets).augment, seed=0)
    windows = [sampler.sample() for _ in range(60)]
    hard = [w.hard_negative for w in windows if w.hard_negative]
    assert len(hard) > 30
    assert "raise the left hand" not in hard and {"wave the left hand", "raise both hands"} & set(hard)
    assert not any("right" in h for h in hard)  # a near miss is never the side swap
    assert set(hard) <= set(sampler.training_texts())  # cached for a frozen text side
    mirrored = WindowSampler(clips, load_config(None, sets).norm, load_config(None, [
        *sets, "augment.mirror=1.0"]).augment, seed=0)
    swapped = [w.hard_negative for w in (mirrored.sample() for _ in range(60)) if w.hard_negative]
    assert swapped and not any("left" in h for h in swapped)
    assert {mirror_text(h) for h in hard} & set(swapped)
    off = WindowSampler(clips, load_config(None, sets).norm, load_config(None, [
        *sets, "augment.near_miss_negatives=0.0"]).augment, seed=0)
    assert [w.text for w in (off.sample() for _ in range(60))] != [] and not off.caption_misses
