"""collect_similar against a NumPy brute force and a port of Aquarium's microcluster scorer."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from assay.engine.sampling.similarity import (
    CollectionResult,
    collect_similar,
    fit_microclusters,
)

# ---------------------------------------------------------------- references


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _reference(
    examples: np.ndarray,
    example_ids: list[str],
    pool: np.ndarray,
    pool_ids: list[str],
    frames: list[str] | None,
    *,
    metric: str = "cosine",
    threshold: float = 0.5,
    top_n: int | None = None,
) -> list[tuple[str, float, str, str]]:
    """Plain NumPy, float64, one Python pass over the rows: (frame, score, example, row id)."""
    e, p = examples.astype(np.float64), pool.astype(np.float64)
    if metric == "cosine":
        s = _unit(p) @ _unit(e).T
    else:
        s = 1.0 / (1.0 + np.sqrt(((p[:, None, :] - e[None, :, :]) ** 2).sum(-1)))
    best, arg = s.max(axis=1), s.argmax(axis=1)  # argmax: first example on ties
    frame_of = pool_ids if frames is None else frames
    per_frame: dict[str, tuple[float, int]] = {}
    for r, f in enumerate(frame_of):
        if f not in per_frame or best[r] > per_frame[f][0]:  # first crop on ties
            per_frame[f] = (float(best[r]), r)
    ranked = sorted(per_frame.items(), key=lambda kv: (-kv[1][0], kv[0]))
    keep = ranked[:top_n] if top_n is not None else [kv for kv in ranked if kv[1][0] >= threshold]
    return [(f, sc, example_ids[arg[r]], pool_ids[r]) for f, (sc, r) in keep]


def _as_tuples(result: CollectionResult) -> list[tuple[str, float, str, str]]:
    return list(
        zip(
            result.frame_ids,
            result.scores.tolist(),
            result.matched_example_ids,
            result.matched_pool_ids,
            strict=True,
        )
    )


Row = tuple[str, float, str, str]


def _assert_same(result: CollectionResult, ref: list[Row], tol: float) -> None:
    got = _as_tuples(result)
    assert [(f, e, r) for f, _, e, r in got] == [(f, e, r) for f, _, e, r in ref]
    np.testing.assert_allclose([s for _, s, _, _ in got], [s for _, s, _, _ in ref], atol=tol)


def _scene(seed: int, n_ex: int = 7, n_pool: int = 400, d: int = 12, crops: bool = False):
    rng = np.random.default_rng(seed)
    examples = rng.normal(size=(n_ex, d)).astype(np.float32)
    pool = rng.normal(size=(n_pool, d)).astype(np.float32)
    pool[::9] = examples[rng.integers(0, n_ex, len(pool[::9]))] + 0.3 * rng.normal(
        size=(len(pool[::9]), d)
    )  # some near-copies of examples
    example_ids = [f"issue-{i}" for i in range(n_ex)]
    if crops:
        pool_ids = [f"crop-{i:04d}" for i in range(n_pool)]
        frames = [f"frame-{v:03d}" for v in rng.integers(0, n_pool // 4, n_pool)]
    else:
        pool_ids = [f"frame-{v:04d}" for v in rng.permutation(n_pool)]
        frames = None
    return examples, example_ids, pool, pool_ids, frames


# ---------------------------------------------------------------- similarity


def test_l2_scores_keep_their_digits_far_from_the_origin(device: str) -> None:
    # Embeddings of norm ~1000 that differ by ~0.01-0.5: the expanded form
    # |a|^2 + |b|^2 - 2ab cancels every digit in float32; the score is measured on the
    # difference instead (float64 reference, 1e-6 relative).
    rng = np.random.default_rng(11)
    centers = rng.normal(size=(3, 16)) * 250.0
    ex = centers.astype(np.float32)
    pool = (
        np.repeat(centers, 20, axis=0)
        + rng.normal(size=(60, 16)) * rng.uniform(0.003, 0.1, size=(60, 1))
    ).astype(np.float32)
    ids = [f"f{i:02d}" for i in range(60)]
    result = collect_similar(
        torch.from_numpy(ex).to(device),
        ["a", "b", "c"],
        torch.from_numpy(pool).to(device),
        ids,
        metric="l2",
        top_n=60,
    )
    d = np.linalg.norm(pool.astype(np.float64)[:, None] - ex.astype(np.float64)[None], axis=2)
    ref = dict(zip(ids, 1.0 / (1.0 + d.min(axis=1)), strict=True))
    got = dict(zip(result.frame_ids, result.scores.tolist(), strict=True))
    assert sorted(got) == ids
    np.testing.assert_allclose([got[i] for i in ids], [ref[i] for i in ids], rtol=1e-6)
    assert [result.matched_example_ids[result.frame_ids.index(i)] for i in ids] == [
        "abc"[k // 20] for k in range(60)
    ]


@pytest.mark.parametrize("crops", [False, True])
@pytest.mark.parametrize("metric", ["cosine", "l2"])
@pytest.mark.parametrize("selection", ["threshold", "top_n"])
def test_matches_numpy_brute_force(crops: bool, metric: str, selection: str, device: str) -> None:
    ex, ex_ids, pool, pool_ids, frames = _scene(1, crops=crops)
    kwargs = {"top_n": 25} if selection == "top_n" else {"threshold": 0.3}
    result = collect_similar(
        torch.from_numpy(ex).to(device),
        ex_ids,
        torch.from_numpy(pool).to(device),
        pool_ids,
        pool_frames=frames,
        metric=metric,
        chunk_size=37,  # several chunks, one ragged
        **kwargs,
    )
    ref = _reference(ex, ex_ids, pool, pool_ids, frames, metric=metric, **kwargs)
    assert len(ref) > 5
    _assert_same(result, ref, tol=1e-6)
    assert result.num_frames_scored == len(set(frames or pool_ids))
    assert result.threshold == (0.3 if selection == "threshold" else None)
    assert result.top_n == (25 if selection == "top_n" else None)


def test_numpy_float64_inputs_are_scored_in_float64() -> None:
    ex, ex_ids, pool, pool_ids, frames = _scene(2, crops=True)
    ex64, pool64 = ex.astype(np.float64), pool.astype(np.float64)
    result = collect_similar(ex64, ex_ids, pool64, pool_ids, pool_frames=frames, threshold=0.0)
    _assert_same(result, _reference(ex64, ex_ids, pool64, pool_ids, frames, threshold=0.0), 1e-12)


def test_ties_between_frames_crops_and_examples() -> None:
    # One-hot vectors: every cosine is exactly 0 or 1.
    #   examples: "b" = e0, "a" = e0 (same vector, listed second), "c" = e1
    #   frame "z": crops z1 = e0, z2 = e0        -> 1.0, first crop z1, first example "b"
    #   frame "m": crop m1 = e1                  -> 1.0 ("c")
    #   frame "x": crop x1 = e2                  -> 0.0
    #   frame "a": crops a1 = e2, a2 = e1        -> 1.0 via a2 ("c")
    eye = np.eye(3, dtype=np.float32)
    examples = eye[[0, 0, 1]]
    pool = eye[[0, 0, 1, 2, 2, 1]]
    crops = ["z1", "z2", "m1", "x1", "a1", "a2"]
    frames = ["z", "z", "m", "x", "a", "a"]
    result = collect_similar(examples, ["b", "a", "c"], pool, crops, pool_frames=frames)
    assert result.frame_ids == ("a", "m", "z")  # all 1.0: by frame id
    assert result.scores.tolist() == [1.0, 1.0, 1.0]
    assert result.matched_example_ids == ("c", "c", "b")
    assert result.matched_pool_ids == ("a2", "m1", "z1")
    top = collect_similar(examples, ["b", "a", "c"], pool, crops, pool_frames=frames, top_n=4)
    assert top.frame_ids == ("a", "m", "z", "x") and top.scores.tolist() == [1, 1, 1, 0]
    assert _as_tuples(top) == _reference(examples, ["b", "a", "c"], pool, crops, frames, top_n=4)


def test_threshold_is_inclusive_and_top_n_ignores_it() -> None:
    # metric="l2": score 1 / (1 + distance); distance 1 scores exactly 0.5.
    examples = np.array([[0.0, 0.0]])
    pool = np.array([[1.0, 0.0], [3.0, 0.0], [0.0, 0.0], [0.0, 0.999]])
    ids = ["at-1", "at-3", "at-0", "inside"]
    result = collect_similar(examples, ["e"], pool, ids, metric="l2")
    assert result.frame_ids == ("at-0", "inside", "at-1")
    assert result.scores[2] == 0.5
    top = collect_similar(examples, ["e"], pool, ids, metric="l2", top_n=10, threshold=0.9)
    assert top.frame_ids == ("at-0", "inside", "at-1", "at-3")  # all 4: fewer than top_n
    assert top.scores[3] == 0.25 and top.threshold is None
    high = collect_similar(examples, ["e"], pool, ids, metric="l2", threshold=2.0)
    assert high.frame_ids == () and high.scores.shape == (0,)


def test_empty_pool() -> None:
    result = collect_similar(np.ones((2, 3)), ["a", "b"], np.zeros((0, 3)), [])
    assert len(result) == 0 and result.num_frames_scored == 0
    assert result.to_dict()["frame_ids"] == [] and result.scores.dtype == np.float64
    mc = collect_similar(
        np.ones((2, 3)), ["a", "b"], np.zeros((0, 3)), [], method="microcluster",
        reference=np.eye(3),
    )  # fmt: skip
    assert mc.frame_ids == () and mc.microclusters is not None


def test_result_is_frozen_data() -> None:
    result = collect_similar(np.eye(2), ["a", "b"], np.eye(2), ["f0", "f1"])
    out = result.to_dict()
    assert out["frame_ids"] == ["f0", "f1"] and out["scores"] == [1.0, 1.0]
    assert out["matched_example_ids"] == ["a", "b"] and out["method"] == "similarity"
    with pytest.raises(Exception, match="frozen"):
        result.top_n = 3  # type: ignore[misc]
    with pytest.raises(ValueError, match="read-only"):
        result.scores[0] = 0.0


# ---------------------------------------------------------------- microcluster


def _aquarium_port(examples, reference, pool, pca_dim, core_size):
    """Aquarium's open-source client, re-done with scikit-learn and loops (the oracle)."""
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import normalize

    ref_n = normalize(reference.astype(np.float64))
    n_comp = min(pca_dim, reference.shape[1], reference.shape[0])
    pca = PCA(n_components=n_comp, svd_solver="full").fit(ref_n)
    z_ref = pca.transform(ref_n)
    z_ex = pca.transform(normalize(examples.astype(np.float64)))
    core = [np.sort(np.linalg.norm(z_ref - v, axis=1))[core_size - 1] for v in z_ex]
    members: list[list[int]] = []
    centroids: list[np.ndarray] = []
    radii: list[float] = []
    for i, v in enumerate(z_ex):
        for j in range(len(members)):
            if np.linalg.norm(v - centroids[j]) < radii[j]:
                members[j].append(i)
                pts = z_ex[members[j]]
                centroids[j] = pts.mean(axis=0)
                max_delta = max(pts[:, k].max() - pts[:, k].min() for k in range(n_comp))
                radii[j] = max(radii[j], max_delta)
                break
        else:
            members.append([i])
            centroids.append(v)
            radii.append(core[i])
    out = []
    for v in pca.transform(normalize(pool.astype(np.float64))):
        best, best_j = 0.0, None
        for j in range(len(members)):
            score = max(1 - np.linalg.norm(v - centroids[j]) / (2 * radii[j]), 0)
            if score > best:
                best, best_j = score, j
        match = None
        if best_j is not None:
            m = members[best_j]
            match = m[int(np.argmin(np.linalg.norm(z_ex[m] - v, axis=1)))]
        out.append((best, match))
    return members, np.array(radii), out


