"""Property-based fuzzing (hypothesis) of every input path: Skeleton messages -> arrays -> canonical body,
the stream recognizer's input checks, and the file loaders (BVH, joint-position npz, AMASS npz, motion library,
dataset cache folder, model folder, training config YAML, BABEL JSON, bags).

The file generators mostly start from a valid file and break one or two things in it (a field removed, retyped or
set to a hostile value), so that both accepted and rejected inputs occur and the checks past the first one are
reached; the rest are container attacks (a lone ``.npy`` renamed ``.npz``, an ``.npy`` header claiming a huge shape
over a few bytes, pickled members, truncated files) and random bytes.

Each target must either accept an input or reject it with a UserError (one clear line); anything else is a
crash. ``fuzz_counts`` returns the counts; the benchmark prints them, the test suite runs a reduced number.
"""

from __future__ import annotations

import io
import json
import shutil
import tempfile
import traceback
import zipfile
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import yaml
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


# --- BVH ----------------------------------------------------------------------------------------------------------
BVH_TEMPLATE = """HIERARCHY
ROOT hip
{{
  OFFSET {root_offset}
  CHANNELS {root_channels}
  JOINT lThigh
  {{
    OFFSET {child_offset}
    CHANNELS {child_channels}
    End Site
    {{
      OFFSET 0 -40 0
    }}
  }}
}}
MOTION
Frames: {frames}
Frame Time: {frame_time}
{rows}
"""
BVH_DEFAULTS = {"root_offset": "0 0 0",
                "root_channels": "6 Xposition Yposition Zposition Zrotation Xrotation Yrotation",
                "child_offset": "10 -5 0", "child_channels": "3 Zrotation Xrotation Yrotation", "frames": "2",
                "frame_time": "0.0333333", "rows": "0 90 0 0 0 0 10 0 0\n1 90 0 0 5 0 20 0 0"}
VALID_BVH = BVH_TEMPLATE.format(**BVH_DEFAULTS)
#: Hostile values of each header field (``OFFSET nan nan nan``, ``Frame Time: 100`` / ``1000`` / 0, huge frame
#: counts, no channels at all, digits ``int`` cannot read).
BVH_SPECIALS = {
    "root_offset": ["nan nan nan", "inf 0 0", "1e400 0 0", "0 0", "1e30 1e30 1e30", "0 0 0 0"],
    "child_offset": ["nan nan nan", "0 0 0", "-inf 1 1", "1e300 0 0", "0 0", "x y z"],
    "root_channels": ["0", "3 Xposition Yposition Zposition", "3 Xrotation Yrotation Zrotation", "²",
                      "6 xposition Yposition Zposition Zrotation Xrotation Yrotation", "7 Xposition", "-1",
                      "6 Xposition Yposition Zposition Zrotation Xrotation"],
    "child_channels": ["0", "6 Xposition Yposition Zposition Zrotation Xrotation Yrotation", "²", "1 Wrotation",
                       "3 Xposition Yposition Zposition", "10"],
    "frames": ["0", "1", "3", "1000000000", "1000000000000000000", "-1", "1.5", "²", "٣", "", "99999"],
    "frame_time": ["100", "1000", "0", "-0.0333", "nan", "inf", "1e-9", "1e-300", "1e400", "0.001", "x", "20"],
    "rows": ["", "nan 90 0 0 0 0 10 0 0\n1 90 0 0 5 0 20 0 0", "0 inf 0 0 0 0 10 0 0", "1e400 " * 9, "a b c",
             "0 90 0 0 0 0 10 0 0", "0 90 0 0 0 0 10 0 0\n" * 5, "1e300 " * 18],
}


#: Whole hostile files, each certain to be generated: a huge frame count with no channels (no values needed) at
#: a tiny frame time passes the duration check with a few bytes of file.
BVH_PRESETS = [
    {"root_offset": "nan nan nan"}, {"child_offset": "nan nan nan"}, {"frame_time": "100"}, {"frame_time": "1000"},
    {"frame_time": "0"}, {"frames": "1000000000000000000"}, {"frames": "1000000000", "frame_time": "1e-9"},
    {"frames": "1000000000", "frame_time": "1e-9", "root_channels": "0", "child_channels": "0"},
    {"frames": "1000000000000000000", "frame_time": "1e-300", "root_channels": "0", "child_channels": "0"},
    {"frames": "99999", "frame_time": "0.001", "root_channels": "0", "child_channels": "0"},
]


@st.composite
def bvh_texts(draw):
    """Valid BVH text with header fields set to hostile values (``BVH_PRESETS``, ``BVH_SPECIALS``), or tokens
    deleted, replaced, duplicated or the file cut short."""
    mode = draw(st.integers(0, 9))
    if mode == 0:
        return BVH_TEMPLATE.format(**{**BVH_DEFAULTS, **draw(st.sampled_from(BVH_PRESETS))})
    if mode <= 5:
        fields = dict(BVH_DEFAULTS)
        for key in draw(st.lists(st.sampled_from(sorted(BVH_SPECIALS)), unique=True, max_size=4)):
            fields[key] = draw(st.sampled_from(BVH_SPECIALS[key]))
        return BVH_TEMPLATE.format(**fields)
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


JSON = st.recursive(st.one_of(st.none(), st.booleans(), st.floats(allow_nan=False), st.integers(), st.text(max_size=5)),
                    lambda c: st.one_of(st.lists(c, max_size=3), st.dictionaries(st.text(max_size=8), c, max_size=4)),
                    max_leaves=12)

