"""Per-frame body measurements of a canonical motion: floor, facing, heights, velocities, joint angles.

Everything here is a (T,) or (T, k) array over the whole clip, vectorized over time; ``windows`` turns them
into per-window statistics. Positions are first rescaled so the legs are ``REFERENCE_LEG_M`` long, so metre
thresholds mean the same on a tall and a short body (canonical data is already close to that size).

Frames: z is up; the body's facing (``forward``) is the horizontal direction perpendicular to its left-right
axis, ``forward = left`` turned -90 degrees about z (a body whose left is +y faces +x), the same convention as
``skeleton.normalize.facing_angle``. Headings are counter-clockwise seen from above, so a left turn increases
them.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from motion_text_node.skeleton.canonical import JOINT_INDEX, NUM_JOINTS

#: Hip-to-ankle length (thigh + shank, metres) bodies are rescaled to.
REFERENCE_LEG_M = 0.8
#: Shoulder-to-wrist length (metres) of the reference body, used when the legs are not observed.
REFERENCE_ARM_M = 0.51

J = JOINT_INDEX
FEET = (J["left_ankle"], J["right_ankle"], J["left_foot"], J["right_foot"])
#: Height of the ankle joint above the sole of a planted foot (metres, reference body): where the toe joint is not
#: observed, the sole is estimated this far below the ankle.
ANKLE_ABOVE_SOLE_M = 0.07


def rolling(x: np.ndarray, half: int, fn: str) -> np.ndarray:
    """Centered rolling ``min`` / ``max`` / ``mean`` of (T,) ``x`` over ``2 * half + 1`` frames (edges clamped)."""
    if half <= 0 or len(x) < 2:
        return x.copy()
    padded = np.concatenate([np.repeat(x[:1], half), x, np.repeat(x[-1:], half)])
    if fn == "mean":
        c = np.concatenate([[0.0], np.cumsum(padded, dtype=np.float64)])
        return ((c[2 * half + 1:] - c[: -2 * half - 1]) / (2 * half + 1)).astype(x.dtype)
    view = np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1)
    return getattr(view, fn)(axis=1)


def derivative(x: np.ndarray, half: int, fps: float) -> np.ndarray:
    """Central difference of ``x`` (T, ...) over +-``half`` frames (one-sided at the clip ends), per second."""
    n = len(x)
    if n < 2:
        return np.zeros_like(x)
    half = max(1, half)
    idx = np.arange(n)
    hi, lo = np.minimum(idx + half, n - 1), np.maximum(idx - half, 0)
    dt = ((hi - lo) / fps).reshape((n,) + (1,) * (x.ndim - 1))
    return (x[hi] - x[lo]) / dt


def _unit(v: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(v, axis=-1, keepdims=True)
    return np.divide(v, norm, out=np.zeros_like(v), where=norm > 1e-9)


def _fill_gaps(v: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """Rows of (T, k) ``v`` where ``ok`` is False replaced by the nearest earlier ok row (or the first ok one)."""
    if ok.all() or not ok.any():
        return v
    idx = np.where(ok, np.arange(len(ok)), -1)
    idx = np.maximum.accumulate(idx)
    idx[idx < 0] = int(np.flatnonzero(ok)[0])
    return v[idx]


class Body:
    """Per-frame measurements of one canonical motion (T, 22, 3), computed on first use.

    Args:
        positions: (T, 22, 3) canonical positions (metres, z up).
        fps: frame rate.
        valid: (T, 22) joint validity (imputed joints False), or None for all observed.
        floor_half_s: half-width of the rolling window the floor is estimated over.
    """

    def __init__(self, positions: np.ndarray, fps: float, valid: np.ndarray | None = None,
                 floor_half_s: float = 1.0) -> None:
        positions = np.asarray(positions, dtype=np.float64)
        if positions.ndim != 3 or positions.shape[1:] != (NUM_JOINTS, 3):
            raise ValueError(f"expected (T, {NUM_JOINTS}, 3) canonical positions, got {positions.shape}")
        if not fps > 0:
            raise ValueError(f"fps must be positive, got {fps}")
        self.fps = float(fps)
        self.n = len(positions)
        finite = np.isfinite(positions).all(-1)
        self.valid = finite if valid is None else (np.asarray(valid, dtype=bool) & finite)
        positions = np.where(finite[..., None], positions, 0.0)
        self.scale = self._scale(positions)
        self.p = positions * self.scale
        self.floor_half_s = floor_half_s
        self.cache: dict[str, np.ndarray] = {}  # measurements the rules share (posture masks)

    def _scale(self, p: np.ndarray) -> float:
        def limb(a: str, b: str, c: str) -> np.ndarray:
            ok = self.valid[:, [J[a], J[b], J[c]]].all(1)
            length = (np.linalg.norm(p[:, J[a]] - p[:, J[b]], axis=-1)
                      + np.linalg.norm(p[:, J[b]] - p[:, J[c]], axis=-1))
            return length[ok]

        legs = np.concatenate([limb("left_hip", "left_knee", "left_ankle"),
                               limb("right_hip", "right_knee", "right_ankle")])
        if len(legs) and np.median(legs) > 1e-3:
            return float(np.clip(REFERENCE_LEG_M / np.median(legs), 0.2, 5.0))
        arms = np.concatenate([limb("left_shoulder", "left_elbow", "left_wrist"),
                               limb("right_shoulder", "right_elbow", "right_wrist")])
        if len(arms) and np.median(arms) > 1e-3:
            return float(np.clip(REFERENCE_ARM_M / np.median(arms), 0.2, 5.0))
        return 1.0

    # --- validity -------------------------------------------------------------------------------------------
    def ok(self, *joints: str) -> np.ndarray:
        """(T,) True where all the named joints were observed."""
        return self.valid[:, [J[j] for j in joints]].all(1)

    @cached_property
    def legs_ok(self) -> np.ndarray:
        """(T,) both legs (hips to ankles) and the pelvis observed (the toes may be missing: skeletons without
        toe joints, such as DeepMimic's humanoid, measure the feet at the ankles)."""
        return self.ok("pelvis", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle")

    @cached_property
    def torso_ok(self) -> np.ndarray:
        """(T,) pelvis, hips, neck and shoulders observed."""
        return self.ok("pelvis", "left_hip", "right_hip", "neck", "left_shoulder", "right_shoulder")

    def arm_ok(self, side: str) -> np.ndarray:
        """(T,) the arm of ``side`` ("left"/"right"), both shoulders, the neck and the head observed."""
        return self.ok(f"{side}_shoulder", f"{side}_elbow", f"{side}_wrist", "left_shoulder", "right_shoulder",
                       "neck", "head")

    @cached_property
    def interior(self) -> np.ndarray:
        """(T,) frames at least 0.1 s from both clip ends, where central differences are trustworthy.

        Event rules (kicks, punches) only fire here: velocities at the ends are one-sided, and clips often
        start with a jump (CMU trials blend in from the T-pose over their first frames).
        """
        k = self.frames(0.1)
        idx = np.arange(self.n)
        return (idx >= k) & (idx < self.n - k)

    # --- positions ------------------------------------------------------------------------------------------
    def joint(self, name: str) -> np.ndarray:
        """(T, 3) positions of a joint."""
        return self.p[:, J[name]]

    @cached_property
    def floor(self) -> np.ndarray:
        """(T,) floor height: the lowest observed joint within +-``floor_half_s`` (NaN where none is)."""
        z = np.where(self.valid, self.p[..., 2], np.inf)
        z[:, [J["left_ankle"], J["right_ankle"]]] = np.stack([self._sole(s) for s in ("left", "right")], axis=1)
        z = z.min(1)
        f = rolling(z, int(round(self.floor_half_s * self.fps)), "min")
        return np.where(np.isfinite(f), f, np.nan)

    def height(self, name: str) -> np.ndarray:
        """(T,) height of a joint above the floor."""
        return self.p[:, J[name], 2] - self.floor

    def foot_height(self, side: str) -> np.ndarray:
        """(T,) height above the floor of the lower of the ankle and toe of one foot (the ankle where the toe is
        not observed)."""
        sole = self._sole(side)
        return np.where(np.isfinite(sole), sole, np.nan) - self.floor

    def _sole(self, side: str) -> np.ndarray:
        """(T,) height of the lower of the ankle and toe of one foot (the ankle minus ``ANKLE_ABOVE_SOLE_M``
        where the toe is not observed; +inf where the ankle is not observed either)."""
        toe_ok = self.valid[:, J[f"{side}_foot"]]
        ankle = np.where(self.valid[:, J[f"{side}_ankle"]], self.p[:, J[f"{side}_ankle"], 2], np.inf)
        return np.where(toe_ok, np.minimum(ankle, self.p[:, J[f"{side}_foot"], 2]), ankle - ANKLE_ABOVE_SOLE_M)

    # --- facing ---------------------------------------------------------------------------------------------
    def _left_axis(self, pairs: tuple[tuple[str, str], ...]) -> tuple[np.ndarray, np.ndarray]:
        total = np.zeros((self.n, 2))
        any_ok = np.zeros(self.n, dtype=bool)
        for a, b in pairs:
            ok = self.ok(a, b)
            v = _unit(self.p[:, J[a], :2] - self.p[:, J[b], :2])
            total += np.where(ok[:, None], v, 0.0)
            any_ok |= ok
        ok = any_ok & (np.linalg.norm(total, axis=-1) > 1e-6)
        return _fill_gaps(_unit(total), ok), ok

    @cached_property
    def left(self) -> np.ndarray:
        """(T, 2) horizontal unit vector to the body's left, from the hip and shoulder lines."""
        return self._left_axis((("left_hip", "right_hip"), ("left_shoulder", "right_shoulder")))[0]

    @cached_property
    def facing_ok(self) -> np.ndarray:
        """(T,) the facing direction was measured (hips or shoulders observed)."""
        return self._left_axis((("left_hip", "right_hip"), ("left_shoulder", "right_shoulder")))[1]

    @cached_property
    def forward(self) -> np.ndarray:
        """(T, 2) horizontal unit facing direction: ``left`` turned -90 degrees about z."""
        return np.stack([self.left[:, 1], -self.left[:, 0]], axis=-1)

    @cached_property
    def heading(self) -> np.ndarray:
        """(T,) unwrapped facing angle (radians, counter-clockwise from +x)."""
        return np.unwrap(np.arctan2(self.forward[:, 1], self.forward[:, 0]))

    @cached_property
    def twist(self) -> np.ndarray:
        """(T,) shoulder-line yaw minus hip-line yaw (radians, wrapped to +-pi; > 0: chest turned left)."""
        hip = self.p[:, J["left_hip"], :2] - self.p[:, J["right_hip"], :2]
        sh = self.p[:, J["left_shoulder"], :2] - self.p[:, J["right_shoulder"], :2]
        d = np.arctan2(sh[:, 1], sh[:, 0]) - np.arctan2(hip[:, 1], hip[:, 0])
        return (d + np.pi) % (2 * np.pi) - np.pi

    def to_body(self, v: np.ndarray) -> np.ndarray:
        """(T, 3) world vectors -> (T, 3) (forward, left, up) components in the body's horizontal frame."""
        f = v[:, 0] * self.forward[:, 0] + v[:, 1] * self.forward[:, 1]
        lt = v[:, 0] * self.left[:, 0] + v[:, 1] * self.left[:, 1]
        return np.stack([f, lt, v[:, 2]], axis=-1)

    # --- root motion ----------------------------------------------------------------------------------------
    def frames(self, seconds: float) -> int:
        """A duration in frames (at least 1)."""
        return max(1, int(round(seconds * self.fps)))

    @cached_property
    def root_velocity(self) -> np.ndarray:
        """(T, 3) pelvis velocity (m/s) over +-0.25 s, which averages out the sway of single steps."""
        return derivative(self.joint("pelvis"), self.frames(0.25), self.fps)

    @cached_property
    def speed(self) -> np.ndarray:
        """(T,) horizontal pelvis speed (m/s)."""
        return np.linalg.norm(self.root_velocity[:, :2], axis=-1)

    @cached_property
    def body_velocity(self) -> np.ndarray:
        """(T, 3) pelvis velocity in the body frame (forward, left, up)."""
        return self.to_body(self.root_velocity)

    @cached_property
    def vertical_velocity(self) -> np.ndarray:
        """(T,) pelvis vertical velocity (m/s) over +-0.05 s."""
        return derivative(self.p[:, J["pelvis"], 2], self.frames(0.05), self.fps)

    @cached_property
    def travel_turn(self) -> np.ndarray:
        """(T,) per-frame change (radians) of the direction of travel; 0 where the pelvis is nearly still."""
        v = self.root_velocity[:, :2]
        ang = np.arctan2(v[:, 1], v[:, 0])
        d = np.diff(ang, prepend=ang[:1])
        d = (d + np.pi) % (2 * np.pi) - np.pi
        moving = self.speed > 0.3
        return np.where(moving & np.roll(moving, 1), d, 0.0)

    @cached_property
    def _joint_speeds(self) -> np.ndarray:
        return np.where(self.valid, np.linalg.norm(derivative(self.p, self.frames(0.1), self.fps), axis=-1), 0.0)

    @cached_property
    def joint_speed(self) -> np.ndarray:
        """(T,) mean speed (m/s) of the observed joints, over +-0.1 s."""
        return self._joint_speeds.sum(1) / np.maximum(self.valid.sum(1), 1)

    @cached_property
    def max_joint_speed(self) -> np.ndarray:
        """(T,) speed (m/s) of the fastest observed joint, over +-0.1 s."""
        return self._joint_speeds.max(1)

    def horizontal_speed(self, name: str, half_s: float = 0.05) -> np.ndarray:
        """(T,) horizontal speed (m/s) of a joint."""
        return np.linalg.norm(derivative(self.p[:, J[name], :2], self.frames(half_s), self.fps), axis=-1)

    # --- torso ----------------------------------------------------------------------------------------------
    @cached_property
    def torso(self) -> np.ndarray:
        """(T, 3) unit pelvis-to-neck vector."""
        return _unit(self.joint("neck") - self.joint("pelvis"))

    @cached_property
    def torso_tilt(self) -> np.ndarray:
        """(T,) angle (degrees) of the torso from vertical (0 upright, 90 horizontal, 180 upside down)."""
        return np.degrees(np.arccos(np.clip(self.torso[:, 2], -1.0, 1.0)))

    @cached_property
    def torso_pitch(self) -> np.ndarray:
        """(T,) forward lean of the torso (degrees; > 0 forward, < 0 backward), in the hip frame."""
        t = self.to_body(self.torso)
        return np.degrees(np.arctan2(t[:, 0], np.maximum(t[:, 2], 1e-6)))

    @cached_property
    def torso_roll(self) -> np.ndarray:
        """(T,) sideways lean of the torso (degrees; > 0 toward the body's left)."""
        t = self.to_body(self.torso)
        return np.degrees(np.arctan2(t[:, 1], np.maximum(t[:, 2], 1e-6)))

    @cached_property
    def chest_up(self) -> np.ndarray:
        """(T,) vertical component of the chest's outward normal (> 0.5 lying on the back, < -0.5 face down)."""
        across = _unit(self.joint("left_shoulder") - self.joint("right_shoulder")
                       + self.joint("left_hip") - self.joint("right_hip"))
        normal = np.cross(across, self.torso)  # forward = left x up
        return _unit(normal)[:, 2]

    # --- limbs ----------------------------------------------------------------------------------------------
    def knee_angle(self, side: str) -> np.ndarray:
        """(T,) knee angle (degrees; 180 straight)."""
        a = _unit(self.joint(f"{side}_hip") - self.joint(f"{side}_knee"))
        b = _unit(self.joint(f"{side}_ankle") - self.joint(f"{side}_knee"))
        return np.degrees(np.arccos(np.clip((a * b).sum(-1), -1.0, 1.0)))

    def thigh_elevation(self, side: str) -> np.ndarray:
        """(T,) angle (degrees) of the thigh above horizontal (-90 hanging straight down, 0 horizontal)."""
        t = _unit(self.joint(f"{side}_knee") - self.joint(f"{side}_hip"))
        return np.degrees(np.arcsin(np.clip(t[:, 2], -1.0, 1.0)))

    def relative(self, name: str, origin: str) -> np.ndarray:
        """(T, 3) position of ``name`` relative to ``origin`` in the body frame (forward, left, up)."""
        return self.to_body(self.joint(name) - self.joint(origin))

    def chest_relative(self, name: str) -> np.ndarray:
        """(T, 3) position relative to the midpoint of the shoulders, in the body frame."""
        mid = 0.5 * (self.joint("left_shoulder") + self.joint("right_shoulder"))
        return self.to_body(self.joint(name) - mid)

    def distance(self, a: str, b: str) -> np.ndarray:
        """(T,) distance between two joints."""
        return np.linalg.norm(self.joint(a) - self.joint(b), axis=-1)
