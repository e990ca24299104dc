"""The caption rules: one table of thresholds (``RULES``), then one function per rule.

Each rule is an explainable test on joint positions over a window (see ``body`` for the measurements and their
frames). Distances are metres on a body rescaled to 0.8 m legs (``body.REFERENCE_LEG_M``), heights are above
the floor estimated as the lowest observed joint within +-1 s, speeds m/s, angles degrees, durations seconds.
"Left" is always the body's own left; turns and circles count counter-clockwise seen from above (z up) as left.
A rule needs the joints it looks at to be observed: imputed joints never make a rule fire.

A rule function gets the ``Body``, the ``Windows`` and its thresholds and returns ``Hit``s: per-window fire
masks for each fact it can produce. ``describe`` turns the hits into ``Fact``s.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from motion_text_node.captions.body import Body, derivative
from motion_text_node.captions.windows import Windows, hysteresis_state, state_changes


@dataclass(frozen=True)
class Rule:
    """One caption rule.

    Attributes:
        name: rule id (the ``Fact.rule`` of its facts).
        description: what it tests, in words.
        facts: the fact names it can produce.
        thresholds: its parameters (units in the key names: _m metres, _mps m/s, _deg degrees, _s seconds).
        salience: base salience of its facts.
        enabled_by_default: whether ``describe_window`` runs it when no ``enabled`` set is given.
        suppresses: rules whose facts are dropped from a window where this rule fires (they would repeat it).
    """

    name: str
    description: str
    facts: tuple[str, ...]
    thresholds: Mapping[str, float]
    salience: float = 0.5
    enabled_by_default: bool = True
    suppresses: tuple[str, ...] = ()


def _sided(name: str, both: bool = True) -> tuple[str, ...]:
    return (f"{name}_left", f"{name}_right") + ((f"{name}_both",) if both else ())


def _directions(name: str) -> tuple[str, ...]:
    return (f"{name}_forward", f"{name}_backward", f"{name}_sideways_left", f"{name}_sideways_right", name)


def _rule(name: str, description: str, facts: tuple[str, ...], salience: float, thresholds: dict[str, float],
          enabled: bool = True, suppresses: tuple[str, ...] = ()) -> Rule:
    return Rule(name, description, facts, MappingProxyType(dict(thresholds)), salience, enabled, suppresses)


#: Every rule, its thresholds and whether it is on by default. A rule is off by default when its facts measure
#: below 90 % precision on labelled real motion (``benchmarks/captions.md``, ``motion_text_node.bench.captions``);
#: the reason is noted at the rule.
RULES: dict[str, Rule] = {r.name: r for r in (
    # --- locomotion -------------------------------------------------------------------------------------------
    _rule("stand_still", "Upright (pelvis high, torso near vertical) for most of the window, the pelvis hardly "
          "moving, the joints on average slow and no joint faster than max_limb_speed_mps in min_still_frac of "
          "the frames. Also defines 'upright' for the other rules.",
          ("stand_still",), 0.3,
          {"max_speed_mps": 0.15, "max_joint_speed_mps": 0.2, "max_limb_speed_mps": 0.5, "min_still_frac": 0.9,
           "min_upright_frac": 0.9,
           "upright_min_pelvis_m": 0.7, "upright_max_tilt_deg": 35.0}),
    _rule("walk", "Pelvis moving horizontally at walking speed (mean speed, and net displacement over the window "
          "so that stepping to and fro does not count), with alternating steps (the left and right "
          "ankles take turns being the faster one). Direction from the mean pelvis velocity in the body frame "
          "(forward / backward / sideways), none when it is diagonal or inconsistent. Also defines the "
          "step and direction thresholds used by run and jump.",
          _directions("walk"), 0.8,
          {"min_speed_mps": 0.3, "max_speed_mps": 1.9, "min_net_speed_mps": 0.3, "min_steps_per_s": 1.0,
           "step_speed_diff_mps": 0.4,
           "min_upright_frac": 0.8, "min_legs_valid_frac": 0.9, "direction_min_coherence": 0.6,
           "forward_max_deg": 35.0, "backward_min_deg": 145.0, "sideways_min_deg": 55.0,
           "sideways_max_deg": 125.0}),
    _rule("run", "Pelvis moving horizontally at running speed with alternating steps; 'jog' below "
          "jog_max_speed_mps. Direction as for walk.",
          _directions("run"), 0.9,
          {"min_speed_mps": 1.9, "min_net_speed_mps": 1.2, "min_steps_per_s": 1.5, "jog_max_speed_mps": 2.8,
           "min_upright_frac": 0.6, "min_legs_valid_frac": 0.9}, suppresses=("kick", "hop")),
    _rule("step_in_place", "The feet take turns being the higher one (their height difference flipping past "
          "+-lift_diff_m) at min_steps_per_s or more while the pelvis stays in place (net speed below walk's "
          "min_net_speed_mps), upright; 'jog in place' from jog_min_steps_per_s with both feet off the floor "
          "at times.",
          ("step_in_place", "jog_in_place"), 0.7,
          {"lift_diff_m": 0.05, "min_steps_per_s": 1.5, "jog_min_steps_per_s": 2.2, "flight_min_foot_m": 0.03,
           "min_upright_frac": 0.8}),
    _rule("turn", "Facing direction (from the hip and shoulder lines) at the end of the window minus at its "
          "start, each averaged over end_average_s; bucketed to about 45, 90, 180 or 360 degrees.",
          tuple(f"turn_{s}_{a}" for s in ("left", "right") for a in (45, 90, 180, 360)), 0.7,
          {"min_deg": 35.0, "deg_90_from": 67.5, "deg_180_from": 135.0, "deg_360_from": 270.0,
           "end_average_s": 0.25, "min_facing_valid_frac": 0.9}, suppresses=("twist",)),
    _rule("spin", "A turn of at least min_deg whose fastest 1-s stretch turns at min_rate_deg_per_s or more.",
          _sided("spin", both=False), 0.9,
          {"min_deg": 270.0, "min_rate_deg_per_s": 200.0, "rate_span_s": 1.0}, suppresses=("turn", "twist")),
    _rule("circle", "The direction of travel (of the moving pelvis) turns by at least min_deg within the window "
          "while the pelvis moves most of the time.",
          _sided("circle", both=False), 0.8,
          {"min_deg": 270.0, "min_moving_frac": 0.7, "moving_speed_mps": 0.3}),
    # --- vertical -------------------------------------------------------------------------------------------
    _rule("jump", "Both feet off the floor together (their lowest points above flight_min_foot_m, at similar "
          "heights) for min_flight_s, the pelvis rising above a standing height and moving up fast before. "
          "Direction from the pelvis velocity in the air.",
          _directions("jump"), 0.9,
          {"flight_min_foot_m": 0.08, "max_feet_height_diff_m": 0.12, "min_flight_s": 0.1,
           "min_peak_pelvis_m": 0.94, "min_up_speed_mps": 1.0, "min_horizontal_mps": 0.8}),
    _rule("hop", "One foot leaves the floor (above flight_min_foot_m) while the other is held clearly higher, "
          "that other foot never touching the floor (staying above raised_foot_m) in the window while the hopping "
          "foot does land. Side: the foot hopped on.",
          _sided("hop", both=False), 0.85,
          {"flight_min_foot_m": 0.05, "min_raised_diff_m": 0.1, "min_flight_s": 0.07, "raised_foot_m": 0.06,
           "max_landing_foot_m": 0.03, "min_up_speed_mps": 0.5}, suppresses=("jump",)),
    _rule("crouch", "Pelvis low, knees bent, feet on the floor, torso not lying, for min_s (and not sitting, "
          "kneeling or on all fours).",
          ("crouch",), 0.7,
          {"max_pelvis_m": 0.6, "max_knee_deg": 120.0, "max_tilt_deg": 60.0, "max_foot_m": 0.1, "min_s": 0.3}),
    _rule("sit", "Thighs within max_thigh_deg of horizontal, knees bent, torso upright, pelvis at seat height, "
          "and either horizontally away from the feet (weight on a seat, not over the feet: a squat keeps it "
          "over them) or held still for min_still_s with the pelvis at least min_still_pelvis_m high (a perch, "
          "not a held deep squat); for min_frac of the window. 'sit down' when the window "
          "starts upright and ends sitting.",
          ("sit", "sit_down"), 0.7,
          {"min_pelvis_m": 0.25, "max_pelvis_m": 0.8, "max_thigh_deg": 40.0, "max_knee_deg": 125.0,
           "max_tilt_deg": 45.0, "min_pelvis_feet_m": 0.2, "still_max_mps": 0.08, "min_still_s": 1.0,
           "min_still_pelvis_m": 0.55,
           "min_frac": 0.5, "end_s": 0.4, "end_frac": 0.6}, suppresses=("crouch",)),
    _rule("sit_floor", "Pelvis at floor level with the torso upright (not lying), the feet away from under the "
          "pelvis or the legs stretched (not a deep squat), for min_frac of the window; 'sit down on the floor' "
          "when the window starts upright and ends so.",
          ("sit_floor", "sit_floor_down"), 0.7,
          {"max_pelvis_m": 0.3, "max_tilt_deg": 60.0, "min_pelvis_feet_m": 0.2, "min_knee_deg": 100.0,
           "min_frac": 0.5, "end_s": 0.4, "end_frac": 0.6}, suppresses=("crouch",)),
    _rule("kneel", "A knee on the floor with the pelvis well above it and the torso upright, for min_frac of "
          "the window; 'kneel down' when the window starts upright and ends kneeling. Side: the knee(s) down.",
          _sided("kneel") + ("kneel_down",), 0.75,
          {"max_knee_m": 0.15, "min_pelvis_above_knee_m": 0.25, "max_tilt_deg": 45.0, "min_frac": 0.4,
           "end_s": 0.4, "end_frac": 0.6}),
    _rule("lie", "Torso near horizontal with pelvis and neck low, for min_frac of the window (on the back / "
          "face down / on a side from the chest's normal); 'lie down' when the window starts not lying and "
          "ends lying.",
          ("lie_back", "lie_front", "lie_side_left", "lie_side_right", "lie_down"), 0.8,
          {"min_tilt_deg": 60.0, "max_pelvis_m": 0.4, "max_neck_m": 0.45, "min_frac": 0.5, "back_min_up": 0.5,
           "end_s": 0.4, "end_frac": 0.6, "start_max_frac": 0.2}),
    _rule("all_fours", "Both wrists at the floor, torso tilted well forward, pelvis low, for min_frac of the "
          "window; 'crawl' when the pelvis also moves.",
          ("crawl", "on_all_fours"), 0.85,
          {"max_wrist_m": 0.15, "min_tilt_deg": 50.0, "max_pelvis_m": 0.75, "min_frac": 0.5,
           "crawl_min_speed_mps": 0.15}),
    _rule("get_up", "The pelvis is low (or sitting) over the first start_s of the window and ends upright (over "
          "end_s), having risen by min_rise_m; 'stand up' when the start was sitting on a seat.",
          ("get_up", "stand_up"), 0.85,
          {"start_max_pelvis_m": 0.55, "start_s": 0.5, "start_frac": 0.8, "min_rise_m": 0.25, "end_s": 0.3,
           "end_upright_frac": 0.6, "from_sit_frac": 0.5},
          suppresses=("sit", "sit_floor", "kneel", "crouch", "lie", "all_fours")),
    _rule("fall", "The pelvis drops fast (vertical speed below -min_down_speed_mps) by min_drop_m and ends low.",
          ("fall",), 0.95,
          {"min_down_speed_mps": 1.3, "min_drop_m": 0.35, "end_max_pelvis_m": 0.45, "end_s": 0.3},
          suppresses=("lie", "sit_floor", "crouch", "kneel", "all_fours", "sit")),
    _rule("upside_down", "Head (the neck where the head is not observed) below the pelvis and an ankle above it: "
          "'handstand' when held min_handstand_s with both wrists on the floor, 'cartwheel' when brief and the "
          "pelvis travels sideways between upright ends, else 'turn upside down'.",
          ("handstand", "cartwheel", "upside_down"), 0.95,
          {"head_below_pelvis_m": 0.2, "min_s": 0.1, "max_wrist_m": 0.15, "min_handstand_s": 0.4,
           "cartwheel_max_s": 1.2, "cartwheel_min_sideways_m": 0.5, "end_s": 0.25},
          suppresses=("lie", "all_fours", "crouch", "jump", "turn", "spin", "touch_floor", "bend_forward")),
    _rule("touch_floor", "A wrist at floor level for min_s while not lying, on all fours or sitting on the "
          "floor.",
          _sided("touch_floor"), 0.5,
          {"max_wrist_m": 0.12, "min_pelvis_m": 0.3, "min_s": 0.2}, suppresses=()),
    # --- torso ----------------------------------------------------------------------------------------------
    _rule("bend_forward", "Torso pitched forward by min_pitch_deg (in the hip frame) for min_s while the pelvis "
          "stays up (legs not folded), nearly in place (below max_speed_mps: a hunched walk is no bend) and not on "
          "all fours.",
          ("bend_forward",), 0.6,
          {"min_pitch_deg": 45.0, "min_pelvis_m": 0.55, "max_speed_mps": 0.6, "min_s": 0.3}),
    _rule("bow", "Standing nearly still, the torso pitches forward to between min_pitch_deg and max_pitch_deg "
          "and is back upright (below end_max_pitch_deg) at both ends of the window.",
          ("bow",), 0.7,
          {"min_pitch_deg": 20.0, "max_pitch_deg": 75.0, "end_max_pitch_deg": 12.0, "end_s": 0.3,
           "max_speed_mps": 0.3, "min_upright_frac": 0.9},
          enabled=False, suppresses=("bend_forward", "lean")),  # off: fires on toe touches and waves; a bow
    # rarely fits in one 2-s window with both ends upright (recall about 30 % on Bandai's bows)
    _rule("lean", "Torso tilted sideways (roll) by min_side_deg, backward by min_back_deg, or forward between "
          "min_forward_deg and the bend threshold while slow, for min_s, standing.",
          ("lean_left", "lean_right", "lean_back", "lean_forward"), 0.4,
          {"min_side_deg": 20.0, "min_back_deg": 20.0, "min_forward_deg": 25.0, "max_forward_deg": 45.0,
           "forward_max_speed_mps": 0.5, "min_pelvis_m": 0.6, "min_s": 0.4},
          enabled=False),  # off: 'lean forward' fires on Bandai's guiding gestures and waves (60 % precision)
    _rule("twist", "The shoulder line yawed against the hip line by min_deg for min_s while the pelvis stays "
          "nearly in place (below max_speed_mps: the counter-rotation of walking is no twist); both directions in one "
          "window: 'twist from side to side'. Left: the chest turned counter-clockwise (to the body's left).",
          _sided("twist"), 0.4,
          {"min_deg": 30.0, "min_s": 0.3, "max_tilt_deg": 45.0, "max_speed_mps": 0.5}),
    # --- arms -----------------------------------------------------------------------------------------------
    _rule("raise_hand", "Wrist above the head joint by min_above_head_m for min_s with the torso upright; "
          "'both' when both are up together for min_s, the second at least min_above_head_m - both_margin_m "
          "above the head (two hands raised together rarely reach the same height), one hand only when the "
          "other stays below that.",
          _sided("raise_hand"), 0.75,
          {"min_above_head_m": 0.08, "both_margin_m": 0.05, "min_s": 0.3, "max_tilt_deg": 45.0},
          suppresses=("reach",)),
    _rule("raise_arm", "Arm stretched out to the side (wrist outward of the shoulder by min_outward_m, the arm "
          "at least min_extension_m long) at shoulder height for min_s.",
          _sided("raise_arm"), 0.55,
          {"min_extension_m": 0.42, "min_outward_m": 0.3, "min_dz_m": -0.15, "max_dz_m": 0.2, "min_s": 0.4},
          enabled=False),  # off: no labelled arm-out motion to confirm it, and it fires on toe touches, dribbling
    _rule("wave", "Wrist above the elbow and near shoulder height or higher for at least min_raised_frac of the "
          "window (an arm pumping while walking or running is up only part of the time), swinging side to side "
          "relative to the elbow along the shoulder line (lateral speed flipping past +-swing_speed_mps) at least "
          "min_swings times, over at least min_amplitude_m. 'Both' when the other hand is also up "
          "(min_raised_frac) and moving (sideways over min_amplitude_m, at swing_speed_mps at least once: slow "
          "two-handed waves swing one hand less clearly).",
          _sided("wave"), 0.8,
          {"min_above_elbow_m": 0.05, "min_above_shoulder_m": -0.1, "swing_speed_mps": 0.3, "min_swings": 3,
           "min_amplitude_m": 0.08, "min_raised_frac": 0.5},
          suppresses=("hand_to_face",)),
    _rule("punch", "The arm goes from bent (shoulder-wrist distance at most guard_max_m) to stretched forward "
          "(at least min_extension_m, the wrist min_forward_m in front of the shoulder, near shoulder height) "
          "within max_extend_s, and back to bent within max_retract_s.",
          _sided("punch"), 0.8,
          {"guard_max_m": 0.3, "min_extension_m": 0.42, "min_forward_m": 0.37, "min_dz_m": -0.25, "max_dz_m": 0.2,
           "max_extend_s": 0.5, "max_retract_s": 0.6}, suppresses=("reach",),
          enabled=False),  # off: fires in half the salsa trials and while laughing (about 20 % precision)
    _rule("reach", "Arm stretched (min_extension_m) with the wrist in front of the shoulder (min_forward_m) "
          "between hip and head height, held for min_s.",
          _sided("reach"), 0.5,
          {"min_extension_m": 0.44, "min_forward_m": 0.3, "max_above_head_m": 0.1, "min_s": 0.3},
          enabled=False),  # off: fires on forward-held goodbyes and on walks (about 80 % precision)
    _rule("clap", "The wrists come together (closer than close_m after being apart, wider than apart_m) at "
          "least min_claps times, above the pelvis and not above the head (max_above_head_m: hands that meet "
          "overhead while waving are no clap), closing at min_close_speed_mps or faster over the last "
          "close_speed_s.",
          ("clap",), 0.8,
          {"close_m": 0.12, "apart_m": 0.25, "min_claps": 2, "min_above_pelvis_m": 0.1, "max_above_head_m": 0.1,
           "min_close_speed_mps": 0.8, "close_speed_s": 0.15},
          suppresses=("wave",)),
    _rule("cross_arms", "Each wrist across the body's midline (left wrist right of the chest centre and vice "
          "versa) at chest height in front of the torso, elbows on their own sides, for min_s.",
          ("cross_arms",), 0.6,
          {"min_cross_m": 0.0, "min_elbow_out_m": 0.1, "min_above_pelvis_m": 0.15, "max_above_shoulder_m": 0.05,
           "max_forward_m": 0.45, "min_forward_m": -0.05, "min_s": 0.5}),
    _rule("arm_circle", "The shoulder-to-wrist direction, projected on the body's sagittal or frontal plane, "
          "goes round by min_deg within the window (projection at least min_projection_m long).",
          _sided("arm_circle"), 0.7,
          {"min_deg": 300.0, "min_projection_m": 0.25}, suppresses=("wave",)),
    _rule("hand_to_face", "Wrist within max_distance_m of the head joint, not above it by more than "
          "max_above_head_m, for min_s.",
          _sided("hand_to_face"), 0.55,
          {"max_distance_m": 0.2, "max_above_head_m": 0.1, "min_s": 0.5}),
    # --- legs -----------------------------------------------------------------------------------------------
    _rule("kick", "Ankle swinging forward relative to the pelvis at min_speed_mps while already min_forward_m in "
          "front of it and off the floor (min_ankle_m), knee fairly straight, the other foot on the floor.",
          _sided("kick", both=False), 0.85,
          {"min_ankle_m": 0.05, "min_forward_m": 0.3, "min_speed_mps": 3.0, "min_knee_deg": 120.0,
           "max_support_foot_m": 0.06, "min_pelvis_m": 0.55}),
    _rule("knee_raise", "Thigh raised to near horizontal (min_thigh_deg) while standing on the other leg (foot on "
          "the floor, knee near straight) with the pelvis up, for min_s; 'both' when each knee comes up in the "
          "window.",
          _sided("knee_raise"), 0.6,
          {"min_thigh_deg": -15.0, "max_support_foot_m": 0.08, "min_support_knee_deg": 140.0, "min_pelvis_m": 0.7,
           "min_s": 0.15},
          suppresses=()),
    _rule("step_up", "The lower foot's height (absolute, not floor-relative) at the end of the window minus at "
          "its start is above min_rise_m (step up) or below -min_rise_m (step down), standing at both ends.",
          ("step_up", "step_down"), 0.6,
          {"min_rise_m": 0.12, "end_s": 0.3, "min_standing_pelvis_m": 0.65}),
)}

#: Rules on when ``describe_window`` gets no ``enabled`` set.
DEFAULT_ENABLED: frozenset[str] = frozenset(n for n, r in RULES.items() if r.enabled_by_default)


@dataclass
class Hit:
    """Per-window result of one rule for one fact name."""

    name: str
    phrase: str
    side: str | None
    variants: tuple[str, ...]
    fire: np.ndarray
    strength: np.ndarray | float = 1.0
    frames: np.ndarray | None = None
    amount: np.ndarray | float | None = None


RuleFunction = Callable[[Body, Windows, Mapping[str, float]], list[Hit]]
FUNCTIONS: dict[str, RuleFunction] = {}


def _evaluates(name: str) -> Callable[[RuleFunction], RuleFunction]:
    def register(fn: RuleFunction) -> RuleFunction:
        FUNCTIONS[name] = fn
        return fn

    return register


def _cached(store: dict, key: str, make: Callable[[], object]):
    if key not in store:
        store[key] = make()
    return store[key]


def _t(rule: str) -> Mapping[str, float]:
    return RULES[rule].thresholds


def _clip01(x: np.ndarray | float) -> np.ndarray:
    return np.clip(np.nan_to_num(np.asarray(x, dtype=np.float64)), 0.0, 1.0)


def _sides(name: str, left: np.ndarray, right: np.ndarray, both: np.ndarray | None, phrases: dict[str, str],
           variants: dict[str, tuple[str, ...]], frames: dict[str, np.ndarray] | None = None,
           strength: dict[str, np.ndarray] | None = None) -> list[Hit]:
    """Left / right / both hits: ``both`` (default: left and right) wins over the single sides."""
    both = (left & right) if both is None else both
    fires = {"left": left & ~both, "right": right & ~both, "both": both}
    out = []
    for side, fire in fires.items():
        if side not in phrases:
            continue
        out.append(Hit(f"{name}_{side}", phrases[side], side, variants[side], fire,
                       1.0 if strength is None else strength[side], None if frames is None else frames[side]))
    return out


def _sided_texts(phrase: str, variants: tuple[str, ...], both_phrase: str | None = None,
                 both_variants: tuple[str, ...] = ()) -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
    """Phrases and variants per side from templates with ``{side}``."""
    phrases = {s: phrase.format(side=s) for s in ("left", "right")}
    var = {s: tuple(v.format(side=s) for v in variants) for s in ("left", "right")}
    if both_phrase is not None:
        phrases["both"] = both_phrase
        var["both"] = both_variants
    return phrases, var


def _in_long_run(mask: np.ndarray, n: int) -> np.ndarray:
    """(T,) frames that belong to a run of at least ``n`` consecutive ``mask`` frames."""
    idx = np.arange(len(mask))
    start = np.maximum.accumulate(np.where(~mask, idx + 1, 0))  # first frame of the run ending here
    end = np.minimum.accumulate(np.where(~mask, idx - 1, len(mask) - 1)[::-1])[::-1]  # last frame of the run
    return mask & (end - start + 1 >= n)


# --- shared measurements ------------------------------------------------------------------------------------
def upright(b: Body) -> np.ndarray:
    """(T,) upright frames (thresholds of ``stand_still``)."""
    t = _t("stand_still")
    return _cached(b.cache, "upright", lambda: b.legs_ok & b.torso_ok
                   & (b.height("pelvis") >= t["upright_min_pelvis_m"]) & (b.torso_tilt <= t["upright_max_tilt_deg"]))


def step_flips(b: Body) -> np.ndarray:
    """(T,) frames where the faster-moving ankle changes sides: one step each."""
    def make() -> np.ndarray:
        th = _t("walk")["step_speed_diff_mps"]
        d = b.horizontal_speed("left_ankle") - b.horizontal_speed("right_ankle")
        return state_changes(hysteresis_state(np.where(b.legs_ok, d, 0.0), -th, th))

    return _cached(b.cache, "step_flips", make)


def direction(forward: np.ndarray, left: np.ndarray, speed: np.ndarray) -> dict[str, np.ndarray]:
    """Per-window direction masks (forward / backward / sideways_left / sideways_right) of a mean body-frame
    velocity, empty where it is inconsistent (shorter than ``direction_min_coherence`` of the mean speed)."""
    t = _t("walk")
    ang = np.degrees(np.arctan2(left, forward))
    coherent = np.hypot(forward, left) >= t["direction_min_coherence"] * speed
    a = np.abs(ang)
    return {
        "forward": coherent & (a <= t["forward_max_deg"]),
        "backward": coherent & (a >= t["backward_min_deg"]),
        "sideways_left": coherent & (ang >= t["sideways_min_deg"]) & (ang <= t["sideways_max_deg"]),
        "sideways_right": coherent & (-ang >= t["sideways_min_deg"]) & (-ang <= t["sideways_max_deg"]),
    }


def net_speed(b: Body, w: Windows, end_s: float = 0.25) -> np.ndarray:
    """Per-window pelvis displacement (between the mean positions of its first and last ``end_s``) per second."""
    p = b.joint("pelvis")
    dx = w.tail(p[:, 0], end_s) - w.head(p[:, 0], end_s)
    dy = w.tail(p[:, 1], end_s) - w.head(p[:, 1], end_s)
    return np.hypot(dx, dy) / max(w.duration - w.frames(end_s) / w.fps, 1.0 / w.fps)


def locomotion(b: Body, w: Windows) -> dict[str, np.ndarray]:
    """Per-window mean speed, steps per second, body-frame mean velocity, upright and leg-validity fractions."""
    def make() -> dict[str, np.ndarray]:
        return {
            "speed": w.mean(b.speed),
            "net_speed": net_speed(b, w),
            "steps_per_s": w.count(step_flips(b)) / w.duration,
            "forward": w.mean(b.body_velocity[:, 0]),
            "left": w.mean(b.body_velocity[:, 1]),
            "upright": w.frac(upright(b)),
            "legs": w.frac(b.legs_ok),
        }

    return _cached(w.cache, "locomotion", make)


def postures(b: Body) -> dict[str, np.ndarray]:
    """(T,) masks of the static postures, mutually exclusive in the order upside_down, lie, all_fours,
    sit_floor, kneel_left/right, sit, crouch."""
    def make() -> dict[str, np.ndarray]:
        ph = b.height("pelvis")
        tilt = b.torso_tilt
        base = b.legs_ok & b.torso_ok
        out: dict[str, np.ndarray] = {}
        t = _t("upside_down")
        ankles_up = np.maximum(b.joint("left_ankle")[:, 2], b.joint("right_ankle")[:, 2]) > b.joint("pelvis")[:, 2]
        top = np.where(b.ok("head"), b.joint("head")[:, 2], b.joint("neck")[:, 2])  # the neck where no head
        out["upside_down"] = (base & ankles_up & (b.ok("head") | b.ok("neck"))
                              & (top < b.joint("pelvis")[:, 2] - t["head_below_pelvis_m"]))
        taken = out["upside_down"].copy()
        t = _t("lie")
        out["lie"] = (base & ~taken & (tilt >= t["min_tilt_deg"]) & (ph <= t["max_pelvis_m"])
                      & (b.height("neck") <= t["max_neck_m"]))
        taken |= out["lie"]
        t = _t("all_fours")
        wrists = np.maximum(b.height("left_wrist"), b.height("right_wrist"))
        out["all_fours"] = (base & ~taken & b.ok("left_wrist", "right_wrist") & (wrists <= t["max_wrist_m"])
                            & (tilt >= t["min_tilt_deg"]) & (ph <= t["max_pelvis_m"]))
        taken |= out["all_fours"]
        feet = 0.5 * (b.joint("left_ankle")[:, :2] + b.joint("right_ankle")[:, :2])
        pelvis_feet = np.linalg.norm(b.joint("pelvis")[:, :2] - feet, axis=-1)
        knee_mean = 0.5 * (b.knee_angle("left") + b.knee_angle("right"))
        t = _t("sit_floor")
        out["sit_floor"] = (base & ~taken & (ph <= t["max_pelvis_m"]) & (tilt <= t["max_tilt_deg"])
                            & ((pelvis_feet >= t["min_pelvis_feet_m"]) | (knee_mean >= t["min_knee_deg"])))
        taken |= out["sit_floor"]
        t = _t("kneel")
        pz = b.joint("pelvis")[:, 2]
        for side in ("left", "right"):
            out[f"kneel_{side}"] = (base & ~taken & (b.height(f"{side}_knee") <= t["max_knee_m"])
                                    & (pz - b.joint(f"{side}_knee")[:, 2] >= t["min_pelvis_above_knee_m"])
                                    & (tilt <= t["max_tilt_deg"]))
        taken |= out["kneel_left"] | out["kneel_right"]
        t = _t("sit")
        thighs = np.maximum(np.abs(b.thigh_elevation("left")), np.abs(b.thigh_elevation("right")))
        knees = np.maximum(b.knee_angle("left"), b.knee_angle("right"))
        shape = (base & ~taken & (ph >= t["min_pelvis_m"]) & (ph <= t["max_pelvis_m"])
                 & (thighs <= t["max_thigh_deg"]) & (knees <= t["max_knee_deg"]) & (tilt <= t["max_tilt_deg"]))
        still = (shape & (np.linalg.norm(b.root_velocity, axis=-1) <= t["still_max_mps"])
                 & (ph >= t["min_still_pelvis_m"]))
        out["sit"] = shape & ((pelvis_feet >= t["min_pelvis_feet_m"]) | _in_long_run(still, b.frames(t["min_still_s"])))
        taken |= out["sit"]
        t = _t("crouch")
        knee = 0.5 * (b.knee_angle("left") + b.knee_angle("right"))
        feet_down = np.maximum(b.foot_height("left"), b.foot_height("right")) <= t["max_foot_m"]
        out["crouch"] = (base & ~taken & (ph <= t["max_pelvis_m"]) & (knee <= t["max_knee_deg"])
                         & (tilt <= t["max_tilt_deg"]) & feet_down)
        return out

    return _cached(b.cache, "postures", make)


# --- locomotion ---------------------------------------------------------------------------------------------
_WALK_TEXT = {
    "forward": ("walk forward", ("walk forward", "walk forwards", "walk ahead")),
    "backward": ("walk backward", ("walk backward", "walk backwards", "step backward", "walk back")),
    "sideways_left": ("walk sideways to the left", ("walk sideways to the left", "sidestep to the left",
                                                    "step sideways to the left")),
    "sideways_right": ("walk sideways to the right", ("walk sideways to the right", "sidestep to the right",
                                                      "step sideways to the right")),
    None: ("walk", ("walk", "walk around", "take a few steps")),
}


def _gait_text(verb: str) -> dict:
    """``_WALK_TEXT`` with another verb ("run", "jog")."""
    texts = {k: (p.replace("walk", verb), tuple(v.replace("walk", verb) for v in vs if v.startswith("walk"))
                 or (p.replace("walk", verb),))
             for k, (p, vs) in _WALK_TEXT.items()}
    texts[None] = (verb, (verb, f"{verb} around"))
    return texts


@_evaluates("stand_still")
def _stand_still(b: Body, w: Windows, t: Mapping[str, float]) -> list[Hit]:
    loco = locomotion(b, w)
    fire = ((loco["speed"] <= t["max_speed_mps"]) & (w.mean(b.joint_speed) <= t["max_joint_speed_mps"])
            & (w.frac(b.max_joint_speed <= t["max_limb_speed_mps"]) >= t["min_still_frac"])
            & (loco["upright"] >= t["min_upright_frac"]))
    return [Hit("stand_still", "stand still", None, ("stand still", "stand in place", "stand without moving"),
                fire, 1.0 - w.mean(b.joint_speed) / t["max_joint_speed_mps"], upright(b))]


def _gait(name: str, b: Body, w: Windows, fire: np.ndarray, texts: dict) -> list[Hit]:
    loco = locomotion(b, w)
    dirs = direction(loco["forward"], loco["left"], loco["speed"])
    some = np.zeros(len(w), dtype=bool)
    out = []
    moving = b.speed > _t("walk")["min_speed_mps"]
    for key, mask in dirs.items():
        phrase, variants = texts[key]
        out.append(Hit(f"{name}_{key}", phrase, {"sideways_left": "left", "sideways_right": "right"}.get(key),
                       variants, fire & mask, loco["upright"], moving, loco["steps_per_s"] * w.duration))
        some |= mask
    phrase, variants = texts[None]
    out.append(Hit(name, phrase, None, variants, fire & ~some, loco["upright"], moving,
                   loco["steps_per_s"] * w.duration))
    return out


@_evaluates("walk")
def _walk(b: Body, w: Windows, t: Mapping[str, float]) -> list[Hit]:
    loco = locomotion(b, w)
    fire = ((loco["speed"] >= t["min_speed_mps"]) & (loco["speed"] < t["max_speed_mps"])
            & (loco["net_speed"] >= t["min_net_speed_mps"])
            & (loco["steps_per_s"] >= t["min_steps_per_s"]) & (loco["upright"] >= t["min_upright_frac"])
            & (loco["legs"] >= t["min_legs_valid_frac"]))
    return _gait("walk", b, w, fire, _WALK_TEXT)


@_evaluates("run")
def _run(b: Body, w: Windows, t: Mapping[str, float]) -> list[Hit]:
    loco = locomotion(b, w)
    fire = ((loco["speed"] >= t["min_speed_mps"]) & (loco["steps_per_s"] >= t["min_steps_per_s"])
            & (loco["net_speed"] >= t["min_net_speed_mps"])
            & (loco["upright"] >= t["min_upright_frac"]) & (loco["legs"] >= t["min_legs_valid_frac"]))
    jog = loco["speed"] < t["jog_max_speed_mps"]
    out = []
    for verb, mask in (("jog", jog), ("run", ~jog)):
        out += _gait("run", b, w, fire & mask, _gait_text(verb))
    return out


@_evaluates("step_in_place")
def _step_in_place(b: Body, w: Windows, t: Mapping[str, float]) -> list[Hit]:
    loco = locomotion(b, w)
    d = np.where(b.legs_ok, b.foot_height("left") - b.foot_height("right"), 0.0)
    flips = state_changes(hysteresis_state(d, -t["lift_diff_m"], t["lift_diff_m"]))
    steps = w.count(flips) / w.duration
    fire = ((steps >= t["min_steps_per_s"]) & (loco["net_speed"] < _t("walk")["min_net_speed_mps"])
            & (loco["upright"] >= t["min_upright_frac"]) & (loco["legs"] >= _t("walk")["min_legs_valid_frac"]))
    flight = b.legs_ok & (np.minimum(b.foot_height("left"), b.foot_height("right")) >= t["flight_min_foot_m"])
    jog = (steps >= t["jog_min_steps_per_s"]) & (w.runs(flight) >= 1)
    lifted = np.abs(d) >= t["lift_diff_m"]
    return [Hit("jog_in_place", "jog in place", None, ("jog in place", "run in place", "jog on the spot"),
                fire & jog, 1.0, lifted, steps * w.duration),
            Hit("step_in_place", "step in place", None, ("step in place", "march in place", "walk on the spot"),
                fire & ~jog, 1.0, lifted, steps * w.duration)]


@_evaluates("turn")
def _turn(b: Body, w: Windows, t: Mapping[str, float]) -> list[Hit]:
    delta = np.degrees(w.tail(b.heading, t["end_average_s"]) - w.head(b.heading, t["end_average_s"]))
    ok = w.frac(b.facing_ok) >= t["min_facing_valid_frac"]
    a = np.abs(delta)
    buckets = {45: (a >= t["min_deg"]) & (a < t["deg_90_from"]),
               90: (a >= t["deg_90_from"]) & (a < t["deg_180_from"]),
               180: (a >= t["deg_180_from"]) & (a < t["deg_360_from"]),
               360: a >= t["deg_360_from"]}
    texts = {
        45: ("turn slightly to the {side}", ("turn slightly to the {side}", "turn 45 degrees to the {side}",
                                             "turn a little to the {side}")),
        90: ("turn {side}", ("turn {side}", "turn to the {side}", "turn 90 degrees to the {side}",
                             "make a {side} turn")),
        180: ("turn around", ("turn around", "turn around to the {side}", "turn 180 degrees to the {side}")),
        360: ("turn all the way around", ("turn all the way around to the {side}", "turn in a full circle",
                                          "turn a full circle to the {side}")),
    }
    rate = np.abs(derivative(b.heading, b.frames(0.1), b.fps)) > np.radians(20.0)
    out = []
    for side, sign in (("left", delta > 0), ("right", delta < 0)):
        for amount, mask in buckets.items():
            phrase, variants = texts[amount]
            out.append(Hit(f"turn_{side}_{amount}", phrase.format(side=side), side,
                           tuple(v.format(side=side) for v in variants), ok & sign & mask,
                           a / 180.0, rate, amount))
    return out


@_evaluates("spin")
def _spin(b: Body, w: Windows, t: Mapping[str, float]) -> list[Hit]:
    delta = np.degrees(w.tail(b.heading, 0.25) - w.head(b.heading, 0.25))
    half = b.frames(t["rate_span_s"] / 2)
    rate = np.degrees(derivative(b.heading, half, b.fps))
    fast = w.max(np.abs(rate)) >= t["min_rate_deg_per_s"]
    ok = w.frac(b.facing_ok) >= _t("turn")["min_facing_valid_frac"]
    out = []
    for side, sign in (("left", delta >= t["min_deg"]), ("right", -delta >= t["min_deg"])):
        out.append(Hit(f"spin_{side}", "spin around", side,
                       ("spin around", f"spin around to the {side}", "twirl around", "spin in a circle"),
                       ok & fast & sign, np.abs(delta) / 720.0, np.abs(rate) >= t["min_rate_deg_per_s"] / 2,
                       np.abs(delta)))
    return out


@_evaluates("circle")
def _circle(b: Body, w: Windows, t: Mapping[str, float]) -> list[Hit]:
    total = np.degrees(w.sum(b.travel_turn))
    moving = b.speed > t["moving_speed_mps"]
    ok = w.frac(moving) >= t["min_moving_frac"]
    texts = {"left": "counterclockwise", "right": "clockwise"}
    out = []
    for side, sign in (("left", total >= t["min_deg"]), ("right", -total >= t["min_deg"])):
        out.append(Hit(f"circle_{side}", "walk in a circle", side,
                       ("walk in a circle", f"walk in a circle {texts[side]}", f"go around in a {texts[side]} circle",
                        f"move in a circle to the {side}"), ok & sign, np.abs(total) / 540.0, moving, np.abs(total)))
    return out


# --- vertical -----------------------------------------------------------------------------------------------
@_evaluates("jump")
def _jump(b: Body, w: Windows, t: Mapping[str, float]) -> list[Hit]:
    fl, fr = b.foot_height("left"), b.foot_height("right")
    flight = (b.legs_ok & (np.minimum(fl, fr) >= t["flight_min_foot_m"])
              & (np.abs(fl - fr) <= t["max_feet_height_diff_m"]))
    fire = ((w.longest_run(flight) >= w.frames(t["min_flight_s"]))
            & (w.max(b.height("pelvis"), flight) >= t["min_peak_pelvis_m"])
            & (w.max(b.vertical_velocity) >= t["min_up_speed_mps"]))
    count = w.runs(flight)
    vf = w.mean(np.where(flight, b.body_velocity[:, 0], np.nan))
    vl = w.mean(np.where(flight, b.body_velocity[:, 1], np.nan))
    speed = w.mean(np.where(flight, b.speed, np.nan))
    moving = speed >= t["min_horizontal_mps"]
    dirs = direction(np.nan_to_num(vf), np.nan_to_num(vl), np.nan_to_num(speed))
    texts = {"forward": ("jump forward", ("jump forward", "leap forward", "jump ahead")),
             "backward": ("jump backward", ("jump backward", "jump back", "hop backward")),
             "sideways_left": ("jump to the left", ("jump to the left", "jump sideways to the left")),
             "sideways_right": ("jump to the right", ("jump to the right", "jump sideways to the right"))}
    out = []
    some = np.zeros(len(w), dtype=bool)
    strength = w.max(b.vertical_velocity) / 2.5
    for key, mask in dirs.items():
        mask = mask & moving
        some |= mask
        phrase, variants = texts[key]
        out.append(Hit(f"jump_{key}", phrase, {"sideways_left": "left", "sideways_right": "right"}.get(key),
                       variants, fire & mask, strength, flight, count))
    several = count >= 2
    out.append(Hit("jump", "jump", None, ("jump", "jump up", "jump in place"), fire & ~some & ~several, strength,
                   flight, count))
    out.append(Hit("jump", "jump up and down", None, ("jump up and down", "jump several times", "jump repeatedly"),
                   fire & ~some & several, strength, flight, count))
    return out


@_evaluates("hop")
def _hop(b: Body, w: Windows, t: Mapping[str, float]) -> list[Hit]:
    heights = {"left": b.foot_height("left"), "right": b.foot_height("right")}
    up_fast = w.max(b.vertical_velocity) >= t["min_up_speed_mps"]
    out = []
    for side, other in (("left", "right"), ("right", "left")):
        hs, ho = heights[side], heights[other]
        flight = b.legs_ok & (hs >= t["flight_min_foot_m"]) & (ho >= hs + t["min_raised_diff_m"])
        raised = ((w.min(np.where(b.legs_ok, ho, np.nan)) >= t["raised_foot_m"])
                  & (w.min(np.where(b.legs_ok, hs, np.nan)) <= t["max_landing_foot_m"]))
        fire = (w.longest_run(flight) >= w.frames(t["min_flight_s"])) & raised & up_fast
        out.append(Hit(f"hop_{side}", f"hop on the {side} foot", side,
                       (f"hop on their {side} foot", f"hop on the {side} leg", f"hop on one foot, the {side}"),
                       fire, 1.0, flight, w.runs(flight)))
    return out


def _static_posture(w: Windows, mask: np.ndarray, min_frac: float) -> tuple[np.ndarray, np.ndarray]:
    frac = w.frac(mask)
    return frac >= min_frac, frac


def _ends_in(b: Body, w: Windows, mask: np.ndarray, t: Mapping[str, float]) -> np.ndarray:
    """Windows that start upright and end in ``mask`` (end_s / end_frac thresholds of ``t``)."""
    n = w.frames(t["end_s"])
    return ((w.frac(upright(b), 0, n) >= t["end_frac"])
            & (w.frac(mask, w.length - n, n) >= t["end_frac"]))


@_evaluates("crouch")
def _crouch(b: Body, w: Windows, t: Mapping[str, float]) -> list[Hit]:
    mask = postures(b)["crouch"]
    fire = w.longest_run(mask) >= w.frames(t["min_s"])
    return [Hit("crouch", "crouch down", None, ("crouch down", "squat down", "squat", "crouch"), fire,
                w.frac(mask), mask)]


@_evaluates("sit")
def _sit(b: Body, w: Windows, t: Mapping[str, float]) -> list[Hit]:
    mask = postures(b)["sit"]
    static, frac = _static_posture(w, mask, t["min_frac"])
    down = _ends_in(b, w, mask, t)
    return [Hit("sit_down", "sit down", None, ("sit down", "take a seat", "sit down on a chair"), down, 1.0, mask),
            Hit("sit", "sit", None, ("sit", "sit on a chair", "sit on a seat", "remain seated"), static & ~down,
                frac, mask)]


@_evaluates("sit_floor")
def _sit_floor(b: Body, w: Windows, t: Mapping[str, float]) -> list[Hit]:
    mask = postures(b)["sit_floor"]
    static, frac = _static_posture(w, mask, t["min_frac"])
    down = _ends_in(b, w, mask, t)
    return [Hit("sit_floor_down", "sit down on the floor", None,
                ("sit down on the floor", "sit down on the ground"), down, 1.0, mask),
            Hit("sit_floor", "sit on the floor", None, ("sit on the floor", "sit on the ground"), static & ~down,
                frac, mask)]


@_evaluates("kneel")
def _kneel(b: Body, w: Windows, t: Mapping[str, float]) -> list[Hit]:
    p = postures(b)
    kneel_l, kneel_r = p["kneel_left"], p["kneel_right"]
    any_knee = kneel_l | kneel_r
    down = _ends_in(b, w, any_knee, t)
    left, fl = _static_posture(w, kneel_l, t["min_frac"])
    right, fr = _static_posture(w, kneel_r, t["min_frac"])
    both_frac = w.frac(kneel_l & kneel_r)
    both = (both_frac >= t["min_frac"]) | (left & right)
    phrases, variants = _sided_texts("kneel on the {side} knee",
                                     ("kneel on their {side} knee", "kneel down on the {side} knee"),
                                     "kneel", ("kneel", "kneel on both knees", "kneel on the floor"))
    hits = _sides("kneel", left & ~down, right & ~down, both & ~down, phrases, variants,
                  {"left": kneel_l, "right": kneel_r, "both": kneel_l & kneel_r},
                  {"left": fl, "right": fr, "both": both_frac})
    hits.append(Hit("kneel_down", "kneel down", None, ("kneel down", "get down on their knees", "drop to a knee"),
                    down, 1.0, any_knee))
    return hits


@_evaluates("lie")
def _lie(b: Body, w: Windows, t: Mapping[str, float]) -> list[Hit]:
    mask = postures(b)["lie"]
    static, frac = _static_posture(w, mask, t["min_frac"])
    n = w.frames(t["end_s"])
    down = ((w.frac(mask, 0, n) <= t["start_max_frac"]) & (w.frac(mask, w.length - n, n) >= t["end_frac"]))
    static &= ~down
    up = w.mean(np.where(mask, b.chest_up, np.nan))
    left_low = w.mean(np.where(mask, b.joint("left_shoulder")[:, 2] - b.joint("right_shoulder")[:, 2], np.nan)) < 0
    back, front = up >= t["back_min_up"], up <= -t["back_min_up"]
    side = ~back & ~front
    return [
        Hit("lie_down", "lie down", None, ("lie down", "lie down on the floor", "lie down on the ground"), down,
            1.0, mask),
        Hit("lie_back", "lie on the back", None, ("lie on their back", "lie on the floor on their back",
                                                  "lie face up"), static & back, frac, mask),
        Hit("lie_front", "lie face down", None, ("lie face down", "lie on their stomach", "lie prone on the floor"),
            static & front, frac, mask),
        Hit("lie_side_left", "lie on the left side", "left", ("lie on their left side",), static & side & left_low,
            frac, mask),
        Hit("lie_side_right", "lie on the right side", "right", ("lie on their right side",),
            static & side & ~left_low, frac, mask),
    ]


@_evaluates("all_fours")
def _all_fours(b: Body, w: Windows, t: Mapping[str, float]) -> list[Hit]:
    mask = postures(b)["all_fours"]
    static, frac = _static_posture(w, mask, t["min_frac"])
    moving = w.mean(np.where(mask, b.speed, np.nan)) >= t["crawl_min_speed_mps"]
    return [Hit("crawl", "crawl", None, ("crawl", "crawl on all fours", "crawl on their hands and knees"),
                static & moving, frac, mask),
            Hit("on_all_fours", "get on all fours", None, ("get down on all fours", "get on their hands and knees",
                                                             "stay on all fours"), static & ~moving, frac, mask)]


@_evaluates("get_up")
def _get_up(b: Body, w: Windows, t: Mapping[str, float]) -> list[Hit]:
    ph = b.height("pelvis")
    start = w.head(ph, t["end_s"])
    end = w.tail(ph, t["end_s"])
    n = w.frames(t["end_s"])
    sitting = postures(b)["sit"]
    low = w.frac((ph <= t["start_max_pelvis_m"]) | sitting, 0, w.frames(t["start_s"])) >= t["start_frac"]
    fire = (low & (end - start >= t["min_rise_m"])
            & (w.frac(upright(b), w.length - n, n) >= t["end_upright_frac"]))
    from_sit = w.frac(sitting, 0, n) >= t["from_sit_frac"]
    rising = b.vertical_velocity > 0.1
    return [Hit("stand_up", "stand up", None, ("stand up", "get up from a seat", "rise to their feet"),
                fire & from_sit, 1.0, rising),
            Hit("get_up", "get up", None, ("get up", "stand up", "get back up on their feet"), fire & ~from_sit,
                1.0, rising)]


@_evaluates("fall")
def _fall(b: Body, w: Windows, t: Mapping[str, float]) -> list[Hit]:
    ph = np.where(b.legs_ok & b.torso_ok, b.height("pelvis"), np.nan)
    drop = w.head(ph, t["end_s"]) - w.tail(ph, t["end_s"])
    falling = b.vertical_velocity <= -t["min_down_speed_mps"]
    fire = ((w.max(-b.vertical_velocity) >= t["min_down_speed_mps"]) & (drop >= t["min_drop_m"])
            & (w.tail(ph, t["end_s"]) <= t["end_max_pelvis_m"]))
    return [Hit("fall", "fall down", None, ("fall down", "fall to the ground", "fall over"), fire, drop, falling)]


@_evaluates("upside_down")
def _upside_down(b: Body, w: Windows, t: Mapping[str, float]) -> list[Hit]:
    inv = postures(b)["upside_down"]
    run = w.longest_run(inv)
    some = run >= w.frames(t["min_s"])
    hands = inv & (np.maximum(b.height("left_wrist"), b.height("right_wrist")) <= t["max_wrist_m"])
    handstand = some & (w.longest_run(hands) >= w.frames(t["min_handstand_s"]))
    n = w.frames(t["end_s"])
    ends_up = (w.frac(upright(b), 0, n) > 0.5) & (w.frac(upright(b), w.length - n, n) > 0.5)
    pelvis = b.joint("pelvis")
    dx = w.tail(pelvis[:, 0], t["end_s"]) - w.head(pelvis[:, 0], t["end_s"])
    dy = w.tail(pelvis[:, 1], t["end_s"]) - w.head(pelvis[:, 1], t["end_s"])
    left_x, left_y = w.head(b.left[:, 0], t["end_s"]), w.head(b.left[:, 1], t["end_s"])
    sideways = np.abs(dx * left_x + dy * left_y) >= t["cartwheel_min_sideways_m"]
    cartwheel = some & ~handstand & ends_up & sideways & (run <= w.frames(t["cartwheel_max_s"]))
    return [Hit("handstand", "do a handstand", None, ("do a handstand", "stand on their hands"), handstand, 1.0,
                hands),
            Hit("cartwheel", "do a cartwheel", None, ("do a cartwheel", "turn a cartwheel"), cartwheel, 1.0, inv),
            Hit("upside_down", "turn upside down", None, ("turn upside down", "go upside down", "flip over"),
                some & ~handstand & ~cartwheel, 1.0, inv)]


@_evaluates("touch_floor")
def _touch_floor(b: Body, w: Windows, t: Mapping[str, float]) -> list[Hit]:
    p = postures(b)
    free = (~p["lie"] & ~p["all_fours"] & ~p["upside_down"] & ~p["sit_floor"] & b.legs_ok
            & (b.height("pelvis") >= t["min_pelvis_m"]))
    masks = {s: free & b.ok(f"{s}_wrist") & (b.height(f"{s}_wrist") <= t["max_wrist_m"]) for s in ("left", "right")}
    n = w.frames(t["min_s"])
    left = w.longest_run(masks["left"]) >= n
    right = w.longest_run(masks["right"]) >= n
    both = w.longest_run(masks["left"] & masks["right"]) >= n
    phrases, variants = _sided_texts("touch the floor with the {side} hand",
                                     ("touch the floor with their {side} hand",
                                      "reach down to the floor with their {side} hand"),
                                     "put both hands on the floor", ("put both hands on the floor",
                                                                    "touch the floor with both hands"))
    return _sides("touch_floor", left, right, both, phrases, variants,
                  {"left": masks["left"], "right": masks["right"], "both": masks["left"] & masks["right"]})


# --- torso --------------------------------------------------------------------------------------------------
def _standing_torso(b: Body, min_pelvis: float) -> np.ndarray:
    p = postures(b)
    return (b.legs_ok & b.torso_ok & (b.height("pelvis") >= min_pelvis) & ~p["all_fours"] & ~p["lie"]
            & ~p["upside_down"])


@_evaluates("bend_forward")
def _bend_forward(b: Body, w: Windows, t: Mapping[str, float]) -> list[Hit]:
    mask = (_standing_torso(b, t["min_pelvis_m"]) & (b.torso_pitch >= t["min_pitch_deg"])
            & (b.speed <= t["max_speed_mps"]))
    fire = w.longest_run(mask) >= w.frames(t["min_s"])
    return [Hit("bend_forward", "bend forward", None, ("bend forward", "bend over", "bend down at the waist"),
                fire, w.max(b.torso_pitch, mask) / 90.0, mask)]


@_evaluates("bow")
def _bow(b: Body, w: Windows, t: Mapping[str, float]) -> list[Hit]:
    pitch = np.where(b.torso_ok & b.legs_ok, b.torso_pitch, np.nan)
    peak = w.max(pitch)
    loco = locomotion(b, w)
    fire = ((peak >= t["min_pitch_deg"]) & (peak <= t["max_pitch_deg"])
            & (w.head(pitch, t["end_s"]) <= t["end_max_pitch_deg"])
            & (w.tail(pitch, t["end_s"]) <= t["end_max_pitch_deg"])
            & (loco["speed"] <= t["max_speed_mps"])
            & (w.frac(b.height("pelvis") >= _t("stand_still")["upright_min_pelvis_m"]) >= t["min_upright_frac"]))
    return [Hit("bow", "bow", None, ("bow", "take a bow", "bow forward"), fire, peak / 60.0,
                pitch >= t["min_pitch_deg"])]


@_evaluates("lean")
def _lean(b: Body, w: Windows, t: Mapping[str, float]) -> list[Hit]:
    base = _standing_torso(b, t["min_pelvis_m"])
    n = w.frames(t["min_s"])
    slow = b.speed <= t["forward_max_speed_mps"]
    masks = {
        "left": base & (b.torso_roll >= t["min_side_deg"]),
        "right": base & (-b.torso_roll >= t["min_side_deg"]),
        "back": base & (-b.torso_pitch >= t["min_back_deg"]),
        "forward": base & slow & (b.torso_pitch >= t["min_forward_deg"]) & (b.torso_pitch < t["max_forward_deg"]),
    }
    texts = {
        "left": ("lean to the left", ("lean to the left", "lean their upper body to the left", "tilt to the left")),
        "right": ("lean to the right", ("lean to the right", "lean their upper body to the right",
                                        "tilt to the right")),
        "back": ("lean back", ("lean back", "lean backward", "bend backward")),
        "forward": ("lean forward", ("lean forward", "lean forward slightly")),
    }
    return [Hit(f"lean_{k}", texts[k][0], k if k in ("left", "right") else None, texts[k][1],
                w.longest_run(m) >= n, w.frac(m), m) for k, m in masks.items()]


@_evaluates("twist")
def _twist(b: Body, w: Windows, t: Mapping[str, float]) -> list[Hit]:
    ok = b.torso_ok & (b.torso_tilt <= t["max_tilt_deg"]) & (b.speed <= t["max_speed_mps"])
    tw = np.degrees(b.twist)
    masks = {"left": ok & (tw >= t["min_deg"]), "right": ok & (-tw >= t["min_deg"])}
    n = w.frames(t["min_s"])
    left, right = w.longest_run(masks["left"]) >= n, w.longest_run(masks["right"]) >= n
    phrases, variants = _sided_texts("twist the upper body to the {side}",
                                     ("twist their upper body to the {side}", "turn their torso to the {side}",
                                      "twist to the {side}"),
                                     "twist from side to side", ("twist from side to side",
                                                                 "twist their upper body from side to side"))
    return _sides("twist", left, right, None, phrases, variants,
                  {"left": masks["left"], "right": masks["right"], "both": masks["left"] | masks["right"]})


# --- arms ---------------------------------------------------------------------------------------------------
def _arm(b: Body, side: str) -> dict[str, np.ndarray]:
    """Shared arm measurements: validity, wrist relative to the shoulder (body frame) and its length."""
    def make() -> dict[str, np.ndarray]:
        rel = b.relative(f"{side}_wrist", f"{side}_shoulder")
        return {"ok": b.arm_ok(side) & b.ok("pelvis"), "rel": rel, "ext": np.linalg.norm(rel, axis=-1),
                "outward": rel[:, 1] if side == "left" else -rel[:, 1]}

    return _cached(b.cache, f"arm_{side}", make)


_RAISE_HAND_TEXT = _sided_texts("raise the {side} hand",
                                ("raise their {side} hand above their head", "raise their {side} arm up",
                                 "lift their {side} hand over their head", "put their {side} hand up"),
                                "raise both hands", ("raise both hands above their head", "raise both arms up",
                                                     "put both hands in the air"))
_WAVE_TEXT = _sided_texts("wave the {side} hand",
                          ("wave their {side} hand", "wave with their {side} hand",
                           "wave hello with their {side} hand"),
                          "wave both hands", ("wave both hands", "wave both arms in the air"))


@_evaluates("raise_hand")
def _raise_hand(b: Body, w: Windows, t: Mapping[str, float]) -> list[Hit]:
    head = b.joint("head")[:, 2]
    up = b.torso_tilt <= t["max_tilt_deg"]
    above = {s: np.where(_arm(b, s)["ok"] & up, b.joint(f"{s}_wrist")[:, 2] - head, -np.inf)
             for s in ("left", "right")}
    high = {s: above[s] >= t["min_above_head_m"] for s in above}
    near = {s: above[s] >= t["min_above_head_m"] - t["both_margin_m"] for s in above}
    masks = {"left": high["left"] & ~near["right"], "right": high["right"] & ~near["left"]}
    n = w.frames(t["min_s"])
    both_mask = (high["left"] & near["right"]) | (high["right"] & near["left"])
    phrases, variants = _RAISE_HAND_TEXT
    return _sides("raise_hand", w.longest_run(masks["left"]) >= n, w.longest_run(masks["right"]) >= n,
                  w.longest_run(both_mask) >= n, phrases, variants,
                  {"left": masks["left"], "right": masks["right"], "both": both_mask})


@_evaluates("raise_arm")
def _raise_arm(b: Body, w: Windows, t: Mapping[str, float]) -> list[Hit]:
    masks = {}
    for s in ("left", "right"):
        a = _arm(b, s)
        dz = a["rel"][:, 2]
        masks[s] = (a["ok"] & (a["ext"] >= t["min_extension_m"]) & (a["outward"] >= t["min_outward_m"])
                    & (dz >= t["min_dz_m"]) & (dz <= t["max_dz_m"]))
    n = w.frames(t["min_s"])
    both_mask = masks["left"] & masks["right"]
    phrases, variants = _sided_texts("raise the {side} arm to the side",
                                     ("raise their {side} arm to the side", "hold their {side} arm out to the side",
                                      "lift their {side} arm to shoulder height"),
                                     "stretch both arms out to the sides",
                                     ("stretch both arms out to the sides", "raise both arms to shoulder height",
                                      "hold their arms out to the sides"))
    return _sides("raise_arm", w.longest_run(masks["left"]) >= n, w.longest_run(masks["right"]) >= n,
                  w.longest_run(both_mask) >= n, phrases, variants,
                  {"left": masks["left"], "right": masks["right"], "both": both_mask})


@_evaluates("wave")
def _wave(b: Body, w: Windows, t: Mapping[str, float]) -> list[Hit]:
    fires, frames, moving = {}, {}, {}
    line = (b.joint("left_shoulder") - b.joint("right_shoulder"))[:, :2]
    shoulder_line = line / np.maximum(np.linalg.norm(line, axis=-1, keepdims=True), 1e-6)  # chest frame: a
    # twisting torso with the hands at the head moves the wrists sideways in the hip frame, not in this one
    for s in ("left", "right"):
        wrist_z = b.joint(f"{s}_wrist")[:, 2]
        gate = (_arm(b, s)["ok"] & (wrist_z - b.joint(f"{s}_elbow")[:, 2] >= t["min_above_elbow_m"])
                & (wrist_z - b.joint(f"{s}_shoulder")[:, 2] >= t["min_above_shoulder_m"]))
        lateral = np.sum((b.joint(f"{s}_wrist") - b.joint(f"{s}_elbow"))[:, :2] * shoulder_line, axis=-1)
        vel = derivative(lateral, b.frames(0.05), b.fps)
        state = hysteresis_state(np.where(gate, vel, 0.0), -t["swing_speed_mps"], t["swing_speed_mps"])
        swings = w.count(state_changes(state) & gate)
        amplitude = w.max(lateral, gate) - w.min(lateral, gate)
        up = w.frac(gate) >= t["min_raised_frac"]
        fires[s] = up & (swings >= t["min_swings"]) & (amplitude >= t["min_amplitude_m"])
        moving[s] = up & (amplitude >= t["min_amplitude_m"]) & (w.max(np.abs(vel), gate) >= t["swing_speed_mps"])
        frames[s] = gate
    both = (fires["left"] & moving["right"]) | (fires["right"] & moving["left"])
    frames["both"] = frames["left"] & frames["right"]
    phrases, variants = _WAVE_TEXT
    return _sides("wave", fires["left"], fires["right"], both, phrases, variants, frames)


@_evaluates("punch")
def _punch(b: Body, w: Windows, t: Mapping[str, float]) -> list[Hit]:
    fires, frames, counts = {}, {}, {}
    idx = np.arange(b.n)
    for s in ("left", "right"):
        a = _arm(b, s)
        dz = a["rel"][:, 2]
        guard = a["ok"] & (a["ext"] <= t["guard_max_m"])
        last_guard = np.maximum.accumulate(np.where(guard, idx, -b.n))
        next_guard = np.minimum.accumulate(np.where(guard, idx, 2 * b.n)[::-1])[::-1]
        mask = (a["ok"] & b.interior & (a["ext"] >= t["min_extension_m"]) & (a["rel"][:, 0] >= t["min_forward_m"])
                & (dz >= t["min_dz_m"]) & (dz <= t["max_dz_m"]) & (idx - last_guard <= b.frames(t["max_extend_s"]))
                & (next_guard - idx <= b.frames(t["max_retract_s"])))
        counts[s] = w.runs(mask)
        fires[s] = counts[s] >= 1
        frames[s] = mask
    frames["both"] = frames["left"] | frames["right"]
    phrases, variants = _sided_texts("punch with the {side} hand",
                                     ("punch with their {side} fist", "throw a punch with their {side} hand",
                                      "punch forward with their {side} hand"),
                                     "punch with both hands", ("throw punches with both hands",
                                                               "punch with both fists", "punch the air"))
    return _sides("punch", fires["left"], fires["right"], None, phrases, variants, frames)


@_evaluates("reach")
def _reach(b: Body, w: Windows, t: Mapping[str, float]) -> list[Hit]:
    masks = {}
    for s in ("left", "right"):
        a = _arm(b, s)
        wz = b.joint(f"{s}_wrist")[:, 2]
        masks[s] = (a["ok"] & (a["ext"] >= t["min_extension_m"]) & (a["rel"][:, 0] >= t["min_forward_m"])
                    & (wz >= b.joint("pelvis")[:, 2]) & (wz <= b.joint("head")[:, 2] + t["max_above_head_m"]))
    n = w.frames(t["min_s"])
    both_mask = masks["left"] & masks["right"]
    phrases, variants = _sided_texts("reach forward with the {side} hand",
                                     ("reach forward with their {side} hand", "reach out with their {side} arm",
                                      "stretch their {side} arm forward"),
                                     "reach forward with both hands", ("reach forward with both hands",
                                                                       "stretch both arms forward"))
    return _sides("reach", w.longest_run(masks["left"]) >= n, w.longest_run(masks["right"]) >= n,
                  w.longest_run(both_mask) >= n, phrases, variants,
                  {"left": masks["left"], "right": masks["right"], "both": both_mask})


@_evaluates("clap")
def _clap(b: Body, w: Windows, t: Mapping[str, float]) -> list[Hit]:
    ok = _arm(b, "left")["ok"] & _arm(b, "right")["ok"]
    pz = b.joint("pelvis")[:, 2]
    high = ((b.joint("left_wrist")[:, 2] - pz >= t["min_above_pelvis_m"])
            & (b.joint("right_wrist")[:, 2] - pz >= t["min_above_pelvis_m"]))
    d = b.distance("left_wrist", "right_wrist")
    state = hysteresis_state(np.where(ok, d, 0.5 * (t["close_m"] + t["apart_m"])), t["close_m"], t["apart_m"])
    head = b.joint("head")[:, 2]
    low = ((b.joint("left_wrist")[:, 2] - head <= t["max_above_head_m"])
           & (b.joint("right_wrist")[:, 2] - head <= t["max_above_head_m"]))
    k = max(1, b.frames(t["close_speed_s"]))
    before = np.concatenate([np.full(min(k, len(d)), -np.inf), d[:max(len(d) - k, 0)]])  # d k frames earlier
    closing = (before - d) / (k / b.fps) >= t["min_close_speed_mps"]
    claps = state_changes(state, to=-1) & ok & high & low & closing
    count = w.count(claps)
    return [Hit("clap", "clap the hands", None, ("clap their hands", "clap", "clap a few times"),
                count >= t["min_claps"], count / 6.0, ok & high & (d <= t["apart_m"]), count)]


@_evaluates("cross_arms")
def _cross_arms(b: Body, w: Windows, t: Mapping[str, float]) -> list[Hit]:
    lw, rw = b.chest_relative("left_wrist"), b.chest_relative("right_wrist")
    le, re = b.chest_relative("left_elbow"), b.chest_relative("right_elbow")
    pz = b.joint("pelvis")[:, 2]
    sz = 0.5 * (b.joint("left_shoulder")[:, 2] + b.joint("right_shoulder")[:, 2])
    mask = _arm(b, "left")["ok"] & _arm(b, "right")["ok"] & (lw[:, 1] <= -t["min_cross_m"]) & (
        rw[:, 1] >= t["min_cross_m"]) & (le[:, 1] >= t["min_elbow_out_m"]) & (-re[:, 1] >= t["min_elbow_out_m"])
    for wr in (b.joint("left_wrist"), b.joint("right_wrist")):
        mask &= (wr[:, 2] - pz >= t["min_above_pelvis_m"]) & (wr[:, 2] - sz <= t["max_above_shoulder_m"])
    for rel in (lw, rw):
        mask &= (rel[:, 0] >= t["min_forward_m"]) & (rel[:, 0] <= t["max_forward_m"])
    fire = w.longest_run(mask) >= w.frames(t["min_s"])
    return [Hit("cross_arms", "cross the arms", None, ("cross their arms", "fold their arms across their chest",
                                                       "fold their arms"), fire, w.frac(mask), mask)]


@_evaluates("arm_circle")
def _arm_circle(b: Body, w: Windows, t: Mapping[str, float]) -> list[Hit]:
    fires, frames = {}, {}
    for s in ("left", "right"):
        a = _arm(b, s)
        rel = a["rel"]
        best = np.zeros(len(w))
        moving = np.zeros(b.n, dtype=bool)
        for u in (rel[:, 0], a["outward"]):  # sagittal and frontal planes
            gate = a["ok"] & (np.hypot(u, rel[:, 2]) >= t["min_projection_m"])
            ang = np.arctan2(rel[:, 2], u)
            d = (np.diff(ang, prepend=ang[:1]) + np.pi) % (2 * np.pi) - np.pi
            d = np.where(gate & np.concatenate([[False], gate[:-1]]), d, 0.0)
            best = np.maximum(best, np.abs(np.degrees(w.sum(d, 1, w.length - 1))))
            moving |= np.abs(d) > 0
        fires[s] = best >= t["min_deg"]
        frames[s] = moving
    frames["both"] = frames["left"] | frames["right"]
    phrases, variants = _sided_texts("circle the {side} arm",
                                     ("circle their {side} arm", "swing their {side} arm in circles",
                                      "rotate their {side} arm in a circle"),
                                     "circle both arms", ("circle both arms", "swing both arms in circles",
                                                          "make circles with both arms"))
    return _sides("arm_circle", fires["left"], fires["right"], None, phrases, variants, frames)


@_evaluates("hand_to_face")
def _hand_to_face(b: Body, w: Windows, t: Mapping[str, float]) -> list[Hit]:
    head = b.joint("head")[:, 2]
    masks = {s: _arm(b, s)["ok"] & (b.distance(f"{s}_wrist", "head") <= t["max_distance_m"])
             & (b.joint(f"{s}_wrist")[:, 2] - head <= t["max_above_head_m"]) for s in ("left", "right")}
    n = w.frames(t["min_s"])
    both_mask = masks["left"] & masks["right"]
    phrases, variants = _sided_texts("bring the {side} hand to the face",
                                     ("bring their {side} hand to their face", "raise their {side} hand to their mouth",
                                      "touch their face with their {side} hand"),
                                     "bring both hands to the face", ("cover their face with both hands",
                                                                      "bring both hands to their face"))
    return _sides("hand_to_face", w.longest_run(masks["left"]) >= n, w.longest_run(masks["right"]) >= n,
                  w.longest_run(both_mask) >= n, phrases, variants,
                  {"left": masks["left"], "right": masks["right"], "both": both_mask})


# --- legs ---------------------------------------------------------------------------------------------------
@_evaluates("kick")
def _kick(b: Body, w: Windows, t: Mapping[str, float]) -> list[Hit]:
    out = []
    up = b.height("pelvis") >= t["min_pelvis_m"]
    for side, other in (("left", "right"), ("right", "left")):
        forward = b.relative(f"{side}_ankle", "pelvis")[:, 0]
        speed = derivative(forward, b.frames(0.03), b.fps)
        mask = (b.legs_ok & b.interior & up & (b.height(f"{side}_ankle") >= t["min_ankle_m"])
                & (forward >= t["min_forward_m"])
                & (speed >= t["min_speed_mps"]) & (b.knee_angle(side) >= t["min_knee_deg"])
                & (b.foot_height(other) <= t["max_support_foot_m"]))
        count = w.runs(mask)
        out.append(Hit(f"kick_{side}", f"kick with the {side} leg", side,
                       (f"kick with their {side} leg", f"kick their {side} foot out", f"kick with the {side} foot"),
                       count >= 1, 1.0, mask, count))
    return out


@_evaluates("knee_raise")
def _knee_raise(b: Body, w: Windows, t: Mapping[str, float]) -> list[Hit]:
    up = b.legs_ok & (b.height("pelvis") >= t["min_pelvis_m"])
    masks = {s: up & (b.thigh_elevation(s) >= t["min_thigh_deg"]) & (b.foot_height(o) <= t["max_support_foot_m"])
             & (b.knee_angle(o) >= t["min_support_knee_deg"]) for s, o in (("left", "right"), ("right", "left"))}
    n = w.frames(t["min_s"])
    phrases, variants = _sided_texts("raise the {side} knee",
                                     ("raise their {side} knee", "lift their {side} knee up",
                                      "bring their {side} knee up"),
                                     "raise the knees", ("raise their knees one after the other",
                                                         "lift their knees high", "raise each knee in turn"))
    return _sides("knee_raise", w.longest_run(masks["left"]) >= n, w.longest_run(masks["right"]) >= n, None,
                  phrases, variants, {"left": masks["left"], "right": masks["right"],
                                      "both": masks["left"] | masks["right"]})


@_evaluates("step_up")
def _step_up(b: Body, w: Windows, t: Mapping[str, float]) -> list[Hit]:
    feet = np.where(b.valid[:, [10, 11, 7, 8]], b.p[:, [10, 11, 7, 8], 2], np.inf).min(1)
    feet = np.where(b.legs_ok & np.isfinite(feet), feet, np.nan)
    pz = np.where(b.legs_ok, b.joint("pelvis")[:, 2], np.nan)
    start, end = w.head(feet, t["end_s"]), w.tail(feet, t["end_s"])
    standing = ((w.head(pz, t["end_s"]) - start >= t["min_standing_pelvis_m"])
                & (w.tail(pz, t["end_s"]) - end >= t["min_standing_pelvis_m"]))
    rise = end - start
    climbing = np.abs(derivative(feet, b.frames(0.1), b.fps)) > 0.1
    return [Hit("step_up", "step up", None, ("step up", "step up onto something", "climb up a step"),
                standing & (rise >= t["min_rise_m"]), rise / 0.4, climbing),
            Hit("step_down", "step down", None, ("step down", "step down from something", "step off a ledge"),
                standing & (-rise >= t["min_rise_m"]), -rise / 0.4, climbing)]


def _fixed_phrases() -> dict[str, str]:
    table = {}
    for rule, texts in (("walk", _WALK_TEXT), ("run", _gait_text("run"))):
        table.update({rule if key is None else f"{rule}_{key}": phrase for key, (phrase, _) in texts.items()})
    for rule, (phrases, _) in (("raise_hand", _RAISE_HAND_TEXT), ("wave", _WAVE_TEXT)):
        table.update({f"{rule}_{side}": phrase for side, phrase in phrases.items()})
    return table


#: Label-like phrases of the facts whose wording is fixed rather than measured (gaits, raised and waving hands),
#: by fact id: what ``near_miss`` names a fact by that did not fire.
FIXED_PHRASES: dict[str, str] = _fixed_phrases()
