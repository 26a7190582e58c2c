"""Sampling strategies against plain NumPy / Python references (CVAL's rules, written out).

References here are independent re-implementations of what docs/sampling.md states:
Munro's normalised uncertainty scores of ``probabilities`` or of ``(score, 1 - score)``,
the bbox_selection_policy per frame, CVAL's fake prediction for frames without boxes,
sort order with ties to the smaller frame id, brute-force k-center greedy, k-means by
calling faiss.Kmeans directly, and the FNV-1a + splitmix64 hash behind ``random``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
import torch
from assay.engine.sampling import (
    FrameScores,
    PredictionTable,
    SamplingRequest,
    random_keys,
    run_sampling,
    score_frames,
    select,
)
from assay.engine.sampling.table import BOX_FIELDS

STRATEGIES = ("margin", "least", "ratio", "entropy", "probability")
POLICIES = ("min", "max", "mean", "sum")
TIE_SCORES = (0.0, 0.1, 0.25, 0.5, 0.5, 0.75, 0.9, 1.0)
C = 4


# ---------------------------------------------------------------------- references


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def ref_box(
    strategy: str, box: dict[str, Any], weights: Sequence[float] | None = None, logits: bool = False
) -> float:
    probs = box.get("probabilities")
    score = box.get("score")
    if strategy == "probability":
        if score is not None:
            return float(score)
        p = np.asarray(probs, dtype=np.float64)
        return float((_softmax(p) if logits else p).max())
    if probs is not None:
        p = np.asarray(probs, dtype=np.float64)
        p = _softmax(p) if logits else p
        w = np.ones(p.size) if weights is None else np.asarray(weights, dtype=np.float64)
    else:
        p = np.array([score, 1.0 - score])
        w = np.ones(2)
    c = p.size
    top = np.sort(p)[::-1]
    if strategy == "least":
        return float((1.0 - top[0]) * c / (c - 1))
    if strategy == "margin":
        return float(1.0 - (top[0] - top[1]))
    if strategy == "ratio":
        return float(top[1] / top[0])
    if strategy == "entropy":
        terms = np.array([-v * math.log(v) if v > 0 else 0.0 for v in p])
        return float((w * terms).sum() / math.log(c))
    raise AssertionError(strategy)


def ref_mc(strategy: str, draws: np.ndarray) -> float:
    """BALD / ln C and the variation ratio of one prediction's (S, C) draws."""
    s, c = draws.shape

    def h(p: np.ndarray) -> float:
        return float(sum(-v * math.log(v) for v in p if v > 0))

    if strategy == "bald":
        mi = h(draws.mean(axis=0)) - sum(h(d) for d in draws) / s
        return max(mi, 0.0) / math.log(c)
    votes = [int(np.argmax(d)) for d in draws]
    modal = max(votes.count(k) for k in range(c))
    return 1.0 - modal / s


def _reduce(values: list[float], policy: str) -> float:
    if policy == "min":
        return min(values)
    if policy == "max":
        return max(values)
    if policy == "sum":
        return math.fsum(values)
    return math.fsum(values) / len(values)


def ref_frame_scores(
    frames: list[dict[str, Any]],
    strategy: str,
    policy: str,
    weights: Sequence[float] | None = None,
    logits: bool = False,
) -> dict[str, float]:
    out = {}
    for fr in frames:
        preds = fr.get("predictions") or []
        if preds:
            if strategy in ("bald", "variation_ratio"):
                vals = [ref_mc(strategy, np.asarray(p["mc_probabilities"])) for p in preds]
            else:
                vals = [ref_box(strategy, p, weights, logits) for p in preds]
        else:  # CVAL's fake prediction
            vals = [0.0 if strategy in ("probability", "bald", "variation_ratio") else 1.0]
        out[fr["frame_id"]] = _reduce(vals, policy)
    return out


def ranked(scores: dict[str, float], n: int, descending: bool) -> list[str]:
    return sorted(scores, key=lambda f: (-scores[f] if descending else scores[f], f))[:n]


def ref_random_key(frame_id: str, seed: int) -> float:
    mask = (1 << 64) - 1

    def mix(h: int) -> int:
        h ^= h >> 30
        h = (h * 0xBF58476D1CE4E5B9) & mask
        h ^= h >> 27
        h = (h * 0x94D049BB133111EB) & mask
        return h ^ (h >> 31)

    h = 0xCBF29CE484222325 ^ mix(seed)
    for byte in frame_id.encode("utf-8"):
        h = ((h ^ byte) * 0x100000001B3) & mask
    return (mix(h) >> 11) / float(1 << 53)


def ref_k_center(
    x: np.ndarray, k: int, initial: Sequence[int] = (), first: int | None = None
) -> tuple[list[int], list[float]]:
    x = x.astype(np.float64)
    n = x.shape[0]
    d = np.full(n, np.inf)
    for c in initial:
        d = np.minimum(d, ((x - x[c]) ** 2).sum(1))
    blocked = set(initial)
    picks: list[int] = []
    radii: list[float] = []
    while len(picks) < min(k, n - len(blocked)):
        if not picks and not initial:
            j = 0 if first is None else first
            r = math.inf
        else:
            cand = [(d[i], -i) for i in range(n) if i not in blocked]
            best, neg = max(cand)
            j, r = -neg, math.sqrt(best)
        picks.append(j)
        radii.append(r)
        blocked.add(j)
        d = np.minimum(d, ((x - x[j]) ** 2).sum(1))
    return picks, radii


def ref_round_robin(cluster: np.ndarray, within: np.ndarray, m: int) -> list[int]:
    members: dict[int, list[int]] = {}
    for i in range(cluster.size):
        members.setdefault(int(cluster[i]), []).append(i)
    queues = sorted(members.values(), key=lambda mem: (-len(mem), min(mem)))
    queues = [sorted(q, key=lambda i: (within[i], i)) for q in queues]
    out: list[int] = []
    turn = 0
    while len(out) < m:
        for q in queues:
            if turn < len(q) and len(out) < m:
                out.append(q[turn])
        turn += 1
    return out


# ---------------------------------------------------------------------- data


