"""Diversity kernels: nearest-center distances, k-center greedy (core-set), k-means++ seeds.

Everything works on ``(N, D)`` float embeddings with ``O(N)`` state: no ``N x N``
(or ``N x M``) matrix is ever held beyond one chunk of rows.

Precision. Two forms of the Euclidean distance are used, each where it is better:

- the exact form ``sum((x - c)^2)`` (exact up to ``~D`` roundings, relative error
  about ``1e-6`` in float32 and ``1e-15`` in float64; exactly 0 for a point equal
  to a center; equal for equal rows): ``min_sq_distances`` up to 32 centers, and,
  as ``torch.cdist`` with ``compute_mode="donot_use_mm_for_euclid_dist"`` (its
  square root, fused in one parallel pass) on the CPU and as the norm of the
  difference, chunk by chunk, on a GPU, ``k_center_greedy`` and
  ``kmeans_plus_plus`` for their one-center-per-step updates: a running ``(N,)``
  minimum, one read of ``x`` per step, measured on the CPU as fast as a
  matrix-vector product and, being one parallel region rather than one per chunk,
  far less sensitive to a busy CPU;
- the expanded form ``|c|^2 - 2 x.c`` (``|x|^2`` is common to all centers), one
  matrix product per chunk of rows, both sides shifted by the centers' mean first
  to keep the cancellation small: ``min_sq_distances`` with more than 32 centers
  uses it to *choose* the nearest center, then measures the distance to that center
  exactly. Only the choice between centers whose squared distances differ by less
  than about ``eps * (|x - mean|^2 + |c - mean|^2)`` may then differ from exact
  arithmetic (and exact ties may go to either center).

The k-center picks therefore agree with a float64 brute force except where two
candidates' distances differ by less than about ``1e-6`` relative (float32). Ties go
to the lowest index (``argmax``/``argmin`` return the first extreme). One host read
(the largest magnitude, below), then ``k`` steps of tensor work on the input's device.

Scale. ``k_center_greedy`` and ``kmeans_plus_plus`` first scale points whose squared
distances would overflow (float32 entries past about ``2**55`` for ``D = 4096``) or
underflow (below about ``2**-39`` in float32, ``2**-458`` in float64: at ``1e-25`` every
float32 distance is 0) by a power of two (one ``aminmax`` pass; a copy of ``x`` only
then). That is exact, so the picks are the same at every scale, and the radii are
returned in ``x``'s units. ``min_sq_distances`` returns squared distances as they are.

Checks. Metadata on every device (tensors, float dtypes, shapes, ``int`` counts and
indexes, devices). On the CPU also the values: ``initial`` in range and distinct (a
pass and a sort of its ``L`` indexes); NaN or inf in ``x`` is named once the picks
show it (a NaN or inf distance, read from the ``(N,)`` running minimum: ``1/D`` of one
pick's work, no pass over ``x`` on valid input). Devices do not read values:
out-of-range indexes trip a device-side assert, duplicates in ``initial`` leave fewer
points to pick, and NaN gives unspecified picks. ``min_sq_distances`` lets NaN through
to its outputs (a NaN distance; its nearest center is then unspecified).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor

from . import _triton
from ._checks import (
    check_dtype,
    check_int,
    check_range,
    check_same_device,
    check_size,
    check_tensor,
    reads_values,
)
from ._nonzero import flat_nonzero

__all__ = ["KCenterResult", "k_center_greedy", "kmeans_plus_plus", "min_sq_distances"]

_CPU_CHUNK = 1 << 22  # elements of a (rows, D) or (rows, M) temporary on the CPU
_CUDA_CHUNK = 1 << 26  # on a GPU: large enough that launch overhead vanishes
_DEVICE_UPDATE_BYTES = 1 << 27  # GPU per-pick updates: 128 MB of rows per chunk
_EXACT_MAX_CENTERS = 32  # up to this many centers, exact distances to all of them


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


def _check_points(name: str, x: object, shape: str) -> Tensor:
    """``x`` must be a 2-D floating-point tensor."""
    checked = check_tensor(name, x, 2, shape)
    check_dtype(name, checked, "floating")
    return checked


def _check_chunk_size(chunk_size: object) -> None:
    if chunk_size is not None:
        check_int("chunk_size", chunk_size, minimum=1)


def _check_distinct(name: str, index: Tensor) -> None:
    """CPU 1-D ``index`` must not repeat a value; device values are not read.

    One sort of its ``L`` entries, whatever ``N``; the first entry holding a repeated
    value is looked up only on failure.
    """
    if not reads_values(index) or index.shape[0] < 2:
        return
    ordered = torch.sort(index).values
    repeated = ordered[1:] == ordered[:-1]
    if not bool(repeated.any()):
        return
    first = int(flat_nonzero(torch.isin(index, ordered[1:][repeated]))[0])
    raise ValueError(
        f"Expected `{name}` to hold distinct indexes, but got {index[first].item()} more than "
        f"once (first offending item: {name}[{first}])"
    )


def _raise_if_not_finite(x: Tensor) -> None:
    """Name the first NaN or inf entry of ``x``, if there is one."""
    bad = flat_nonzero(~torch.isfinite(x).reshape(-1))
    if not bad.shape[0]:
        return
    row, col = divmod(int(bad[0]), x.shape[1])
    raise ValueError(
        f"Expected `x` to hold finite values, but got {x[row, col].item()} (first offending "
        f"item: x[{row}, {col}])"
    )


def _rows_per_chunk(x: Tensor, width: int, chunk_size: int | None) -> int:
    if chunk_size is not None:
        return max(1, chunk_size)
    budget = _CUDA_CHUNK if x.device.type == "cuda" else _CPU_CHUNK
    return max(1, budget // max(1, width))


def _distance_shift(biggest: float, dtype: torch.dtype, dim: int) -> int:
    """The ``shift`` that brings points into range for squared distances: ``x * 2**-shift``.

    Squared distances of ``dim``-vectors whose entries are at most ``M`` in magnitude are
    at most ``4 * dim * M**2``: past ``M = 2**((E - 4 - log2(4 * dim)) / 2)`` (``E``: the
    dtype's largest exponent, 128 in float32; ``2**55`` for ``dim = 4096`` in float32, a
    margin of ``2**4``) every distance could be ``inf``. Below
    ``M = 2**(log2(tiny) / 2 + p)`` (``p``: the significand's bits; ``2**-39`` in
    float32, ``2**-458`` in float64) the squares of differences in ``M``'s last bits are
    subnormal or 0, and at ``1e-25`` in float32 every distance is 0. Either way the picks
    would fall back to index order. Outside that window the points are scaled by a power
    of two that puts the largest magnitude just below the upper bound: exact, so the
    picks are those of any other scale.

    Args:
        biggest: the largest magnitude among the points' entries.
        dtype: their floating-point dtype.
        dim: their dimension ``D``.

    Returns:
        0 inside the window, for ``biggest == 0`` and for a NaN or inf ``biggest``
        (left to the checks); else ``shift``, positive for huge points, negative for
        tiny ones.

    Example:
        >>> _distance_shift(1.0, torch.float32, 4096), _distance_shift(1e19, torch.float32, 4096)
        (0, 9)
        >>> _distance_shift(1e-25, torch.float32, 8), _distance_shift(1e-25, torch.float64, 8)
        (-142, 0)
    """
    if biggest == 0.0 or not math.isfinite(biggest):
        return 0
    info = torch.finfo(dtype)
    high = (math.frexp(info.max)[1] - 4 - math.log2(4 * max(dim, 1))) / 2
    low = math.log2(info.tiny) / 2 + 1 - math.log2(info.eps)
    if low <= math.log2(biggest) <= high:
        return 0
    return math.frexp(biggest)[1] - math.floor(high)  # biggest * 2**-shift < 2**floor(high)


def _times_power_of_two(t: Tensor, exponent: int) -> Tensor:
    """``t * 2**exponent`` (a new tensor), exact but where the result is subnormal or ``inf``.

    In steps by powers of two that are normal numbers of ``t``'s dtype (a Python float
    multiplies a float32 tensor as a float32: ``2.0**-140`` would be 0 there); every step
    moves the same way, so only the last can round.
    """
    info = torch.finfo(t.dtype)
    step = min(math.frexp(info.max)[1] - 1, 1 - math.frexp(info.tiny)[1])  # float32: 126
    part = max(-step, min(step, exponent))
    out = t * 2.0**part
    exponent -= part
    while exponent:
        part = max(-step, min(step, exponent))
        out.mul_(2.0**part)
        exponent -= part
    return out


def _in_range_for_distances(x: Tensor) -> tuple[Tensor, int]:
    """``(x * 2**-shift, shift)`` with :func:`_distance_shift`'s ``shift``; ``(x, 0)`` in range.

    One ``aminmax`` pass (no ``|x|`` copy) and one host read of the largest magnitude;
    a copy of ``x`` only when it is out of range.
    """
    if not x.numel():
        return x, 0
    lowest, highest = torch.aminmax(x)
    biggest = float(torch.maximum(highest, lowest.neg()))
    shift = _distance_shift(biggest, x.dtype, x.shape[1])
    return (_times_power_of_two(x, -shift), shift) if shift else (x, 0)


def min_sq_distances(
    x: Tensor, centers: Tensor, *, chunk_size: int | None = None
) -> tuple[Tensor, Tensor]:
    """Squared Euclidean distance from each point to its nearest center, and which center.

    Args:
        x: ``(N, D)`` float points.
        centers: ``(M, D)`` float centers, same dtype and device.
        chunk_size: rows of ``x`` per chunk (default: about ``2**22`` elements of the
            ``(rows, M)`` distance block on the CPU, ``2**26`` on CUDA).

    Returns:
        ``(min_sq, argmin)``: ``(N,)`` squared distances in the dtype of ``x``
        (``inf`` when ``M == 0``) and ``(N,)`` int64 index of the nearest center
        (``-1`` when ``M == 0``; on exact ties the lowest index when ``M <= 32``,
        see the module notes beyond).

    Raises:
        TypeError: ``x`` or ``centers`` not a floating-point tensor, or of two dtypes;
            ``chunk_size`` not an int.
        ValueError: not 2-D, another ``D``, another device; ``chunk_size < 1``.

    Example:
        >>> import torch
        >>> x = torch.tensor([[0.0, 0.0], [3.0, 4.0], [1.0, 1.0]])
        >>> min_sq_distances(x, torch.tensor([[0.0, 0.0], [3.0, 3.0]]))
        (tensor([0., 1., 2.]), tensor([0, 1, 0]))
    """
    _check_points("x", x, "(N, D)")
    _check_points("centers", centers, "(M, D)")
    if centers.dtype != x.dtype:
        raise TypeError(
            f"Expected `centers` to have the dtype of `x` ({x.dtype}), but got {centers.dtype}"
        )
    check_size("centers", centers, x.shape[1], "one coordinate per dimension of `x`", dim=1)
    check_same_device(x=x, centers=centers)
    _check_chunk_size(chunk_size)
    return _min_sq_distances(x, centers, chunk_size)


def _min_sq_distances(x: Tensor, centers: Tensor, chunk_size: int | None) -> tuple[Tensor, Tensor]:
    """:func:`min_sq_distances` of arguments already checked."""
    n, m = x.shape[0], centers.shape[0]
    if m == 0 or n == 0:
        return (
            torch.full((n,), math.inf, dtype=x.dtype, device=x.device),
            torch.full((n,), -1, dtype=torch.int64, device=x.device),
        )
    if m <= _EXACT_MAX_CENTERS:
        return _min_sq_exact(x, centers, _rows_per_chunk(x, m * x.shape[1], chunk_size))
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


def _distances(x: Tensor, centers: Tensor) -> Tensor:
    """``(N, M)`` exact Euclidean distances ``sqrt(sum((x - c)^2))`` (no matmul shortcut)."""
    return torch.cdist(x, centers, compute_mode="donot_use_mm_for_euclid_dist")


def _update_nearest(dist: Tensor, x: Tensor, center: Tensor) -> None:
    """``dist = min(dist, |x - center|)`` in place, exact form, for one ``(1, D)`` center.

    CUDA with Triton: one kernel reads ``x`` once (sum of squared differences, square
    root, minimum, in registers). CPU: one ``cdist`` (one parallel pass). Other
    devices: the difference and its norm, over chunks of ``_DEVICE_UPDATE_BYTES`` of
    ``x`` so that the ``(rows, D)`` temporary stays bounded; twice as fast there as
    ``cdist`` (1M x 128 float32 on an H100: 0.74 ms per pick against 1.42; 0.71
    unchunked, 0.85 in 32 MB chunks).
    """
    if _triton_update_nearest(dist, x, center):
        return
    if x.device.type == "cpu":
        torch.minimum(dist, _distances(x, center).squeeze(1), out=dist)
        return
    rows = max(1, _DEVICE_UPDATE_BYTES // max(1, x.shape[1] * x.element_size()))
    _update_nearest_chunks(dist, x, center, rows)


def _triton_update_nearest(dist: Tensor, x: Tensor, center: Tensor) -> bool:
    """CUDA with Triton: the update in one read of ``x`` (False: not taken)."""
    if (
        x.dtype not in (torch.float32, torch.float64)
        or x.ndim != 2
        or (x.shape[0] > 1 and x.stride(1) != 1)
        or not dist.is_contiguous()
        or not _triton.available(dist, x, center)
    ):
        return False
    return _triton.update_nearest(dist, x, center)


def _update_nearest_chunks(dist: Tensor, x: Tensor, center: Tensor, rows: int) -> None:
    """The devices' form of :func:`_update_nearest`, ``rows`` rows of ``x`` at a time."""
    for start in range(0, x.shape[0], rows):
        part = dist[start : start + rows]
        near = torch.linalg.vector_norm(x[start : start + rows] - center, dim=1)
        torch.minimum(part, near, out=part)


