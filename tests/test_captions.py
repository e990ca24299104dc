"""Rule-based captions: each rule on a small synthetic motion made for it, mirrored and rotated copies, the
sentences, the batch path, and real CMU trials."""

from __future__ import annotations

import random

import numpy as np
import pytest

from motion_text_node.captions import (
    DEFAULT_ENABLED,
    RULES,
    Fact,
    caption_motion,
    caption_sentences,
    caption_windows_batch,
    describe_window,
    describe_windows,
    mirror_fact_name,
)
from motion_text_node.captions.body import Body
from motion_text_node.captions.sentences import gerund, third_person
from motion_text_node.captions.windows import Windows, hysteresis_state, state_changes
from motion_text_node.skeleton.canonical import CANONICAL_JOINTS, JOINT_INDEX, NUM_JOINTS
from motion_text_node.skeleton.mirror import mirror_positions, mirror_text
from motion_text_node.skeleton.motion import Motion

FPS = 30.0
J = JOINT_INDEX

#: A standing body in its own frame (x forward, y to its left, z up; metres), feet on z = 0.
REST = {
    "pelvis": (0.0, 0.0, 0.93), "left_hip": (0.0, 0.08, 0.85), "right_hip": (0.0, -0.08, 0.85),
    "spine1": (0.0, 0.0, 1.03), "left_knee": (0.0, 0.08, 0.47), "right_knee": (0.0, -0.08, 0.47),
    "spine2": (0.0, 0.0, 1.17), "left_ankle": (0.0, 0.08, 0.08), "right_ankle": (0.0, -0.08, 0.08),
    "spine3": (0.0, 0.0, 1.23), "left_foot": (0.13, 0.08, 0.02), "right_foot": (0.13, -0.08, 0.02),
    "neck": (0.0, 0.0, 1.44), "left_collar": (0.0, 0.08, 1.36), "right_collar": (0.0, -0.08, 1.36),
    "head": (0.0, 0.0, 1.53), "left_shoulder": (0.0, 0.18, 1.40), "right_shoulder": (0.0, -0.18, 1.40),
    "left_elbow": (0.0, 0.20, 1.14), "right_elbow": (0.0, -0.20, 1.14), "left_wrist": (0.0, 0.21, 0.89),
    "right_wrist": (0.0, -0.21, 0.89),
}
REST_POSE = np.array([REST[n] for n in CANONICAL_JOINTS], dtype=np.float64)
LEG = ("hip", "knee", "ankle", "foot")


def frames(seconds: float) -> np.ndarray:
    return np.arange(int(round(seconds * FPS))) / FPS


def rest(t: np.ndarray) -> np.ndarray:
    """(T, 22, 3) body-frame poses: standing still."""
    return np.repeat(REST_POSE[None], len(t), axis=0)


def place(local: np.ndarray, heading: np.ndarray | float = 0.0, path: np.ndarray | None = None) -> np.ndarray:
    """World positions: body-frame poses (pelvis-relative in xy) turned by ``heading`` and moved along ``path``."""
    heading = np.broadcast_to(np.asarray(heading, dtype=np.float64), (len(local),))
    c, s = np.cos(heading), np.sin(heading)
    x, y = local[..., 0], local[..., 1]
    out = np.stack([c[:, None] * x - s[:, None] * y, s[:, None] * x + c[:, None] * y, local[..., 2]], axis=-1)
    if path is not None:
        out[..., :2] += path[:, None, :]
    return out.astype(np.float32)


def rotate_z(positions: np.ndarray, angle: float, shift=(0.0, 0.0, 0.0)) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    r = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    return (positions @ r.T + np.asarray(shift)).astype(np.float32)


def gait(t: np.ndarray, axis: int, cadence: float = 1.8, speed: float = 1.2, lift: float = 0.08) -> np.ndarray:
    """Body-frame poses stepping along body axis ``axis`` (0 forward, 1 left) with alternating feet.

    Each foot moves at ``speed * (1 +- cos)`` over the ground once the pelvis moves at ``speed``, so the feet take
    turns being planted; the swinging foot is lifted.
    """
    omega = np.pi * cadence
    amp = speed / omega
    local = rest(t)
    for side, sign in (("left", 1.0), ("right", -1.0)):
        off = sign * amp * np.sin(omega * t)
        up = lift * np.maximum(0.0, sign * np.cos(omega * t))
        for part in ("knee", "ankle", "foot"):
            local[:, J[f"{side}_{part}"], axis] += off * (0.5 if part == "knee" else 1.0)
            local[:, J[f"{side}_{part}"], 2] += up * (0.5 if part == "knee" else 1.0)
    return local


def walk(seconds: float, direction: str, speed: float = 1.2, cadence: float = 1.8, heading: float = 0.0) -> np.ndarray:
    """World positions of a walk (or run) in a body-relative ``direction``."""
    t = frames(seconds)
    axis, sign = {"forward": (0, 1), "backward": (0, -1), "left": (1, 1), "right": (1, -1)}[direction]
    local = gait(t, axis, cadence, speed)
    body = np.zeros((len(t), 2))
    body[:, axis] = sign * speed * t
    c, s = np.cos(heading), np.sin(heading)
    path = np.stack([c * body[:, 0] - s * body[:, 1], s * body[:, 0] + c * body[:, 1]], axis=-1)
    return place(local, heading, path)


def ramp(t: np.ndarray, start: float, stop: float) -> np.ndarray:
    """0 before ``start``, 1 after ``stop``, smooth in between."""
    x = np.clip((t - start) / (stop - start), 0.0, 1.0)
    return x * x * (3 - 2 * x)


