"""Where a measurement was taken: git commit, CPU model, device name.

Every benchmark script prints these beside its figures (STYLE.md rule 12).
"""

from __future__ import annotations

import contextlib
import platform
import subprocess
from pathlib import Path

import torch

__all__ = ["REPO", "cpu_model", "device_name", "git_commit"]

REPO = Path(__file__).resolve().parents[1]


def git_commit() -> str:
    """HEAD's commit, with ``-dirty`` when tracked files have changes; ``unknown`` outside git."""

    def git(*args: str) -> str:
        try:
            out = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True)
        except OSError:
            return ""
        return out.stdout.strip()

    commit = git("rev-parse", "HEAD") or "unknown"
    return commit + ("-dirty" if git("status", "--porcelain", "--untracked-files=no") else "")


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``), else what ``platform`` knows."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def device_name(device: str | torch.device) -> str:
    """``cpu (<model>)`` or the CUDA device's name."""
    dev = torch.device(device)
    if dev.type == "cuda":
        return torch.cuda.get_device_name(dev)
    return f"cpu ({cpu_model()})"
