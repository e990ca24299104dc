"""BABEL: annotation files in the upstream schema, joined to synthetic AMASS files, chunked into labelled clips."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from fixtures.synthetic_smplh import NUM_JOINTS, Z_UP_ROOT_ORIENT, write_amass_npz, write_body_model_dir

from motion_text_node.data.amass import load_amass_motion
from motion_text_node.data.babel import (
    amass_candidates,
    babel_chunks,
    babel_clips,
    iter_babel_clips,
    join_amass,
    load_babel,
    parse_babel,
    read_action_label_map,
    read_babel_json,
)
from motion_text_node.data.clip import Segment
from motion_text_node.errors import UserError
from motion_text_node.skeleton.canonical import CANONICAL_JOINTS
from motion_text_node.skeleton.motion import Motion
from motion_text_node.skeleton.resample import resample_motion

# The first categories of BABEL's action_label_2_idx.json (indices by frequency) and two beyond BABEL-60.
LABEL_2_IDX = {"walk": 0, "stand": 1, "hand movements": 2, "turn": 3, "exercise / training": 42,
               "jumping jacks": 97, "gesture": 32}


def _label(raw: str, proc: str, cats: list[str] | None, seg: str, span: tuple[float, float] | None = None) -> dict:
    lab = {"raw_label": raw, "proc_label": proc, "seg_id": seg, "act_cat": cats}
    if span is not None:
        lab["start_t"], lab["end_t"] = span
    return lab


def _ann(labels: list[dict], mul_act: bool = True) -> dict:
    return {"babel_lid": "lid-" + labels[0]["seg_id"], "anntr_id": "annotator-1", "mul_act": mul_act,
            "labels": labels}


def _entry(sid: int, feat_p: str, dur: float, seq_labels: list[dict], frame_labels: list[dict] | None) -> dict:
    return {
        "babel_sid": sid,
        "url": f"https://babel-renders.s3.eu-central-1.amazonaws.com/{sid:06d}.mp4",
        "feat_p": feat_p,
        "dur": dur,
        "seq_ann": _ann(seq_labels),
        "frame_ann": None if frame_labels is None else _ann(frame_labels),
    }


TRAIN = {
    "12906": _entry(12906, "CMU/CMU/86/86_04_poses.npz", 8.0,
                    [_label("walk and turn", "walk and turn", ["walk", "turn"], "s1")],
                    [_label("walking forward", "walk forward", ["walk"], "f1", (0.0, 6.0)),
                     _label("turn around", "turn around", ["turn"], "f2", (6.0, 7.0)),
                     _label("transition", "transition", ["transition"], "f3", (7.0, 7.5)),
                     _label("wave with right hand", "wave right hand", ["hand movements", "gesture"], "f4",
                            (7.5, 8.0))]),
    "7": _entry(7, "BMLrub/BioMotionLab_NTroje/rub001/0001_jumping_poses.npz", 2.0,
                [_label("jumping jacks", "jumping jacks", ["jumping jacks", "exercise / training"], "s2")], None),
    "8": _entry(8, "KIT/KIT/3/walking_slow01_poses.npz", 3.0,
                [_label("walk slowly", "walk slowly", ["walk"], "s3")], None),
    "9": _entry(9, "ACCAD/ACCAD/Male1General_c3d/General A1_poses.npz", 1.0,
                [_label("stand", "stand", ["stand"], "s4")], None),
}
VAL = {
    "205": _entry(205, "CMU/CMU/02/02_05_poses.npz", 1.0,
                  [_label("punch", "punch", None, "s5")],
                  [_label("stand still", "stand", ["stand"], "f5", (0.0, 1.0))]),
}


@pytest.fixture(scope="module")
def body_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_body_model_dir(tmp_path_factory.mktemp("smplh"), genders=("male",))


def _walking(num_frames: int, fps: float) -> np.ndarray:
    """Trans moving 1 m/s along x, so a frame's time can be read back from the pelvis."""
    trans = np.zeros((num_frames, 3))
    trans[:, 0] = np.arange(num_frames) / fps
    return trans


