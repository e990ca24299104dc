"""Label input hardening (issue 14, findings 1, 8 and the labels part of 11): label strings are never guessed to be
paths in a way that can raise, text files are one label per line, bad file references and blank labels are one
clear error, duplicates and limits are fixed; the recognition node refuses a bad label parameter and keeps running.
"""

from __future__ import annotations

import os
import time

import pytest

from motion_text_node.cli import main as cli_main
from motion_text_node.errors import UserError
from motion_text_node.ros.processes import node_command
from motion_text_node.runtime.label_bank import (
    MAX_LABEL_CHARS,
    MAX_LABEL_FILE_BYTES,
    MAX_LABELS,
    labels_from_file,
    looks_like_label_file,
    parse_labels,
)
from motion_text_node.runtime.text_input import is_blank

LONG_NAME = "x" * 300  # over the 255-byte file-name limit ([Errno 36] File name too long)


def comma_list(n: int) -> str:
    """A comma list of ``n`` distinct labels with no path separator in it."""
    return ", ".join(f"action number {i}" for i in range(n))


# --- finding 1: no path guessing that can raise ------------------------------------------------------------------
@pytest.mark.parametrize("n", [20, 150, 230])  # about 350, 2,700 and 4,100 characters
def test_long_comma_list_is_labels_not_a_path(n) -> None:
    text = comma_list(n)
    assert len(text) > 255
    labels = parse_labels(text)
    assert labels[0] == "action number 0" and len(labels) == n


def test_over_long_file_name_is_one_user_error() -> None:
    for ref in (LONG_NAME + ".txt", f"/tmp/{LONG_NAME}/labels.yaml", "/tmp/" + LONG_NAME):
        with pytest.raises(UserError, match="cannot read the label file"):
            parse_labels(ref)
    with pytest.raises(UserError, match="not a valid file name"):
        parse_labels("/tmp/a\x00b.txt")


def test_whether_a_string_is_a_file_is_decided_by_its_form() -> None:
    assert looks_like_label_file("labels.txt") and looks_like_label_file("LABELS.YML")
    assert looks_like_label_file("cfg/labels") and looks_like_label_file("~/labels")
    assert not looks_like_label_file("walk, run") and not looks_like_label_file(LONG_NAME)


# --- finding 8: text files are one label per line; YAML only for .yaml/.yml -------------------------------------
TEXT = "walk\nrun\n\n# a comment\nsit down\nlook: left\nraise the hand # high\n  wave  \n"
TEXT_LABELS = ["walk", "run", "sit down", "look: left", "raise the hand # high", "wave"]


def test_text_label_file_is_one_label_per_line(tmp_path) -> None:
    (tmp_path / "labels.txt").write_text(TEXT, encoding="utf-8")
    (tmp_path / "labels").write_text(TEXT, encoding="utf-8")  # no extension: text too
    (tmp_path / "bom.txt").write_bytes("\ufeffwalk\r\nrun\r\n".encode())
    assert parse_labels(str(tmp_path / "labels.txt")) == TEXT_LABELS
    assert parse_labels(str(tmp_path / "labels")) == TEXT_LABELS
    assert parse_labels(str(tmp_path / "bom.txt")) == ["walk", "run"]
    assert labels_from_file(tmp_path / "labels") == TEXT_LABELS


def test_yaml_label_files_keep_working(tmp_path) -> None:
    cases = {
        "list.yaml": "- walk\n- sit down\n- 'look: left'\n",
        "key.yml": "labels:\n  - walk\n  - sit down\n  - 'look: left'\n",
        "block.yaml": "labels: |\n  walk\n  sit down\n  look: left\n",
        "list.json": '{"labels": ["walk", "sit down", "look: left"]}',
    }
    for name, text in cases.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        assert parse_labels(str(tmp_path / name)) == ["walk", "sit down", "look: left"], name
    (tmp_path / "bad.yaml").write_text("labels: [walk\n", encoding="utf-8")
    (tmp_path / "map.yaml").write_text("walk: 1\n", encoding="utf-8")
    (tmp_path / "bool.yaml").write_text("- walk\n- no\n", encoding="utf-8")
    for name, message in (("bad.yaml", "not valid YAML"), ("map.yaml", "expected a list of labels"),
                          ("bool.yaml", "label 2 is False, not a text")):
        with pytest.raises(UserError, match=message):
            parse_labels(str(tmp_path / name))


