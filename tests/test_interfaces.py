"""motion_text_interfaces: every message and service crosses two real processes over DDS unchanged."""

from __future__ import annotations

import pytest
from builtin_interfaces.msg import Time
from geometry_msgs.msg import Point
from motion_text_interfaces.msg import ActionLabel, MotionClip, Skeleton
from motion_text_interfaces.srv import DescribeMotion, RetrieveMotion
from ros_helpers import call_service, service_client, spin_until
from std_msgs.msg import Header


def _skeleton(track: str = "person_1") -> Skeleton:
    return Skeleton(
        header=Header(stamp=Time(sec=12, nanosec=345), frame_id="camera_body"),
        track_id=track,
        skeleton_format=Skeleton.FORMAT_CUSTOM,
        joint_names=["pelvis", "left_wrist", "right_wrist"],
        positions=[Point(x=0.0, y=0.1, z=0.9), Point(x=0.3, y=0.2, z=1.1), Point(x=-0.3, y=0.2, z=1.2)],
        confidences=[1.0, 0.5, 0.0],
        up_axis="z",
    )


def _action_label() -> ActionLabel:
    return ActionLabel(
        header=Header(stamp=Time(sec=3, nanosec=7), frame_id="map"),
        track_id="person_2",
        label="wave",
        score=0.75,
        top_labels=["wave", "walk"],
        top_scores=[0.75, 0.25],
        window_start=Time(sec=1, nanosec=0),
        window_end=Time(sec=3, nanosec=0),
    )


def _motion_clip() -> MotionClip:
    return MotionClip(
        id="02_05",
        description="punch with the right arm",
        fps=30.0,
        skeleton_format="smpl22",
        joint_names=["pelvis", "head"],
        num_frames=2,
        positions=[float(i) / 10 for i in range(12)],
        score=0.5,
    )


def test_format_constants_are_the_documented_names() -> None:
    assert {Skeleton.FORMAT_SMPL22, Skeleton.FORMAT_KINECT32, Skeleton.FORMAT_MEDIAPIPE33,
            Skeleton.FORMAT_COCO17, Skeleton.FORMAT_CUSTOM} == {
        "smpl22", "kinect32", "mediapipe33", "coco17", "custom"}


@pytest.mark.parametrize("make", [_skeleton, _action_label, _motion_clip], ids=lambda f: f.__name__.strip("_"))
def test_message_round_trip_across_processes(make, ros_node, start_process, fixture_script) -> None:
    node, executor = ros_node
    sent = make()
    name = type(sent).__name__
    start_process(fixture_script("interface_echo.py"))
    received = []
    pub = node.create_publisher(type(sent), f"rt_in/{name}", 10)
    node.create_subscription(type(sent), f"rt_out/{name}", received.append, 10)
    assert spin_until(executor, lambda: pub.get_subscription_count() > 0, timeout=20), "echo never subscribed"
    # Publish until the echo is back: its publisher may match our subscriber a moment after its subscriber.
    assert spin_until(executor, lambda: received, timeout=20, action=lambda: pub.publish(sent), period=0.2)
    assert received[0] == sent


def _call(node, executor, srv_type, name, request):
    return call_service(executor, service_client(node, srv_type, name), request, timeout=10)


def test_retrieve_motion_service_across_processes(ros_node, start_process, fixture_script) -> None:
    node, executor = ros_node
    start_process(fixture_script("interface_echo.py"))
    response = _call(node, executor, RetrieveMotion, "rt/retrieve_motion",
                     RetrieveMotion.Request(text="wave with the left hand", top_k=3, omit_positions=True))
    assert response.success
    assert response.message == "top_k=3 omit_positions=True"
    assert [m.id for m in response.motions] == ["wave with the left hand"]
    assert response.motions[0].description == "k3"


def test_describe_motion_service_across_processes(ros_node, start_process, fixture_script) -> None:
    node, executor = ros_node
    start_process(fixture_script("interface_echo.py"))
    request = DescribeMotion.Request(frames=[_skeleton("a"), _skeleton("b")], top_k=2, candidate_texts=["jump"])
    response = _call(node, executor, DescribeMotion, "rt/describe_motion", request)
    assert response.success and response.message == "2 frames"
    assert list(response.texts) == ["a", "b", "jump"]
    assert list(response.scores) == pytest.approx([0.0, 1.0, 2.0])
    # A clip instead of frames travels too.
    response = _call(node, executor, DescribeMotion, "rt/describe_motion",
                     DescribeMotion.Request(motion=_motion_clip(), top_k=1))
    assert list(response.texts) == ["02_05"]