@pytest.fixture
def babel_data(tmp_path: Path) -> tuple[Path, Path]:
    babel_dir, amass = tmp_path / "babel_v1.0_release", tmp_path / "amass"
    babel_dir.mkdir()
    (babel_dir / "train.json").write_text(json.dumps(TRAIN))
    (babel_dir / "val.json").write_text(json.dumps(VAL))
    poses = np.zeros((960, 3 * NUM_JOINTS))
    poses[:, :3] = Z_UP_ROOT_ORIENT
    # Three AMASS layouts: feat_p as is; archive folder renamed (current download); no subset folder.
    write_amass_npz(amass / "CMU/CMU/86/86_04_poses.npz", poses=poses, trans=_walking(960, 120.0), fps=120.0)
    write_amass_npz(amass / "BMLrub/rub001/0001_jumping_poses.npz", num_frames=200, fps=100.0)
    write_amass_npz(amass / "CMU/02/02_05_poses.npz", num_frames=120, fps=120.0)
    (amass / "ACCAD/ACCAD/Male1General_c3d").mkdir(parents=True)
    (amass / "ACCAD/ACCAD/Male1General_c3d/General A1_poses.npz").write_text("truncated download")
    return babel_dir, amass


def test_parse_records_and_segments(babel_data: tuple[Path, Path]) -> None:
    babel_dir, _ = babel_data
    seqs = {s.sid: s for s in load_babel(babel_dir)}
    assert sorted(seqs) == ["12906", "205", "7", "8", "9"]
    walk = seqs["12906"]
    assert (walk.feat_p, walk.dur, walk.split, walk.subject) == ("CMU/CMU/86/86_04_poses.npz", 8.0, "train", "86")
    assert walk.seq_labels[0].act_cat == ("walk", "turn") and walk.seq_labels[0].end_t == 8.0
    assert walk.segments[0] == Segment(0.0, 6.0, "walk", "walking forward")
    assert [s.label for s in walk.segments] == ["walk", "turn", "transition", "hand movements"]
    jumping = seqs["7"]
    assert jumping.frame_labels is None and jumping.subject == "BMLrub/rub001"
    assert jumping.segments == [Segment(0.0, 2.0, "jumping jacks", "jumping jacks")]
    assert seqs["205"].seq_labels[0].act_cat == () and seqs["205"].subject == "2"
    assert [s.sid for s in read_babel_json(babel_dir / "val.json")] == ["205"]


def test_join_reports_missing_amass_files(babel_data: tuple[Path, Path]) -> None:
    babel_dir, amass = babel_data
    join = join_amass(load_babel(babel_dir), amass)
    found = {seq.sid: path.relative_to(amass).as_posix() for seq, path in join.found}
    assert found == {
        "12906": "CMU/CMU/86/86_04_poses.npz",
        "7": "BMLrub/rub001/0001_jumping_poses.npz",
        "9": "ACCAD/ACCAD/Male1General_c3d/General A1_poses.npz",
        "205": "CMU/02/02_05_poses.npz",
    }
    assert [s.sid for s in join.missing] == ["8"]
    assert "4 of 5 BABEL sequences" in join.report() and "1 AMASS files missing" in join.report()
    assert "KIT/KIT/3/walking_slow01_poses.npz" in join.report()
    assert amass_candidates("/r", "a.npz") == [Path("/r/a.npz")]


def test_segment_chunks_follow_babel_protocol(babel_data: tuple[Path, Path]) -> None:
    seqs = {s.sid: s for s in load_babel(babel_data[0])}
    babel60 = read_action_label_map(LABEL_2_IDX, num_classes=60)
    chunks = babel_chunks(seqs["12906"], babel60)
    assert [(c.start, c.stop, c.label, c.chunk_n) for c in chunks] == [
        (0, 150, "walk", 0), (150, 180, "walk", 1), (180, 210, "turn", 0), (225, 240, "hand movements", 0),
        (225, 240, "gesture", 0),  # one sample per category of the segment
    ]
    assert [c.clip_id for c in chunks] == ["12906_0", "12906_1", "12906_2", "12906_3", "12906_4"]
    assert chunks[1].texts == ["walking forward", "walk forward"] and chunks[1].seg_id == "f1"
    assert chunks[1].segments == [Segment(0.0, 1.0, "walk", "walking forward")]
    # "transition" is in no subset (it is not in action_label_2_idx): without a subset every category counts.
    assert "transition" not in [c.label for c in babel_chunks(seqs["12906"], LABEL_2_IDX)]
    assert [c.label for c in babel_chunks(seqs["12906"])][3:] == ["transition", "hand movements", "gesture"]
    # Sequence labels span the sequence when there are no frame labels; jumping jacks (97) is not in BABEL-60.
    assert [(c.start, c.stop, c.label) for c in babel_chunks(seqs["7"], babel60)] == [(0, 60, "exercise / training")]
    assert [c.label for c in babel_chunks(seqs["7"], read_action_label_map(LABEL_2_IDX, 120))] == [
        "jumping jacks", "exercise / training"]