def random_frames(
    seed: int,
    n: int = 60,
    *,
    p_probs: float = 0.4,
    p_empty: float = 0.15,
    mc: bool = False,
    embeddings: bool = False,
) -> list[dict[str, Any]]:
    """Frames in shuffled id order, tie-heavy scores, uniform / one-hot / random probabilities."""
    rng = np.random.default_rng(seed)
    ids = [f"f{i:03d}" for i in range(n)]
    rng.shuffle(ids)
    uniform = [1.0 / C] * C
    frames = []
    for fid in ids:
        k = 0 if rng.random() < p_empty else int(rng.integers(1, 6))
        preds = []
        for j in range(k):
            box: dict[str, Any] = {"category_id": int(rng.integers(0, C))}
            if rng.random() < 0.9:
                box["score"] = float(rng.choice(TIE_SCORES))
            if rng.random() < p_probs or "score" not in box:
                kind = rng.integers(0, 3)
                if kind == 0:
                    box["probabilities"] = uniform
                elif kind == 1:
                    box["probabilities"] = np.eye(C)[rng.integers(0, C)].tolist()
                else:
                    box["probabilities"] = rng.dirichlet(np.ones(C)).tolist()
            if mc:
                box["mc_probabilities"] = rng.dirichlet(np.ones(C) * 0.7, size=5).tolist()
            if embeddings:
                box["embedding_id"] = f"{fid}/{j}"
            preds.append(box)
        frames.append({"frame_id": fid, "predictions": preds})
    return frames


def _request(frames: list[dict[str, Any]], **fields: Any) -> SamplingRequest:
    return SamplingRequest.model_validate({"frames": frames, **fields})


# ---------------------------------------------------------------------- score strategies


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("in_order", [False, True], ids=["scatter", "runs"])
def test_frame_scores_and_ranking_match_reference(
    strategy: str, policy: str, in_order: bool, device: str
) -> None:
    frames = random_frames(seed=10 * STRATEGIES.index(strategy) + POLICIES.index(policy))
    if in_order:  # boxes stored frame after frame: reduced over runs, not scattered
        frames = sorted(frames, key=lambda f: f["frame_id"])
    for sort in ("ascending", "descending"):
        req = _request(
            frames,
            num_of_samples=15,
            selection_strategy=strategy,
            bbox_selection_policy=policy,
            sort_strategy=sort,
        )
        assert req.frames.boxes_in_frame_order() == in_order
        fs = score_frames(req, device=device)
        ref = ref_frame_scores(frames, strategy, policy)
        got = dict(zip(fs.frame_ids.tolist(), fs.scores[:, 0].tolist(), strict=True))
        assert got.keys() == ref.keys()
        np.testing.assert_allclose([got[f] for f in ref], list(ref.values()), rtol=0, atol=1e-12)
        result = select(req, fs, device=device)
        assert list(result.frame_ids) == ranked(got, 15, sort == "descending")
        assert result.scores == tuple(got[f] for f in result.frame_ids)
        assert set(result.stages) == {strategy} and not result.truncated


def test_ties_go_to_the_smaller_frame_id() -> None:
    # every frame scores exactly 1.0 (score 0.5) or 0.36 (score 0.9): ids decide within a tie
    ids = ["b", "a10", "a9", "c", "a1", "_z"]
    frames = [{"frame_id": f, "predictions": [{"score": 0.9 if f == "c" else 0.5}]} for f in ids]
    result = run_sampling(_request(frames, num_of_samples=6, selection_strategy="margin"))
    assert result.frame_ids == ("_z", "a1", "a10", "a9", "b", "c")
    result = run_sampling(
        _request(frames, num_of_samples=3, selection_strategy="margin", sort_strategy="ascending")
    )
    assert result.frame_ids == ("c", "_z", "a1")


@pytest.mark.parametrize("strategy", ["margin", "least", "ratio", "entropy"])
def test_uniform_and_one_hot_distributions(strategy: str) -> None:
    frames = [
        {"frame_id": "uniform", "predictions": [{"probabilities": [0.25] * 4}]},
        {"frame_id": "onehot", "predictions": [{"probabilities": [0.0, 0.0, 1.0, 0.0]}]},
        {"frame_id": "half", "predictions": [{"score": 0.5}]},
        {"frame_id": "sure", "predictions": [{"score": 1.0}]},
        {"frame_id": "never", "predictions": [{"score": 0.0}]},
    ]
    fs = score_frames(_request(frames, num_of_samples=1, selection_strategy=strategy))
    got = dict(zip(fs.frame_ids.tolist(), fs.scores[:, 0].tolist(), strict=True))
    assert got == {"uniform": 1.0, "onehot": 0.0, "half": 1.0, "sure": 0.0, "never": 0.0}


def test_single_score_is_the_two_class_distribution() -> None:
    # CVAL: score1 = score, score2 = 1 - score; a box with score s equals probabilities (s, 1-s)
    rng = np.random.default_rng(3)
    s = rng.random(40).round(3)
    as_score = [{"frame_id": f"f{i:02d}", "predictions": [{"score": v}]} for i, v in enumerate(s)]
    as_probs = [
        {"frame_id": f"f{i:02d}", "predictions": [{"probabilities": [v, 1 - v]}]}
        for i, v in enumerate(s)
    ]
    for strategy in ("margin", "least", "ratio", "entropy"):
        a = score_frames(_request(as_score, num_of_samples=1, selection_strategy=strategy))
        b = score_frames(_request(as_probs, num_of_samples=1, selection_strategy=strategy))
        np.testing.assert_allclose(a.scores, b.scores, rtol=0, atol=1e-15)


@pytest.mark.parametrize("strategy", ["margin", "least", "ratio", "entropy", "probability"])
def test_probabilities_within_the_tolerance_score_as_their_normalised_rows(strategy: str) -> None:
    """Audit: [0.4996, 0.4996] (sum 0.9992, accepted) scored 1.0008 under `least`, above
    an exactly uniform box, and outside the documented [0, 1]."""
    rows = {"a": [0.5, 0.5], "b": [0.4996, 0.4996], "c": [0.5004, 0.5004]}
    frames = [{"frame_id": f, "predictions": [{"probabilities": p}]} for f, p in rows.items()]
    fs = score_frames(_request(frames, num_of_samples=3, selection_strategy=strategy))
    col = fs.scores[:, 0]
    assert col[0] == col[1] == col[2] and 0.0 <= col[0] <= 1.0  # x / (2 x) is 0.5 exactly
    result = run_sampling(_request(frames, num_of_samples=3, selection_strategy=strategy))
    assert result.frame_ids == ("a", "b", "c")  # a tie: frame id order
    # any row within the tolerance scores as the row divided by its sum
    rng = np.random.default_rng(8)
    p = rng.dirichlet(np.ones(5), size=40)
    skewed = p * (1.0 + rng.uniform(-9e-4, 9e-4, size=(40, 1)))
    as_given = [{"frame_id": f"f{i:02d}", "predictions": [{"probabilities": r.tolist()}]}
                for i, r in enumerate(skewed)]
    normalised = [{"frame_id": f"f{i:02d}", "predictions": [{"probabilities": r.tolist()}]}
                  for i, r in enumerate(skewed / skewed.sum(1, keepdims=True))]
    a = score_frames(_request(as_given, num_of_samples=1, selection_strategy=strategy)).scores
    b = score_frames(_request(normalised, num_of_samples=1, selection_strategy=strategy)).scores
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-15)
    assert ((a >= 0.0) & (a <= 1.0)).all()


