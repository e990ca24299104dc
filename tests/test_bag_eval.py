"""Replay evaluation of bags of real held-out CMU motion: online (live node over DDS) vs offline, and a node
killed mid-replay."""

from __future__ import annotations

import json

import pytest

from motion_text_node.bag.convert import convert_to_bag
from motion_text_node.bag.evaluate import evaluate_bag
from motion_text_node.cli import main as cli_main


@pytest.fixture(scope="module")
def eval_bag(cmu_cache, tmp_path_factory):
    out = tmp_path_factory.mktemp("bags") / "eval_bag"
    convert_to_bag([str(cmu_cache)], out, ids=["12_01", "14_33", "14_37"], progress=False)
    return out


def test_online_and_offline_agree(eval_bag, shipped_model, tmp_path) -> None:
    report = evaluate_bag(eval_bag, shipped_model, out_dir=tmp_path / "r", rate=1.0)
    on, off = report["online"], report["offline"]
    assert on["transport"]["dropped_before_listener"] == 0
    # Live, a busy node skips to the newest window instead of queueing: a few windows fewer is expected.
    assert off["windows"] > 20 and 0.8 * off["windows"] <= on["windows"] <= off["windows"] + 3
    assert abs(on["top1"] - off["top1"]) <= 15.0, (on["top1"], off["top1"])
    assert on["latency_ms"]["p50"] > 0 and on["label_changes"] == 2
    assert (tmp_path / "r" / "timeline.png").stat().st_size > 1000
    md = (tmp_path / "r" / "report.md").read_text()
    assert "| top-1 % |" in md and "online" in md and "offline" in md


def test_kill_and_restart_mid_replay_shows_the_gap(eval_bag, shipped_model) -> None:
    report = evaluate_bag(eval_bag, shipped_model, rate=1.0, kill_at=6.0)
    t = report["online"]["transport"]
    assert t["node_killed_at_s"] == 6.0
    assert t["ready_to_first_label_s"] is not None  # it came back
    assert t["largest_label_gap_s"] >= t["restart_to_ready_s"] > 0  # and the report shows the hole
    assert report["online"]["windows"] < report["offline"]["windows"]


def test_bag_eval_cli_offline(eval_bag, shipped_model, tmp_path, capsys) -> None:
    out = tmp_path / "cli"
    assert cli_main(["bag", "eval", str(eval_bag), "--model", str(shipped_model), "--offline", "--out", str(out),
                     "--json", str(tmp_path / "r.json")]) == 0
    report = json.loads((tmp_path / "r.json").read_text())
    assert "online" not in report and report["offline"]["windows"] > 0
    assert "offline" in capsys.readouterr().out
    assert cli_main(["bag", "eval", str(tmp_path / "nope"), "--offline"]) == 2


def test_scoring_ranks_published_labels_with_tie_handling() -> None:
    """The replay score uses the same metrics as evaluation: published order and scores, a tie between the true
    label and another counts half, a true label that was not published is never credited."""
    from motion_text_node.bag.convert import GroundTruthSegment
    from motion_text_node.bag.evaluate import Prediction, score

    segs = [GroundTruthSegment("a", "c1", "walk", "walk", 0.0, 10.0, 300, 30.0),
            GroundTruthSegment("b", "c2", "run", "run", 0.0, 10.0, 300, 30.0)]
    preds = [
        Prediction("a", 0.0, 1.0, "walk", ["walk", "run", "sit"], [0.9, 0.5, 0.1]),  # top-1 hit
        Prediction("a", 1.0, 2.0, "run", ["run", "walk", "sit"], [0.9, 0.9, 0.1]),  # tie: half a top-1
        Prediction("b", 0.0, 1.0, "walk", ["walk", "sit"], [0.8, 0.2]),  # truth unpublished: miss, also top-5
        Prediction("b", 1.0, 2.0, "sit", ["sit", "jump", "run"]),  # no scores: the published order
    ]
    out = score(preds, segs)
    assert out["windows"] == 4
    assert out["top1"] == pytest.approx(100 * 1.5 / 4)
    assert out["top5"] == pytest.approx(100 * 3 / 4)
    assert out["per_class"] == pytest.approx({"walk": 75.0, "run": 0.0})
    assert out["top1_norm"] == pytest.approx(37.5)
    assert out["label_accuracy"] == pytest.approx(25.0)
