"""Uncertainty kernels against plain NumPy float64 references (and CVAL's formulas).

Hard cases: ties between the top classes, uniform and one-hot distributions, zero
probabilities, logits of magnitude 1e4, multilabel, MC samples, frames without boxes,
empty inputs; every kernel on CPU and, where present, CUDA.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch
from assay.kernels import uncertainty as U

RNG_SEED = 0
C = 5


# --------------------------------------------------------------- NumPy references


def np_log_softmax(x: np.ndarray) -> np.ndarray:
    m = x.max(axis=-1, keepdims=True)
    z = x - m
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def np_class_probs(x: np.ndarray, from_logits: bool) -> np.ndarray:
    return np.exp(np_log_softmax(x)) if from_logits else x


def np_xlogx(p: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)


def np_entropy(x: np.ndarray, from_logits: bool, w: np.ndarray | None = None) -> np.ndarray:
    p = np_class_probs(x, from_logits)
    terms = -np_xlogx(p) if not from_logits else -p * np_log_softmax(x)
    return (terms * (1.0 if w is None else w)).sum(axis=-1)


def np_label_probs(x: np.ndarray, from_logits: bool) -> tuple[np.ndarray, np.ndarray]:
    """Bernoulli (p, 1 - p); from logits with the stable sigmoid."""
    if from_logits:
        return np.exp(-np.logaddexp(0.0, -x)), np.exp(-np.logaddexp(0.0, x))
    return x, 1.0 - x


def np_binary_entropy(x: np.ndarray, from_logits: bool) -> np.ndarray:
    if from_logits:  # -(p log p + q log q) with log p = -softplus(-x), log q = -softplus(x)
        p, q = np_label_probs(x, True)
        return p * np.logaddexp(0.0, -x) + q * np.logaddexp(0.0, x)
    return -(np_xlogx(x) + np_xlogx(1.0 - x))


def np_top2(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    s = -np.sort(-p, axis=-1)
    return s[..., 0], s[..., 1]


def np_margin(x: np.ndarray, from_logits: bool) -> np.ndarray:
    a, b = np_top2(np_class_probs(x, from_logits))
    return a - b


def np_least(x: np.ndarray, from_logits: bool) -> np.ndarray:
    return 1.0 - np_class_probs(x, from_logits).max(axis=-1)


def np_ratio(x: np.ndarray, from_logits: bool) -> np.ndarray:
    a, b = np_top2(np_class_probs(x, from_logits))
    return b / a


def np_bald(samples: np.ndarray, from_logits: bool) -> np.ndarray:
    p = np_class_probs(samples, from_logits)
    pbar = p.mean(axis=0)
    mean_h = (-np_xlogx(p)).sum(axis=-1).mean(axis=0)
    return np.maximum((-np_xlogx(pbar)).sum(axis=-1) - mean_h, 0.0)


def np_bald_multilabel(samples: np.ndarray, from_logits: bool) -> np.ndarray:
    p, _ = np_label_probs(samples, from_logits)
    pbar = p.mean(axis=0)
    mean_h = np_binary_entropy(samples, from_logits).mean(axis=0)
    return np.maximum((np_binary_entropy(pbar, False) - mean_h).sum(axis=-1), 0.0)


def np_variation_ratio(samples: np.ndarray) -> np.ndarray:
    s, c = samples.shape[0], samples.shape[-1]
    votes = samples.argmax(axis=-1).reshape(s, -1)  # (S, items)
    out = np.empty(votes.shape[1])
    for i in range(votes.shape[1]):
        out[i] = 1.0 - np.bincount(votes[:, i], minlength=c).max() / s
    return out.reshape(samples.shape[1:-1])


# ----------------------------------------------------------------------- inputs


def _probabilities(kind: str, rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    c = shape[-1]
    if kind == "random":
        return rng.dirichlet(np.full(c, 0.7), size=shape[:-1])
    if kind == "ties":  # equal top-2 (and more) after rounding to one decimal
        p = np.round(rng.dirichlet(np.ones(c), size=shape[:-1]), 1)
        p[..., 0] = p[..., 1] = np.maximum(p[..., 0], p[..., 1])
        return p / p.sum(axis=-1, keepdims=True)
    if kind == "uniform":
        return np.full(shape, 1.0 / c)
    if kind == "one_hot":
        return np.eye(c)[rng.integers(0, c, size=shape[:-1])]
    if kind == "with_zeros":
        p = rng.dirichlet(np.ones(c), size=shape[:-1])
        p[..., 2] = 0.0
        return p / p.sum(axis=-1, keepdims=True)
    raise AssertionError(kind)


def _logits(kind: str, rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    if kind == "random":
        return rng.normal(0.0, 2.0, size=shape)
    if kind == "large":  # magnitudes 1e4: log(softmax) would give -inf and nan
        return rng.normal(0.0, 1e4, size=shape)
    if kind == "ties":
        x = np.round(rng.normal(0.0, 1.0, size=shape))
        x[..., 1] = x[..., 0]
        return x
    if kind == "uniform":
        return np.zeros(shape)
    raise AssertionError(kind)


PROB_KINDS = ["random", "ties", "uniform", "one_hot", "with_zeros"]
LOGIT_KINDS = ["random", "large", "ties", "uniform"]
DTYPES = [torch.float32, torch.float64]


def _tol(dtype: torch.dtype) -> dict[str, float]:
    if dtype == torch.float32:
        return {"rtol": 2e-5, "atol": 2e-6}
    return {"rtol": 1e-12, "atol": 1e-13}


def _check(
    ours: torch.Tensor, ref: np.ndarray, device: str, dtype: torch.dtype, shape: tuple[int, ...]
) -> None:
    assert ours.device.type == torch.device(device).type
    assert ours.dtype == dtype
    assert tuple(ours.shape) == shape
    assert torch.isfinite(ours).all()
    np.testing.assert_allclose(ours.cpu().double().numpy(), ref, **_tol(dtype))


def _inputs(
    kind: str, from_logits: bool, dtype: torch.dtype, device: str, shape: tuple[int, ...]
) -> tuple[torch.Tensor, np.ndarray]:
    rng = np.random.default_rng(RNG_SEED)
    raw = _logits(kind, rng, shape) if from_logits else _probabilities(kind, rng, shape)
    x = torch.tensor(raw, dtype=dtype, device=device)
    return x, x.cpu().double().numpy()  # the reference sees the same rounded inputs


CASES = [(False, k) for k in PROB_KINDS] + [(True, k) for k in LOGIT_KINDS]


# ------------------------------------------------------------------ class scores


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("from_logits", "kind"), CASES)
def test_class_scores_match_numpy(
    device: str, dtype: torch.dtype, from_logits: bool, kind: str
) -> None:
    shape = (3, 17, C)
    x, ref = _inputs(kind, from_logits, dtype, device, shape)
    out = shape[:-1]
    _check(U.entropy(x, from_logits=from_logits), np_entropy(ref, from_logits), device, dtype, out)
    _check(U.margin(x, from_logits=from_logits), np_margin(ref, from_logits), device, dtype, out)
    least = U.least_confidence(x, from_logits=from_logits)
    _check(least, np_least(ref, from_logits), device, dtype, out)
    _check(U.ratio(x, from_logits=from_logits), np_ratio(ref, from_logits), device, dtype, out)


@pytest.mark.parametrize("dtype", DTYPES)
def test_weighted_entropy_and_cval_normalisation(device: str, dtype: torch.dtype) -> None:
    """CVAL: entropy = -sum(w p log2 p) / log2(C); least = (1 - max p) * C / (C - 1)."""
    x, ref = _inputs("with_zeros", False, dtype, device, (40, C))
    w = np.array([0.5, 1.0, 2.0, 1.5, 0.25])
    _check(
        U.entropy(x, weights=torch.tensor(w, dtype=dtype, device=device)),
        np_entropy(ref, False, w), device, dtype, (40,),
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        log2 = np.where(ref > 0, np.log2(np.where(ref > 0, ref, 1.0)), 0.0)
    cval_entropy = -(w * ref * log2).sum(axis=1) / np.log2(C)
    _check(
        U.entropy(x, weights=torch.tensor(w, dtype=dtype, device=device), normalize=True),
        cval_entropy, device, dtype, (40,),
    )
    cval_least = (1 - ref.max(axis=1)) * (C / (C - 1))
    _check(U.least_confidence(x, normalize=True), cval_least, device, dtype, (40,))
    uniform = torch.full((2, C), 1.0 / C, dtype=dtype, device=device)
    _check(U.entropy(uniform, normalize=True), np.ones(2), device, dtype, (2,))
    _check(U.least_confidence(uniform, normalize=True), np.ones(2), device, dtype, (2,))


def test_large_logits_are_exact_not_nan(device: str) -> None:
    """Logits 1e4 apart: softmax is one-hot in float64 too; every score is exact."""
    x = torch.tensor([[1e4, -1e4, 0.0], [1e4, 1e4, -1e4], [-1e4, -1e4, -1e4]], device=device)
    np.testing.assert_allclose(
        U.entropy(x, from_logits=True).cpu().numpy(), [0.0, np.log(2), np.log(3)], rtol=1e-6
    )
    np.testing.assert_allclose(U.margin(x, from_logits=True).cpu().numpy(), [1.0, 0.0, 0.0])
    np.testing.assert_allclose(
        U.least_confidence(x, from_logits=True).cpu().numpy(), [0.0, 0.5, 2 / 3], rtol=1e-6
    )
    np.testing.assert_allclose(U.ratio(x, from_logits=True).cpu().numpy(), [0.0, 1.0, 1.0])
    # log(softmax(x)) would give 0 * -inf = nan here
    assert torch.isnan((torch.softmax(x, 1) * torch.softmax(x, 1).log()).sum(1)).any()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_scores_from_logits_keep_tiny_values(device: str, dtype: torch.dtype) -> None:
    """A nearly certain top class: ``1 - p_top1`` and the entropy keep full precision.

    With ``s = exp(-gap)`` the exact values are ``s / (1 + s)`` and
    ``log1p(s) + gap * s / (1 + s)``; ``1 - p`` would round to 0 and ``logsumexp``
    (``log(1 + s)``) would lose ``s`` below the dtype's epsilon.
    """
    gaps = [float(np.log(1e12)), 23.0, 40.0, 80.0]
    x = torch.tensor([[0.0, -g, -g - 30.0] for g in gaps], dtype=dtype, device=device)
    exact = np.array([g for g in x[:, 1].neg().double().cpu().numpy()])
    s = np.exp(-exact) + np.exp(-exact - 30.0)
    tail = np.exp(-exact) * exact + np.exp(-exact - 30.0) * (exact + 30.0)
    least = s / (1 + s)
    ent = np.log1p(s) + tail / (1 + s)
    rel = 1e-12 if dtype == torch.float64 else 1e-5
    np.testing.assert_allclose(
        U.least_confidence(x, from_logits=True).double().cpu().numpy(), least, rtol=rel
    )
    np.testing.assert_allclose(U.entropy(x, from_logits=True).double().cpu().numpy(), ent, rtol=rel)
    np.testing.assert_allclose(
        U.margin(x, from_logits=True).double().cpu().numpy(),
        (1 - np.exp(-exact)) / (1 + s),
        rtol=rel,
    )
    # the top two nearly tied: the margin (1 - exp(-d)) / Z without cancellation
    d = np.array([1e-3, 1e-5, 3e-7])
    close = torch.tensor([[0.0, -v, -5.0] for v in d], dtype=dtype, device=device)
    d = close[:, 1].neg().double().cpu().numpy()
    z = 1 + np.exp(-d) + np.exp(-5.0)
    np.testing.assert_allclose(
        U.margin(close, from_logits=True).double().cpu().numpy(), -np.expm1(-d) / z, rtol=rel
    )


def test_bald_from_logits_keeps_tiny_values(device: str) -> None:
    """Two confident draws: mean p_top near 1, so log mean p goes through log1p(expm1)."""
    x = torch.tensor([[[30.0, 0.0, 0.0]], [[30.0, 0.5, 0.0]]], device=device)
    for dtype, rel in ((torch.float32, 1e-3), (torch.float64, 1e-9)):
        out = U.bald(x.to(dtype), from_logits=True).item()
        assert out == pytest.approx(3.755021748e-15, rel=rel)  # mpmath, 100 digits


def test_logit_scores_edge_shapes_and_signs(device: str) -> None:
    """No classes: empty sums (not an error); exact ties: +0.0 margin; margin has a grad."""
    for shape in ((3, 0), (0, 0)):
        x = torch.zeros(shape, device=device)
        assert U.entropy(x, from_logits=True).shape == shape[:1]
        assert U.bald(x[None], from_logits=True).shape == shape[:1]
    tied = U.margin(torch.tensor([[1.0, 1.0, 0.0]], device=device), from_logits=True)
    assert tied.item() == 0.0 and not torch.signbit(tied).item()
    x = torch.randn(4, 3, device=device, requires_grad=True)
    U.margin(x, from_logits=True).sum().backward()
    assert x.grad is not None and bool(torch.isfinite(x.grad).all())


# --------------------------------------------------------------------- multilabel


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("from_logits", "kind"), CASES)
def test_multilabel_scores_match_numpy(
    device: str, dtype: torch.dtype, from_logits: bool, kind: str
) -> None:
    shape = (30, C)
    if from_logits:
        x, ref = _inputs(kind, True, dtype, device, shape)
    else:  # independent Bernoulli probabilities incl. 0, 0.5 and 1
        rng = np.random.default_rng(1)
        raw = rng.uniform(size=shape)
        raw[0], raw[1, :3], raw[2, :2] = 0.5, 0.0, 1.0
        if kind == "ties":
            raw = np.round(raw, 1)
        x = torch.tensor(raw, dtype=dtype, device=device)
        ref = x.cpu().double().numpy()
    p, q = np_label_probs(ref, from_logits)
    w = np.linspace(0.5, 1.5, C)
    ent = np_binary_entropy(ref, from_logits)
    kw = {"from_logits": from_logits, "multilabel": True}
    _check(U.entropy(x, **kw), ent.sum(axis=1), device, dtype, (30,))
    _check(
        U.entropy(x, weights=torch.tensor(w, device=device), normalize=True, **kw),
        (w * ent).sum(axis=1) / (C * np.log(2)), device, dtype, (30,),
    )
    _check(U.margin(x, **kw), np.abs(p - q).min(axis=1), device, dtype, (30,))
    _check(U.least_confidence(x, **kw), np.minimum(p, q).max(axis=1), device, dtype, (30,))
    _check(
        U.ratio(x, **kw), (np.minimum(p, q) / np.maximum(p, q)).max(axis=1), device, dtype, (30,)
    )


def test_binary_distribution_equals_one_label_multilabel(device: str) -> None:
    """CVAL's box score s = the distribution (s, 1 - s) = one Bernoulli label."""
    s = torch.tensor([0.0, 0.1, 0.5, 0.73, 0.999, 1.0], dtype=torch.float64, device=device)
    d = U.binary_distribution(s)
    assert d.shape == (6, 2)
    np.testing.assert_array_equal(d.cpu().numpy(), np.stack([s.cpu(), 1 - s.cpu()], axis=1))
    one = s[:, None]
    pairs: list[tuple[Callable[..., torch.Tensor], dict[str, bool]]] = [
        (U.entropy, {}), (U.entropy, {"normalize": True}), (U.margin, {}),
        (U.least_confidence, {}), (U.least_confidence, {"normalize": True}), (U.ratio, {}),
    ]
    for fn, kw in pairs:
        np.testing.assert_allclose(
            fn(d, **kw).cpu().numpy(), fn(one, multilabel=True, **kw).cpu().numpy(),
            rtol=1e-12, atol=1e-15, err_msg=f"{fn.__name__} {kw}",
        )
    assert U.binary_distribution(torch.empty(0, 3, device=device)).shape == (0, 3, 2)


