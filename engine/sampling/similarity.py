"""Similarity collection: find the pool frames that look like a set of examples.

This is what Aquarium Learning calls a *collection campaign*: the elements of an issue
(error bucket) are the examples, frame or crop embeddings; every frame of a pool of new,
unlabeled data gets a score from the embeddings of the frame (or of its crops, reduced
to the frame by their maximum), and the frames that score at least a threshold (0.5 by
default, Aquarium's ``score_threshold``) or the global top ``N`` are collected, each with
the example it matched best and the pool row (frame or crop) that matched.

Scores (``method``):

``"similarity"`` (default)
    best match over the examples. ``metric="cosine"``: cosine similarity, in
    [-1, 1]. ``metric="l2"``: ``1 / (1 + d)`` with ``d`` the Euclidean distance to the
    nearest example, in (0, 1] (0.5 at distance 1).
``"microcluster"``
    Aquarium's collection score (``similarity_score_version`` "v1" of its open-source
    client): embeddings are L2-normalised, projected by a PCA, and scored against
    *microclusters* of the examples: ``max(0, 1 - |v - c| / (2 r))``, the best over the
    microclusters. Aquarium fits the PCA and the microclusters on its servers and its
    client only downloads them; what it does there is assumed from the prototype in
    the same client, which :func:`fit_microclusters` follows:

    - PCA to ``pca_dim`` (64, the prototype's ``PCA_CLUSTERING_DIM``) components,
      fitted on the normalised ``reference`` embeddings (the data set the examples come
      from; by default the pool).
    - Each example's *core distance* is the distance to its ``core_size``-th (16, the
      prototype's ``CORE_SIZE``) nearest reference embedding, in PCA space.
    - Examples are taken in order: one that lies strictly within (by a relative
      ``1e-9``, so that rounding cannot decide a distance equal to the radius, as an
      example's core neighbour often is) the radius of an
      existing microcluster (the first, in creation order) joins it, the centroid
      becomes its members' mean and the radius grows to the largest per-dimension
      extent (max - min) of its members if that is larger; otherwise it starts a new
      microcluster centred on itself with its core distance as radius. (The prototype
      snaps an example to its nearest reference point first; here the example itself is
      used, which is the same when the examples are part of the reference.)
    - A microcluster of radius 0 scores 1 at its centre and 0 elsewhere.

    The matched example is the winning microcluster's member nearest the pool
    embedding (in PCA space); the winner is the microcluster with the largest
    ``1 - |v - c| / (2 r)`` before clamping, so a frame scoring 0 still names its
    nearest one.

Everything runs as torch on one device: the pool is cut into row chunks, each chunk is
one matrix product against the examples (or microcluster centroids) and a max-reduction,
and crops are reduced to frames with scatter reductions; there is no loop over frames.
Ties: between examples (or microclusters), the first in order; between crops of a
frame, the first row; between frames, the smaller frame id (``str`` order).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import torch
from pydantic import BaseModel, ConfigDict

from ..device import resolve_device
from ..index._inputs import as_ids

__all__ = [
    "COLLECTION_METHODS",
    "COLLECTION_METRICS",
    "CollectionMethod",
    "CollectionMetric",
    "CollectionResult",
    "Microclusters",
    "collect_similar",
    "fit_microclusters",
]

CollectionMethod = Literal["similarity", "microcluster"]
CollectionMetric = Literal["cosine", "l2"]
COLLECTION_METHODS: tuple[str, ...] = ("similarity", "microcluster")
COLLECTION_METRICS: tuple[str, ...] = ("cosine", "l2")
_CHUNK_ELEMENTS = 16 * 2**20  # entries of one (chunk x examples) score block
_RADIUS_RTOL = 1e-9  # "strictly within a radius" ignores this relative rounding noise


class Microclusters(BaseModel):
    """Aquarium-style microclusters of example embeddings, with their PCA.

    Attributes:
        example_ids: the examples, in order.
        mean: ``(D,)`` float64 PCA mean of the normalised reference embeddings.
        components: ``(C, D)`` float64 PCA axes, largest variance first.
        centroids: ``(M, C)`` float64 microcluster centres in PCA space.
        radii: ``(M,)`` float64 radii.
        member_of: ``(E,)`` int64 microcluster of each example.
        core_distances: ``(E,)`` float64 each example's ``core_size``-th nearest
            reference distance in PCA space.
        core_size: neighbours counted for the core distance (capped at the reference size).
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    example_ids: tuple[str, ...]
    mean: np.ndarray
    components: np.ndarray
    centroids: np.ndarray
    radii: np.ndarray
    member_of: np.ndarray
    core_distances: np.ndarray
    core_size: int

    @property
    def members(self) -> tuple[tuple[str, ...], ...]:
        """Example ids of each microcluster."""
        groups: list[list[str]] = [[] for _ in range(self.centroids.shape[0])]
        for item, j in zip(self.example_ids, self.member_of.tolist(), strict=True):
            groups[j].append(item)
        return tuple(tuple(g) for g in groups)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict of plain lists."""
        return {
            "example_ids": list(self.example_ids),
            "mean": self.mean.tolist(),
            "components": self.components.tolist(),
            "centroids": self.centroids.tolist(),
            "radii": self.radii.tolist(),
            "member_of": self.member_of.tolist(),
            "core_distances": self.core_distances.tolist(),
            "core_size": self.core_size,
        }


class CollectionResult(BaseModel):
    """The collected frames, best first (ties: smaller frame id first).

    Attributes:
        frame_ids: collected frames.
        scores: ``(F,)`` float64 their scores.
        matched_example_ids: the example each frame matched best.
        matched_pool_ids: the pool row (the frame itself, or its best crop) that scored.
        method: ``"similarity"`` or ``"microcluster"``.
        metric: ``"cosine"`` or ``"l2"``.
        threshold: the score threshold applied, None when ``top_n`` selected.
        top_n: the requested number of frames, None for threshold selection.
        num_frames_scored: frames in the pool.
        microclusters: the fitted microclusters for ``method="microcluster"``.
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    frame_ids: tuple[str, ...]
    scores: np.ndarray
    matched_example_ids: tuple[str, ...]
    matched_pool_ids: tuple[str, ...]
    method: CollectionMethod
    metric: CollectionMetric
    threshold: float | None
    top_n: int | None
    num_frames_scored: int
    microclusters: Microclusters | None = None

    def __len__(self) -> int:
        return len(self.frame_ids)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (the microclusters as :meth:`Microclusters.to_dict`)."""
        return {
            "frame_ids": list(self.frame_ids),
            "scores": self.scores.tolist(),
            "matched_example_ids": list(self.matched_example_ids),
            "matched_pool_ids": list(self.matched_pool_ids),
            "method": self.method,
            "metric": self.metric,
            "threshold": self.threshold,
            "top_n": self.top_n,
            "num_frames_scored": self.num_frames_scored,
            "microclusters": None if self.microclusters is None else self.microclusters.to_dict(),
        }


# ---------------------------------------------------------------------- input checks


def _as_tensor(x: Any, name: str) -> torch.Tensor:
    """2-D real tensor (numpy wrapped without a copy), device and dtype left as they are."""
    if isinstance(x, np.ndarray):
        if x.dtype.kind not in "fiu":
            raise TypeError(f"Expected `{name}` to hold real numbers, but got dtype {x.dtype}")
        t = torch.from_numpy(np.ascontiguousarray(x))
    elif isinstance(x, torch.Tensor):
        if x.is_complex() or x.dtype == torch.bool:
            raise TypeError(f"Expected `{name}` to hold real numbers, but got dtype {x.dtype}")
        t = x.detach()
    else:
        raise TypeError(
            f"Expected `{name}` to be a torch.Tensor or numpy array, but got {type(x).__name__}"
        )
    if t.ndim != 2 or t.shape[1] == 0:
        raise ValueError(
            f"Expected `{name}` to be 2-D (N, D) with D >= 1, but got shape {tuple(t.shape)}"
        )
    return t


def _check_rows(t: torch.Tensor, name: str, *, unit: bool) -> None:
    """Finite rows (and non-zero ones where they get normalised); names the first bad row.

    Checked a block of rows at a time, so the temporaries stay small for large pools.
    """
    rows = max(1, _CHUNK_ELEMENTS // max(t.shape[1], 1))
    for start in range(0, t.shape[0], rows):
        lo, hi = torch.aminmax(t[start : start + rows], dim=1)  # NaN propagates
        bad = ~(torch.isfinite(lo) & torch.isfinite(hi))
        if unit:
            bad |= (lo == 0) & (hi == 0)
        if bool(bad.any()):
            row = start + int(torch.nonzero(bad)[0, 0])
            what = "finite, non-zero vectors" if unit else "finite"
            raise ValueError(
                f"Expected `{name}` to be {what}, but got {t[row, :8].tolist()} "
                f"(first offending item: row {row})"
            )


def _as_str_list(ids: Any, name: str, n: int) -> list[str]:
    """:func:`as_ids` (str items, valid UTF-8), one per row."""
    out = as_ids(ids, name)
    if len(out) != n:
        raise ValueError(f"Expected `{name}` to hold {n} ids (one per row), but got {len(out)}")
    return out


def _check_unique(ids: list[str], name: str) -> None:
    if len(set(ids)) == len(ids):
        return
    seen: set[str] = set()
    for item in ids:
        if item in seen:
            raise ValueError(
                f"Expected `{name}` to be unique, but got a repeated id (first offending item: "
                f"{item!r})"
            )
        seen.add(item)


def _positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"Expected `{name}` to be an int, but got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"Expected `{name}` to be an int >= 1, but got {value}")
    return int(value)


def _chunk_rows(chunk_size: int | None, width: int) -> int:
    if chunk_size is not None:
        return _positive_int(chunk_size, "chunk_size")
    return max(1, _CHUNK_ELEMENTS // max(width, 1))


def _sorted_codes(ids: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Distinct ids in str order (object array) and each id's index among them (int64).

    Through Arrow: NumPy's fixed-width str arrays drop trailing NUL characters (merging
    ``"a"`` and ``"a"`` + NUL); UTF-8 byte order is Python's str order.
    """
    enc = pa.array(ids, pa.string()).dictionary_encode()
    order = pc.sort_indices(enc.dictionary).to_numpy().astype(np.int64)
    rank = np.empty(order.shape[0], dtype=np.int64)
    rank[order] = np.arange(order.shape[0], dtype=np.int64)
    names = np.asarray(enc.dictionary.take(pa.array(order)).to_pylist(), dtype=object)
    return names, rank[enc.indices.to_numpy().astype(np.int64)]


