"""Launch action_recognition_node with config/action_recognition.yaml (needs a full ROS 2 install)."""

import os

from ament_index_python.packages import get_package_share_directory
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from launch import LaunchDescription


def generate_launch_description():
    params = os.path.join(get_package_share_directory("motion_text_node"), "config", "action_recognition.yaml")
    return LaunchDescription([
        DeclareLaunchArgument("params_file", default_value=params),
        DeclareLaunchArgument("input_topic", default_value="skeleton"),
        Node(package="motion_text_node", executable="action_recognition_node", name="action_recognition_node",
             output="screen",
             parameters=[LaunchConfiguration("params_file"), {"input_topic": LaunchConfiguration("input_topic")}]),
    ])
