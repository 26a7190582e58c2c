"""Diversity kernels against NumPy float64 brute force (full distance matrices).

Hard cases: duplicate points (exact-zero distances, more picks than distinct points),
integer grids (exactly tied distances), an initial labeled set, chunk boundaries,
empty inputs; k-means++ seeding checked for determinism and against the exact D^2
sampling law.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from assay.kernels import diversity as Dv
from assay.kernels import k_center_greedy, kmeans_plus_plus, min_sq_distances

DTYPES = [torch.float32, torch.float64]


def np_sq_dist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return ((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=-1)


def np_k_center(
    x: np.ndarray, k: int, initial: np.ndarray | None = None, first: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Farthest-first traversal on the full float64 distance matrix; ties -> lowest index."""
    full = np_sq_dist(x, x)
    n = x.shape[0]
    selected = np.zeros(n, dtype=bool)
    if initial is not None and initial.size:
        min_d = full[:, initial].min(axis=1)
        selected[initial] = True
        k = min(k, n - initial.size)
        pick = None
    else:
        min_d = np.full(n, np.inf)
        pick = first
        k = min(k, n)
    picks, radii = [], []
    for _ in range(k):
        if pick is None:
            pick = int(np.argmax(np.where(selected, -np.inf, min_d)))
        picks.append(pick)
        radii.append(np.sqrt(min_d[pick]))
        selected[pick] = True
        min_d = np.minimum(min_d, full[:, pick])
        pick = None
    return np.array(picks, dtype=np.int64), np.array(radii)