def _min_sq_exact(x: Tensor, centers: Tensor, rows: int) -> tuple[Tensor, Tensor]:
    """Exact ``sum((x - c)^2)`` to every center, chunk by chunk; ties -> lowest center index."""
    n = x.shape[0]
    min_sq = torch.empty(n, dtype=x.dtype, device=x.device)
    argmin = torch.empty(n, dtype=torch.int64, device=x.device)
    for start in range(0, n, rows):
        diff = x[start : start + rows].unsqueeze(1) - centers  # (rows, M, D)
        sq, near = diff.square_().sum(dim=2).min(dim=1)
        min_sq[start : start + rows] = sq
        argmin[start : start + rows] = near
    return min_sq, argmin


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
    ``(N,)`` minimum distance is kept and updated with one exact-distance pass over
    ``x`` per pick (``cdist`` against the new center); memory is ``O(N)`` plus one
    chunk for the distances to ``initial``, never ``N x N``. Points too large or too
    small for squared distances are scaled by a power of two first (module notes): the
    same picks at every scale, the radii in ``x``'s units.

    Args:
        x: ``(N, D)`` float embeddings, finite.
        k: number of picks (``>= 0``); ``min(k, N - len(initial))`` are returned.
        initial: ``(L,)`` int64 (or narrower integer) distinct row indexes already
            selected (labeled); they are never picked. Default: none. A bool mask is
            refused: pass ``mask.nonzero().view(-1)``.
        first: without ``initial``, the first pick, an ``int`` in ``[0, N)`` (default 0;
            pass a seeded random index for a random start). Must be ``None`` when
            ``initial`` is given.
        chunk_size: rows per chunk for the distances to ``initial`` (default: about
            ``2**22`` elements of the ``(rows, len(initial))`` block on the CPU,
            ``2**26`` on CUDA); the per-pick updates size their own chunks.

    Returns:
        ``KCenterResult(indices (k,) int64, radii (k,))``.

    Raises:
        TypeError: ``x`` not a floating-point tensor, ``initial`` not an integer
            tensor, ``k``, ``first`` or ``chunk_size`` not an int.
        ValueError: both ``initial`` and ``first`` given; ``x`` not 2-D; ``initial``
            not 1-D or on another device; ``k < 0``, ``first`` outside ``[0, N)``,
            ``chunk_size < 1``; on the CPU, ``initial`` outside ``[0, N)`` or repeating
            an index, and NaN or inf in ``x`` once the picks meet it (see the module
            notes).

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
    _check_points("x", x, "(N, D)")
    k = check_int("k", k)
    n = x.shape[0]
    if first is not None:
        first = check_int("first", first)
        if first >= n:
            raise ValueError(f"Expected `first` to be a row of `x` in [0, {n}), but got {first}")
    if initial is not None:
        initial = check_tensor("initial", initial, 1, "(L,)")
        if initial.dtype == torch.bool:
            raise TypeError(
                "Expected `initial` to be an integer tensor of row indexes, but got dtype "
                "torch.bool (for a mask, pass mask.nonzero().view(-1))"
            )
        check_dtype("initial", initial, "integer")
        check_same_device(x=x, initial=initial)
        initial = initial.long()  # index_fill_ takes int64 indexes
        check_range("initial", initial, 0, n, "row indexes of `x`")
        _check_distinct("initial", initial)
    _check_chunk_size(chunk_size)
    points, shift = _in_range_for_distances(x)
    result, dist = _k_center_greedy(points, k, initial, first, chunk_size)
    if result.indices.shape[0] and reads_values(dist):
        # a NaN or inf row of x makes its distance to every center NaN or inf, which
        # stays in the running minimum until picked, and then is that pick's radius
        # (a first pick without `initial` has radius inf by definition)
        radii = result.radii[1:] if initial is None else result.radii
        if not (bool(torch.isfinite(radii).all()) and bool((dist < math.inf).all())):
            _raise_if_not_finite(x)
    if shift:  # the radii in x's units
        return KCenterResult(result.indices, _times_power_of_two(result.radii, shift))
    return result