def names(facts: list[Fact]) -> set[str]:
    return {f.name for f in facts}


def describe(positions: np.ndarray, valid: np.ndarray | None = None, enabled=None) -> set[str]:
    return names(describe_window(positions, FPS, valid, enabled))


def swap(names_: set[str]) -> set[str]:
    return {mirror_fact_name(n) for n in names_}


# --- motions made for single rules -----------------------------------------------------------------------
def stand() -> np.ndarray:
    return place(rest(frames(2.0)))


def turn_in_place(degrees: float, seconds: float = 2.0) -> np.ndarray:
    t = frames(seconds)
    return place(rest(t), np.radians(degrees) * ramp(t, 0.4, seconds - 0.4))


def raise_hand(side: str, seconds: float = 2.0) -> np.ndarray:
    t = frames(seconds)
    local = rest(t)
    k = ramp(t, 0.2, 0.6)[:, None]
    y = 1.0 if side == "left" else -1.0
    for joint, up in (("elbow", (0.0, 0.2 * y, 1.66)), ("wrist", (0.0, 0.21 * y, 1.91))):
        local[:, J[f"{side}_{joint}"]] = (1 - k) * local[:, J[f"{side}_{joint}"]] + k * np.array(up)
    return place(local)


def wave(side: str, seconds: float = 2.0) -> np.ndarray:
    t = frames(seconds)
    local = rest(t)
    y = 1.0 if side == "left" else -1.0
    local[:, J[f"{side}_elbow"]] = (0.0, 0.40 * y, 1.38)
    local[:, J[f"{side}_wrist"], 0] = 0.0
    local[:, J[f"{side}_wrist"], 1] = y * (0.42 + 0.12 * np.sin(2 * np.pi * 2.0 * t))
    local[:, J[f"{side}_wrist"], 2] = 1.62
    return place(local)


def jump(seconds: float = 2.0, peak: float = 0.3, forward: float = 0.0) -> np.ndarray:
    """A standing jump: off the floor from 0.8 s for a flight of 2 * sqrt(2 peak / g)."""
    t = frames(seconds)
    g = 9.81
    v0 = np.sqrt(2 * g * peak)
    tau = t - 0.8
    flight = 2 * v0 / g
    z = np.where((tau > 0) & (tau < flight), v0 * tau - 0.5 * g * tau ** 2, 0.0)
    local = rest(t)
    local[..., 2] += z[:, None]
    x = forward * np.clip(tau / flight, 0.0, 1.0)
    return place(local, 0.0, np.stack([x, np.zeros_like(x)], axis=-1))


def leg_ik(local: np.ndarray, side: str, hip: np.ndarray, ankle: np.ndarray) -> None:
    """Put the knee of ``side`` between ``hip`` and ``ankle`` (T, 3), bent forward (thigh = shank = 0.385 m)."""
    mid = 0.5 * (hip + ankle)
    half = 0.5 * np.linalg.norm(hip - ankle, axis=-1)
    local[:, J[f"{side}_knee"]] = mid + np.stack([np.sqrt(np.maximum(0.385 ** 2 - half ** 2, 0.0)),
                                                  np.zeros_like(half), np.zeros_like(half)], axis=-1)


def lower_body(t: np.ndarray, drop: np.ndarray, back: np.ndarray) -> np.ndarray:
    """Body-frame poses with the upper body (pelvis and above) lowered by ``drop`` and moved back by ``back``;
    the feet stay planted and the knees bend."""
    local = rest(t)
    upper = [J[n] for n in CANONICAL_JOINTS if not n.endswith(LEG)]
    hips = [J["left_hip"], J["right_hip"]]
    for idx in upper + hips:
        local[:, idx, 2] -= drop
        local[:, idx, 0] -= back
    for side in ("left", "right"):
        leg_ik(local, side, local[:, J[f"{side}_hip"]], local[:, J[f"{side}_ankle"]])
    return local


def squat(seconds: float = 2.0) -> np.ndarray:
    t = frames(seconds)
    k = ramp(t, 0.2, 0.7) - ramp(t, 1.5, 1.9)
    return place(lower_body(t, 0.45 * k, 0.08 * k))


def sit_down(seconds: float = 3.0) -> np.ndarray:
    """Lower onto a seat behind the feet: thighs end horizontal, the pelvis 0.38 m behind the ankles."""
    t = frames(seconds)
    k = ramp(t, 0.4, 1.4)
    local = rest(t)
    upper = [J[n] for n in CANONICAL_JOINTS if not n.endswith(LEG)] + [J["left_hip"], J["right_hip"]]
    for idx in upper:
        local[:, idx, 2] -= 0.38 * k
        local[:, idx, 0] -= 0.38 * k
    for side in ("left", "right"):
        hip = local[:, J[f"{side}_hip"]]
        ankle = local[:, J[f"{side}_ankle"]]
        # The knee from between hip and ankle (straight leg) to above the ankle (thigh horizontal).
        straight = 0.5 * (hip + ankle)
        seated = ankle + np.array([0.0, 0.0, 0.39])
        local[:, J[f"{side}_knee"]] = (1 - k[:, None]) * straight + k[:, None] * seated
    return place(local)