# --- finding 11: file references that are not readable files, blank labels, duplicates --------------------------
def test_bad_file_references_are_one_clear_error(tmp_path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "latin1.txt").write_bytes(b"caf\xe9\n")
    os.mkfifo(tmp_path / "fifo.txt")  # must be refused, not read (that would block)
    cases = [(tmp_path / "missing.txt", "label file not found"), (tmp_path / "sub", "is a folder"),
             (str(tmp_path / "sub") + "/", "is a folder"), (tmp_path / "nodir" / "labels", "label file not found"),
             (tmp_path / "fifo.txt", "not a regular file"), (tmp_path / "latin1.txt", "not a UTF-8 text file"),
             ("missing.yaml", "label file not found"), ("/dev/zero", "not a regular file")]
    for ref, message in cases:
        with pytest.raises(UserError, match=message):
            parse_labels(str(ref))
    big = tmp_path / "big.txt"
    big.write_bytes(b"walk\n" * (MAX_LABEL_FILE_BYTES // 5 + 1))
    with pytest.raises(UserError, match="at most 1000000"):
        parse_labels(str(big))


def test_blank_and_zero_width_labels_are_empty() -> None:
    for value in ("\u200b\u200b", " \u2060 , \ufeff", ["\u200b", "\u00a0\u200d"], ["\u3164"], "", " , "):
        with pytest.raises(UserError, match="no labels given"):
            parse_labels(value)
    assert parse_labels("walk, \u200b, \u200brun\u200b") == ["walk", "run"]
    assert is_blank("\u200b \u200c\t\n") and not is_blank("\u200bwalk")


def test_duplicates_are_dropped_keeping_the_first_spelling() -> None:
    labels = parse_labels(["walk", "Walk", " walk ", "walk\u200b", "sit  down", "sit down", "run", "SIT DOWN"])
    assert labels == ["walk", "sit  down", "run"]


def test_number_and_length_of_labels_are_bounded() -> None:
    assert len(parse_labels(comma_list(MAX_LABELS))) == MAX_LABELS
    with pytest.raises(UserError, match=f"{MAX_LABELS + 1} labels; at most {MAX_LABELS}"):
        parse_labels(comma_list(MAX_LABELS + 1))
    assert parse_labels(["a" * MAX_LABEL_CHARS]) == ["a" * MAX_LABEL_CHARS]
    with pytest.raises(UserError, match=f"has {MAX_LABEL_CHARS + 1} characters; at most {MAX_LABEL_CHARS}"):
        parse_labels("walk, " + "a" * (MAX_LABEL_CHARS + 1))
    with pytest.raises(UserError, match="labels must be a list or a string"):
        parse_labels(None)


# --- the CLI: one error line, rc 2 -------------------------------------------------------------------------------
@pytest.mark.parametrize("value, message", [
    ("a" * 300, "at most 200"),  # was: [Errno 36] traceback from Path.is_file()
    (LONG_NAME + ".txt", "cannot read the label file"),
    ("labels/", "is a folder"),
    ("nope.txt", "label file not found"),
    ("\u200b\u200b", "no labels given"),
    ("", "no labels given"),
])
def test_recognize_cli_label_errors_are_one_line(value, message, tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "labels").mkdir()
    rc = cli_main(["recognize", str(tmp_path / "clip.bvh"), "--labels", value])  # labels are read first
    err = capsys.readouterr().err
    assert rc == 2 and message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err


def test_recognize_cli_reads_a_long_comma_list(shipped_model, cmu_bvh_dir, capsys) -> None:
    rc = cli_main(["recognize", str(cmu_bvh_dir / "02_05.bvh"), "--model", str(shipped_model), "--labels",
                   comma_list(40), "--top-k", "3", "--providers", "cpu"])
    out = capsys.readouterr().out
    assert rc == 0 and "whole clip: action number" in out


# --- the recognition node: a bad label parameter is refused, the node keeps running --------------------------------
@pytest.fixture
def recognition_node(shipped_model, tmp_path):
    """An ActionRecognitionNode in its own rclpy Context with labels from a text file (nothing spun: parameters
    are set directly, through the node's callbacks)."""
    import rclpy
    from rclpy.parameter import Parameter

    from motion_text_node.ros.action_recognition_node import ActionRecognitionNode

    (tmp_path / "start.txt").write_text("walk\njump\n", encoding="utf-8")
    context = rclpy.Context()
    rclpy.init(context=context)
    node = ActionRecognitionNode(context=context, parameter_overrides=[
        Parameter("model_dir", value=str(shipped_model)), Parameter("labels_file", value=str(tmp_path / "start.txt")),
        Parameter("providers", value="cpu")])
    try:
        yield node
    finally:
        node.destroy_node()
        rclpy.try_shutdown(context=context)


def set_param(node, name: str, value):
    """Set one parameter on ``node`` through its callbacks; the SetParametersResult."""
    from rclpy.parameter import Parameter

    return node.set_parameters([Parameter(name, value=value)])[0]


def test_node_refuses_bad_label_parameters_and_keeps_its_labels(recognition_node, tmp_path) -> None:
    from rclpy.lifecycle import TransitionCallbackReturn

    node = recognition_node
    missing = set_param(node, "labels_file", str(tmp_path / "none.txt"))  # before configure: checked too
    assert not missing.successful and "label file not found" in missing.reason
    assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
    assert node.recognizer.runtime.labels.labels == ["walk", "jump"]
    bad = [("labels_file", LONG_NAME, "cannot read the label file"), ("labels_file", str(tmp_path), "is a folder"),
           ("labels_file", "/tmp/" + LONG_NAME, "File name too long"),
           ("labels", ["\u200b\u200b"], "no labels given"), ("labels", ["a" * 201], "at most 200"),
           ("labels", [f"l{i}" for i in range(MAX_LABELS + 1)], "at most 1000")]
    for name, value, message in bad:
        result = set_param(node, name, value)
        assert not result.successful and message in result.reason, (name, result.reason)
        assert "\n" not in result.reason and len(result.reason) < 300
    (tmp_path / "labels").write_text("sit down\nlook: left\n# not a label\n", encoding="utf-8")
    assert node.recognizer.runtime.labels.labels == ["walk", "jump"]  # unchanged by the refusals
    ok = set_param(node, "labels_file", str(tmp_path / "labels"))
    assert ok.successful, ok.reason
    assert node.label_switcher.wait(60)  # embedded in the background, then installed
    assert node.recognizer.runtime.labels.labels == ["sit down", "look: left"]
    assert set_param(node, "labels", ["kick", "Kick", "punch"]).successful
    assert node.label_switcher.wait(60)
    assert node.recognizer.runtime.labels.labels == ["kick", "punch"]
    # While `labels` overrides the file, a bad labels_file is still refused (it would fail once labels is cleared).
    assert "label file not found" in set_param(node, "labels_file", str(tmp_path / "gone.txt")).reason


def test_node_process_survives_an_over_long_labels_file(shipped_model, ros_node, start_process) -> None:
    from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue
    from rcl_interfaces.srv import SetParameters
    from ros_helpers import call_service, service_client, spin_until

    node, executor = ros_node
    proc = start_process(node_command("action_recognition_node", {"model_dir": shipped_model, "providers": "cpu"}),
                         ready_line="ready")
    client = service_client(node, SetParameters, "action_recognition_node/set_parameters")

    def set_remote(name: str, value: ParameterValue):
        request = SetParameters.Request(parameters=[Parameter(name=name, value=value)])
        return call_service(executor, client, request).results[0]

    long_file = ParameterValue(type=ParameterType.PARAMETER_STRING, string_value=LONG_NAME)
    result = set_remote("labels_file", long_file)
    assert not result.successful and "cannot read the label file" in result.reason, result.reason
    spin_until(executor, lambda: proc.proc.poll() is not None, timeout=1.0)
    assert proc.proc.poll() is None, proc.output()
    labels = ParameterValue(type=ParameterType.PARAMETER_STRING_ARRAY, string_array_value=["jump", "sit down"])
    t0 = time.monotonic()
    result = set_remote("labels", labels)
    assert result.successful, result.reason
    assert time.monotonic() - t0 < 20 and proc.proc.poll() is None


def test_invisible_only_query_is_an_empty_text(shipped_model, capsys) -> None:
    """A retrieval query or an encoder text of zero-width spaces is refused like an empty one."""
    from motion_text_node.runtime.engine import MotionTextRuntime

    rt = MotionTextRuntime(shipped_model)
    with pytest.raises(UserError, match="empty text"):
        rt.text_encoder.encode(["\u200b\u200b"])
    with pytest.raises(UserError, match="empty text"):
        rt.retrieve("\u200b \ufeff", 3)
    assert cli_main(["retrieve", "\u200b\u200b", "--model", str(shipped_model)]) == 2
    assert "empty text" in capsys.readouterr().err


def test_label_set_swaps_whole_and_refuses_mismatched_scores() -> None:
    """A reader holding a label set keeps its names and embeddings together while new labels are installed."""
    import threading

    import numpy as np

    from motion_text_node.runtime.label_bank import LabelBank

    class SlowEncoder:
        def __init__(self) -> None:
            self.gate, self.entered = threading.Event(), threading.Event()

        def encode(self, texts: list[str]) -> np.ndarray:
            if len(texts) == 3:  # the new label set: block until the test has looked
                self.entered.set()
                self.gate.wait(10)
            rng = np.random.default_rng(len(texts))
            return rng.normal(size=(len(texts), 8)).astype(np.float32)

    enc = SlowEncoder()
    bank = LabelBank(enc, ["walk", "run"])
    before = bank.current
    worker = threading.Thread(target=bank.set_labels, args=(["walk", "run", "sit down"],))
    worker.start()
    assert enc.entered.wait(10)
    assert bank.current is before and bank.labels == ["walk", "run"]  # still the whole old set
    enc.gate.set()
    worker.join(10)
    after = bank.current
    assert after.labels == ("walk", "run", "sit down") and after.embeddings.shape == (3, 8)
    row = before.scores(np.ones(8, np.float32))
    assert before.top_k(row, 1)[0][0] in ("walk", "run")  # the old set names its own scores
    with pytest.raises(ValueError, match="2 scores for 3 labels"):
        after.top_k(row, 1)


def test_recognizer_names_scores_with_the_label_set_they_were_computed_with(tiny_model_dir) -> None:
    """Labels changed between scoring and deciding: the result carries the old names with the old scores, and the
    next window starts smoothing afresh with the new set."""
    import numpy as np

    from motion_text_node.runtime.engine import MotionTextRuntime
    from motion_text_node.runtime.stream import StreamConfig, StreamRecognizer, Track

    rt = MotionTextRuntime(tiny_model_dir, labels="walk, run", library=None, providers="cpu")
    rec = StreamRecognizer(rt, StreamConfig(top_k=2))
    old = rt.labels.current
    rt.labels.set_labels(["sit down", "jump", "wave"])  # swapped in after the scores were computed
    tr = Track()
    res = rec._decide("p", tr, np.array([0.2, 0.9], np.float32), 0.0, 1.0, 0.0, old)
    assert res.label == "run" and set(res.top_labels) == {"walk", "run"}
    res = rec._decide("p", tr, np.array([0.1, 0.2, 0.8], np.float32), 1.0, 2.0, 1.0, rt.labels.current)
    assert res.label == "wave" and tr.smoothed.tolist() == pytest.approx([0.1, 0.2, 0.8])


def test_new_labels_are_embedded_off_the_intake_path(tiny_model_dir, cmu_cache) -> None:
    """Issue 14, finding 17: while a large label set embeds, frames are taken and recognized with the old labels;
    the newest request wins (one asked for meanwhile and then superseded is never installed); a set that fails
    to embed leaves the old one in place and is reported."""
    import threading

    from motion_text_node.data.cache import DatasetCache
    from motion_text_node.runtime.engine import MotionTextRuntime
    from motion_text_node.runtime.label_bank import LabelSwitcher
    from motion_text_node.runtime.stream import StreamConfig, StreamRecognizer
    from motion_text_node.skeleton.frame import SkeletonFrame

    rt = MotionTextRuntime(tiny_model_dir, labels="walk, run", library=None, providers="cpu")
    rec = StreamRecognizer(rt, StreamConfig(stride_s=1 / 3))
    walk = DatasetCache(cmu_cache).clip("12_01").motion.positions
    encoder, real_encode = rt.labels.text_encoder, rt.labels.text_encoder.encode
    started, release = threading.Event(), threading.Event()

    def held_encode(texts):  # the first big set blocks until the test has checked intake
        if any("number" in t for t in texts):
            started.set()
            assert release.wait(60)
        if any("explode" in t for t in texts):
            raise RuntimeError("encoder failed")
        return real_encode(texts)

    encoder.encode = held_encode
    done = []
    switcher = LabelSwitcher(rec.reset_labels, lambda labels, error: done.append((labels[0], error)))
    switcher.request([f"action number {i}" for i in range(300)])
    assert started.wait(30) and switcher.pending
    results = []
    for k in range(60):  # two seconds of motion while the new labels are embedding
        assert rec.add_frame(SkeletonFrame(100 + k / 30, "p", "smpl22", [], walk[k], None, "z"), arrival=k / 30) \
            in (True, False)
        results += rec.run_due()
    assert len(results) >= 4 and all(set(r.top_labels) == {"walk", "run"} for r in results)
    switcher.request(["sit down", "wave"])  # superseded before it is embedded
    switcher.request(["jump", "kick"])
    release.set()
    assert switcher.wait(60)
    assert rt.labels.labels == ["jump", "kick"]
    assert done == [("action number 0", None), ("jump", None)]
    switcher.request(["explode"])
    assert switcher.wait(60)
    assert done[-1][0] == "explode" and "encoder failed" in done[-1][1]
    assert rt.labels.labels == ["jump", "kick"]  # the old set stays
