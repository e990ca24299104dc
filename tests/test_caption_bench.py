"""The caption benchmark: its arithmetic on hand-made units, and its machinery on a few real files."""

from __future__ import annotations

import pytest

from motion_text_node.bench.captions import (
    JUDGES,
    LATERALITY,
    Fired,
    J,
    cmu_label,
    fact_rows,
    judge_facts,
    laterality,
    render_report,
    run_units,
    score,
)
from motion_text_node.captions import RULES

FACTS = [f for r in RULES.values() for f in r.facts]


def _unit(label: str, facts: set[str], split: str = "train", source: str = "bandai", uid: str = "",
          tags: frozenset[str] = frozenset()) -> Fired:
    return Fired(source, uid or f"{label}-{sorted(facts)}", label, split, frozenset(facts), 1, tags)


def test_precision_and_recall_arithmetic() -> None:
    judges = {"walk_forward": J(("walk",), ("dribble",), ("wave", "bow"), unjudged=("bow",)),
              "wave_*": J(("wave",), (), ("walk",))}
    units = [
        _unit("walk", {"walk_forward"}), _unit("walk", {"walk_forward"}), _unit("walk", set()),
        _unit("dribble", {"walk_forward"}),  # correct, not a positive
        _unit("wave", {"walk_forward", "wave_left"}),  # wrong for walk_forward; a wave_* hit
        _unit("wave", {"wave_right"}), _unit("wave", set()),
        _unit("bow", {"walk_forward"}),  # not judged (unjudged beats wrong)
        _unit("dance", {"walk_forward", "wave_both"}),  # not judged; wave_both is no side of wave_*
        _unit("walk", {"wave_left"}),  # wrong for wave_*, a missed positive for walk_forward
    ]
    s = score(units, judges, FACTS)
    w = s["walk_forward"]
    assert (w.fires_correct, w.fires_judged, w.positives_hit, w.positives, w.negatives) == (3, 4, 2, 4, 3)
    assert w.precision == pytest.approx(0.75) and w.recall == pytest.approx(0.5)
    assert w.wrong_units == ["wave:" + units[4].unit_id]
    v = s["wave_*"]
    assert (v.fires_correct, v.fires_judged, v.positives_hit, v.positives, v.negatives) == (2, 3, 2, 3, 4)
    assert score([], judges, FACTS)["walk_forward"].precision is None


def test_family_keys_and_free_arms() -> None:
    assert judge_facts("wave_*", FACTS) == ["wave_left", "wave_right"]
    assert judge_facts("turn_left_90", FACTS) == ["turn_left_90"]
    assert set(judge_facts("turn_*", FACTS)) == {f for f in FACTS if f.startswith("turn_")}
    assert judge_facts("lie_side_*", FACTS) == ["lie_side_left", "lie_side_right"]
    # A musical walk is not judged for arm facts, but still for walking.
    walk = _unit("walk", {"walk_forward", "raise_hand_both"}, tags=frozenset({"free arms"}))
    s = score([walk])
    assert s["raise_hand_both"].fires_judged == 0 and s["walk_forward"].positives_hit == 1
    # Every fact is judged by some row.
    assert {f for k in JUDGES for f in judge_facts(k, FACTS)} == set(FACTS)


def test_laterality_arithmetic() -> None:
    units = [_unit("raise-up-left-hand", {"raise_hand_left"}, uid="a"),
             _unit("raise-up-left-hand", {"raise_hand_left", "raise_hand_right"}, uid="b"),
             _unit("raise-up-right-hand", {"raise_hand_left", "lean_left"}, uid="c"),
             _unit("walk-turn-left", {"turn_left_90", "walk_forward"}, uid="d"),
             _unit("raise-up-left-hand", {"raise_hand_both"}, uid="e"),  # no left/right version: not counted
             _unit("walk", {"raise_hand_left"}, uid="f")]  # not a side-named file
    lat = laterality(units, LATERALITY)
    r = lat[("raise_hand", "hand")]
    assert (r.fires, r.named_only, r.both_sides, r.opposite_only, r.claimed) == (3, 1, 1, 1, True)
    assert r.share == pytest.approx(1 / 3)
    assert lat[("lean", "hand")].claimed is False
    t = lat[("turn", "turn")]
    assert (t.fires, t.named_only, t.claimed) == (1, 1, True)


def test_cmu_labels() -> None:
    assert cmu_label("Walk") == "walk" and cmu_label("dance - expressive arms, pirouette") == "ballet"
    assert cmu_label("wash windows") is None


@pytest.fixture(scope="module")
def small_run():
    from motion_text_node.data.bandai import iter_bandai_clips
    from motion_text_node.data.sources import get_source

    def clips():
        for clip, split in get_source("mocap6").clips(30.0):
            yield clip, split, "mocap6"
        for clip, split in iter_bandai_clips(limit=40):
            yield clip, split, "bandai"

    return run_units(clips())


def test_bench_on_real_files(small_run) -> None:
    run = small_run
    assert run.units_per_source["bandai"] == 40 and run.units_per_source["mocap6"] >= 10
    assert run.timing["Bandai"].windows > 40 and "CMU" not in run.timing
    rows = fact_rows(run.fired)
    assert [r[0] for r in rows] == [f"`{k}`" for k in JUDGES]
    assert all(r[1] in ("on", "off") for r in rows)
    report = render_report(run)
    assert "## Laterality" in report and "| `raise_hand` |" in report and "windows/s" in report


def test_laterality_on_real_hand_files(small_run) -> None:
    lat = laterality(small_run.fired)
    hands = [lat[(f, "hand")] for f in ("raise_hand", "wave") if (f, "hand") in lat]
    fires = sum(r.fires for r in hands)
    assert fires >= 5  # the subset holds raise-up and wave files of both sides
    assert sum(r.named_only for r in hands) / fires >= 0.95
