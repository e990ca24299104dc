"""The README's main job: real held-out CMU motion replayed through the live nodes.

1. plays the shipped sample bag (held-out CMU test subjects) into a running action_recognition_node and
   scores its labels against the ground truth (online over DDS, and offline through the runtime);
2. starts motion_retrieval_node and asks it for motions matching a few text commands.
"""

from __future__ import annotations

from pathlib import Path

from motion_text_node.errors import UserError
from motion_text_node.paths import REPO_ROOT, models_dir
from motion_text_node.ros.processes import node_command, start_node, stop_node
from motion_text_node.ros.service_calls import call_with_resend

SAMPLE_BAG = REPO_ROOT / "data" / "sample_bags" / "cmu_test_subjects"
COMMANDS = ("climb a ladder", "sit down on a stool and stand up again", "walk forward")


def retrieval_answers(model_dir: Path, texts=COMMANDS, top_k: int = 3) -> list[tuple[str, list]]:
    """Ask a motion_retrieval_node process for each text; [(text, [(id, description, score)])]."""
    import rclpy
    from motion_text_interfaces.srv import RetrieveMotion

    proc, _ = start_node(node_command("motion_retrieval_node", {"model_dir": model_dir}))
    ctx = rclpy.Context()
    rclpy.init(context=ctx)
    out = []
    try:
        node = rclpy.create_node("demo_client", context=ctx)
        client = node.create_client(RetrieveMotion, "retrieve_motion")
        if not client.wait_for_service(timeout_sec=30):
            raise UserError("retrieve_motion service did not appear")
        from rclpy.executors import SingleThreadedExecutor

        ex = SingleThreadedExecutor(context=ctx)
        ex.add_node(node)
        for text in texts:
            res = call_with_resend(ex, client, RetrieveMotion.Request(text=text, top_k=top_k, omit_positions=True))
            out.append((text, [(m.id, m.description, m.score) for m in res.motions] if res and res.success
                        else [("-", res.message if res else "no answer", 0.0)]))
        node.destroy_node()
    finally:
        stop_node(proc)
        rclpy.try_shutdown(context=ctx)
    return out


def run_demo(model_dir: Path | None = None, bag: Path = SAMPLE_BAG, out: Path | None = None, rate: float = 2.0) -> int:
    """Print the live evaluation of the sample bag and retrieval answers."""
    from motion_text_node.bag.evaluate import evaluate_bag, format_report

    model_dir = Path(model_dir or models_dir())
    out = out or REPO_ROOT / "reports" / "demo"
    print(f"1/2  replaying {bag.name} (held-out CMU subjects) through action_recognition_node at {rate}x ...",
          flush=True)
    report = evaluate_bag(bag, model_dir, out_dir=out, rate=rate)
    print(format_report(report))
    print(f"     report and timeline plot: {out}/report.md, {out}/timeline.png\n")
    print("2/2  command-to-motion retrieval through motion_retrieval_node:", flush=True)
    for text, hits in retrieval_answers(model_dir):
        print(f'     "{text}"')
        for mid, desc, s in hits:
            print(f"        {mid:<8} {s:6.3f}  {desc}")
    return 0
