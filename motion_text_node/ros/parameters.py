"""The nodes' parameters as one table per node: default (which fixes the type), description, valid values and when
a change takes effect. Plain Python (no rclpy), so tests check every rule without a ROS graph.

Rules, the same at start-up and at run time:
- types: an integer is accepted where a number is expected (``stride_s:=1`` is 1.0) and where a text is expected
  (``track_id:=7`` is "7"); anything else of the wrong type is refused;
- numbers must be finite and inside their range; texts and lists are bounded; choices are listed in the error;
- when a change applies (``Param.applies``): ``LIVE`` at once, ``IO`` by re-creating the subscription or timer
  (while active), ``CONFIGURE`` at the next configure (refused while configured), ``STARTUP`` only at start-up
  (always refused at run time).
A bad start value is one UserError line (the node exits 1); a bad run-time value is a refused change with a reason.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from motion_text_node.errors import UserError
from motion_text_node.runtime.text_input import read_text_file, shown

LIVE, IO, CONFIGURE, STARTUP = "live", "io", "configure", "startup"

EXECUTORS = ("events", "single")
QOS_RELIABILITIES = ("best_effort", "reliable")
INPUT_TYPES = ("skeleton", "skeleton_array", "pose_array", "kinect_markers")
OUTPUT_MODES = ("labels", "array", "both")  # ActionLabel per track on actions, ActionLabelArray per round, both
PROVIDERS = ("auto", "cpu", "cuda")
PRECISIONS = ("auto", "fp32", "int8")  # runtime.encoders.PRECISIONS (not imported: that loads onnxruntime)
UP_AXES = ("", "z", "y", "-y")  # skeleton.adapt.UP_AXIS_ROTATIONS, plus "" for the format's default
#: Fields of runtime.stream.StreamConfig that are node parameters (applied to the recognizer at once).
STREAM_FIELDS = ("stride_s", "smoothing", "min_score", "hysteresis", "top_k", "track_timeout_s", "max_tracks",
                 "max_batch", "stagger")
#: Largest params file read before rclpy.init (ours are under 2 kB).
MAX_PARAMS_FILE_BYTES = 1_000_000
MAX_TOPIC_CHARS = 200
MAX_PATH_CHARS = 4096


@dataclass(frozen=True)
class Check:
    """A rule for a parameter's value: ``ok(value)`` and what the rule says ("must be between 0 and 1")."""

    ok: Callable[[object], bool]
    says: str


@dataclass(frozen=True)
class Param:
    """One parameter: its default (the type), description, rule and when a change applies."""

    default: object
    doc: str
    check: Check | None = None
    applies: str = LIVE

    @property
    def kind(self) -> type:
        """bool, int, float, str or list (of strings)."""
        return type(self.default)

    def description(self) -> str:
        """The description with the rule and, unless live, when a change applies (for ParameterDescriptor)."""
        text = self.doc + (f"; {self.check.says}" if self.check else "")
        return text + {LIVE: "", IO: " (re-subscribes)", CONFIGURE: " (read at configure)",
                       STARTUP: " (read at start-up only)"}[self.applies]


# --- rules -----------------------------------------------------------------------------------------------------
def between(lo: float, hi: float) -> Check:
    """A finite number (or integer) from ``lo`` to ``hi``."""
    return Check(lambda v: isinstance(v, (int, float)) and math.isfinite(v) and lo <= v <= hi,
                 f"must be between {lo:g} and {hi:g}")


def one_of(*choices: str, fold: bool = False) -> Check:
    """One of ``choices`` (``fold``: ignoring case and surrounding spaces, as the code that reads it does)."""
    norm = (lambda v: v.strip().lower()) if fold else (lambda v: v)
    listed = ", ".join(repr(c) if c == "" else c for c in choices)
    return Check(lambda v: isinstance(v, str) and norm(v) in choices, f"must be one of {listed}")


def text(max_chars: int, blank_ok: bool = False) -> Check:
    """A text of at most ``max_chars`` characters without control characters; non-blank unless ``blank_ok``."""
    def ok(v: object) -> bool:
        return (isinstance(v, str) and len(v) <= max_chars and (blank_ok or bool(v.strip()))
                and not any(ord(c) < 32 or ord(c) == 127 for c in v))
    return Check(ok, f"must be a {'' if blank_ok else 'non-blank '}text of at most {max_chars} characters")