def lie_on_back(seconds: float = 2.0) -> np.ndarray:
    """The rest pose tipped backward onto the floor (head toward -x, face up)."""
    t = frames(seconds)
    p = REST_POSE @ np.array([[0.0, 0.0, -1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]).T  # (x, y, z) -> (-z, y, x)
    p[:, 2] += 0.1 - p[:, 2].min()
    return np.repeat(p[None], len(t), axis=0).astype(np.float32)


# --- geometry --------------------------------------------------------------------------------------------
def test_forward_is_perpendicular_to_the_left_right_axis_and_faces_plus_x() -> None:
    body = Body(stand(), FPS)
    assert REST["left_hip"][1] > REST["right_hip"][1]  # left side at +y ...
    np.testing.assert_allclose(body.forward[0], [1.0, 0.0], atol=1e-6)  # ... faces +x
    np.testing.assert_allclose(body.left[0], [0.0, 1.0], atol=1e-6)
    turned = Body(place(rest(frames(0.5)), np.pi / 2), FPS)
    np.testing.assert_allclose(turned.forward[0], [0.0, 1.0], atol=1e-6)


def test_windows_statistics_match_a_loop() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=200)
    mask = x > 0.3
    w = Windows(np.array([0, 17, 100, 140]), 60, 200, FPS)
    for i, s in enumerate(w.starts):
        seg, m = x[s:s + 60], mask[s:s + 60]
        assert w.mean(x)[i] == pytest.approx(seg.mean())
        assert w.max(x)[i] == pytest.approx(seg.max())
        runs, best = 0, 0
        for v in m:
            runs = runs + 1 if v else 0
            best = max(best, runs)
        assert w.longest_run(mask)[i] == best
        assert w.runs(mask)[i] == int(m[0]) + int(np.sum(m[1:] & ~m[:-1]))
        first, last = w.span(mask)
        assert (first[i], last[i]) == (np.flatnonzero(m)[0], np.flatnonzero(m)[-1])


def test_hysteresis_counts_alternations_not_noise() -> None:
    t = np.arange(60) / FPS
    x = np.sin(2 * np.pi * t) + 0.3 * np.sin(2 * np.pi * 7 * t)  # 2 periods, with ripples inside the band
    flips = state_changes(hysteresis_state(x, -0.8, 0.8))
    assert flips.sum() == 3  # up, down, up, down: the first crossing only sets the state


# --- single rules ----------------------------------------------------------------------------------------
def test_standing_still() -> None:
    facts = describe(stand())
    assert facts == {"stand_still"}


@pytest.mark.parametrize(("direction", "expected"), [
    ("forward", "walk_forward"), ("backward", "walk_backward"), ("left", "walk_sideways_left"),
    ("right", "walk_sideways_right")])
def test_walk_directions_are_relative_to_the_facing(direction: str, expected: str) -> None:
    for heading in (0.0, 2.3):
        facts = describe(walk(2.0, direction, heading=heading))
        assert expected in facts, (heading, facts)
        assert not facts & {"stand_still", "run_forward", "jump", "turn_left_90", "turn_right_90"}
        assert not {f for f in facts if f.startswith("walk")} - {expected}


def test_run_is_faster_than_walk() -> None:
    facts = describe(walk(2.0, "forward", speed=3.5, cadence=2.8))
    assert "run_forward" in facts and not any(f.startswith("walk") for f in facts)
    slow = describe_window(walk(2.0, "forward", speed=2.2, cadence=2.6), FPS)
    (gait_fact,) = [f for f in slow if f.rule == "run"]
    assert gait_fact.phrase == "jog forward"


def test_stepping_to_and_fro_is_not_walking() -> None:
    t = frames(2.0)
    path = np.stack([0.25 * np.sin(2 * np.pi * t), np.zeros_like(t)], axis=-1)
    facts = describe(place(gait(t, 0), 0.0, path))
    assert not any(f.startswith(("walk", "run")) for f in facts)


def test_stepping_in_place() -> None:
    t = frames(2.0)
    local = rest(t)
    phase = np.sin(np.pi * 2.0 * t)  # 2 steps per second
    for side, lift in (("left", np.maximum(phase, 0)), ("right", np.maximum(-phase, 0))):
        for part, k in (("knee", 0.1), ("ankle", 0.15), ("foot", 0.15)):
            local[:, J[f"{side}_{part}"], 2] += k * lift
    facts = describe(place(local))
    assert "step_in_place" in facts and not any(f.startswith(("walk", "run", "jump", "hop")) for f in facts)


@pytest.mark.parametrize(("degrees", "name"), [(45, "turn_left_45"), (90, "turn_left_90"), (-90, "turn_right_90"),
                                               (180, "turn_left_180"), (-45, "turn_right_45")])
def test_turns_are_bucketed_and_counter_clockwise_is_left(degrees: float, name: str) -> None:
    facts = describe(turn_in_place(degrees))
    assert name in facts
    assert len([f for f in facts if f.startswith(("turn", "spin"))]) == 1


def test_a_fast_full_turn_is_a_spin() -> None:
    facts = describe(turn_in_place(400, 2.0))
    assert "spin_left" in facts and not any(f.startswith("turn") for f in facts)
    assert "spin_right" in describe(mirror_positions(turn_in_place(400, 2.0)))


def test_walking_in_a_circle() -> None:
    t = frames(4.0)
    radius, omega = 0.8, 2 * np.pi / 4.0
    path = np.stack([radius * np.sin(omega * t), radius * (1 - np.cos(omega * t))], axis=-1)
    facts = describe(place(gait(t, 0, speed=radius * omega), omega * t, path))
    assert "circle_left" in facts
    assert "circle_right" in describe(mirror_positions(place(gait(t, 0, speed=radius * omega), omega * t, path)))