# ---------------------------------------------------------------------- microclusters


def _unit(x: torch.Tensor) -> torch.Tensor:
    """Rows scaled to length 1, for any finite non-zero row.

    Each row is first divided by its largest magnitude, so the squares in the norm can
    neither overflow (1e20 in float32 gave a zero vector) nor underflow (1e-25 gave a
    division by zero).
    """
    big = x.abs().amax(dim=1, keepdim=True)
    scaled = x / big
    out: torch.Tensor = scaled / torch.linalg.vector_norm(scaled, dim=1, keepdim=True)
    return out


def _pca(reference: torch.Tensor, dim: int, dev: torch.device, rows: int) -> tuple[Any, Any]:
    """Mean and top-``dim`` axes of the normalised reference rows (float64, two passes)."""
    n, d = reference.shape
    total = torch.zeros(d, dtype=torch.float64, device=dev)
    for start in range(0, n, rows):
        total += _unit(reference[start : start + rows].to(dev, torch.float64)).sum(dim=0)
    mean = total / n
    gram = torch.zeros(d, d, dtype=torch.float64, device=dev)
    for start in range(0, n, rows):
        xc = _unit(reference[start : start + rows].to(dev, torch.float64)) - mean
        gram += xc.T @ xc
    _, vecs = torch.linalg.eigh(gram)  # ascending eigenvalues
    components = vecs[:, -dim:].flip(1).T.contiguous()  # (dim, D), largest first
    return mean, components


