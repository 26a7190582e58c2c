"""Frame scores: per-box active-learning scores, reduced per frame (no selection yet).

:func:`score_frames` is the map half of a sampling run (the Ray Data adapter runs it per
shard; :meth:`FrameScores.concat` joins the shards) and :func:`~.selection.select` the
reduce half. Per box, the uncertainty strategies compute the score CVAL documents
(Robert Munro's uncertainty-sampling formulas, each in [0, 1] with 1 the most
uncertain) from the box's ``probabilities`` or, without them, from its ``score`` read as
the two-class distribution ``(score, 1 - score)``:

============== ======================================================
least          ``(1 - p_max) * C / (C - 1)``
margin         ``1 - (p_top1 - p_top2)``
ratio          ``p_top2 / p_top1``
entropy        ``sum_c w_c * (-p_c ln p_c) / ln C`` (``w = probs_weights``, default 1)
bald           mutual information of the MC draws ``/ ln C``
variation_ratio ``1 - (draws voting for the modal class) / S``
probability    ``score`` (without one: ``p_max``); the model's confidence
random         a seeded uniform number from a hash of the frame id
============== ======================================================

The frame score is the ``bbox_selection_policy`` (min, max, mean, sum) of its boxes'
scores, one segment reduction over all frames. A frame without boxes gets CVAL's fake
prediction (``score = 0.5``; ``0`` for ``probability``) when ``use_null_detections`` is
true and is an error otherwise. Everything runs on whole columns through
``assay.kernels.uncertainty``; when every box has only a ``score``, the boxes come
frame after frame (the usual detection export) and the policy is min or max, the box
score and the frame's reduction are one call of
:func:`~assay.kernels.binary_frame_scores` (one Triton kernel on CUDA; cache-sized
chunks, or a compiled loop, on the CPU), with the same numbers (entropy computed per
box there too: ``reduce_first=False``; on CUDA it stays on the per-box path).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import torch
from pydantic import BaseModel, ConfigDict
from torch import Tensor

from ...kernels.frame_scores import BinaryScore, binary_frame_scores
from ...kernels.uncertainty import (
    Reduction,
    bald,
    binary_distribution,
    entropy,
    least_confidence,
    margin,
    ratio,
    segment_reduce,
    segment_reduce_contiguous,
    variation_ratio,
)
from ..device import resolve_device
from ..index._inputs import check_seed
from .request import (
    DIVERSITY_STRATEGIES,
    ClassificationSamplingRequest,
    SamplingRequest,
    StageSpec,
    parse_request,
)
from .table import PROBABILITY_SUM_TOLERANCE, PredictionTable

__all__ = ["FrameScores", "ProgressCallback", "random_keys", "score_frames"]

ProgressCallback = Callable[[float, str], None]
"""``progress(fraction, message)``: called with a fraction in [0, 1] as work advances."""

AnyRequest = SamplingRequest | ClassificationSamplingRequest


class FrameScores(BaseModel):
    """Per-frame scores of every stage of a request, before selection.

    Attributes:
        frame_ids: ``(F,)`` object array of str, sorted ascending, unique.
        scores: ``(F, S)`` float64, one column per stage (NaN for diversity stages,
            which score nothing before selection).
        strategies: the strategy of each stage (column).
        embedding_ids: ``(E,)`` object array: the embedding ids of the frames'
            predictions, and the frame id for a frame none of whose predictions has
            one (empty when no stage needs embeddings).
        embedding_frame: ``(E,)`` int64 frame index of each embedding id.
        embedding_is_frame: ``(E,)`` bool, the id is a frame id (for messages).

    Example:
        >>> req = SamplingRequest(num_of_samples=1, selection_strategy="least", frames=[
        ...     {"frame_id": "a", "predictions": [{"score": 0.9}]}, {"frame_id": "b"}])
        >>> fs = score_frames(req)
        >>> fs.frame_ids.tolist(), fs.scores[:, 0].round(6).tolist()
        (['a', 'b'], [0.2, 1.0])
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    frame_ids: np.ndarray
    scores: np.ndarray
    strategies: tuple[str, ...]
    embedding_ids: np.ndarray
    embedding_frame: np.ndarray
    embedding_is_frame: np.ndarray

    @property
    def num_frames(self) -> int:
        """Number of frames ``F``."""
        return int(self.frame_ids.shape[0])

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (lists; NaN scores become None)."""
        return {
            "frame_ids": self.frame_ids.tolist(),
            "scores": [[None if math.isnan(v) else v for v in row] for row in self.scores.tolist()],
            "strategies": list(self.strategies),
            "embedding_ids": self.embedding_ids.tolist(),
            "embedding_frame": self.embedding_frame.tolist(),
            "embedding_is_frame": self.embedding_is_frame.tolist(),
        }

    @classmethod
    def concat(cls, parts: Sequence[FrameScores]) -> FrameScores:
        """Join the scores of disjoint shards of one request (frame ids stay unique).

        Raises:
            ValueError: no parts, parts of different pipelines, a frame in two shards.

        Example:
            >>> a = score_frames(SamplingRequest(num_of_samples=1, selection_strategy="least",
            ...     frames=[{"frame_id": "z", "predictions": [{"score": 0.5}]}]))
            >>> b = score_frames(SamplingRequest(num_of_samples=1, selection_strategy="least",
            ...     frames=[{"frame_id": "y", "predictions": [{"score": 1.0}]}]))
            >>> FrameScores.concat([a, b]).frame_ids.tolist()
            ['y', 'z']
        """
        if not parts:
            raise ValueError("Expected at least one FrameScores to concatenate, but got none")
        strategies = parts[0].strategies
        for i, p in enumerate(parts):
            if p.strategies != strategies:
                raise ValueError(
                    f"Expected every part to score the stages {strategies}, but got "
                    f"{p.strategies} (first offending item: parts[{i}])"
                )
        offsets = np.cumsum([0] + [p.num_frames for p in parts])
        ids = np.concatenate([p.frame_ids for p in parts])
        arr = pa.array(ids, pa.string())
        order = pc.sort_indices(arr).to_numpy().astype(np.int64)
        sorted_ids = ids[order]
        if len(order) > 1:
            dup = pc.equal(arr.take(pa.array(order[1:])), arr.take(pa.array(order[:-1])))
            dup_np = dup.to_numpy(zero_copy_only=False)
            if dup_np.any():
                dup_id = sorted_ids[np.flatnonzero(dup_np)[0]]
                raise ValueError(
                    f"Expected disjoint shards, but frame_id {dup_id!r} is in two of them"
                )
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order), dtype=np.int64)
        emb_frame = np.concatenate(
            [rank[p.embedding_frame + offsets[i]] for i, p in enumerate(parts)]
        )
        return cls(
            frame_ids=sorted_ids,
            scores=np.concatenate([p.scores for p in parts])[order],
            strategies=strategies,
            embedding_ids=np.concatenate([p.embedding_ids for p in parts]),
            embedding_frame=emb_frame.astype(np.int64),
            embedding_is_frame=np.concatenate([p.embedding_is_frame for p in parts]),
        )


# ---------------------------------------------------------------------- random


_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)


def _mix64(h: np.ndarray) -> np.ndarray:
    """splitmix64's finalizer: every input bit affects every output bit."""
    h = h ^ (h >> np.uint64(30))
    h = h * np.uint64(0xBF58476D1CE4E5B9)
    h = h ^ (h >> np.uint64(27))
    h = h * np.uint64(0x94D049BB133111EB)
    out: np.ndarray = h ^ (h >> np.uint64(31))
    return out