def test_jump_needs_both_feet_off_the_floor() -> None:
    facts = describe(jump())
    assert "jump" in facts and not facts & {"stand_still", "hop_left", "hop_right"}
    assert "jump_forward" in describe(jump(forward=0.8))
    # The same pelvis lift with one foot left on the floor is no jump.
    one_foot = jump()
    one_foot[:, [J["right_ankle"], J["right_foot"]], 2] = stand()[:, [J["right_ankle"], J["right_foot"]], 2]
    assert not any(f.startswith("jump") for f in describe(one_foot))


def test_hop_on_one_foot() -> None:
    t = frames(2.0)
    local = rest(t)
    # Left foot held up behind, the right foot hops twice.
    for part, dz in (("knee", 0.15), ("ankle", 0.3), ("foot", 0.3)):
        local[:, J[f"left_{part}"], 2] += dz
        local[:, J[f"left_{part}"], 0] -= dz
    g, v0 = 9.81, 1.4
    tau = (t - 0.3) % 0.8
    z = np.where(tau < 2 * v0 / g, v0 * tau - 0.5 * g * tau ** 2, 0.0)
    local[..., 2] += z[:, None]
    facts = describe(place(local))
    assert "hop_right" in facts and "jump" not in facts
    assert "hop_left" in describe(mirror_positions(place(local)))


def test_squat() -> None:
    facts = describe(squat())
    assert "crouch" in facts and not facts & {"sit", "sit_down", "sit_floor", "lie_back", "stand_still"}


def test_sit_down_and_stand_up() -> None:
    down = describe_window(sit_down(), FPS)
    assert "sit_down" in names(down) and "crouch" not in names(down)
    seated = sit_down()[-60:]
    assert "sit" in describe(seated)
    up = describe(sit_down()[::-1].copy())
    assert "stand_up" in up


def test_lie_on_the_back_and_get_up() -> None:
    facts = describe(lie_on_back())
    assert "lie_back" in facts and not facts & {"stand_still", "sit_floor", "crouch"}
    front = lie_on_back()
    front[..., 2] = 2 * front[..., 2].mean() - front[..., 2]  # upside down in z: face down
    front[..., 1] *= -1  # keep it a proper rotation (left stays left)
    front[..., 2] -= front[..., 2].min() - 0.1
    assert "lie_front" in describe(front)


def test_raise_hand_sides_and_mirror() -> None:
    left = describe(raise_hand("left"))
    assert "raise_hand_left" in left and not left & {"raise_hand_right", "raise_hand_both", "stand_still"}
    right = describe(mirror_positions(raise_hand("left")))
    assert right == swap(left)
    both = raise_hand("left")
    both[:, [J["right_elbow"], J["right_wrist"]]] = mirror_positions(raise_hand("left"))[:, [J["right_elbow"],
                                                                                             J["right_wrist"]]]
    assert "raise_hand_both" in describe(both)


def test_wave_right_hand() -> None:
    facts = describe(wave("right"))  # the hand waves above the head: raise_hand_right may come with it
    assert "wave_right" in facts and not facts & {"wave_left", "wave_both", "raise_hand_left", "clap"}
    assert describe(mirror_positions(wave("right"))) == swap(facts)
    still = wave("right")
    still[:, J["right_wrist"]] = still[:1, J["right_wrist"]]  # the same pose, not moving: no wave
    assert "wave_right" not in describe(still)


def test_punch() -> None:
    t = frames(2.0)
    local = rest(t)
    out = ramp(t, 0.6, 0.8) - ramp(t, 1.0, 1.3)  # fist from the chest straight forward and back
    guard_e, guard_w = np.array([0.1, -0.22, 1.2]), np.array([0.2, -0.12, 1.35])
    punch_e, punch_w = np.array([0.25, -0.18, 1.38]), np.array([0.5, -0.18, 1.38])
    local[:, J["right_elbow"]] = guard_e + out[:, None] * (punch_e - guard_e)
    local[:, J["right_wrist"]] = guard_w + out[:, None] * (punch_w - guard_w)
    facts = describe(place(local), enabled=set(RULES))  # punch is off by default (benchmarks/captions.md)
    assert "punch_right" in facts and "punch_left" not in facts
    assert "punch_left" in describe(mirror_positions(place(local)), enabled=set(RULES))
    assert "punch_right" not in describe(place(local))


def test_clap() -> None:
    t = frames(2.0)
    local = rest(t)
    gap = 0.2 + 0.17 * np.cos(2 * np.pi * 2.0 * t)  # wrists meet 4 times
    for side, y in (("left", 1.0), ("right", -1.0)):
        local[:, J[f"{side}_elbow"]] = (0.15, 0.2 * y, 1.15)
        local[:, J[f"{side}_wrist"]] = np.stack([np.full_like(t, 0.35), y * gap, np.full_like(t, 1.25)], axis=-1)
    facts = describe(place(local))
    assert "clap" in facts and not any(f.startswith("wave") for f in facts)