# --------------------------------------------------------------------- MC samples


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("from_logits", [False, True])
def test_bald_matches_numpy(device: str, dtype: torch.dtype, from_logits: bool) -> None:
    rng = np.random.default_rng(2)
    s, n = 8, 25
    if from_logits:
        raw = rng.normal(0, 3, size=(s, n, C))
        raw[:, 0] = 1e4 * rng.normal(size=(s, C))  # large logits, disagreeing draws
        raw[:, 1] = 0.0  # uniform in every draw: entropy log C, information 0
    else:
        raw = rng.dirichlet(np.full(C, 0.5), size=(s, n))
        raw[:, 0] = np.eye(C)[rng.integers(0, C, size=s)]  # one-hot, disagreeing
        raw[:, 1] = np.eye(C)[2]  # one-hot, agreeing: 0
    x = torch.tensor(raw, dtype=dtype, device=device)
    ref = x.cpu().double().numpy()
    out = U.bald(x, from_logits=from_logits)
    _check(out, np_bald(ref, from_logits), device, dtype, (n,))
    assert out[1].item() == pytest.approx(0.0, abs=1e-6)
    # multilabel: per-label Bernoulli mutual information, summed
    out = U.bald(x, from_logits=from_logits, multilabel=True)
    ml = ref if from_logits else np.clip(ref, 0, 1)
    _check(out, np_bald_multilabel(ml, from_logits), device, dtype, (n,))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize("multilabel", [False, True])
