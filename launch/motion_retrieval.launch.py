"""Launch motion_retrieval_node with config/motion_retrieval.yaml (needs a full ROS 2 install)."""

import os

from ament_index_python.packages import get_package_share_directory
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from launch import LaunchDescription


def generate_launch_description():
    params = os.path.join(get_package_share_directory("motion_text_node"), "config", "motion_retrieval.yaml")
    return LaunchDescription([
        DeclareLaunchArgument("params_file", default_value=params),
        Node(package="motion_text_node", executable="motion_retrieval_node", name="motion_retrieval_node",
             output="screen", parameters=[LaunchConfiguration("params_file")]),
    ])