def _project(x: torch.Tensor, mean: torch.Tensor, components: torch.Tensor) -> torch.Tensor:
    return (_unit(x.to(mean.device, torch.float64)) - mean) @ components.T


def _core_distances(
    z_examples: torch.Tensor,
    reference: torch.Tensor,
    mean: torch.Tensor,
    components: torch.Tensor,
    core: int,
    rows: int,
) -> torch.Tensor:
    """Distance of each example to its ``core``-th nearest reference row (PCA space)."""
    best = torch.empty(z_examples.shape[0], 0, dtype=torch.float64, device=mean.device)
    for start in range(0, reference.shape[0], rows):
        z_ref = _project(reference[start : start + rows], mean, components)
        d = torch.cdist(z_examples, z_ref)
        merged = torch.cat([best, d], dim=1)
        best = torch.topk(merged, min(core, merged.shape[1]), dim=1, largest=False).values
    return best[:, -1]


def fit_microclusters(
    examples: Any,
    example_ids: Sequence[str],
    reference: Any,
    *,
    pca_dim: int = 64,
    core_size: int = 16,
    device: torch.device | str | None = None,
    chunk_size: int | None = None,
) -> Microclusters:
    """Aquarium-style PCA and microclusters of the examples (see the module docstring).

    Args:
        examples: ``(E, D)`` example embeddings (tensor or array), finite, non-zero.
        example_ids: ``E`` unique ids.
        reference: ``(R, D)`` embeddings the PCA and core distances are fitted on.
        pca_dim: PCA components (capped at ``D`` and ``R``).
        core_size: the neighbour whose distance starts a microcluster's radius (capped at ``R``).
        device: where to compute (default: the examples' device).
        chunk_size: reference rows per block.

    Returns:
        :class:`Microclusters`.

    Example:
        >>> import numpy as np
        >>> ref = np.array([[1.0, 0.0], [1.0, 0.1], [0.0, 1.0], [0.1, 1.0]])
        >>> mc = fit_microclusters(ref[[0, 1, 2]], ["a", "b", "c"], ref, core_size=3)
        >>> mc.members
        (('a', 'b'), ('c',))
    """
    ex = _as_tensor(examples, "examples")
    ref = _as_tensor(reference, "reference")
    ids = _as_str_list(example_ids, "example_ids", ex.shape[0])
    _check_unique(ids, "example_ids")
    if ex.shape[0] == 0:
        raise ValueError("Expected `examples` to hold at least one embedding, but got 0 rows")
    if ref.shape[0] == 0:
        raise ValueError("Expected `reference` to hold at least one embedding, but got 0 rows")
    if ref.shape[1] != ex.shape[1]:
        raise ValueError(
            f"Expected `reference` to have dimension {ex.shape[1]} (the examples'), but got "
            f"shape {tuple(ref.shape)}"
        )
    pca_dim = _positive_int(pca_dim, "pca_dim")
    core = min(_positive_int(core_size, "core_size"), ref.shape[0])
    dev = resolve_device(device, ex.device)
    _check_rows(ex, "examples", unit=True)
    _check_rows(ref, "reference", unit=True)
    rows = _chunk_rows(chunk_size, max(ex.shape[0], ex.shape[1]))
    dim = min(pca_dim, ex.shape[1], ref.shape[0])
    mean, components = _pca(ref, dim, dev, rows)
    z = _project(ex, mean, components)
    core_d = _core_distances(z, ref, mean, components, core, rows)
    centroids, radii, member_of = _greedy_microclusters(z.cpu().numpy(), core_d.cpu().numpy())
    return Microclusters(
        example_ids=tuple(ids),
        mean=mean.cpu().numpy(),
        components=components.cpu().numpy(),
        centroids=centroids,
        radii=radii,
        member_of=member_of,
        core_distances=core_d.cpu().numpy(),
        core_size=core,
    )


