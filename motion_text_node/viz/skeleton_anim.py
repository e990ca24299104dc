"""Stick-figure animations (GIF/MP4) of a :class:`~motion_text_node.skeleton.motion.Motion`.

Drawing conventions:

* z is up; the floor is a grid (0.5 m squares, 1 m for large scenes) at the lowest point of the clip;
* left-side joints/bones (names starting ``left``) are blue, right-side ones red, the midline dark grey;
* joints whose ``valid`` is False (imputed) are hollow grey circles, and bones touching them grey dashed;
* the pelvis' path is traced on the floor (faint: the whole clip, solid: up to now);
* axes have equal scale; if the subject stays within a few metres the view is fixed and encloses the whole
  clip, otherwise the camera follows the root horizontally (the floor grid slides past).

matplotlib is imported lazily, only by the functions that draw, and only through the object-oriented API
(``Figure`` + the Agg canvas), so no display is needed and an application's pyplot backend is never touched.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from motion_text_node.errors import UserError
from motion_text_node.outputs import check_output_file, writing
from motion_text_node.skeleton.canonical import CANONICAL_JOINTS, CANONICAL_PARENTS, JOINT_INDEX
from motion_text_node.skeleton.motion import Motion

LEFT_COLOUR = "#1f77b4"
RIGHT_COLOUR = "#d62728"
MID_COLOUR = "#333333"
INVALID_COLOUR = "#9e9e9e"
TRACE_COLOUR = "#2ca02c"
FLOOR_COLOUR = "#eeeeee"
GRID_COLOUR = "#c8c8c8"

#: Default output frame-rate caps: a GIF frame delay is a whole number of centiseconds, 25 fps = 4 cs.
GIF_MAX_FPS = 25.0
MP4_MAX_FPS = 30.0

#: Figure size in inches: the animation is square.
ANIM_SIZE = 4.8

#: Above this horizontal extent (m) of the whole clip the camera follows the root instead of being fixed.
FOLLOW_EXTENT = 3.5

_ELEV = 14.0
_AZIM_OFFSET = 35.0  # degrees away from a straight front view, for a three-quarter view

# When a partial skeleton lacks spine3, hang the collars/shoulders from the neck rather than the pelvis.
_EXTRA_DRAW_ANCESTOR = {"spine3": "neck"}


# --------------------------------------------------------------------------------------------------- skeleton


def _side(name: str) -> str:
    low = name.lower()
    if low.startswith("left"):
        return "left"
    if low.startswith("right"):
        return "right"
    return "mid"


def skeleton_bones(joint_names: Sequence[str]) -> tuple[tuple[int, int], ...]:
    """Bones (pairs of indices into ``joint_names``) for drawing joints named after canonical joints.

    Each present canonical joint is joined to its nearest present ancestor in the SMPL tree (so a subset
    such as pelvis/hips/knees/ankles/neck/head/shoulders/elbows/wrists still draws as a connected body; the
    shoulders hang from the neck when the upper spine is absent). Names that are not canonical are left
    unconnected.
    """
    index = {n: i for i, n in enumerate(joint_names)}
    bones: list[tuple[int, int]] = []
    for child_name, child in index.items():
        c = JOINT_INDEX.get(child_name)
        if c is None:
            continue
        p = CANONICAL_PARENTS[c]
        while p >= 0:
            pname = CANONICAL_JOINTS[p]
            if pname in index:
                bones.append((index[pname], child))
                break
            extra = _EXTRA_DRAW_ANCESTOR.get(pname)
            if extra is not None and extra in index and index[extra] != child and c != JOINT_INDEX[extra]:
                bones.append((index[extra], child))
                break
            p = CANONICAL_PARENTS[p]
    return tuple(bones)


@dataclass
class _Skeleton:
    names: tuple[str, ...]
    bones: tuple[tuple[int, int], ...]
    sides: tuple[str, ...]
    head: int | None


def _skeleton(motion: Motion, bones: Sequence[Sequence[int]] | None) -> _Skeleton:
    n = len(motion.joint_names)
    if bones is None:
        chosen = skeleton_bones(motion.joint_names)
    else:
        chosen_list: list[tuple[int, int]] = []
        for bone in bones:
            pair = tuple(int(i) for i in bone)
            if len(pair) != 2 or not all(0 <= i < n for i in pair):
                raise UserError(f"bone {tuple(bone)} is not a pair of joint indices in 0..{n - 1}")
            chosen_list.append((pair[0], pair[1]))
        chosen = tuple(chosen_list)
    sides = tuple(_side(name) for name in motion.joint_names)
    head = motion.joint_names.index("head") if "head" in motion.joint_names else None
    return _Skeleton(motion.joint_names, chosen, sides, head)


def _root_xy(positions: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """(n, 2) horizontal root: the pelvis, else the mid-hip, else the mean of the finite joints."""
    if "pelvis" in names:
        root = positions[:, names.index("pelvis"), :2]
    elif "left_hip" in names and "right_hip" in names:
        root = 0.5 * (positions[:, names.index("left_hip"), :2] + positions[:, names.index("right_hip"), :2])
    else:
        root = np.full((positions.shape[0], 2), np.nan)
    root = np.array(root, dtype=np.float64)
    bad = ~np.all(np.isfinite(root), axis=1)
    if bad.any():
        xy = positions[bad, :, :2]
        ok = np.isfinite(xy).all(axis=2, keepdims=True)
        count = ok.sum(axis=1)
        root[bad] = np.where(ok, xy, 0.0).sum(axis=1) / np.maximum(count, 1)
        root[bad] = np.where(count > 0, root[bad], np.nan)
    return root


def _facing_azimuth(positions: np.ndarray, names: tuple[str, ...]) -> float:
    """Camera azimuth (degrees) for a three-quarter front view, from the subject's left-right axis."""
    for left, right in (("left_hip", "right_hip"), ("left_shoulder", "right_shoulder")):
        if left in names and right in names:
            across = positions[:, names.index(left), :2] - positions[:, names.index(right), :2]
            across = across[np.all(np.isfinite(across), axis=1)]
            if len(across):
                lx, ly = across.mean(axis=0)
                if math.hypot(lx, ly) > 1e-6:
                    # forward = left x up (z up): (ly, -lx)
                    return math.degrees(math.atan2(-lx, ly)) + _AZIM_OFFSET
    return -60.0