@pytest.mark.parametrize("use_reference", [False, True])
def test_microcluster_matches_aquarium_port(use_reference: bool, device: str) -> None:
    rng = np.random.default_rng(3)
    d = 16
    centers = rng.normal(size=(5, d)) * 3
    pool = (centers[rng.integers(0, 5, 300)] + rng.normal(size=(300, d))).astype(np.float32)
    reference = (centers[rng.integers(0, 5, 500)] + rng.normal(size=(500, d))).astype(np.float32)
    examples = (centers[[0, 0, 0, 1, 1, 3]] + 0.5 * rng.normal(size=(6, d))).astype(np.float32)
    ex_ids = [f"ex{i}" for i in range(6)]
    pool_ids = [f"f{i:03d}" for i in range(300)]
    ref = reference if use_reference else pool
    result = collect_similar(
        torch.from_numpy(examples).to(device),
        ex_ids,
        torch.from_numpy(pool).to(device),
        pool_ids,
        method="microcluster",
        reference=torch.from_numpy(reference).to(device) if use_reference else None,
        pca_dim=8,
        core_size=5,
        top_n=300,
        chunk_size=64,
    )
    members, radii, scored = _aquarium_port(examples, ref, pool, pca_dim=8, core_size=5)
    mc = result.microclusters
    assert mc is not None
    assert [list(m) for m in mc.members] == [[ex_ids[i] for i in m] for m in members]
    assert any(len(m) > 1 for m in members) and len(members) > 1  # merging happened
    np.testing.assert_allclose(mc.radii, radii, rtol=1e-9)
    by_frame = dict(zip(result.frame_ids, result.scores.tolist(), strict=True))
    matched = dict(zip(result.frame_ids, result.matched_example_ids, strict=True))
    for fid, (score, match) in zip(pool_ids, scored, strict=True):
        assert by_frame[fid] == pytest.approx(score, abs=1e-9)
        if match is not None:
            assert matched[fid] == ex_ids[match]
    assert sum(s > 0 for s, _ in scored) > 20


