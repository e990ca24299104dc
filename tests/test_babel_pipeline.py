"""The babel60/babel120 configs end to end on small AMASS + BABEL files made in the upstream formats:
data build -> train -> evaluate (recognition by BABEL class, val split)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import REPO
from fixtures.synthetic_smplh import NUM_JOINTS, Z_UP_ROOT_ORIENT, write_amass_npz, write_body_model_dir

from motion_text_node.cli import main as cli_main
from motion_text_node.data.cache import DatasetCache

CLASSES = {"walk": 0, "stand": 1, "jump": 2, "wave": 3}


def _poses(kind: str, frames: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(frames) / 120.0
    poses = np.zeros((frames, 3 * NUM_JOINTS))
    poses[:, :3] = Z_UP_ROOT_ORIENT
    trans = np.zeros((frames, 3))
    if kind == "walk":
        trans[:, 0] = 1.2 * t
        poses[:, 3 * 1] = 0.5 * np.sin(2 * np.pi * t)  # left hip swings
        poses[:, 3 * 2] = -0.5 * np.sin(2 * np.pi * t)
    elif kind == "jump":
        trans[:, 2] = 0.3 * np.abs(np.sin(np.pi * t))
    elif kind == "wave":
        poses[:, 3 * 17 + 2] = 1.2 + 0.6 * np.sin(4 * np.pi * t)  # right shoulder raises and waves
    poses += 0.02 * rng.normal(size=poses.shape)
    return poses, trans


def _label(cat: str, seg: str, span=None) -> dict:
    lab = {"raw_label": f"{cat} around", "proc_label": cat, "seg_id": seg, "act_cat": [cat]}
    if span:
        lab["start_t"], lab["end_t"] = span
    return lab


@pytest.fixture(scope="module")
def babel_cache(tmp_path_factory) -> object:
    root = tmp_path_factory.mktemp("babel")
    models = write_body_model_dir(root / "smplh", genders=("male", "neutral"))
    rng = np.random.default_rng(0)
    splits: dict[str, dict] = {"train": {}, "val": {}}
    sid = 0
    for split, per_class in (("train", 3), ("val", 1)):
        for cat in CLASSES:
            for k in range(per_class):
                sid += 1
                feat = f"CMU/CMU/{50 + sid}/{50 + sid}_0{k}_poses.npz"
                poses, trans = _poses(cat, 720, rng)
                write_amass_npz(root / "amass" / feat, poses=poses, trans=trans, fps=120.0)
                ann = {"babel_lid": f"l{sid}", "anntr_id": "a", "mul_act": False, "labels": [_label(cat, f"s{sid}")]}
                frame = {**ann, "labels": [_label(cat, f"f{sid}", (0.0, 6.0))]}
                splits[split][str(sid)] = {"babel_sid": sid, "url": "", "feat_p": feat, "dur": 6.0, "seq_ann": ann,
                                           "frame_ann": frame}
    babel_dir = root / "babel"
    babel_dir.mkdir()
    for split, data in splits.items():
        (babel_dir / f"{split}.json").write_text(json.dumps(data))
    (babel_dir / "action_label_2_idx.json").write_text(json.dumps(CLASSES))
    out = root / "cache"
    assert cli_main(["data", "build", "--source", "amass-babel", "--path", str(root / "amass"), "--babel-dir",
                     str(babel_dir), "--body-model-dir", str(models), "--babel-subset", "babel60", "--out", str(out),
                     "--no-progress"]) == 0
    return out


@pytest.mark.parametrize("config", ["babel60.yaml", "babel120.yaml"])
def test_babel_config_trains_and_evaluates(config, babel_cache, tmp_path) -> None:
    cache = DatasetCache(babel_cache)
    assert sorted({c.label for c in cache.clips("train")}) == sorted(CLASSES)
    assert all(c.motion.fps == 30.0 for c in cache.clips()) and cache.ids("val")
    run = tmp_path / "run"
    tiny = ["model.d_model=32", "model.layers=1", "model.heads=2", "model.ff=64", "model.embed_dim=32",
            "optim.epochs=1", "optim.batch_size=8", "optim.samples_per_epoch=32", "optim.bf16=off"]
    args = ["train", "--config", str(REPO / "configs" / config), "--out", str(run), "--no-progress",
            "--set", f"data.cache={babel_cache}"]
    for o in tiny:
        args += ["--set", o]
    assert cli_main(args) == 0
    report_dir = tmp_path / "report"
    assert cli_main(["evaluate", "--model", str(run), "--split", "val", "--out", str(report_dir)]) == 0
    report = json.loads((report_dir / "report.json").read_text())
    assert report["classes"] == sorted(CLASSES)
    rec = report["runs"][0]["recognition"]
    assert rec["num_windows"] >= 4 and 0 <= rec["top1"] <= rec["top5"] <= 100
    assert set(rec["per_class"]) <= set(CLASSES)