def test_rows_that_sum_to_one_within_ulps_score_bit_for_bit_as_the_kernels() -> None:
    """A row whose sum is within 4 * C epsilons of 1 is not divided: the scores are the
    kernels' own on the row (in its canonical class order: sorted)."""
    from assay.kernels.uncertainty import entropy, least_confidence, margin, ratio

    rng = np.random.default_rng(11)
    counts = rng.multinomial(1024, rng.dirichlet(np.ones(4)), size=50)  # dyadic: exact sums
    dirichlet = rng.dirichlet(np.ones(4), size=50)  # sums an ulp or two off 1
    assert (counts.sum(1) == 1024).all() and (dirichlet.sum(1) != 1.0).any()
    p = np.concatenate([counts / 1024.0, dirichlet])
    assert (np.abs(p.sum(1) - 1.0) <= 16 * np.finfo(np.float64).eps).all()
    frames = [{"frame_id": f"f{i:03d}", "predictions": [{"probabilities": r.tolist()}]}
              for i, r in enumerate(p)]
    t = torch.from_numpy(np.sort(p, axis=1))
    kernels = {
        "least": least_confidence(t, normalize=True),
        "margin": 1.0 - margin(t),
        "ratio": ratio(t),
        "entropy": entropy(t, normalize=True),
        "probability": t.amax(-1),
    }
    for strategy, want in kernels.items():
        fs = score_frames(_request(frames, num_of_samples=1, selection_strategy=strategy))
        np.testing.assert_array_equal(fs.scores[:, 0], want.numpy())


def _permuted_pairs(rng: np.random.Generator, c: int, n: int, weights: Sequence[float]) -> list[
    tuple[np.ndarray, np.ndarray]
]:
    """``n`` distributions, each with a copy in another class order; with ``weights``, the
    order changes only among classes of equal weight (the same ``(p, w)`` pairs)."""
    w = np.asarray(weights)
    out = []
    for i in range(n):
        p = rng.dirichlet(np.ones(c))
        if i % 3 == 1:  # rounded as exports do: sums a few ulps off 1, or exactly 1
            p = np.round(p, 2)
            p[np.argmax(p)] += 1.0 - p.sum()
        elif i % 3 == 2:  # off by more than ulps, inside the tolerance: divided
            p = p * (1.0 + rng.uniform(-9e-4, 9e-4))
        perm = np.arange(c)
        for value in np.unique(w):
            same = np.flatnonzero(w == value)
            perm[same] = rng.permutation(same)
        if (perm == np.arange(c)).all():
            perm = perm[::-1].copy() if np.unique(w).size == 1 else perm
        out.append((p, perm))
    return out


@pytest.mark.parametrize(
    "strategy", ["least", "margin", "ratio", "entropy", "weighted", "probability", "logits"]
)
def test_a_distribution_in_any_class_order_scores_the_same(strategy: str) -> None:
    """Review: renormalising divided [0.7, 0.2, 0.1] (float64 sum 1 - 2**-53) but not
    [0.1, 0.2, 0.7] (sum 1.0), and the kernels add in class order: one distribution in
    two class orders scored an ulp apart and the tie did not go by frame id."""
    rng = np.random.default_rng(3)
    c = 5
    weights = [2.0, 0.5, 2.0, 1.0, 0.5] if strategy == "weighted" else [1.0] * c
    frames, twins = [], []
    for i, (p, perm) in enumerate(_permuted_pairs(rng, c, 60, weights)):
        if strategy == "logits":
            p = np.log(np.maximum(p, 1e-3))
        # z... first in the pool, a... second: a frame-id tie puts a... first
        frames.append({"frame_id": f"z{i:02d}", "predictions": [{"probabilities": p.tolist()}]})
        frames.append(
            {"frame_id": f"a{i:02d}", "predictions": [{"probabilities": p[perm].tolist()}]}
        )
        twins.append((f"a{i:02d}", f"z{i:02d}"))
    fields: dict[str, Any] = {"selection_strategy": "entropy" if strategy == "weighted"
                              else "entropy" if strategy == "logits" else strategy}
    if strategy == "weighted":
        fields["probs_weights"] = weights
    if strategy == "logits":
        fields["from_logits"] = True
    fs = score_frames(_request(frames, num_of_samples=1, **fields))
    col = dict(zip(fs.frame_ids.tolist(), fs.scores[:, 0].tolist(), strict=True))
    assert all(col[a] == col[z] for a, z in twins)
    result = run_sampling(_request(frames, num_of_samples=len(frames), **fields))
    rank = {f: r for r, f in enumerate(result.frame_ids)}
    assert all(rank[a] < rank[z] for a, z in twins)  # the tie goes by frame id
    # the review's pair
    pair = [{"frame_id": "z", "predictions": [{"probabilities": [0.7, 0.2, 0.1]}]},
            {"frame_id": "a", "predictions": [{"probabilities": [0.1, 0.2, 0.7]}]}]
    if strategy not in ("weighted", "logits"):
        got = run_sampling(_request(pair, num_of_samples=2, **fields))
        assert got.frame_ids == ("a", "z") and got.scores[0] == got.scores[1]


def test_the_renormalisation_of_unsorted_rows_is_that_of_sorted_rows() -> None:
    """least / margin / ratio / probability skip the sort of rows whose plain sum is within
    2 * C epsilons of 1: the decision and the divisor must still be the sorted row's."""
    from assay.engine.sampling.scoring import _renormalised

    rng = np.random.default_rng(6)
    eps = np.finfo(np.float64).eps
    for c in (2, 3, 7, 40):
        p = rng.dirichlet(np.ones(c) * 0.3, size=3000)
        # sums spread over the band where the plain and the sorted sums may disagree
        p[:, 0] += 1.0 + rng.integers(-6 * c, 6 * c + 1, size=3000) * eps - p.sum(1)
        p = np.abs(p)
        for _ in range(3):
            shuffled = rng.permuted(p, axis=1)
            got = _renormalised(torch.from_numpy(shuffled), canonical=False).numpy()
            want = _renormalised(torch.from_numpy(np.sort(shuffled, axis=1))).numpy()
            np.testing.assert_array_equal(np.sort(got, axis=1), want)