def test_kick() -> None:
    t = frames(2.0)
    local = rest(t)
    swing = ramp(t, 0.8, 1.0) - ramp(t, 1.1, 1.4)  # right leg swung forward, straight, and back
    ang = np.radians(70.0) * swing
    hip = local[:, J["right_hip"]]
    for part, length in (("knee", 0.38), ("ankle", 0.77), ("foot", 0.83)):
        local[:, J[f"right_{part}"], 0] = hip[:, 0] + length * np.sin(ang) + (0.13 * np.cos(ang) if part == "foot"
                                                                              else 0.0)
        local[:, J[f"right_{part}"], 2] = hip[:, 2] - length * np.cos(ang) + (0.02 if part == "foot" else 0.0)
    facts = describe(place(local))
    assert "kick_right" in facts and "kick_left" not in facts
    assert "kick_left" in describe(mirror_positions(place(local)))


def test_lean_and_bend() -> None:
    t = frames(2.0)
    for pitch, expected in ((-25.0, "lean_back"), (70.0, "bend_forward")):
        local = rest(t)
        a = np.radians(pitch)
        upper = [J[n] for n in CANONICAL_JOINTS if not n.endswith(LEG) and n != "pelvis"]
        rel = local[:, upper] - local[:, J["pelvis"], None]
        local[:, upper, 0] = local[:, J["pelvis"], None, 0] + rel[..., 0] * np.cos(a) + rel[..., 2] * np.sin(a)
        local[:, upper, 2] = local[:, J["pelvis"], None, 2] - rel[..., 0] * np.sin(a) + rel[..., 2] * np.cos(a)
        facts = describe(place(local), enabled=set(RULES))  # lean is off by default
        assert expected in facts, (pitch, facts)


def pose(**joints) -> np.ndarray:
    """The rest pose with some joints moved (body frame)."""
    p = REST_POSE.copy()
    for name, xyz in joints.items():
        p[J[name]] = xyz
    return p


def hold(p: np.ndarray, seconds: float = 2.0, blend: tuple[float, float] | None = (0.2, 0.6)) -> np.ndarray:
    """World positions: from the rest pose into ``p`` (over ``blend`` seconds) and held; ``blend=None``: held."""
    t = frames(seconds)
    k = np.ones(len(t)) if blend is None else ramp(t, *blend)
    return place((1 - k)[:, None, None] * REST_POSE + k[:, None, None] * p)


def shift_upper(p: np.ndarray, dz: float, dx: float = 0.0) -> np.ndarray:
    """Pelvis, hips and everything above moved by (dx, 0, dz)."""
    out = p.copy()
    for n in CANONICAL_JOINTS:
        if not n.endswith(("knee", "ankle", "foot")):
            out[J[n]] += (dx, 0.0, dz)
    return out


KNEEL_LEFT = shift_upper(pose(left_knee=(0.0, 0.08, 0.05), left_ankle=(-0.38, 0.08, 0.08),
                              left_foot=(-0.45, 0.08, 0.02), right_knee=(0.4, -0.08, 0.47),
                              right_ankle=(0.4, -0.08, 0.08), right_foot=(0.53, -0.08, 0.02)), -0.42)
SIT_FLOOR = shift_upper(pose(left_knee=(0.38, 0.08, 0.1), right_knee=(0.38, -0.08, 0.1), left_ankle=(0.77, 0.08, 0.08),
                             right_ankle=(0.77, -0.08, 0.08), left_foot=(0.8, 0.08, 0.2), right_foot=(0.8, -0.08, 0.2)),
                        -0.75)
ALL_FOURS = np.array([{
    "pelvis": (0, 0, 0.55), "left_hip": (0, 0.08, 0.5), "right_hip": (0, -0.08, 0.5), "spine1": (0.1, 0, 0.55),
    "left_knee": (0, 0.08, 0.06), "right_knee": (0, -0.08, 0.06), "spine2": (0.24, 0, 0.55),
    "left_ankle": (-0.38, 0.08, 0.08), "right_ankle": (-0.38, -0.08, 0.08), "spine3": (0.3, 0, 0.55),
    "left_foot": (-0.45, 0.08, 0.03), "right_foot": (-0.45, -0.08, 0.03), "neck": (0.51, 0, 0.55),
    "left_collar": (0.45, 0.08, 0.55), "right_collar": (0.45, -0.08, 0.55), "head": (0.62, 0, 0.6),
    "left_shoulder": (0.47, 0.18, 0.55), "right_shoulder": (0.47, -0.18, 0.55), "left_elbow": (0.47, 0.18, 0.3),
    "right_elbow": (0.47, -0.18, 0.3), "left_wrist": (0.47, 0.18, 0.05), "right_wrist": (0.47, -0.18, 0.05),
}[n] for n in CANONICAL_JOINTS], dtype=np.float64)


@pytest.mark.parametrize(("p", "expected"), [
    (KNEEL_LEFT, "kneel_left"),
    (SIT_FLOOR, "sit_floor"),
    (ALL_FOURS, "on_all_fours"),
    (pose(left_elbow=(0.0, 0.44, 1.40), left_wrist=(0.0, 0.69, 1.40)), "raise_arm_left"),
    (pose(right_elbow=(0.26, -0.18, 1.36), right_wrist=(0.51, -0.18, 1.33)), "reach_right"),
    (pose(left_elbow=(0.1, 0.24, 1.12), left_wrist=(0.22, -0.1, 1.2), right_elbow=(0.1, -0.24, 1.1),
          right_wrist=(0.24, 0.1, 1.18)), "cross_arms"),
    (pose(right_elbow=(0.08, -0.26, 1.25), right_wrist=(0.12, -0.04, 1.48)), "hand_to_face_right"),
    (pose(left_knee=(0.38, 0.08, 0.85), left_ankle=(0.38, 0.08, 0.46), left_foot=(0.5, 0.08, 0.42)),
     "knee_raise_left"),
])
def test_held_poses(p: np.ndarray, expected: str) -> None:
    pos = hold(p, blend=None if expected in ("kneel_left", "sit_floor", "on_all_fours") else (0.2, 0.8))
    facts = describe(pos, enabled=set(RULES))
    assert expected in facts, facts
    assert mirror_fact_name(expected) in describe(mirror_positions(pos), enabled=set(RULES))
    if mirror_fact_name(expected) != expected:
        assert mirror_fact_name(expected) not in facts