def test_microcluster_score_by_hand() -> None:
    # Unit circle; the PCA keeps both dimensions, so it only rotates (distances kept).
    #
    #            p1 (60 deg)
    #           /
    #   p2 ----o---- e = p0 (0 deg)      e's 2nd-nearest reference point is p1:
    #  (180)                               chord 2 sin(30 deg) = 1 = radius r
    #
    # score = max(0, 1 - |v - c| / (2 r)): p0 -> 1, p1 -> 1 - 1/2 = 0.5, p2 -> 1 - 2/2 = 0.
    angles = np.radians([0.0, 60.0, 180.0])
    pool = np.stack([np.cos(angles), np.sin(angles)], axis=1) * [[3.0], [0.5], [7.0]]
    result = collect_similar(
        np.array([[2.0, 0.0]]), ["e"], pool, ["p0", "p1", "p2"],
        method="microcluster", core_size=2, top_n=3,
    )  # fmt: skip
    assert result.frame_ids == ("p0", "p1", "p2")
    np.testing.assert_allclose(result.scores, [1.0, 0.5, 0.0], atol=1e-12)
    assert result.matched_example_ids == ("e", "e", "e")
    mc = result.microclusters
    assert mc is not None and mc.radii.tolist() == pytest.approx([1.0], abs=1e-12)
    assert mc.centroids.shape == (1, 2) and mc.components.shape == (2, 2)
    assert mc.to_dict()["member_of"] == [0]


