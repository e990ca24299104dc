"""Stick-figure rendering (viz.skeleton_anim): GIF timing, content, partial skeletons, errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from motion_text_node.errors import UserError
from motion_text_node.skeleton.canonical import CANONICAL_JOINTS
from motion_text_node.skeleton.motion import Motion

PIL = pytest.importorskip("PIL")
pytest.importorskip("matplotlib")
from PIL import Image  # noqa: E402

from motion_text_node.viz import skeleton_anim  # noqa: E402
from motion_text_node.viz.skeleton_anim import render_motion, skeleton_bones  # noqa: E402

DPI = 30  # small pictures keep the tests fast

# A standing adult in SMPL-like proportions, z up, facing -y, left side at +x (metres).
REST = {
    "pelvis": (0.0, 0.0, 0.95),
    "left_hip": (0.08, 0.0, 0.88),
    "right_hip": (-0.08, 0.0, 0.88),
    "spine1": (0.0, 0.0, 1.06),
    "left_knee": (0.09, -0.01, 0.50),
    "right_knee": (-0.09, -0.01, 0.50),
    "spine2": (0.0, 0.0, 1.20),
    "left_ankle": (0.09, 0.02, 0.10),
    "right_ankle": (-0.09, 0.02, 0.10),
    "spine3": (0.0, 0.0, 1.26),
    "left_foot": (0.10, -0.11, 0.03),
    "right_foot": (-0.10, -0.11, 0.03),
    "neck": (0.0, 0.01, 1.47),
    "left_collar": (0.07, 0.01, 1.40),
    "right_collar": (-0.07, 0.01, 1.40),
    "head": (0.0, -0.02, 1.57),
    "left_shoulder": (0.17, 0.01, 1.42),
    "right_shoulder": (-0.17, 0.01, 1.42),
    "left_elbow": (0.19, 0.01, 1.16),
    "right_elbow": (-0.19, 0.01, 1.16),
    "left_wrist": (0.21, 0.0, 0.91),
    "right_wrist": (-0.21, 0.0, 0.91),
}

#: A common 15-joint body: no spine/collars/feet.
SUBSET_15 = (
    "pelvis", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle", "neck", "head",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
)


def _swing(points: np.ndarray, pivot: np.ndarray, angle: float) -> np.ndarray:
    """Rotate points about the x axis through ``pivot`` (swings a limb forward/back in the y-z plane)."""
    c, s = np.cos(angle), np.sin(angle)
    d = points - pivot
    out = d.copy()
    out[..., 1] = c * d[..., 1] - s * d[..., 2]
    out[..., 2] = s * d[..., 1] + c * d[..., 2]
    return out + pivot


def walking_motion(seconds: float = 2.0, fps: float = 30.0, speed: float = 0.4) -> Motion:
    """Canonical 22-joint motion: arms and legs swinging in opposition, walking slowly towards -y."""
    rest = np.array([REST[n] for n in CANONICAL_JOINTS], dtype=np.float64)
    idx = {n: i for i, n in enumerate(CANONICAL_JOINTS)}
    frames = []
    for f in range(int(round(seconds * fps))):
        t = f / fps
        phase = 2 * np.pi * t  # one stride per second
        pose = rest.copy()
        for side, sign in (("left", 1.0), ("right", -1.0)):
            arm = [idx[f"{side}_{j}"] for j in ("elbow", "wrist")]
            pose[arm] = _swing(pose[arm], pose[idx[f"{side}_shoulder"]], 0.6 * sign * np.sin(phase))
            leg = [idx[f"{side}_{j}"] for j in ("knee", "ankle", "foot")]
            pose[leg] = _swing(pose[leg], pose[idx[f"{side}_hip"]], -0.35 * sign * np.sin(phase))
        pose[:, 1] -= speed * t
        pose[:, 2] += 0.02 * np.cos(2 * phase)
        frames.append(pose)
    return Motion(np.stack(frames), CANONICAL_JOINTS, fps)


def _gif_frames(path: Path) -> tuple[list[np.ndarray], list[int]]:
    with Image.open(path) as im:
        assert im.format == "GIF"
        frames, durations = [], []
        for i in range(im.n_frames):
            im.seek(i)
            durations.append(im.info["duration"])
            frames.append(np.asarray(im.convert("RGB"), dtype=np.float32))
    return frames, durations


def test_gif_real_time_subsampled(tmp_path: Path) -> None:
    motion = walking_motion(2.0, 30.0)
    out = render_motion(motion, tmp_path / "walk.gif", title="walking", dpi=DPI)
    assert out == tmp_path / "walk.gif" and out.stat().st_size > 0
    frames, durations = _gif_frames(out)
    # 30 fps is capped at 25 fps (4 cs per frame); 2 s -> 50 frames -> 2 s of playback.
    assert len(frames) == 50
    assert set(durations) == {40}
    assert sum(durations) == pytest.approx(1000 * motion.duration)
    first = frames[0]
    assert first.std() > 10  # not blank
    assert (first.min(axis=2) < 250).mean() > 0.01
    for a, b in ((0, 12), (12, 25), (0, 49)):
        assert np.abs(frames[a] - frames[b]).mean() > 0.2  # the figure moves
    # the left (blue) and right (red) sides are both drawn
    r, g, b = first[..., 0], first[..., 1], first[..., 2]
    assert ((b > 150) & (r < 100)).sum() > 20
    assert ((r > 150) & (b < 100) & (g < 100)).sum() > 20


def test_gif_explicit_fps_and_truncation(tmp_path: Path) -> None:
    motion = walking_motion(3.0, 30.0)
    _, durations = _gif_frames(render_motion(motion, tmp_path / "a.gif", fps=10, max_seconds=1.5, dpi=DPI))
    assert durations == [100] * 15  # 1.5 s at 10 fps
    fps, times = skeleton_anim.output_timing(motion, ".gif", fps=15)  # 66.7 ms -> 7 cs
    assert fps == pytest.approx(100 / 7) and len(times) == int(3.0 * 100 / 7)
    assert np.allclose(np.diff(times), 0.07)


@pytest.mark.parametrize("name", ["clip.avi", "clip.txt", "clip"])
def test_bad_suffix(tmp_path: Path, name: str) -> None:
    with pytest.raises(UserError, match="gif"):
        render_motion(walking_motion(0.5), tmp_path / name, dpi=DPI)
    assert not (tmp_path / name).exists()


def test_mp4_without_ffmpeg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from matplotlib import animation

    monkeypatch.setattr(animation.writers, "is_available", lambda name: False)
    with pytest.raises(UserError, match="ffmpeg"):
        render_motion(walking_motion(0.5), tmp_path / "clip.mp4", dpi=DPI)


def test_partial_skeleton_and_invalid_joints(tmp_path: Path) -> None:
    full = walking_motion(1.0, 20.0)
    cols = [CANONICAL_JOINTS.index(n) for n in SUBSET_15]
    valid = np.ones((full.num_frames, 15), dtype=bool)
    valid[5:12, SUBSET_15.index("left_wrist")] = False
    part = Motion(full.positions[:, cols], SUBSET_15, full.fps, valid)
    bones = skeleton_bones(SUBSET_15)
    assert len(bones) == 14  # a tree over the 15 joints
    named = {(SUBSET_15[p], SUBSET_15[c]) for p, c in bones}
    assert {("pelvis", "neck"), ("neck", "left_shoulder"), ("left_hip", "left_knee")} <= named
    frames, durations = _gif_frames(render_motion(part, tmp_path / "part.gif", dpi=DPI))
    assert len(frames) == 20 and set(durations) == {50}
    assert frames[8].std() > 10


def test_other_skeleton_needs_valid_bones(tmp_path: Path) -> None:
    pos = np.zeros((10, 3, 3), dtype=np.float32)
    pos[:, 1, 2] = 1.0
    pos[:, 2, :] = (0.3, 0.0, 1.5)
    motion = Motion(pos, ("Hips", "Chest", "Hand"), 10.0)
    render_motion(motion, tmp_path / "other.gif", bones=[(0, 1), (1, 2)], dpi=DPI)
    with pytest.raises(UserError, match="bone"):
        render_motion(motion, tmp_path / "bad.gif", bones=[(0, 3)], dpi=DPI)


def test_module_import_is_cheap() -> None:
    code = "import sys, motion_text_node.viz.skeleton_anim; assert 'matplotlib' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parent.parent)