def random_keys(frame_ids: np.ndarray | Sequence[str], seed: int) -> np.ndarray:
    """A seeded uniform number in [0, 1) per frame id, from a hash of the id (FNV-1a, mixed).

    A frame's key depends only on its id and the seed, not on the other frames or their
    order, so shards scored apart select the same frames as the whole pool.

    Args:
        frame_ids: ``(F,)`` str ids.
        seed: an int in ``[0, 2**64 - 1]`` (the range of every sampling seed; the
            hash takes all 64 bits).

    Returns:
        ``(F,)`` float64 in [0, 1).

    Raises:
        ValueError: a seed outside that range.

    Example:
        >>> k = random_keys(["a", "b", "a"], seed=0)
        >>> bool(k[0] == k[2]), bool(k[0] != k[1]), bool(((k >= 0) & (k < 1)).all())
        (True, True, True)
    """
    seed = check_seed(seed)
    arr = pa.array(
        list(frame_ids) if not isinstance(frame_ids, np.ndarray) else frame_ids, pa.string()
    )
    n = len(arr)
    if n == 0:
        return np.zeros(0, dtype=np.float64)
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)[arr.offset : arr.offset + n + 1]
    data_buf = arr.buffers()[2]
    data = np.zeros(0, np.uint8) if data_buf is None else np.frombuffer(data_buf, dtype=np.uint8)
    starts = offsets[:-1].astype(np.int64)
    lengths = np.diff(offsets).astype(np.int64)
    with np.errstate(over="ignore"):
        seed_mix = _mix64(np.array([seed], dtype=np.uint64))[0]
        h = np.full(n, _FNV_OFFSET ^ seed_mix, dtype=np.uint64)
        idx = np.arange(n, dtype=np.int64)
        for j in range(int(lengths.max(initial=0))):
            idx = idx[lengths[idx] > j]
            byte = data[starts[idx] + j].astype(np.uint64)
            h[idx] = (h[idx] ^ byte) * _FNV_PRIME
        h = _mix64(h)
    return (h >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


# ---------------------------------------------------------------------- box scores


def _normalised(
    strategy: str,
    p: Tensor,
    *,
    from_logits: bool = False,
    weights: Tensor | None = None,
    multilabel: bool = False,
) -> Tensor:
    """Munro's uncertainty score (1 = most uncertain) of ``(B, C)`` distributions.

    ``multilabel=True`` with ``(B, 1)`` scores ``s`` gives the scores of ``(s, 1 - s)``
    (the kernels' single-Bernoulli-label path; no ``(B, 2)`` stack).
    """
    kw = {"from_logits": from_logits, "multilabel": multilabel}
    if strategy == "least":
        return least_confidence(p, normalize=True, **kw)
    if strategy == "margin":
        return 1.0 - margin(p, **kw)
    if strategy == "ratio":
        return ratio(p, **kw)
    if strategy == "entropy":
        return entropy(p, weights=weights, normalize=True, **kw)
    raise AssertionError(strategy)  # pragma: no cover - callers pass uncertainty strategies


def _read_only_tensor(values: np.ndarray) -> Tensor:
    """A tensor over ``values`` without a copy, for reading only.

    A table's columns may be read-only views of Arrow buffers, which ``torch.from_numpy``
    takes with a warning; through DLPack torch takes them without one. Torch does not
    enforce read-only memory: nothing may write to the tensor (nothing in scoring
    writes to its inputs).
    """
    if values.flags.writeable:
        return torch.from_numpy(values)
    try:
        return torch.utils.dlpack.from_dlpack(values)
    except (BufferError, TypeError, RuntimeError):  # numpy < 2.1 exports no read-only arrays
        return torch.from_numpy(values.copy())


def _score_only(strategy: str, s: Tensor) -> Tensor:
    """Scores of boxes with only a ``score``: the two-class distribution ``(s, 1 - s)``."""
    if strategy == "probability":
        return s
    return _normalised(strategy, s[:, None], multilabel=True)


def _check_distributions(
    table: PredictionTable, values: np.ndarray, boxes: np.ndarray, field: str
) -> None:
    """Non-negative rows that sum to 1 within the tolerance (``values``: ``(n, ..., C)``)."""
    if values.size == 0:
        return
    flat = values.reshape(values.shape[0], -1, values.shape[-1])
    neg: np.ndarray = np.asarray((flat < 0).any(axis=(1, 2)))
    if neg.any():
        b = int(boxes[table.first_box_of(boxes, neg)])
        raise ValueError(
            f"Expected `{field}` to be probabilities (>= 0), but got a negative value "
            f"(first offending item: {table.box_name(b)}.{field}; set `from_logits` for logits)"
        )
    sums = flat.sum(axis=-1)
    bad = (np.abs(sums - 1.0) > PROBABILITY_SUM_TOLERANCE).any(axis=1)
    if bad.any():
        i = table.first_box_of(boxes, bad)
        b = int(boxes[i])
        total = float(sums[i][np.argmax(np.abs(sums[i] - 1.0))])
        raise ValueError(
            f"Expected `{field}` to sum to 1 (within {PROBABILITY_SUM_TOLERANCE}), but got a sum "
            f"of {total!r} (first offending item: {table.box_name(b)}.{field}; set "
            "`from_logits` for logits)"
        )


def _sorted_rows(x: Tensor) -> Tensor:
    """Each row of ``x`` sorted ascending.

    On the CPU NumPy sorts: several times faster than torch on short rows.
    """
    if x.device.type == "cpu":
        return torch.from_numpy(np.sort(x.numpy(), axis=-1))
    return x.sort(dim=-1).values


def _canonical_rows(
    p: np.ndarray, weights: Sequence[float] | None, device: torch.device
) -> tuple[Tensor, Tensor | None]:
    """``(B, C)`` rows in a canonical class order on ``device``, and ``weights`` in that order.

    The kernels add over the classes in index order, so one distribution in two class
    orders could score an ulp apart and the tie would not go by frame id. Each row is
    sorted ascending; with ``weights`` the classes are first grouped by weight (in
    ascending weight order, the same for every row) and sorted within each group, so the
    weights of every sorted row are ``weights`` sorted. A box's score is then a function
    of its ``(probability, weight)`` pairs, whatever their order. (On the CPU NumPy sorts:
    several times faster than torch on short rows.)
    """
    w = group = None
    if weights is not None:
        w = np.asarray(weights, dtype=np.float64)
        by_weight = np.argsort(w, kind="stable")
        w = w[by_weight]
        group = np.concatenate([[0], np.cumsum(w[1:] != w[:-1])])
        p = p[:, by_weight]
    w_t = None if w is None else torch.from_numpy(w).to(device)
    t = torch.from_numpy(p).to(device)
    if group is None:
        return _sorted_rows(t), w_t
    if device.type == "cpu":
        rows = np.lexsort((p, np.broadcast_to(group, p.shape)), axis=-1)
        return torch.from_numpy(np.take_along_axis(p, rows, axis=-1)), w_t
    order = t.argsort(dim=-1, stable=True)
    order = order.gather(-1, torch.from_numpy(group).to(device)[order].argsort(dim=-1, stable=True))
    return t.gather(-1, order), w_t


def _canonical_draws(mc: Tensor) -> Tensor:
    """``(B, S, C)`` Monte-Carlo draws with each box's classes in a canonical order.

    A class is a column of ``S`` draws; a box's columns are ordered by their sum over
    the draws (added draw after draw: the same bits wherever the column sits), and
    distinct columns of equal sum by their values, draw after draw. The same order for
    every draw of a box keeps the draws' classes aligned; see :func:`_canonical_rows`
    for why.
    """
    _, num_draws, c = mc.shape
    total = mc[:, 0].clone()
    for s in range(1, num_draws):
        total += mc[:, s]
    key, order = total.sort(dim=-1, stable=True)
    out = mc.gather(-1, order[:, None, :].expand_as(mc))
    tie = torch.eq(key[:, 1:], key[:, :-1])
    rows = torch.nonzero(tie.any(dim=-1)).squeeze(1)
    if rows.numel():  # equal sums matter between distinct columns only (e.g. not 0 and 0)
        tied = out[rows]
        differ = torch.ne(tied[..., 1:], tied[..., :-1]).any(dim=1)
        rows = rows[(tie[rows] & differ).any(dim=-1)]
    if rows.numel():
        sub = mc[rows]
        lex = torch.arange(c, device=mc.device).expand(rows.numel(), c)
        for s in range(num_draws - 1, -1, -1):
            lex = lex.gather(-1, sub[:, s].gather(-1, lex).argsort(dim=-1, stable=True))
        lex = lex.gather(-1, total[rows].gather(-1, lex).argsort(dim=-1, stable=True))
        out[rows] = sub.gather(-1, lex[:, None, :].expand_as(sub))
    return out


def _renormalised(p: Tensor, *, canonical: bool = True) -> Tensor:
    """``p / p.sum(-1)`` for the rows whose sum is not within ``4 * C`` epsilons of 1.

    Distributions are accepted within the sum tolerance, which absorbs rounding in the
    caller's export; scoring the rows as given would let it change the ranking
    (``[0.4996, 0.4996]`` scored 1.0008 under ``least``, above an exactly uniform box).
    A row whose sum is within ``4 * C`` epsilons of 1 (what adding ``C`` rounded
    numbers leaves) is kept bit for bit, as the formulas take it. The sum is that of
    the row sorted ascending, so it, and whether the row is divided, do not depend on
    the class order: rows in canonical order (:func:`_canonical_rows`) are summed as
    they are; with ``canonical=False`` only the rows whose plain sum is off 1 by more
    than ``2 * C`` epsilons are sorted (two orders' sums differ by at most ``(C - 1)``
    epsilons, so every other row's sorted sum is within ``4 * C`` of 1: it is kept).
    """
    s = p.sum(dim=-1, keepdim=True)
    bound = 4 * p.shape[-1] * torch.finfo(p.dtype).eps
    if not canonical:
        unsure = torch.nonzero(((s - 1.0).abs() > bound / 2).squeeze(-1)).squeeze(1)
        if unsure.numel():
            s[unsure] = _sorted_rows(p[unsure]).sum(dim=-1, keepdim=True)
    near = (s - 1.0).abs() <= bound
    return p / s.masked_fill_(near, 1.0)  # x / 1.0 is x; keeps the layout of p


def _missing(table: PredictionTable, mask: np.ndarray, strategy: str, needs: str) -> None:
    if mask.any():
        b = table.first_box(mask)
        raise ValueError(
            f"Expected every prediction to have {needs} for strategy {strategy!r}, but got none "
            f"(first offending item: {table.box_name(b)})"
        )


def _box_scores(req: AnyRequest, strategy: str, device: torch.device, checked: set[str]) -> Tensor:
    """``(B,)`` float64 score of every prediction for one score strategy."""
    table = req.frames
    nb = table.num_boxes
    if nb == 0:
        return torch.empty(0, dtype=torch.float64, device=device)
    if strategy in ("bald", "variation_ratio"):
        has_mc = table.has_mc_probabilities()
        _missing(table, ~has_mc, strategy, "`mc_probabilities` (Monte-Carlo draws)")
        mc = table.mc_probabilities
        assert mc is not None  # has_mc is all true
        if not req.from_logits and "mc" not in checked:
            _check_distributions(table, mc, np.arange(nb), "mc_probabilities")
            checked.add("mc")
        samples = _canonical_draws(torch.from_numpy(mc).to(device)).permute(1, 0, 2)
        if not req.from_logits:
            samples = _renormalised(samples)
        if strategy == "bald":
            info = bald(samples, from_logits=req.from_logits) / math.log(mc.shape[2])
            return info.clamp_(0.0, 1.0)
        return variation_ratio(samples, from_logits=req.from_logits).to(torch.float64)
    has_p = table.has_probabilities()
    has_s = ~np.isnan(table.score)
    _missing(table, ~(has_p | has_s), strategy, "a `score` or `probabilities`")
    if not has_p.any():  # every box has only a score: no gathers
        return _score_only(strategy, _read_only_tensor(table.score).to(device))
    out = torch.empty(nb, dtype=torch.float64, device=device)
    p_boxes = np.flatnonzero(has_p)
    probs_np = table.probabilities
    assert probs_np is not None  # has_p is not all false
    if p_boxes.size < nb:
        probs_np = probs_np[p_boxes]
    if not req.from_logits and "p" not in checked:
        _check_distributions(table, probs_np, p_boxes, "probabilities")
        checked.add("p")
    weights = req.probs_weights if strategy == "entropy" else None
    if weights is not None and len(weights) != probs_np.shape[1]:
        raise ValueError(
            f"Expected `probs_weights` to hold one weight per class ({probs_np.shape[1]}), but "
            f"got {len(weights)} weights"
        )
    w = None
    if req.from_logits or strategy == "entropy":  # the kernels add over the classes
        probs, w = _canonical_rows(probs_np, weights, device)
        if not req.from_logits:
            probs = _renormalised(probs)
    else:  # p_max and p_top2 only: any class order scores the same
        probs = _renormalised(torch.from_numpy(probs_np).to(device), canonical=False)
    if strategy == "probability":
        vals = probs.softmax(-1).amax(-1) if req.from_logits else probs.amax(-1)
        s = torch.from_numpy(table.score[p_boxes]).to(device)
        vals = torch.where(torch.isnan(s), vals, s)
    else:
        vals = _normalised(strategy, probs, from_logits=req.from_logits, weights=w)
        if w is None:  # weighted entropy runs up to max(probs_weights): not clamped
            vals = vals.clamp_(0.0, 1.0)  # the formulas' range, against rounding (1 + 2**-52)
    if p_boxes.size == nb:
        return vals.to(torch.float64)
    out.index_copy_(0, torch.from_numpy(p_boxes).to(device), vals.to(torch.float64))
    s_boxes = np.flatnonzero(~has_p)
    s_vals = _score_only(strategy, torch.from_numpy(table.score[s_boxes]).to(device))
    out.index_copy_(0, torch.from_numpy(s_boxes).to(device), s_vals.to(torch.float64))
    return out


def _fake_score(strategy: str, table: PredictionTable, device: torch.device) -> Tensor:
    """The score of CVAL's fake prediction for a frame without boxes (``(1,)`` float64)."""
    if strategy == "probability":
        return torch.zeros(1, dtype=torch.float64, device=device)
    half = torch.full((1,), 0.5, dtype=torch.float64, device=device)
    if strategy in ("bald", "variation_ratio"):
        # every draw is (0.5, 0.5): the draws agree, no mutual information, no variation
        draws = 1 if table.mc_probabilities is None else table.mc_probabilities.shape[1]
        samples = binary_distribution(half).expand(draws, 1, 2).contiguous()
        if strategy == "bald":
            return bald(samples) / math.log(2.0)
        return variation_ratio(samples).to(torch.float64)
    return _score_only(strategy, half)


# score strategies of boxes with only a score -> binary_frame_scores' score and normalize
_BINARY: dict[str, tuple[BinaryScore, bool]] = {
    "least": ("least_confidence", True),
    "margin": ("margin", False),
    "ratio": ("ratio", False),
    "entropy": ("entropy", True),
    "probability": ("probability", False),
}
# policies the one call takes -> the reduction of the margins for CVAL's 1 - margin
_POLICIES: dict[str, Reduction] = {"min": "max", "max": "min"}


def _one_call(strategy: str, policy: str, device: torch.device) -> bool:
    """Whether :func:`_binary_frames` gives the per-box path's numbers bit for bit.

    (Up to the sign of a zero: a frame of ``0.0`` and ``-0.0`` scores may get either,
    by path; they rank as equal.)

    min / max: every path computes each box's score by the same operations and picks one
    of them (entropy with ``reduce_first=False``; CUDA's fused kernel takes its
    logarithms its own way, so entropy there stays per box). mean / sum stay per box:
    the fused and compiled paths add in their own order, and a table's path depends on
    its layout (frame order, probabilities on any box), so frames with the same boxes
    could score differently in another pool or shard.
    """
    if strategy not in _BINARY or policy not in _POLICIES:
        return False
    return not (strategy == "entropy" and device.type != "cpu")


def _binary_frames(
    strategy: str, scores: Tensor, lengths: Tensor, policy: str, fake: float
) -> Tensor:
    """Frame scores of boxes with only a ``score``, stored frame after frame, in one call.

    The per-box scores' min or max (:func:`_one_call`), as ``segment_reduce_contiguous``
    of them gives. ``margin`` ranks ``1 - |2s - 1|``: its min / max are ``1 -`` the max
    / min of the margins (one rounding of each, and ``1 - x`` is monotone). Frames
    without boxes get ``fake``.
    """
    score, normalize = _BINARY[strategy]
    reduction = cast(Reduction, policy)  # "min" or "max": _one_call admitted only those
    if strategy != "margin":
        return binary_frame_scores(
            scores, lengths, score, reduction, normalize=normalize, empty=fake, reduce_first=False
        )
    out = binary_frame_scores(scores, lengths, "margin", _POLICIES[policy])
    return torch.where(lengths == 0, fake, torch.sub(1.0, out))


def _embedding_keys(table: PredictionTable) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Embedding ids of the predictions, and the frame id where a frame has none."""
    emb = table.embedding_id
    if emb is None:
        boxes = np.zeros(0, dtype=np.int64)
        box_ids = np.zeros(0, dtype=object)
    else:
        boxes = np.flatnonzero(np.fromiter((e is not None for e in emb), bool, emb.size))
        box_ids = emb[boxes]
    covered = np.zeros(table.num_frames, dtype=bool)
    covered[table.box_frame[boxes]] = True
    bare = np.flatnonzero(~covered)
    ids = np.concatenate([box_ids, table.frame_ids[bare]]).astype(object)
    frames = np.concatenate([table.box_frame[boxes], bare]).astype(np.int64)
    is_frame = np.concatenate([np.zeros(boxes.size, bool), np.ones(bare.size, bool)])
    return ids, frames, is_frame


def score_frames(
    request: AnyRequest | Mapping[str, Any],
    *,
    device: torch.device | str | None = None,
    progress: ProgressCallback | None = None,
) -> FrameScores:
    """Score every frame for every stage of a request (the map half of a sampling run).

    Args:
        request: :class:`SamplingRequest`, :class:`ClassificationSamplingRequest`, or
            a dict of their fields.
        device: where the kernels run (default CPU).
        progress: optional ``progress(fraction, message)``.

    Returns:
        :class:`FrameScores`.

    Raises:
        ValueError: a prediction without what its strategy needs, probabilities that
            are negative or do not sum to 1, ``probs_weights`` of the wrong length or
            without an entropy stage, a frame without predictions when
            ``use_null_detections`` is false (each named).

    Example:
        >>> fs = score_frames({"num_of_samples": 1, "selection_strategy": "entropy",
        ...     "bbox_selection_policy": "max", "frames": [
        ...     {"frame_id": "a", "predictions": [{"probabilities": [0.5, 0.5]},
        ...                                       {"probabilities": [1.0, 0.0]}]}]})
        >>> fs.scores.tolist()
        [[1.0]]
    """
    req = parse_request(request)
    dev = resolve_device(device)
    table = req.frames
    specs: tuple[StageSpec, ...] = req.stage_specs()
    strategies = tuple(s.strategy for s in specs)
    if req.probs_weights is not None and "entropy" not in strategies:
        raise ValueError(
            "Expected `probs_weights` only with the entropy strategy (it weighs the classes' "
            f"entropy terms), but got strategies {list(strategies)}"
        )
    counts = table.boxes_per_frame()
    empty = np.flatnonzero(counts == 0)
    if empty.size and not getattr(req, "use_null_detections", True):
        f = table.first_frame(counts == 0)
        raise ValueError(
            "Expected every frame to have predictions when `use_null_detections` is false, but "
            f"got a frame without any (first offending item: {table.frame_name(f)})"
        )
    nf = table.num_frames
    cols = np.full((nf, len(specs)), np.nan)
    box_cache: dict[str, Tensor] = {}
    checked: set[str] = set()
    if table.boxes_in_frame_order():  # the usual export: a reduction over runs, no scatter
        lengths = torch.from_numpy(counts).to(dev)
        segments = None
    else:
        box_frame = np.concatenate([table.box_frame, empty]) if empty.size else table.box_frame
        segments = torch.from_numpy(box_frame).to(dev)
    # boxes with only a score, frame after frame: score and reduce in one kernel call
    one_call = segments is None and table.num_boxes and not table.has_probabilities().any()
    scores_only: Tensor | None = None
    for i, spec in enumerate(specs):
        if progress is not None:
            progress(i / max(len(specs), 1), f"scoring frames: {spec.strategy}")
        if spec.strategy in DIVERSITY_STRATEGIES:
            continue
        if spec.strategy == "random":
            cols[:, i] = random_keys(table.frame_ids, req.seed)
            continue
        if one_call and _one_call(spec.strategy, spec.bbox_selection_policy, dev):
            if scores_only is None:
                _missing(
                    table, np.isnan(table.score), spec.strategy, "a `score` or `probabilities`"
                )
                scores_only = _read_only_tensor(table.score).to(dev)
            fake = float(_fake_score(spec.strategy, table, dev)) if empty.size else math.nan
            frame = _binary_frames(
                spec.strategy, scores_only, lengths, spec.bbox_selection_policy, fake
            )
            cols[:, i] = frame.cpu().numpy()
            continue
        if spec.strategy not in box_cache:
            box_cache[spec.strategy] = _box_scores(req, spec.strategy, dev, checked)
        values = box_cache[spec.strategy]
        policy = spec.bbox_selection_policy
        if segments is None:
            # a frame without boxes reduces CVAL's one fake prediction: its score itself
            fake = float(_fake_score(spec.strategy, table, dev)) if empty.size else math.nan
            frame = segment_reduce_contiguous(values, lengths, policy, empty=fake)
        else:
            if empty.size:
                fakes = _fake_score(spec.strategy, table, dev).expand(empty.size)
                values = torch.cat([values, fakes])
            frame = segment_reduce(values, segments, nf, policy)
        cols[:, i] = frame.cpu().numpy()
    cols += 0.0  # -0.0 (the entropy of a box with score 1) -> 0.0, which prints as 0.0
    if any(s in DIVERSITY_STRATEGIES for s in strategies):
        emb_ids, emb_frame, emb_is_frame = _embedding_keys(table)
    else:
        emb_ids = np.zeros(0, dtype=object)
        emb_frame = np.zeros(0, dtype=np.int64)
        emb_is_frame = np.zeros(0, dtype=bool)
    if progress is not None:
        progress(1.0, "frames scored")
    return FrameScores(
        frame_ids=table.frame_ids,
        scores=cols,
        strategies=strategies,
        embedding_ids=emb_ids,
        embedding_frame=emb_frame,
        embedding_is_frame=emb_is_frame,
    )