def names(max_items: int, max_chars: int) -> Check:
    """A list of at most ``max_items`` texts of at most ``max_chars`` characters each."""
    return Check(lambda v: isinstance(v, list) and len(v) <= max_items and all(
        isinstance(x, str) and len(x) <= max_chars for x in v),
        f"must be a list of at most {max_items} names of at most {max_chars} characters")


#: A topic-name token: letters, digits, '_' and rcl's substitutions, not starting with a digit.
_SUBSTITUTION = r"\{(?:node|ns|namespace)\}"
_TOKEN = rf"(?:[A-Za-z_]|{_SUBSTITUTION})(?:\w|{_SUBSTITUTION})*"
_TOPIC = re.compile(rf"(?:~(?:/{_TOKEN})*|/?{_TOKEN}(?:/{_TOKEN})*)", re.ASCII)


def is_topic_name(name: object) -> bool:
    """Whether ``name`` is a valid ROS 2 topic name, relative, absolute or private ("~/x"): name parts of letters,
    digits, '_' and {node}/{ns}/{namespace}, none empty or starting with a digit (so no '//' or trailing '/').
    What depends on the namespace (the expanded name's length) is left to rclpy when it subscribes."""
    return isinstance(name, str) and len(name) <= MAX_TOPIC_CHARS and _TOPIC.fullmatch(name) is not None


TOPIC_NAME = Check(is_topic_name, "must be a valid ROS topic name (letters, digits, '_' and '/'; a name part "
                                  "does not start with a digit; no '//' or trailing '/')")
FRAME_ID = Check(lambda v: isinstance(v, str) and 0 < len(v) <= 256 and v == v.strip() and v.isprintable()
                 and " " not in v, "must be a frame id (no spaces, at most 256 characters)")


def skeleton_formats() -> tuple[str, ...]:
    """"custom" and the names of the known skeleton formats."""
    from motion_text_node.skeleton.formats import FORMATS

    return ("custom", *sorted(FORMATS))


# --- the tables ------------------------------------------------------------------------------------------------
PATH = text(MAX_PATH_CHARS, blank_ok=True)

RECOGNITION: dict[str, Param] = {
    "autostart": Param(True, "configure and activate at start (false: wait for lifecycle transitions)",
                       applies=STARTUP),
    "model_dir": Param("", "model folder (model.json + ONNX); empty: the shipped models/", PATH, CONFIGURE),
    "labels": Param([""], "action labels to recognize (open vocabulary); empty: labels_file or the model's labels"),
    "labels_file": Param("", "text/YAML file of labels (used when 'labels' is empty)", PATH),
    "input_type": Param("skeleton", "message type of the pose stream", one_of(*INPUT_TYPES), IO),
    "input_topic": Param("skeleton", "topic of the pose stream", TOPIC_NAME, IO),
    "skeleton_format": Param("custom", "pose_array: skeleton format of the poses (smpl22, coco17, ...)",
                             Check(lambda v: isinstance(v, str) and v.strip().lower() in skeleton_formats(),
                                   "must be custom or a known skeleton format (smpl22, coco17, kinect32, ...)")),
    "joint_names": Param([""], "pose_array: joint name of each pose (custom format)", names(256, 100)),
    "up_axis": Param("", "pose_array / kinect_markers: z, y or -y (empty: the format's default)",
                     one_of(*UP_AXES, fold=True)),
    "track_id": Param("pose_array", "pose_array: track id of the stream", text(128)),
    "stride_s": Param(0.333, "recognize every this many seconds of new motion per track", between(0.01, 60.0)),
    "smoothing": Param(0.5, "EMA weight of previous scores (0 = none)", between(0.0, 0.99)),
    "min_score": Param(0.2, "no label below this cosine score", between(-1.0, 1.0)),
    "hysteresis": Param(0.02, "margin a new label needs over the current one", between(0.0, 2.0)),
    "top_k": Param(5, "labels per ActionLabel", between(1, 1000)),
    "track_timeout_s": Param(2.0, "drop a track silent this long", between(0.05, 3600.0)),
    "max_tracks": Param(64, "tracks kept at once (a new one evicts the stalest)", between(1, 1000)),
    "max_batch": Param(64, "windows recognized in one batched inference round at most (the tracks that waited "
                           "longest go first; the others follow in the next round)", between(1, 1000)),
    "stagger": Param(True, "spread the tracks' recognitions over the stride (people who appear in one frame "
                           "would otherwise all fall due at once: a burst every stride)"),
    "output_mode": Param("labels", "labels: one ActionLabel per track on actions; array: one ActionLabelArray "
                                   "per inference round on action_array; both", one_of(*OUTPUT_MODES)),
    "action_text": Param(True, "also publish each label as readable text on action_text (std_msgs/String; off: "
                               "one publish less per label, for crowds)"),
    "qos_reliability": Param("best_effort", "input QoS: best_effort (sensor data) or reliable",
                             one_of(*QOS_RELIABILITIES), IO),
    "qos_depth": Param(50, "input QoS depth", between(1, 10000), IO),
    "providers": Param("auto", "ONNX Runtime providers", one_of(*PROVIDERS, fold=True), CONFIGURE),
    "threads": Param(1, "ONNX Runtime intra-op threads (0: its default)", between(0, 256), CONFIGURE),
    "precision": Param("auto", "motion encoder: auto (int8 on CPU when the model has one), fp32, int8",
                       one_of(*PRECISIONS), CONFIGURE),
    "executor": Param("events", "events (rclpy's EventsExecutor, lowest latency) or single "
                                "(SingleThreadedExecutor; also counts messages lost before intake)",
                      one_of(*EXECUTORS), STARTUP),
    "diagnostics_period_s": Param(1.0, "diagnostics publishing period", between(0.05, 3600.0), IO),
}

