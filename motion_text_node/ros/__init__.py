"""ROS 2 layer: message conversions and the thin nodes that wire the runtime to topics and services."""
