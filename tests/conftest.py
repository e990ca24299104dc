"""Test-wide set-up: an isolated ROS 2 graph (loopback only, own domain id, logs in build/) and process helpers."""

from __future__ import annotations

import os
import random
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from motion_text_node.ros.processes import ChildProcess

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"

# Must be set before any rclpy.init in this process or its children.
os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
os.environ.setdefault("ROS_DOMAIN_ID", str(random.randint(1, 100)))
os.environ.setdefault("ROS_LOG_DIR", str(REPO / "build" / "ros_log"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture
def start_process() -> Iterator:
    """Start child processes (``start_process(args, ready_line)``); all are stopped at test end."""
    procs: list[ChildProcess] = []

    def start(args: list[str], ready_line: str | None = "READY", timeout: float = 60.0) -> ChildProcess:
        proc = ChildProcess(args, ready_line, timeout, cwd=REPO, env=os.environ.copy())
        procs.append(proc)
        return proc

    yield start
    for p in procs:
        p.stop()


@pytest.fixture
def fixture_script() -> callable:
    """Command line that runs a script from tests/fixtures with this interpreter."""

    def cmd(name: str, *args: str) -> list[str]:
        return [sys.executable, str(FIXTURES / name), *args]

    return cmd


@pytest.fixture
def ros_node() -> Iterator:
    """A test-side rclpy node in its own Context, torn down in ``finally``."""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor

    context = rclpy.Context()
    rclpy.init(context=context)
    node = rclpy.create_node(f"test_node_{os.getpid()}_{int(time.time() * 1000) % 100000}", context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    try:
        yield node, executor
    finally:
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown(context=context)


@pytest.fixture(scope="session")
def cmu_bvh_dir() -> Path:
    """The real CMU BVH files, unpacked once into the cache."""
    from motion_text_node.data.cmu import unpacked_bvh_dir

    return unpacked_bvh_dir()


@pytest.fixture(scope="session")
def cmu_cache(tmp_path_factory) -> Path:
    """The real CMU data built into a dataset cache once per test session (about 20 s)."""
    from motion_text_node.data.build import build_cache

    out = REPO / ".cache" / "test_datasets" / "cmu"
    if not (out / "index.json").is_file():
        build_cache("cmu", out, fps=30.0, progress=False)
    return out


@pytest.fixture(scope="session")
def tiny_run(cmu_cache, tmp_path_factory) -> Path:
    """A tiny contrastive model trained for two short epochs on the real CMU training subjects."""
    from motion_text_node.train.config import load_config
    from motion_text_node.train.trainer import Trainer

    out = tmp_path_factory.mktemp("tiny_run")
    config = load_config(REPO / "configs" / "tiny.yaml", [f"data.cache={cmu_cache}"])
    Trainer(config, out, progress=False).run()
    return out


@pytest.fixture(scope="session")
def tiny_model_dir(tiny_run, tmp_path_factory) -> Path:
    """The tiny model exported to an ONNX model folder (parity-checked by the export itself)."""
    from motion_text_node.export.onnx_export import export_model

    out = tmp_path_factory.mktemp("tiny_model")
    export_model(tiny_run / "best.pt", out, log=lambda *a: None)
    return out


@pytest.fixture(scope="session")
def shipped_model() -> Path:
    """The model folder committed in the repo (trained on the CMU training subjects)."""
    path = REPO / "models"
    assert (path / "model.json").is_file(), "models/ has no exported model (run the README's training command)"
    return path


@pytest.fixture
def model_copy(shipped_model, tmp_path) -> Path:
    """The shipped model folder with a model.json of its own to edit (the other files linked, not copied)."""
    folder = tmp_path / "model"
    folder.mkdir()
    for f in shipped_model.iterdir():
        if f.is_file() and f.name != "model.json":
            (folder / f.name).symlink_to(f)
    (folder / "model.json").write_text((shipped_model / "model.json").read_text())
    return folder


def version1_library_arrays(path: Path) -> dict:
    """The library file ``path`` (and its motions file) as the arrays of one version-1 file: motions inside."""
    import numpy as np

    from motion_text_node.runtime.library import MotionLibrary

    lib = MotionLibrary.load(path)
    with np.load(path) as d:
        arrays = {k: d[k] for k in d.files if k not in ("motions", "motions_sha256")}
    return {**arrays, "version": np.int64(1), "offsets": lib.offsets, "positions": lib.positions}


@pytest.fixture(scope="session")
def held_out_library(shipped_model, cmu_cache, tmp_path_factory) -> Path:
    """A motion library of the held-out CMU test clips, embedded with the shipped model."""
    from motion_text_node.data.cache import DatasetCache
    from motion_text_node.runtime.engine import MotionTextRuntime, build_library

    rt = MotionTextRuntime(shipped_model, library=None)
    lib = build_library(rt, DatasetCache(cmu_cache).clips("test"), progress=False)
    return lib.save(tmp_path_factory.mktemp("library") / "test_library.npz")


@pytest.fixture(scope="session")
def merged_cache() -> Path:
    """A small merged cache of every non-CMU source (Bandai: 120 files spread over all contents), built once."""
    from motion_text_node.data.build import build_cache

    out = REPO / ".cache" / "test_datasets" / "merged_subset"
    if not (out / "index.json").is_file():
        build_cache("cmu_extra,cmu_humanoid3d,hra,bandai", out, fps=30.0, progress=False, limit=120)
    return out


# --- test tiers ----------------------------------------------------------------------------------------------
#: Three tiers, as markers (``-m unit`` runs in seconds; ``scripts/test.sh`` runs all):
#: unit (no ROS graph, no trained model, no real data set: synthetic poses and files, stub runtimes),
#: integration (real data, a trained or shipped model, child processes), live (real ROS 2 processes or graphs).
#: A test is put in its tier from what it uses, so a new test lands in the right one without a marker: the fixtures
#: it needs (directly or through other fixtures), and the code of the test and of those fixtures.
TIERS = ("unit", "integration", "live")
INTEGRATION_FIXTURES = frozenset({"cmu_bvh_dir", "cmu_cache", "tiny_run", "tiny_model_dir", "shipped_model",
                                  "held_out_library", "merged_cache"})
LIVE_FIXTURES = frozenset({"start_process", "ros_node", "fixture_script"})
LIVE_CODE = ("rclpy", "BagPlayer", "BagRecorder", "node_fuzz_counts", "run_online", "start_node", "spin_until",
             "node_command(", '"bag", "play"', '"bag", "record"', "evaluate_bag(")
INTEGRATION_CODE = ("subprocess", "MotionTextRuntime(", "load_bundle(", "models_dir(", "build_cache(", "Trainer(",
                    "export_model(", "export_onnx(", '"train", "--config"', "get_source(", "unpacked_", "shared_dir(",
                    "iter_cmu_clips(", "iter_hra_clips(", "iter_bandai_clips(", "iter_humanoid3d_clips(")


def _source(fn) -> str:
    import inspect

    try:
        return inspect.getsource(fn)
    except (OSError, TypeError):
        return ""


def tier_of(item: pytest.Item) -> str:
    """The tier of a collected test (see ``TIERS``); an explicit tier marker wins."""
    for tier in TIERS:
        if item.get_closest_marker(tier):
            return tier
    names = set(getattr(item, "fixturenames", ()))
    defs = getattr(item, "_fixtureinfo", None)
    function = getattr(item, "function", None)
    code = [_source(function)]
    module = getattr(item, "module", None)
    for name in getattr(getattr(function, "__code__", None), "co_names", ()):  # the module's helpers it calls
        helper = getattr(module, name, None)
        if callable(helper) and getattr(helper, "__module__", None) == getattr(module, "__name__", ""):
            code.append(_source(helper))
    if defs is not None:
        code += [_source(d.func) for name in names for d in defs.name2fixturedefs.get(name, ())
                 if name not in INTEGRATION_FIXTURES]
    text = "\n".join(code)
    if names & LIVE_FIXTURES or any(word in text for word in LIVE_CODE):
        return "live"
    if names & INTEGRATION_FIXTURES or any(word in text for word in INTEGRATION_CODE):
        return "integration"
    return "unit"



def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        tier = tier_of(item)
        if not item.get_closest_marker(tier):
            item.add_marker(getattr(pytest.mark, tier))