# --------------------------------------------------------------------------------------------------- sampling


def _sample(motion: Motion, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions (n, J, 3) and validity (n, J) at ``times`` (s), linearly interpolated between frames."""
    t_frames = motion.num_frames
    idx = np.clip(np.asarray(times, dtype=np.float64) * motion.fps, 0.0, t_frames - 1)
    i0 = np.floor(idx).astype(int)
    i1 = np.minimum(i0 + 1, t_frames - 1)
    w = (idx - i0)[:, None, None]
    p0 = motion.positions[i0].astype(np.float64)
    p1 = motion.positions[i1].astype(np.float64)
    pos = (1.0 - w) * p0 + w * p1
    nearest = np.where(w < 0.5, p0, p1)
    pos = np.where(np.isfinite(pos), pos, nearest)
    valid_all = motion.validity()
    exact = w[:, 0, 0] < 1e-9
    valid = valid_all[i0] & (valid_all[i1] | exact[:, None])
    valid &= np.all(np.isfinite(pos), axis=2)
    return pos, valid


# --------------------------------------------------------------------------------------------------- view


class _View:
    """Axes limits for every sample: fixed around the whole clip, or following the root horizontally."""

    def __init__(self, positions: np.ndarray, root_xy: np.ndarray) -> None:
        finite = np.isfinite(positions).all(axis=2)
        if not finite.any():
            raise UserError("the motion has no finite joint positions to draw")
        pts = positions[finite]
        self.floor = float(pts[:, 2].min())
        height = max(float(pts[:, 2].max()) - self.floor, 0.5)
        lo, hi = pts[:, :2].min(axis=0), pts[:, :2].max(axis=0)
        extent = float((hi - lo).max())
        self.root_xy = root_xy
        self.follow = extent > max(FOLLOW_EXTENT, 2.0 * height)
        if self.follow:
            with np.errstate(all="ignore"):
                offsets = np.abs(positions[..., :2] - root_xy[:, None, :])
            reach = float(np.nanmax(offsets)) if np.isfinite(offsets).any() else 0.5
            self.half = max(reach + 0.3, 0.6 * height)
            self.centre = None
        else:
            self.half = max(extent / 2.0 + 0.25, 0.5 * height)
            self.centre = (lo + hi) / 2.0
        self.zlim = (self.floor, self.floor + height + 0.1)
        self.spacing = 0.5 if self.half <= 3.0 else 1.0

    def centre_at(self, k: int) -> np.ndarray:
        if self.centre is not None:
            return self.centre
        c = self.root_xy[k]
        return c if np.all(np.isfinite(c)) else np.zeros(2)

    def limits(self, k: int) -> tuple[tuple[float, float], tuple[float, float]]:
        cx, cy = self.centre_at(k)
        return (cx - self.half, cx + self.half), (cy - self.half, cy + self.half)


# --------------------------------------------------------------------------------------------------- drawing


class _Scene:
    """The artists of one 3-D axes and their per-sample update."""

    def __init__(
        self,
        ax: Any,
        skel: _Skeleton,
        view: _View,
        root_xy: np.ndarray,
        azim: float,
        trace: bool = True,
    ) -> None:
        from mpl_toolkits.mplot3d.art3d import Poly3DCollection

        self.ax, self.skel, self.view, self.root_xy = ax, skel, view, root_xy
        ax.computed_zorder = False  # floor < grid < trace < bones < joints, always (the floor is below the body)
        ax.set_axis_off()
        ax.view_init(elev=_ELEV, azim=azim)
        z0 = view.floor
        self.floor = Poly3DCollection([np.zeros((4, 3))], facecolor=FLOOR_COLOUR, edgecolor="none", zorder=0)
        ax.add_collection3d(self.floor)
        n_lines = int(math.ceil(2 * view.half / view.spacing)) + 2
        self.grid = [ax.plot([], [], [], color=GRID_COLOUR, lw=0.6, zorder=1)[0] for _ in range(2 * n_lines)]
        self.trace_all = self.trace_now = None
        if trace:
            self.trace_all = ax.plot([], [], [], color=TRACE_COLOUR, lw=1.0, alpha=0.25, zorder=2)[0]
            self.trace_now = ax.plot([], [], [], color=TRACE_COLOUR, lw=1.8, zorder=2)[0]
        colour = {"left": LEFT_COLOUR, "right": RIGHT_COLOUR, "mid": MID_COLOUR}
        self.bone_colours = [colour[skel.sides[c] if skel.sides[c] != "mid" else skel.sides[p]] for p, c in skel.bones]
        self.bones = [ax.plot([], [], [], lw=2.4, solid_capstyle="round", zorder=3)[0] for _ in skel.bones]
        self.joints = {
            side: ax.plot([], [], [], ls="none", marker="o", ms=3.5, color=colour[side], zorder=4)[0]
            for side in ("left", "right", "mid")
        }
        self.head = ax.plot([], [], [], ls="none", marker="o", ms=9, color=MID_COLOUR, zorder=4)[0]
        self.invalid = ax.plot(
            [], [], [], ls="none", marker="o", ms=5, mfc="white", mec=INVALID_COLOUR, mew=1.2, zorder=5
        )[0]
        self.side_mask = {s: np.array([x == s for x in skel.sides], dtype=bool) for s in ("left", "right", "mid")}
        if skel.head is not None:
            self.side_mask["mid"][skel.head] = False
        self.z0 = z0
        self._last_limits: tuple | None = None

    def _set_limits(self, k: int) -> tuple[tuple[float, float], tuple[float, float]]:
        xlim, ylim = self.view.limits(k)
        if (xlim, ylim) == self._last_limits:
            return xlim, ylim
        self._last_limits = (xlim, ylim)
        ax, z0, sp = self.ax, self.z0, self.view.spacing
        ax.set_xlim(*xlim)
        ax.set_ylim(*ylim)
        ax.set_zlim(*self.view.zlim)
        ax.set_box_aspect((xlim[1] - xlim[0], ylim[1] - ylim[0], self.view.zlim[1] - self.view.zlim[0]), zoom=1.25)
        corners = np.array([[xlim[0], ylim[0]], [xlim[1], ylim[0]], [xlim[1], ylim[1]], [xlim[0], ylim[1]]])
        self.floor.set_verts([np.column_stack([corners, np.full(4, z0)])])
        xs = np.arange(math.ceil(xlim[0] / sp), math.floor(xlim[1] / sp) + 1) * sp
        ys = np.arange(math.ceil(ylim[0] / sp), math.floor(ylim[1] / sp) + 1) * sp
        segments = [((x, x), ylim) for x in xs] + [(xlim, (y, y)) for y in ys]
        for i, line in enumerate(self.grid):
            if i < len(segments):
                (x0, x1), (y0, y1) = segments[i]
                line.set_data_3d([x0, x1], [y0, y1], [z0, z0])
            else:
                line.set_data_3d([], [], [])
        return xlim, ylim

    def _clip(self, xy: np.ndarray, xlim: tuple[float, float], ylim: tuple[float, float]) -> np.ndarray:
        xy = xy.copy()
        if self.view.follow:
            outside = (xy[:, 0] < xlim[0]) | (xy[:, 0] > xlim[1]) | (xy[:, 1] < ylim[0]) | (xy[:, 1] > ylim[1])
            xy[outside] = np.nan
        return xy

    def update(self, k: int, pos: np.ndarray, valid: np.ndarray) -> None:
        """Draw sample ``k``: ``pos`` (J, 3) and ``valid`` (J,) of that sample."""
        xlim, ylim = self._set_limits(k)
        z = np.full(1, self.z0 + 1e-3)
        if self.trace_all is not None and self.trace_now is not None:
            whole = self._clip(self.root_xy, xlim, ylim)
            self.trace_all.set_data_3d(whole[:, 0], whole[:, 1], np.repeat(z, len(whole)))
            now = whole[: k + 1]
            self.trace_now.set_data_3d(now[:, 0], now[:, 1], np.repeat(z, len(now)))
        for line, (p, c), colour in zip(self.bones, self.skel.bones, self.bone_colours, strict=True):
            seg = pos[[p, c]]
            if not np.all(np.isfinite(seg)):
                line.set_data_3d([], [], [])
                continue
            line.set_data_3d(seg[:, 0], seg[:, 1], seg[:, 2])
            ok = bool(valid[p] and valid[c])
            line.set_color(colour if ok else INVALID_COLOUR)
            line.set_linestyle("-" if ok else "--")
            line.set_linewidth(2.4 if ok else 1.4)
        for side, line in self.joints.items():
            sel = self.side_mask[side] & valid
            line.set_data_3d(pos[sel, 0], pos[sel, 1], pos[sel, 2])
        h = self.skel.head
        if h is not None and valid[h]:
            self.head.set_data_3d(pos[[h], 0], pos[[h], 1], pos[[h], 2])
        else:
            self.head.set_data_3d([], [], [])
        bad = ~valid & np.all(np.isfinite(pos), axis=1)
        self.invalid.set_data_3d(pos[bad, 0], pos[bad, 1], pos[bad, 2])


def _new_figure(width: float, height: float, dpi: int) -> Any:
    """A Figure on the Agg canvas, without pyplot (so no backend is chosen or changed)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=dpi, facecolor="white")
    FigureCanvasAgg(fig)
    return fig