@pytest.mark.parametrize("strategy", ["bald", "variation_ratio"])
def test_monte_carlo_draws_in_any_class_order_score_the_same(strategy: str) -> None:
    """The draws of a box keep their classes aligned: one class order for all of them."""
    rng = np.random.default_rng(4)
    c, s = 4, 6
    frames, twins = [], []
    for i in range(40):
        draws = rng.dirichlet(np.ones(c), size=s)
        if i % 4 == 1:  # rounded: ties within draws and between columns' sums
            draws = np.round(draws, 1)
            draws[np.arange(s), np.argmax(draws, 1)] += 1.0 - draws.sum(1)
        elif i % 4 == 2:  # two classes with the same sum over the draws, distinct columns
            draws[:, 1] = draws[::-1, 0]
            draws /= draws.sum(1, keepdims=True)
        elif i % 4 == 3:  # inside the tolerance: each draw divided by its sum
            draws = draws * (1.0 + rng.uniform(-9e-4, 9e-4, size=(s, 1)))
        perm = rng.permutation(c)
        frames.append({"frame_id": f"z{i:02d}",
                       "predictions": [{"mc_probabilities": draws.tolist()}]})
        frames.append({"frame_id": f"a{i:02d}",
                       "predictions": [{"mc_probabilities": draws[:, perm].tolist()}]})
        twins.append((f"a{i:02d}", f"z{i:02d}"))
    fs = score_frames(_request(frames, num_of_samples=1, selection_strategy=strategy))
    col = dict(zip(fs.frame_ids.tolist(), fs.scores[:, 0].tolist(), strict=True))
    assert all(col[a] == col[z] for a, z in twins)
    result = run_sampling(_request(frames, num_of_samples=len(frames), selection_strategy=strategy))
    rank = {f: r for r, f in enumerate(result.frame_ids)}
    assert all(rank[a] < rank[z] for a, z in twins)