def _k_center_greedy(
    x: Tensor, k: int, initial: Tensor | None, first: int | None, chunk_size: int | None
) -> tuple[KCenterResult, Tensor]:
    """:func:`k_center_greedy` of arguments already checked; also the running minimum."""
    n = x.shape[0]
    num_initial = 0 if initial is None else initial.shape[0]
    k = max(0, min(k, n - num_initial))
    indices = torch.empty(k, dtype=torch.int64, device=x.device)
    radii = torch.empty(k, dtype=x.dtype, device=x.device)
    if k == 0:
        return KCenterResult(indices, radii), radii
    if initial is not None and num_initial > 0:
        dist = _initial_distances(x, x.index_select(0, initial), chunk_size)
        dist.index_fill_(0, initial, -math.inf)
        pick = dist.argmax().view(1)
    else:
        dist = torch.full((n,), math.inf, dtype=x.dtype, device=x.device)
        pick = torch.full((1,), 0 if first is None else first, dtype=torch.int64, device=x.device)
    for j in range(k):
        if j > 0:
            pick = dist.argmax().view(1)
        indices[j : j + 1] = pick
        radii[j : j + 1] = dist.index_select(0, pick)
        _update_nearest(dist, x, x.index_select(0, pick))
        dist.index_fill_(0, pick, -math.inf)
    return KCenterResult(indices, radii), dist