def _data(kind: str, n: int, d: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "gaussian":
        return rng.normal(size=(n, d))
    if kind == "offset":  # far from the origin: cancellation for |x|^2 - 2xc + |c|^2
        return rng.normal(size=(n, d)) + 100.0
    if kind == "duplicates":  # 12 distinct points repeated in shuffled order
        return rng.normal(size=(12, d))[rng.integers(0, 12, size=n)]
    if kind == "grid":  # integer coordinates: many exactly tied distances, exact in float32
        return rng.integers(-3, 4, size=(n, d)).astype(np.float64)
    raise AssertionError(kind)


KINDS = ["gaussian", "offset", "duplicates", "grid"]


# --------------------------------------------------------------- min_sq_distances


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("num_centers", [1, 5, 40])  # 40 > 32: the expanded form
def test_min_sq_distances_vs_brute_force(
    device: str, dtype: torch.dtype, kind: str, num_centers: int
) -> None:
    x = torch.tensor(_data(kind, 150, 6), dtype=dtype, device=device)
    centers = x[torch.arange(3, 3 + 3 * num_centers, 3, device=device)]  # some points are centers
    ref = np_sq_dist(x.cpu().double().numpy(), centers.cpu().double().numpy())
    for chunk in (None, 7):
        min_sq, argmin = min_sq_distances(x, centers, chunk_size=chunk)
        assert min_sq.dtype == dtype and argmin.dtype == torch.int64
        assert min_sq.device == x.device and min_sq.shape == argmin.shape == (150,)
        tol = {"rtol": 1e-5, "atol": 1e-4} if dtype == torch.float32 else {"rtol": 1e-12}
        np.testing.assert_allclose(min_sq.cpu().double().numpy(), ref.min(axis=1), **tol)
        am = argmin.cpu().numpy()
        # the returned distance is the distance to the returned center
        np.testing.assert_allclose(ref[np.arange(150), am], ref.min(axis=1), **tol)
        if num_centers <= Dv._EXACT_MAX_CENTERS or kind in ("gaussian", "offset"):
            # exact form: ties -> lowest index; expanded form: only without exact ties
            np.testing.assert_array_equal(am, ref.argmin(axis=1))
        is_center = np.isin(np.arange(150), np.arange(3, 3 + 3 * num_centers, 3))
        assert (min_sq.cpu().numpy()[is_center] == 0).all()  # exact zero, not rounding noise


def test_min_sq_distances_empty(device: str) -> None:
    x = torch.randn(4, 3, device=device)
    min_sq, argmin = min_sq_distances(x, torch.empty(0, 3, device=device))
    assert torch.isinf(min_sq).all() and (argmin == -1).all()
    min_sq, argmin = min_sq_distances(torch.empty(0, 3, device=device), x)
    assert min_sq.shape == argmin.shape == (0,)


# ---------------------------------------------------------------- k-center greedy


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", KINDS)
def test_k_center_greedy_vs_brute_force(device: str, dtype: torch.dtype, kind: str) -> None:
    raw = _data(kind, 120, 5, seed=1)
    x = torch.tensor(raw, dtype=dtype, device=device)
    xr = x.cpu().double().numpy()
    for k, first, chunk in ((1, None, None), (25, None, None), (25, 17, 11), (120, 3, 50)):
        res = k_center_greedy(x, k, first=first, chunk_size=chunk)
        ref_idx, ref_radii = np_k_center(xr, k, first=0 if first is None else first)
        assert res.indices.dtype == torch.int64 and res.radii.dtype == dtype
        assert res.indices.device == x.device
        np.testing.assert_array_equal(res.indices.cpu().numpy(), ref_idx)
        np.testing.assert_allclose(res.radii.cpu().double().numpy(), ref_radii, rtol=1e-5)
    if kind == "duplicates":  # 120 picks of 12 distinct points: zeros, ties by index
        assert len(set(res.indices.tolist())) == 120
        assert (res.radii[12:] == 0).all()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", KINDS)
def test_k_center_greedy_with_initial(device: str, dtype: torch.dtype, kind: str) -> None:
    raw = _data(kind, 100, 4, seed=2)
    x = torch.tensor(raw, dtype=dtype, device=device)
    xr = x.cpu().double().numpy()
    for initial in (np.array([5]), np.array([40, 2, 77, 13]), np.arange(0, 100, 2)):  # 50 > 32
        init = torch.tensor(initial, device=device)
        for k in (1, 20, 100):  # 100: clamped to N - len(initial)
            res = k_center_greedy(x, k, initial=init, chunk_size=9)
            ref_idx, ref_radii = np_k_center(xr, k, initial=initial)
            np.testing.assert_array_equal(res.indices.cpu().numpy(), ref_idx)
            np.testing.assert_allclose(res.radii.cpu().double().numpy(), ref_radii, rtol=1e-5)
            assert not np.isin(res.indices.cpu().numpy(), initial).any()


def test_k_center_greedy_radii_and_edge_cases(device: str) -> None:
    x = torch.tensor(_data("gaussian", 60, 3, seed=3), dtype=torch.float32, device=device)
    res = k_center_greedy(x, 30)
    radii = res.radii.cpu().numpy()
    assert np.isinf(radii[0]) and (np.diff(radii[1:]) <= 0).all()  # covering radius shrinks
    empty = k_center_greedy(torch.empty(0, 3, device=device), 5)
    assert empty.indices.shape == empty.radii.shape == (0,)
    assert k_center_greedy(x, 0).indices.shape == (0,)
    with pytest.raises(ValueError, match="Expected `first` to be None"):
        k_center_greedy(x, 2, initial=torch.tensor([0], device=device), first=1)


@pytest.mark.parametrize("dtype", DTYPES)
def test_device_update_form_matches_cdist(device: str, dtype: torch.dtype) -> None:
    # GPUs update the running minimum with chunked norms of the difference, the CPU
    # with cdist: both forms, on every device, agree to rounding and keep exact zeros.
    x = torch.tensor(_data("gaussian", 101, 6, seed=4), dtype=dtype, device=device)
    start = torch.rand(101, generator=torch.Generator().manual_seed(0)).to(device, dtype) * 5
    for rows in (1, 7, 101, 1000):
        ref, got = start.clone(), start.clone()
        center = x[17:18]
        torch.minimum(ref, Dv._distances(x, center).squeeze(1), out=ref)
        Dv._update_nearest_chunks(got, x, center, rows)
        rtol = 1e-6 if dtype == torch.float32 else 1e-14
        np.testing.assert_allclose(got.cpu().numpy(), ref.cpu().numpy(), rtol=rtol)
        assert float(got[17]) == 0.0


# --------------------------------------------------------------------- k-means++


def test_kmeans_plus_plus_is_deterministic_and_distinct(device: str) -> None:
    x = torch.tensor(_data("gaussian", 500, 8, seed=5), dtype=torch.float32, device=device)

    def seeds(seed: int, k: int = 20, data: torch.Tensor = x) -> list[int]:
        g = torch.Generator(device=device).manual_seed(seed)
        out = kmeans_plus_plus(data, k, generator=g, chunk_size=64)
        assert out.dtype == torch.int64 and out.device == data.device
        return out.tolist()

    a, b, c = seeds(0), seeds(0), seeds(1)
    assert a == b and a != c
    for s in (a, c):
        assert len(set(s)) == 20 and all(0 <= i < 500 for i in s)
    # fewer distinct points than seeds: still distinct indices, every distinct point seeded
    dup = torch.tensor(_data("duplicates", 50, 3, seed=6), dtype=torch.float32, device=device)
    s = seeds(2, k=30, data=dup)
    assert len(set(s)) == 30 and all(0 <= i < 50 for i in s)
    assert len({tuple(r) for r in dup[s].tolist()}) == len({tuple(r) for r in dup.tolist()})
    # k > N: a permutation
    assert sorted(seeds(3, k=80, data=dup)) == list(range(50))
    assert kmeans_plus_plus(torch.empty(0, 3, device=device), 4).shape == (0,)


def test_kmeans_plus_plus_follows_the_d2_law() -> None:
    """Empirical law of the first two seeds vs the exact k-means++ law (4-sigma bounds)."""
    x = torch.tensor([[0.0], [1.0], [3.0], [7.0]], dtype=torch.float64)
    d2 = np_sq_dist(x.numpy(), x.numpy())
    exact = d2 / d2.sum(axis=1, keepdims=True) / 4  # P(first = i, second = j)
    runs = 2000
    counts = np.zeros((4, 4))
    for seed in range(runs):
        first, second = kmeans_plus_plus(x, 2, generator=torch.Generator().manual_seed(seed))
        counts[int(first), int(second)] += 1
    freq = counts / runs
    sigma = np.sqrt(exact * (1 - exact) / runs)
    assert np.all(np.abs(freq - exact) <= 4 * sigma + 1e-12), (freq, exact)
    assert np.all(np.diag(counts) == 0)


def test_k_center_greedy_initial_distances_need_no_correctly_rounded_sqrt(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """MKL builds of torch take the CPU ``sqrt`` from MKL, within an ulp, not correctly
    rounded (``sqrt(2.0)`` one ulp low on the GPU machine of session 12). The initial
    distances to more than ``_EXACT_MAX_CENTERS`` centers must then still equal the
    per-pick updates' ``cdist``, or exact ties go to the wrong index: here every
    ``sqrt`` is made one ulp low, and the picks must not move."""
    def low_sqrt(t: torch.Tensor) -> torch.Tensor:
        exact = torch.sqrt(t)
        return torch.nextafter(exact, torch.zeros_like(exact))

    monkeypatch.setattr(torch.Tensor, "sqrt_", lambda self: self.copy_(low_sqrt(self)))
    monkeypatch.setattr(torch.Tensor, "sqrt", lambda self: low_sqrt(self))
    raw = _data("grid", 100, 4, seed=2)
    x = torch.tensor(raw, dtype=torch.float64)
    initial = np.arange(0, 100, 2)  # 50 > 32 centers: the expanded form finds the nearest
    res = k_center_greedy(x, 100, initial=torch.tensor(initial), chunk_size=9)
    ref_idx, _ = np_k_center(raw, 100, initial=initial)
    np.testing.assert_array_equal(res.indices.numpy(), ref_idx)


# ----------------------------------------------------------------------- scale


SCALES = (2.0**-80, 2.0**60, 2.0**-600, 2.0**515)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dim", [3, 256])
def test_picks_do_not_depend_on_the_scale(device: str, dtype: torch.dtype, dim: int) -> None:
    """Audit: float32 embeddings of magnitude ~1e-25 have squares that underflow to 0 (every
    distance 0: the picks fell back to index order), and at ~1e19 with D = 256 squares
    that overflow (every distance inf); float64 the same at 2**-600 and 2**515. Points are
    now scaled by a power of two into range: the same picks at every scale, and radii in
    the points' own units."""
    raw = _data("gaussian", 80, dim, seed=7)
    x = torch.tensor(raw, dtype=dtype, device=device)
    initial = torch.tensor([4, 50, 61], device=device)
    ref = k_center_greedy(x, 30)
    ref_init = k_center_greedy(x, 30, initial=initial)
    ref_seeds = kmeans_plus_plus(x, 12, generator=torch.Generator(device).manual_seed(3))
    big = torch.finfo(dtype).max
    for scale in SCALES:
        if raw.max() * scale * 4 > big or raw.max() * scale < torch.finfo(dtype).tiny:
            continue  # 2**-600 and 2**515 are for float64 (float32 cannot hold them)
        xs = x * scale
        assert torch.equal(xs / scale, x)  # exact: a power of two
        for got, want in ((k_center_greedy(xs, 30), ref),
                          (k_center_greedy(xs, 30, initial=initial), ref_init)):
            assert got.indices.tolist() == want.indices.tolist(), scale
            assert torch.equal(got.radii, want.radii * scale), scale
        seeds = kmeans_plus_plus(xs, 12, generator=torch.Generator(device).manual_seed(3))
        assert seeds.tolist() == ref_seeds.tolist(), scale
