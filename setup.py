"""ament_python package of motion-text (also pip-installable for the venv set-up)."""

from glob import glob

from setuptools import find_packages, setup

PACKAGE = "motion_text_node"

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(include=[PACKAGE, f"{PACKAGE}.*"]),
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/launch", glob("launch/*.launch.py")),
        (f"share/{PACKAGE}/config", glob("config/*.yaml")),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="motion-text maintainers",
    maintainer_email="motion-text@example.com",
    description="Shared motion-text embedding space for ROS 2: action recognition, retrieval, bag evaluation.",
    license="Apache-2.0",
    tests_require=["pytest"],
    python_requires=">=3.10",
    entry_points={
        "console_scripts": [
            "motion-text = motion_text_node.cli:main",
            "action_recognition_node = motion_text_node.ros.action_recognition_node:main",
            "motion_retrieval_node = motion_text_node.ros.motion_retrieval_node:main",
        ],
    },
)