def _greedy_microclusters(
    z: np.ndarray, core: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Aquarium's greedy merge, one example at a time (examples are few)."""
    member_of = np.empty(z.shape[0], dtype=np.int64)
    centroids: list[np.ndarray] = []
    radii: list[float] = []
    groups: list[list[int]] = []
    for i in range(z.shape[0]):
        v = z[i]
        if centroids:
            dist = np.linalg.norm(np.stack(centroids) - v, axis=1)
            # strictly within, by a relative margin: an example's core neighbour is
            # often another example, exactly at the radius, where rounding would decide
            hits = np.flatnonzero(dist < np.asarray(radii) * (1.0 - _RADIUS_RTOL))
            if hits.size:
                j = int(hits[0])
                groups[j].append(i)
                pts = z[groups[j]]
                centroids[j] = pts.mean(axis=0)
                radii[j] = max(radii[j], float((pts.max(axis=0) - pts.min(axis=0)).max()))
                member_of[i] = j
                continue
        groups.append([i])
        centroids.append(v.copy())
        radii.append(float(core[i]))
        member_of[i] = len(groups) - 1
    return np.stack(centroids), np.asarray(radii, dtype=np.float64), member_of


# ---------------------------------------------------------------------- scoring


def _similarity_rows(
    pool: torch.Tensor,
    examples: torch.Tensor,
    metric: str,
    dev: torch.device,
    dtype: torch.dtype,
    rows: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Best score and best example of each pool row, one matrix product per chunk."""
    ex = examples.to(dev, dtype)
    if metric == "cosine":
        ex = _unit(ex)
    ex_sq = (ex * ex).sum(dim=1)
    scores, match = [], []
    for start in range(0, pool.shape[0], rows):
        block = pool[start : start + rows].to(dev, dtype)
        if metric == "cosine":
            best, arg = (_unit(block) @ ex.T).max(dim=1)
        else:
            d2 = (block * block).sum(dim=1, keepdim=True) + ex_sq - 2.0 * (block @ ex.T)
            arg = d2.argmin(dim=1)
            # The expanded form picks the example; its distance is recomputed from the
            # difference (it loses digits to cancellation: 2e-6 off in float32 on CUDA).
            near = torch.linalg.vector_norm(block - ex.index_select(0, arg), dim=1)
            best = 1.0 / (1.0 + near)
        scores.append(best)
        match.append(arg)
    return torch.cat(scores), torch.cat(match)


def _microcluster_rows(
    pool: torch.Tensor, examples: torch.Tensor, mc: Microclusters, dev: torch.device, rows: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Aquarium's microcluster score of each pool row, and the matched example."""
    mean = torch.from_numpy(mc.mean).to(dev)
    comps = torch.from_numpy(mc.components).to(dev)
    cents = torch.from_numpy(mc.centroids).to(dev)
    radii = torch.from_numpy(mc.radii).to(dev)
    member_of = torch.from_numpy(mc.member_of).to(dev)
    z_ex = _project(examples, mean, comps)
    scores, match = [], []
    for start in range(0, pool.shape[0], rows):
        z = _project(pool[start : start + rows], mean, comps)
        d = torch.cdist(z, cents)
        raw = torch.where(
            radii > 0,
            1.0 - d / (2.0 * radii.clamp_min(torch.finfo(torch.float64).tiny)),
            torch.where(d == 0, 1.0, -math.inf),
        )
        best, win = raw.max(dim=1)
        d_ex = torch.cdist(z, z_ex)
        d_ex = d_ex.masked_fill(member_of[None, :] != win[:, None], math.inf)
        scores.append(best.clamp_min(0.0))
        match.append(d_ex.argmin(dim=1))
    return torch.cat(scores), torch.cat(match)


def collect_similar(
    examples: Any,
    example_ids: Sequence[str],
    pool: Any,
    pool_ids: Sequence[str],
    *,
    pool_frames: Sequence[str] | None = None,
    threshold: float = 0.5,
    top_n: int | None = None,
    metric: CollectionMetric = "cosine",
    method: CollectionMethod = "similarity",
    reference: Any = None,
    pca_dim: int = 64,
    core_size: int = 16,
    device: torch.device | str | None = None,
    chunk_size: int | None = None,
) -> CollectionResult:
    """Score pool frames by similarity to examples and collect the best (Aquarium campaigns).

    Args:
        examples: ``(E, D)`` example embeddings (frames or crops), tensor or array, E >= 1.
        example_ids: ``E`` unique ids.
        pool: ``(P, D)`` pool embeddings: one per frame, or one per crop with ``pool_frames``.
        pool_ids: ``P`` unique ids of the pool rows (frame ids, or crop ids).
        pool_frames: ``P`` frame ids, one per crop row; None when rows are frames.
        threshold: frames scoring at least this are collected (when ``top_n`` is None).
        top_n: collect the ``top_n`` best frames instead (all when the pool has fewer);
            ``threshold`` is then not applied.
        metric: ``"cosine"`` or ``"l2"`` for ``method="similarity"`` (see the module
            docstring); ``"microcluster"`` needs ``"cosine"`` (it normalises).
        method: ``"similarity"`` or ``"microcluster"``.
        reference: ``(R, D)`` embeddings the microcluster PCA and radii are fitted on;
            None uses the pool.
        pca_dim: microcluster PCA components.
        core_size: microcluster core-distance neighbour.
        device: where to compute (default: the pool's device; CPU for numpy).
        chunk_size: pool rows per matrix product (default: blocks of ~16M scores).

    Returns:
        :class:`CollectionResult`, frames best first, ties by frame id.

    Raises:
        TypeError: ids that are not str, non-array embeddings.
        ValueError: unknown method / metric, no examples, dimension mismatch, NaN / inf
            or zero embeddings, repeated ids, ids not one per row, a non-finite
            threshold, ``top_n < 1``; the first offending item is named.

    Example:
        >>> import numpy as np
        >>> examples = np.array([[1.0, 0.0], [0.0, 1.0]])
        >>> pool = np.array([[1.0, 0.1], [0.6, 0.8], [-1.0, 0.0], [0.0, 2.0]])
        >>> crops = ["c0", "c1", "c2", "c3"]
        >>> frames = ["f1", "f1", "f2", "f3"]
        >>> out = collect_similar(examples, ["cat", "dog"], pool, crops, pool_frames=frames)
        >>> out.frame_ids, out.scores.round(3).tolist(), out.matched_example_ids
        (('f3', 'f1'), [1.0, 0.995], ('dog', 'cat'))
        >>> out.matched_pool_ids
        ('c3', 'c0')
    """
    if method not in COLLECTION_METHODS:
        raise ValueError(f"Expected `method` to be one of {COLLECTION_METHODS}, but got {method!r}")
    if metric not in COLLECTION_METRICS:
        raise ValueError(f"Expected `metric` to be one of {COLLECTION_METRICS}, but got {metric!r}")
    if method == "microcluster" and metric != "cosine":
        raise ValueError(
            "Expected `metric` to be 'cosine' with method='microcluster' (it normalises the "
            f"embeddings), but got {metric!r}"
        )
    ex = _as_tensor(examples, "examples")
    pl = _as_tensor(pool, "pool")
    ex_ids = _as_str_list(example_ids, "example_ids", ex.shape[0])
    pl_ids = _as_str_list(pool_ids, "pool_ids", pl.shape[0])
    frames = (
        pl_ids if pool_frames is None else _as_str_list(pool_frames, "pool_frames", pl.shape[0])
    )
    _check_unique(ex_ids, "example_ids")
    _check_unique(pl_ids, "pool_ids")
    if ex.shape[0] == 0:
        raise ValueError("Expected `examples` to hold at least one embedding, but got 0 rows")
    if pl.shape[1] != ex.shape[1]:
        raise ValueError(
            f"Expected `pool` to have dimension {ex.shape[1]} (the examples'), but got shape "
            f"{tuple(pl.shape)}"
        )
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.floating)):
        raise TypeError(f"Expected `threshold` to be a float, but got {type(threshold).__name__}")
    if not math.isfinite(threshold):
        raise ValueError(f"Expected `threshold` to be a finite float, but got {threshold}")
    if top_n is not None:
        top_n = _positive_int(top_n, "top_n")
    dev = resolve_device(device, pl.device)
    unit = metric == "cosine"
    _check_rows(ex, "examples", unit=unit)
    _check_rows(pl, "pool", unit=unit)
    dtype = torch.float64 if torch.float64 in (ex.dtype, pl.dtype) else torch.float32

    mc = None
    if method == "microcluster":
        ref = pl if reference is None else _as_tensor(reference, "reference")
        mc = fit_microclusters(
            ex,
            ex_ids,
            ref,
            pca_dim=pca_dim,
            core_size=core_size,
            device=dev,
            chunk_size=chunk_size,
        )
    sel_threshold = None if top_n is not None else float(threshold)
    if pl.shape[0] == 0:
        return CollectionResult(
            frame_ids=(),
            scores=np.empty(0, dtype=np.float64),
            matched_example_ids=(),
            matched_pool_ids=(),
            method=method,
            metric=metric,
            threshold=sel_threshold,
            top_n=top_n,
            num_frames_scored=0,
            microclusters=mc,
        )

    if mc is None:
        rows = _chunk_rows(chunk_size, ex.shape[0])
        row_score, row_match = _similarity_rows(pl, ex, metric, dev, dtype, rows)
    else:
        rows = _chunk_rows(chunk_size, ex.shape[0] + mc.centroids.shape[0] + ex.shape[1])
        row_score, row_match = _microcluster_rows(pl, ex, mc, dev, rows)

    # Crops -> frames: frame ids map to dense indices in sorted (str) order.
    frame_names, frame_of_row = _sorted_codes(frames)
    num_frames = int(frame_names.shape[0])
    frame_idx = torch.from_numpy(frame_of_row).to(dev)
    frame_score = torch.full((num_frames,), -math.inf, dtype=row_score.dtype, device=dev)
    frame_score.scatter_reduce_(0, frame_idx, row_score, "amax")
    n_rows = row_score.shape[0]
    row_pos = torch.arange(n_rows, device=dev)
    is_best = row_score == frame_score[frame_idx]
    best_row = torch.full((num_frames,), n_rows, dtype=torch.int64, device=dev)
    best_row.scatter_reduce_(0, frame_idx, torch.where(is_best, row_pos, n_rows), "amin")

    # Rank frames: score descending, ties by frame index (= frame id order).
    order = torch.sort(frame_score, descending=True, stable=True).indices
    if top_n is not None:
        order = order[:top_n]
    else:  # in float64, as the scores are reported (0.5 >= 0.5000000001 in float32)
        order = order[frame_score[order].to(torch.float64) >= threshold]
    picked_rows = best_row[order]
    out_frames = order.cpu().numpy()
    out_scores = frame_score[order].to(torch.float64).cpu().numpy()
    out_rows = picked_rows.cpu().numpy()
    out_examples = row_match[picked_rows].cpu().numpy()
    out_scores.flags.writeable = False
    ex_arr = np.asarray(ex_ids, dtype=object)
    pl_arr = np.asarray(pl_ids, dtype=object)
    return CollectionResult(
        frame_ids=tuple(frame_names[out_frames].tolist()),
        scores=out_scores,
        matched_example_ids=tuple(ex_arr[out_examples].tolist()),
        matched_pool_ids=tuple(pl_arr[out_rows].tolist()),
        method=method,
        metric=metric,
        threshold=sel_threshold,
        top_n=top_n,
        num_frames_scored=num_frames,
        microclusters=mc,
    )
