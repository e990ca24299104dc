"""One line, never a traceback (issue 14, "tracebacks that must be one line"): bad .npz files, corrupt dataset
caches and motion libraries, output paths that cannot be written, NaN/inf arguments, bad config files, a reader
closing the pipe early and Ctrl-C under load. Each case goes through the real ``motion-text`` entry point (or the
function it calls) and must end in one error line and a non-zero exit code.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from bvh_text import two_joint_bvh
from conftest import version1_library_arrays

from motion_text_node.cli import main as cli_main
from motion_text_node.data.cache import DatasetCache, write_cache
from motion_text_node.data.clip import Clip
from motion_text_node.data.npz_format import load_npz_clip, save_npz_clip
from motion_text_node.data.npz_io import open_npz
from motion_text_node.errors import UserError
from motion_text_node.runtime.library import MotionLibrary
from motion_text_node.skeleton.canonical import CANONICAL_JOINTS, NUM_JOINTS
from motion_text_node.skeleton.motion import Motion
from motion_text_node.train.config import load_config

REPO = Path(__file__).resolve().parents[1]


def one_line_error(capsys, argv: list[str], expect: str, rc: int = 2) -> str:
    """Run ``motion-text argv``; assert exit code ``rc``, one stderr line containing ``expect``, no traceback."""
    code = cli_main(argv)
    err = capsys.readouterr().err.strip()
    assert code == rc, err
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert expect in err, err
    return err


def walking_motion(frames: int = 60, fps: float = 30.0) -> Motion:
    t = np.arange(frames, dtype=np.float32)[:, None, None] / fps
    base = np.linspace(0.0, 1.6, NUM_JOINTS, dtype=np.float32)[None, :, None] * np.array([0.1, 0.05, 1.0])
    return Motion((base + 0.3 * np.concatenate([t, 0 * t, 0 * t], axis=2)).astype(np.float32), CANONICAL_JOINTS, fps)


# --- npz files: a renamed .npy, forged shapes, strings where numbers belong --------------------------------------
def test_npy_renamed_npz_is_one_line(tmp_path, capsys) -> None:
    fake = tmp_path / "walk.npz"
    np.save(fake.with_suffix(".npy"), np.zeros((10, 22, 3), np.float32))
    fake.with_suffix(".npy").rename(fake)
    with pytest.raises(UserError, match="single .npy array"):
        load_npz_clip(fake)
    one_line_error(capsys, ["library", "info", str(fake)], "single .npy array")


def forged_member(shape: tuple[int, ...], payload: bytes = b"\0" * 64) -> bytes:
    """An .npy member whose header claims ``shape`` (float32) but that holds only ``payload``."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "<f4", "fortran_order": False, "shape": shape})
    return buf.getvalue() + payload


def test_forged_huge_shape_is_refused_before_allocation(tmp_path) -> None:
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:  # deflate: the claim is checked on file_size
        z.writestr("positions.npy", forged_member((10**9, 22, 3)))
        z.writestr("fps.npy", forged_member((), np.float32(30).tobytes()))
    with pytest.raises(UserError, match="claims shape"):
        load_npz_clip(path)


def test_member_larger_than_the_limit_is_refused(tmp_path) -> None:
    path = tmp_path / "big.npz"
    np.savez(path, positions=np.zeros((100, 22, 3), np.float32))
    with open_npz(path, max_bytes=1000) as data, pytest.raises(UserError, match="at most 1000"):
        data["positions"]
    with open_npz(path) as data:
        assert data["positions"].shape == (100, 22, 3)


def test_string_confidences_and_pickled_members(tmp_path) -> None:
    path = save_npz_clip(tmp_path / "walk.npz", walking_motion())
    with np.load(path) as d:
        arrays = dict(d)
    np.savez(path, **arrays, confidences=np.full((60, 22), "high"))
    with pytest.raises(UserError, match="confidences must be numbers"):
        load_npz_clip(path)
    np.savez(path, **{**arrays, "positions": np.array([object()] * 3, dtype=object)})
    with pytest.raises(UserError, match="Python objects"):
        load_npz_clip(path)


# --- corrupt dataset caches ------------------------------------------------------------------------------------
@pytest.fixture
def small_cache(tmp_path) -> Path:
    clips = [(Clip(f"c{i}", walking_motion(), ["a person walks"], subject=str(i)), split)
             for i, split in enumerate(["train", "val", "test"])]
    write_cache(clips, tmp_path / "cache")
    assert len(DatasetCache(tmp_path / "cache")) == 3
    return tmp_path / "cache"


def edit_index(cache: Path, change) -> None:
    index = json.loads((cache / "index.json").read_text())
    (cache / "index.json").write_text(json.dumps(change(index)))