def test_both_knees_down_and_crawling() -> None:
    both = KNEEL_LEFT.copy()
    for part in ("knee", "ankle", "foot"):
        both[J[f"right_{part}"]] = both[J[f"left_{part}"]] * (1, -1, 1)
    assert "kneel_both" in describe(hold(both, blend=None))
    assert "kneel_down" in describe(hold(both, blend=(0.3, 1.2)))
    t = frames(2.0)
    path = np.stack([0.3 * t, np.zeros_like(t)], axis=-1)
    assert "crawl" in describe(place(np.repeat(ALL_FOURS[None], len(t), axis=0), 0.0, path))


def test_fall_and_get_up() -> None:
    t = frames(2.0)
    lying = lie_on_back()[0].astype(np.float64)
    k = ramp(t, 0.6, 1.0)[:, None, None]
    fall = ((1 - k) * REST_POSE + k * lying).astype(np.float32)
    facts = describe(fall)
    assert "fall" in facts and "lie_down" not in facts
    t = frames(3.0)
    k = ramp(t, 0.6, 2.2)[:, None, None]
    assert "get_up" in describe(((1 - k) * lying + k * REST_POSE).astype(np.float32))


def test_handstand() -> None:
    up = pose(left_elbow=(0.0, 0.2, 1.66), left_wrist=(0.0, 0.21, 1.91), right_elbow=(0.0, -0.2, 1.66),
              right_wrist=(0.0, -0.21, 1.91))
    flipped = up * (-1, 1, -1)  # 180 degrees about y: a proper rotation, left stays left
    flipped[:, 2] -= flipped[:, 2].min() - 0.03
    facts = describe(hold(flipped, blend=None))
    assert "handstand" in facts and not facts & {"lie_back", "stand_still", "jump"}


def test_touch_the_floor_while_squatting() -> None:
    t = frames(2.0)
    local = lower_body(t, np.full(len(t), 0.45), np.full(len(t), 0.08))
    local[:, J["left_wrist"]] = (0.3, 0.2, 0.05)
    local[:, J["left_elbow"]] = (0.2, 0.2, 0.3)
    facts = describe(place(local))
    assert "touch_floor_left" in facts and "crouch" in facts


def test_twist_and_bow() -> None:
    a = np.radians(45.0)
    rot = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    twisted = REST_POSE.copy()
    upper = [J[n] for n in CANONICAL_JOINTS if n.startswith(("spine3", "neck", "head")) or
             n.endswith(("collar", "shoulder", "elbow", "wrist"))]
    twisted[upper] = twisted[upper] @ rot.T
    facts = describe(hold(twisted))
    assert "twist_left" in facts and not any(f.startswith("turn") for f in facts)
    assert "twist_right" in describe(mirror_positions(hold(twisted)))
    t = frames(2.0)
    local = rest(t)
    pitch = np.radians(40.0) * (ramp(t, 0.4, 0.9) - ramp(t, 1.1, 1.6))
    upper = [J[n] for n in CANONICAL_JOINTS if not n.endswith(LEG) and n != "pelvis"]
    rel = local[:, upper] - local[:, J["pelvis"], None]
    c, s = np.cos(pitch)[:, None], np.sin(pitch)[:, None]
    local[:, upper, 0] = local[:, J["pelvis"], None, 0] + rel[..., 0] * c + rel[..., 2] * s
    local[:, upper, 2] = local[:, J["pelvis"], None, 2] - rel[..., 0] * s + rel[..., 2] * c
    assert "bow" in describe(place(local), enabled={"bow"})
    assert "bow" not in describe(place(local))  # off by default


def test_arm_circles() -> None:
    t = frames(2.0)
    local = rest(t)
    theta = 2 * np.pi * 1.0 * t
    shoulder = local[:, J["left_shoulder"]]
    direction = np.stack([np.sin(theta), np.zeros_like(t), -np.cos(theta)], axis=-1)
    local[:, J["left_elbow"]] = shoulder + 0.26 * direction
    local[:, J["left_wrist"]] = shoulder + 0.5 * direction
    facts = describe(place(local))
    assert "arm_circle_left" in facts and "arm_circle_right" not in facts


def test_step_up_onto_a_box() -> None:
    t = frames(2.0)
    local = rest(t)
    left = ramp(t, 0.3, 0.7)[:, None] * np.array([0.3, 0.0, 0.2])
    body = ramp(t, 0.8, 1.4)[:, None] * np.array([0.3, 0.0, 0.2])
    for n in CANONICAL_JOINTS:
        local[:, J[n]] += left if n.startswith("left_") and n.endswith(("knee", "ankle", "foot")) else body
    facts = describe(place(local))
    assert "step_up" in facts and not any(f.startswith(("jump", "hop")) for f in facts)
    assert "step_down" in describe(place(local[::-1].copy()))