# --- npz building blocks ----------------------------------------------------------------------------------------
ARRAYS = st.one_of(
    st.builds(lambda shape, fill: np.full(shape, fill, dtype=np.float32),
              st.lists(st.integers(0, 4), min_size=0, max_size=4).map(tuple), FLOATS),
    st.text(max_size=5).map(np.array),
    st.lists(st.text(max_size=4), max_size=4).map(lambda v: np.array(v, dtype=str)),
    st.integers(-3, 200).map(np.array),
)


def _objects(_value=None) -> np.ndarray:
    """An object array: np.savez pickles it (the readers must refuse it rather than unpickle)."""
    return np.array([1, "a", None], dtype=object)


#: Changes any field can get: another type, another rank, nothing at all.
RETYPES = [
    _objects,
    lambda v: np.array("text"),
    lambda v: np.array(b"\xff\xfe"),
    lambda v: np.array([], dtype=np.float32),
    lambda v: np.asarray(v)[None],
    lambda v: np.asarray(v).astype(str) if np.asarray(v).size < 10_000 else np.array("x"),
    lambda v: np.asarray(v).astype(np.complex64) if np.issubdtype(np.asarray(v).dtype, np.number) else np.array(1j),
    lambda v: np.asarray(v).astype(bool) if np.issubdtype(np.asarray(v).dtype, np.number) else np.array(True),
    lambda v: np.asarray(v).astype(np.float16) if np.issubdtype(np.asarray(v).dtype, np.number) else np.array(1.0),
    lambda v: np.array(np.datetime64("2026-01-01")),
]


def _consts(*values) -> list:
    """Changes that set a field to ``np.array(value)``, one per value."""
    return [lambda v, x=x: np.array(x) for x in values]


def _npz_bytes(arrays: dict) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)  # object arrays are pickled
    return buf.getvalue()


def _npy_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


def _forged_member(shape: tuple, descr: str = "<f4", payload: bytes = b"\0" * 64, version: int = 1) -> bytes:
    """.npy bytes whose header claims ``shape`` of ``descr`` but that hold only ``payload``."""
    buf = io.BytesIO()
    header = {"descr": descr, "fortran_order": False, "shape": shape}
    if version == 1:
        np.lib.format.write_array_header_1_0(buf, header)
    else:
        np.lib.format.write_array_header_2_0(buf, header)
    return buf.getvalue() + payload


