"""The intake and per-stage benchmark tables run end to end on the shipped model and report what they say they
measure (no timing is asserted: speed goals live in the benchmark tables)."""

from __future__ import annotations

from motion_text_node.bench.intake import _serialized_arrays, intake_table, stage_table
from motion_text_node.ros.skeleton_wire import decode_skeleton_array


def test_the_benchmark_messages_are_the_crowd_it_names() -> None:
    messages = _serialized_arrays(4, 3)
    arrays = [decode_skeleton_array(m) for m in messages]
    assert [len(a.skeletons) for a in arrays] == [4, 4, 4]
    assert [a.header.stamp.sec for a in arrays] == [1000, 1000, 1000] and arrays[1].header.stamp.nanosec > 0
    assert {s.track_id for s in arrays[0].skeletons} == {"t0", "t1", "t2", "t3"}


def test_intake_and_stage_tables(shipped_model) -> None:
    intake = intake_table(shipped_model, counts=(1, 3), frames=5)
    rows = [line for line in intake.splitlines() if line.startswith("| 1 |") or line.startswith("| 3 |")]
    assert len(rows) == 2 and all(len(r.split("|")) == 10 for r in rows)
    stages = stage_table(shipped_model, counts=(2,), seconds=2.0)
    lines = {line.split("|")[1].strip(): line.split("|")[2].strip() for line in stages.splitlines()
             if line.startswith("| ") and not line.startswith("| stage")}
    assert set(lines) >= {"decode", "intake", "window", "resample", "features", "encoder", "decide",
                          "label messages", "total", "labels per second"}
    assert float(lines["encoder"].split()[0]) > 0.0
    assert int(lines["labels per second"]) > 0  # 2 s of two people: both labelled after the first quarter window