@pytest.mark.parametrize("change, expect", [
    (lambda ix: ix["clips"], "must be an object"),
    (lambda ix: {**ix, "clips": [{**c, "fps": 0} for c in ix["clips"]]}, "fps 0"),
    (lambda ix: {**ix, "clips": [{k: v for k, v in c.items() if k != "offset"} for c in ix["clips"]]}, "offset"),
    (lambda ix: {**ix, "clips": [{**c, "texts": "walk"} for c in ix["clips"]]}, "list of texts"),
    (lambda ix: {**ix, "clips": [{**c, "split": "holdout"} for c in ix["clips"]]}, "split 'holdout'"),
    (lambda ix: {**ix, "clips": [{**c, "segments": [{"start": "x"}]} for c in ix["clips"]]}, "segments"),
])
def test_corrupt_cache_index_is_one_line(small_cache, capsys, change, expect) -> None:
    edit_index(small_cache, change)
    with pytest.raises(UserError, match="corrupt dataset cache"):
        DatasetCache(small_cache)
    one_line_error(capsys, ["data", "info", str(small_cache)], expect)


def test_cache_arrays_shorter_than_the_index(small_cache, capsys) -> None:
    positions = np.load(small_cache / "positions.npy")
    np.save(small_cache / "positions.npy", positions[:100])
    np.save(small_cache / "valid.npy", np.ones((100, NUM_JOINTS), bool))
    one_line_error(capsys, ["data", "info", str(small_cache)], "positions.npy holds 100")
    np.save(small_cache / "valid.npy", np.ones((7,), bool))
    one_line_error(capsys, ["data", "info", str(small_cache)], "valid.npy must be")


# --- corrupt motion libraries ----------------------------------------------------------------------------------
@pytest.fixture
def library_arrays(shipped_model) -> dict[str, np.ndarray]:
    """The shipped library as the arrays of one version-1 file (motions inside)."""
    return version1_library_arrays(shipped_model / "motion_library.npz")


@pytest.mark.parametrize("change, expect", [
    (lambda a: {**a, "embeddings": a["embeddings"][:, 0]}, "embeddings must be"),
    (lambda a: {**a, "embeddings": np.where(np.arange(len(a["embeddings"]))[:, None] == 3, np.nan,
                                            a["embeddings"])}, "NaN"),
    (lambda a: {**a, "offsets": a["offsets"][:-5]}, "offsets"),
    (lambda a: {**a, "offsets": a["offsets"][::-1].copy()}, "offsets"),
    (lambda a: {**a, "fps": np.zeros_like(a["fps"])}, "fps"),
    (lambda a: {**a, "descriptions": a["descriptions"][:-1]}, "descriptions"),
])
def test_corrupt_library_is_one_line(tmp_path, capsys, library_arrays, change, expect) -> None:
    path = tmp_path / "lib.npz"
    np.savez(path, **change(library_arrays))
    with pytest.raises(UserError, match="corrupt motion library"):
        MotionLibrary.load(path)
    one_line_error(capsys, ["library", "info", str(path)], expect)
    one_line_error(capsys, ["retrieve", "walk", "--library", str(path), "--save-best", str(tmp_path / "b.gif")],
                   expect)


def test_library_path_that_is_a_folder(tmp_path, capsys) -> None:
    one_line_error(capsys, ["library", "info", str(tmp_path)], "is a folder")


# --- output paths that cannot be written -----------------------------------------------------------------------
@pytest.fixture
def a_file(tmp_path) -> Path:
    path = tmp_path / "plain.txt"
    path.write_text("not a folder")
    return path


def test_unwritable_output_paths_are_one_line(tmp_path, a_file, small_cache, shipped_model, capsys) -> None:
    under_file = a_file / "sub" / "out"
    folder_npz = tmp_path / "lib.npz"
    folder_npz.mkdir()
    cmu = REPO / "data" / "sample_bags"
    cases = [
        (["data", "build", "--source", "cmu", "--out", str(a_file)], "is a file"),
        (["data", "build", "--source", "cmu", "--out", str(under_file)], "is a file, not a folder"),
        (["train", "--config", str(REPO / "configs" / "tiny.yaml"), "--out", str(under_file)], "is a file"),
        (["data", "show", "c0", "--data", str(small_cache), "--out", str(tmp_path)], "is a folder"),
        (["library", "build", "--data", str(small_cache), "--out", str(folder_npz)], "is a folder"),
        (["retrieve", "walk", "--save-best", str(tmp_path)], "is a folder"),
        (["bag", "convert", str(small_cache), "--out", str(under_file)], str(a_file)),
        (["bag", "eval", str(cmu), "--out", str(a_file)], "is a file"),
    ]
    for argv, expect in cases:
        one_line_error(capsys, argv, expect)
    if os.geteuid() != 0:  # root may write anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        one_line_error(capsys, ["data", "build", "--source", "cmu", "--out", str(locked / "c")], "no permission")


