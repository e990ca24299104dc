"""A two-joint BVH file as text, with every header value replaceable (for tests of hostile headers)."""

from __future__ import annotations

TWO_JOINTS = """HIERARCHY
ROOT Hips
{{
  OFFSET 0 0 0
  CHANNELS {root_channels}
  JOINT Spine
  {{
    OFFSET 0 10 0
    CHANNELS {spine_channels}
    End Site
    {{
      OFFSET 0 10 0
    }}
  }}
}}
MOTION
Frames: {frames}
Frame Time: {frame_time}
{rows}
"""
ROOT6 = "6 Xposition Yposition Zposition Zrotation Xrotation Yrotation"
SPINE3 = "3 Zrotation Xrotation Yrotation"


def two_joint_bvh(frames: int | str = 2, frame_time: float | str = 0.0333, rows: str | None = None,
                  root_channels: str = ROOT6, spine_channels: str = SPINE3) -> str:
    """The file; ``rows`` defaults to ``frames`` rows of nine zeros (when ``frames`` is a number)."""
    if rows is None:
        rows = "\n".join(" ".join(["0"] * 9) for _ in range(frames if isinstance(frames, int) else 0))
    return TWO_JOINTS.format(frames=frames, frame_time=frame_time, rows=rows, root_channels=root_channels,
                             spine_channels=spine_channels)
