"""Property-based fuzzing (hypothesis) of every input path: Skeleton messages -> arrays -> canonical body,
the stream recognizer's input checks, and the file loaders (BVH, npz, AMASS npz, BABEL JSON, bags).

Each target must either accept an input or reject it with a UserError (one clear line); anything else is a
crash. ``fuzz_counts`` returns the counts; the benchmark prints them, the test suite runs a reduced number.
"""

from __future__ import annotations

import io
import json
import tempfile
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from motion_text_node.bench.table import render
from motion_text_node.errors import UserError

FLOATS = st.one_of(*[st.floats(-3.0, 3.0, width=32)] * 6, st.floats(allow_nan=True, allow_infinity=True, width=32),
                   st.sampled_from([0.0, 1e9, -1e9]))
NAMES = st.one_of(st.sampled_from(["pelvis", "left_wrist", "head", "Hips", "LeftArm", "PELVIS", "nose", "x", ""]),
                  st.text(max_size=12))
FORMATS = st.one_of(st.sampled_from(["", "custom", "smpl22", "smplh52", "kinect32", "mediapipe33", "coco17",
                                     "cmu31", "bogus"]), st.text(max_size=8))


def _point(v):
    return SimpleNamespace(x=v[0], y=v[1], z=v[2])


@st.composite
def skeleton_messages(draw):
    """Skeleton-shaped messages with any joint count, names, formats, NaN/inf/huge values, bad lengths."""
    if draw(st.booleans()):  # a plausible message of a known format, then some of it broken
        fmt = draw(st.sampled_from(["smpl22", "kinect32", "mediapipe33", "coco17"]))
        n = {"smpl22": 22, "kinect32": 32, "mediapipe33": 33, "coco17": 17}[fmt]
        names, conf = [], []
    else:
        n = draw(st.one_of(st.integers(0, 40), st.sampled_from([17, 22, 32, 33, 52, 300])))
        fmt = draw(FORMATS)
        names = draw(st.one_of(st.just([]), st.lists(NAMES, min_size=n, max_size=n), st.lists(NAMES, max_size=5)))
        conf = draw(st.one_of(st.just([]), st.lists(FLOATS, min_size=n, max_size=n), st.lists(FLOATS, max_size=3)))
    positions = draw(st.lists(st.tuples(FLOATS, FLOATS, FLOATS), min_size=n, max_size=n))
    stamp = SimpleNamespace(sec=draw(st.integers(-5, 2**31 - 1)), nanosec=draw(st.integers(0, 999_999_999)))
    return SimpleNamespace(header=SimpleNamespace(stamp=stamp, frame_id="f"), track_id=draw(st.text(max_size=6)),
                           skeleton_format=fmt, joint_names=names, positions=[_point(p) for p in positions],
                           confidences=conf, up_axis=draw(st.sampled_from(["", "z", "y", "-y", "x", "up"])))


def _target_message(msg) -> None:
    from motion_text_node.ros.conversions import skeleton_msg_to_frame
    from motion_text_node.skeleton.adapt import to_canonical

    frame = skeleton_msg_to_frame(msg)
    m = to_canonical(frame.positions, 30.0, frame.joint_names or None, frame.skeleton_format,
                     frame.up_axis or None, frame.confidences)
    if not np.isfinite(m.positions).all():
        raise AssertionError("canonical motion with non-finite positions")


VALID_BVH = """HIERARCHY
ROOT hip
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT lThigh
  {
    OFFSET 10 -5 0
    CHANNELS 3 Zrotation Xrotation Yrotation
    End Site
    {
      OFFSET 0 -40 0
    }
  }
}
MOTION
Frames: 2
Frame Time: 0.0333333
0 90 0 0 0 0 10 0 0
1 90 0 0 5 0 20 0 0
"""