def test_bald_equal_items_score_equal_at_every_position(
    device: str, dtype: torch.dtype, from_logits: bool, multilabel: bool
) -> None:
    # torch's mean / logsumexp over dim 0 vectorise across the items and round the
    # remainder differently: equal boxes at different positions scored an ulp apart and
    # the tie was then not broken by frame id. The draws are now added one by one.
    rng = np.random.default_rng(5)
    s, n = 20, 3000
    raw = rng.normal(0.0, 2.0, size=(s, n, C))
    for seed in range(3):  # a few different shared rows, each at 1,000 random positions
        positions = np.random.default_rng(seed).permutation(n)[:1000]
        raw[:, positions] = rng.normal(0.0, 2.0, size=(s, 1, C))
        x = torch.tensor(raw, dtype=dtype, device=device)
        if not from_logits:
            x = x.sigmoid() if multilabel else x.softmax(dim=-1)
        out = U.bald(x, from_logits=from_logits, multilabel=multilabel)[positions]
        assert torch.equal(out, out[:1].expand_as(out)), (
            f"seed {seed}: {out.unique().numel()} different scores for one item"
        )


@pytest.mark.parametrize("from_logits", [False, True])
def test_variation_ratio_matches_numpy(device: str, from_logits: bool) -> None:
    rng = np.random.default_rng(3)
    s, n = 9, 40
    raw = np.round(rng.dirichlet(np.ones(C), size=(s, n)), 1)  # ties inside a draw
    if from_logits:
        raw = np.log(np.maximum(raw, 1e-3))
    raw[:, 0] = raw[0, 0]  # all draws agree: 0
    x = torch.tensor(raw, dtype=torch.float32, device=device)
    out = U.variation_ratio(x, from_logits=from_logits)
    _check(out, np_variation_ratio(x.cpu().numpy()), device, torch.float32, (n,))
    assert out[0].item() == 0.0
    # multilabel: votes p > 0.5 per label; the most divided label
    ref = x.cpu().numpy()
    pos = (ref > 0) if from_logits else (ref > 0.5)
    npos = pos.sum(axis=0)
    expected = (1 - np.maximum(npos, s - npos) / s).max(axis=-1)
    out = U.variation_ratio(x, from_logits=from_logits, multilabel=True)
    _check(out, expected, device, torch.float32, (n,))


