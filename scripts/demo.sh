#!/usr/bin/env bash
# Set up (if needed) and run the main job: real held-out CMU motion replayed through the live ROS 2 nodes,
# scored against ground truth, plus command-to-motion retrieval answers. Extra arguments go to `motion-text demo`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/setup.sh"
cd "$ROOT"
# shellcheck source=scripts/env.sh
source "$ROOT/scripts/env.sh"
exec "$ROOT/.venv/bin/motion-text" demo "$@"