def test_window_chunks_take_the_majority_category(babel_data: tuple[Path, Path]) -> None:
    walk = next(s for s in load_babel(babel_data[0]) if s.sid == "12906")
    babel60 = read_action_label_map(LABEL_2_IDX, 60)
    # Window 2 (frames 150-240): walk 30, turn 30, transition 15, hand movements/gesture 15 frames.
    assert [(c.start, c.stop, c.label) for c in babel_chunks(walk, babel60, mode="window")] == [(0, 150, "walk")]
    loose = babel_chunks(walk, babel60, mode="window", min_coverage=0.3)
    assert [(c.start, c.stop, c.label) for c in loose] == [(0, 150, "walk"), (150, 240, "walk")]
    assert [s.label for s in loose[1].segments] == ["walk", "turn", "transition", "hand movements"]
    assert loose[1].segments[1] == Segment(1.0, 2.0, "turn", "turn around")
    # Window 1 ties walk/turn at 30 frames: the tie goes to the category in the subset.
    only_turn = babel_chunks(walk, {"turn": 0}, mode="window", min_coverage=0.3)
    assert [(c.start, c.label, c.texts) for c in only_turn] == [(150, "turn", ["turn around"])]
    # The majority (walk) is not in the subset: both windows are dropped.
    assert babel_chunks(walk, {"hand movements": 2}, mode="window", min_coverage=0.1) == []
    with pytest.raises(UserError, match="unknown BABEL chunking mode"):
        babel_chunks(walk, mode="sliding")


def test_clips_from_amass(babel_data: tuple[Path, Path], body_models: Path) -> None:
    babel_dir, amass = babel_data
    result = babel_clips(load_babel(babel_dir), amass, body_models, read_action_label_map(LABEL_2_IDX, 60))
    by_id = {c.clip_id: c for c in result.clips}
    assert sorted(by_id) == ["12906_0", "12906_1", "12906_2", "12906_3", "12906_4", "205_0", "7_0"]
    clip = by_id["12906_1"]
    assert (clip.label, clip.subject, clip.text) == ("walk", "86", "walking forward")
    assert clip.path.endswith("CMU/CMU/86/86_04_poses.npz")
    assert clip.motion.fps == 30.0 and clip.motion.positions.shape == (30, 22, 3)
    assert clip.motion.joint_names == CANONICAL_JOINTS
    np.testing.assert_allclose(clip.motion.positions[:, 0, 0], np.arange(150, 180) / 30.0, atol=1e-5)
    full = resample_motion(load_amass_motion(amass / "CMU/CMU/86/86_04_poses.npz", body_models), 30.0)
    np.testing.assert_allclose(clip.motion.positions, full.positions[150:180], atol=1e-6)
    assert by_id["7_0"].motion.num_frames == 60  # 200 frames at 100 fps -> 2 s at 30 fps
    assert [s.sid for s in result.join.missing] == ["8"]
    assert len(result.unreadable) == 1 and "General A1_poses.npz: not a readable .npz" in result.unreadable[0][1]
    assert "7 clips" in result.report() and "1 unreadable" in result.report()


def test_clips_with_a_motion_loader(babel_data: tuple[Path, Path]) -> None:
    babel_dir, amass = babel_data
    loaded = []

    def loader(path: Path) -> Motion:
        loaded.append(path.name)
        return Motion(np.zeros((240, 22, 3)), CANONICAL_JOINTS, 60.0)

    result = babel_clips(load_babel(babel_dir, splits=["val"]), amass, label_map={"stand": 1}, load_motion=loader)
    assert loaded == ["02_05_poses.npz"]
    assert [(c.clip_id, c.label, c.motion.num_frames) for c in result.clips] == [("205_0", "stand", 30)]
    with pytest.raises(UserError, match="body model folder"):
        babel_clips([], amass)


def test_extra_files_use_the_first_annotation() -> None:
    entry = {"babel_sid": 3, "feat_p": "CMU/CMU/01/01_01_poses.npz", "dur": 2.0, "url": "u",
             "seq_anns": [None, _ann([_label("run", "run", ["run"], "x")])],
             "frame_anns": [_ann([_label("jog", "jog", ["jog"], "y", (0.5, 1.5))])]}
    (seq,) = parse_babel({"3": entry}, split="extra_train")
    assert seq.seq_labels[0].raw_label == "run" and seq.dense_labels[0].raw_label == "jog"
    assert [(c.start, c.stop, c.label) for c in babel_chunks(seq)] == [(15, 45, "jog")]


