"""EmbeddingIndex against exact brute force (NumPy float64), FAISS kinds, persistence, bad input."""

from __future__ import annotations

import errno
import json
import math
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from assay.engine.index import EmbeddingIndex, SearchResult, embedding_index, ivf_nlist

pytestmark = pytest.mark.usefixtures("faiss_one_thread")


def _clustered(n: int, d: int, centers: int, seed: int, spread: float = 4.0) -> np.ndarray:
    """Gaussian blobs (unit noise around centres of scale ``spread``): embedding-like data."""
    rng = np.random.default_rng(seed)
    c = rng.normal(size=(centers, d)) * spread
    return (c[rng.integers(0, centers, n)] + rng.normal(size=(n, d))).astype(np.float32)


def _brute(x: np.ndarray, q: np.ndarray, k: int, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """Exact k-NN in float64: (indices, scores), squared L2 ascending or cosine descending."""
    x64, q64 = x.astype(np.float64), q.astype(np.float64)
    if metric == "cosine":
        x64 /= np.linalg.norm(x64, axis=1, keepdims=True)
        q64 /= np.linalg.norm(q64, axis=1, keepdims=True)
        s = q64 @ x64.T
        idx = np.argsort(-s, axis=1, kind="stable")[:, :k]
    else:
        s = ((q64[:, None, :] - x64[None, :, :]) ** 2).sum(-1)
        idx = np.argsort(s, axis=1, kind="stable")[:, :k]
    return idx, np.take_along_axis(s, idx, axis=1)


def _recall(found: list[list[str]], truth: list[list[str]]) -> float:
    hits = sum(len(set(f) & set(t)) for f, t in zip(found, truth, strict=True))
    return hits / sum(len(t) for t in truth)


def _ids(n: int, prefix: str = "frame-") -> list[str]:
    return [f"{prefix}{i:05d}" for i in range(n)]


# ---------------------------------------------------------------- exact search


@pytest.mark.parametrize("metric", ["l2", "cosine"])
@pytest.mark.parametrize("as_torch", [False, True])
def test_flat_equals_brute_force(metric: str, as_torch: bool, device: str) -> None:
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, size=(3000, 24)).astype(np.float32)
    q = rng.uniform(-1, 1, size=(57, 24)).astype(np.float32)
    ids = _ids(len(x))
    index = EmbeddingIndex(24, metric=metric, kind="flat")
    if as_torch:
        index.add(ids[:1000], torch.from_numpy(x[:1000]).to(device))
        index.add(ids[1000:], torch.from_numpy(x[1000:]).double().to(device))
        hit = index.search(torch.from_numpy(q).to(device), 10)
    else:
        index.add(ids[:1000], x[:1000])
        index.add(ids[1000:], x[1000:].astype(np.float64))
        hit = index.search(q, 10)
    ref_idx, ref_scores = _brute(x, q, 10, metric)
    truth = [[ids[i] for i in row] for row in ref_idx]
    assert hit.kind == "flat" and hit.metric == metric
    assert hit.scores.shape == (57, 10) and hit.scores.dtype == np.float32
    assert _recall(hit.ids, truth) == 1.0
    assert hit.ids == truth  # continuous data: no ties, same order
    np.testing.assert_allclose(hit.scores, ref_scores, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("metric", ["l2", "cosine"])
def test_ivf_probing_every_list_is_exact(metric: str) -> None:
    data = _clustered(4030, 16, 20, seed=2)
    x, q = data[:4000], data[4000:]
    index = EmbeddingIndex(16, metric=metric, kind="ivf")
    index.add(_ids(len(x)), x)
    index.build()
    nlist = ivf_nlist(len(x))
    hit = index.search(q, 5, nprobe=nlist)
    ref_idx, ref_scores = _brute(x, q, 5, metric)
    assert hit.kind == "ivf"
    assert _recall(hit.ids, [[f"frame-{i:05d}" for i in r] for r in ref_idx]) == 1.0
    np.testing.assert_allclose(hit.scores, ref_scores, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("kind", ["ivf", "hnsw"])
@pytest.mark.parametrize("metric", ["l2", "cosine"])
def test_approximate_recall_on_clustered_data(kind: str, metric: str) -> None:
    # 200 overlapping blobs; queries are held-out points of the same blobs.
    data = _clustered(8200, 32, 200, seed=4, spread=1.0)
    x, q = data[:8000], data[8000:]
    ids = _ids(len(x))
    exact = EmbeddingIndex(32, metric=metric, kind="flat")
    exact.add(ids, x)
    approx = EmbeddingIndex(32, metric=metric, kind=kind)
    approx.add(ids, x)
    recall = _recall(approx.search(q, 10).ids, exact.search(q, 10).ids)
    print(f"{kind} {metric} recall@10 with default parameters: {recall:.4f}")
    assert recall >= 0.85  # measured here: ivf 0.94 / hnsw 1.00 (l2)


def test_auto_switches_to_ivf_past_the_threshold_and_stays_correct() -> None:
    x = _clustered(3000, 8, 10, seed=6)
    ids = _ids(len(x))
    index = EmbeddingIndex(8, kind="auto", auto_flat_max=2000)
    index.add(ids[:1500], x[:1500])
    assert index.resolved_kind == "flat"
    assert index.search(x[:5], 3).kind == "flat"
    index.add(ids[1500:], x[1500:])
    assert index.resolved_kind == "ivf"
    hit = index.search(x[:50], 1, nprobe=ivf_nlist(3000))
    assert hit.kind == "ivf"
    assert [row[0] for row in hit.ids] == ids[:50]  # each point finds itself
    index.remove(ids[1000:])  # back below the threshold: flat again
    assert index.resolved_kind == "flat"
    assert index.search(x[:3], 1).ids == [[ids[0]], [ids[1]], [ids[2]]]


def test_ivf_retrains_after_growing_fourfold() -> None:
    x = _clustered(5000, 8, 10, seed=7)
    ids = _ids(len(x))
    index = EmbeddingIndex(8, kind="ivf")
    index.add(ids[:1000], x[:1000])
    index.build()
    assert index._faiss.nlist == ivf_nlist(1000)
    index.add(ids[1000:3000], x[1000:3000])  # 3x: kept, vectors added to it
    assert index._faiss is not None and index._faiss.ntotal == 3000
    index.add(ids[3000:], x[3000:])  # 5x: dropped, retrained lazily
    assert index._faiss is None
    index.search(x[:1], 1)
    assert index._faiss.nlist == ivf_nlist(5000)


# ---------------------------------------------------------------- add / remove


@pytest.mark.parametrize("kind", ["flat", "ivf", "hnsw"])
def test_removed_ids_are_never_returned_and_rest_stays_exact(kind: str) -> None:
    x = _clustered(2000, 8, 10, seed=8)
    ids = _ids(len(x))
    index = EmbeddingIndex(8, kind=kind, ef_search=400)
    index.add(ids, x)
    index.build()
    rng = np.random.default_rng(0)
    gone = sorted(rng.choice(len(x), 150, replace=False).tolist())
    assert index.remove([ids[i] for i in gone]) == 150
    assert len(index) == 1850
    keep = np.setdiff1d(np.arange(len(x)), gone)
    kept_ids = [ids[i] for i in keep]
    assert index.ids == kept_ids
    q = x[gone[:40]]
    nprobe = ivf_nlist(2000)
    hit = index.search(q, 5, nprobe=nprobe)
    removed = {ids[i] for i in gone}
    assert not any(i in removed for row in hit.ids for i in row)
    ref_idx, _ = _brute(x[keep], q, 5, "l2")
    truth = [[kept_ids[i] for i in row] for row in ref_idx]
    recall = _recall(hit.ids, truth)
    assert recall == 1.0 if kind != "hnsw" else recall >= 0.99
    np.testing.assert_array_equal(index.vectors(kept_ids[:10]), x[keep[:10]])


def test_hnsw_rebuilds_once_a_fifth_is_removed() -> None:
    x = _clustered(1000, 8, 5, seed=9)
    ids = _ids(len(x))
    index = EmbeddingIndex(8, kind="hnsw")
    index.add(ids, x)
    index.build()
    index.remove(ids[:100])
    assert index._faiss is not None and index._tombstones.size == 100
    index.remove(ids[100:250])
    assert index._faiss is None  # 250 > 0.2 * 1000: rebuilt at the next search
    hit = index.search(x[250:260], 1)
    assert [r[0] for r in hit.ids] == ids[250:260]
    assert index._faiss.ntotal == 750


def test_add_after_build_goes_into_the_structure() -> None:
    x = _clustered(1200, 8, 5, seed=10)
    ids = _ids(len(x))
    for kind in ("ivf", "hnsw"):
        index = EmbeddingIndex(8, kind=kind)
        index.add(ids[:1000], x[:1000])
        index.build()
        index.add(ids[1000:], x[1000:])
        assert index._faiss.ntotal == 1200
        hit = index.search(x[1000:1010], 1, nprobe=ivf_nlist(1000))
        assert [r[0] for r in hit.ids] == ids[1000:1010]


def test_string_ids_roundtrip_through_vectors() -> None:
    names = ["img/0001.jpg#crop-3", "ünïcödé", "42", "", "a b c"]
    x = np.arange(15, dtype=np.float32).reshape(5, 3)
    index = EmbeddingIndex(3)
    index.add(names, x)
    assert index.ids == names and len(index) == 5 and "42" in index and "43" not in index
    np.testing.assert_array_equal(index.vectors(["a b c", "42"]), x[[4, 2]])
    hit = index.search(x[[1]], 2)
    assert hit.ids == [["ünïcödé", "42"]] or hit.ids == [["ünïcödé", "img/0001.jpg#crop-3"]]
    assert hit.ids[0][0] == "ünïcödé"


def test_cosine_index_stores_unit_vectors() -> None:
    index = EmbeddingIndex(2, metric="cosine")
    index.add(["a"], np.array([[3.0, 4.0]]))
    np.testing.assert_allclose(index.vectors(["a"]), [[0.6, 0.8]], rtol=1e-6)
    hit = index.search(np.array([[6.0, 8.0]]), 1)
    np.testing.assert_allclose(hit.scores, [[1.0]], rtol=1e-6)


# ---------------------------------------------------------------- k beyond the size


def test_k_larger_than_index_returns_fewer_columns() -> None:
    index = EmbeddingIndex(2)
    index.add(["a", "b", "c"], np.array([[0.0, 0.0], [1.0, 0.0], [3.0, 0.0]]))
    hit = index.search(np.array([[0.9, 0.0]]), 10)
    assert hit.ids == [["b", "a", "c"]]
    np.testing.assert_allclose(hit.scores, [[0.01, 0.81, 4.41]], rtol=1e-5)


def test_empty_index_and_empty_queries() -> None:
    index = EmbeddingIndex(4)
    hit = index.search(np.zeros((2, 4)), 3)
    assert hit.ids == [[], []] and hit.scores.shape == (2, 0)
    index.add(["a"], np.ones((1, 4)))
    hit = index.search(np.zeros((0, 4)), 3)
    assert hit.ids == [] and hit.scores.shape == (0, 1)
    index.add([], np.zeros((0, 4)))
    assert len(index) == 1


def test_approximate_index_that_finds_fewer_pads_with_nan() -> None:
    # Two far-apart blobs, IVF probing one list: a query in one blob cannot see the other.
    x = np.concatenate([np.zeros((50, 2)), np.full((50, 2), 100.0)]).astype(np.float32)
    x += np.random.default_rng(0).normal(size=x.shape).astype(np.float32) * 0.01
    index = EmbeddingIndex(2, kind="ivf", nlist=2, nprobe=1)
    index.add(_ids(100), x)
    hit = index.search(x[:1], 80)
    assert len(hit.ids[0]) == 50 and hit.scores.shape == (1, 80)
    assert np.isnan(hit.scores[0, 50:]).all() and np.isfinite(hit.scores[0, :50]).all()
    out = hit.to_dict()
    assert out["scores"][0][50] is None and len(out["ids"][0]) == 50
    json.dumps(out)


def test_search_result_is_data() -> None:
    scores = np.array([[0.5]], np.float32)
    result = SearchResult(ids=[["a"]], scores=scores, metric="l2", kind="flat")
    assert result.to_dict() == {"ids": [["a"]], "scores": [[0.5]], "metric": "l2", "kind": "flat"}
    with pytest.raises(Exception, match="frozen"):
        result.metric = "cosine"  # type: ignore[misc]


# ---------------------------------------------------------------- persistence


@pytest.mark.parametrize("kind", ["flat", "ivf", "hnsw", "auto"])
@pytest.mark.parametrize("metric", ["l2", "cosine"])
def test_save_load_roundtrip(tmp_path, kind: str, metric: str) -> None:
    x = _clustered(1500, 8, 5, seed=11)
    ids = _ids(len(x))
    index = EmbeddingIndex(8, metric=metric, kind=kind, ef_search=100)
    index.add(ids, x)
    index.build()
    index.remove(ids[:30])
    before = index.search(x[:20], 5)
    folder = index.save(tmp_path / "idx")
    loaded = EmbeddingIndex.load(folder)
    assert (loaded.dim, loaded.metric, loaded.kind) == (8, metric, kind)
    assert loaded.ids == index.ids and len(loaded) == 1470
    np.testing.assert_array_equal(loaded.vectors(ids[30:40]), index.vectors(ids[30:40]))
    after = loaded.search(x[:20], 5)
    assert after.ids == before.ids
    np.testing.assert_array_equal(after.scores, before.scores)
    if kind in ("ivf", "hnsw"):
        assert loaded._faiss is not None  # not retrained
    loaded.add(["new"], x[:1] + 0.001)
    assert loaded.search(x[:1] + 0.001, 1).ids == [["new"]]
    with pytest.raises(ValueError, match="`ids` to be new"):
        loaded.add([ids[40]], x[:1])


def test_load_validates(tmp_path) -> None:
    index = EmbeddingIndex(3, kind="hnsw")
    index.add(["a", "b"], np.eye(3, dtype=np.float32)[:2])
    index.build()
    folder = index.save(tmp_path / "idx")

    with pytest.raises(ValueError, match="could not be read"):
        EmbeddingIndex.load(tmp_path / "missing")

    meta = json.loads((folder / "meta.json").read_text())
    (folder / "meta.json").write_text(json.dumps({**meta, "format": "other"}))
    with pytest.raises(ValueError, match=r"format 'assay.EmbeddingIndex'"):
        EmbeddingIndex.load(folder)
    (folder / "meta.json").write_text(json.dumps({**meta, "metric": "dot"}))
    with pytest.raises(ValueError, match=r"valid settings.*`metric`"):
        EmbeddingIndex.load(folder)
    (folder / "meta.json").write_text(json.dumps(meta))

    token = meta["save_token"]

    def write_ids(ids: list[str]) -> None:
        (folder / "ids.json").write_text(json.dumps({"save_token": token, "ids": ids}))

    write_ids(["a", "a"])
    with pytest.raises(ValueError, match=r"unique ids.*'a'"):
        EmbeddingIndex.load(folder)
    write_ids(["a"])
    with pytest.raises(ValueError, match=r"ids.json to hold 2 ids"):
        EmbeddingIndex.load(folder)
    (folder / "ids.json").write_text(json.dumps(["a", "b"]))  # version 1's bare array
    with pytest.raises(ValueError, match=r"ids.json to be an object with `save_token`"):
        EmbeddingIndex.load(folder)
    write_ids(["a", "b"])

    np.save(folder / "vectors.npy", np.zeros((2, 4), np.float32))
    with pytest.raises(ValueError, match=r"vectors.npy to be float32 of shape \(2, 3\)"):
        EmbeddingIndex.load(folder)
    np.save(folder / "vectors.npy", np.array([[np.nan, 0, 0], [0, 1, 0]], np.float32))
    with pytest.raises(ValueError, match=r"finite.*row 0"):
        EmbeddingIndex.load(folder)
    np.save(folder / "vectors.npy", np.eye(3, dtype=np.float32)[:2])

    np.save(folder / "keys.npy", np.array([1, 0], np.int64))
    with pytest.raises(ValueError, match="strictly increasing"):
        EmbeddingIndex.load(folder)
    np.save(folder / "keys.npy", np.array([0, 1], np.int64))

    for name in ("vectors.npy", "keys.npy", "tombstones.npy"):
        good = (folder / name).read_bytes()
        (folder / name).write_bytes(b"")
        with pytest.raises(ValueError, match=rf"`{name}` of the saved index to be a .npy array, "
                                             rf"but '.*{name}' is empty"):
            EmbeddingIndex.load(folder)
        np.save(folder / name, np.array([[1, "x"]], dtype=object), allow_pickle=True)
        with pytest.raises(ValueError, match=rf"`{name}` of .*{name}' could not be read: Object"):
            EmbeddingIndex.load(folder)
        (folder / name).write_bytes(good)

    (folder / "index.faiss").write_bytes(b"not a faiss index")
    with pytest.raises(ValueError, match=r"index.faiss to be a FAISS index"):
        EmbeddingIndex.load(folder)
    other = EmbeddingIndex(3, kind="hnsw")
    other.add(["x", "y", "z"], np.eye(3, dtype=np.float32))
    other.build()
    other.save(tmp_path / "other")
    (folder / "index.faiss").write_bytes((tmp_path / "other" / "index.faiss").read_bytes())
    with pytest.raises(ValueError, match="to hold 2 vectors, but got 3"):
        EmbeddingIndex.load(folder)


def _saved(folder: Path, ids: list[str], x: np.ndarray, *, kind: str = "flat") -> EmbeddingIndex:
    index = EmbeddingIndex(x.shape[1], kind=kind)  # type: ignore[arg-type]
    index.add(ids, x)
    if kind != "flat":
        index.build()
    index.save(folder)
    return index


@pytest.mark.parametrize("failing", ["ids.json", "vectors.npy", "index.faiss", "meta.json"])
def test_failed_save_leaves_the_previous_save_as_it_was(tmp_path, monkeypatch, failing) -> None:
    """Audit: save wrote vectors.npy in place, then failed on ids.json (a full disk): load()
    gave the new vectors under the old ids without a word."""
    folder = tmp_path / "idx"
    old_x = np.array([[0, 0], [10, 0], [20, 0]], np.float32)
    _saved(folder, ["a", "b", "c"], old_x, kind="hnsw")
    before = sorted(p.name for p in folder.iterdir())
    new = EmbeddingIndex(2, kind="hnsw")
    new.add(["x", "y", "z"], old_x[::-1].copy())
    new.build()
    real = embedding_index._write_file

    def full_disk(path: Path, write: Any) -> None:
        if path.name.startswith(f".{failing}."):
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real(path, write)

    monkeypatch.setattr(embedding_index, "_write_file", full_disk)
    with pytest.raises(OSError, match="No space left"):
        new.save(folder)
    assert sorted(p.name for p in folder.iterdir()) == before  # no temporary file left
    loaded = EmbeddingIndex.load(folder)
    assert loaded.ids == ["a", "b", "c"]
    np.testing.assert_array_equal(loaded.vectors(["a", "b", "c"]), old_x)
    assert loaded.search(np.zeros((1, 2), np.float32), 1).ids == [["a"]]
    monkeypatch.setattr(embedding_index, "_write_file", real)
    new.save(folder)  # a save that succeeds replaces it
    assert EmbeddingIndex.load(folder).ids == ["x", "y", "z"]


def test_load_refuses_files_of_two_saves(tmp_path) -> None:
    """What a save interrupted between its renames leaves: ids.json of the new save."""
    x = np.eye(3, dtype=np.float32)
    _saved(tmp_path / "old", ["a", "b", "c"], x)
    _saved(tmp_path / "new", ["x", "y", "z"], x[::-1].copy())
    shutil.copy(tmp_path / "new" / "ids.json", tmp_path / "old" / "ids.json")
    with pytest.raises(ValueError, match=r"ids.json to come from the same save as .*meta.json"):
        EmbeddingIndex.load(tmp_path / "old")


def test_a_save_without_a_built_structure_drops_the_old_one(tmp_path) -> None:
    folder = tmp_path / "idx"
    _saved(folder, ["a", "b"], np.eye(2, dtype=np.float32), kind="hnsw")
    assert (folder / "index.faiss").exists()
    _saved(folder, ["c"], np.ones((1, 2), np.float32))
    assert sorted(p.name for p in folder.iterdir()) == [
        "ids.json",
        "keys.npy",
        "meta.json",
        "vectors.npy",
    ]
    assert EmbeddingIndex.load(folder).ids == ["c"]


def test_version_1_saves_still_load(tmp_path) -> None:
    """Before the save token: ids.json a bare array, meta.json version 1."""
    folder = tmp_path / "idx"
    _saved(folder, ["a", "b"], np.eye(2, dtype=np.float32))
    meta = json.loads((folder / "meta.json").read_text())
    del meta["save_token"]
    (folder / "meta.json").write_text(json.dumps({**meta, "version": 1}))
    new_ids = (folder / "ids.json").read_text()
    (folder / "ids.json").write_text(json.dumps(["a", "b"]))
    assert EmbeddingIndex.load(folder).ids == ["a", "b"]
    (folder / "ids.json").write_text(json.dumps(["a", 2]))
    with pytest.raises(ValueError, match=r"str ids.*ids.json\[1\] = 2"):
        EmbeddingIndex.load(folder)
    # a version 2 save interrupted after renaming its ids.json over a version 1 save
    (folder / "ids.json").write_text(new_ids)
    with pytest.raises(ValueError, match=r"as .*meta.json is version 1, but got dict.*two saves"):
        EmbeddingIndex.load(folder)
    (folder / "meta.json").write_text(json.dumps({**meta, "version": 3}))
    with pytest.raises(ValueError, match=r"`version` to be one of \(1, 2\), but got 3"):
        EmbeddingIndex.load(folder)


@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivf"])
def test_a_version_1_save_with_a_64_bit_seed_loads(tmp_path, kind: str) -> None:
    """Review: a version 1 save of a flat or HNSW index with seed 2**32 - 1 (valid then:
    neither passes it to FAISS) failed to load once seeds were capped at 2**31 - 1."""
    x = _clustered(400, 8, 4, 0)
    ids = _ids(400)
    folder = tmp_path / kind
    built = _saved(folder, ids, x, kind=kind)
    meta = json.loads((folder / "meta.json").read_text())
    del meta["save_token"]
    meta["params"]["seed"] = 2**32 - 1
    (folder / "meta.json").write_text(json.dumps({**meta, "version": 1}))
    (folder / "ids.json").write_text(json.dumps(ids))
    loaded = EmbeddingIndex.load(folder)
    assert loaded.ids == ids
    assert loaded.search(x[:5], 3).ids == built.search(x[:5], 3).ids
    loaded.save(folder)  # re-saved as version 2 with the same seed
    assert json.loads((folder / "meta.json").read_text())["params"]["seed"] == 2**32 - 1
    assert EmbeddingIndex.load(folder).search(x[:5], 3).ids == built.search(x[:5], 3).ids


def test_ivf_trains_with_the_seed_folded_to_a_c_int() -> None:
    """FAISS takes a C int: the IVF training gets ``seed % 2**31`` (below 2**31 unchanged)."""
    x = _clustered(2000, 8, 10, 1)
    ids = _ids(2000)
    results = []
    for seed in (7, 7 + 2**31, 7 + 2**63, 2**64 - 1):
        index = EmbeddingIndex(8, kind="ivf", nlist=16, nprobe=2, seed=seed)
        index.add(ids, x)
        results.append(index.search(x[:50], 5))
    assert results[0].ids == results[1].ids == results[2].ids
    np.testing.assert_array_equal(results[0].scores, results[1].scores)
    assert len(results[3].ids) == 50


# ---------------------------------------------------------------- bad input


def test_bad_input_names_field_and_first_offender() -> None:
    index = EmbeddingIndex(3, metric="cosine")
    index.add(["a", "b"], np.eye(3)[:2])
    cases = [
        (lambda: index.add(["c", "d", "c"], np.ones((3, 3))), ValueError, r"unique.*'c'"),
        (lambda: index.add(["c", "b"], np.ones((2, 3))), ValueError, r"new.*'b'"),
        (lambda: index.add(["c"], np.ones((1, 4))), ValueError, r"`vectors` to have dimension 3"),
        (lambda: index.add(["c"], np.ones(3)), ValueError, r"`vectors` to be 2-D"),
        (lambda: index.add(["c", "d"], np.ones((1, 3))), ValueError, r"one row per id \(2\)"),
        (
            lambda: index.add(["c", "d"], np.array([[1, 0, 0], [np.nan, 0, 0]])),
            ValueError,
            r"`vectors` to be finite.*row 1",
        ),
        (
            lambda: index.add(["c", "d"], np.array([[1, 0, 0], [0, 0, 0]])),
            ValueError,
            r"non-zero.*cosine.*row 1",
        ),
        (lambda: index.add("cd", np.ones((2, 3))), TypeError, r"sequence of str, but got str"),
        (lambda: index.add(["c", 7], np.ones((2, 3))), TypeError, r"str ids.*ids\[1\] = 7"),
        (lambda: index.add(["c"], [[1.0, 0, 0]]), TypeError, r"torch.Tensor or numpy array"),
        (lambda: index.add(["c"], np.array([["x", "y", "z"]])), TypeError, r"real numbers"),
        (lambda: index.remove(["a", "zz"]), ValueError, r"unknown id.*ids\[1\] = 'zz'"),
        (lambda: index.remove(["a", "a"]), ValueError, r"unique.*'a'"),
        (lambda: index.vectors(["nope"]), ValueError, r"unknown id.*'nope'"),
        (lambda: index.search(np.ones((1, 3)), 0), ValueError, r"`k` to be an int >= 1, but got 0"),
        (lambda: index.search(np.ones((1, 3)), -2), ValueError, r"`k` to be an int >= 1"),
        (lambda: index.search(np.ones((1, 3)), True), TypeError, r"`k` to be an int"),
        (lambda: index.search(np.ones((1, 3)), 2.0), TypeError, r"`k` to be an int"),
        (lambda: index.search(np.ones((1, 2)), 1), ValueError, r"`queries` to have dimension 3"),
        (
            lambda: index.search(np.array([[1, 1, 1], [1, np.inf, 1]]), 1),
            ValueError,
            r"`queries` to be finite.*row 1",
        ),
        (lambda: index.search(np.zeros((1, 3)), 1), ValueError, r"`queries` to be non-zero"),
        (
            lambda: index.add(["c", os.fsdecode(b"img_\xe9.jpg")], np.ones((2, 3))),
            ValueError,
            r"`ids` to be valid UTF-8 text, but got 'img_\\udce9.jpg'.*ids\[1\]",
        ),
        (lambda: EmbeddingIndex(0), ValueError, r"`dim` to be an int >= 1"),
        (lambda: EmbeddingIndex(3, seed=-1), ValueError, r"`seed` to be an int in \[0, 1844"),
        (
            lambda: EmbeddingIndex(3, seed=2**64),
            ValueError,
            r"`seed` to be an int in \[0, 18446744073709551615\], but got 18446744073709551616",
        ),
        (lambda: EmbeddingIndex(3, seed=True), TypeError, r"`seed` to be an int, but got bool"),
        (lambda: EmbeddingIndex(3, metric="dot"), ValueError, r"`metric` to be one of"),
        (lambda: EmbeddingIndex(3, kind="lsh"), ValueError, r"`kind` to be one of"),
    ]
    for call, error, pattern in cases:
        with pytest.raises(error, match=pattern):
            call()
    assert index.ids == ["a", "b"]  # nothing half-applied


def test_torch_on_any_device_matches_numpy(device: str) -> None:
    x = _clustered(500, 8, 4, seed=12)
    a = EmbeddingIndex(8, metric="cosine")
    a.add(_ids(500), x)
    b = EmbeddingIndex(8, metric="cosine")
    b.add(_ids(500), torch.from_numpy(x).to(device).double())
    q = torch.from_numpy(x[:7]).to(device)
    assert a.search(x[:7], 4).ids == b.search(q, 4).ids
    assert not math.isnan(float(b.search(q, 4).scores.sum()))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cosine_rows_whose_squares_overflow_or_underflow(dtype: type) -> None:
    """Found by fuzzing: 1e20 in float32 became a zero vector, 1e-25 a 'zero vector' error.

    The index holds float32, so float64 input is tested with values float32 can hold.
    """
    tiny, huge = 1e-25, 1e20
    ix = EmbeddingIndex(2, metric="cosine", kind="flat")
    ix.add(["tiny", "huge"], np.array([[tiny, 0.0], [0.0, huge]], dtype))
    np.testing.assert_allclose(ix.vectors(["tiny", "huge"]), [[1.0, 0.0], [0.0, 1.0]])
    found = ix.search(np.array([[0.0, 3.0]], dtype), 2)
    assert list(found.ids[0]) == ["huge", "tiny"]
    np.testing.assert_allclose(found.scores[0], [1.0, 0.0], atol=1e-7)
    with pytest.raises(ValueError, match="zero vector"):
        ix.add(["zero"], np.zeros((1, 2), dtype))


def test_building_an_empty_ivf_index_says_why() -> None:
    """Found by fuzzing: FAISS's own RuntimeError about training points came through."""
    with pytest.raises(ValueError, match=r"Expected vectors to train the IVF lists on"):
        EmbeddingIndex(2, kind="ivf").build()
    assert len(EmbeddingIndex(2, kind="hnsw").build()) == 0


def test_ids_from_a_numpy_str_array_are_plain_str() -> None:
    ix = EmbeddingIndex(2)
    ix.add(np.array(["a", "b"]), np.eye(2, dtype=np.float32))
    assert [type(i) for i in ix.ids] == [str, str]