@st.composite
def bvh_texts(draw):
    """Valid BVH text with tokens deleted, replaced, duplicated or the file cut short."""
    tokens = VALID_BVH.split(" ")
    for _ in range(draw(st.integers(1, 6))):
        if not tokens:
            break
        i = draw(st.integers(0, len(tokens) - 1))
        op = draw(st.sampled_from(["drop", "replace", "dup", "cut"]))
        if op == "drop":
            tokens.pop(i)
        elif op == "replace":
            tokens[i] = draw(st.one_of(st.text(max_size=6), st.sampled_from(["nan", "inf", "-1", "{", "}", "1e400"])))
        elif op == "dup":
            tokens.insert(i, tokens[i])
        else:
            tokens = tokens[:i]
    return " ".join(tokens)


def _target_bvh(text: str) -> None:
    from motion_text_node.data.bvh import load_bvh

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "f.bvh"
        path.write_text(text)
        load_bvh(path)


ARRAYS = st.one_of(
    st.builds(lambda shape, fill: np.full(shape, fill, dtype=np.float32),
              st.lists(st.integers(0, 4), min_size=0, max_size=4).map(tuple), FLOATS),
    st.text(max_size=5).map(np.array),
    st.lists(st.text(max_size=4), max_size=4).map(lambda v: np.array(v, dtype=str)),
    st.integers(-3, 200).map(np.array),
)