def _legend(fig: Any, x: float, y: float, has_invalid: bool, fontsize: float) -> None:
    """The side colours (and the imputed-joint marker when there are any), right-aligned at ``x, y``."""
    fig.text(x, y, "left", color=LEFT_COLOUR, fontsize=fontsize, ha="right", va="bottom", weight="bold")
    fig.text(x, y + 0.045, "right", color=RIGHT_COLOUR, fontsize=fontsize, ha="right", va="bottom", weight="bold")
    if has_invalid:
        fig.text(x, y + 0.09, "o imputed", color=INVALID_COLOUR, fontsize=fontsize, ha="right", va="bottom")


def _check_motion(motion: Motion) -> None:
    """UserError for a motion without frames."""
    if motion.num_frames == 0:
        raise UserError("the motion has no frames to draw")


def _gif_writer_class() -> Any:
    from matplotlib.animation import PillowWriter

    class _GifWriter(PillowWriter):
        """PillowWriter whose frame delay is rounded, not truncated (1000 / (1000 / 70) may give 69 ms)."""

        def finish(self) -> None:
            self._frames[0].save(
                self.outfile,
                save_all=True,
                append_images=self._frames[1:],
                duration=int(round(1000.0 / self.fps)),
                loop=0,
            )

    return _GifWriter


