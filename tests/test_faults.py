"""Faults: a recognition node killed mid-stream and restarted, corrupt files at start, hostile service input."""

from __future__ import annotations

import json
import subprocess
import time

from conftest import REPO
from motion_text_interfaces.msg import ActionLabel
from motion_text_interfaces.srv import RetrieveMotion
from ros_helpers import call_service, service_client, spin_until

from motion_text_node.ros.processes import node_command


def node_cmd(module: str, *params: str) -> list[str]:
    """The node with ``-p`` for each of ``params`` ("name:=value")."""
    return node_command(module, ros_args=[a for p in params for a in ("-p", p)])


def test_killed_node_resumes_after_restart(shipped_model, cmu_cache, ros_node, start_process, fixture_script) -> None:
    node, executor = ros_node
    got: list[tuple[float, ActionLabel]] = []
    node.create_subscription(ActionLabel, "actions", lambda m: got.append((time.monotonic(), m)), 50)
    cmd = node_cmd("action_recognition_node", f"model_dir:={shipped_model}", "qos_reliability:=reliable")
    first = start_process(cmd, ready_line="ready")
    start_process(fixture_script("skeleton_publisher.py", str(cmu_cache), "12_01:walker", "--reliable", "--loop"))
    assert spin_until(executor, lambda: len(got) >= 3, timeout=40)
    first.proc.kill()  # SIGKILL: no clean shutdown
    first.proc.wait(10)
    killed_at = time.monotonic()
    spin_until(executor, lambda: False, timeout=1.0)
    n_before = len(got)
    # A dead node publishes nothing: whatever arrived after the kill was already in flight (well under a window).
    assert all(t - killed_at < 0.3 for t, _ in got if t > killed_at), [t - killed_at for t, _ in got]
    restarted = start_process(cmd, ready_line="ready")
    assert restarted.proc.poll() is None
    assert spin_until(executor, lambda: len(got) > n_before, timeout=30), "no labels after the restart"
    assert got[-1][1].track_id == "walker"


def test_corrupt_files_at_start_are_one_error_line(shipped_model, tmp_path) -> None:
    broken = tmp_path / "model"
    broken.mkdir()
    for f in shipped_model.iterdir():
        if f.is_file() and f.suffix != ".npz":
            (broken / f.name).write_bytes(f.read_bytes())
    (broken / json.loads((broken / "model.json").read_text())["text_encoder"]["file"]).write_bytes(b"\x08\x01garbage")
    bad_lib = tmp_path / "lib.npz"
    bad_lib.write_bytes(b"PK\x03\x04 not a library")
    cases = [
        (node_cmd("action_recognition_node", f"model_dir:={broken}"), "cannot load the ONNX model"),
        (node_cmd("motion_retrieval_node", f"model_dir:={shipped_model}", f"library:={bad_lib}"),
         "not a readable motion library"),
        (node_cmd("motion_retrieval_node", f"model_dir:={shipped_model}", f"library:={tmp_path / 'none.npz'}"),
         "motion library not found"),
    ]
    meta = json.loads((broken / "model.json").read_text())
    (tmp_path / "m2").mkdir()
    for f in broken.iterdir():
        (tmp_path / "m2" / f.name).write_bytes(f.read_bytes())
    (tmp_path / "m2" / "model.json").write_text(json.dumps({**meta, "format_version": 7}))
    cases.append((node_cmd("action_recognition_node", f"model_dir:={tmp_path / 'm2'}"), "format_version 7"))
    for cmd, message in cases:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=90, cwd=REPO)
        assert proc.returncode == 1, (cmd, proc.stderr[-500:])
        assert message in proc.stderr and "Traceback" not in proc.stderr, proc.stderr[-500:]


def test_hostile_service_requests(shipped_model, held_out_library, ros_node, start_process) -> None:
    node, executor = ros_node
    start_process(node_cmd("motion_retrieval_node", f"model_dir:={shipped_model}", f"library:={held_out_library}"),
                  ready_line="ready")
    client = service_client(node, RetrieveMotion, "retrieve_motion", timeout=30)

    def ask(text: str, k: int):
        return call_service(executor, client, RetrieveMotion.Request(text=text, top_k=k, omit_positions=True))

    for text, k in (("x" * 100_000, 3), ("walk", -2**31), ("walk", 2**31 - 1), ("\t\n  ", 3), ("", 0)):
        res = ask(text, k)
        assert not res.success and res.message, (text[:20], k)
    for text in ("👋 wave\u200b with the \u202eleft hand", "\x01\x02 walk \x7f", "ходить", "歩く"):
        res = ask(text, 2)
        assert res.success and len(res.motions) == 2
    assert ask("climb a ladder", 1).success  # and it still answers normally afterwards