# -------------------------------------------------------------------------- empty


@pytest.mark.parametrize("dtype", DTYPES)
def test_empty_inputs_keep_shape_and_dtype(device: str, dtype: torch.dtype) -> None:
    x = torch.empty(0, C, dtype=dtype, device=device)
    for fn in (U.entropy, U.margin, U.least_confidence, U.ratio):
        for kw in ({}, {"from_logits": True}, {"multilabel": True}):
            out = fn(x, **kw)
            assert out.shape == (0,) and out.dtype == dtype and out.device == x.device
    samples = torch.empty(4, 0, C, dtype=dtype, device=device)
    for fn in (U.bald, U.variation_ratio):
        for kw in ({}, {"from_logits": True}, {"multilabel": True}):
            out = fn(samples, **kw)
            assert out.shape == (0,) and out.dtype == dtype and out.device == x.device


# -------------------------------------------------------------- segment reductions


def np_segment_reduce(
    values: np.ndarray, segments: np.ndarray, num: int, reduction: str, empty: float
) -> np.ndarray:
    fn = {"min": np.min, "max": np.max, "mean": np.mean, "sum": np.sum}[reduction]
    out = np.full(num, empty)
    for s in range(num):
        v = values[segments == s]
        if v.size:
            out[s] = fn(v)
    return out


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", U.REDUCTIONS)
def test_segment_reduce_unsorted_with_empty_frames(
    device: str, dtype: torch.dtype, reduction: str
) -> None:
    rng = np.random.default_rng(4)
    num = 50
    segments = rng.integers(0, num, size=300)
    segments = segments[~np.isin(segments, [0, 7, 49])]  # frames without boxes, incl. last
    values = np.round(rng.uniform(size=segments.size), 2)  # ties inside a frame
    v = torch.tensor(values, dtype=dtype, device=device)
    seg = torch.tensor(segments, device=device)
    for empty in (float("nan"), -1.0):
        out = U.segment_reduce(v, seg, num, reduction, empty=empty)
        ref = np_segment_reduce(v.cpu().double().numpy(), segments, num, reduction, empty)
        assert out.dtype == dtype and out.device == v.device and out.shape == (num,)
        np.testing.assert_allclose(out.cpu().double().numpy(), ref, **_tol(dtype))
    assert torch.isnan(U.segment_reduce(v, seg, num, reduction)[[0, 7, 49]]).all()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", U.REDUCTIONS)
