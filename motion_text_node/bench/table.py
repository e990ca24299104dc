"""Timing and table helpers shared by the benchmarks."""

from __future__ import annotations

import platform
import time
from collections.abc import Callable

import numpy as np


def time_calls(fn: Callable[[], object], repeat: int = 50, warmup: int = 3, max_seconds: float = 10.0) -> np.ndarray:
    """Milliseconds of ``repeat`` calls (fewer if ``max_seconds`` runs out), after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    out, start = [], time.perf_counter()
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000.0)
        if time.perf_counter() - start > max_seconds and len(out) >= 5:
            break
    return np.array(out)


def pct(values: np.ndarray, q: float) -> float:
    """Percentile (nan for no values)."""
    return float(np.percentile(values, q)) if len(values) else float("nan")


def render(title: str, header: list[str], rows: list[list[object]]) -> str:
    """A Markdown table with a title line."""
    def cell(v: object) -> str:
        return f"{v:.2f}" if isinstance(v, float) else str(v)

    lines = [f"### {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def machine() -> str:
    """One line describing where the numbers were measured."""
    import os

    cpu = platform.processor() or platform.machine()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{time.strftime('%Y-%m-%d')}, {cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"