def test_write_failure_of_a_cache_is_one_user_error(tmp_path, monkeypatch) -> None:
    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "save", full_disk)
    with pytest.raises(UserError, match="No space left on device"):
        write_cache([(Clip("c", walking_motion(), ["walk"]), "train")], tmp_path / "cache")


# --- NaN / inf arguments ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["nan", "inf", "0", "-30"])
def test_data_build_fps_must_be_a_real_rate(tmp_path, capsys, value) -> None:
    one_line_error(capsys, ["data", "build", "--source", "cmu", "--out", str(tmp_path / "c"), "--fps", value],
                   "fps must be a number")


@pytest.mark.parametrize("option, value", [("--gap", "nan"), ("--gap", "inf"), ("--start-time", "nan"),
                                           ("--start-time", "inf"), ("--start-time", "1e12")])
def test_bag_convert_times_must_be_finite(tmp_path, small_cache, capsys, option, value) -> None:
    one_line_error(capsys, ["bag", "convert", str(small_cache), "--out", str(tmp_path / "b"), option, value],
                   option)
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize("option, value", [("--start-offset", "nan"), ("--ack-timeout", "inf"),
                                           ("--ack-timeout", "nan"), ("--rate", "nan")])
def test_bag_play_numbers_must_be_finite(capsys, option, value) -> None:
    bag = REPO / "data" / "sample_bags" / "cmu_test_subjects"
    one_line_error(capsys, ["bag", "play", str(bag), option, value], option)


# --- config files ----------------------------------------------------------------------------------------------
def test_binary_config_and_bad_inherit(tmp_path, capsys) -> None:
    binary = tmp_path / "config.yaml"
    binary.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(UserError, match="not a text file"):
        load_config(binary)
    for value in ("5", "[a.yaml]", "''"):
        bad = tmp_path / "inherit.yaml"
        bad.write_text(f"inherit: {value}\n")
        with pytest.raises(UserError, match="'inherit' must name another config file"):
            load_config(bad)
    one_line_error(capsys, ["train", "--config", str(binary), "--out", str(tmp_path / "run")], "not a text file")


# --- pipes and Ctrl-C ------------------------------------------------------------------------------------------
def cli_process(*argv: str, **kwargs) -> subprocess.Popen:
    """``motion-text argv`` as a child whose SIGINT is Python's default (a background shell ignores it)."""
    return subprocess.Popen([sys.executable, "-m", "motion_text_node.cli", *argv], cwd=REPO, env=os.environ.copy(),
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL), **kwargs)