def _zip(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def _lying_size(payload: bytes, new_size: int = 10**8) -> bytes:
    """A zip whose central directory claims every member is ``new_size`` bytes once uncompressed."""
    out = bytearray(payload)
    at = out.find(b"PK\x01\x02")
    while at >= 0:
        out[at + 24:at + 28] = new_size.to_bytes(4, "little")
        at = out.find(b"PK\x01\x02", at + 4)
    return bytes(out)


FORGED_SHAPES = [(10**9, 22, 3), (10**12,), (2**40, 2**40), (-1, 22, 3), (-2, 22, 3), (3, 22, 3), ()]


@st.composite
def hostile_npz(draw, arrays: dict):
    """Container-level attacks on the valid ``arrays``: a lone .npy renamed .npz, a member whose .npy header
    claims a huge (or negative) shape over a few bytes, a pickled member, a member that is no .npy at all, a zip
    that lies about sizes, an empty zip, a file cut short, random bytes."""
    key = draw(st.sampled_from(sorted(arrays)))
    kind = draw(st.sampled_from(["npy", "forged", "forged", "pickle", "not_npy", "lying_size", "empty_zip", "cut",
                                 "bytes", "stored_forged", "dir_member"]))
    members = {f"{k}.npy": _npy_bytes(v) for k, v in arrays.items()}
    if kind == "npy":  # np.save output under an .npz name
        return _npy_bytes(np.asarray(arrays[key]))
    if kind in ("forged", "stored_forged"):
        shape = draw(st.sampled_from(FORGED_SHAPES))
        descr = draw(st.sampled_from(["<f4", "<f8", "|O", "<U10", "|b1", "<i8"]))
        members[f"{key}.npy"] = _forged_member(shape, descr, b"\0" * draw(st.sampled_from([0, 4, 64])),
                                               draw(st.sampled_from([1, 2])))
        return _zip(members, zipfile.ZIP_STORED if kind == "stored_forged" else zipfile.ZIP_DEFLATED)
    if kind == "pickle":
        return _npz_bytes({**arrays, key: _objects()})
    if kind == "not_npy":
        members[f"{key}.npy"] = draw(st.sampled_from([b"", b"hello", b"\x93NUMPY", b"\x93NUMPY\x01\x00\xff\xff",
                                                      b"\x93NUMPY\x01\x00\x10\x00{'descr': 5}      \n"]))
        return _zip(members)
    if kind == "lying_size":
        return _lying_size(_zip(members), draw(st.sampled_from([10**8, 0, 1, 2**32 - 1])))
    if kind == "empty_zip":
        return _zip({})
    if kind == "cut":
        payload = _npz_bytes(arrays)
        return payload[:draw(st.integers(0, len(payload) - 1))]
    if kind == "dir_member":
        return _zip({**members, f"{key}/": b"", f"sub/{key}.npy": _npy_bytes(np.asarray(arrays[key]))})
    return draw(st.binary(max_size=64))


@st.composite
def mutated_npz(draw, base, specials: dict, random_keys: list[str], optional: tuple[str, ...] = ()):
    """An npz from ``base(draw)`` (a dict of valid arrays) with 0-2 fields removed, retyped or set to a hostile
    value of ``specials[field]`` (each a function of the valid value); or a container attack (``hostile_npz``);
    or a random subset of ``random_keys`` holding random arrays. Untouched ``optional`` fields are left out of
    half the files."""
    arrays = base(draw)
    mode = draw(st.integers(0, 9))
    if mode == 0:
        return draw(hostile_npz(arrays))
    if mode == 1:
        return draw(npz_payloads(random_keys))
    changed = draw(st.lists(st.sampled_from(sorted(specials)), unique=True, max_size=2))
    for key in optional:
        if key not in changed and draw(st.booleans()):
            arrays.pop(key, None)
    for key in changed:
        how = draw(st.sampled_from(["special", "special", "special", "retype", "remove", "random"]))
        if how == "remove":
            arrays.pop(key, None)
        elif how == "random":
            arrays[key] = draw(ARRAYS)
        else:
            change = draw(st.sampled_from(specials[key] if how == "special" else RETYPES))
            arrays[key] = change(arrays.get(key, np.zeros(3, np.float32)))
    return _npz_bytes(arrays)


@st.composite
def npz_payloads(draw, keys):
    """npz files with a random subset of the expected keys, each holding a random array; sometimes raw bytes."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=64))
    chosen = draw(st.lists(st.sampled_from(keys), unique=True, max_size=len(keys)))
    arrays = {k: draw(ARRAYS) for k in chosen}
    return _npz_bytes(arrays)


def _set(value: np.ndarray, index, what) -> np.ndarray:
    """A copy of ``value`` with ``value[index] = what``."""
    out = np.array(value, copy=True)
    out[index] = what
    return out


# --- joint-position npz -------------------------------------------------------------------------------------------
def _walking_positions(frames: int, fps: float = 30.0) -> np.ndarray:
    """(frames, 22, 3) canonical joints of a body stretched up the z axis, moving forward at 0.3 m/s."""
    from motion_text_node.skeleton.canonical import NUM_JOINTS

    t = np.arange(frames, dtype=np.float32)[:, None, None] / fps
    body = np.linspace(0.0, 1.6, NUM_JOINTS, dtype=np.float32)[None, :, None] * np.array([0.1, 0.05, 1.0])
    return (body + 0.3 * np.concatenate([t, 0 * t, 0 * t], axis=2)).astype(np.float32)


def _joint_npz_base(draw) -> dict:
    from motion_text_node.skeleton.canonical import CANONICAL_JOINTS

    positions = _walking_positions(draw(st.integers(1, 40)))
    return {"positions": positions, "joint_names": np.array(CANONICAL_JOINTS), "fps": np.float32(30.0),
            "up_axis": np.array("z"), "confidences": np.ones(positions.shape[:2], np.float32),
            "text": np.array("a person walks forward")}


JOINT_NPZ_SPECIALS = {
    "positions": [
        lambda v: _set(v, 0, np.nan), lambda v: np.full_like(v, np.nan), lambda v: _set(v, (0, 3), np.inf),
        lambda v: v * 1e30, lambda v: v[..., :2], lambda v: v[0], lambda v: v[:, :21], lambda v: v[:0],
        lambda v: v[:, :0], lambda v: v[..., None], lambda v: v.astype(np.float64), lambda v: v.astype(np.int32),
        lambda v: v[:, ::-1], lambda v: np.concatenate([v, v], axis=1), lambda v: np.float32(1.0),
        lambda v: v.astype(np.float16), lambda v: v.astype(np.complex64) * 1j,
    ],
    "fps": [lambda v: np.float32(1e-3), lambda v: np.float32(0.0), lambda v: np.float32(np.nan),
            lambda v: np.float32(np.inf), lambda v: np.float32(-30), lambda v: np.array([30.0, 30.0]),
            lambda v: np.array("30"), lambda v: np.int64(30), lambda v: np.float64(1e9), lambda v: np.array(True),
            lambda v: np.complex64(30 + 1j), lambda v: np.float32(30).reshape(1, 1), lambda v: np.float64(1e-300)],
    "joint_names": [
        lambda v: v[::-1], lambda v: v[:10], lambda v: np.concatenate([v[:1], v[:-1]]),
        lambda v: np.array(["x"] * len(v)),
        lambda v: np.char.upper(v), lambda v: v.astype("S"), lambda v: np.arange(len(v)), lambda v: v.reshape(2, -1),
        lambda v: np.array([], dtype=str), lambda v: np.array("pelvis"), lambda v: np.array(["Hips"] + list(v[1:])),
        lambda v: np.array([""] * len(v)),
    ],
    "up_axis": _consts("y", "-y", "Z ", "x", "up", "", b"z", b"\xff")
    + [lambda v: np.array(["z", "y"]), lambda v: np.float32(2)],
    "skeleton_format": _consts("smpl22", "kinect32", "coco17", "custom", "bogus", "")
    + [lambda v: np.int64(5)],
    "confidences": [
        lambda v: np.full(v.shape, "high"), lambda v: np.zeros_like(v), lambda v: np.full_like(v, np.nan),
        lambda v: _set(v, 0, 0.0), lambda v: np.ones(v.shape[1], np.float32), lambda v: np.ones(3, np.float32),
        lambda v: v.astype(bool), _objects, lambda v: v.reshape(-1), lambda v: v.T, lambda v: v[..., None],
        lambda v: np.ones((), np.float32), lambda v: v[:1], lambda v: -v,
    ],
    "text": _consts("a person walks", b"\xff\xfe", "", b"walk")
    + [lambda v: np.array(["a", "b"]), lambda v: np.float32(1)],
    "label": _consts("walk", b"\xff", "") + [lambda v: np.zeros((2, 2))],
}


@st.composite
def joint_npz_payloads(draw):
    """Valid joint-position npz files (``data.npz_format``) with a field or two broken, container attacks, or
    random arrays under the format's names."""
    return draw(mutated_npz(_joint_npz_base, JOINT_NPZ_SPECIALS, ["positions", "fps", "joint_names", "up_axis",
                                                                  "skeleton_format", "confidences", "text", "label"],
                            optional=("confidences", "text")))


def _target_npz(payload: bytes) -> None:
    from motion_text_node.data.npz_format import load_npz_clip

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "f.npz"
        path.write_bytes(payload)
        clip = load_npz_clip(path)
    if not np.isfinite(clip.motion.positions).all():
        raise AssertionError("canonical clip with non-finite positions")


# --- AMASS npz ------------------------------------------------------------------------------------------------------
def _amass_base(draw) -> dict:
    frames = draw(st.integers(1, 8))
    rng = np.random.default_rng(frames)
    fps_key = "mocap_frame_rate" if draw(st.integers(0, 4)) == 0 else "mocap_framerate"  # both spellings exist
    return {"poses": rng.normal(0, 0.2, (frames, 156)), "trans": rng.normal(0, 0.5, (frames, 3)),
            "betas": rng.normal(0, 1, 16), "gender": np.array("male"), fps_key: np.array(120.0),
            "dmpls": np.zeros((frames, 8))}


AMASS_SPECIALS = {
    "poses": [lambda v: _set(v, 0, np.nan), lambda v: _set(v, (0, 5), np.inf), lambda v: np.zeros((len(v), 165)),
              lambda v: np.zeros((len(v), 72)), lambda v: v[:0], lambda v: v[0], lambda v: v[..., None],
              lambda v: v.astype(np.int16), lambda v: v.astype(np.float32), lambda v: v[:, :155],
              lambda v: v.astype(np.complex64)],
    "trans": [lambda v: np.concatenate([v, v[:1]]), lambda v: v[:, 0], lambda v: _set(v, 0, np.nan),
              lambda v: v.T, lambda v: v[..., :2]],
    "betas": [lambda v: v[None], lambda v: v[:10], lambda v: np.zeros(301), lambda v: v[:0],
              lambda v: np.stack([v, v]), lambda v: _set(v, 0, np.nan), lambda v: np.float64(0.0)],
    "gender": _consts("female", "neutral", b"male", "Male ", "robot", "", b"\xff")
    + [lambda v: np.array(["male", "female"]), lambda v: np.int64(1), _objects],
    "mocap_framerate": _consts(1e-3, 0.0, np.nan, np.inf, -120.0, 1e9, 60)
    + [lambda v: np.array([120.0, 60.0]), lambda v: np.array("120"), lambda v: np.array(120 + 0j)],
}
AMASS_SPECIALS["mocap_frame_rate"] = AMASS_SPECIALS["mocap_framerate"]


@st.composite
def amass_payloads(draw):
    """AMASS SMPL+H sequences (poses [T,156], trans, betas [16], gender, mocap_framerate) with a field or two
    broken, ``mocap_frame_rate`` spelled the other way, container attacks, or random arrays."""
    return draw(mutated_npz(_amass_base, AMASS_SPECIALS, ["poses", "trans", "betas", "gender", "mocap_framerate",
                                                            "mocap_frame_rate", "dmpls"]))


def _target_amass(payload: bytes) -> None:
    from motion_text_node.data.amass import read_amass_npz

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "f_poses.npz"
        path.write_bytes(payload)
        read_amass_npz(path)


# --- motion library npz -------------------------------------------------------------------------------------------
LIBRARY_DIM = 8


def _library_base(draw) -> dict:
    from motion_text_node.runtime.library import LIBRARY_VERSION
    from motion_text_node.skeleton.canonical import CANONICAL_JOINTS

    n = draw(st.integers(1, 4))
    lengths = [draw(st.integers(1, 6)) for _ in range(n)]
    rng = np.random.default_rng(n)
    emb = rng.normal(size=(n, LIBRARY_DIM)).astype(np.float32)
    arrays = {"version": np.int64(LIBRARY_VERSION), "ids": np.array([f"clip{i}" for i in range(n)]),
              "descriptions": np.array([f"a person does thing {i}" for i in range(n)]),
              "embeddings": emb / np.linalg.norm(emb, axis=1, keepdims=True), "fps": np.full(n, 30.0, np.float32),
              "model_version": np.array("fuzz"), "joints": np.array(CANONICAL_JOINTS),
              "offsets": np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
              "positions": rng.normal(size=(sum(lengths), len(CANONICAL_JOINTS), 3)).astype(np.float16),
              "sources": np.array(["cmu"] * n), "licences": np.array(["CC0-1.0"] * n)}
    return arrays


LIBRARY_SPECIALS = {
    "embeddings": [lambda v: v.reshape(-1), lambda v: _set(v, 0, np.nan), lambda v: _set(v, (0, 1), np.inf),
                   lambda v: np.concatenate([v, v[:1]]), lambda v: v[:, :0], lambda v: v[None],
                   lambda v: v.astype(np.float16), lambda v: v.astype(np.int8), lambda v: v[:-1]],
    "offsets": [lambda v: v[:-1], lambda v: v[::-1].copy(), lambda v: v + 1, lambda v: _set(v, -1, v[-1] + 100),
                lambda v: v - 1, lambda v: v.astype(np.float64), lambda v: v[None], lambda v: v * 10**15,
                lambda v: _set(v, -1, -(2**62)), lambda v: np.zeros_like(v), lambda v: np.array(0)],
    "fps": [lambda v: np.zeros_like(v), lambda v: np.full_like(v, np.nan), lambda v: np.full_like(v, np.inf),
            lambda v: -v, lambda v: np.concatenate([v, v[:1]]), lambda v: v[0], lambda v: np.full(v.shape, 1e-3)],
    "descriptions": [lambda v: v[:-1], lambda v: np.concatenate([v, v[:1]]), lambda v: np.array([]),
                     lambda v: np.arange(len(v)), lambda v: v.reshape(1, -1), lambda v: np.array("one")],
    "ids": [lambda v: v[:-1], lambda v: np.arange(len(v)), lambda v: np.array("one"),
            lambda v: np.array([v[0]] * len(v))],
    "version": [lambda v: np.int64(3), lambda v: np.int64(0), lambda v: np.array("1"), lambda v: np.float64(1.5),
                lambda v: np.float64(np.nan), lambda v: np.array([1, 1]), lambda v: np.float64(1e300)],
    "positions": [lambda v: v[:, :21], lambda v: v[:1], lambda v: v[:0], lambda v: v.reshape(len(v), -1),
                  lambda v: _set(v, 0, np.nan), lambda v: v.astype(str)],
    "sources": [lambda v: np.array(["cmu"]), lambda v: np.arange(7), lambda v: np.array("cmu")],
    "model_version": [lambda v: np.zeros((2, 2)), lambda v: np.array(b"\xff")],
    # A motions file beside the library (version 2), named though absent, outside the folder or not a name.
    "motions": [lambda v: np.array("motion_library.motions.npz"), lambda v: np.array("../motions.npz"),
                lambda v: np.array(["a", "b"]), lambda v: np.array("/etc/hostname")],
}


@st.composite
def library_payloads(draw):
    """Valid motion-library files (``runtime.library``) with a field or two broken (1-D or NaN embeddings,
    short, falling or out-of-range offsets, fps 0/NaN, fewer descriptions, another version, ...), container
    attacks, or random arrays."""
    return draw(mutated_npz(_library_base, LIBRARY_SPECIALS, ["version", "ids", "descriptions", "embeddings", "fps",
                                                              "offsets", "positions", "model_version"],
                            optional=("sources", "licences")))


def _target_library(payload: bytes) -> None:
    from motion_text_node.runtime.library import MotionLibrary

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "motion_library.npz"
        path.write_bytes(payload)
        lib = MotionLibrary.load(path)
    if len(lib):  # what the runtime then does with it: search it, read its motions
        query = np.ones(lib.embeddings.shape[1], np.float32) / np.sqrt(max(lib.embeddings.shape[1], 1))
        lib.search(query, 3)
        for i in range(len(lib)):
            lib.motion(i)


# --- dataset cache folder -----------------------------------------------------------------------------------------
_BASES: dict[str, object] = {}


def _base_dir() -> Path:
    """A temporary folder for the valid bases, removed at exit."""
    if "tmp" not in _BASES:
        _BASES["tmp"] = tempfile.TemporaryDirectory(prefix="motion-text-fuzz-")
    return Path(_BASES["tmp"].name)


def _valid_cache() -> Path:
    """A small valid dataset cache (three clips, one with segments), written once."""
    if "cache" not in _BASES:
        from motion_text_node.data.cache import write_cache
        from motion_text_node.data.clip import Clip, Segment
        from motion_text_node.skeleton.canonical import CANONICAL_JOINTS
        from motion_text_node.skeleton.motion import Motion

        motion = Motion(_walking_positions(20), CANONICAL_JOINTS, 30.0)
        clips = [(Clip(f"c{i}", motion, ["a person walks"], label="walk", subject=str(i), source="cmu",
                       segments=[Segment(0.0, 0.3, "walk", "walks")] if i == 0 else []), split)
                 for i, split in enumerate(["train", "val", "test"])]
        write_cache(clips, _base_dir() / "cache")
        _BASES["cache"] = _base_dir() / "cache"
    return _BASES["cache"]


CACHE_CLIP_SPECIALS = {
    "fps": [0, -30, float("nan"), float("inf"), "30", True, None, 1e-300],
    "offset": [-1, 10**12, 1.5, True, "0", None, 2**63],
    "length": [-1, 10**12, 0, 1.5, False, "20", 61],
    "texts": ["walk", [1], None, [], ["a", None], {"a": 1}],
    "split": ["holdout", None, 1, "TRAIN"],
    "segments": ["seg", [{"start": "x"}], [{"start": 0, "end": 1, "label": "w", "extra": 1}],
                 [{"start": float("nan"), "end": 1, "label": "w"}], [{"start": 0, "end": 1, "label": 5}], [5], {}],
    "id": [5, None, "c0", "", ["c"]],
    "label": [5, None, ["walk"]],
    "subject": [5, None],
    "source": [5, None],
}
CACHE_ARRAY_CHANGES = ["cut", "empty", "remove", "wrong_shape", "objects", "bytes", "npz", "forged", "folder",
                       "float", "nan", "fortran", "1d"]


@st.composite
def cache_folders(draw):
    """A recipe for a dataset cache folder: the valid cache with its index.json edited (a list for an object,
    fps 0, a missing offset, texts a string, random JSON in fields, ...) or rewritten as random text, and/or its
    positions.npy / valid.npy cut short or replaced."""
    index = json.loads((_valid_cache() / "index.json").read_text())
    raw = None
    for _ in range(draw(st.integers(0, 2))):
        where = draw(st.sampled_from(["clip", "clip", "clip", "meta", "top", "clips", "raw"]))
        clips = index.get("clips") if isinstance(index, dict) else None
        if where == "clip" and isinstance(clips, list) and clips and isinstance(clips[0], dict):
            clip = clips[draw(st.integers(0, len(clips) - 1))]
            key = draw(st.sampled_from(sorted(CACHE_CLIP_SPECIALS)))
            how = draw(st.sampled_from(["special", "special", "remove", "json"]))
            if how == "remove":
                clip.pop(key, None)
            else:
                clip[key] = draw(st.sampled_from(CACHE_CLIP_SPECIALS[key]) if how == "special" else JSON)
        elif where == "meta" and isinstance(index, dict):
            index["meta"] = draw(st.one_of(st.sampled_from([[], None, {"version": 2}, {"version": "1"}, {}]), JSON))
        elif where == "top":
            index = draw(st.one_of(st.just(index.get("clips") if isinstance(index, dict) else []), JSON))
        elif where == "clips" and isinstance(index, dict):
            index["clips"] = draw(st.one_of(st.sampled_from([[], "c0", {}, [None], [[]]]), JSON))
        elif where == "raw":
            text = json.dumps(index)
            raw = draw(st.one_of(st.binary(max_size=64), st.just(b""), st.just(b"\xff\xfe{"),
                                 st.integers(0, len(text)).map(lambda i, s=text: s[:i].encode())))
    arrays = {}
    if draw(st.integers(0, 2)) == 0:
        for name in draw(st.lists(st.sampled_from(["positions.npy", "valid.npy"]), min_size=1, unique=True)):
            arrays[name] = (draw(st.sampled_from(CACHE_ARRAY_CHANGES)), draw(st.floats(0.0, 1.0)))
    return {"index": raw if raw is not None else json.dumps(index).encode(), "arrays": arrays}


def _apply_array_change(path: Path, how: str, fraction: float) -> None:
    """``path`` (an .npy of the valid cache) damaged as ``how`` says; ``fraction`` picks where or which."""
    data = path.read_bytes()
    arr = np.load(path)
    if how == "cut":
        path.write_bytes(data[:int(fraction * (len(data) - 1))])
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "remove":
        path.unlink()
    elif how == "wrong_shape":
        np.save(path, arr.reshape(len(arr), -1)[:, :int(fraction * 6)])
    elif how == "objects":
        np.save(path, _objects(), allow_pickle=True)
    elif how == "bytes":
        path.write_bytes(bytes(int(fraction * 256 + i) % 256 for i in range(int(fraction * 64))))
    elif how == "npz":
        path.write_bytes(_npz_bytes({"positions": arr}))
    elif how == "forged":
        shapes = FORGED_SHAPES + [(10**6, 22, 3), (10**6, 22)]
        path.write_bytes(_forged_member(shapes[min(int(fraction * len(shapes)), len(shapes) - 1)],
                                        ["<f4", "|b1", "|O"][int(fraction * 1000) % 3]))
    elif how == "folder":
        path.unlink()
        path.mkdir()
    elif how == "float":
        np.save(path, arr.astype(np.float64))
    elif how == "nan":
        np.save(path, np.full(arr.shape, np.nan, np.float32))
    elif how == "fortran":
        np.save(path, np.asfortranarray(arr))
    else:
        np.save(path, arr.reshape(-1))


def _target_cache(recipe: dict) -> None:
    from motion_text_node.data.cache import DatasetCache

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "cache"
        shutil.copytree(_valid_cache(), folder)
        (folder / "index.json").write_bytes(recipe["index"])
        for name, (how, fraction) in recipe["arrays"].items():
            _apply_array_change(folder / name, how, fraction)
        cache = DatasetCache(folder)
        cache.clips()  # every clip readable once the folder is accepted
        del cache


# --- model folder -------------------------------------------------------------------------------------------------
def _shipped_model_json() -> dict:
    if "model" not in _BASES:
        from motion_text_node.paths import models_dir

        _BASES["model"] = json.loads((models_dir() / "model.json").read_text())
    return json.loads(json.dumps(_BASES["model"]))


NAN = float("nan")
MODEL_SPECIALS = {
    ("format",): ["motion-text", None, 1],
    ("format_version",): [2, "1", 0, None, 1.0],
    ("embed_dim",): [0, -1, "384", True, 384.5, None, 10**30],
    ("prompt_templates",): ["{}", ["no placeholder"], [], ["{} and {}"], [5], None, [""], "a {}"],
    ("labels",): ["walk", [""], [5], [], ["  "], None, {"walk": 1}],
    ("motion_library",): [5, None, "missing.npz", ["a"], "", "model.json", True],
    ("normalization",): [[], "fps", {}, None, 5, [["fps", 15]]],
    ("normalization", "fps"): [0, NAN, "15", 1e9, True, -15, float("inf"), None, 0.5],
    ("normalization", "window_frames"): [0, 1.5, True, -1, "30", 10**6, None],
    ("normalization", "velocities"): [False, "yes", 1, None],
    ("normalization", "mask"): [False, "no", 0],
    ("normalization", "retarget"): [False, "true"],
    ("normalization", "version"): [2, "1", None],
    ("normalization", "extra"): [1],
    ("skeleton",): ["smpl22", [], None],
    ("skeleton", "joints"): ["pelvis", [], ["pelvis"], None, 22],
    ("motion_encoder",): ["motion_encoder.onnx", [], None, {}],
    ("motion_encoder", "file"): ["missing.onnx", 5, None, "", "card", "../model.json", ["motion_encoder.onnx"]],
    ("motion_encoder", "int8_file"): ["missing.onnx", 5, "", None, "card", ["x"]],
    ("motion_encoder", "feature_dim"): [0, "156", 155, None, 156.0],
    ("text_encoder",): ["text_backbone.onnx", [], None, {}],
    ("text_encoder", "file"): ["missing.onnx", 5, None, ""],
    ("text_encoder", "tokenizer"): ["missing.json", 5, None, "card"],
    ("text_encoder", "max_length"): [0, 513, "64", True, 64.0, None, -1],
    ("text_encoder", "projection"): ["missing.onnx", 5, "", "text_backbone.onnx", ["p"]],
}


@st.composite
def model_json_texts(draw):
    """The shipped model.json with fields removed, retyped or set to hostile values (prompt_templates a string
    or without "{}", labels a string, fps 0, window 0, velocities flipped, random JSON, ...), or random text."""
    meta = _shipped_model_json()
    if draw(st.integers(0, 14)) == 0:
        text = json.dumps(meta)
        return draw(st.one_of(st.binary(max_size=64), st.sampled_from([b"", b"[]", b"null", b"{", b"\xff\xfe"]),
                              st.integers(0, len(text)).map(lambda i, s=text: s[:i].encode()),
                              JSON.map(lambda v: json.dumps(v).encode())))
    for path in draw(st.lists(st.sampled_from(list(MODEL_SPECIALS)), unique=True, max_size=2)):
        parent = meta
        for key in path[:-1]:
            parent = parent.get(key) if isinstance(parent, dict) else None
        if not isinstance(parent, dict):
            continue
        how = draw(st.sampled_from(["special", "special", "special", "remove", "json"]))
        if how == "remove":
            parent.pop(path[-1], None)
        else:
            parent[path[-1]] = draw(st.sampled_from(MODEL_SPECIALS[path]) if how == "special" else JSON)
    return json.dumps(meta).encode()


def _target_model(text: bytes) -> None:
    from motion_text_node.paths import models_dir
    from motion_text_node.runtime.bundle import load_bundle

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for f in models_dir().iterdir():
            if f.name != "model.json":
                (folder / f.name).symlink_to(f)
        (folder / "model.json").write_bytes(text)
        bundle = load_bundle(folder)
        # What the runtime reads from an accepted bundle next (its files are not opened here).
        for name in ("motion_path", "int8_motion_path", "text_path", "text_projection_path", "tokenizer_path",
                     "embed_dim", "prompt_templates", "default_labels", "library_path"):
            getattr(bundle, name)
        [t.format("walk") for t in bundle.prompt_templates]


# --- training config YAML -----------------------------------------------------------------------------------------
CONFIG_BASE = {
    "seed": 0,
    "data": {"cache": ".cache/datasets/cmu", "source": "cmu", "label_set": "cmu", "sources": [],
             "exclude_sources": ["bandai"]},
    "normalization": {"fps": 30.0, "window_frames": 30, "velocities": True},
    "model": {"d_model": 32, "layers": 1, "heads": 2, "ff": 64, "embed_dim": 32},
    "augment": {"mirror": 0.5, "speed": [0.8, 1.25], "paraphrase": True, "extra_text_count": 32},
    "optim": {"epochs": 2, "batch_size": 16, "lr": 3e-4, "bf16": "off"},
}
CONFIG_SPECIALS = {
    "seed": ["0", 1.5, True, None, -1, 10**30],
    "data": [[], "cmu", None, {"cache": 5}, {"sources": "cmu,hra"}, {"sources": [1]}, {"nope": 1}],
    "normalization": [[], {"fps": 0}, {"fps": NAN}, {"window_frames": 1.5}, {"version": 2}, {"nope": 1},
                      {"velocities": "yes"}, {"fps": "15"}],
    "model": [[], {"embed_dim": -5}, {"gcn_channels": [1, "a"]}, {"gcn_channels": 5}, {"nope": 1},
              {"encoder": "lstm"}, {"dropout": 2.0}],
    "augment": [{"speed": [0.8]}, {"speed": ["a", 1]}, {"speed": 1.0}, {"mirror": True}, {"paraphrase": "yes"},
                {"nope": 1}, {"speed": [NAN, 1]}],
    "optim": [{"epochs": 1.5}, {"epochs": "2"}, {"bf16": True}, {"bf16": "maybe"}, {"lr": NAN}, {"task": "x"},
              {"threads": -1}],
    "inherit": [5, "missing.yaml", "", "parent.yaml", "f.yaml", "binary.yaml", ["a"], "sub", "/", " ", None,
                "../" * 30 + "etc/hostname", "parent.yaml\0"],
    "unknown_key": [1, None, {"a": 1}],
}
YAML_SNIPPETS = [b"inherit: 5\n", b"inherit: missing.yaml\n", b"!!python/object/apply:os.system [echo]\n",
                 b"a: &x [*x]\n", b"{{{", b"---\nseed: 1\n---\nseed: 2\n", b"seed: 2026-01-01\n", b"\tseed: 1\n",
                 b"seed: .nan\n", b"optim: {epochs: .inf}\n", b"? [1, 2]\n: 3\n", b"- 1\n- 2\n", b"", b"~\n",
                 b"seed: 1\nseed: 2\n", b"\x00\x01\x02", b"\xff\xfe\x00s", b"model: {gcn_channels: !!binary aGk=}\n",
                 b"data: {sources: [[cmu]]}\n", b"normalization: {fps: 1e400}\n", b"seed: 0x10\n"]


@st.composite
def config_files(draw):
    """Training-config YAML: a valid config with sections or values replaced (random JSON, wrong types,
    ``inherit: 5`` / a missing / binary / own file, unknown keys), YAML oddities, binary files, random bytes."""
    mode = draw(st.integers(0, 5))
    if mode == 0:
        return draw(st.one_of(st.binary(max_size=96), st.sampled_from(YAML_SNIPPETS)))
    if mode == 1:
        return yaml.safe_dump(draw(JSON)).encode()
    config = json.loads(json.dumps(CONFIG_BASE))
    for key in draw(st.lists(st.sampled_from(sorted(CONFIG_SPECIALS)), unique=True, max_size=3)):
        how = draw(st.sampled_from(["special", "special", "remove", "json", "json_inside"]))
        if how == "remove":
            config.pop(key, None)
        elif how == "json_inside" and isinstance(config.get(key), dict):
            config[key][draw(st.sampled_from(sorted(config[key]) + ["nope"]))] = draw(JSON)
        else:
            config[key] = draw(st.sampled_from(CONFIG_SPECIALS[key]) if how != "json" else JSON)
    return yaml.safe_dump(config).encode()


def _target_config(text: bytes) -> None:
    from motion_text_node.train.config import load_config

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "parent.yaml").write_text("seed: 3\noptim: {epochs: 1}\n")
        (folder / "binary.yaml").write_bytes(b"\x00\xff\xfe\x93NUMPY")
        (folder / "sub").mkdir()
        (folder / "f.yaml").write_bytes(text)
        load_config(folder / "f.yaml")


