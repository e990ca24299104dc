#!/usr/bin/env bash
# Set up (if needed) and run the whole test suite. Extra arguments go to pytest (e.g. -k bvh, -x).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/setup.sh"
cd "$ROOT"
# shellcheck source=scripts/env.sh
source "$ROOT/scripts/env.sh"
exec "$ROOT/.venv/bin/python" -m pytest tests "$@"