def test_segment_reduce_contiguous(device: str, dtype: torch.dtype, reduction: str) -> None:
    rng = np.random.default_rng(5)
    lengths = rng.integers(0, 6, size=40)
    lengths[[0, 13, 39]] = 0
    segments = np.repeat(np.arange(40), lengths)
    values = np.round(rng.uniform(size=segments.size), 2)
    v = torch.tensor(values, dtype=dtype, device=device)
    out = U.segment_reduce_contiguous(v, torch.tensor(lengths, device=device), reduction)
    ref = np_segment_reduce(v.cpu().double().numpy(), segments, 40, reduction, float("nan"))
    assert out.dtype == dtype and out.shape == (40,)
    np.testing.assert_allclose(out.cpu().double().numpy(), ref, **_tol(dtype))
    # the same through the unsorted kernel
    unsorted = U.segment_reduce(v, torch.tensor(segments, device=device), 40, reduction)
    np.testing.assert_allclose(unsorted.cpu().numpy(), out.cpu().numpy(), **_tol(dtype))
    # fixed length (dense frames), incl. odd widths that the halving reduction folds
    for width in (1, 3, 8, 20, 21):
        dense = torch.tensor(rng.uniform(size=7 * width), dtype=dtype, device=device)
        got = U.segment_reduce_contiguous(dense, width, reduction)
        ref = np_segment_reduce(
            dense.cpu().double().numpy(), np.repeat(np.arange(7), width), 7, reduction, np.nan
        )
        np.testing.assert_allclose(got.cpu().double().numpy(), ref, **_tol(dtype))