def test_fit_microclusters_caps_core_size_and_pca_dim() -> None:
    ref = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    mc = fit_microclusters(np.array([[1.0, 0.1, 0.0]]), ["e"], ref, pca_dim=64, core_size=16)
    assert mc.core_size == 2 and mc.components.shape == (2, 3)


# ---------------------------------------------------------------- bad input


def test_bad_input_names_field_and_first_offender() -> None:
    ex, pool = np.eye(3), np.eye(3)
    ids = ["a", "b", "c"]
    nan_pool = pool.copy()
    nan_pool[2, 1] = math.nan
    zero_pool = pool.copy()
    zero_pool[1] = 0.0
    cases = [
        (dict(method="knn"), ValueError, r"`method` to be one of \('similarity', 'microcluster'\)"),
        (dict(metric="dot"), ValueError, r"`metric` to be one of"),
        (dict(method="microcluster", metric="l2"), ValueError, r"'cosine' with method="),
        (dict(pool=nan_pool), ValueError, r"`pool` to be finite.*row 2"),
        (dict(pool=zero_pool), ValueError, r"`pool` to be finite, non-zero.*row 1"),
        (dict(examples=np.zeros((0, 3)), example_ids=[]), ValueError, r"at least one"),
        (dict(pool=np.ones((3, 4))), ValueError, r"`pool` to have dimension 3"),
        (dict(pool=np.ones(3)), ValueError, r"`pool` to be 2-D"),
        (dict(example_ids=["a", "b", "a"]), ValueError, r"`example_ids` to be unique.*'a'"),
        (dict(pool_ids=["f", "g", "f"]), ValueError, r"`pool_ids` to be unique.*'f'"),
        (dict(pool_ids=["f", "g"]), ValueError, r"`pool_ids` to hold 3 ids"),
        (dict(pool_frames=["f"]), ValueError, r"`pool_frames` to hold 3 ids"),
        (dict(pool_ids=["f", 2, "h"]), TypeError, r"str ids.*pool_ids\[1\] = 2"),
        (  # what os.fsdecode makes of a file name that is not UTF-8 (audit: UnicodeEncodeError)
            dict(pool_ids=["f", "g", "img_\udce9.jpg"]),
            ValueError,
            r"`pool_ids` to be valid UTF-8 text, but got 'img_\\udce9.jpg'.*pool_ids\[2\]",
        ),
        (
            dict(example_ids=["a\udcff", "b", "c"]),
            ValueError,
            r"`example_ids` to be valid UTF-8.*example_ids\[0\]",
        ),
        (
            dict(pool_frames=["f", "g\udce9", "h"]),
            ValueError,
            r"`pool_frames` to be valid UTF-8.*pool_frames\[1\]",
        ),
        (dict(example_ids="abc"), TypeError, r"sequence of str"),
        (dict(pool=[[1.0, 0, 0]]), TypeError, r"torch.Tensor or numpy array"),
        (dict(top_n=0), ValueError, r"`top_n` to be an int >= 1, but got 0"),
        (dict(threshold=math.nan), ValueError, r"`threshold` to be a finite float"),
        (dict(threshold="0.5"), TypeError, r"`threshold` to be a float"),
        (dict(method="microcluster", reference=np.ones((2, 5))), ValueError, r"`reference`"),
        (dict(method="microcluster", core_size=0), ValueError, r"`core_size` to be an int >= 1"),
    ]
    for override, error, pattern in cases:
        kwargs = {"examples": ex, "example_ids": ids, "pool": pool, "pool_ids": ["f", "g", "h"]}
        kwargs.update(override)
        with pytest.raises(error, match=pattern):
            collect_similar(**kwargs)


