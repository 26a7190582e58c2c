"""Diversity kernels: nearest-center distances, k-center greedy (core-set), k-means++ seeds.

Everything works on ``(N, D)`` float embeddings in chunks of rows: no ``N x N`` (or
``N x M``) matrix is ever held beyond one chunk. Distances are squared Euclidean.

Precision. Two forms are used, each where it is the better one:

- ``min_sq_distances`` (``N`` points against ``M`` centers): up to ``32`` centers,
  one exact pass ``sum((x - c)^2)`` per center (exact ties go to the lowest center
  index). Beyond, it finds the nearest center with the expanded form
  ``|c|^2 - 2 x.c`` (``|x|^2`` is common to all centers) on one matrix product per
  chunk, both sides shifted by the centers' mean first to keep the cancellation
  small, then measures the distance to that center exactly. Either way the distance
  returned is exact up to ``~D`` roundings (relative error about ``1e-6`` in float32,
  ``1e-15`` in float64; a point equal to a center gets exactly 0). With the expanded
  form only the *choice* between centers whose squared distances differ by less
  than about ``eps * (|x - mean|^2 + |c - mean|^2)`` may differ from exact
  arithmetic (and exact ties may go to either center).
- ``k_center_greedy`` and ``kmeans_plus_plus`` add one center at a time; each step
  updates a running ``(N,)`` minimum with ``sum((x - c)^2)`` over chunks of rows that
  stay in cache: exact up to the same ``~D`` roundings, exactly 0 for duplicates, and
  on this CPU faster than a matrix-vector product (one read of ``x`` per step, no
  ``N x D`` temporary beyond one chunk). The picks agree with a float64 brute force
  except where two candidates' distances differ by less than about ``1e-6`` relative
  (float32).

Ties go to the lowest index (``argmax``/``argmin`` return the first extreme). No
host synchronisation: ``k`` steps of tensor work on the input's device.

Preconditions (not checked: kernels trust their callers): ``x`` is floating point
without NaN/inf; index tensors hold valid, distinct int64 indexes on ``x``'s device;
a ``generator`` lives on ``x``'s device.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor

__all__ = ["KCenterResult", "k_center_greedy", "kmeans_plus_plus", "min_sq_distances"]

_CPU_CHUNK = 1 << 20  # elements of a (rows, D) or (rows, M) temporary on the CPU: in cache
_CUDA_CHUNK = 1 << 26  # on a GPU: large enough that launch overhead vanishes
_EXACT_MAX_CENTERS = 32  # up to this many centers, one exact pass per center


class KCenterResult(NamedTuple):
    """Core-set picks in the order they were made.

    Attributes:
        indices: ``(k,)`` int64 row indices of ``x``, distinct, none in ``initial``.
        radii: ``(k,)`` Euclidean distance (not squared) of each pick to the set
            selected before it (``initial`` plus earlier picks), in the dtype of
            ``x``; ``inf`` for the first pick when there is no ``initial``. Without
            ties the radii do not increase; ``radii[j]`` is the covering radius of
            the set selected before pick ``j``.
    """

    indices: Tensor
    radii: Tensor


def _rows_per_chunk(x: Tensor, width: int, chunk_size: int | None) -> int:
    if chunk_size is not None:
        return max(1, chunk_size)
    budget = _CUDA_CHUNK if x.device.type == "cuda" else _CPU_CHUNK
    return max(1, budget // max(1, width))


def min_sq_distances(
    x: Tensor, centers: Tensor, *, chunk_size: int | None = None
) -> tuple[Tensor, Tensor]:
    """Squared Euclidean distance from each point to its nearest center, and which center.

    Args:
        x: ``(N, D)`` float points.
        centers: ``(M, D)`` float centers, same dtype and device.
        chunk_size: rows of ``x`` per chunk (default: about ``2**20`` elements of the
            ``(rows, M)`` distance block on the CPU, ``2**26`` on CUDA).

    Returns:
        ``(min_sq, argmin)``: ``(N,)`` squared distances in the dtype of ``x``
        (``inf`` when ``M == 0``) and ``(N,)`` int64 index of the nearest center
        (``-1`` when ``M == 0``; on exact ties the lowest index when ``M <= 32``,
        see the module notes beyond).

    Example:
        >>> import torch
        >>> x = torch.tensor([[0.0, 0.0], [3.0, 4.0], [1.0, 1.0]])
        >>> min_sq_distances(x, torch.tensor([[0.0, 0.0], [3.0, 3.0]]))
        (tensor([0., 1., 2.]), tensor([0, 1, 0]))
    """
    n, m = x.shape[0], centers.shape[0]
    if m == 0 or n == 0:
        return (
            torch.full((n,), math.inf, dtype=x.dtype, device=x.device),
            torch.full((n,), -1, dtype=torch.int64, device=x.device),
        )
    if m <= _EXACT_MAX_CENTERS:
        return _min_sq_exact(x, centers, _rows_per_chunk(x, x.shape[1], chunk_size))
    mu = centers.mean(dim=0)
    shifted = centers - mu
    cc = (shifted * shifted).sum(dim=1)
    min_sq = torch.empty(n, dtype=x.dtype, device=x.device)
    argmin = torch.empty(n, dtype=torch.int64, device=x.device)
    rows = _rows_per_chunk(x, max(m, x.shape[1]), chunk_size)
    for start in range(0, n, rows):
        xc = x[start : start + rows]
        xs = xc - mu
        # |x|^2 is the same for every center: the argmin needs |c|^2 - 2 x.c only.
        near = torch.addmm(cc, xs, shifted.T, alpha=-2).argmin(dim=1)
        diff = xc - centers.index_select(0, near)
        min_sq[start : start + rows] = (diff * diff).sum(dim=1)
        argmin[start : start + rows] = near
    return min_sq, argmin


def _min_sq_exact(x: Tensor, centers: Tensor, rows: int) -> tuple[Tensor, Tensor]:
    """One exact ``sum((x - c)^2)`` pass per center; strict ``<`` keeps the lowest index."""
    n = x.shape[0]
    min_sq = torch.full((n,), math.inf, dtype=x.dtype, device=x.device)
    argmin = torch.zeros(n, dtype=torch.int64, device=x.device)
    buf = x.new_empty((min(rows, n), x.shape[1]))
    sq = x.new_empty(min(rows, n))
    for j in range(centers.shape[0]):
        center = centers[j]
        for start in range(0, n, rows):
            xc = x[start : start + rows]
            b, s = buf[: xc.shape[0]], sq[: xc.shape[0]]
            torch.sub(xc, center, out=b)
            torch.sum(b.square_(), dim=1, out=s)
            closer = s < min_sq[start : start + rows]
            min_sq[start : start + rows] = torch.where(closer, s, min_sq[start : start + rows])
            argmin[start : start + rows].masked_fill_(closer, j)
    return min_sq, argmin


def _update_min_sq(x: Tensor, center: Tensor, min_sq: Tensor, rows: int, buf: Tensor) -> None:
    """``min_sq = minimum(min_sq, |x - center|^2)`` in place, chunk by chunk (exact form)."""
    sq = buf.new_empty(buf.shape[0])
    for start in range(0, x.shape[0], rows):
        xc = x[start : start + rows]
        b, s = buf[: xc.shape[0]], sq[: xc.shape[0]]
        torch.sub(xc, center, out=b)
        b.square_()
        torch.sum(b, dim=1, out=s)
        part = min_sq[start : start + rows]
        torch.minimum(part, s, out=part)


def k_center_greedy(
    x: Tensor,
    k: int,
    *,
    initial: Tensor | None = None,
    first: int | None = None,
    chunk_size: int | None = None,
) -> KCenterResult:
    """Greedy k-center (core-set, Sener & Savarese 2018): farthest-first traversal.

    Each pick is the point farthest from everything selected so far (``initial``,
    e.g. the labeled set, plus earlier picks); ties go to the lowest index. A running
    ``(N,)`` minimum squared distance is kept and updated with one pass over ``x``
    per pick; memory is ``O(N + chunk)``, never ``N x N``.

    Args:
        x: ``(N, D)`` float embeddings.
        k: number of picks; ``min(k, N - len(initial))`` are returned.
        initial: ``(L,)`` int64 indices already selected (labeled); they are never
            picked. Default: none.
        first: without ``initial``, the first pick (default 0; pass a seeded random
            index for a random start). Must be ``None`` when ``initial`` is given.
        chunk_size: rows per chunk (default: about ``2**20`` elements on the CPU,
            ``2**26`` on CUDA).

    Returns:
        ``KCenterResult(indices (k,) int64, radii (k,))``.

    Raises:
        ValueError: if both ``initial`` and ``first`` are given.

    Example:
        >>> import torch
        >>> x = torch.tensor([[0.0, 0.0], [1.0, 0.0], [10.0, 0.0], [5.0, 0.0]])
        >>> k_center_greedy(x, 3)
        KCenterResult(indices=tensor([0, 2, 3]), radii=tensor([inf, 10.,  5.]))
        >>> k_center_greedy(x, 2, initial=torch.tensor([2])).indices
        tensor([0, 3])
    """
    if initial is not None and first is not None:
        raise ValueError(
            f"Expected `first` to be None when `initial` is given, but got first={first}"
        )
    n = x.shape[0]
    num_initial = 0 if initial is None else initial.shape[0]
    k = max(0, min(k, n - num_initial))
    indices = torch.empty(k, dtype=torch.int64, device=x.device)
    radii = torch.empty(k, dtype=x.dtype, device=x.device)
    if k == 0:
        return KCenterResult(indices, radii)
    rows = _rows_per_chunk(x, x.shape[1], chunk_size)
    buf = x.new_empty((min(rows, n), x.shape[1]))
    if initial is not None and num_initial > 0:
        min_sq = min_sq_distances(x, x.index_select(0, initial), chunk_size=chunk_size)[0]
        min_sq.index_fill_(0, initial, -math.inf)
        pick = min_sq.argmax().view(1)
    else:
        min_sq = torch.full((n,), math.inf, dtype=x.dtype, device=x.device)
        pick = torch.full((1,), 0 if first is None else first, dtype=torch.int64, device=x.device)
    for j in range(k):
        if j > 0:
            pick = min_sq.argmax().view(1)
        indices[j : j + 1] = pick
        radii[j : j + 1] = min_sq.index_select(0, pick).sqrt()
        _update_min_sq(x, x.index_select(0, pick), min_sq, rows, buf)
        min_sq.index_fill_(0, pick, -math.inf)
    return KCenterResult(indices, radii)


def kmeans_plus_plus(
    x: Tensor, k: int, *, generator: torch.Generator | None = None, chunk_size: int | None = None
) -> Tensor:
    """k-means++ seeding (Arthur & Vassilvitskii 2007): sample by squared distance.

    The first seed is uniform; each next one is drawn with ``torch.multinomial`` with
    probability proportional to its squared distance to the nearest seed so far.
    Deterministic for a given generator state. When every remaining point coincides
    with a seed (fewer than ``k`` distinct points), the rest are drawn uniformly among
    the points not yet chosen, so the seeds are always distinct indices.

    Args:
        x: ``(N, D)`` float points.
        k: number of seeds; ``min(k, N)`` are returned.
        generator: a ``torch.Generator`` on ``x``'s device (default: the global RNG).
        chunk_size: rows per chunk of the distance updates.

    Returns:
        ``(k,)`` int64 distinct row indices of ``x``, in the order drawn.

    Example:
        >>> import torch
        >>> x = torch.tensor([[0.0], [0.1], [10.0], [10.1]])
        >>> seeds = kmeans_plus_plus(x, 2, generator=torch.Generator().manual_seed(0))
        >>> sorted(int(i) // 2 for i in seeds)  # one seed in each pair
        [0, 1]
    """
    n = x.shape[0]
    k = max(0, min(k, n))
    seeds = torch.empty(k, dtype=torch.int64, device=x.device)
    if k == 0:
        return seeds
    rows = _rows_per_chunk(x, x.shape[1], chunk_size)
    buf = x.new_empty((min(rows, n), x.shape[1]))
    min_sq = torch.full((n,), math.inf, dtype=x.dtype, device=x.device)
    free = torch.ones(n, dtype=x.dtype, device=x.device)  # 1 for points not yet chosen
    pick = torch.randint(n, (1,), generator=generator, device=x.device)
    tiny = torch.finfo(x.dtype).tiny
    for j in range(k):
        if j > 0:
            # Scale by the max (no overflow in the sum); all zero -> uniform over the free.
            weights = min_sq / min_sq.amax().clamp_min(tiny)
            weights = weights + free * (weights.sum() <= 0)
            pick = torch.multinomial(weights, 1, generator=generator)
        seeds[j : j + 1] = pick
        _update_min_sq(x, x.index_select(0, pick), min_sq, rows, buf)
        min_sq.index_fill_(0, pick, 0.0)
        free.index_fill_(0, pick, 0.0)
    return seeds
