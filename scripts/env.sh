# Sourced by demo.sh and test.sh: an isolated ROS 2 graph on loopback and offline model loading.
export ROS_AUTOMATIC_DISCOVERY_RANGE="${ROS_AUTOMATIC_DISCOVERY_RANGE:-LOCALHOST}"
export ROS_DOMAIN_ID="${ROS_DOMAIN_ID:-$(( (RANDOM % 100) + 1 ))}"
export ROS_LOG_DIR="${ROS_LOG_DIR:-$ROOT/build/ros_log}"
export HF_HUB_OFFLINE=1 MPLBACKEND=Agg