# ------------------------------------------------------- found by fuzzing (session 10)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cosine_of_vectors_whose_squares_overflow_or_underflow(dtype: type) -> None:
    tiny, huge = (1e-25, 1e20) if dtype == np.float32 else (1e-170, 1e170)
    ex = np.array([[1.0, 0.0]], dtype)
    pool = np.array([[tiny, 0.0], [huge, 0.0], [0.0, 1.0]], dtype)
    out = collect_similar(ex, ["e"], pool, ["tiny", "huge", "other"], top_n=3)
    assert dict(zip(out.frame_ids, out.scores.tolist(), strict=True)) == pytest.approx(
        {"huge": 1.0, "tiny": 1.0, "other": 0.0})


def test_threshold_is_compared_as_the_scores_are_reported() -> None:
    for dtype in (np.float32, np.float64):  # l2: 1 / (1 + 1) = 0.5 in both
        out = collect_similar(np.array([[0.0]], dtype), ["e"], np.array([[1.0]], dtype), ["a"],
                              metric="l2", threshold=0.5000000001)
        assert out.frame_ids == ()
        out = collect_similar(np.array([[0.0]], dtype), ["e"], np.array([[1.0]], dtype), ["a"],
                              metric="l2", threshold=0.5)
        assert out.frame_ids == ("a",)


def test_frame_ids_differing_by_a_trailing_nul_stay_two_frames() -> None:
    pool = np.array([[1.0, 0.0], [0.0, 1.0]], np.float32)
    out = collect_similar(np.array([[1.0, 0.0]], np.float32), ["e"], pool, ["c1", "c2"],
                          pool_frames=["a", "a\x00"], threshold=-1.0)
    assert out.num_frames_scored == 2 and set(out.frame_ids) == {"a", "a\x00"}


def test_an_example_exactly_at_a_radius_is_not_within_it() -> None:
    """An example's core neighbour is often another example, at exactly the radius:
    rounding of the two distance computations must not decide its microcluster."""
    rng = np.random.default_rng(1)
    joined = 0
    for _ in range(20):
        pool = rng.normal(size=(40, 8))
        unit = pool / np.linalg.norm(pool, axis=1, keepdims=True)
        b = int(np.argsort(np.linalg.norm(unit - unit[0], axis=1))[1])  # 0's nearest
        mc = fit_microclusters(pool[[0, b]], ["A", "B"], pool, pca_dim=8, core_size=2)
        joined += int(mc.member_of[1] == 0)
    assert joined == 0
