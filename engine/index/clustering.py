"""k-means on FAISS, the number of clusters by silhouette, and cluster representatives.

:func:`kmeans` is a thin layer over ``faiss.Kmeans``: it checks the input, calls
FAISS with the same parameters a direct call would use (so the centroids are FAISS's,
bit for bit) and, unless told not to, assigns every point to its nearest centroid with
one FAISS search. :func:`choose_num_clusters` runs it for each candidate ``k`` and keeps
the ``k`` with the best silhouette, computed on a seeded sample of the points so that
large inputs never need an ``N x N`` distance matrix. :func:`cluster_representatives`
picks the members nearest each centroid.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict

from ..device import resolve_device
from ._inputs import as_matrix, check_int, check_seed, faiss_seed

# faiss is imported by the functions that use it: its import takes ~0.2 s, which every
# `import assay` paid although most jobs never search or cluster.

__all__ = [
    "KMEANS_INITS",
    "KMeansInit",
    "KMeansResult",
    "choose_num_clusters",
    "cluster_representatives",
    "kmeans",
    "silhouette_score",
    "silhouette_scores",
]

_CHUNK_BYTES = 64 * 2**20
KMeansInit = Literal["random", "k-means++", "afk-mc2"]
KMEANS_INITS: tuple[str, ...] = ("random", "k-means++", "afk-mc2")


class KMeansResult(BaseModel):
    """Centroids and, when assigned, each point's cluster.

    Attributes:
        centroids: ``(k, D)`` float32.
        assignment: ``(N,)`` int64 nearest centroid of each point; None with
            ``assign=False``.
        sq_distances: ``(N,)`` float32 squared L2 distance of each point to its centroid
            (FAISS's value, clamped at 0); None with ``assign=False``.
        objective: FAISS's final objective: the sum of squared distances over the
            points it trained on (a sample of at most ``max_points_per_centroid * k``).
        k: number of clusters.
        niter: k-means iterations.
        seed: the seed given (FAISS ran with ``seed % 2**31``).
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    centroids: np.ndarray
    assignment: np.ndarray | None
    sq_distances: np.ndarray | None
    objective: float
    k: int
    niter: int
    seed: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict of plain lists."""
        return {
            "centroids": self.centroids.tolist(),
            "assignment": None if self.assignment is None else self.assignment.tolist(),
            "sq_distances": None if self.sq_distances is None else self.sq_distances.tolist(),
            "objective": self.objective,
            "k": self.k,
            "niter": self.niter,
            "seed": self.seed,
        }


def _readonly(arr: np.ndarray) -> np.ndarray:
    arr.flags.writeable = False
    return arr


def kmeans(
    x: Any,
    k: int,
    *,
    niter: int = 25,
    seed: int = 0,
    max_points_per_centroid: int = 256,
    nredo: int = 1,
    init: KMeansInit = "random",
    assign: bool = True,
) -> KMeansResult:
    """k-means with ``faiss.Kmeans`` (squared L2), then each point's nearest centroid.

    The same as ``km = faiss.Kmeans(D, k, niter=niter, seed=seed,
    max_points_per_centroid=max_points_per_centroid, nredo=nredo); km.train(x);
    D, I = km.index.search(x, 1)`` (plus ``init_method`` when ``init`` is not
    ``"random"``). FAISS trains on a seeded sample of at most
    ``max_points_per_centroid * k`` points (256 by default, FAISS's own default); its
    warning about too few points per centroid is not printed.

    Args:
        x: ``(N, D)`` torch tensor (any device) or numpy array, finite; used without a
            copy when it already is a float32 C-contiguous numpy array.
        k: clusters, ``1 <= k <= N``.
        niter: iterations.
        seed: seed of FAISS's sampling and initialisation, an int in ``[0, 2**64 - 1]``;
            FAISS takes a C ``int`` and gets ``seed % 2**31`` (seeds below ``2**31``
            unchanged).
        max_points_per_centroid: FAISS's training-sample cap per centroid.
        nredo: FAISS restarts (the best objective is kept).
        init: FAISS's initialisation: ``"random"`` (its default: k sampled points),
            ``"k-means++"`` (better starts, much slower for large ``k``) or ``"afk-mc2"``
            (a fast k-means++ approximation).
        assign: assign all ``N`` points (one search against the centroids); False
            leaves ``assignment`` and ``sq_distances`` None.

    Returns:
        :class:`KMeansResult`.

    Raises:
        ValueError: ``k`` outside ``[1, N]``, NaN / inf rows, a non-2-D input.

    Example:
        >>> import numpy as np
        >>> x = np.array([[0.0, 0.0], [0.0, 1.0], [10.0, 0.0], [10.0, 1.0]])
        >>> result = kmeans(x, 2, seed=0)
        >>> sorted(result.centroids.tolist())
        [[0.0, 0.5], [10.0, 0.5]]
        >>> result.assignment.tolist() in ([0, 0, 1, 1], [1, 1, 0, 0])
        True
    """
    import faiss

    xs = as_matrix(x, "x")
    n, d = xs.shape
    k = check_int(k, "k", minimum=1)
    if k > n:
        raise ValueError(f"Expected `k` to be at most the number of points ({n}), but got {k}")
    niter = check_int(niter, "niter", minimum=1)
    seed = check_seed(seed)
    max_points_per_centroid = check_int(
        max_points_per_centroid, "max_points_per_centroid", minimum=1
    )
    nredo = check_int(nredo, "nredo", minimum=1)
    if init not in KMEANS_INITS:
        raise ValueError(f"Expected `init` to be one of {KMEANS_INITS}, but got {init!r}")
    options: dict[str, Any] = {}
    if init != "random":
        options["init_method"] = KMEANS_INITS.index(init)  # FAISS's ClusteringInitMethod
    km = faiss.Kmeans(
        d,
        k,
        niter=niter,
        seed=faiss_seed(seed),
        max_points_per_centroid=max_points_per_centroid,
        min_points_per_centroid=1,  # only silences FAISS's fprintf warning
        nredo=nredo,
        **options,
    )
    objective = float(km.train(xs))
    centroids = np.ascontiguousarray(km.centroids, dtype=np.float32)
    assignment = sq = None
    if assign:
        dist, labels = km.index.search(xs, 1)
        assignment = _readonly(labels.reshape(-1).astype(np.int64, copy=False))
        sq = _readonly(np.maximum(dist.reshape(-1), 0.0, dtype=np.float32))
    return KMeansResult(
        centroids=_readonly(centroids),
        assignment=assignment,
        sq_distances=sq,
        objective=objective,
        k=k,
        niter=niter,
        seed=seed,
    )


def _nearest_centroid(x: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    import faiss

    _, labels = faiss.knn(x, centroids, 1)
    return labels.reshape(-1).astype(np.int64, copy=False)


def _silhouette(x: torch.Tensor, labels: torch.Tensor, num_labels: int) -> float:
    """Mean silhouette (Euclidean) of all rows of ``x`` (float64), chunked over rows."""
    m = x.shape[0]
    onehot = torch.zeros(m, num_labels, dtype=x.dtype, device=x.device)
    onehot[torch.arange(m, device=x.device), labels] = 1.0
    counts = onehot.sum(dim=0)
    sq = (x * x).sum(dim=1)
    chunk = max(1, _CHUNK_BYTES // (8 * max(m, num_labels)))
    total = torch.zeros((), dtype=x.dtype, device=x.device)
    for start in range(0, m, chunk):
        stop = min(start + chunk, m)
        block = x[start:stop]
        d2 = sq[start:stop, None] + sq[None, :] - 2.0 * (block @ x.T)
        dist = d2.clamp_min_(0.0).sqrt_()
        rows = torch.arange(stop - start, device=x.device)
        dist[rows, rows + start] = 0.0
        sums = dist @ onehot  # (c, L): summed distance to each cluster's members
        own = labels[start:stop]
        own_count = counts[own]
        a = sums[rows, own] / (own_count - 1.0)  # NaN for singletons: scored 0 below
        mean_other = sums / counts
        mean_other[rows, own] = math.inf
        mean_other[:, counts == 0] = math.inf
        b = mean_other.min(dim=1).values
        s = (b - a) / torch.maximum(a, b)
        total += torch.nan_to_num(s, nan=0.0).sum()
    return float(total / m)


def _sample_rows(n: int, sample_size: int | None, seed: int) -> np.ndarray | None:
    if sample_size is None or sample_size >= n:
        return None
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n, size=sample_size, replace=False))


def silhouette_score(
    x: Any,
    labels: Any,
    *,
    sample_size: int | None = None,
    seed: int = 0,
    device: torch.device | str | None = None,
) -> float:
    """Mean silhouette coefficient with Euclidean distances (scikit-learn's definition).

    ``s(i) = (b - a) / max(a, b)`` with ``a`` the mean distance to the other members
    of its cluster and ``b`` the smallest mean distance to another cluster's members;
    0 for a member of a singleton cluster. With ``sample_size``, the score of a seeded
    sample of rows (``numpy.random.default_rng(seed).choice(N, sample_size,
    replace=False)``), among themselves only, as scikit-learn's ``sample_size`` does.
    Distances are computed in float64 a block of rows at a time, never ``N x N`` at once.

    Args:
        x: ``(N, D)`` tensor or array.
        labels: ``(N,)`` integer cluster labels (any values).
        sample_size: rows to score, None for all.
        seed: sample seed, an int in ``[0, 2**64 - 1]``.
        device: where to compute (default: ``x``'s device, CPU for numpy).

    Returns:
        The mean silhouette, in [-1, 1].

    Raises:
        ValueError: fewer than 2 or more than ``n - 1`` distinct labels among the
            scored rows (``n`` of them), shape mismatches, NaN / inf.

    Example:
        >>> import numpy as np
        >>> x = np.array([[0.0], [1.0], [10.0], [11.0]])
        >>> round(silhouette_score(x, np.array([0, 0, 1, 1])), 4)
        0.8997
    """
    xs = as_matrix(x, "x")
    lab = _as_labels(labels, xs.shape[0])
    dev = resolve_device(device, x.device if isinstance(x, torch.Tensor) else None)
    rows = _sample_rows(xs.shape[0], _opt_size(sample_size), check_seed(seed))
    if rows is not None:
        xs, lab = xs[rows], lab[rows]
    uniq, dense = np.unique(lab, return_inverse=True)
    if not 2 <= uniq.size <= xs.shape[0] - 1:
        raise ValueError(
            f"Expected `labels` to have between 2 and {xs.shape[0] - 1} distinct values among "
            f"the {xs.shape[0]} scored rows, but got {uniq.size}"
        )
    xt = torch.from_numpy(xs).to(device=dev, dtype=torch.float64)
    return _silhouette(xt, torch.from_numpy(dense.astype(np.int64)).to(dev), int(uniq.size))


def silhouette_scores(
    x: Any,
    candidates: Sequence[int],
    *,
    seed: int = 0,
    sample_size: int | None = 10_000,
    niter: int = 25,
    max_points_per_centroid: int = 256,
    init: KMeansInit = "k-means++",
    nredo: int = 3,
    device: torch.device | str | None = None,
) -> dict[int, float]:
    """Silhouette of :func:`kmeans` with each candidate ``k``, on one seeded sample.

    For each ``k``: ``kmeans(x, k, niter=niter, seed=seed, init=init, nredo=nredo,
    assign=False)``, then the sampled rows (see :func:`silhouette_score`) are assigned
    to their nearest centroid and scored. k-means++ starts and 3 restarts are the
    default here: with FAISS's random starts, two centroids often land in one blob and
    the true ``k`` scores badly (seen in 8 of 20 seeds on 5 clear blobs). A
    candidate whose clustering leaves fewer than 2 distinct labels in the sample
    scores NaN.

    Args:
        x: ``(N, D)`` tensor or array.
        candidates: distinct ints with ``2 <= k <= N - 1``.
        seed: k-means and sample seed, an int in ``[0, 2**64 - 1]`` (k-means gets
            ``seed % 2**31``: see :func:`kmeans`; the sample the whole seed).
        sample_size: rows scored; None for all (``N x N`` distances in blocks).
        niter: k-means iterations.
        max_points_per_centroid: FAISS's training-sample cap per centroid.
        init: k-means initialisation (see :func:`kmeans`).
        nredo: k-means restarts per candidate (the lowest objective is kept).
        device: where silhouettes are computed (default: ``x``'s device).

    Returns:
        ``{k: silhouette}`` in the candidates' order.

    Example:
        >>> import numpy as np
        >>> x = np.concatenate([np.zeros((5, 2)), np.full((5, 2), 9.0)])
        >>> x += np.random.default_rng(0).normal(size=x.shape) * 0.1
        >>> scores = silhouette_scores(x, [2, 3])
        >>> max(scores, key=scores.__getitem__)
        2
    """
    xs = as_matrix(x, "x")
    n = xs.shape[0]
    ks = _check_candidates(candidates, n)
    seed = check_seed(seed)
    dev = resolve_device(device, x.device if isinstance(x, torch.Tensor) else None)
    rows = _sample_rows(n, _opt_size(sample_size), seed)
    sample = xs if rows is None else np.ascontiguousarray(xs[rows])
    xt = torch.from_numpy(sample).to(device=dev, dtype=torch.float64)
    out: dict[int, float] = {}
    for k in ks:
        result = kmeans(
            xs,
            k,
            niter=niter,
            seed=seed,
            max_points_per_centroid=max_points_per_centroid,
            init=init,
            nredo=nredo,
            assign=False,
        )
        uniq, dense = np.unique(_nearest_centroid(sample, result.centroids), return_inverse=True)
        if not 2 <= uniq.size <= sample.shape[0] - 1:
            out[k] = math.nan
            continue
        out[k] = _silhouette(xt, torch.from_numpy(dense.astype(np.int64)).to(dev), int(uniq.size))
    return out


def choose_num_clusters(
    x: Any,
    candidates: Sequence[int],
    *,
    seed: int = 0,
    sample_size: int | None = 10_000,
    niter: int = 25,
    max_points_per_centroid: int = 256,
    init: KMeansInit = "k-means++",
    nredo: int = 3,
    device: torch.device | str | None = None,
) -> int:
    """The candidate ``k`` with the highest :func:`silhouette_scores` (CVAL's ``-1``).

    Ties go to the smaller ``k``; NaN scores never win. The arguments are those of
    :func:`silhouette_scores`.

    Raises:
        ValueError: no candidate gives a silhouette (every clustering left fewer than 2
            distinct labels in the sample: the points are all alike), bad candidates.

    Example:
        >>> import numpy as np
        >>> centers = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
        >>> x = np.repeat(centers, 20, axis=0)
        >>> x += np.random.default_rng(0).normal(size=x.shape) * 0.3
        >>> choose_num_clusters(x, range(2, 7))
        3
    """
    scores = silhouette_scores(
        x,
        candidates,
        seed=seed,
        sample_size=sample_size,
        niter=niter,
        max_points_per_centroid=max_points_per_centroid,
        init=init,
        nredo=nredo,
        device=device,
    )
    valid = [(s, -k) for k, s in scores.items() if not math.isnan(s)]
    if not valid:
        raise ValueError(
            "Expected `x` to hold distinct points that k-means can separate, but every "
            f"candidate left fewer than 2 clusters in the silhouette sample: {scores}"
        )
    return -max(valid)[1]


def cluster_representatives(x: Any, result: KMeansResult, per_cluster: int = 1) -> np.ndarray:
    """Indices of the ``per_cluster`` members nearest each centroid.

    Members are the points ``result.assignment`` puts in the cluster (computed with
    one FAISS search when the result has none). Their squared distances to the
    centroid are recomputed exactly in float64; ties go to the lower index. A cluster
    with fewer members gives them all, an empty cluster none.

    Args:
        x: the ``(N, D)`` points ``result`` was computed on.
        result: a :class:`KMeansResult` of ``x``.
        per_cluster: representatives per cluster, >= 1.

    Returns:
        ``(R,)`` int64 indices, by cluster (0..k-1), nearest first within a cluster;
        ``result.assignment[indices]`` (or the recomputed one) gives their clusters.

    Example:
        >>> import numpy as np
        >>> x = np.array([[0.0], [1.0], [2.0], [10.0], [12.0]])
        >>> result = kmeans(x, 2)
        >>> sorted(cluster_representatives(x, result).tolist())
        [1, 3]
    """
    xs = as_matrix(x, "x")
    per_cluster = check_int(per_cluster, "per_cluster", minimum=1)
    centroids = np.asarray(result.centroids, dtype=np.float32)
    if centroids.ndim != 2 or centroids.shape[1] != xs.shape[1]:
        raise ValueError(
            f"Expected `result.centroids` to have dimension {xs.shape[1]}, but got shape "
            f"{tuple(centroids.shape)}"
        )
    if result.assignment is None:
        assignment = _nearest_centroid(xs, centroids)
    else:
        assignment = np.asarray(result.assignment, dtype=np.int64)
        if assignment.shape != (xs.shape[0],):
            raise ValueError(
                f"Expected `result.assignment` to have one label per row of `x` "
                f"({xs.shape[0]}), but got shape {assignment.shape}"
            )
    n = xs.shape[0]
    sq = np.empty(n, dtype=np.float64)
    chunk = max(1, _CHUNK_BYTES // (16 * max(xs.shape[1], 1)))
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        diff = xs[start:stop].astype(np.float64) - centroids[assignment[start:stop]]
        sq[start:stop] = np.einsum("ij,ij->i", diff, diff)
    order = np.lexsort((np.arange(n), sq, assignment))
    sorted_clusters = assignment[order]
    starts = np.searchsorted(sorted_clusters, sorted_clusters, side="left")
    rank = np.arange(n) - starts
    return order[rank < per_cluster].astype(np.int64)


def _opt_size(sample_size: int | None) -> int | None:
    return None if sample_size is None else check_int(sample_size, "sample_size", minimum=2)


def _as_labels(labels: Any, n: int) -> np.ndarray:
    if isinstance(labels, torch.Tensor):
        lab = labels.detach().cpu().numpy()
    elif isinstance(labels, np.ndarray):
        lab = labels
    else:
        raise TypeError(
            "Expected `labels` to be a torch.Tensor or numpy array, but got "
            f"{type(labels).__name__}"
        )
    if lab.dtype.kind not in "iu":
        raise TypeError(f"Expected `labels` to hold integers, but got dtype {lab.dtype}")
    if lab.shape != (n,):
        raise ValueError(f"Expected `labels` to have shape ({n},), but got {lab.shape}")
    return lab.astype(np.int64, copy=False)


def _check_candidates(candidates: Sequence[int], n: int) -> list[int]:
    if isinstance(candidates, (str, bytes)):
        raise TypeError("Expected `candidates` to be a sequence of ints, but got a str")
    ks = list(candidates)
    if not ks:
        raise ValueError("Expected `candidates` to be a non-empty sequence of ints, but got []")
    for k in ks:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
            raise TypeError(
                f"Expected `candidates` to hold ints, but got {type(k).__name__} "
                f"(first offending item: {k!r})"
            )
        if not 2 <= k <= n - 1:
            raise ValueError(
                f"Expected `candidates` to be ints in [2, {n - 1}] (N - 1 for {n} points), "
                f"but got {k} (first offending item)"
            )
    if len(set(ks)) != len(ks):
        raise ValueError(f"Expected `candidates` to be distinct, but got {ks}")
    return [int(k) for k in ks]
