"""Hostile input, reduced from the benchmark's 10,000 per target: every generated input is accepted or
rejected with a UserError; none crashes."""

from __future__ import annotations

import pytest

from motion_text_node.bench.fuzz import TARGETS, fuzz_counts

#: Targets whose generator mutates a valid file: some of their inputs must be accepted (a generator whose every
#: input is rejected no longer reaches the checks past the first one).
MUTATES_A_VALID_FILE = ("joint-position npz", "AMASS npz", "motion library npz", "dataset cache folder",
                        "model folder (model.json)", "training config YAML", "BVH file",
                        "rosbag2 bag, damaged real recording")


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_no_generated_input_crashes(target) -> None:
    res = fuzz_counts(200, [target])[target]
    assert res["inputs"] == 200
    assert res.get("crashed", 0) == 0, res["crash_examples"]
    assert res.get("rejected", 0) > 0 and res["distinct_reasons"] >= 3  # the rejections explain themselves
    if target in MUTATES_A_VALID_FILE:
        assert res.get("accepted", 0) > 0, res


def test_file_targets_are_fuzzed() -> None:
    """The loaders issue 14 names each have a generator."""
    assert set(MUTATES_A_VALID_FILE) <= set(TARGETS)


def test_nodes_survive_random_parameter_sets_and_service_requests(shipped_model) -> None:
    """Issue 14's parameter/service fuzzer: every set is applied whole or refused whole with a reason, every
    request answered; afterwards the recognition node still labels a walk and the retrieval node still answers."""
    from motion_text_node.bench.fuzz_nodes import node_fuzz_counts

    res = node_fuzz_counts(shipped_model, 60)
    assert len(res) == 4
    for path, r in res.items():
        assert r["inputs"] == 60 and r.get("crashed", 0) == 0, (path, r["crash_examples"])
        assert r["still_works"], path
        assert r.get("rejected", 0) > 0 and r.get("accepted", 0) > 0, (path, r)  # both kinds were tried