@st.composite
def npz_payloads(draw, keys):
    """npz files with a random subset of the expected keys, each holding a random array; sometimes raw bytes."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=64))
    chosen = draw(st.lists(st.sampled_from(keys), unique=True, max_size=len(keys)))
    arrays = {k: draw(ARRAYS) for k in chosen}
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _target_npz(payload: bytes) -> None:
    from motion_text_node.data.npz_format import load_npz_clip

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "f.npz"
        path.write_bytes(payload)
        load_npz_clip(path)


def _target_amass(payload: bytes) -> None:
    from motion_text_node.data.amass import read_amass_npz

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "f_poses.npz"
        path.write_bytes(payload)
        read_amass_npz(path)


JSON = st.recursive(st.one_of(st.none(), st.booleans(), st.floats(allow_nan=False), st.integers(), st.text(max_size=5)),
                    lambda c: st.one_of(st.lists(c, max_size=3), st.dictionaries(st.text(max_size=8), c, max_size=4)),
                    max_leaves=12)
BABEL_KEYS = ("babel_sid", "url", "feat_p", "dur", "seq_ann", "frame_ann")


@st.composite
def babel_documents(draw):
    """BABEL-shaped JSON with fields removed, retyped or replaced by random JSON."""
    label = {"raw_label": "walk", "proc_label": "walk", "seg_id": "s", "act_cat": ["walk"], "start_t": 0.0,
             "end_t": 1.0}
    entry = {"babel_sid": 1, "url": "u", "feat_p": "CMU/CMU/02/02_01_poses.npz", "dur": 2.0,
             "seq_ann": {"babel_lid": "l", "anntr_id": "a", "mul_act": False, "labels": [dict(label)]},
             "frame_ann": {"babel_lid": "l", "anntr_id": "a", "mul_act": False, "labels": [dict(label)]}}
    for _ in range(draw(st.integers(0, 4))):
        key = draw(st.sampled_from(BABEL_KEYS))
        if draw(st.booleans()):
            entry.pop(key, None)
        else:
            entry[key] = draw(JSON)
    if draw(st.booleans()):
        lab = entry.get("frame_ann")
        if isinstance(lab, dict) and lab.get("labels"):
            lab["labels"][0][draw(st.sampled_from(list(label)))] = draw(JSON)
    return draw(st.one_of(st.just({"1": entry}), JSON))


def _target_babel(doc) -> None:
    from motion_text_node.data.babel import parse_babel

    parse_babel(json.loads(json.dumps(doc)))


def _target_bag(payload: bytes) -> None:
    from motion_text_node.bag.info import bag_info

    with tempfile.TemporaryDirectory() as tmp:
        bag = Path(tmp) / "bag"
        bag.mkdir()
        (bag / "metadata.yaml").write_bytes(payload[: len(payload) // 2])
        (bag / "bag_0.mcap").write_bytes(payload[len(payload) // 2:])
        bag_info(bag)


@st.composite
def bag_payloads(draw):
    """A metadata.yaml + MCAP pair: random bytes, or a real-looking metadata.yaml with random fields."""
    meta = ("rosbag2_bagfile_information:\n  version: 8\n  storage_identifier: mcap\n  duration: {nanoseconds: 1}\n"
            "  starting_time: {nanoseconds_since_epoch: 0}\n  message_count: 1\n  topics_with_message_count: []\n"
            "  compression_format: ''\n  compression_mode: ''\n  relative_file_paths: [bag_0.mcap]\n  files: []\n")
    if draw(st.booleans()):
        meta = meta.replace(draw(st.sampled_from(["8", "mcap", "1", "bag_0.mcap", "[]"])), draw(st.text(max_size=6)))
    blob = draw(st.binary(max_size=128))
    head = meta.encode()
    return head + b"\x00" * (len(blob) - len(head)) + blob if draw(st.booleans()) else draw(st.binary(max_size=256))


TARGETS = {
    "Skeleton message -> canonical": (skeleton_messages(), _target_message),
    "BVH file": (bvh_texts(), _target_bvh),
    "joint-position npz": (npz_payloads(["positions", "fps", "joint_names", "up_axis", "skeleton_format",
                                          "confidences", "text", "label"]), _target_npz),
    "AMASS npz": (npz_payloads(["poses", "trans", "betas", "gender", "mocap_framerate", "dmpls"]), _target_amass),
    "BABEL JSON": (babel_documents(), _target_babel),
    "rosbag2 folder": (bag_payloads(), _target_bag),
}


def _checker(fn, counts: Counter, reasons: Counter, crashes: list[str]):
    """A one-argument property that classifies the outcome of ``fn(value)`` instead of failing."""

    def check(value) -> None:
        counts["inputs"] += 1
        try:
            fn(value)
            counts["accepted"] += 1
        except UserError as exc:
            counts["rejected"] += 1
            reasons[str(exc).split(":")[-1].strip()[:40]] += 1
        except Exception as exc:  # noqa: BLE001 - a crash is what we count
            counts["crashed"] += 1
            if len(crashes) < 5:
                crashes.append(f"{type(exc).__name__}: {exc}"[:300])

    return check


def run_target(strategy, fn, examples: int) -> tuple[Counter, Counter, list[str]]:
    """``examples`` generated inputs through ``fn``: (outcome counts, rejection reasons, crash examples)."""
    counts: Counter = Counter()
    reasons: Counter = Counter()
    crashes: list[str] = []
    settings(max_examples=examples, deadline=None, database=None, derandomize=True,
             suppress_health_check=list(HealthCheck))(given(strategy)(_checker(fn, counts, reasons, crashes)))()
    return counts, reasons, crashes


def fuzz_counts(examples: int, targets: list[str] | None = None, seed: int = 0) -> dict[str, dict]:
    """Run ``examples`` generated inputs through each target; counts of accepted/rejected/crashed inputs."""
    out = {}
    for name, (strategy, fn) in TARGETS.items():
        if targets and name not in targets:
            continue
        counts, reasons, crashes = run_target(strategy, fn, examples)
        out[name] = {**counts, "distinct_reasons": len(reasons), "crash_examples": crashes}
    return out


def fuzz_table(examples: int = 10_000) -> str:
    """The fuzzing table of the benchmark."""
    res = fuzz_counts(examples)
    rows = [[name, r.get("inputs", 0), r.get("accepted", 0), r.get("rejected", 0), r.get("crashed", 0),
             r["distinct_reasons"]] for name, r in res.items()]
    text = render(f"Fuzzing ({examples} generated inputs per target; a rejection is a one-line UserError)",
                  ["input path", "inputs", "accepted", "rejected", "crashed", "distinct rejection messages"], rows)
    crashes = [f"- {name}: {c}" for name, r in res.items() for c in r["crash_examples"]]
    return text + ("\n\nCrashes:\n" + "\n".join(crashes) if crashes else "")