@pytest.mark.parametrize("seed", [0, 2, 5, 8])
def test_equal_bald_boxes_tie_by_frame_id_wherever_they_sit(seed: int) -> None:
    """Audit: bald's mean over the draws rounded by a box's position in the pool, so equal
    boxes scored an ulp apart (48 of 300 pools) and the tie did not go by frame id."""
    rng = np.random.default_rng(seed)
    c, s, n = int(rng.integers(2, 8)), int(rng.integers(2, 30)), int(rng.integers(20, 500))
    draws = rng.dirichlet(np.ones(c), size=(n, s))
    same = rng.permutation(n)[: n // 3]
    draws[same] = rng.dirichlet(np.ones(c), size=s)
    frames = [
        {"frame_id": f"f{i:04d}", "predictions": [{"mc_probabilities": d.tolist()}]}
        for i, d in enumerate(draws)
    ]
    twins = {frames[i]["frame_id"] for i in same}
    fs = score_frames(_request(frames, num_of_samples=1, selection_strategy="bald"))
    col = dict(zip(fs.frame_ids.tolist(), fs.scores[:, 0].tolist(), strict=True))
    assert len({col[f] for f in twins}) == 1
    result = run_sampling(_request(frames, num_of_samples=n, selection_strategy="bald"))
    ranked = [f for f in result.frame_ids if f in twins]
    assert ranked == sorted(twins)


def test_monte_carlo_draws_within_the_tolerance_are_renormalised() -> None:
    draws = [[0.4996, 0.4996], [0.9, 0.1], [0.2, 0.8]]
    exact = [[0.5, 0.5], [0.9, 0.1], [0.2, 0.8]]
    for strategy in ("bald", "variation_ratio"):
        scores = [
            score_frames(_request(
                [{"frame_id": "a", "predictions": [{"mc_probabilities": d}]}],
                num_of_samples=1, selection_strategy=strategy,
            )).scores[0, 0]
            for d in (draws, exact)
        ]
        assert scores[0] == pytest.approx(scores[1], abs=1e-15) and 0.0 <= scores[0] <= 1.0


def test_a_certain_box_scores_plus_zero_not_minus_zero() -> None:
    """Minor audit note: the entropy of a box with score 1 was -0.0, printed as such."""
    frames = [{"frame_id": "a", "predictions": [{"score": 1.0}]}]
    for strategy in ("margin", "least", "ratio", "entropy"):
        fs = score_frames(_request(frames, num_of_samples=1, selection_strategy=strategy))
        assert math.copysign(1.0, fs.scores[0, 0]) == 1.0, strategy


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("strategy", [*STRATEGIES, "bald", "variation_ratio"])
def test_frames_without_boxes_get_the_fake_prediction(strategy: str, policy: str) -> None:
    frames = random_frames(seed=5, n=30, p_empty=0.3, mc=True)
    empty = [f["frame_id"] for f in frames if not f["predictions"]]
    assert empty
    want = 0.0 if strategy in ("probability", "bald", "variation_ratio") else 1.0
    results = []
    for in_order in (False, True):  # scattered, and reduced over runs
        ordered = sorted(frames, key=lambda f: f["frame_id"]) if in_order else frames
        req = _request(
            ordered, num_of_samples=5, selection_strategy=strategy, bbox_selection_policy=policy
        )
        assert req.frames.boxes_in_frame_order() == in_order
        fs = score_frames(req)
        got = dict(zip(fs.frame_ids.tolist(), fs.scores[:, 0].tolist(), strict=True))
        assert {got[f] for f in empty} == {want}
        results.append(got)
    assert results[0].keys() == results[1].keys()
    np.testing.assert_allclose(  # index_add and segment_reduce: the same sums to rounding
        [results[1][f] for f in results[0]], list(results[0].values()), rtol=1e-14
    )
    with pytest.raises(ValueError, match="use_null_detections") as err:
        score_frames(
            _request(
                frames, num_of_samples=5, selection_strategy=strategy, use_null_detections=False
            )
        )
    first = next(i for i, f in enumerate(frames) if not f["predictions"])
    assert f"frames[{first}]" in str(err.value)


@pytest.mark.parametrize("policy", POLICIES)
def test_probs_weights_weigh_the_entropy_terms(policy: str) -> None:
    frames = random_frames(seed=11, p_probs=0.8)
    weights = [0.5, 2.0, 1.0, 0.25]
    req = _request(
        frames,
        num_of_samples=10,
        selection_strategy="entropy",
        bbox_selection_policy=policy,
        probs_weights=weights,
    )
    fs = score_frames(req)
    ref = ref_frame_scores(frames, "entropy", policy, weights)
    got = dict(zip(fs.frame_ids.tolist(), fs.scores[:, 0].tolist(), strict=True))
    np.testing.assert_allclose([got[f] for f in ref], list(ref.values()), rtol=0, atol=1e-12)


def test_weighted_entropy_is_not_clamped_to_one() -> None:
    """Weights above 1 scale the entropy past 1: clamping it would tie those boxes."""
    frames = [
        {"frame_id": "a", "predictions": [{"probabilities": [0.5, 0.5]}]},
        {"frame_id": "b", "predictions": [{"probabilities": [0.6, 0.4]}]},
    ]
    req = _request(frames, num_of_samples=2, selection_strategy="entropy", probs_weights=[4.0, 4.0])
    fs = score_frames(req)
    got = dict(zip(fs.frame_ids.tolist(), fs.scores[:, 0].tolist(), strict=True))
    h = -(0.6 * np.log(0.6) + 0.4 * np.log(0.4)) / np.log(2)
    assert got["a"] == pytest.approx(4.0, abs=1e-12) and got["b"] == pytest.approx(4 * h, abs=1e-12)


@pytest.mark.parametrize("strategy", ["margin", "least", "ratio", "entropy", "probability"])
def test_logits(strategy: str) -> None:
    rng = np.random.default_rng(8)
    frames = [
        {
            "frame_id": f"f{i}",
            "predictions": [{"probabilities": (rng.normal(size=C) * 3).tolist()} for _ in range(3)],
        }
        for i in range(20)
    ]
    req = _request(frames, num_of_samples=5, selection_strategy=strategy, from_logits=True)
    policy = req.stage_specs()[0].bbox_selection_policy
    ref = ref_frame_scores(frames, strategy, policy, logits=True)
    fs = score_frames(req)
    got = dict(zip(fs.frame_ids.tolist(), fs.scores[:, 0].tolist(), strict=True))
    np.testing.assert_allclose([got[f] for f in ref], list(ref.values()), rtol=0, atol=1e-12)


@pytest.mark.parametrize("strategy", ["bald", "variation_ratio"])
def test_monte_carlo_strategies(strategy: str, device: str) -> None:
    frames = random_frames(seed=21, mc=True)
    req = _request(
        frames, num_of_samples=10, selection_strategy=strategy, bbox_selection_policy="mean"
    )
    ref = ref_frame_scores(frames, strategy, "mean")
    fs = score_frames(req, device=device)
    got = dict(zip(fs.frame_ids.tolist(), fs.scores[:, 0].tolist(), strict=True))
    np.testing.assert_allclose([got[f] for f in ref], list(ref.values()), rtol=0, atol=1e-12)
    assert list(select(req, fs, device=device).frame_ids) == ranked(got, 10, True)


def test_defaults_per_strategy() -> None:
    frames = random_frames(seed=2)
    unc = _request(frames, num_of_samples=5, selection_strategy="entropy").stage_specs()[0]
    prob = _request(frames, num_of_samples=5, selection_strategy="probability").stage_specs()[0]
    assert (unc.bbox_selection_policy, unc.sort_strategy) == ("max", "descending")
    assert (prob.bbox_selection_policy, prob.sort_strategy) == ("min", "ascending")
    got = run_sampling(_request(frames, num_of_samples=5, selection_strategy="probability"))
    ref = ref_frame_scores(frames, "probability", "min")
    assert list(got.frame_ids) == ranked(ref, 5, descending=False)


# ---------------------------------------------------------------------- pool size, seeds


def test_more_samples_than_frames_returns_the_whole_pool_ranked() -> None:
    frames = random_frames(seed=4, n=12)
    result = run_sampling(_request(frames, num_of_samples=50, selection_strategy="least"))
    ref = ref_frame_scores(frames, "least", "max")
    assert list(result.frame_ids) == ranked(ref, 50, True)
    assert len(result) == 12 and result.truncated and result.pool_size == 12
    assert result.note is not None and "num_of_samples=50" in result.note
    zero = run_sampling(_request(frames, num_of_samples=0, selection_strategy="least"))
    assert zero.frame_ids == () and not zero.truncated


def test_random_keys_match_the_documented_hash() -> None:
    ids = ["a", "b", "frame_000123", "", "ünïcode", "a" * 200]
    for seed in (0, 1, 12345, 2**31 - 1, 2**31, 2**32 - 1, 2**64 - 1):  # all 64 bits
        np.testing.assert_array_equal(
            random_keys(ids, seed), [ref_random_key(f, seed) for f in ids]
        )
    for seed in (2**64, -1):
        with pytest.raises(ValueError, match=r"`seed` to be an int in \[0, 18446744073709551615\]"):
            random_keys(ids, seed)
    with pytest.raises(TypeError, match=r"`seed` to be an int, but got bool"):
        random_keys(ids, True)


def test_random_is_seeded_and_independent_of_order_and_shards() -> None:
    frames = random_frames(seed=9, n=80)
    req = _request(frames, num_of_samples=10, selection_strategy="random", seed=7)
    first = run_sampling(req)
    assert run_sampling(req) == first
    keys = {f["frame_id"]: ref_random_key(f["frame_id"], 7) for f in frames}
    assert list(first.frame_ids) == ranked(keys, 10, True)
    shuffled = list(reversed(frames))
    again = _request(shuffled, num_of_samples=10, selection_strategy="random", seed=7)
    assert run_sampling(again) == first
    other = run_sampling(_request(frames, num_of_samples=10, selection_strategy="random", seed=8))
    assert other.frame_ids != first.frame_ids


def test_sharded_scores_select_like_the_whole_pool() -> None:
    frames = random_frames(seed=13, n=90)
    for fields in (
        {"selection_strategy": "entropy", "bbox_selection_policy": "mean"},
        {"selection_strategy": "random", "seed": 3},
        {"stages": [{"strategy": "margin", "factor": 2}, {"strategy": "probability"}]},
    ):
        whole = _request(frames, num_of_samples=9, **fields)
        parts = [
            score_frames(_request(frames[i : i + 30], num_of_samples=9, **fields))
            for i in range(0, 90, 30)
        ]
        assert select(whole, FrameScores.concat(parts)) == run_sampling(whole)


# ---------------------------------------------------------------------- diversity


def _blobs(seed: int, n: int = 90, dim: int = 6, centers: int = 3) -> tuple[list[str], np.ndarray]:
    rng = np.random.default_rng(seed)
    c = rng.normal(scale=20.0, size=(centers, dim))
    x = c[np.arange(n) % centers] + rng.normal(size=(n, dim))
    ids = [f"f{i:03d}" for i in range(n)]
    return ids, x.astype(np.float32)


def _frames_of(ids: list[str], seed: int = 0) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(ids))
    return [
        {"frame_id": ids[i], "predictions": [{"score": float(rng.choice(TIE_SCORES))}]}
        for i in order
    ]