@pytest.mark.parametrize("reduction", U.REDUCTIONS)
def test_segment_reduce_empty_inputs(device: str, reduction: str) -> None:
    v = torch.empty(0, device=device)
    seg = torch.empty(0, dtype=torch.int64, device=device)
    out = U.segment_reduce(v, seg, 3, reduction)
    assert out.shape == (3,) and out.dtype == torch.float32 and torch.isnan(out).all()
    assert U.segment_reduce(v, seg, 0, reduction).shape == (0,)
    lengths = torch.zeros(3, dtype=torch.int64, device=device)
    out = U.segment_reduce_contiguous(v, lengths, reduction, empty=0.0)
    assert out.tolist() == [0.0, 0.0, 0.0]
    no_lengths = torch.zeros(0, dtype=torch.int64, device=device)
    assert U.segment_reduce_contiguous(v, no_lengths, reduction).shape == (0,)
    assert U.segment_reduce_contiguous(v, 20, reduction).shape == (0,)


# -------------------------------------------------------------------------- top-k


def np_top_k(
    scores: np.ndarray, k: int, descending: bool, tiebreak: np.ndarray | None
) -> np.ndarray:
    idx = np.arange(scores.size)
    rank = idx if tiebreak is None else tiebreak
    primary = -scores if descending else scores
    return np.lexsort((idx, rank, primary))[:k]  # last key is the primary one