# --- BABEL JSON and rosbag2 ---------------------------------------------------------------------------------------
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


def _valid_bag() -> Path:
    """A small valid bag (/skeleton of the base cache's three clips, with ground truth), converted once."""
    if "bag" not in _BASES:
        from motion_text_node.bag.convert import convert_to_bag

        convert_to_bag([str(_valid_cache())], _base_dir() / "bag", progress=False)
        _BASES["bag"] = _base_dir() / "bag"
    return _BASES["bag"]


BAG_META_SPECIALS = ("message_count: 0", "message_count: 99999", "relative_file_paths: []",
                     "relative_file_paths: [../elsewhere.mcap]", "version: 99", "storage_identifier: sqlite3",
                     "duration: {nanoseconds: -5}", "offered_qos_profiles: 5", "type: std_msgs/msg/String")


@st.composite
def damaged_bags(draw):
    """Edits of a real bag: its MCAP with flipped bytes, cut short, or grown; its metadata.yaml with a field
    changed, cut, or gone; or both. (kind, argument) pairs that ``_target_damaged_bag`` applies to a copy."""
    size = next(_valid_bag().glob("*.mcap")).stat().st_size
    flips = st.lists(st.tuples(st.integers(0, size - 1), st.integers(1, 255)), min_size=1, max_size=8)
    return draw(st.one_of(
        st.tuples(st.just("flip"), flips),
        st.tuples(st.just("truncate"), st.integers(0, size - 1)),
        st.tuples(st.just("append"), st.binary(min_size=1, max_size=64)),
        st.tuples(st.just("meta"), st.sampled_from(BAG_META_SPECIALS)),
        st.tuples(st.just("meta_cut"), st.integers(0, 2000)),
        st.tuples(st.just("no_meta"), st.none()),
        st.tuples(st.just("flip_and_meta"), st.tuples(flips, st.sampled_from(BAG_META_SPECIALS))),
    ))


