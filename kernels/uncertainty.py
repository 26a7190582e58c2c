"""Uncertainty kernels for active learning: per-item scores, per-frame reductions, top-k.

Scores take ``(..., C)`` class probabilities or logits and return ``(...)`` scores in
the dtype of the input (float32 stays float32):

- ``entropy``: ``-sum_c w_c p_c log p_c`` (natural log), optionally divided by
  ``log C`` (``normalize=True``, CVAL's normalised entropy);
- ``margin``: ``p_top1 - p_top2`` (small = uncertain);
- ``least_confidence``: ``1 - p_top1`` (large = uncertain), optionally times
  ``C / (C - 1)`` (``normalize=True``, CVAL's normalised least confidence);
- ``ratio``: ``p_top2 / p_top1`` (large = uncertain);
- ``bald``: mutual information ``H(E_s p) - E_s H(p)`` over Monte-Carlo samples;
- ``variation_ratio``: ``1 - (votes of the modal class) / S`` over samples.

From logits every score is computed from log-probabilities (never
``log(softmax(x))``): ``logsigmoid`` per label, and per class ``l_c - l_1 - log Z``
with ``log Z = log1p(sum of exp(l_c - l_1) but the top one)``, so logits of magnitude
``1e4`` give finite, exact scores and a nearly certain top class keeps its tiny
``1 - p_top1`` and entropy to full relative precision (``margin`` takes
``expm1`` of the top-two gap, so near ties keep theirs too). With
``multilabel=True`` each of the ``C`` labels is an independent sigmoid / Bernoulli
probability: ``entropy`` and ``bald`` sum the per-label binary terms; ``margin``,
``least_confidence``, ``ratio`` and ``variation_ratio`` take the label that is most
uncertain (smallest margin, largest least-confidence, ratio and variation ratio).

Detection with one score per box (CVAL): a box score ``s`` stands for the two-class
distribution ``(s, 1 - s)`` (``binary_distribution``). The same numbers come cheaper
from ``s[..., None]`` with ``multilabel=True`` (one Bernoulli label), which avoids
stacking. Every binary score is a monotone function of ``|s - 1/2|``, so a per-frame
``min`` or ``max`` of box uncertainties equals the score of the per-frame ``max`` or
``min`` of ``|s - 1/2|``: reduce first, score the frames.

Per-frame aggregation (CVAL's ``bbox_selection_policy``) is a segment reduction:
``segment_reduce`` for frame ids in any order (one ``scatter_reduce`` /
``index_add``), ``segment_reduce_contiguous`` for boxes stored frame after frame
(``torch.segment_reduce`` over lengths, or a reshape when every frame has the same
number of boxes). Frames without boxes get ``empty`` (``nan`` by default): the caller
applies its documented rule (CVAL substitutes a fake uniform prediction).

``top_k`` selects the ``k`` best scores in score order, equal scores by an ascending
tie-break rank (e.g. frame-id order) and then by index: deterministic on CPU and CUDA.

CVAL correspondence (its on-premise service scores each box's ``probabilities``, or
``(s, 1 - s)``, then applies the policy with Python's ``min``/``max``/mean/``sum``
and a stable sort): ``least`` = ``least_confidence(p, normalize=True)``; ``margin``
= ``1 - margin(p)``; ``ratio`` = ``ratio(p)``; ``entropy`` =
``entropy(p, weights=probs_weights, normalize=True)`` (its ``-sum w p log2 p /
log2 C`` is the same number); ``probability`` = ``p[..., 0]``. A frame without boxes
becomes one fake uniform prediction there (``(0, 1)`` for ``probability``).

Checked at every entry (metadata, any device, free): tensors, floating-point inputs,
shapes (``C >= 1`` for the top-k scores, ``C >= 2`` for ``normalize=True``, ``S >= 1``
draws), one weight per class, integer segments and lengths of the right size, ``int``
counts, one device. Values are read on the CPU only, and only where that is cheap
against the kernel: ``lengths`` (one pass), ``top_k``'s NaN scores (one ``amax``),
``binary_distribution``'s ``[0, 1]``; out-of-range ``segments`` are named when torch's
own CPU bounds check fails. Preconditions left to the caller (a check would cost a full
extra pass over inputs of 200M boxes, or synchronise on a device): probabilities lie in
``[0, 1]`` (and sum to 1 over the classes where a distribution is meant); no NaN in the
scores' inputs (a NaN input gives a NaN score); on devices, indexes in range.
``C == 1`` treats the missing second class as probability 0 in the top-2 scores.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from . import _compiled
from ._checks import (
    as_ordered,
    check_dtype,
    check_int,
    check_no_nan,
    check_range,
    check_same_device,
    check_size,
    check_tensor,
    reads_values,
)
from ._nonzero import flat_nonzero, static_nonzero_runs_on

__all__ = [
    "REDUCTIONS",
    "Reduction",
    "bald",
    "binary_distribution",
    "entropy",
    "least_confidence",
    "margin",
    "ratio",
    "segment_reduce",
    "segment_reduce_contiguous",
    "top_k",
    "variation_ratio",
]

Reduction = Literal["min", "max", "mean", "sum"]
REDUCTIONS: tuple[str, ...] = ("min", "max", "mean", "sum")
_SCATTER = {"min": "amin", "max": "amax", "mean": "mean", "sum": "sum"}
_TOPK_BLOCK = 1 << 19  # elements per block of the two-stage top-k (fits in L2/L3)
_TOPK_SAMPLE_STRIDE = 64  # CPU: the k-th best of every 64th score bounds the k-th best
_TOPK_SAMPLED_MIN = 1 << 20  # CPU inputs at least this long are cut down that way first
_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1
_INT32_MIN = -(1 << 31)
_INT32_MAX = (1 << 31) - 1


# ---------------------------------------------------------------------- log-probs


def _log_tiny(x: Tensor) -> float:
    return math.log(torch.finfo(x.dtype).tiny)


def _class_log_probs(x: Tensor, from_logits: bool) -> tuple[Tensor, Tensor]:
    """``(p, log p)`` over the last dim; ``log p`` floored at ``log(tiny)`` (so 0 log 0 = 0).

    From logits ``log p_c = (l_c - l_1) - log Z`` and ``p_c = exp(l_c - l_1) / Z`` with
    ``log Z`` as in :func:`_log_partition` (computed here out of place: ``x - l_1`` is
    kept for ``log p``): a nearly certain top class keeps its ``log p = -log Z`` to full
    relative precision (``log_softmax`` rounds it to 0 once the other classes' share is
    below the dtype's epsilon, e.g. a logit gap over ~17 in float32, and the entropy
    loses that share's term).
    """
    if from_logits and x.shape[-1] == 0:  # no classes: nothing to normalise
        return x, x.clone()
    if from_logits:
        top, first = x.max(dim=-1, keepdim=True)
        shifted = x - top
        rest = shifted.scatter(-1, first, -math.inf).exp_()
        log_z = torch.log1p(rest.sum(dim=-1, keepdim=True))
        p = rest.scatter_(-1, first, 1.0).mul_(torch.exp(-log_z))
        return p, shifted.sub_(log_z).clamp_min_(_log_tiny(x))
    return x, x.clamp_min(torch.finfo(x.dtype).tiny).log_()


def _label_log_probs(x: Tensor, from_logits: bool) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Per-label Bernoulli ``(p, log p, 1 - p, log(1 - p))``, logs floored at ``log(tiny)``.

    The logs are fresh tensors (callers may work on them in place); ``p`` may be ``x``.
    """
    floor = _log_tiny(x)
    if from_logits:
        logp, logq = F.logsigmoid(x), F.logsigmoid(-x)
        p, q = logp.exp(), logq.exp()
        return p, logp.clamp_min_(floor), q, logq.clamp_min_(floor)
    logp = x.clamp_min(torch.finfo(x.dtype).tiny).log_()
    return x, logp, 1 - x, torch.neg(x).log1p_().clamp_min_(floor)


def _over_labels(t: Tensor, reduction: str) -> Tensor:
    """Reduce the last dim; a view when it has size 1 (one label: nothing to reduce)."""
    if t.shape[-1] == 1:
        return t.squeeze(-1)
    return t.sum(dim=-1) if reduction == "sum" else t.amax(-1) if reduction == "max" else t.amin(-1)


def _log_partition(x: Tensor) -> Tensor:
    """``log Z``, ``Z = sum_c exp(l_c - l_1)`` over the last dim (``l_1``: the top logit).

    ``Z = 1 + s`` with ``s`` the sum over every class but the (first) top one, so
    ``log Z = log1p(s)`` keeps ``s``'s relative precision when the top class is nearly
    certain, where ``logsumexp`` would round ``1 + s`` to 1 first; and ``-log Z`` is
    ``log p_top1`` exactly even for logits ~1e4 (``logsumexp(x) - l_1`` would round at
    the magnitude of ``x``). No classes: 0 (an empty sum).
    """
    if x.shape[-1] == 0:
        return x.sum(dim=-1)
    top, first = x.max(dim=-1, keepdim=True)
    # in place: one pass cheaper than _class_log_probs' copy (which keeps x - l_1)
    rest = (x - top).scatter_(-1, first, -math.inf).exp_()
    return torch.log1p(rest.sum(dim=-1))


def _top2(x: Tensor) -> tuple[Tensor, Tensor]:
    """The largest and second largest entry of the last dim (second: ``-inf`` if ``C == 1``)."""
    if x.shape[-1] >= 2:
        v = x.topk(2, dim=-1).values
        return v[..., 0], v[..., 1]
    first = x.amax(dim=-1)
    return first, torch.full_like(first, -math.inf)


# ----------------------------------------------------------------- argument checks


def _check_float_input(name: str, x: object, min_ndim: int, shape: str) -> Tensor:
    """``x`` must be a floating-point tensor of at least ``min_ndim`` dims (metadata only)."""
    ndim = x.ndim if isinstance(x, Tensor) and x.ndim >= min_ndim else min_ndim
    checked = check_tensor(name, x, ndim, shape)
    check_dtype(name, checked, "floating")
    return checked


def _check_classes(name: str, x: Tensor, minimum: int, why: str = "") -> None:
    """``x``'s last dim must hold at least ``minimum`` classes."""
    if x.shape[-1] < minimum:
        raise ValueError(
            f"Expected `{name}` to hold C >= {minimum} classes in its last dim{why}, but got "
            f"shape {tuple(x.shape)}"
        )


def _check_probabilities(x: object, minimum: int, normalize: bool, multilabel: bool) -> Tensor:
    """``(..., C)`` float ``x`` with ``C >= minimum`` (and enough classes to normalise)."""
    checked = _check_float_input("x", x, 1, "(..., C)")
    _check_classes("x", checked, minimum)
    if normalize:  # the maximum divided by: log C (C log 2 per label), C / (C - 1)
        _check_classes("x", checked, 1 if multilabel else 2, " with normalize=True")
    return checked


def _check_samples(samples: object) -> Tensor:
    """``(S, ..., C)`` float ``samples`` with ``S >= 1`` draws."""
    checked = _check_float_input("samples", samples, 2, "(S, ..., C)")
    if not checked.shape[0]:
        raise ValueError(
            f"Expected `samples` to hold S >= 1 draws in its first dim, but got shape "
            f"{tuple(checked.shape)}"
        )
    return checked


def _check_weights(weights: object, x: Tensor) -> None:
    """``(C,)`` float per-class weights on ``x``'s device."""
    checked = check_tensor("weights", weights, 1, "(C,)")
    check_dtype("weights", checked, "floating")
    check_size("weights", checked, x.shape[-1], "one weight per class")
    check_same_device(x=x, weights=checked)


# ------------------------------------------------------------------------- scores


def entropy(
    x: Tensor,
    *,
    from_logits: bool = False,
    weights: Tensor | None = None,
    multilabel: bool = False,
    normalize: bool = False,
) -> Tensor:
    """Shannon entropy (natural log) of each distribution, optionally class-weighted.

    Args:
        x: ``(..., C)`` float probabilities (rows summing to 1; with ``multilabel``
            each entry a Bernoulli probability) or logits (``from_logits=True``).
        from_logits: ``x`` holds logits (softmax; sigmoid with ``multilabel``).
        weights: ``(C,)`` float per-class weights scaling each ``-p_c log p_c`` term
            (CVAL's ``probs_weights``); with ``multilabel`` each label's binary entropy.
        multilabel: sum of the ``C`` binary entropies ``-(p log p + (1-p) log(1-p))``.
        normalize: divide by the maximum of the unweighted entropy, ``log C``
            (``C log 2`` with ``multilabel``), so a uniform distribution scores 1;
            CVAL's ``entropy`` strategy is ``normalize=True`` with its weights.

    Returns:
        ``(...)`` entropies in the dtype of ``x``; ``0 log 0`` counts as 0; no classes
        (``C == 0``): 0.

    Raises:
        TypeError: ``x`` or ``weights`` not a floating-point tensor.
        ValueError: ``x`` 0-d; ``C < 2`` with ``normalize`` (``C < 1`` with
            ``multilabel``); ``weights`` not ``(C,)`` or on another device.

    Example:
        >>> import torch
        >>> entropy(torch.tensor([[0.5, 0.5], [1.0, 0.0]]))
        tensor([0.6931, 0.0000])
        >>> entropy(torch.zeros(1, 3), from_logits=True, normalize=True).round(decimals=4)
        tensor([1.])
    """
    _check_probabilities(x, 0, normalize, multilabel)
    if weights is not None:
        _check_weights(weights, x)
    c = x.shape[-1]
    if multilabel:
        p, logp, q, logq = _label_log_probs(x, from_logits)
        terms = logp.mul_(p).addcmul_(q, logq).neg_()
        scale = c * math.log(2.0)
    else:
        p, logp = _class_log_probs(x, from_logits)
        terms = logp.mul_(p).neg_()
        scale = math.log(c) if c > 0 else 0.0
    if weights is not None:
        terms.mul_(weights.to(terms.dtype))
    out = _over_labels(terms, "sum")
    return out.div_(scale) if normalize else out


def margin(x: Tensor, *, from_logits: bool = False, multilabel: bool = False) -> Tensor:
    """Top-1 minus top-2 probability (small = uncertain).

    Args:
        x: ``(..., C)`` float probabilities or logits (``from_logits=True``).
        from_logits: ``x`` holds logits; computed as ``(1 - exp(l_2 - l_1)) / Z`` with
            ``Z = sum_c exp(l_c - l_1)``.
        multilabel: per label ``|p - (1 - p)| = |2p - 1|`` (``tanh(|x| / 2)`` from
            logits); the smallest over labels (the most uncertain label).

    Returns:
        ``(...)`` margins in ``[0, 1]``, dtype of ``x``. CVAL's ``margin`` strategy
        ranks ``1 - margin``.

    Raises:
        TypeError: ``x`` not a floating-point tensor.
        ValueError: ``x`` 0-d or without classes (``C == 0``).

    Example:
        >>> import torch
        >>> margin(torch.tensor([[0.7, 0.2, 0.1], [0.4, 0.4, 0.2]]))
        tensor([0.5000, 0.0000])
    """
    _check_probabilities(x, 1, False, multilabel)
    if multilabel:
        # from probabilities |2x - 1|: one rounding of the exact value (2x is exact), the
        # same as 2 |x - 1/2|, in one pass plus the in-place abs
        if from_logits:
            per_label = x.abs().div_(2).tanh_()
        else:
            per_label = torch.add(x.new_full((), -1.0), x, alpha=2).abs_()
        return _over_labels(per_label, "min")
    first, second = _top2(x)
    if from_logits:
        log_z = _log_partition(x)
        # (1 - exp(l_2 - l_1)) / Z with expm1: no cancellation when the top two are close
        # (0 - expm1: +0.0, not -0.0, on exact ties)
        return torch.sub(0.0, torch.expm1(second - first)) * torch.exp(-log_z)
    return first - second.clamp_min(0)


def least_confidence(
    x: Tensor, *, from_logits: bool = False, multilabel: bool = False, normalize: bool = False
) -> Tensor:
    """One minus the top-1 probability (large = uncertain).

    Args:
        x: ``(..., C)`` float probabilities or logits (``from_logits=True``).
        from_logits: ``x`` holds logits; computed as ``-expm1(-log Z)`` with
            ``Z = sum_c exp(l_c - l_1)``: exact when the top class is nearly certain.
        multilabel: per label ``min(p, 1 - p)`` (``sigmoid(-|x|)`` from logits); the
            largest over labels.
        normalize: multiply by ``C / (C - 1)`` (2 with ``multilabel``) so a uniform
            distribution scores 1: CVAL's ``least`` strategy.

    Returns:
        ``(...)`` scores in the dtype of ``x``.

    Raises:
        TypeError: ``x`` not a floating-point tensor.
        ValueError: ``x`` 0-d, without classes, or ``C < 2`` with ``normalize`` (and
            without ``multilabel``).

    Example:
        >>> import torch
        >>> least_confidence(torch.tensor([[0.7, 0.2, 0.1]]))
        tensor([0.3000])
        >>> least_confidence(torch.tensor([[0.5, 0.5]]), normalize=True)
        tensor([1.])
    """
    _check_probabilities(x, 1, normalize, multilabel)
    c = x.shape[-1]
    if multilabel:
        if from_logits:
            per_label = x.abs().neg_().sigmoid_()
        else:
            q = 1 - x
            per_label = torch.minimum(x, q, out=q)
        out = _over_labels(per_label, "max")
        return out.mul_(2) if normalize else out
    out = -torch.expm1(-_log_partition(x)) if from_logits else 1 - x.amax(dim=-1)
    return out * (c / (c - 1) if c > 1 else math.nan) if normalize else out


def ratio(x: Tensor, *, from_logits: bool = False, multilabel: bool = False) -> Tensor:
    """Top-2 over top-1 probability (large = uncertain).

    Args:
        x: ``(..., C)`` float probabilities or logits (``from_logits=True``).
        from_logits: ``x`` holds logits; computed as ``exp(l_2 - l_1)``.
        multilabel: per label ``min(p, 1-p) / max(p, 1-p)`` (``exp(-|x|)`` from
            logits); the largest over labels.

    Returns:
        ``(...)`` ratios in ``[0, 1]``, dtype of ``x`` (``nan`` for an all-zero row of
        probabilities, which is not a distribution).

    Raises:
        TypeError: ``x`` not a floating-point tensor.
        ValueError: ``x`` 0-d or without classes (``C == 0``).

    Example:
        >>> import torch
        >>> ratio(torch.tensor([[0.6, 0.3, 0.1]]))
        tensor([0.5000])
    """
    _check_probabilities(x, 1, False, multilabel)
    if multilabel:
        if from_logits:
            per_label = x.abs().neg_().exp_()
        else:
            q = 1 - x
            per_label = torch.minimum(x, q).div_(torch.maximum(x, q, out=q))
        return _over_labels(per_label, "max")
    first, second = _top2(x)
    if from_logits:
        return (second - first).exp()
    return second.clamp_min(0) / first


def _draw_sum(t: Tensor) -> Tensor:
    """Sum over dim 0 (the Monte-Carlo draws), adding one draw after another.

    torch's reductions over dim 0 vectorise across the other dims and treat the items
    past the last full vector in another order, so equal items at different positions
    could round an ulp apart (and a tie between equal boxes was then not broken by frame
    id). Added draw by draw (``S`` is tens, each addition one pass over the items), every
    item's sum is the same sequence of roundings of its own draws, wherever it sits.
    """
    out = t[0].clone()
    for i in range(1, t.shape[0]):
        out.add_(t[i])
    return out


def _draw_mean(t: Tensor) -> Tensor:
    """Mean over dim 0 (the draws): :func:`_draw_sum` divided by ``S``."""
    return _draw_sum(t).div_(t.shape[0])


def _draw_logsumexp(t: Tensor) -> Tensor:
    """``log sum_s exp(t_s)`` over dim 0 for finite ``t``, the draws added one by one.

    The largest draw is taken out first (``amax`` is exact, in any order), as in
    ``torch.logsumexp``, whose sum over dim 0 rounds by position (:func:`_draw_sum`).
    """
    top = t.amax(dim=0)
    return _draw_sum((t - top).exp_()).log_().add_(top)


def _log_mean_prob(logp: Tensor, pbar: Tensor, log_s: float) -> Tensor:
    """``log mean_s p_s`` over dim 0 from the samples' ``log p`` (floored at ``log(tiny)``).

    ``logsumexp_s(log p_s) - log S`` rounds at the magnitude of ``log S``; near 1 (mean
    above 1/2) ``log1p(mean_s (p_s - 1))`` with ``p_s - 1 = expm1(log p_s)`` keeps the
    tiny value's relative precision. Both add the draws one by one (:func:`_draw_sum`).
    """
    far = _draw_logsumexp(logp) - log_s
    near_one = torch.log1p(_draw_mean(torch.expm1(logp)))
    return torch.where(pbar > 0.5, near_one, far).clamp_min(_log_tiny(logp))


def bald(samples: Tensor, *, from_logits: bool = False, multilabel: bool = False) -> Tensor:
    """BALD: mutual information between the prediction and the model, from MC samples.

    ``I = H(mean_s p_s) - mean_s H(p_s)`` (natural log), clamped at 0 against rounding.
    From logits ``log mean_s p_s`` is ``logsumexp_s(log p_s) - log S``, or
    ``log1p(mean_s expm1(log p_s))`` where the mean is above 1/2 (exact near 1, where
    the samples' tiny ``log p`` must cancel against ``mean_s H(p_s)``). The means add
    the draws one after another (not torch's reductions over dim 0, which round by an
    item's position): equal items score the same, bit for bit, wherever they sit.

    Args:
        samples: ``(S, ..., C)`` float probabilities or logits, ``S >= 1`` Monte-Carlo
            draws (e.g. MC dropout) along the first dim.
        from_logits: ``samples`` hold logits.
        multilabel: per-label Bernoulli mutual information, summed over labels.

    Returns:
        ``(...)`` mutual information in the dtype of ``samples``; no classes: 0.

    Raises:
        TypeError: ``samples`` not a floating-point tensor.
        ValueError: ``samples`` with fewer than 2 dims or no draws (``S == 0``).

    Example:
        >>> import torch
        >>> bald(torch.tensor([[[1.0, 0.0]], [[0.0, 1.0]]]))  # two confident, opposite draws
        tensor([0.6931])
    """
    _check_samples(samples)
    s = samples.shape[0]
    log_s = math.log(s)
    if multilabel:
        p, logp, q, logq = _label_log_probs(samples, from_logits)
        mean_h = -_draw_mean(p * logp + q * logq)
        pbar, qbar = _draw_mean(p), _draw_mean(q)
        if from_logits:
            logpbar = _log_mean_prob(logp, pbar, log_s)
            logqbar = _log_mean_prob(logq, qbar, log_s)
        else:
            _, logpbar, _, logqbar = _label_log_probs(pbar, False)
        h = -(pbar * logpbar + qbar * logqbar)
        return (h - mean_h).sum(dim=-1).clamp_min(0)
    p, logp = _class_log_probs(samples, from_logits)
    mean_h = -_draw_mean((p * logp).sum(dim=-1))
    pbar = _draw_mean(p)
    if from_logits:
        logpbar = _log_mean_prob(logp, pbar, log_s)
    else:
        logpbar = pbar.clamp_min(torch.finfo(pbar.dtype).tiny).log()
    h = -(pbar * logpbar).sum(dim=-1)
    return (h - mean_h).clamp_min(0)


def variation_ratio(
    samples: Tensor, *, from_logits: bool = False, multilabel: bool = False
) -> Tensor:
    """Variation ratio ``1 - (votes of the modal class) / S`` over MC samples.

    Each sample votes for its argmax class (ties to the lower class index, as
    ``torch.argmax`` / ``np.argmax``). Argmax is the same for probabilities and
    logits, so ``from_logits`` only documents the input.

    Args:
        samples: ``(S, ..., C)`` float probabilities or logits, ``S >= 1`` draws.
        from_logits: ``samples`` hold logits (no effect on the votes).
        multilabel: each label votes positive when ``p > 0.5`` (logit ``> 0``); the
            largest per-label variation ratio.

    Returns:
        ``(...)`` variation ratios in ``[0, 1 - 1/C]``, dtype of ``samples``.

    Raises:
        TypeError: ``samples`` not a floating-point tensor.
        ValueError: ``samples`` with fewer than 2 dims, no draws or no classes.

    Example:
        >>> import torch
        >>> votes = torch.tensor([[[0.9, 0.1]], [[0.2, 0.8]], [[0.6, 0.4]], [[0.7, 0.3]]])
        >>> variation_ratio(votes)
        tensor([0.2500])
    """
    _check_classes("samples", _check_samples(samples), 1)
    s = samples.shape[0]
    if multilabel:
        positive = samples > 0 if from_logits else samples > 0.5
        n_pos = positive.sum(dim=0)
        modal = torch.maximum(n_pos, s - n_pos)
        return (1 - modal.to(samples.dtype) / s).amax(dim=-1)
    votes = samples.argmax(dim=-1).movedim(0, -1)  # (..., S)
    counts = torch.zeros(
        (*votes.shape[:-1], samples.shape[-1]), dtype=torch.int64, device=samples.device
    )
    counts.scatter_add_(-1, votes, torch.ones_like(votes))
    return 1 - counts.amax(dim=-1).to(samples.dtype) / s


def binary_distribution(scores: Tensor) -> Tensor:
    """The two-class distribution ``(s, 1 - s)`` a single box score stands for (CVAL).

    Args:
        scores: ``(...)`` float scores in ``[0, 1]``.

    Returns:
        ``(..., 2)`` with ``[..., 0] = s`` and ``[..., 1] = 1 - s``.

    Raises:
        TypeError: ``scores`` not a floating-point tensor.
        ValueError: on the CPU, a score outside ``[0, 1]`` or NaN (device values are not
            read).

    Example:
        >>> import torch
        >>> binary_distribution(torch.tensor([0.75, 0.5]))
        tensor([[0.7500, 0.2500],
                [0.5000, 0.5000]])
    """
    _check_float_input("scores", scores, 0, "(...)")
    check_range("scores", scores, 0, 1, "values", high_closed=True)
    return torch.stack((scores, 1 - scores), dim=-1)


# ------------------------------------------------------------- segment reductions


def segment_reduce(
    values: Tensor,
    segments: Tensor,
    num_segments: int,
    reduction: Reduction,
    *,
    empty: float = math.nan,
) -> Tensor:
    """Reduce values per segment (e.g. box scores per frame); segments in any order.

    ``min`` / ``max`` are one ``scatter_reduce``; ``sum`` / ``mean`` one ``index_add``
    plus a ``bincount`` (faster than ``scatter_reduce``'s mean on the CPU). On CUDA the
    sums use atomic adds, so their last bits may vary between runs;
    ``segment_reduce_contiguous`` is deterministic.

    Args:
        values: ``(N,)`` float values.
        segments: ``(N,)`` integer (int64, or any width) segment of each value, in
            ``[0, num_segments)`` (unsorted is fine).
        num_segments: number of segments ``S``.
        reduction: ``"min"``, ``"max"``, ``"mean"`` or ``"sum"`` (CVAL's
            ``bbox_selection_policy``).
        empty: the value of a segment without values (default ``nan``).

    Returns:
        ``(S,)`` reductions in the dtype of ``values``.

    Raises:
        TypeError: ``values`` not a floating-point tensor, ``segments`` not an integer
            tensor, ``num_segments`` not an int.
        ValueError: an unknown ``reduction``; tensors not 1-D, of different lengths or on
            different devices; ``num_segments < 0``; on the CPU, a segment outside
            ``[0, num_segments)``, named once torch's own bounds check has failed (valid
            input pays nothing; a pass of its own would add 3-5% on 20M values). Device
            segments are not read: out-of-range ones trip a device-side assert.

    Example:
        >>> import torch
        >>> v = torch.tensor([0.2, 0.9, 0.4, 0.5])
        >>> segment_reduce(v, torch.tensor([2, 0, 2, 0]), 4, "max")
        tensor([0.9000,    nan, 0.4000,    nan])
        >>> segment_reduce(v, torch.tensor([2, 0, 2, 0]), 4, "mean", empty=-1.0)
        tensor([ 0.7000, -1.0000,  0.3000, -1.0000])
    """
    _check_reduction(reduction)
    check_tensor("values", values, 1, "(N,)")
    check_dtype("values", values, "floating")
    check_tensor("segments", segments, 1, "(N,)")
    check_dtype("segments", segments, "integer")
    check_size("segments", segments, values.shape[0], "one segment per value")
    check_same_device(values=values, segments=segments)
    num_segments = check_int("num_segments", num_segments)
    if segments.dtype not in (torch.int32, torch.int64):
        segments = segments.long()  # scatter / index_add take int32 / int64 indexes
    try:
        return _segment_reduce(values, segments, num_segments, reduction, empty)
    except (IndexError, RuntimeError) as error:  # the CPU kernels' bounds checks failed
        failure = error
    check_range("segments", segments, 0, num_segments, "segment indexes")  # name it
    raise failure


def _segment_reduce(
    values: Tensor, segments: Tensor, num_segments: int, reduction: str, empty: float
) -> Tensor:
    """:func:`segment_reduce` of arguments already checked."""
    if reduction in ("min", "max"):
        out = torch.full((num_segments,), empty, dtype=values.dtype, device=values.device)
        return out.scatter_reduce_(0, segments, values, _SCATTER[reduction], include_self=False)
    sums = torch.zeros(num_segments, dtype=values.dtype, device=values.device)
    sums.index_add_(0, segments, values)
    counts = torch.bincount(segments, minlength=num_segments)
    if reduction == "mean":
        sums = sums / counts.clamp_min(1)
    return sums.masked_fill_(counts == 0, empty)


def segment_reduce_contiguous(
    values: Tensor,
    lengths: Tensor | int,
    reduction: Reduction,
    *,
    empty: float = math.nan,
) -> Tensor:
    """Reduce values per segment when each segment's values are stored together, in order.

    The fast path for boxes stored frame after frame. With an ``int`` length every
    segment has that many values and the reduction is a reshape
    (``values.view(-1, L)``) and a reduction over the last dim; with a lengths
    tensor it is ``torch.segment_reduce``. Deterministic on CPU and CUDA.

    Args:
        values: ``(N,)`` float values, segment after segment.
        lengths: ``(S,)`` int64 number of values of each segment (summing to ``N``;
            0 allowed), or an ``int L >= 1`` (Python or NumPy) when all segments
            hold ``L`` values (``N`` a multiple of ``L``).
        reduction: ``"min"``, ``"max"``, ``"mean"`` or ``"sum"``.
        empty: the value of a segment of length 0 (default ``nan``).

    Returns:
        ``(S,)`` reductions in the dtype of ``values``.

    Raises:
        TypeError: ``values`` not a floating-point tensor; ``lengths`` neither an int
            nor an integer tensor.
        ValueError: an unknown ``reduction``; ``values`` not 1-D; an ``int`` length that
            does not divide ``N``; lengths not 1-D, on another device or, on the CPU,
            negative or not adding up to ``N`` (device lengths are not read: a check
            would synchronise).

    Example:
        >>> import torch
        >>> v = torch.tensor([0.2, 0.9, 0.4, 0.5])
        >>> segment_reduce_contiguous(v, torch.tensor([2, 0, 2]), "min")
        tensor([0.2000,    nan, 0.4000])
        >>> segment_reduce_contiguous(v, 2, "sum")
        tensor([1.1000, 0.9000])
    """
    _check_reduction(reduction)
    check_tensor("values", values, 1, "(N,)")
    check_dtype("values", values, "floating")
    lengths = _check_lengths(lengths, values.shape[0], "values")
    if isinstance(lengths, Tensor):
        check_same_device(values=values, lengths=lengths)
    return _segment_reduce_contiguous(values, lengths, reduction, empty)


def _segment_reduce_contiguous(
    values: Tensor, lengths: Tensor | int, reduction: str, empty: float
) -> Tensor:
    """:func:`segment_reduce_contiguous` of arguments already checked."""
    if isinstance(lengths, int):
        return _reduce_rows(values.view(-1, lengths), reduction)
    if lengths.dtype not in (torch.int32, torch.int64):
        lengths = lengths.long()  # torch.segment_reduce takes int32 / int64 lengths
    out = torch.segment_reduce(values, reduction, lengths=lengths, unsafe=True)
    if out.requires_grad:  # autograd keeps the reduction's output for its backward
        return out.masked_fill(lengths == 0, empty)
    return out.masked_fill_(lengths == 0, empty)


def _check_reduction(reduction: str) -> None:
    if reduction not in REDUCTIONS:  # torch would compute another reduction silently
        raise ValueError(
            f"Expected `reduction` to be one of {list(REDUCTIONS)}, but got {reduction!r}"
        )


def _check_lengths(lengths: object, n: int, what: str) -> Tensor | int:
    """``lengths``: an integer ``L >= 1`` dividing ``n``, or ``(S,)`` integer lengths.

    A Python or NumPy integer comes back as an ``int`` (the cores tell the two forms
    apart by ``isinstance(lengths, int)``), a tensor as itself. A lengths tensor on the
    CPU must also hold lengths ``>= 0`` that add up to the ``n`` ``what``
    (``torch.segment_reduce`` would read past them, or leave some out); device lengths
    are not read (no host sync).
    """
    if not isinstance(lengths, Tensor):
        try:
            length = check_int("lengths", lengths, minimum=None)
        except TypeError:
            raise TypeError(
                f"Expected `lengths` to be an int or an integer tensor, but got "
                f"{type(lengths).__name__}"
            ) from None
        _check_int_length(length, n, what)
        return length
    check_dtype("lengths", lengths, "integer")
    check_tensor("lengths", lengths, 1, "(S,)")
    if not lengths.shape[0] and n:
        raise ValueError(f"Expected `lengths` to add up to the {n} {what}, but got none")
    if not reads_values(lengths) or not lengths.shape[0]:
        return lengths
    check_range("lengths", lengths, 0, None, "segment lengths")
    total = int(as_ordered(lengths).sum())
    if total != n:
        raise ValueError(
            f"Expected `lengths` to add up to the {n} {what}, but they add up to {total}"
        )
    return lengths


def _check_int_length(length: int, n: int, what: str) -> None:
    """An ``int`` segment length must be ``>= 1`` and divide the ``n`` ``what``."""
    if length < 1 or n % length:
        raise ValueError(
            f"Expected `lengths` to be an int >= 1 dividing the {n} {what}, but got {length}"
        )


def _reduce_rows(rows: Tensor, reduction: str) -> Tensor:
    """Reduce ``(S, L)`` over ``L``; min/max by halving (vectorises better than amax/amin)."""
    if reduction == "sum":
        return rows.sum(dim=1)
    if reduction == "mean":
        return rows.mean(dim=1)
    pick = torch.minimum if reduction == "min" else torch.maximum
    while rows.shape[1] >= 8:
        half = rows.shape[1] // 2
        folded = pick(rows[:, :half], rows[:, half : 2 * half])
        rows = torch.cat((folded, rows[:, 2 * half :]), dim=1) if rows.shape[1] % 2 else folded
    return rows.amin(dim=1) if reduction == "min" else rows.amax(dim=1)


# ------------------------------------------------------------------------- top-k


def _topk_block(x: Tensor, k: int) -> int:
    """Entries per block of the two-stage top-k: ``_TOPK_BLOCK`` on the CPU, all on devices.

    Blocks keep the CPU's temporaries in cache; on a GPU one pass over everything
    is 4x faster than the block loop (``top_k`` of 10M scores, H100: 1.2 vs 5.1 ms).
    """
    return max(_TOPK_BLOCK, 4 * k) if x.device.type == "cpu" else max(x.shape[0], 1)


def _topk_indices(x: Tensor, k: int, largest: bool) -> Tensor:
    """Indices of ``k`` extreme entries of 1-D ``x``, in no particular order.

    Two stages on long CPU inputs: the top-k of each block of ``_TOPK_BLOCK`` entries
    (in parallel, in cache), then the top-k of those candidates; 3-4x faster than one
    ``torch.topk`` on a 10M-entry CPU tensor. Devices: one ``topk``. Which of several
    equal values is taken is unspecified; callers make the keys unique where it matters.
    """
    n = x.shape[0]
    block = _topk_block(x, k)
    blocks = n // block
    if blocks < 2:
        return x.topk(k, largest=largest, sorted=False).indices
    head = x[: blocks * block].view(blocks, block)
    idx = head.topk(k, dim=1, largest=largest, sorted=False).indices
    idx = idx + torch.arange(0, blocks * block, block, device=x.device).unsqueeze(1)
    cand = torch.cat((idx.reshape(-1), torch.arange(blocks * block, n, device=x.device)))
    pick = x.index_select(0, cand).topk(k, largest=largest, sorted=False).indices
    return cand.index_select(0, pick)


def top_k(
    scores: Tensor, k: int, *, descending: bool = True, tiebreak: Tensor | None = None
) -> Tensor:
    """Indices of the ``k`` best scores, best first; ties by ascending ``tiebreak``, then index.

    Exact and deterministic without a full sort: find the ``k``-th best value ``t``
    (``topk``), take every score strictly better than ``t`` and, among the scores
    equal to ``t``, those with the smallest tie-break ranks (a ``topk`` over an integer
    key; without a tie-break and in one pass, the first in index order, listed by
    ``nonzero_static`` where it runs: the CPU, CUDA from torch 2.6), then order the
    ``k`` picks by (score, tie-break, index) with stable sorts.
    On the CPU both ``topk`` run block by block (two stages, in cache); on devices
    in one pass. No host synchronisation on devices; long CPU inputs are
    first cut to the scores at least as good as the ``k``-th best of a sample.

    Args:
        scores: ``(N,)`` float or int scores, no NaN.
        k: number of indices wanted (``>= 0``); ``min(k, N)`` are returned.
        descending: ``True``: largest scores first; ``False``: smallest first.
        tiebreak: ``(N,)`` integer ranks (int64 or narrower), unique, strictly between
            ``-2**63`` and ``2**63 - 1`` (e.g. each frame's position in frame-id order);
            equal scores go to the smaller rank. Default: the index. Uniqueness is not
            checked (that takes a sort: 0.4 s for 10M ranks, against 13 ms for the
            ``top_k``): among equal scores with equal ranks, which are taken and in what
            order is unspecified.

    Returns:
        ``(min(k, N),)`` int64 indices into ``scores``.

    Raises:
        TypeError: ``scores`` not a float or integer tensor, ``tiebreak`` not an
            integer tensor, ``k`` not an int.
        ValueError: ``scores`` or ``tiebreak`` not 1-D, of different lengths or on
            different devices; ``k < 0``; on the CPU, a NaN score (one ``amax`` pass,
            about 1 ms per 10M float32 scores) and an int64 rank at either limit (named
            when it reaches the picks: no pass of its own). Device values are not read:
            there NaN scores give unspecified picks or a device-side index assert.

    Example:
        >>> import torch
        >>> s = torch.tensor([0.5, 0.9, 0.5, 0.1, 0.5])
        >>> top_k(s, 3)
        tensor([1, 0, 2])
        >>> top_k(s, 3, tiebreak=torch.tensor([4, 0, 3, 1, 2]))
        tensor([1, 4, 2])
        >>> top_k(s, 2, descending=False)
        tensor([3, 0])
    """
    check_tensor("scores", scores, 1, "(N,)")
    if scores.dtype == torch.bool or scores.is_complex():
        raise TypeError(
            f"Expected `scores` to be a float or integer tensor, but got dtype {scores.dtype}"
        )
    k = check_int("k", k)
    if tiebreak is not None:
        check_tensor("tiebreak", tiebreak, 1, "(N,)")
        check_dtype("tiebreak", tiebreak, "integer")
        check_size("tiebreak", tiebreak, scores.shape[0], "one rank per score")
        check_same_device(scores=scores, tiebreak=tiebreak)
    if scores.is_floating_point() and reads_values(scores) and scores.shape[0]:
        check_no_nan("scores", scores)
    try:
        return _top_k(scores, k, descending, tiebreak)
    except _RankAtLimitError as error:  # a CPU pick's key says so (only given ranks)
        failure = error
    if tiebreak is not None:  # name the rank
        check_range("tiebreak", tiebreak, _INT64_MIN + 1, _INT64_MAX, "ranks")
    raise failure


class _RankAtLimitError(Exception):
    """A pick's tie-break key sits at an int64 limit: a rank there collides with a sentinel."""


def _top_k(scores: Tensor, k: int, descending: bool, tiebreak: Tensor | None) -> Tensor:
    """:func:`top_k` of arguments already checked."""
    n = scores.shape[0]
    k = min(k, n)
    device = scores.device
    if k <= 0:
        return torch.empty(0, dtype=torch.int64, device=device)
    if device.type == "cpu" and n >= _TOPK_SAMPLED_MIN:
        cand = _sampled_candidates(scores, k, descending)
        if cand is not None:
            rank = cand if tiebreak is None else tiebreak.index_select(0, cand)
            sub = scores.index_select(0, cand)
            return cand.index_select(0, _top_k(sub, k, descending, rank))
    if tiebreak is None and _topk_block(scores, k) >= n and static_nonzero_runs_on(device):
        picked = _better_then_first_tied(scores, k, descending)
    else:
        kth_pool = scores.index_select(0, _topk_indices(scores, k, descending))
        kth = kth_pool.amin() if descending else kth_pool.amax()
        picked = torch.sort(_better_or_first_tied(scores, kth, k, descending, tiebreak)).values
    if tiebreak is not None:
        order = torch.sort(tiebreak.index_select(0, picked), stable=True).indices
        picked = picked.index_select(0, order)
    order = torch.sort(scores.index_select(0, picked), stable=True, descending=descending).indices
    return picked.index_select(0, order)


def _sampled_candidates(scores: Tensor, k: int, descending: bool) -> Tensor | None:
    """CPU: indices of every score at least as good as the ``k``-th best of a sample.

    The sample (every ``_TOPK_SAMPLE_STRIDE``-th score) holds ``k`` scores at least that
    good, so the ``k`` best of all are among the candidates, about
    ``_TOPK_SAMPLE_STRIDE * k`` of them on unordered input: one comparison pass
    replaces the two-stage ``topk`` over everything (5x faster at 10M scores). An
    input the sample misreads (all equal, or the sample falling on the worst scores)
    costs one extra pass, not an ``N``-long index list: the torch form counts the
    candidates before listing them; the C pass (``_compiled.at_least``, float32 /
    float64 with the C loops built: 10 M float32 scores in 1.3-1.6 ms, no ``N``-byte
    mask) lists about ``stride * k`` of them per thread range and only counts past
    that. Reading the count is a host read, which costs nothing on the CPU; devices
    keep the synchronisation-free path.

    Returns:
        ``(C,)`` int64 ascending indices, or ``None`` when the sample would be too
        small or the candidates more than half of the scores (no gain).
    """
    n = scores.shape[0]
    stride = min(_TOPK_SAMPLE_STRIDE, n // (4 * k))
    if stride < 2:
        return None
    sample = scores[::stride].contiguous()
    bound = sample.index_select(0, _topk_indices(sample, k, descending))
    limit = bound.amin() if descending else bound.amax()
    if _compiled.at_least_available(scores):  # one pass, no N-long mask
        return _compiled.at_least(scores, float(limit), descending, stride * k, n // 2)
    keep = scores >= limit if descending else scores <= limit
    if 2 * int(np.count_nonzero(keep.numpy())) > n:
        return None
    return flat_nonzero(keep)


def _better_then_first_tied(scores: Tensor, k: int, descending: bool) -> Tensor:
    """The ``k`` picks in one pass (no blocks), ties by index: better ones, then the first tied.

    The ``k`` best values (one ``topk``) give the ``k``-th best ``t`` and how many
    scores are strictly better than it (all of those are among the ``k``). Two
    ``nonzero_static`` list the first ``k`` better and the first ``k`` tied indexes in
    index order, and the picks are the better ones followed by as many tied ones as
    fill ``k``: no ``N``-long key, no second ``topk``, no host read (10M scores on an
    H100: ``top_k`` 0.9 -> 0.5-0.6 ms).

    Returns:
        ``(k,)`` int64 indexes: the better ones ascending, then the tied ones ascending.
    """
    values = scores.topk(k, largest=descending, sorted=False).values
    kth = values.amin() if descending else values.amax()
    num_better = (values > kth if descending else values < kth).sum()
    better = torch.nonzero_static(scores > kth if descending else scores < kth, size=k).view(-1)
    tied = torch.nonzero_static(scores == kth, size=k).view(-1)
    slot = torch.arange(k, device=scores.device)
    from_tied = tied.index_select(0, (slot - num_better).clamp_min_(0))
    return torch.where(slot < num_better, better, from_tied)


def _better_or_first_tied(
    scores: Tensor, kth: Tensor, k: int, descending: bool, tiebreak: Tensor | None
) -> Tensor:
    """The ``k`` indices: all scores strictly better than ``kth``, then ties by smallest rank.

    The key (``MIN`` if better, the rank if tied, ``MAX`` otherwise; int32 when the
    rank is the index and fits, else int64) is built and reduced to its ``k`` smallest
    block by block on the CPU, so no ``N``-sized key is allocated there (a fresh 80 MB
    buffer costs more in page faults than the whole top-k); devices build it whole, in
    one pass.

    A given rank at an int64 limit would collide with a sentinel (``MIN``: taken as
    better than ``kth``, ``MAX``: as worse): on the CPU the picked keys show it (a
    ``MAX`` among them, or nothing but ``MIN``), which raises ``_RankAtLimitError``
    at no extra pass; devices do not read them.
    """
    n = scores.shape[0]
    block = _topk_block(scores, k)
    # the index as rank fits int32 below 2**31: half the key's bytes, a faster topk
    # (10M scores on an H100: top_k 1.22 -> 0.89 ms)
    narrow = tiebreak is None and n < _INT32_MAX
    high, low = (_INT32_MAX, _INT32_MIN) if narrow else (_INT64_MAX, _INT64_MIN)
    keys, indices = [], []
    for start in range(0, n, block):
        s = scores[start : start + block]
        if tiebreak is None:
            rank = torch.arange(
                start,
                start + s.shape[0],
                device=s.device,
                dtype=torch.int32 if narrow else torch.int64,
            )
        else:
            rank = tiebreak[start : start + block].long()
        better = s > kth if descending else s < kth
        key = torch.where(s == kth, rank, high).masked_fill_(better, low)
        value, index = key.topk(min(k, s.shape[0]), largest=False, sorted=False)
        keys.append(value)
        indices.append(index + start)
    if len(keys) == 1:
        picked_keys, picked = keys[0], indices[0]
    else:
        picked_keys, pick = torch.cat(keys).topk(k, largest=False, sorted=False)
        picked = torch.cat(indices).index_select(0, pick)
    # valid ranks: fewer than k better keys (MIN) and at least k keys below MAX
    if (
        tiebreak is not None
        and reads_values(picked_keys)
        and (bool((picked_keys == high).any()) or bool((picked_keys == low).all()))
    ):
        raise _RankAtLimitError
    return picked