def test_coreset_matches_brute_force_k_center(device: str) -> None:
    ids, x = _blobs(1)
    frames = _frames_of(ids)
    emb = dict(zip(ids, x, strict=True))
    req = _request(frames, num_of_samples=7, selection_strategy="coreset")
    result = run_sampling(req, embeddings=emb, device=device)
    x64 = x.astype(np.float64)
    first = int(np.argmin(((x64 - x64.mean(0)) ** 2).sum(1)))
    picks, radii = ref_k_center(x, 7, first=first)
    assert list(result.frame_ids) == [ids[i] for i in picks]
    np.testing.assert_allclose(result.scores, radii, rtol=1e-5)
    assert result.scores[0] == math.inf and result.to_dict()["scores"][0] is None


def test_coreset_starts_from_the_labeled_frames() -> None:
    ids, x = _blobs(2)
    labeled = ["L0", "L1", "f005"]  # f005 is in the pool too: it is left out of it
    lab_vectors = np.stack([x[0] + 0.5, x[1] - 0.5, x[5]])
    emb = {**dict(zip(ids, x, strict=True)), **dict(zip(labeled, lab_vectors, strict=True))}
    frames = _frames_of(ids)
    result = run_sampling(
        _request(frames, num_of_samples=6, selection_strategy="coreset", labeled_ids=labeled),
        embeddings=(list(emb), np.stack(list(emb.values()))),
    )
    pool = [i for i in range(len(ids)) if ids[i] != "f005"]
    allx = np.concatenate([x[pool], lab_vectors])
    picks, radii = ref_k_center(allx, 6, initial=range(len(pool), len(pool) + 3))
    assert list(result.frame_ids) == [ids[pool[i]] for i in picks]
    np.testing.assert_allclose(result.scores, radii, rtol=1e-5)
    assert result.pool_size == len(ids) - 1 and "labeled_ids" in (result.note or "")


def test_frame_vector_is_the_mean_of_its_boxes() -> None:
    frames = [
        {"frame_id": "a", "predictions": [{"score": 0.5, "embedding_id": "a0"},
                                          {"score": 0.4, "embedding_id": "a1"}]},
        {"frame_id": "b", "predictions": [{"score": 0.5}]},  # no embedding_id: frame id
        {"frame_id": "c", "predictions": [{"score": 0.5, "embedding_id": "c0"}]},
    ]
    emb = {"a0": [0.0, 0.0], "a1": [10.0, 0.0], "b": [5.0, 0.1], "c0": [5.0, 9.0]}
    # frame vectors a = (5, 0) (mean of a0, a1), b = (5, 0.1), c = (5, 9); pool mean (5, 3.03):
    # b is nearest it and picked first, then c (8.9 from b), then a (0.1 from b)
    req = _request(frames, num_of_samples=3, selection_strategy="coreset")
    result = run_sampling(req, embeddings=emb)
    assert result.frame_ids == ("b", "c", "a")
    np.testing.assert_allclose(result.scores[1:], [8.9, 0.1], rtol=1e-6)