RETRIEVAL: dict[str, Param] = {
    "autostart": Param(True, "configure and activate at start", applies=STARTUP),
    "model_dir": Param("", "model folder; empty: the shipped models/", PATH, CONFIGURE),
    "library": Param("", "motion library .npz; empty: the one named in the model folder (reloaded on change)",
                     PATH),
    "max_top_k": Param(50, "largest top_k a request may ask for", between(1, 1000)),
    "publish_best": Param(True, "publish the best retrieved clip on retrieved_motion and as markers"),
    "marker_frame_id": Param("map", "frame of the stick-figure markers", FRAME_ID),
    "providers": Param("auto", "ONNX Runtime providers", one_of(*PROVIDERS, fold=True), CONFIGURE),
    "threads": Param(1, "ONNX Runtime intra-op threads (0: its default)", between(0, 256), CONFIGURE),
    "precision": Param("auto", "motion encoder for DescribeMotion: auto (int8 on CPU when the model has one), "
                               "fp32, int8", one_of(*PRECISIONS), CONFIGURE),
    "diagnostics_period_s": Param(1.0, "diagnostics publishing period", between(0.05, 3600.0), IO),
}


# --- checking values -------------------------------------------------------------------------------------------
def _kind_text(kind: type) -> str:
    return {bool: "true or false", int: "an integer", float: "a number", str: "a text",
            list: "a list of texts"}[kind]


def _given(value: object) -> str:
    """A value for an error message: bounded, control characters escaped, strings quoted."""
    if isinstance(value, str):
        return f"'{shown(value, 60)}'"
    return shown(repr(value), 60)


def coerce(name: str, spec: Param, value: object) -> object:
    """``value`` as the parameter's type: integers widen to numbers and texts; None (an empty ROS array has
    no type) is the empty list [""] of a list parameter. UserError for any other type."""
    kind = spec.kind
    if kind is list:
        if value is None:
            return [""]
        if isinstance(value, (list, tuple)) and all(isinstance(x, str) for x in value):
            return list(value)
        hint = f" (e.g. {name}:='[a, b]')" if isinstance(value, str) else ""
        raise UserError(f"parameter '{name}' must be {_kind_text(kind)}{hint}, got {_given(value)}")
    if value is None:
        raise UserError(f"parameter '{name}' has no value; it must be {_kind_text(kind)}")
    if isinstance(value, bool) or kind is bool:
        if type(value) is kind:
            return value
    elif isinstance(value, int) and kind in (int, float, str):
        return kind(value)
    elif isinstance(value, kind):
        return value
    raise UserError(f"parameter '{name}' must be {_kind_text(kind)}, got {_given(value)}")


