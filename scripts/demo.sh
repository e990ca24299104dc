#!/usr/bin/env bash
# Set up (if needed) and run the main job: real held-out CMU motion replayed through the live ROS 2 nodes,
# scored against ground truth, plus command-to-motion retrieval answers. Extra arguments go to `motion-text demo`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/setup.sh"
cd "$ROOT"
export ROS_AUTOMATIC_DISCOVERY_RANGE="${ROS_AUTOMATIC_DISCOVERY_RANGE:-LOCALHOST}"
export ROS_DOMAIN_ID="${ROS_DOMAIN_ID:-$(( (RANDOM % 100) + 1 ))}"
export ROS_LOG_DIR="${ROS_LOG_DIR:-$ROOT/build/ros_log}"
export HF_HUB_OFFLINE=1 MPLBACKEND=Agg
exec "$ROOT/.venv/bin/motion-text" demo "$@"