def _initial_distances(x: Tensor, centers: Tensor, chunk_size: int | None) -> Tensor:
    """Distance to the nearest of ``centers``, exact (``cdist``: the CPU's per-pick form).

    Past ``_EXACT_MAX_CENTERS`` the nearest center comes from :func:`min_sq_distances`.
    On the CPU its distance is then taken by ``cdist`` too, not by ``sqrt`` of the
    squared one: torch's CPU ``sqrt`` may run MKL's vector square root, within an ulp
    but not correctly rounded (an MKL build gave ``sqrt(2.0)`` one ulp low). Equal
    distances then stay equal to the per-pick updates', and ties keep the lowest index.
    """
    m = centers.shape[0]
    if m > _EXACT_MAX_CENTERS:
        min_sq, near = _min_sq_distances(x, centers, chunk_size)
        if x.device.type != "cpu":
            return min_sq.sqrt_()
        rows = _rows_per_chunk(x, x.shape[1], chunk_size)
        origin = x.new_zeros(1, x.shape[1])
        for start in range(0, x.shape[0], rows):
            diff = x[start : start + rows] - centers.index_select(0, near[start : start + rows])
            min_sq[start : start + rows] = _distances(diff, origin).squeeze(1)
        return min_sq
    rows = _rows_per_chunk(x, m * x.shape[1], chunk_size)
    out = torch.empty(x.shape[0], dtype=x.dtype, device=x.device)
    for start in range(0, x.shape[0], rows):
        out[start : start + rows] = _distances(x[start : start + rows], centers).amin(dim=1)
    return out


