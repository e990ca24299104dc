"""Launch both motion-text nodes (recognition + retrieval) with their parameter files."""

import os

from ament_index_python.packages import get_package_share_directory
from launch.actions import IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource

from launch import LaunchDescription


def generate_launch_description():
    launch_dir = os.path.join(get_package_share_directory("motion_text_node"), "launch")
    return LaunchDescription([
        IncludeLaunchDescription(PythonLaunchDescriptionSource(os.path.join(launch_dir, name)))
        for name in ("action_recognition.launch.py", "motion_retrieval.launch.py")
    ])
