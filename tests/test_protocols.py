"""Generalization protocols: sensor views, zero-shot recognition of an unseen source with its own labels,
laterality on side-named recordings, and the evaluate CLI that reports them."""

from __future__ import annotations

import json

import numpy as np

from motion_text_node.cli import main as cli_main
from motion_text_node.data.cache import DatasetCache
from motion_text_node.skeleton.canonical import JOINT_INDEX as J
from motion_text_node.skeleton.sensor import LEGS, MISSING_IN_15, fifteen_joints, jitter, lower_rate, tilt, upper_body
from motion_text_node.train.checkpoint import load_contrastive
from motion_text_node.train.protocols import (
    laterality_on_recordings,
    source_protocols,
    training_words,
    zero_shot_recognition,
)


def test_sensor_views(cmu_cache) -> None:
    motion = DatasetCache(cmu_cache).clip("02_01").motion
    legs = [J[n] for n in LEGS]
    up = upper_body(motion)
    assert not up.valid[:, legs].any() and up.valid[:, J["left_wrist"]].all()
    np.testing.assert_array_equal(up.positions[:, J["left_wrist"]], motion.positions[:, J["left_wrist"]])
    # Imputed (collapsed onto the pelvis, as the runtime does for a body without legs), not left where they were.
    assert np.abs(up.positions[:, legs] - up.positions[:, [J["pelvis"]]]).max() < 1e-5
    few = fifteen_joints(motion)
    assert not few.valid[:, [J[n] for n in MISSING_IN_15]].any() and few.valid[:, J["left_knee"]].all()
    low = lower_rate(motion, 15.0)
    assert low.fps == motion.fps and abs(low.num_frames - motion.num_frames) <= 2
    tilted = tilt(motion, 10.0)
    bone = motion.positions[:, J["neck"]] - motion.positions[:, J["pelvis"]]
    tbone = tilted.positions[:, J["neck"]] - tilted.positions[:, J["pelvis"]]
    angle = np.degrees(np.arccos(np.clip((bone * tbone).sum(-1) / np.linalg.norm(bone, axis=-1)
                                         / np.linalg.norm(tbone, axis=-1), -1, 1)))
    assert np.median(angle) > 5  # the upright torso leans by the tilt
    noisy = jitter(motion, 0.015)
    assert 0.01 < np.std(noisy.positions - motion.positions) < 0.02


def test_zero_shot_on_an_unseen_source(tiny_run, merged_cache, cmu_cache) -> None:
    lm = load_contrastive(tiny_run)
    assert {r["source"] for r in lm.provenance} == {"cmu"}
    cache = DatasetCache(merged_cache)
    section = source_protocols(lm, cache, "bandai", limit=40,
                               seen_words=training_words(DatasetCache(cmu_cache).clips("train")))
    assert section["setting"].startswith("zero-shot")
    rec = section["recognition"]
    assert rec["num_clips"] == 40 and len(rec["classes"]) > 5 and rec["chance"] == 100 / len(rec["classes"])
    assert 0 <= rec["top1"] <= rec["top5"] <= 100 and rec["top1_ci95"][0] <= rec["top1"] <= rec["top1_ci95"][1]
    assert "raise the left hand" in rec["unseen_classes"] or "wave the left hand" in rec["unseen_classes"]
    lat = section["laterality"]
    assert lat["num_clips"] > 0 and lat["decisions"] == 2 * lat["num_clips"] and 0 <= lat["right_pct"] <= 100


def test_protocol_arithmetic_on_a_perfect_and_a_swapped_labeller(tiny_run, merged_cache) -> None:
    lm = load_contrastive(tiny_run)
    sided = [c for c in DatasetCache(merged_cache).clips(fps=lm.config.norm.fps) if c.source == "bandai"
             and ("left-hand" in c.clip_id or "right-hand" in c.clip_id)]
    clips = [c for c in sided if "left" in c.label][:3] + [c for c in sided if "right" in c.label][:3]
    # A model that embeds each clip exactly as its label text is right everywhere, and 100 % lateral.
    truth = {c.clip_id: c.label for c in clips}

    class Oracle:
        config, provenance = lm.config, []

        def labels(self, labels):
            return np.eye(64)[[hash(t) % 64 for t in labels]].astype(np.float32)

        def clips(self, cs, mirror=False):
            from motion_text_node.skeleton.mirror import mirror_text

            return self.labels([mirror_text(truth[c.clip_id]) if mirror else truth[c.clip_id] for c in cs])

    lat = laterality_on_recordings(Oracle(), clips)
    assert lat["right_pct"] == 100.0 and lat["decisions"] == 2 * len(clips)
    rec = zero_shot_recognition(lm, clips)
    assert rec["num_windows"] >= len(clips) and set(rec["per_class"]) <= set(rec["classes"])


def test_evaluate_cli_reports_the_protocols(tiny_run, merged_cache, tmp_path) -> None:
    out = tmp_path / "report"
    assert cli_main(["evaluate", "--model", str(tiny_run), "--data", str(merged_cache), "--out", str(out),
                     "--source", "bandai", "--source", "hra", "--robustness", "--limit", "20"]) == 0
    report = json.loads((out / "report.json").read_text())
    assert [s["source"] for s in report["protocols"]] == ["bandai", "hra"]
    assert report["protocols"][0]["recognition"]["num_clips"] <= 20
    md = (out / "report.md").read_text()
    assert "Recognition of each source" in md and "upper body only" in md and "zero-shot" in md


def test_protocol_summary_is_mean_and_std_over_seeds() -> None:
    from motion_text_node.train.evaluate import protocol_summary

    def section(top1: float, lat: float | None) -> dict:
        return {"source": "bandai", "recognition": {"top1": top1},
                "laterality": {"num_clips": 0} if lat is None else {"num_clips": 3, "right_pct": lat}}

    out = protocol_summary([[section(30.0, 90.0)], [section(40.0, 96.0)], [section(35.0, 93.0)]])
    assert out["bandai"]["top1"]["mean"] == 35.0 and abs(out["bandai"]["top1"]["std"] - 4.0825) < 1e-3
    assert out["bandai"]["laterality"]["values"] == [90.0, 96.0, 93.0]
    assert "laterality" not in protocol_summary([[section(30.0, None)], [section(40.0, None)]])["bandai"]
