"""k-means vs faiss.Kmeans direct, silhouette vs scikit-learn, brute-force representatives."""

from __future__ import annotations

import faiss
import numpy as np
import pytest
import torch
from assay.engine.index import (
    KMeansResult,
    choose_num_clusters,
    cluster_representatives,
    kmeans,
    silhouette_score,
    silhouette_scores,
)

sklearn_metrics = pytest.importorskip("sklearn.metrics")


pytestmark = pytest.mark.usefixtures("faiss_one_thread")


def _blobs(
    sizes: list[int], d: int, seed: int, spread: float = 10.0, random_centers: bool = False
) -> np.ndarray:
    """Unit-variance blobs around ``spread * e_j`` (every pair of centres equally far
    apart), or around random centres of that scale."""
    rng = np.random.default_rng(seed)
    if random_centers:
        centers = rng.normal(size=(len(sizes), d)) * spread
    else:
        centers = np.eye(max(d, len(sizes)))[: len(sizes), :d] * spread
    parts = [c + rng.normal(size=(s, d)) for c, s in zip(centers, sizes, strict=True)]
    return np.concatenate(parts).astype(np.float32)


# ---------------------------------------------------------------- kmeans


def test_kmeans_is_faiss_kmeans_called_directly() -> None:
    x = np.random.default_rng(0).normal(size=(6000, 16)).astype(np.float32)
    result = kmeans(x, 20, niter=10, seed=3, max_points_per_centroid=100)
    km = faiss.Kmeans(16, 20, niter=10, seed=3, max_points_per_centroid=100)
    objective = km.train(x)
    dist, labels = km.index.search(x, 1)
    np.testing.assert_array_equal(result.centroids, km.centroids)  # bit for bit
    np.testing.assert_array_equal(result.assignment, labels.ravel())
    np.testing.assert_array_equal(result.sq_distances, np.maximum(dist.ravel(), 0))
    assert result.objective == objective
    assert result.assignment.dtype == np.int64 and result.sq_distances.dtype == np.float32
    assert (result.k, result.niter, result.seed) == (20, 10, 3)


def test_kmeans_is_deterministic_and_seed_matters() -> None:
    x = np.random.default_rng(1).normal(size=(3000, 8)).astype(np.float32)
    a, b = kmeans(x, 12, seed=5), kmeans(x, 12, seed=5)
    np.testing.assert_array_equal(a.centroids, b.centroids)
    np.testing.assert_array_equal(a.assignment, b.assignment)
    c = kmeans(x, 12, seed=6)
    assert not np.array_equal(a.centroids, c.centroids)


def test_kmeans_assignment_is_nearest_centroid_by_brute_force() -> None:
    x = _blobs([300, 200, 100], 5, seed=2)
    result = kmeans(x, 3)
    c = result.centroids.astype(np.float64)
    d2 = ((x[:, None, :].astype(np.float64) - c[None]) ** 2).sum(-1)
    np.testing.assert_array_equal(result.assignment, d2.argmin(axis=1))
    np.testing.assert_allclose(result.sq_distances, d2.min(axis=1), rtol=1e-4, atol=1e-4)


def test_kmeans_torch_input_and_assign_false(device: str) -> None:
    x = np.random.default_rng(3).normal(size=(1000, 6)).astype(np.float32)
    ref = kmeans(x, 7)
    out = kmeans(torch.from_numpy(x).to(device).double(), 7, assign=False)
    np.testing.assert_array_equal(out.centroids, ref.centroids)
    assert out.assignment is None and out.sq_distances is None
    assert out.to_dict()["assignment"] is None


def test_kmeans_k_equal_to_n_and_result_is_read_only() -> None:
    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    result = kmeans(x, 4)
    assert sorted(result.centroids.tolist()) == x.tolist()
    assert (result.sq_distances == 0).all()
    with pytest.raises(ValueError, match="read-only"):
        result.centroids[0, 0] = 1.0
    assert isinstance(result, KMeansResult)


def test_kmeans_bad_input() -> None:
    x = np.zeros((5, 2), np.float32)
    with pytest.raises(ValueError, match=r"`k` to be at most the number of points \(5\), but"):
        kmeans(x, 6)
    with pytest.raises(ValueError, match=r"`k` to be an int >= 1, but got 0"):
        kmeans(x, 0)
    with pytest.raises(TypeError, match=r"`k` to be an int"):
        kmeans(x, 2.0)  # type: ignore[arg-type]
    bad = x.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"`x` to be finite.*row 3"):
        kmeans(bad, 2)
    with pytest.raises(ValueError, match=r"`x` to be 2-D"):
        kmeans(np.zeros(5), 2)
    with pytest.raises(ValueError, match=r"`x` to have vectors of dimension at least 1"):
        kmeans(np.zeros((5, 0), np.float32), 2)  # faiss: floating-point exception
    with pytest.raises(ValueError, match=r"`niter` to be an int >= 1"):
        kmeans(x, 2, niter=0)