# --- whole-motion properties -----------------------------------------------------------------------------
MOTIONS = {
    "walk_forward": lambda: walk(2.0, "forward"),
    "walk_left": lambda: walk(2.0, "left"),
    "turn_left": lambda: turn_in_place(90),
    "raise_left": lambda: raise_hand("left"),
    "wave_right": lambda: wave("right"),
    "jump": lambda: jump(forward=0.5),
    "squat": squat,
    "lie": lie_on_back,
}


@pytest.mark.parametrize("motion", sorted(MOTIONS))
def test_mirrored_motion_gets_the_swapped_facts_and_caption(motion: str) -> None:
    pos = MOTIONS[motion]()
    facts = describe_window(pos, FPS)
    mirrored = describe_window(mirror_positions(pos), FPS)
    assert facts, motion
    assert names(mirrored) == swap(names(facts))
    assert {f.side for f in mirrored} == {{"left": "right", "right": "left"}.get(f.side, f.side) for f in facts}
    assert caption_sentences(mirrored, random.Random(3)) == [mirror_text(s) for s in
                                                             caption_sentences(facts, random.Random(3))]


@pytest.mark.parametrize("motion", sorted(MOTIONS))
def test_facts_do_not_depend_on_where_the_motion_is_or_which_way_it_faces(motion: str) -> None:
    pos = MOTIONS[motion]()
    facts = describe(pos)
    for angle, shift in ((0.7, (3.0, -2.0, 0.0)), (-2.4, (0.0, 5.0, 0.4))):
        assert describe(rotate_z(pos, angle, shift)) == facts


def test_upper_body_only_skeleton_gets_no_leg_facts() -> None:
    pos = walk(2.0, "forward")
    pos[:, J["left_wrist"]] = raise_hand("left")[:, J["left_wrist"]] + pos[:, J["pelvis"]] * np.array([1, 1, 0])
    pos[:, J["left_elbow"]] = raise_hand("left")[:, J["left_elbow"]] + pos[:, J["pelvis"]] * np.array([1, 1, 0])
    valid = np.ones((len(pos), NUM_JOINTS), dtype=bool)
    valid[:, [J[f"{s}_{p}"] for s in ("left", "right") for p in ("knee", "ankle", "foot")]] = False
    full = describe(pos)
    assert "walk_forward" in full and "raise_hand_left" in full
    upper = describe(pos, valid)
    assert "raise_hand_left" in upper
    leg_rules = {"walk", "run", "jump", "hop", "crouch", "sit", "kneel", "kick", "knee_raise", "stand_still", "step_up"}
    assert not {f for f in upper if any(f.startswith(r) for r in leg_rules)}


def test_enabled_selects_rules_and_single_facts() -> None:
    pos = walk(2.0, "forward")
    pos[:, J["left_wrist"]] = raise_hand("left")[:, J["left_wrist"]] + pos[:, J["pelvis"]] * np.array([1, 1, 0])
    pos[:, J["left_elbow"]] = raise_hand("left")[:, J["left_elbow"]] + pos[:, J["pelvis"]] * np.array([1, 1, 0])
    assert describe(pos, enabled={"walk"}) == {"walk_forward"}
    assert describe(pos, enabled={"raise_hand_left"}) == {"raise_hand_left"}
    assert describe(pos, enabled={"walk_backward"}) == set()
    with pytest.raises(ValueError, match="unknown"):
        describe(pos, enabled={"fly"})


def test_rule_table_is_complete() -> None:
    from motion_text_node.captions.rules import FUNCTIONS

    assert set(FUNCTIONS) == set(RULES)
    assert DEFAULT_ENABLED == {n for n, r in RULES.items() if r.enabled_by_default}
    for name, rule in RULES.items():
        assert rule.description and rule.thresholds and rule.facts, name
        assert all(s in RULES for s in rule.suppresses), name
        assert set(rule.facts) == {mirror_fact_name(f) for f in rule.facts}, name  # sides come in pairs


def test_every_fact_name_is_declared_by_its_rule() -> None:
    produced: list[Fact] = []
    for make in [*MOTIONS.values(), stand, sit_down, lambda: walk(2.0, "backward", speed=3.0, cadence=2.8)]:
        pos = make()
        produced += [(f, len(pos) / FPS) for f in describe_window(pos, FPS, enabled=set(RULES))]
    assert produced
    for f, duration in produced:
        assert f.name in RULES[f.rule].facts
        assert f.side in ("left", "right", "both", None)
        assert 0 < f.salience <= 1
        if f.start_s is not None:
            assert 0 <= f.start_s < f.end_s <= duration + 1e-6


# --- sentences -------------------------------------------------------------------------------------------
def test_verb_forms() -> None:
    assert [third_person(v) for v in ("walk", "crouch", "do", "carry", "lie")] == \
        ["walks", "crouches", "does", "carries", "lies"]
    assert [gerund(v) for v in ("wave", "run", "lie", "walk", "sit")] == ["waving", "running", "lying", "walking",
                                                                         "sitting"]


def test_sentences_are_deterministic_and_name_the_most_salient_fact_first() -> None:
    pos = np.concatenate([walk(1.5, "backward"), place(rest(frames(1.5)), np.radians(100) * ramp(frames(1.5), 0.1, 1.2),
                                                     walk(1.5, "backward")[-1:, J["pelvis"], :2].astype(float))])
    facts = describe_window(pos, FPS)
    assert {"walk_backward", "turn_left_90"} <= names(facts)
    a = caption_sentences(facts, random.Random(7), n=4)
    assert a == caption_sentences(facts, random.Random(7), n=4)
    assert len(a) == len(set(a)) >= 2
    assert all(s.split()[0] in ("a", "someone", "the", "somebody") for s in a)
    top = max(facts, key=lambda f: f.salience)
    verbs = {third_person(d.split()[0]) for d in top.descriptions()}
    assert all(any(v in s for v in verbs) for s in a)
    # Walking backward comes first in time, so the two-fact sentences say it first.
    for s in a:
        if "walk" in s and "turn" in s:
            assert s.index("walk") < s.index("turn"), s
    assert caption_sentences([], random.Random(0)) == []