def _damage_meta(meta: Path, line: str) -> None:
    """``line`` ("key: value") in place of every ``key:`` line of ``meta`` (at its indentation), or added."""
    key = line.split(":")[0] + ":"
    lines = meta.read_text().splitlines()
    found = [ln.strip().startswith(key) for ln in lines]
    lines = [ln[:len(ln) - len(ln.lstrip())] + line if hit else ln for ln, hit in zip(lines, found, strict=True)]
    meta.write_text("\n".join(lines + ([] if any(found) else [f"  {line}"])) + "\n")


def _target_damaged_bag(edit) -> None:
    """Read a damaged copy of the real bag the way replay does: info, then every /skeleton message."""
    from motion_text_node.bag.evaluate import read_skeleton_frames
    from motion_text_node.bag.info import bag_info

    kind, arg = edit
    with tempfile.TemporaryDirectory() as tmp:
        bag = Path(tmp) / "bag"
        shutil.copytree(_valid_bag(), bag)
        mcap, meta = next(bag.glob("*.mcap")), bag / "metadata.yaml"
        data = bytearray(mcap.read_bytes())
        if kind in ("flip", "flip_and_meta"):
            for offset, xor in (arg if kind == "flip" else arg[0]):
                data[offset] ^= xor
        elif kind == "truncate":
            data = data[:arg]
        elif kind == "append":
            data += arg
        mcap.write_bytes(bytes(data))
        if kind in ("meta", "flip_and_meta"):
            _damage_meta(meta, arg if kind == "meta" else arg[1])
        elif kind == "meta_cut":
            meta.write_bytes(meta.read_bytes()[:arg])
        elif kind == "no_meta":
            meta.unlink()
        bag_info(bag)
        read_skeleton_frames(bag)


