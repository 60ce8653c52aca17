"""What every benchmark prints beside its figures: the machine it ran on, and percentiles.

Figures from these 2-core machines only mean something next to the machine
line, so all scripts describe it the same way.
"""

from __future__ import annotations

import os
import platform


def _first(path: str, key: str) -> str | None:
    try:
        with open(path) as info:
            return next((line.split(":", 1)[1].strip() for line in info if line.startswith(key)), None)
    except OSError:
        return None


def machine(*extras: str) -> str:
    """Cores, RAM, CPU model and Python, plus extras such as "tantivy 0.27.0"."""
    mem_kb = _first("/proc/meminfo", "MemTotal")
    mem = f"{int(mem_kb.split()[0]) / 1024 / 1024:.1f} GiB RAM" if mem_kb else "RAM ?"
    cpu = _first("/proc/cpuinfo", "model name") or platform.processor() or platform.machine()
    parts = [f"{os.cpu_count()} cores ({cpu})", mem, f"Python {platform.python_version()}", *extras]
    return ", ".join(parts)


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile; NaN for no values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] if ordered else float("nan")