def output_timing(motion: Motion, suffix: str = ".gif", fps: float | None = None,
                  max_seconds: float | None = 20.0) -> tuple[float, np.ndarray]:
    """Output frame rate and the motion times (s) of the frames :func:`render_motion` draws.

    The output plays in real time: frame ``k`` shows time ``k / out_fps`` and is shown for ``1 / out_fps``.
    ``fps`` None means the motion's own rate capped at 25 (GIF) / 30 (MP4) frames per second; for a GIF the
    frame delay is rounded to whole centiseconds (at least 2), the unit GIF stores. Poses between recorded
    frames are interpolated. ``max_seconds`` keeps only the first that many seconds.
    """
    _check_motion(motion)
    if fps is not None and not fps > 0:
        raise UserError(f"fps must be positive, got {fps}")
    if max_seconds is not None and not max_seconds > 0:
        raise UserError(f"max_seconds must be positive, got {max_seconds}")
    gif = suffix.lower() == ".gif"
    target = fps if fps is not None else min(motion.fps, GIF_MAX_FPS if gif else MP4_MAX_FPS)
    if gif:
        centis = max(2, int(round(100.0 / target)))
        out_fps = 100.0 / centis
    else:
        out_fps = float(target)
    duration = motion.duration if max_seconds is None else min(motion.duration, max_seconds)
    n = max(1, int(math.floor(duration * out_fps + 1e-6)))
    times = np.minimum(np.arange(n) / out_fps, (motion.num_frames - 1) / motion.fps)
    return out_fps, times