TARGETS = {
    "Skeleton message -> canonical": (skeleton_messages(), _target_message),
    "BVH file": (bvh_texts(), _target_bvh),
    "joint-position npz": (joint_npz_payloads(), _target_npz),
    "AMASS npz": (amass_payloads(), _target_amass),
    "motion library npz": (library_payloads(), _target_library),
    "dataset cache folder": (cache_folders(), _target_cache),
    "model folder (model.json)": (model_json_texts(), _target_model),
    "training config YAML": (config_files(), _target_config),
    "BABEL JSON": (babel_documents(), _target_babel),
    "rosbag2 folder": (bag_payloads(), _target_bag),
    "rosbag2 bag, damaged real recording": (damaged_bags(), _target_damaged_bag),
}


def _where(exc: BaseException) -> str:
    """"in FILE:LINE" of the project's last frame in the traceback, and where it was raised when that differs."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "motion_text_node" in f.filename and not f.filename.endswith("fuzz.py")]
    text = f"in {Path(ours[-1].filename).name}:{ours[-1].lineno}" if ours else ""
    if frames and (not ours or frames[-1] is not ours[-1]):
        text += f"{', ' if text else ''}raised at {Path(frames[-1].filename).name}:{frames[-1].lineno}"
    return text


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
            text = f"{type(exc).__name__}: {str(exc)[:200]} ({_where(exc)})"
            if len(crashes) < 5 and text not in crashes:  # the first few distinct crashes
                crashes.append(text)

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
