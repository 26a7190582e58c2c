"""Interleaved timing rounds and paired ratios, for benchmarks on a noisy machine.

A "best of N" per peer compares two minima taken minutes apart; on a shared VM the
load moves in between, and the ratio moves with it. Interleaving runs every peer once
per round (the order rotating, so no peer always goes first) and reports, per peer, the
median of its per-round ratio to a base row: both runs of a pair saw about the same
machine.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["interleaved_rounds", "paired_lines"]


def interleaved_rounds(
    peers: Mapping[str, tuple[Callable[[], Any], Callable[[Any], Any]]], repeat: int
) -> tuple[dict[str, list[float]], dict[str, Any]]:
    """``repeat`` rounds; each runs every peer once, the order rotating.

    Args:
        peers: name -> (``prepare``, ``run``): ``prepare()`` builds a run's input
            outside the timed region (e.g. a fresh copy of dicts a peer mutates);
            ``run(state)`` is timed and returns the peer's result.
        repeat: rounds.

    Returns:
        Seconds per peer (one per round, in round order) and each peer's last result.

    Example:
        >>> times, results = interleaved_rounds({"a": (lambda: 1, lambda s: s + 1)}, 2)
        >>> len(times["a"]), results["a"]
        (2, 2)
    """
    names = list(peers)
    times: dict[str, list[float]] = {name: [] for name in names}
    results: dict[str, Any] = {}
    for r in range(repeat):
        shift = r % len(names) if names else 0
        for name in names[shift:] + names[:shift]:
            prepare, run = peers[name]
            state = prepare()
            gc.collect()
            t0 = time.perf_counter()
            results[name] = run(state)
            times[name].append(time.perf_counter() - t0)
            del state
    return times, results


def paired_lines(times: Mapping[str, Sequence[float]], bases: Sequence[str]) -> list[str]:
    """Median seconds per peer and its median per-round ratio to each base peer.

    A ratio is ``peer seconds / base seconds`` of the same round (> 1: the base is
    faster); bases without times are skipped.

    Example:
        >>> print("\\n".join(paired_lines({"a": [1.0, 2.0], "b": [3.0, 4.0]}, ["a"])))
        interleaved rounds: median seconds; median of (peer / base) per round
          a: median 1.500 s
          b: median 3.500 s, x a 2.50 (rounds: 3.00, 2.00)
    """
    lines = ["interleaved rounds: median seconds; median of (peer / base) per round"]
    present = [b for b in bases if times.get(b)]
    for name, seconds in times.items():
        if not seconds:
            continue
        line = f"  {name}: median {float(np.median(seconds)):.3f} s"
        for base in present:
            if base == name:
                continue
            ratio = np.divide(seconds, times[base])
            line += f", x {base} {float(np.median(ratio)):.2f} (rounds: "
            line += ", ".join(f"{x:.2f}" for x in ratio) + ")"
        lines.append(line)
    return lines
