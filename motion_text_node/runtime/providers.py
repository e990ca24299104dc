"""ONNX Runtime sessions: CUDA only where a CUDA device really works, CPU otherwise, without log spam."""

from __future__ import annotations

import ctypes.util
import os
from functools import lru_cache
from pathlib import Path

import onnxruntime as ort

from motion_text_node.errors import UserError


@lru_cache(maxsize=1)
def cuda_usable() -> bool:
    """True when a GPU device node, the CUDA runtime libraries and the CUDA provider are all present.

    onnxruntime-gpu lists CUDA among its providers even on machines without a GPU, and asking for it there
    prints library-not-found errors before falling back: check first, ask only when it can work.
    """
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        return False
    if not any(Path(p).exists() for p in ("/dev/nvidia0", "/dev/nvidiactl", "/dev/dxg")):
        return False
    return any(ctypes.util.find_library(lib) for lib in ("cudart", "cublas", "cudnn")) or _pip_cuda_libs()


def _pip_cuda_libs() -> bool:
    try:
        import nvidia  # noqa: F401  (nvidia-*-cu12 wheels ship the CUDA libraries)
    except ImportError:
        return False
    return True


def choose_providers(requested: str = "auto") -> list[str]:
    """Provider list for ``requested``: "auto" (CUDA when usable), "cpu" or "cuda" (error when unusable)."""
    requested = requested.lower()
    if requested == "cpu":
        return ["CPUExecutionProvider"]
    if requested == "cuda":
        if not cuda_usable():
            raise UserError("providers=cuda but no working CUDA device/libraries were found")
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    if requested != "auto":
        raise UserError(f"providers must be auto, cpu or cuda, got {requested!r}")
    return ["CUDAExecutionProvider", "CPUExecutionProvider"] if cuda_usable() else ["CPUExecutionProvider"]


def make_session(path: str | Path, providers: str = "auto", threads: int = 0) -> ort.InferenceSession:
    """An inference session for ``path`` (UserError for a missing or corrupt file)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: model file not found")
    opts = ort.SessionOptions()
    opts.log_severity_level = 3  # errors only
    if threads > 0:
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
    elif os.environ.get("MOTION_TEXT_ORT_THREADS"):
        opts.intra_op_num_threads = int(os.environ["MOTION_TEXT_ORT_THREADS"])
    try:
        return ort.InferenceSession(str(path), sess_options=opts, providers=choose_providers(providers))
    except Exception as exc:  # onnxruntime raises its own exception types for corrupt files
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"{path}: cannot load the ONNX model ({first[:200]})") from None