def test_closed_pipe_ends_quietly(shipped_model) -> None:
    """``library info | head -1``: the reader goes away after one line; no BrokenPipeError traceback."""
    proc = cli_process("library", "info", str(shipped_model / "motion_library.npz"), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    first = proc.stdout.readline()
    proc.stdout.close()  # as `head -1` does
    err = proc.stderr.read().decode()
    rc = proc.wait(60)
    assert b"motions" in first
    assert "Traceback" not in err and "BrokenPipe" not in err, err
    assert rc in (0, 141)


def test_ctrl_c_under_load_is_one_line(tmp_path, cmu_cache) -> None:
    """SIGINT while a command works (embedding the CMU clips into a library: ONNX on every core) ends with one line
    and exit code 130."""
    errors = tmp_path / "stderr.txt"
    with open(errors, "w") as err:
        proc = cli_process("library", "build", "--data", str(cmu_cache), "--out", str(tmp_path / "lib.npz"),
                           stdout=subprocess.DEVNULL, stderr=err)
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline and errors.stat().st_size == 0:
            time.sleep(0.05)  # until it has started (its first output)
        proc.send_signal(signal.SIGINT)
        rc = proc.wait(60)
    text = errors.read_text()
    assert "Traceback" not in text and "KeyboardInterrupt" not in text, text
    assert rc == 130, text
    assert text.strip().splitlines()[-1].split("\r")[-1] == "motion-text library: interrupted"


# --- what the file fuzzer found (bench/fuzz.py) ----------------------------------------------------------------
@pytest.mark.parametrize("fields, expect", [
    ({"root_channels": "\u00b2"}, "channel"),  # a superscript two passes str.isdigit but not int()
    ({"frames": "\u00b2"}, "bad frame count"),
    ({"frames": "9" * 5000}, "bad frame count"),  # past int()'s 4,300-digit limit
    ({"root_channels": "6" * 5000}, "channel"),
    ({"root_channels": "0", "spine_channels": "0", "frames": "1000000000", "frame_time": "0.01", "rows": ""},
     "no joint has channels"),  # no values to read: the frame count would not be bounded by the file's size
    ({"frame_time": "1e-9"}, "frame time must be"),  # 1e9 fps
])
def test_bvh_headers_the_fuzzer_broke(tmp_path, fields, expect) -> None:
    from motion_text_node.data.bvh import load_bvh

    path = tmp_path / "f.bvh"
    path.write_text(two_joint_bvh(**{"frames": 2, **fields}))
    with pytest.raises(UserError, match=expect):
        load_bvh(path)


@pytest.mark.parametrize("shape", ["flat", "transposed", "trailing axis"])
def test_confidences_of_another_shape_are_one_line(tmp_path, shape) -> None:
    motion = walking_motion(frames=10)
    path = save_npz_clip(tmp_path / "walk.npz", motion)
    with np.load(path) as d:
        arrays = dict(d)
    conf = {"flat": np.ones(10 * 22), "transposed": np.ones((22, 10)), "trailing axis": np.ones((10, 22, 1))}[shape]
    np.savez(path, **arrays, confidences=conf)
    with pytest.raises(UserError, match="one value per joint"):
        load_npz_clip(path)
    np.savez(path, **arrays, confidences=np.ones(22))  # one per joint for every frame, as Skeleton messages
    assert load_npz_clip(path).motion.positions.shape == (10, 22, 3)


def test_complex_numbers_are_refused(tmp_path, library_arrays) -> None:
    path = save_npz_clip(tmp_path / "walk.npz", walking_motion())
    with np.load(path) as d:
        arrays = dict(d)
    np.savez(path, **{**arrays, "positions": arrays["positions"].astype(np.complex64)})
    with pytest.raises(UserError, match="real numbers"):
        load_npz_clip(path)
    lib = tmp_path / "lib.npz"
    np.savez(lib, **{**library_arrays, "embeddings": library_arrays["embeddings"].astype(np.complex64)})
    with pytest.raises(UserError, match="embeddings must be"):
        MotionLibrary.load(lib)
    positions = library_arrays["positions"].copy()
    positions[5] = np.nan
    np.savez(lib, **{**library_arrays, "positions": positions})
    with pytest.raises(UserError, match="positions hold NaN"):
        MotionLibrary.load(lib)


def test_complex_amass_frame_rate_is_refused(tmp_path) -> None:
    from motion_text_node.data.amass import read_amass_npz

    path = tmp_path / "seq_poses.npz"
    np.savez(path, poses=np.zeros((4, 156)), trans=np.zeros((4, 3)), betas=np.zeros(16), gender="male",
             mocap_framerate=np.array(120 + 0j))
    with pytest.raises(UserError, match="not real numbers"):
        read_amass_npz(path)


@pytest.mark.parametrize("damage", ["empty", "negative shape"])
def test_cache_arrays_the_fuzzer_broke(small_cache, damage) -> None:
    target = small_cache / "valid.npy"
    if damage == "empty":
        target.write_bytes(b"")
    else:
        header = io.BytesIO()
        np.lib.format.write_array_header_1_0(header, {"descr": "|b1", "fortran_order": False, "shape": (-2, 22)})
        target.write_bytes(header.getvalue())
    with pytest.raises(UserError, match="corrupt dataset cache"):
        DatasetCache(small_cache)


@pytest.mark.parametrize("change, expect", [
    (lambda m: {**m, "motion_library": 5}, "motion_library must be a file name"),
    (lambda m: {**m, "motion_library": "../elsewhere/lib.npz"}, "motion_library must be a file name"),
    (lambda m: {**m, "normalization": {**m["normalization"], "window_frames": True}}, "window_frames"),
    (lambda m: {**m, "text_encoder": {**m["text_encoder"], "max_length": True}}, "max_length"),
])
def test_model_json_values_the_fuzzer_found(model_copy, change, expect) -> None:
    from motion_text_node.runtime.bundle import load_bundle

    meta = json.loads((model_copy / "model.json").read_text())
    (model_copy / "model.json").write_text(json.dumps(change(meta)))
    with pytest.raises(UserError, match=expect):
        load_bundle(model_copy)


@pytest.mark.parametrize("override, expect", [
    ("normalization.fps=.nan", "normalization.fps"), ("normalization.fps=-15.0", "normalization.fps"),
    ("model.embed_dim=-5", "model.embed_dim"), ("model.dropout=1.5", "model.dropout"),
    ("optim.lr=.inf", "finite"),
])
def test_training_config_values_must_make_a_model(override, expect) -> None:
    with pytest.raises(UserError, match=expect):
        load_config(REPO / "configs" / "tiny.yaml", [override])