def test_action_label_maps(tmp_path: Path) -> None:
    path = tmp_path / "action_label_2_idx.json"
    path.write_text(json.dumps(LABEL_2_IDX))
    assert read_action_label_map(path, 60) == {"walk": 0, "stand": 1, "hand movements": 2, "turn": 3,
                                               "exercise / training": 42, "gesture": 32}
    assert read_action_label_map(["walk", "run"]) == {"walk": 0, "run": 1}
    assert read_action_label_map({"60": {"walk": 0}, "120": {"walk": 0, "run": 1}}, 120) == {"walk": 0, "run": 1}
    with pytest.raises(UserError, match="choose one with num_classes"):
        read_action_label_map({"60": {"walk": 0}})
    with pytest.raises(UserError, match="share an index"):
        read_action_label_map({"walk": 0, "run": 0})
    with pytest.raises(UserError, match="no categories with index < 1"):
        read_action_label_map({"walk": 3}, 1)
    with pytest.raises(UserError, match="not a category name with an index"):
        read_action_label_map({"walk": "0"})


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"1": {"feat_p": "a.npz", "dur": 1.0,', r"not valid JSON \(.* at line 1"),
        ("[1, 2]", r"expected a JSON object keyed by BABEL sequence id, got list"),
        ('{"1": {"dur": 1.0}}', r"sequence 1: missing 'feat_p'"),
        ('{"1": {"feat_p": "a.npz", "dur": "long"}}', r"sequence 1\.dur: expected a number"),
        ('{"1": {"feat_p": "a.npz", "dur": 1.0, "seq_ann": {"labels": [{"act_cat": "walk"}]}}}',
         r"seq_ann\.labels\[0\]\.act_cat: expected a list of strings"),
        ('{"1": {"feat_p": "a.npz", "dur": 1.0, "frame_ann": {"labels": [{"act_cat": ["walk"], "end_t": 1}]}}}',
         r"frame_ann\.labels\[0\]: missing 'start_t'"),
        ('{"1": {"feat_p": "a.npz", "dur": 1.0, "seq_ann": {"labels": null}}}', r"seq_ann: expected an object with"),
    ],
)
def test_malformed_annotations_are_user_errors(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "train.json"
    path.write_text(content)
    with pytest.raises(UserError, match=r"train\.json.*" + message):
        read_babel_json(path)


def test_missing_inputs_are_user_errors(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="BABEL annotations not found"):
        load_babel(tmp_path / "nope")
    with pytest.raises(UserError, match=r"file not found: .*val\.json"):
        load_babel(tmp_path, splits=["val"])
    with pytest.raises(UserError, match="AMASS root not found"):
        join_amass([], tmp_path / "no_amass")


def test_iter_babel_clips_for_the_dataset_cache(babel_data: tuple[Path, Path], body_models: Path,
                                                tmp_path: Path) -> None:
    from motion_text_node.data.build import build_cache
    from motion_text_node.data.cache import DatasetCache

    babel_dir, amass = babel_data
    with pytest.raises(UserError, match=r"babel60 needs BABEL's action_label_2_idx\.json"):
        iter_babel_clips(amass, babel_dir=babel_dir, body_model_dir=body_models)
    (babel_dir / "action_label_2_idx.json").write_text(json.dumps(LABEL_2_IDX))
    items, total, meta = iter_babel_clips(amass, babel_dir=babel_dir, body_model_dir=body_models, subset="babel60")
    pairs = list(items)
    assert len(pairs) == 7 and total == 8  # the total (for progress) also counts the unreadable file's chunk
    assert {clip.clip_id: split for clip, split in pairs}["205_0"] == "val"
    assert {split for _, split in pairs} == {"train", "val"}
    assert (meta["missing_amass"], meta["unreadable_amass"], meta["sequences"]) == (1, 1, 4)
    assert meta["classes"][:4] == ["walk", "stand", "hand movements", "turn"]
    everything, _, _ = iter_babel_clips(amass, babel_dir=babel_dir, body_model_dir=body_models, subset="all")
    assert "transition" in {clip.label for clip, _ in everything}

    label_map = babel_dir / "action_label_2_idx.json"
    summary = build_cache("amass-babel", tmp_path / "cache", path=amass, progress=False, babel_dir=babel_dir,
                          body_model_dir=body_models, subset="babel120", label_map=label_map)
    cache = DatasetCache(tmp_path / "cache")
    assert cache.meta["missing_amass"] == 1 and cache.meta["unreadable_amass"] == 1
    assert summary is not None
