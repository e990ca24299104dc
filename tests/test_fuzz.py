"""Hostile input, reduced from the benchmark's 10,000 per target: every generated input is accepted or
rejected with a UserError; none crashes."""

from __future__ import annotations

import pytest

from motion_text_node.bench.fuzz import TARGETS, fuzz_counts


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_no_generated_input_crashes(target) -> None:
    res = fuzz_counts(200, [target])[target]
    assert res["inputs"] == 200
    assert res.get("crashed", 0) == 0, res["crash_examples"]
    assert res.get("rejected", 0) > 0 and res["distinct_reasons"] >= 3  # the rejections explain themselves