# --- clips and batches -----------------------------------------------------------------------------------
def test_caption_motion_windows_a_clip_and_matches_single_windows() -> None:
    walked = walk(2.0, "forward")
    end = np.array([*walked[-1, J["pelvis"], :2], 0.0]) + (1.2 / FPS, 0.0, 0.0)
    pos = np.concatenate([stand(), walked, raise_hand("left") + end.astype(np.float32)])
    motion = Motion(pos, CANONICAL_JOINTS, FPS)
    out = caption_motion(motion, window_s=2.0, stride_s=1.0)
    assert [(s, e) for s, e, _ in out] == [(float(s), float(s + 2)) for s in range(5)]
    assert "stand_still" in names(out[0][2])
    assert "walk_forward" in names(out[2][2])
    assert "raise_hand_left" in names(out[4][2])
    batch = caption_windows_batch([motion, Motion(pos[:45], CANONICAL_JOINTS, FPS)])
    assert [[names(f) for _, _, f in clip] for clip in batch[:1]] == [[names(f) for _, _, f in out]]
    assert len(batch[1]) == 1 and batch[1][0][:2] == (0.0, 1.5)
    single = describe_windows(pos, FPS, [60], 60)[0]
    assert names(single) == names(out[2][2])


# --- real data -------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cmu(cmu_bvh_dir):
    from motion_text_node.data.cmu import load_trial, read_manifest
    from motion_text_node.skeleton.resample import resample_motion

    manifest = {t.trial_id: t for t in read_manifest()}

    def load(trial_id: str) -> Motion:
        return resample_motion(load_trial(manifest[trial_id], cmu_bvh_dir).motion, FPS)

    return load


def _window_names(motion: Motion, enabled=None) -> list[set[str]]:
    return [names(f) for _, _, f in caption_motion(motion, enabled=enabled)]


@pytest.mark.parametrize(("trial", "fact", "share"), [
    ("02_01", "walk_forward", 1.0),  # walk
    ("07_04", "walk_forward", 1.0),  # slow walk
    ("06_06", "walk_backward", 0.6),  # basketball - backward dribble
    ("06_08", "walk_sideways_left", 0.5),  # basketball - sideways dribble
    ("13_09", "hand_to_face_right", 0.5),  # drink soda
    ("13_10", "raise_hand_both", 0.5),  # jump up to grab, reach for
    ("02_05", "punch_right", 0.5),  # punch/strike
])
def test_real_trials_get_their_main_fact(cmu, trial: str, fact: str, share: float) -> None:
    rule = next(n for n, r in RULES.items() if fact in r.facts)
    windows = _window_names(cmu(trial), None if RULES[rule].enabled_by_default else set(RULES))
    assert np.mean([fact in w for w in windows]) >= share, windows


@pytest.mark.parametrize(("trial", "rule"), [("09_01", "run"), ("02_03", "run"), ("13_39", "jump"),
                                             ("02_04", "jump"), ("06_10", "turn"), ("14_31", "sit"),
                                             ("10_02", "kick")])
def test_real_trials_have_their_event(cmu, trial: str, rule: str) -> None:
    facts = [f for _, _, fs in caption_motion(cmu(trial)) for f in fs]
    assert any(f.rule == rule for f in facts), trial


def test_real_turns_have_the_right_side_and_mirror(cmu) -> None:
    left = cmu("06_10")  # forward dribble, 90-degree left turns
    turns = [f.side for _, _, fs in caption_motion(left) for f in fs if f.rule == "turn"]
    assert turns.count("left") >= 3 and turns.count("right") == 0
    right = Motion(mirror_positions(left.positions), left.joint_names, left.fps, left.valid)
    mirrored = [f.side for _, _, fs in caption_motion(right) for f in fs if f.rule == "turn"]
    assert mirrored == ["right"] * len(turns)
    real_right = [f.side for _, _, fs in caption_motion(cmu("06_11")) for f in fs if f.rule == "turn"]
    assert real_right.count("right") >= 3 and real_right.count("left") == 0


def test_real_walks_have_no_stray_facts(cmu) -> None:
    for trial in ("02_01", "02_02", "07_01", "08_02", "09_01"):
        for w in _window_names(cmu(trial)):
            assert not {f for f in w if not f.startswith(("walk", "run"))}, (trial, w)


@pytest.mark.parametrize("frames", [1, 2, 3, 5])
def test_motions_shorter_than_any_rule_window_describe_without_error(frames: int) -> None:
    """A describe_motion request may carry a handful of frames (found by the node fuzzer: the clap rule indexed
    past the end of a 2-frame motion). Every rule must answer, even with nothing to say."""
    pos = MOTIONS["wave_right"]()[:frames]
    for fps in (FPS, 120.0):
        facts = describe_window(pos, fps)
        assert all(f.name for f in facts)
        assert isinstance(list(caption_motion(Motion(pos, CANONICAL_JOINTS, fps), window_s=2.0, stride_s=1.0)), list)
