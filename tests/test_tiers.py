"""The test tiers (tests/conftest.py): each test lands in unit, integration or live from what it uses, an explicit
marker wins, and the real suite's tiers hold what they promise."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import REPO, tier_of


class FakeItem:
    """What ``tier_of`` reads of a collected test."""

    def __init__(self, function, fixtures=(), marker: str | None = None) -> None:
        self.function, self.fixturenames, self.marker = function, list(fixtures), marker

    def get_closest_marker(self, name: str):
        return name if name == self.marker else None


def pure_numbers() -> None:
    assert sum([1, 2]) == 3


def spins_a_graph() -> None:
    import rclpy  # noqa: F401 - what the tier is read from


def test_a_test_is_put_in_its_tier_from_what_it_uses() -> None:
    assert tier_of(FakeItem(pure_numbers)) == "unit"
    assert tier_of(FakeItem(pure_numbers, ["tmp_path", "cmu_cache"])) == "integration"
    assert tier_of(FakeItem(pure_numbers, ["start_process"])) == "live"
    assert tier_of(FakeItem(spins_a_graph)) == "live"
    assert tier_of(FakeItem(spins_a_graph, marker="unit")) == "unit"  # an explicit marker wins


def collected_tiers() -> dict[str, list[str]]:
    """Tier -> the node ids the real suite puts in it (one collection, in a child process)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "tests" / "fixtures"),
                                                        os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-m", "pytest", "tests", "-q", "-p", "no:cacheprovider", "-p", "tier_report",
                          "--collect-only"], cwd=REPO, capture_output=True, text=True, timeout=120, env=env).stdout
    tiers: dict[str, list[str]] = {}
    for line in out.splitlines():
        if line.startswith("TIER "):
            _, tier, node = line.split(" ", 2)
            tiers.setdefault(tier, []).append(node)
    return tiers


@pytest.mark.integration
def test_the_suite_splits_into_three_tiers() -> None:
    tiers = collected_tiers()
    assert set(tiers) == {"unit", "integration", "live"}, {k: v[:3] for k, v in tiers.items()}  # one tier each
    unit, integration, live = tiers["unit"], tiers["integration"], tiers["live"]
    node_processes = ("tests/test_nodes.py", "tests/test_faults.py")
    assert not [t for t in unit + integration if t.startswith(node_processes)]
    assert [t for t in live if t.startswith(node_processes)]
    assert any(t.startswith("tests/test_metrics.py") for t in unit)
    assert "tests/test_bag_eval.py::test_online_and_offline_agree" in live