def kmeans_plus_plus(
    x: Tensor, k: int, *, generator: torch.Generator | None = None, chunk_size: int | None = None
) -> Tensor:
    """k-means++ seeding (Arthur & Vassilvitskii 2007): sample by squared distance.

    The first seed is uniform; each next one is drawn with ``torch.multinomial`` with
    probability proportional to its squared distance to the nearest seed so far.
    Deterministic for a given generator state. When every remaining point coincides
    with a seed (fewer than ``k`` distinct points), the rest are drawn uniformly among
    the points not yet chosen, so the seeds are always distinct indices. Points too
    large or too small for squared distances are scaled by a power of two first (module
    notes): the same seeds at every scale.

    Args:
        x: ``(N, D)`` float points, finite.
        k: number of seeds (``>= 0``); ``min(k, N)`` are returned.
        generator: a ``torch.Generator`` on ``x``'s device (default: the global RNG).
        chunk_size: unused (the per-seed updates size their own chunks); kept for symmetry
            with the other kernels (an ``int >= 1`` or ``None``).

    Returns:
        ``(k,)`` int64 distinct row indices of ``x``, in the order drawn.

    Raises:
        TypeError: ``x`` not a floating-point tensor, ``k`` or ``chunk_size`` not an
            int, ``generator`` not a ``torch.Generator``.
        ValueError: ``x`` not 2-D, ``k < 0``, ``chunk_size < 1``, ``generator`` on
            another device; on the CPU, NaN or inf in ``x`` once a draw meets it (its
            weight is NaN: no pass over ``x`` on valid input).

    Example:
        >>> import torch
        >>> x = torch.tensor([[0.0], [0.1], [10.0], [10.1]])
        >>> seeds = kmeans_plus_plus(x, 2, generator=torch.Generator().manual_seed(0))
        >>> sorted(int(i) // 2 for i in seeds)  # one seed in each pair
        [0, 1]
    """
    _check_points("x", x, "(N, D)")
    k = check_int("k", k)
    if generator is not None:
        if not isinstance(generator, torch.Generator):
            raise TypeError(
                f"Expected `generator` to be a torch.Generator, but got {type(generator).__name__}"
            )
        made_on = torch.device(generator.device)
        if made_on.type != x.device.type or (  # an index left out means the current one
            None not in (made_on.index, x.device.index) and made_on.index != x.device.index
        ):
            raise ValueError(
                f"Expected `generator` on the device of `x` ({x.device}), but got "
                f"{generator.device}; create it with torch.Generator(device=x.device)"
            )
    _check_chunk_size(chunk_size)
    try:
        return _kmeans_plus_plus(_in_range_for_distances(x)[0], k, generator)
    except RuntimeError as error:  # multinomial's CPU check of NaN weights failed
        failure = error
    if reads_values(x):
        _raise_if_not_finite(x)  # name the NaN / inf entry behind the NaN weight
    raise failure


def _kmeans_plus_plus(x: Tensor, k: int, generator: torch.Generator | None) -> Tensor:
    """:func:`kmeans_plus_plus` of arguments already checked."""
    n = x.shape[0]
    k = max(0, min(k, n))
    seeds = torch.empty(k, dtype=torch.int64, device=x.device)
    if k == 0:
        return seeds
    dist = torch.full((n,), math.inf, dtype=x.dtype, device=x.device)
    free = torch.ones(n, dtype=x.dtype, device=x.device)  # 1 for points not yet chosen
    pick = torch.randint(n, (1,), generator=generator, device=x.device)
    tiny = torch.finfo(x.dtype).tiny
    for j in range(k):
        if j > 0:
            # D^2 scaled by its max (no overflow in the sum); all zero -> uniform over the free.
            weights = dist / dist.amax().clamp_min(tiny)
            weights = weights.square_() + free * (weights.sum() <= 0)
            pick = torch.multinomial(weights, 1, generator=generator)
        seeds[j : j + 1] = pick
        _update_nearest(dist, x, x.index_select(0, pick))
        dist.index_fill_(0, pick, 0.0)
        free.index_fill_(0, pick, 0.0)
    return seeds