def render_motion(
    motion: Motion,
    out_path: str | Path,
    title: str = "",
    fps: float | None = None,
    max_seconds: float | None = 20.0,
    bones: Sequence[Sequence[int]] | None = None,
    dpi: int = 80,
) -> Path:
    """Render ``motion`` as a 3-D stick-figure animation and write it to ``out_path``.

    Args:
        motion: the motion (z up, metres). Joints named ``left...``/``right...`` are drawn blue/red, others
            dark grey; joints with ``valid`` False are hollow grey.
        out_path: ``.gif`` (Pillow) or ``.mp4`` (needs ffmpeg on PATH). Parent folders are created.
        title: text at the top of every frame (a time counter is drawn at the bottom).
        fps: output frame rate; None for the motion's rate capped at 25 (GIF) / 30 (MP4). Playback is always
            real time (see :func:`output_timing`).
        max_seconds: draw only the first this many seconds (None: all).
        bones: pairs of joint indices to join; None derives them from canonical joint names
            (:func:`skeleton_bones`), which suits the canonical 22 joints and any subset of them.
        dpi: resolution; the figure is 4.8 x 4.8 inches (384 x 384 pixels at 80 dpi).

    Returns:
        The path written.

    Raises:
        UserError: for an unsupported suffix, ``.mp4`` without ffmpeg, bad ``bones``, an empty motion.
    """
    out = Path(out_path)
    suffix = out.suffix.lower()
    if suffix not in (".gif", ".mp4"):
        raise UserError(f"cannot write an animation to {out.name!r}: use a .gif or .mp4 file name")
    check_output_file(out)  # a folder of that name, a path under a file: refused before any drawing
    skel = _skeleton(motion, bones)
    out_fps, times = output_timing(motion, suffix, fps, max_seconds)

    from matplotlib import animation

    if suffix == ".mp4":
        if not animation.writers.is_available("ffmpeg"):
            raise UserError(f"writing {out.name!r} needs ffmpeg, which was not found: use a .gif or install ffmpeg")
        writer = animation.FFMpegWriter(fps=out_fps, codec="h264", extra_args=["-pix_fmt", "yuv420p"])
    else:
        writer = _gif_writer_class()(fps=out_fps)

    positions, valid = _sample(motion, times)
    root_xy = _root_xy(positions, skel.names)
    view = _View(positions, root_xy)
    azim = _facing_azimuth(positions, skel.names)

    fig = _new_figure(ANIM_SIZE, ANIM_SIZE, dpi)
    ax = fig.add_axes((0.0, 0.0, 1.0, 0.92), projection="3d")
    scene = _Scene(ax, skel, view, root_xy, azim)
    fontsize = 9.0
    if title:
        fig.text(0.5, 0.975, title, ha="center", va="top", fontsize=fontsize + 1, wrap=True)
    total = f"{motion.duration:.2f} s"
    if max_seconds is not None and motion.duration > max_seconds:
        total += f", first {max_seconds:g} s shown"
    clock = fig.text(0.03, 0.03, "", fontsize=fontsize, family="monospace", va="bottom")
    _legend(fig, 0.97, 0.03, not bool(valid.all()), fontsize)

    with writing(out, "the animation"):
        out.parent.mkdir(parents=True, exist_ok=True)
        with writer.saving(fig, str(out), dpi):
            for k, t in enumerate(times):
                scene.update(k, positions[k], valid[k])
                clock.set_text(f"t = {t:5.2f} s / {total}")
                writer.grab_frame()
    return out
