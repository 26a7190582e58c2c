"""Launching gloo ranks for the DDP tests: a free port, one spawn, each rank's saved result."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.multiprocessing as mp


def free_port() -> int:
    """A TCP port nobody listens on right now (for the rendezvous)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def spawn_ranks(run: Callable[..., None], out: Path, world_size: int) -> list[Any]:
    """Run ``run(rank, port, out)`` on ``world_size`` processes; load each ``rank{r}.pt``."""
    mp.spawn(run, args=(free_port(), str(out)), nprocs=world_size, join=True)
    return [torch.load(Path(out) / f"rank{r}.pt") for r in range(world_size)]