@pytest.mark.parametrize("dim", [2, 4096])
def test_coreset_picks_do_not_depend_on_the_scale(dim: int) -> None:
    """Audit: at 1e19 every float32 squared distance was inf, and the picks fell back to
    index order; the embeddings were finite and passed every check."""
    rng = np.random.default_rng(dim)
    ids = [f"f{i:02d}" for i in range(16)]
    x = rng.normal(size=(16, dim))
    frames = _frames_of(ids)
    runs = {}
    for scale in (1.0, 1e18, 1e19, 1e20, 1e30):
        emb = (ids, (x * scale).astype(np.float32))
        plain = run_sampling(_request(frames, num_of_samples=6, selection_strategy="coreset"),
                             embeddings=emb)
        labeled = run_sampling(
            _request(frames, num_of_samples=6, selection_strategy="coreset",
                     labeled_ids=["f03", "f11"]),
            embeddings=emb,
        )
        runs[scale] = (plain, labeled)
        assert np.isfinite(plain.scores[1:]).all() and np.isfinite(labeled.scores).all()
    ref_plain, ref_labeled = runs[1.0]
    for scale, (plain, labeled) in runs.items():
        assert plain.frame_ids == ref_plain.frame_ids, scale
        assert labeled.frame_ids == ref_labeled.frame_ids, scale
        # the scores are distances in the embeddings' own units
        np.testing.assert_allclose(np.array(plain.scores[1:]) / scale, ref_plain.scores[1:],
                                   rtol=1e-5)
        np.testing.assert_allclose(np.array(labeled.scores) / scale, ref_labeled.scores,
                                   rtol=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("dim", [3, 256])
def test_coreset_picks_are_the_same_at_tiny_and_huge_scales(dtype: type, dim: int) -> None:
    """Audit: embeddings of magnitude ~1e-25 have float32 squares that underflow to 0, so
    every distance was 0 and the picks fell back to index order (the power-of-two scaling
    only went down, for huge embeddings). It now goes both ways."""
    rng = np.random.default_rng(dim + 1)
    ids = [f"f{i:02d}" for i in range(24)]
    x = rng.normal(size=(24, dim)).astype(np.float32).astype(dtype)
    frames = _frames_of(ids)
    runs = {}
    for scale in (1.0, 2.0**-80, 2.0**60):
        emb = (ids, x * dtype(scale))
        runs[scale] = [
            run_sampling(_request(frames, num_of_samples=8, selection_strategy="coreset", **kw),
                         embeddings=emb)
            for kw in ({}, {"labeled_ids": ["f03", "f11"]})
        ]
    for scale, results in runs.items():
        for got, want in zip(results, runs[1.0], strict=True):
            assert got.frame_ids == want.frame_ids, scale
            got_scores = np.array(got.scores[1:]) / scale
            np.testing.assert_array_equal(got_scores, np.array(want.scores[1:]))


def test_the_scaling_reads_the_largest_magnitude_of_either_sign() -> None:
    """Review: the guard took np.abs(x).max(), a copy as large as the embeddings; it now
    reads max(x.max(), -x.min()), which must see a negative extreme as well."""
    from assay.engine.sampling.selection import _scaled_for_distances

    x = np.random.default_rng(2).normal(size=(8, 16)).astype(np.float32) * 1e30
    x[3, 5] = 3e37
    for sign in (1.0, -1.0):
        scaled, shift = _scaled_for_distances(sign * x)
        assert shift == 66 and np.isfinite(((scaled[:, None] - scaled[None]) ** 2).sum(-1)).all()
        np.testing.assert_array_equal(scaled, np.ldexp(sign * x, -66))
    small = np.float32([[-1.0, 2.0], [0.5, -3.0]])
    assert _scaled_for_distances(small)[1] == 0 and _scaled_for_distances(small)[0] is small


def test_a_labeled_frame_in_the_request_gets_its_frame_vector() -> None:
    """Audit: a labeled frame whose embeddings are per prediction was looked up under its
    frame id (and refused), although the same frame picked by an earlier stage got the
    mean of its predictions' embeddings."""
    frames = [
        {"frame_id": "a", "predictions": [{"score": 0.9, "embedding_id": "a0"},
                                          {"score": 0.8, "embedding_id": "a1"}]},
        {"frame_id": "b", "predictions": [{"score": 0.4, "embedding_id": "eb"}]},
        {"frame_id": "c", "predictions": [{"score": 0.6, "embedding_id": "ec"}]},
        {"frame_id": "d", "predictions": [{"score": 0.5}]},  # no embedding_id: its frame id
        {"frame_id": "e", "predictions": [{"score": 0.5, "embedding_id": "ee"}]},
    ]
    emb = {"a0": [0.0, 0.0], "a1": [4.0, 0.0], "eb": [1.0, 0.0], "ec": [9.0, 0.0],
           "d": [9.0, 5.0], "ee": [2.0, 6.0], "X": [0.0, 9.0]}
    # labeled: a (the mean (2, 0) of a0, a1), d (under its frame id), X (not a frame of
    # the request: its own id); pool b (1, 0), c (9, 0), e (2, 6)
    req = _request(frames, num_of_samples=3, selection_strategy="coreset",
                   labeled_ids=["a", "d", "X", "a"])
    result = run_sampling(req, embeddings=emb)
    # c is 5 from d (7 from a), e sqrt(13) from X, b 1 from a; c stays farthest after
    # each pick: c, e, b
    assert result.frame_ids == ("c", "e", "b")
    np.testing.assert_allclose(result.scores, [5.0, math.sqrt(13.0), 1.0], rtol=1e-6)
    # the same as when an earlier stage picks 'a': coreset then seeds from its mean
    staged = run_sampling(
        {"num_of_samples": 2, "frames": frames, "labeled_ids": ["d", "X"], "stages": [
            {"strategy": "probability", "mode": "pick", "num_of_samples": 1,
             "sort_strategy": "descending"},
            {"strategy": "coreset"}]},
        embeddings=emb,
    )
    assert staged.frame_ids[0] == "a" and staged.frame_ids[1] == result.frame_ids[0]
    assert staged.scores[1] == result.scores[0]


def _faiss_clusters(x: np.ndarray, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    faiss = pytest.importorskip("faiss")
    km = faiss.Kmeans(x.shape[1], k, niter=25, seed=seed, max_points_per_centroid=256)
    km.train(np.ascontiguousarray(x, dtype=np.float32))
    _, assign = km.index.search(np.ascontiguousarray(x, dtype=np.float32), 1)
    return km.centroids.astype(np.float64), assign[:, 0].astype(np.int64)


@pytest.mark.parametrize("clusters", [-1, 4])
def test_clustering_matches_faiss_kmeans_and_round_robin(clusters: int) -> None:
    ids, x = _blobs(4, n=120)
    frames = _frames_of(ids, seed=1)
    req = _request(
        frames, num_of_samples=9, selection_strategy="clustering", num_of_clusters=clusters, seed=5
    )
    result = run_sampling(req, embeddings=(ids, x))
    k = 9 if clusters == -1 else clusters
    centroids, cluster = _faiss_clusters(x, k, seed=5)
    dist = ((x.astype(np.float64) - centroids[cluster]) ** 2).sum(1)
    picks = ref_round_robin(cluster, dist, 9)
    assert list(result.frame_ids) == [ids[i] for i in picks]
    sizes = np.bincount(cluster, minlength=k)
    assert list(result.scores) == [float(sizes[cluster[i]]) for i in picks]


def test_hierarchical_round_robin_in_seeded_random_order() -> None:
    ids, x = _blobs(6, n=60)
    frames = _frames_of(ids, seed=2)
    req = _request(frames, num_of_samples=8, selection_strategy="hierarchical",
                   num_of_clusters=3, seed=11)
    result = run_sampling(req, embeddings=(ids, x))
    _, cluster = _faiss_clusters(x, 3, seed=11)
    keys = np.array([ref_random_key(f, 11) for f in ids])
    assert list(result.frame_ids) == [ids[i] for i in ref_round_robin(cluster, keys, 8)]


def test_hierarchical_chooses_the_number_of_clusters_by_silhouette() -> None:
    ids, x = _blobs(7, n=90, centers=3)
    result = run_sampling(
        _request(_frames_of(ids), num_of_samples=6, selection_strategy="hierarchical"),
        embeddings=(ids, x),
    )
    blob = {f: i % 3 for i, f in enumerate(ids)}
    first_round = [blob[f] for f in result.frame_ids[:3]]
    assert sorted(first_round) == [0, 1, 2]  # one pick per true cluster before any second
    assert set(result.scores) == {30.0}


# ---------------------------------------------------------------------- pipelines


def test_uncertainty_then_coreset_pipeline(device: str) -> None:
    ids, x = _blobs(8, n=100)
    frames = _frames_of(ids, seed=3)
    rng = np.random.default_rng(12)
    for fr in frames:
        fr["predictions"].append({"score": float(rng.random())})
    req = _request(
        frames,
        num_of_samples=4,
        stages=[{"strategy": "entropy", "factor": 5}, {"strategy": "coreset"}],
    )
    result = run_sampling(req, embeddings=(ids, x), device=device)
    ent = ref_frame_scores(frames, "entropy", "max")
    pool = sorted(ranked(ent, 20, True))  # pre-selection, then in frame-id order
    sub = x[[ids.index(f) for f in pool]].astype(np.float64)
    first = int(np.argmin(((sub - sub.mean(0)) ** 2).sum(1)))
    picks, _ = ref_k_center(sub, 4, first=first)
    assert list(result.frame_ids) == [pool[i] for i in picks]
    assert result.stages == ("coreset",) * 4 and result.stage_index == (1,) * 4
    assert result.strategy == "entropy -> coreset"


def test_picking_stages_append_and_leave_the_pool() -> None:
    frames = random_frames(seed=17, n=40)
    req = _request(
        frames,
        num_of_samples=10,
        stages=[
            {"strategy": "least", "mode": "pick", "num_of_samples": 6},
            {"strategy": "random"},
        ],
        seed=4,
    )
    result = run_sampling(req)
    least = ref_frame_scores(frames, "least", "max")
    head = ranked(least, 6, True)
    rest = {f: ref_random_key(f, 4) for f in least if f not in head}
    assert list(result.frame_ids) == head + ranked(rest, 4, True)
    assert result.stages == ("least",) * 6 + ("random",) * 4


def test_pipeline_narrower_than_the_request_is_truncated() -> None:
    frames = random_frames(seed=1, n=30)
    req = _request(
        frames,
        num_of_samples=10,
        stages=[{"strategy": "entropy", "num_of_samples": 4}, {"strategy": "probability"}],
    )
    result = run_sampling(req)
    assert len(result) == 4 and result.truncated


# ---------------------------------------------------------------------- inputs


def test_classification_request_is_one_box_per_frame() -> None:
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(C), size=25)
    cls_frames = [
        {"frame_id": f"f{i:02d}", "prediction": {"probabilities": p.tolist()}}
        for i, p in enumerate(probs)
    ]
    det_frames = [
        {"frame_id": f"f{i:02d}", "predictions": [{"probabilities": p.tolist()}]}
        for i, p in enumerate(probs)
    ]
    a = run_sampling({"num_of_samples": 5, "selection_strategy": "margin", "frames": cls_frames})
    b = run_sampling({"num_of_samples": 5, "selection_strategy": "margin", "frames": det_frames})
    assert a.frame_ids == b.frame_ids and a.scores == b.scores


def test_every_input_form_gives_the_same_table() -> None:
    pa = pytest.importorskip("pyarrow")
    frames = random_frames(seed=23, n=25, embeddings=True)
    boxes = []
    for fr in frames:
        boxes.extend({"frame_id": fr["frame_id"], **p} for p in fr["predictions"])
        if not fr["predictions"]:
            boxes.append({"frame_id": fr["frame_id"]})
    tables = [
        PredictionTable.from_frames(frames),
        PredictionTable.from_arrow(pa.Table.from_pylist(frames)),
        PredictionTable.from_box_records(boxes),
        PredictionTable.from_arrow(
            pa.table({k: [b.get(k) for b in boxes] for k in ("frame_id", *BOX_FIELDS[:4])})
        ),
    ]
    ref = tables[0]
    for t in tables[1:]:
        np.testing.assert_array_equal(t.frame_ids, ref.frame_ids)
        key_t = np.lexsort((t.box_position, t.box_frame))
        key_r = np.lexsort((ref.box_position, ref.box_frame))
        np.testing.assert_array_equal(t.box_frame[key_t], ref.box_frame[key_r])
        for name in ("score", "probabilities", "embedding_id"):
            np.testing.assert_array_equal(getattr(t, name)[key_t], getattr(ref, name)[key_r])
    req = {"num_of_samples": 7, "selection_strategy": "entropy"}
    results = [run_sampling({**req, "frames": t}) for t in tables]
    assert all(r == results[0] for r in results)
    assert PredictionTable.from_frames(ref.to_frames()).to_frames() == ref.to_frames()


def _score_only_frames(seed: int, n: int = 80) -> list[dict[str, Any]]:
    """Frames in id order, 0-8 boxes with only a score each (ties, 0, 1/2, 1)."""
    rng = np.random.default_rng(seed)
    frames = []
    for i in range(n):
        k = 0 if rng.random() < 0.15 else int(rng.integers(1, 9))
        scores = rng.choice([*TIE_SCORES, *rng.random(4).tolist()], size=k)
        preds = [{"score": float(s)} for s in scores]
        frames.append({"frame_id": f"f{i:03d}", "predictions": preds})
    return frames


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_score_only_frames_in_order_take_one_kernel_call(
    strategy: str, policy: str, device: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Boxes with only a score, frame after frame (the usual detection export), min / max
    policy: the box score and the frame's reduction are one ``binary_frame_scores``
    call, with the per-box path's numbers bit for bit (entropy on CUDA stays per box:
    the fused kernel's logarithms round their own way; on the CPU the call scores every
    box, ``reduce_first=False``). mean / sum stay per box."""
    from assay.engine.sampling import scoring

    frames = _score_only_frames(STRATEGIES.index(strategy) * 7 + POLICIES.index(policy))
    req = _request(frames, num_of_samples=10, selection_strategy=strategy,
                   bbox_selection_policy=policy)
    assert req.frames.boxes_in_frame_order()
    calls = []
    one_call = scoring._binary_frames
    monkeypatch.setattr(scoring, "_binary_frames", lambda *a: calls.append(1) or one_call(*a))
    got = score_frames(req, device=device).scores[:, 0]
    taken = policy in ("min", "max") and not (device == "cuda" and strategy == "entropy")
    assert calls == ([1] if taken else [])
    ref = ref_frame_scores(frames, strategy, policy)
    np.testing.assert_allclose(got, [ref[f["frame_id"]] for f in frames], rtol=0, atol=1e-12)
    monkeypatch.setattr(scoring, "_BINARY", {})  # the per-box path
    np.testing.assert_array_equal(got, score_frames(req, device=device).scores[:, 0])


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_frame_scores_do_not_depend_on_the_pool_layout(
    strategy: str, policy: str, device: str
) -> None:
    """A frame scores the same bits whichever path its pool takes: boxes in frame order
    (one kernel call for min / max), shuffled frames (a scatter), or a pool where
    another frame has probabilities (per box). Ray shards and the whole pool must agree.
    (On CUDA a shuffled pool's sums use atomic adds, whose last bits vary between runs:
    ``segment_reduce`` documents it; mean / sum agree to rounding there.)"""
    frames = _score_only_frames(3 + POLICIES.index(policy), n=60)
    other = {"frame_id": "zz", "predictions": [{"probabilities": [0.25] * C}]}
    rng = np.random.default_rng(4)
    shuffled = [frames[i] for i in rng.permutation(len(frames))]
    pools = [frames, shuffled, [*frames, other], frames[:20], frames[20:]]
    scored: dict[str, set[float]] = {}
    for pool in pools:
        req = _request(pool, num_of_samples=5, selection_strategy=strategy,
                       bbox_selection_policy=policy)
        fs = score_frames(req, device=device)
        for fid, v in zip(fs.frame_ids.tolist(), fs.scores[:, 0].tolist(), strict=True):
            scored.setdefault(fid, set()).add(v)
    if device == "cuda" and policy in ("mean", "sum"):
        for v in scored.values():
            np.testing.assert_allclose(min(v), max(v), rtol=1e-14, atol=0)
        return
    assert all(len(v) == 1 for v in scored.values()), {
        f: v for f, v in scored.items() if len(v) > 1
    }
