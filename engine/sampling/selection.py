"""Selection: frame scores (and embeddings) -> the ranked frames to label, stage by stage.

:func:`select` runs a request's stages over the pool (every frame of the request less
its ``labeled_ids``): a *narrowing* stage keeps its best frames as the pool of the next
stage, a *picking* stage appends its picks to the result. Per strategy:

score strategies (uncertainty, ``probability``, ``random``)
    the top frames by score (``sort_strategy``), one ``top_k``; ties go to the smaller
    frame id.
``coreset``
    k-center greedy (Sener & Savarese) on the frames' embeddings, starting from the
    labeled frames and the frames already picked; without either, from the frame
    nearest the pool's mean. Score: the pick's distance to the selected set.
    Embeddings so large or so small that their float32 squared distances would
    overflow or underflow are scaled by a power of two first (exact: the same picks at
    any scale).
``clustering``
    FAISS k-means into ``num_of_clusters`` clusters (``-1``: one per frame to select),
    then round robin over the clusters, largest first, each cluster's members nearest
    its centroid first. Score: the cluster's size.
``hierarchical``
    the same with ``num_of_clusters`` chosen by silhouette when ``-1`` (candidates 2 to
    10) and each cluster's members in seeded random order (CVAL: "takes several frames
    randomly from each cluster"). Score: the cluster's size.

A frame's embedding is the mean of its predictions' embeddings (``embedding_id``); a
frame none of whose predictions has one uses the embedding stored under its frame id.
So does a labeled frame that is in the request; a labeled id that is not is looked up
under its own id.
Everything is a pure function of the request, the embeddings and ``seed``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import torch

from ...kernels.diversity import _distance_shift, k_center_greedy
from ...kernels.uncertainty import top_k
from ..device import resolve_device
from ..index import choose_num_clusters, kmeans
from .embeddings import EmbeddingLookup, EmbeddingsLike
from .request import (
    DIVERSITY_STRATEGIES,
    ClassificationSamplingRequest,
    SamplingRequest,
    StageSpec,
    parse_request,
)
from .result import SamplingResult
from .scoring import FrameScores, ProgressCallback, _embedding_keys, random_keys, score_frames

__all__ = ["HIERARCHICAL_MAX_CLUSTERS", "check_embeddings", "run_sampling", "select"]

AnyRequest = SamplingRequest | ClassificationSamplingRequest
#: ``hierarchical`` with ``num_of_clusters=-1`` tries 2 to this many clusters.
HIERARCHICAL_MAX_CLUSTERS = 10


class _Context:
    """What the stages share: frame scores, embeddings, labeled vectors, picks so far."""

    def __init__(
        self,
        req: AnyRequest,
        fs: FrameScores,
        lookup: EmbeddingLookup | None,
        device: torch.device,
    ) -> None:
        self.req = req
        self.fs = fs
        self.lookup = lookup
        self.device = device
        self.picked: list[np.ndarray] = []
        self._labeled_vectors: np.ndarray | None = None

    def need_lookup(self, strategy: str) -> EmbeddingLookup:
        if self.lookup is None:
            raise ValueError(
                f"Expected `embeddings` for strategy {strategy!r} (it selects by the frames' "
                "embeddings), but got None"
            )
        return self.lookup

    def _frame_keys(
        self, frames: np.ndarray, labeled: Callable[[int], str] | None
    ) -> tuple[np.ndarray, np.ndarray, Callable[[int], str], Callable[[int], str]]:
        """Embedding ids of ``frames``, their owners, and the messages' ``field`` / ``names``.

        Returns ``(keys, owner, field, name)``: the ids, the position in ``frames`` of each,
        and the callables :meth:`EmbeddingLookup.require` words its message with.
        """
        fs = self.fs
        pos = np.full(fs.num_frames, -1, dtype=np.int64)
        pos[frames] = np.arange(frames.size, dtype=np.int64)
        sel = np.flatnonzero(pos[fs.embedding_frame] >= 0)
        keys = fs.embedding_ids[sel]
        owner = pos[fs.embedding_frame[sel]]

        def name(i: int) -> str:
            frame = f"frame {fs.frame_ids[fs.embedding_frame[sel[i]]]!r}"
            if labeled is not None:
                frame = f"{labeled(int(owner[i]))} = {frame}"
            if fs.embedding_is_frame[sel[i]]:
                return f"{frame}, which has no prediction with an embedding_id"
            return f"a prediction of {frame}"

        def field(i: int) -> str:
            own_id = labeled is not None and fs.embedding_is_frame[sel[i]]
            return "labeled_ids" if own_id else "embedding_id"

        return keys, owner, field, name

    def frame_vectors(
        self,
        frames: np.ndarray,
        strategy: str,
        labeled: Callable[[int], str] | None = None,
    ) -> np.ndarray:
        """``(n, D)`` float32 embedding of each frame (mean of its predictions').

        ``labeled(j)`` names ``frames[j]`` as a labeled id (``labeled_ids[i]``) in the
        message for a missing embedding; a frame looked up under its own id is then a
        ``labeled_ids`` problem, not an ``embedding_id`` one.
        """
        lookup = self.need_lookup(strategy)
        keys, owner, field, name = self._frame_keys(frames, labeled)
        vecs = lookup.get(keys, field, names=name)
        sums = torch.zeros(frames.size, lookup.dim, dtype=torch.float64)
        sums.index_add_(0, torch.from_numpy(owner), torch.from_numpy(vecs).to(torch.float64))
        counts = np.bincount(owner, minlength=frames.size).astype(np.float64)
        return (sums / torch.from_numpy(counts)[:, None]).to(torch.float32).numpy()

    def check_frames(
        self, frames: np.ndarray, strategy: str, labeled: Callable[[int], str] | None = None
    ) -> None:
        """:meth:`frame_vectors`' checks (same messages), without reading a vector."""
        lookup = self.need_lookup(strategy)
        keys, _, field, name = self._frame_keys(frames, labeled)
        lookup.require(keys, field, names=name)

    def _labeled_split(
        self,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``labeled_ids`` split into frames of the request and other ids.

        Returns ``(ids, inside, frames, first, again, outside)``: the ids as an array, the
        positions of those that are frames, those frames once each, the position in
        ``inside`` naming each, the frame of each of ``inside``, and the other positions.
        """
        ids = np.asarray(self.req.labeled_ids or [], dtype=object)
        frame = (
            pc.index_in(
                pa.array(ids, pa.string()),
                value_set=pa.array(self.fs.frame_ids, pa.string()),
            )
            .fill_null(-1)
            .to_numpy(zero_copy_only=False)
            .astype(np.int64)
        )
        inside = np.flatnonzero(frame >= 0)
        frames, first, again = np.unique(frame[inside], return_index=True, return_inverse=True)
        return ids, inside, frames, first, again, np.flatnonzero(frame < 0)

    def labeled_vectors(self, strategy: str) -> np.ndarray:
        """``(L, D)`` float32 vector of each labeled id, in ``labeled_ids`` order.

        A labeled id that is a frame of the request gets that frame's vector
        (:meth:`frame_vectors`: the mean of its predictions' embeddings, or the one
        under its frame id); any other is looked up under its own id.
        """
        lookup = self.need_lookup(strategy)
        if self._labeled_vectors is None:
            ids, inside, frames, first, again, outside = self._labeled_split()
            vecs = np.zeros((ids.size, lookup.dim), dtype=np.float32)
            if inside.size:  # frame_vectors takes each frame once
                vecs[inside] = self.frame_vectors(
                    frames, strategy, labeled=lambda j: f"labeled_ids[{inside[first[j]]}]"
                )[again]
            if outside.size:
                vecs[outside] = lookup.get(
                    ids[outside], "labeled_ids", names=lambda i: f"labeled_ids[{outside[i]}]"
                )
            self._labeled_vectors = vecs
        return self._labeled_vectors

    def check_labeled(self, strategy: str) -> None:
        """:meth:`labeled_vectors`' checks (same messages, same order), without the vectors."""
        lookup = self.need_lookup(strategy)
        ids, inside, frames, first, _, outside = self._labeled_split()
        if inside.size:
            self.check_frames(
                frames, strategy, labeled=lambda j: f"labeled_ids[{inside[first[j]]}]"
            )
        if outside.size:
            lookup.require(
                ids[outside], "labeled_ids", names=lambda i: f"labeled_ids[{outside[i]}]"
            )


def _round_robin(cluster: np.ndarray, within: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """``m`` members taken one per cluster in turn, largest cluster first.

    Args:
        cluster: ``(n,)`` int64 cluster of each member.
        within: ``(n,)`` key; a cluster's members are taken in ascending key order
            (ties by member index).
        m: members to take.

    Returns:
        ``(m,)`` member indices in pick order and ``(m,)`` float64 size of their cluster.
    """
    n = cluster.size
    idx = np.arange(n, dtype=np.int64)
    size = np.bincount(cluster, minlength=int(cluster.max(initial=-1)) + 1)
    first_member = np.full(size.size, n, dtype=np.int64)
    np.minimum.at(first_member, cluster, idx)
    # cluster order: larger first, then the one whose first member comes first
    corder = np.lexsort((first_member, -size))
    crank = np.empty(size.size, dtype=np.int64)
    crank[corder] = np.arange(size.size, dtype=np.int64)
    order = np.lexsort((idx, within, cluster))
    starts = np.searchsorted(cluster[order], cluster[order], side="left")
    turn = np.empty(n, dtype=np.int64)
    turn[order] = np.arange(n) - starts
    pick = np.lexsort((crank[cluster], turn))[:m]
    return pick.astype(np.int64), size[cluster[pick]].astype(np.float64)


def _score_stage(
    ctx: _Context, spec: StageSpec, pool: np.ndarray, m: int
) -> tuple[np.ndarray, np.ndarray]:
    col = torch.from_numpy(np.ascontiguousarray(ctx.fs.scores[pool, spec.index])).to(ctx.device)
    if torch.isnan(col).any():  # score_frames never leaves NaN; a hand-made FrameScores might
        raise ValueError(
            f"Expected finite frame scores for stage {spec.index} ({spec.strategy}), but got NaN"
        )
    pick = top_k(col, m, descending=spec.descending).cpu().numpy().astype(np.int64)
    return pick, ctx.fs.scores[pool[pick], spec.index]


def _coreset_stage(
    ctx: _Context, spec: StageSpec, pool: np.ndarray, m: int
) -> tuple[np.ndarray, np.ndarray]:
    x = ctx.frame_vectors(pool, "coreset")
    done = [ctx.labeled_vectors("coreset")]
    if ctx.picked:
        done.append(ctx.frame_vectors(np.concatenate(ctx.picked), "coreset"))
    init = np.concatenate(done)
    points, shift = _scaled_for_distances(np.concatenate([x, init]))
    xt = torch.from_numpy(points).to(ctx.device)
    n = x.shape[0]
    if init.shape[0]:
        initial = torch.arange(n, n + init.shape[0], device=ctx.device)
        res = k_center_greedy(xt, m, initial=initial)
    else:
        center = xt.mean(0, keepdim=True)
        first = int(torch.argmin(((xt - center) ** 2).sum(1)).item())
        res = k_center_greedy(xt, m, first=first)
    pick = res.indices.cpu().numpy().astype(np.int64)
    return pick, np.ldexp(res.radii.cpu().numpy().astype(np.float64), shift)


def _scaled_for_distances(x: np.ndarray) -> tuple[np.ndarray, int]:
    """``(x * 2**-shift, shift)``: float32 points whose squared distances stay in range.

    Past about ``2**55`` (``D = 4096``) every float32 squared distance could be ``inf``,
    and below about ``2**-39`` (at ``1e-25``: all of them) they are subnormal or 0, and
    the picks would fall back to index order. Such points are scaled by the power of two
    :func:`~assay.kernels.diversity._distance_shift` gives (up or down), which is
    exact, so the picks are those of any other scale and the distances are the scaled
    ones (``* 2**shift`` undoes it). ``shift`` is 0 (``x`` itself) for every other input.
    """
    if not x.size:
        return x, 0
    biggest = max(float(x.max()), -float(x.min()))  # no |x| copy; x is NaN-free
    shift = _distance_shift(biggest, torch.float32, x.shape[1])
    if not shift:
        return x, 0
    return np.ldexp(x, -shift).astype(np.float32, copy=False), shift


def _cluster_stage(
    ctx: _Context, spec: StageSpec, pool: np.ndarray, m: int
) -> tuple[np.ndarray, np.ndarray]:
    x = ctx.frame_vectors(pool, spec.strategy)
    n = x.shape[0]
    seed = ctx.req.seed
    k = spec.num_of_clusters
    if k == -1 and spec.strategy == "clustering":
        k = m
    elif k == -1:
        candidates = list(range(2, min(HIERARCHICAL_MAX_CLUSTERS, n - 1) + 1))
        try:
            k = choose_num_clusters(x, candidates, seed=seed) if candidates else 1
        except ValueError:  # all embeddings alike: no silhouette anywhere
            k = 1
    k = max(1, min(k, n))
    result = kmeans(x, k, seed=seed)
    assert result.assignment is not None
    cluster = np.asarray(result.assignment, dtype=np.int64)
    if spec.strategy == "clustering":
        diff = x.astype(np.float64) - np.asarray(result.centroids, dtype=np.float64)[cluster]
        within = np.einsum("ij,ij->i", diff, diff)
    else:
        within = random_keys(ctx.fs.frame_ids[pool], seed)
    return _round_robin(cluster, within, m)


def _strategy_label(specs: tuple[StageSpec, ...]) -> str:
    return " -> ".join(s.strategy for s in specs)


def _unlabeled_pool(req: AnyRequest, fs: FrameScores) -> tuple[np.ndarray, int]:
    """The index of every frame not in ``labeled_ids`` (ascending), and how many are."""
    pool = np.arange(fs.num_frames, dtype=np.int64)
    if not req.labeled_ids:
        return pool, 0
    labeled = pc.is_in(
        pa.array(fs.frame_ids, pa.string()), value_set=pa.array(req.labeled_ids, pa.string())
    ).to_numpy(zero_copy_only=False)
    return pool[~labeled], int(labeled.sum())


def _stage_sizes(specs: tuple[StageSpec, ...], num_of_samples: int, pool_size: int) -> list[int]:
    """How many frames each stage keeps (narrow) or picks (pick); 0: the stage is skipped.

    The sizes follow from the pool's size alone, never from the scores (a stage takes
    ``min(wanted, pool)``, a narrowing one leaves that many, a picking one takes them
    out), so they are known before any scoring.
    """
    sizes = []
    taken = 0
    left = pool_size
    for spec in specs:
        if spec.mode == "narrow":
            want = spec.num_of_samples or math.ceil(spec.factor * num_of_samples)
        else:
            want = (
                spec.num_of_samples if spec.num_of_samples is not None else num_of_samples - taken
            )
        m = max(0, min(want, left))
        sizes.append(m)
        if spec.mode == "narrow":
            left = m
        else:
            taken += m
            left -= m
    return sizes


def check_embeddings(
    request: AnyRequest | Mapping[str, Any], embeddings: EmbeddingsLike | None
) -> None:
    """What :func:`select` would refuse about ``embeddings``, found before any scoring.

    With a diversity stage in the request, ``embeddings`` must be in an accepted form
    (:class:`EmbeddingLookup`'s checks: type, shape, ids, finite values), and not
    ``None`` once such a stage has frames to take. When the first stage that takes
    frames is a diversity stage, its pool is every frame not in ``labeled_ids``, known
    now: every embedding id it looks up (and, for ``coreset``, every labeled id) must
    have an embedding. A later diversity stage's pool depends on the scores; its ids
    are checked when it runs. Without a diversity stage ``embeddings`` are not read,
    as by :func:`select`.

    Args:
        request: the request (model or dict).
        embeddings: as for :func:`select`.

    Raises:
        TypeError: ``embeddings`` of a form :func:`select` does not take.
        ValueError: what :func:`select` raises about them, with its messages.

    Example:
        >>> check_embeddings({"num_of_samples": 1, "selection_strategy": "coreset",
        ...     "frames": [{"frame_id": "a", "predictions": [{"embedding_id": "e1"}]}]},
        ...     {"e2": [0.0, 1.0]})
        Traceback (most recent call last):
        ...
        ValueError: Expected `embedding_id` to name an embedding in `embeddings`, but got 'e1', \
which is not there (first offending item: a prediction of frame 'a')
    """
    req = parse_request(request)
    specs = req.stage_specs()
    if not any(s.strategy in DIVERSITY_STRATEGIES for s in specs):
        return
    lookup = EmbeddingLookup(embeddings) if embeddings is not None else None
    table = req.frames
    emb_ids, emb_frame, emb_is_frame = _embedding_keys(table)
    fs = FrameScores(
        frame_ids=table.frame_ids,
        scores=np.full((table.num_frames, len(specs)), np.nan),
        strategies=tuple(s.strategy for s in specs),
        embedding_ids=emb_ids,
        embedding_frame=emb_frame,
        embedding_is_frame=emb_is_frame,
    )
    ctx = _Context(req, fs, lookup, torch.device("cpu"))
    pool, _ = _unlabeled_pool(req, fs)
    active = [
        spec
        for spec, m in zip(
            specs, _stage_sizes(specs, req.num_of_samples, int(pool.size)), strict=True
        )
        if m > 0
    ]
    diverse = [spec.strategy for spec in active if spec.strategy in DIVERSITY_STRATEGIES]
    if diverse:
        ctx.need_lookup(diverse[0])
    if active and active[0].strategy in DIVERSITY_STRATEGIES:  # its pool: every unlabeled frame
        ctx.check_frames(pool, active[0].strategy)
        if active[0].strategy == "coreset":
            ctx.check_labeled("coreset")


def select(
    request: AnyRequest | Mapping[str, Any],
    frame_scores: FrameScores | None = None,
    embeddings: EmbeddingsLike | None = None,
    *,
    device: torch.device | str | None = None,
    progress: ProgressCallback | None = None,
) -> SamplingResult:
    """Select frames from their scores (the reduce half of a sampling run).

    Args:
        request: the request (model or dict).
        frame_scores: :func:`score_frames` of the request (or the
            :meth:`FrameScores.concat` of its shards); computed when None.
        embeddings: for ``coreset``, ``clustering`` and ``hierarchical`` stages: a
            mapping id -> vector, a pair ``(ids, array)`` or an ``EmbeddingIndex``.
        device: where the kernels run (default CPU).
        progress: optional ``progress(fraction, message)``.

    Returns:
        :class:`SamplingResult`.

    Raises:
        ValueError: a diversity stage without ``embeddings``; an ``embedding_id`` or a
            labeled id without an embedding (named); frame scores of another pipeline.

    Example:
        >>> req = SamplingRequest(num_of_samples=2, selection_strategy="margin", frames=[
        ...     {"frame_id": "a", "predictions": [{"score": 0.9}]},
        ...     {"frame_id": "b", "predictions": [{"score": 0.5}]},
        ...     {"frame_id": "c", "predictions": [{"score": 0.6}]}])
        >>> r = select(req)
        >>> r.frame_ids, [round(s, 3) for s in r.scores]
        (('b', 'c'), [1.0, 0.8])
    """
    req = parse_request(request)
    dev = resolve_device(device)
    specs = req.stage_specs()
    fs = frame_scores if frame_scores is not None else score_frames(req, device=dev)
    if fs.strategies != tuple(s.strategy for s in specs):
        raise ValueError(
            f"Expected frame scores of the stages {[s.strategy for s in specs]}, but got "
            f"{list(fs.strategies)}"
        )
    needs_embeddings = any(s.strategy in DIVERSITY_STRATEGIES for s in specs)
    lookup = EmbeddingLookup(embeddings) if embeddings is not None and needs_embeddings else None
    ctx = _Context(req, fs, lookup, dev)
    n_req = req.num_of_samples
    pool, num_labeled = _unlabeled_pool(req, fs)
    notes = []
    if num_labeled:
        notes.append(
            f"{num_labeled} of the request's frames are in labeled_ids and were left out of the "
            "pool"
        )
    pool_size = int(pool.size)
    scores: list[np.ndarray] = []
    stage_of: list[np.ndarray] = []
    for spec, m in zip(specs, _stage_sizes(specs, n_req, pool_size), strict=True):
        if progress is not None:
            progress(spec.index / len(specs), f"selecting: {spec.strategy}")
        if m <= 0:
            if spec.mode == "narrow":
                pool = pool[:0]
            continue
        if spec.strategy in DIVERSITY_STRATEGIES:
            runner = _coreset_stage if spec.strategy == "coreset" else _cluster_stage
            pick, pick_scores = runner(ctx, spec, pool, m)
        else:
            pick, pick_scores = _score_stage(ctx, spec, pool, m)
        chosen = pool[pick]
        if spec.mode == "narrow":
            pool = np.sort(chosen)
            continue
        ctx.picked.append(chosen)
        scores.append(pick_scores)
        stage_of.append(np.full(chosen.size, spec.index, dtype=np.int64))
        keep = np.ones(fs.num_frames, dtype=bool)
        keep[chosen] = False
        pool = pool[keep[pool]]
    picked = np.concatenate(ctx.picked) if ctx.picked else np.zeros(0, dtype=np.int64)
    all_scores = np.concatenate(scores) if scores else np.zeros(0)
    all_stages = np.concatenate(stage_of) if stage_of else np.zeros(0, dtype=np.int64)
    truncated = picked.size < n_req
    if truncated:
        notes.append(
            f"num_of_samples={n_req} is more than the {picked.size} frames the pool could give "
            f"(pool of {pool_size}): all of them are returned, ranked"
        )
    if progress is not None:
        progress(1.0, "selected")
    labels = [s.label for s in specs]
    return SamplingResult(
        frame_ids=tuple(fs.frame_ids[picked].tolist()),
        scores=tuple(float(s) for s in all_scores.tolist()),
        stages=tuple(labels[i] for i in all_stages.tolist()),
        stage_index=tuple(all_stages.tolist()),
        strategy=_strategy_label(specs),
        num_of_samples=n_req,
        pool_size=pool_size,
        truncated=bool(truncated),
        note="; ".join(notes) if notes else None,
        parameters={
            "seed": req.seed,
            "stages": [s.model_dump() for s in specs],
        },
    )


def run_sampling(
    request: AnyRequest | Mapping[str, Any],
    *,
    embeddings: EmbeddingsLike | None = None,
    device: torch.device | str | None = None,
    progress: ProgressCallback | None = None,
) -> SamplingResult:
    """Score and select in one call: :func:`score_frames` then :func:`select`.

    Args:
        request: :class:`SamplingRequest`, :class:`ClassificationSamplingRequest` or
            a dict of their fields (CVAL's JSON).
        embeddings: for diversity strategies (see :func:`select`).
        device: where the kernels run (default CPU).
        progress: optional ``progress(fraction, message)``; scoring reports the first
            half, selection the second.

    Returns:
        :class:`SamplingResult`.

    Example:
        >>> r = run_sampling({"num_of_samples": 1, "selection_strategy": "entropy",
        ...     "frames": [{"frame_id": "a", "predictions": [{"score": 0.95}]},
        ...                {"frame_id": "b", "predictions": [{"score": 0.6}]}]})
        >>> r.frame_ids, r.stages
        (('b',), ('entropy',))
    """
    req = parse_request(request)
    if progress is not None and not callable(progress):
        raise TypeError(
            "Expected `progress` to be None or a callable progress(fraction, message), but got "
            f"{type(progress).__name__}"
        )
    half: ProgressCallback | None = None
    second: ProgressCallback | None = None
    if progress is not None:
        cb = progress

        def half(f: float, msg: str) -> None:
            cb(0.5 * f, msg)

        def second(f: float, msg: str) -> None:
            cb(0.5 + 0.5 * f, msg)

    fs = score_frames(req, device=device, progress=half)
    return select(req, fs, embeddings, device=device, progress=second)