@pytest.mark.parametrize("descending", [True, False])
@pytest.mark.parametrize("k", [0, 1, 7, 100, 999, 1000, 1500])
@pytest.mark.parametrize("with_tiebreak", [False, True])
def test_top_k_matches_lexsort(device: str, descending: bool, k: int, with_tiebreak: bool) -> None:
    rng = np.random.default_rng(6)
    scores = np.round(rng.uniform(size=1000), 1)  # ~100 ties per value
    scores[:5] = [0.0, -0.0, np.inf, -np.inf, 1.0]
    tiebreak = rng.permutation(1000) if with_tiebreak else None
    s = torch.tensor(scores, dtype=torch.float32, device=device)
    tb = None if tiebreak is None else torch.tensor(tiebreak, device=device)
    out = U.top_k(s, k, descending=descending, tiebreak=tb)
    ref = np_top_k(s.cpu().double().numpy(), k, descending, tiebreak)
    assert out.dtype == torch.int64 and out.device == s.device
    np.testing.assert_array_equal(out.cpu().numpy(), ref)


@pytest.mark.parametrize("descending", [True, False])
def test_top_k_single_pass_of_devices(
    device: str, descending: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Devices take every score in one ``topk`` (no blocks, no sampled cut): same picks.

    Without a tie-break that one pass lists the better and the first tied indexes
    (``_better_then_first_tied``): checked on many ties, signed zeros, infinities,
    int scores, ``k`` of one, of all, and at a tie run's edges.
    """
    assert U._topk_block(torch.empty(5003, device="meta"), 7) == 5003
    assert U._topk_block(torch.empty(5003), 7) == U._TOPK_BLOCK
    monkeypatch.setattr(U, "_topk_block", lambda x, k: max(x.shape[0], 1))
    monkeypatch.setattr(U, "_TOPK_SAMPLED_MIN", 1 << 62)
    calls = []
    one_pass = U._better_then_first_tied
    monkeypatch.setattr(
        U, "_better_then_first_tied", lambda *a: calls.append(1) or one_pass(*a)
    )
    rng = np.random.default_rng(8)
    scores = rng.integers(0, 30, size=5003)
    tiebreak = rng.permutation(5003)
    s = torch.tensor(scores, device=device, dtype=torch.float32)
    for k in (1, 300, 5003):
        tb = torch.tensor(tiebreak, device=device)
        out = U.top_k(s, k, descending=descending, tiebreak=tb)
        ref = np_top_k(scores.astype(np.float64), k, descending, tiebreak)
        np.testing.assert_array_equal(out.cpu().numpy(), ref)
    assert not calls  # a tie-break takes the integer-key path
    signed = rng.choice([0.0, -0.0, 1.0, -1.0, np.inf, -np.inf], size=5003)
    for values, dtype in ((scores, torch.float32), (scores, torch.int64), (signed, torch.float64)):
        s = torch.tensor(values, device=device).to(dtype)
        ref_scores = s.cpu().double().numpy()
        counts = np.sort(ref_scores)[::-1] if descending else np.sort(ref_scores)
        edges = np.flatnonzero(counts[1:] != counts[:-1])  # k at the end of a run of ties
        for k in (1, 2, 300, int(edges[0]) + 1, int(edges[-1]) + 1, 5002, 5003):
            out = U.top_k(s, k, descending=descending)
            np.testing.assert_array_equal(
                out.cpu().numpy(), np_top_k(ref_scores, k, descending, None)
            )
    assert len(calls) == 21
    # a device without nonzero_static (MPS, CUDA before torch 2.6): the integer key
    monkeypatch.setattr(U, "static_nonzero_runs_on", lambda device: False)
    out = U.top_k(s, 300, descending=descending)
    np.testing.assert_array_equal(out.cpu().numpy(), np_top_k(ref_scores, 300, descending, None))
    assert len(calls) == 21


@pytest.mark.parametrize("descending", [True, False])
def test_top_k_two_stage_blocks(
    device: str, descending: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The blocked path (several blocks plus a tail), many ties, int and float scores."""
    monkeypatch.setattr(U, "_TOPK_BLOCK", 64)
    rng = np.random.default_rng(7)
    for dtype in (torch.float64, torch.int64):
        scores = rng.integers(0, 30, size=5003)
        tiebreak = rng.permutation(5003) * 3 - 7000  # negative ranks are fine too
        s = torch.tensor(scores, device=device).to(dtype)
        for k in (1, 64, 300, 5003):
            tb = torch.tensor(tiebreak, device=device)
            out = U.top_k(s, k, descending=descending, tiebreak=tb)
            ref = np_top_k(scores.astype(np.float64), k, descending, tiebreak)
            np.testing.assert_array_equal(out.cpu().numpy(), ref)
            out = U.top_k(s, k, descending=descending)
            np.testing.assert_array_equal(out.cpu().numpy(), np_top_k(scores, k, descending, None))


@pytest.mark.parametrize("descending", [True, False])
def test_top_k_sampled_threshold(
    device: str, descending: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CPU cut to candidates (shrunk to run here), and its fallbacks, give the same picks.

    Cases: many ties at the k-th value, int scores, a given tie-break, an input whose
    sample holds only the worst scores (the candidates would be everything: fallback),
    one whose sample holds the best scores (the bound is the k-th best itself: an
    off-by-one there drops a pick), and k too large for the sample (no cut).
    """
    monkeypatch.setattr(U, "_TOPK_SAMPLED_MIN", 256)
    monkeypatch.setattr(U, "_TOPK_SAMPLE_STRIDE", 8)
    monkeypatch.setattr(U, "_TOPK_BLOCK", 64)
    rng = np.random.default_rng(8)
    n = 4099
    tied = rng.integers(0, 40, size=n).astype(np.float64)
    spread = rng.normal(size=n)
    worst_sampled = rng.normal(size=n)
    worst_sampled[::8] = -np.inf if descending else np.inf
    # the best scores all in the sample: the k-th best of the sample is the k-th best
    best_sampled = rng.normal(size=n)
    sign = 1 if descending else -1
    best_sampled[::8] = sign * (1000.0 + np.arange(best_sampled[::8].size))
    for scores, dtype in (
        (tied, torch.float32),
        (tied, torch.int64),
        (spread, torch.float64),
        (worst_sampled, torch.float64),
        (best_sampled, torch.float64),
    ):
        s = torch.tensor(scores, device=device).to(dtype)
        ref_scores = s.cpu().double().numpy()
        for k in (1, 10, 100, 700):
            tiebreak = rng.permutation(n)
            tb = torch.tensor(tiebreak, device=device)
            out = U.top_k(s, k, descending=descending, tiebreak=tb)
            np.testing.assert_array_equal(
                out.cpu().numpy(), np_top_k(ref_scores, k, descending, tiebreak)
            )
            out = U.top_k(s, k, descending=descending)
            np.testing.assert_array_equal(
                out.cpu().numpy(), np_top_k(ref_scores, k, descending, None)
            )
    cand = U._sampled_candidates(torch.tensor(spread), 10, descending)
    assert cand is not None and 10 <= cand.shape[0] <= n // 2
    assert U._sampled_candidates(torch.tensor(worst_sampled), 10, descending) is None
    assert U._sampled_candidates(torch.tensor(spread), 700, descending) is None


def test_top_k_all_equal_and_empty(device: str) -> None:
    s = torch.zeros(10, device=device)
    assert U.top_k(s, 4).tolist() == [0, 1, 2, 3]
    assert U.top_k(s, 4, tiebreak=torch.arange(10, 0, -1, device=device)).tolist() == [9, 8, 7, 6]
    empty = U.top_k(torch.empty(0, device=device), 5)
    assert empty.shape == (0,) and empty.dtype == torch.int64


def test_segment_reductions_reject_unknown_reductions_and_lengths(device: str) -> None:
    v = torch.arange(4.0, device=device)
    with pytest.raises(ValueError, match=r"`reduction` to be one of .*'median'"):
        U.segment_reduce(v, torch.tensor([0, 0, 1, 1], device=device), 2, "median")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"`reduction` to be one of .*'prod'"):
        U.segment_reduce_contiguous(v, torch.tensor([2, 2], device=device), "prod")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"`lengths` to be an int >= 1 dividing the 4 values"):
        U.segment_reduce_contiguous(v, 3, "sum")
    with pytest.raises(ValueError, match=r"but got 0"):
        U.segment_reduce_contiguous(v, 0, "sum")