def check_value(name: str, spec: Param, value: object) -> object:
    """``value`` coerced to the parameter's type and checked against its rule; UserError (one line) if bad."""
    value = coerce(name, spec, value)
    if spec.check is not None and not spec.check.ok(value):
        raise UserError(f"parameter '{name}' {spec.check.says}, got {_given(value)}")
    return value


def check_changes(table: dict[str, Param], changes: dict[str, object], configured: bool) -> dict[str, object]:
    """Run-time changes checked (values and whether they may change now); the coerced values of the parameters in
    ``table`` (others, such as use_sim_time, are left to rclpy). UserError with the reason of the first refusal."""
    out = {}
    for name, value in changes.items():
        spec = table.get(name)
        if spec is None:
            continue
        if spec.applies == STARTUP:
            raise UserError(f"'{name}' is read only at start-up; restart the node to change it")
        if spec.applies == CONFIGURE and configured:
            raise UserError(f"'{name}' is read at configure; deactivate and clean up the node, set it, then "
                            "configure again")
        out[name] = check_value(name, spec, value)
    return out


# --- start-up: ROS arguments ---------------------------------------------------------------------------------
def params_files(argv: Sequence[str]) -> list[str]:
    """The files named by ``--params-file FILE`` among the ROS arguments (between --ros-args and --)."""
    files, in_ros = [], False
    for i, arg in enumerate(argv):
        if arg == "--ros-args":
            in_ros = True
        elif arg == "--":
            in_ros = False
        elif in_ros and arg == "--params-file" and i + 1 < len(argv):
            files.append(argv[i + 1])
    return files


def check_params_file(path: str) -> None:
    """UserError (one line) unless ``path`` is a readable UTF-8 YAML file holding a mapping: found before rcl's
    parser, which answers a missing or binary file with a traceback."""
    import yaml

    where = shown(path, 200)
    data = read_text_file(path, "params file", MAX_PARAMS_FILE_BYTES, limit=200)
    if "\x00" in data:
        raise UserError(f"params file {where} is not a text file (it holds NUL bytes)")
    try:
        doc = yaml.safe_load(data)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"line {mark.line + 1}: " if mark is not None else ""
        raise UserError(f"params file {where} is not valid YAML ({line}{getattr(exc, 'problem', None) or 'error'})"
                        ) from None
    if not isinstance(doc, dict):
        raise UserError(f"params file {where} must map node names to ros__parameters, got "
                        f"{type(doc).__name__ if doc is not None else 'an empty file'}")


def check_ros_args(argv: Sequence[str]) -> None:
    """Check what rcl would otherwise answer with a traceback: every --params-file (see ``check_params_file``)."""
    for path in params_files(argv):
        check_params_file(path)


def ros_init_error(exc: BaseException) -> str:
    """One line for an rclpy.init failure: rcl's message without its source locations ("at parse.c:782")."""
    if type(exc).__name__ == "UnknownROSArgsError":  # its message is the list's repr: "['--bogus']"
        try:
            args = ast.literal_eval(str(exc))
        except (ValueError, SyntaxError):
            args = str(exc)
        listed = " ".join(map(str, args)) if isinstance(args, (list, tuple)) else str(args)
        return "unknown ROS arguments: " + shown(listed, 200)
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    message = re.sub(r",? at /?[\w./-]+\.(?:c|cpp|h|hpp):\d+", "", message)
    return shown(message.replace("failed to initialize rcl: ", ""), 300)


def markdown_table(table: dict[str, Param]) -> str:
    """The parameters of one node as a Markdown table (the README's copy is checked against it by a test)."""
    when = {LIVE: "at once", IO: "at once (re-subscribes / new timer)", CONFIGURE: "at the next configure",
            STARTUP: "start-up only"}

    def cell(value: object) -> str:
        return str(value).replace("|", "\\|")

    def shown_default(value: object) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if value in ("", [""]):
            return '""' if value == "" else "[]"
        return str(value)

    lines = ["| parameter | default | valid values | a change applies | what it does |", "|---|---|---|---|---|"]
    for name, spec in table.items():
        rule = spec.check.says.removeprefix("must be ") if spec.check else _kind_text(spec.kind)
        lines.append(f"| `{name}` | `{shown_default(spec.default)}` | {cell(rule)} | {when[spec.applies]} | "
                     f"{cell(spec.doc)} |")
    return "\n".join(lines) + "\n"