def test_seeds_past_a_c_int_reach_faiss_folded() -> None:
    """Audit: seed 2**31 was a raw OverflowError from FAISS's SWIG layer. Review: refusing
    it refused seeds that worked before; FAISS now gets ``seed % 2**31``."""
    x = np.random.default_rng(0).normal(size=(60, 3)).astype(np.float32)
    for seed in (5, 2**31 - 1):
        for big in (seed + 2**31, seed + 2**63):
            folded, same = kmeans(x, 3, seed=big), kmeans(x, 3, seed=seed)
            np.testing.assert_array_equal(folded.centroids, same.centroids)
            assert folded.seed == big  # the result records the seed given
    km = faiss.Kmeans(3, 3, niter=25, seed=5, max_points_per_centroid=256)
    km.train(x)
    np.testing.assert_array_equal(kmeans(x, 3, seed=5).centroids, km.centroids)
    top = 2**64 - 1
    kmeans(x, 2, seed=top)
    assert choose_num_clusters(x, [2, 3], seed=top) in (2, 3)
    assert silhouette_score(x, np.arange(60) % 2, sample_size=30, seed=top) == silhouette_score(
        x, np.arange(60) % 2, sample_size=30, seed=top
    )
    for call in (
        lambda seed: kmeans(x, 2, seed=seed),
        lambda seed: choose_num_clusters(x, [2, 3], seed=seed),
        lambda seed: silhouette_score(x, np.arange(60) % 2, seed=seed),
    ):
        for seed in (2**64, -1):
            message = rf"`seed` to be an int in \[0, 18446744073709551615\], but got {seed}"
            with pytest.raises(ValueError, match=message):
                call(seed)
        with pytest.raises(TypeError, match=r"`seed` to be an int, but got bool"):
            call(True)


# ---------------------------------------------------------------- silhouette


@pytest.mark.parametrize("case", ["random", "singletons", "blobs", "duplicates"])
def test_silhouette_matches_sklearn(case: str) -> None:
    rng = np.random.default_rng(4)
    x = rng.normal(size=(400, 7))
    labels = rng.integers(0, 5, 400)
    if case == "singletons":
        labels[:3] = [7, 8, 9]  # clusters of one member score 0
    elif case == "blobs":
        x = _blobs([150, 150, 100], 7, seed=5).astype(np.float64)
        labels = np.repeat([0, 1, 2], [150, 150, 100])
    elif case == "duplicates":
        x[100:200] = x[0]  # many distances of exactly 0
        labels[100:200] = labels[0]
    ours = silhouette_score(x, labels)
    ref = sklearn_metrics.silhouette_score(x.astype(np.float32), labels)
    assert ours == pytest.approx(ref, abs=1e-5)
    ref64 = sklearn_metrics.silhouette_score(x, labels)
    assert ours == pytest.approx(ref64, abs=1e-5)


def test_silhouette_sample_is_a_seeded_subset(device: str) -> None:
    x = _blobs([500, 400, 300], 4, seed=6).astype(np.float64)
    labels = np.repeat([0, 1, 2], [500, 400, 300])
    rows = np.sort(np.random.default_rng(9).choice(1200, 200, replace=False))
    ours = silhouette_score(torch.from_numpy(x).to(device), labels, sample_size=200, seed=9)
    assert ours == pytest.approx(sklearn_metrics.silhouette_score(x[rows], labels[rows]), abs=1e-9)


def test_silhouette_scores_match_sklearn_on_the_same_sample() -> None:
    # Random centres: no point sits on a boundary where float32 and float64 disagree.
    x = _blobs([400, 300, 300, 200], 6, seed=7, random_centers=True)
    scores = silhouette_scores(x, [2, 3, 4, 5, 6], sample_size=500, seed=1)
    rows = np.sort(np.random.default_rng(1).choice(len(x), 500, replace=False))
    for k, ours in scores.items():
        centroids = kmeans(x, k, seed=1, init="k-means++", nredo=3, assign=False).centroids
        d2 = ((x[rows, None, :].astype(np.float64) - centroids[None]) ** 2).sum(-1)
        ref = sklearn_metrics.silhouette_score(x[rows], d2.argmin(axis=1))
        assert ours == pytest.approx(ref, abs=1e-6), k
    print("silhouette by k:", {k: round(v, 4) for k, v in scores.items()})


@pytest.mark.parametrize("true_k", [2, 4, 7])
def test_choose_num_clusters_finds_a_clear_cut_mixture(true_k: int) -> None:
    x = _blobs([120] * true_k, 10, seed=true_k, spread=20.0)
    chosen = choose_num_clusters(x, range(2, 10), sample_size=600)
    assert chosen == true_k
    # scikit-learn's silhouette of the same clusterings (all points) picks the same k.
    best = max(
        range(2, 10),
        key=lambda k: sklearn_metrics.silhouette_score(
            x, kmeans(x, k, seed=0, init="k-means++", nredo=3).assignment
        ),
    )
    assert best == true_k


def test_choose_num_clusters_never_builds_n_by_n() -> None:
    # 120,000 points: an N x N float64 matrix would need 115 GB; the sample needs 8 MB.
    x = _blobs([30_000] * 4, 4, seed=8, spread=20.0)
    assert choose_num_clusters(x, [3, 4, 5], sample_size=1000, niter=5, nredo=1) == 4


def test_choose_num_clusters_rejects_bad_candidates_and_identical_points() -> None:
    x = _blobs([20, 20], 3, seed=9)
    with pytest.raises(ValueError, match=r"ints in \[2, 39\].*got 40"):
        choose_num_clusters(x, [2, 40])
    with pytest.raises(ValueError, match=r"ints in \[2, 39\].*got 1"):
        choose_num_clusters(x, [1, 2])
    with pytest.raises(ValueError, match=r"non-empty"):
        choose_num_clusters(x, [])
    with pytest.raises(ValueError, match=r"distinct"):
        choose_num_clusters(x, [2, 2])
    with pytest.raises(TypeError, match=r"hold ints.*2.5"):
        choose_num_clusters(x, [2.5])  # type: ignore[list-item]
    with pytest.raises(ValueError, match=r"distinct points"):
        choose_num_clusters(np.ones((30, 3)), [2, 3])
    with pytest.raises(ValueError, match=r"between 2 and"):
        silhouette_score(x, np.zeros(40, dtype=np.int64))


# ---------------------------------------------------------------- representatives


def _brute_representatives(x: np.ndarray, result: KMeansResult, per: int) -> list[int]:
    out: list[int] = []
    c = result.centroids.astype(np.float64)
    for j in range(result.k):
        members = np.flatnonzero(result.assignment == j)
        d2 = ((x[members].astype(np.float64) - c[j]) ** 2).sum(axis=1)
        ranked = sorted(zip(d2.tolist(), members.tolist(), strict=True))  # ties: lower index
        out.extend(i for _, i in ranked[:per])
    return out


@pytest.mark.parametrize("per_cluster", [1, 3, 50])
def test_representatives_match_brute_force(per_cluster: int) -> None:
    x = _blobs([60, 40, 5], 4, seed=10)
    x[10] = x[11] = x[12]  # exact ties inside a cluster
    result = kmeans(x, 3)
    reps = cluster_representatives(x, result, per_cluster=per_cluster)
    assert reps.dtype == np.int64
    assert reps.tolist() == _brute_representatives(x, result, per_cluster)


def test_representatives_ties_go_to_the_lower_index() -> None:
    # Four points around the centroid (0, 0) at the same distance.
    x = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0], [50.0, 0.0]], np.float32)
    result = kmeans(x, 2)
    reps = cluster_representatives(x, result, per_cluster=2)
    far = int(result.assignment[4])
    assert sorted(reps.tolist()) == [0, 1, 4]
    assert reps.tolist() == ([4, 0, 1] if far == 0 else [0, 1, 4])


def test_representatives_without_assignment_and_bad_input() -> None:
    x = _blobs([30, 30], 3, seed=11)
    full = kmeans(x, 2)
    lean = kmeans(x, 2, assign=False)
    np.testing.assert_array_equal(
        cluster_representatives(x, lean, 2), cluster_representatives(x, full, 2)
    )
    with pytest.raises(ValueError, match=r"`per_cluster` to be an int >= 1"):
        cluster_representatives(x, full, 0)
    with pytest.raises(ValueError, match=r"`result.centroids` to have dimension 4"):
        cluster_representatives(np.zeros((60, 4)), full)
    with pytest.raises(ValueError, match=r"one label per row of `x` \(10\)"):
        cluster_representatives(x[:10], full)
