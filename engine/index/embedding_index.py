"""Embedding index on FAISS: string ids for frames and crops, L2 or cosine, exact or approximate.

:class:`EmbeddingIndex` keeps the vectors it is given (float32, one row per string id)
and searches them with FAISS:

``kind="flat"``
    Exact search: FAISS's brute-force k-NN (``faiss.knn``) straight over the stored
    vectors; nothing to build or train.
``kind="ivf"``
    ``IndexIVFFlat`` with ``nlist = clamp(round(4 * sqrt(N)), 1, N // 39)`` inverted
    lists (at least 39 training points per list, FAISS's own minimum), trained by
    FAISS k-means on at most ``train_points_per_list * nlist`` sampled vectors;
    searched with ``nprobe = ceil(sqrt(nlist))`` lists unless told otherwise.
``kind="hnsw"``
    ``IndexHNSWFlat`` (``M=32``, ``efConstruction=40``, ``efSearch=max(64, k)`` by
    default). Its graph build is multi-threaded, so two builds of the same data may
    differ slightly.
``kind="auto"`` (default)
    ``"flat"`` while the index holds fewer than ``auto_flat_max`` (100,000) vectors,
    ``"ivf"`` from there on. HNSW is only used on request.

The FAISS structure (IVF or HNSW) is derived from the stored vectors and built lazily,
at the first search after it is needed, or at once by :meth:`EmbeddingIndex.build`.
Once built it is kept in step: added vectors go into it, removed ones out of it (IVF:
``remove_ids``; HNSW, which cannot remove, filters them at search time until they are
a fifth of its graph, then rebuilds). It is dropped and rebuilt lazily when ``auto``
crosses ``auto_flat_max`` or an IVF index has grown past four times the size it was
trained at (its ``nlist`` would double).

Scores:

``metric="l2"``
    squared Euclidean distance, ascending (smaller is nearer).
``metric="cosine"``
    cosine similarity in [-1, 1], descending. Vectors and queries are scaled to unit
    length on the way in (the index stores the unit vectors, and :meth:`vectors`
    returns them); a zero vector has no direction and is rejected.

A search for ``k`` neighbours returns ``min(k, len(index))`` columns. An approximate
index may find fewer for some query (IVF with few probed lists, HNSW with a small
``efSearch``): that query's id list is shorter and its missing scores are NaN.

Inputs: ids are ``str``; vectors are ``(N, dim)`` torch tensors on any device or numpy
arrays of any real dtype, converted once to CPU float32 C-contiguous arrays at the edge.
"""

from __future__ import annotations

import json
import math
import os
import secrets
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, BinaryIO, Literal, cast

import numpy as np
from pydantic import BaseModel, ConfigDict

from ._inputs import (
    as_ids,
    as_matrix,
    check_int,
    check_seed,
    faiss_seed,
    first_duplicate,
    load_npy,
)

# faiss is imported by the functions that use it: its import takes ~0.2 s, which every
# `import assay` paid although most jobs never search or cluster.

__all__ = [
    "AUTO_FLAT_MAX",
    "EmbeddingIndex",
    "INDEX_KINDS",
    "IndexKind",
    "METRICS",
    "Metric",
    "SearchResult",
    "ivf_nlist",
]

Metric = Literal["l2", "cosine"]
IndexKind = Literal["auto", "flat", "ivf", "hnsw"]
METRICS: tuple[str, ...] = ("l2", "cosine")
INDEX_KINDS: tuple[str, ...] = ("auto", "flat", "ivf", "hnsw")
AUTO_FLAT_MAX = 100_000
_FORMAT = "assay.EmbeddingIndex"
_VERSION = 2  # 2: a save token in meta.json and ids.json
_READABLE_VERSIONS = (1, 2)
_HNSW_REBUILD_FRACTION = 0.2
_IVF_REGROW_FACTOR = 4


def ivf_nlist(n: int) -> int:
    """Inverted lists for an IVF index over ``n`` vectors: ``round(4 * sqrt(n))``.

    Clamped to ``[1, n // 39]`` so that every list gets at least 39 training points.

    Example:
        >>> ivf_nlist(1_000_000), ivf_nlist(100_000), ivf_nlist(10)
        (4000, 1265, 1)
    """
    return max(1, min(round(4 * math.sqrt(n)), n // 39))


class SearchResult(BaseModel):
    """Nearest neighbours of each query.

    Attributes:
        ids: per query, the ids found, best first (at most ``min(k, len(index))``;
            fewer where an approximate index found fewer).
        scores: ``(Q, min(k, len(index)))`` float32; squared L2 distance ascending for
            ``metric="l2"``, cosine similarity descending for ``"cosine"``; NaN where
            a query has fewer ids than columns.
        metric: the index's metric.
        kind: the FAISS structure that answered (``"flat"``, ``"ivf"`` or ``"hnsw"``).
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    ids: list[list[str]]
    scores: np.ndarray
    metric: Metric
    kind: Literal["flat", "ivf", "hnsw"]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (NaN scores as None)."""
        return {
            "ids": [list(row) for row in self.ids],
            "scores": [
                [None if math.isnan(v) else float(v) for v in row] for row in self.scores.tolist()
            ],
            "metric": self.metric,
            "kind": self.kind,
        }


def _faiss_metric(metric: str) -> int:
    import faiss

    return int(faiss.METRIC_L2 if metric == "l2" else faiss.METRIC_INNER_PRODUCT)


def _unit_rows(x: np.ndarray, name: str) -> np.ndarray:
    """Rows of length 1 (float32), for any finite non-zero row.

    Each row is divided by its largest magnitude first, so its squares can neither
    overflow (1e20 in float32) nor underflow (1e-25).
    """
    big = np.abs(x).max(axis=1) if x.shape[1] else np.zeros(x.shape[0], dtype=x.dtype)
    if x.shape[0] and not (big > 0).all():
        row = int(np.flatnonzero(~(big > 0))[0])
        raise ValueError(
            f"Expected `{name}` to be non-zero vectors for metric='cosine', but got a zero "
            f"vector (first offending item: row {row})"
        )
    scaled = x / big[:, None]
    return np.ascontiguousarray(scaled / np.linalg.norm(scaled, axis=1)[:, None], dtype=np.float32)


class EmbeddingIndex:
    """A FAISS index over embeddings with string ids (frames, crops).

    See the module docstring for how ``kind="auto"`` chooses, what the scores mean
    and when the FAISS structure is (re)built.

    Args:
        dim: vector dimension.
        metric: ``"l2"`` (squared distance) or ``"cosine"`` (similarity).
        kind: ``"auto"``, ``"flat"``, ``"ivf"`` or ``"hnsw"``.
        auto_flat_max: ``kind="auto"`` is flat below this many vectors, IVF from it on.
        nlist: IVF lists; default :func:`ivf_nlist` of the size at training time.
        nprobe: IVF lists probed per query; default ``ceil(sqrt(nlist))``.
        hnsw_m: HNSW graph degree ``M``.
        ef_construction: HNSW ``efConstruction``.
        ef_search: HNSW ``efSearch`` (``max(ef_search, k)`` is used).
        train_points_per_list: IVF training sample, per list.
        seed: seed of the IVF training sample and k-means, an int in ``[0, 2**64 - 1]``;
            FAISS takes a C ``int`` and gets ``seed % 2**31`` (seeds below ``2**31``
            unchanged).

    Example:
        >>> import numpy as np
        >>> index = EmbeddingIndex(2, metric="cosine")
        >>> index.add(["a", "b", "c"], np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]))
        >>> hit = index.search(np.array([[1.0, 0.1]]), k=2)
        >>> hit.ids, hit.scores.round(3)
        ([['a', 'c']], array([[0.995, 0.774]], dtype=float32))
        >>> index.remove(["a"]), len(index), index.ids
        (1, 2, ['b', 'c'])
    """

    def __init__(
        self,
        dim: int,
        *,
        metric: Metric = "l2",
        kind: IndexKind = "auto",
        auto_flat_max: int = AUTO_FLAT_MAX,
        nlist: int | None = None,
        nprobe: int | None = None,
        hnsw_m: int = 32,
        ef_construction: int = 40,
        ef_search: int = 64,
        train_points_per_list: int = 64,
        seed: int = 0,
    ) -> None:
        self._dim = check_int(dim, "dim", minimum=1)
        if metric not in METRICS:
            raise ValueError(f"Expected `metric` to be one of {METRICS}, but got {metric!r}")
        if kind not in INDEX_KINDS:
            raise ValueError(f"Expected `kind` to be one of {INDEX_KINDS}, but got {kind!r}")
        self._metric: Metric = metric
        self._kind: IndexKind = kind
        self._params: dict[str, Any] = {
            "auto_flat_max": check_int(auto_flat_max, "auto_flat_max", minimum=1),
            "nlist": None if nlist is None else check_int(nlist, "nlist", minimum=1),
            "nprobe": None if nprobe is None else check_int(nprobe, "nprobe", minimum=1),
            "hnsw_m": check_int(hnsw_m, "hnsw_m", minimum=2),
            "ef_construction": check_int(ef_construction, "ef_construction", minimum=1),
            "ef_search": check_int(ef_search, "ef_search", minimum=1),
            "train_points_per_list": check_int(
                train_points_per_list, "train_points_per_list", minimum=1
            ),
            "seed": check_seed(seed),
        }
        self._vecs = np.empty((0, self._dim), dtype=np.float32)
        self._keys = np.empty(0, dtype=np.int64)  # permanent FAISS labels, ascending
        self._n = 0
        self._ids: list[str] = []
        self._row: dict[str, int] = {}
        self._ids_array: np.ndarray | None = None
        self._next_key = 0
        self._faiss: Any = None  # faiss.IndexIVFFlat or faiss.IndexIDMap(IndexHNSWFlat)
        self._built_kind: str | None = None
        self._built_n = 0
        self._tombstones = np.empty(0, dtype=np.int64)  # keys removed, still in the HNSW graph

    # ------------------------------------------------------------------ properties

    @property
    def dim(self) -> int:
        """Vector dimension."""
        return self._dim

    @property
    def metric(self) -> Metric:
        """``"l2"`` or ``"cosine"``."""
        return self._metric

    @property
    def kind(self) -> IndexKind:
        """The kind asked for (``"auto"`` included)."""
        return self._kind

    @property
    def resolved_kind(self) -> Literal["flat", "ivf", "hnsw"]:
        """The structure a search would use now: ``kind``, or what ``"auto"`` picks."""
        if self._kind == "auto":
            return "flat" if self._n < self._params["auto_flat_max"] else "ivf"
        return self._kind

    @property
    def ids(self) -> list[str]:
        """The ids, in insertion order (removed ones left out)."""
        return list(self._ids)

    def __len__(self) -> int:
        return self._n

    def __contains__(self, item: object) -> bool:
        return item in self._row

    def __repr__(self) -> str:
        return (
            f"EmbeddingIndex(dim={self._dim}, metric={self._metric!r}, kind={self._kind!r}, "
            f"len={self._n}, resolved_kind={self.resolved_kind!r})"
        )

    # ------------------------------------------------------------------ mutation

    def add(self, ids: Sequence[str], vectors: Any) -> None:
        """Add vectors under new string ids.

        Args:
            ids: ``N`` ids, unique and not yet in the index.
            vectors: ``(N, dim)`` torch tensor (any device) or numpy array, finite;
                non-zero rows for ``metric="cosine"``.

        Raises:
            TypeError: ids that are not str, vectors that are not an array.
            ValueError: a duplicate or existing id, wrong shape, NaN / inf, a zero
                vector under cosine; the first offending item is named.
        """
        new_ids = as_ids(ids, "ids")
        x = as_matrix(vectors, "vectors", dim=self._dim)
        if x.shape[0] != len(new_ids):
            raise ValueError(
                f"Expected `vectors` to have one row per id ({len(new_ids)}), but got "
                f"shape {tuple(x.shape)}"
            )
        dup = first_duplicate(new_ids)
        if dup is not None:
            raise ValueError(
                "Expected `ids` to be unique, but got a repeated id "
                f"(first offending item: {dup!r})"
            )
        for item in new_ids:
            if item in self._row:
                raise ValueError(
                    "Expected `ids` to be new, but got an id already in the index "
                    f"(first offending item: {item!r})"
                )
        if not new_ids:
            return
        if self._metric == "cosine":
            x = _unit_rows(x, "vectors")
        m = len(new_ids)
        self._reserve(self._n + m)
        self._vecs[self._n : self._n + m] = x
        keys = np.arange(self._next_key, self._next_key + m, dtype=np.int64)
        self._keys[self._n : self._n + m] = keys
        for offset, item in enumerate(new_ids):
            self._row[item] = self._n + offset
        self._ids.extend(new_ids)
        self._ids_array = None
        self._n += m
        self._next_key += m
        self._sync_after_add(x, keys)

    def remove(self, ids: Sequence[str]) -> int:
        """Remove ids (and their vectors); returns how many were removed.

        Costs O(len(index)) per call (the stored rows are compacted): remove in batches.

        Raises:
            ValueError: an id that is not in the index, or repeated in ``ids``.
        """
        gone = as_ids(ids, "ids")
        dup = first_duplicate(gone)
        if dup is not None:
            raise ValueError(
                "Expected `ids` to be unique, but got a repeated id "
                f"(first offending item: {dup!r})"
            )
        rows = self._rows_of(gone, "ids")
        if rows.size == 0:
            return 0
        removed_keys = self._keys[rows].copy()
        keep = np.ones(self._n, dtype=bool)
        keep[rows] = False
        first = int(rows.min())
        n_new = self._n - rows.size
        self._vecs[:n_new] = self._vecs[: self._n][keep]
        self._keys[:n_new] = self._keys[: self._n][keep]
        for item in gone:
            del self._row[item]
        self._ids = [item for item, k in zip(self._ids, keep.tolist(), strict=True) if k]
        for r in range(first, n_new):
            self._row[self._ids[r]] = r
        self._ids_array = None
        self._n = n_new
        self._sync_after_remove(removed_keys)
        return int(rows.size)

    def build(self) -> EmbeddingIndex:
        """Build (train, fill) the FAISS structure now rather than at the first search.

        Raises:
            ValueError: an empty index of kind ``"ivf"`` (nothing to train the lists on).
        """
        if self._n == 0 and self.resolved_kind == "ivf":
            raise ValueError(
                "Expected vectors to train the IVF lists on, but the index is empty; add "
                "vectors before build()"
            )
        self._ensure_built()
        return self

    # ------------------------------------------------------------------ queries

    def vectors(self, ids: Sequence[str]) -> np.ndarray:
        """``(len(ids), dim)`` float32 copy of the stored vectors (unit rows for cosine).

        Raises:
            ValueError: an id that is not in the index.
        """
        rows = self._rows_of(as_ids(ids, "ids"), "ids")
        out: np.ndarray = self._vecs[rows]
        return out

    def search(
        self,
        queries: Any,
        k: int,
        *,
        nprobe: int | None = None,
        ef_search: int | None = None,
    ) -> SearchResult:
        """The ``k`` nearest stored vectors of each query.

        Args:
            queries: ``(Q, dim)`` torch tensor (any device) or numpy array, finite.
            k: neighbours per query, >= 1; ``min(k, len(index))`` columns come back.
            nprobe: IVF lists to probe (overrides the index's default).
            ef_search: HNSW ``efSearch`` (overrides the index's default).

        Returns:
            :class:`SearchResult`.

        Raises:
            ValueError: ``k <= 0``, wrong shape, NaN / inf, a zero query under cosine.
        """
        import faiss

        k = check_int(k, "k", minimum=1)
        q = as_matrix(queries, "queries", dim=self._dim)
        if nprobe is not None:
            check_int(nprobe, "nprobe", minimum=1)
        if ef_search is not None:
            check_int(ef_search, "ef_search", minimum=1)
        if self._metric == "cosine":
            q = _unit_rows(q, "queries")
        kind = self.resolved_kind
        kk = min(k, self._n)
        if kk == 0 or q.shape[0] == 0:
            return SearchResult(
                ids=[[] for _ in range(q.shape[0])],
                scores=np.empty((q.shape[0], kk), dtype=np.float32),
                metric=self._metric,
                kind=kind,
            )
        self._ensure_built()
        if kind == "flat":
            dist, rows = faiss.knn(q, self._vecs[: self._n], kk, _faiss_metric(self._metric))
            found = rows >= 0
        else:
            keep_alive: list[Any] = []  # FAISS holds raw pointers to the selectors
            if kind == "ivf":
                probe = nprobe or self._params["nprobe"] or math.ceil(math.sqrt(self._faiss.nlist))
                params: Any = faiss.SearchParametersIVF()
                params.nprobe = int(probe)
            else:
                params = faiss.SearchParametersHNSW()  # type: ignore[attr-defined]
                params.efSearch = int(max(ef_search or self._params["ef_search"], kk))
                if self._tombstones.size:  # removed from the index, still in the graph
                    batch = faiss.IDSelectorBatch(self._tombstones)
                    keep_alive += [batch, faiss.IDSelectorNot(batch)]
                    params.sel = keep_alive[-1]
            dist, labels = self._faiss.search(q, kk, params=params)
            del keep_alive
            found = labels >= 0
            rows = np.searchsorted(self._keys[: self._n], np.where(found, labels, 0))
        dist = np.where(found, dist, np.float32(np.nan)).astype(np.float32, copy=False)
        dist.flags.writeable = False
        if self._ids_array is None:
            self._ids_array = np.array(self._ids, dtype=object)
        names = self._ids_array[np.where(found, rows, 0)]
        counts = found.sum(axis=1).tolist()
        out = [names[i, :c].tolist() for i, c in enumerate(counts)]
        return SearchResult(ids=out, scores=dist, metric=self._metric, kind=kind)

    # ------------------------------------------------------------------ persistence

    def save(self, path: str | Path) -> Path:
        """Write the index to a directory (created if needed); returns its path.

        Files: ``meta.json`` (format, dimension, metric, kind, parameters),
        ``ids.json``, ``vectors.npy``, ``keys.npy`` and, once an IVF or HNSW structure
        has been built, ``index.faiss`` and ``tombstones.npy`` (so loading does not
        retrain). Existing files of those names are replaced.

        The save is atomic per file and checked as a whole: every file is first
        written (and fsynced) under a temporary name in the directory, then renamed
        into place, ``ids.json`` first and ``meta.json`` last. A failure before the
        renames (a full disk, say) leaves the previous save as it was; both JSON
        files carry the same random ``save_token``, so :meth:`load` refuses a
        directory that an interrupted save left with files of two saves.
        """
        import faiss

        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        token = secrets.token_hex(16)
        built = self._faiss is not None
        meta = {
            "format": _FORMAT,
            "version": _VERSION,
            "save_token": token,
            "dim": self._dim,
            "metric": self._metric,
            "kind": self._kind,
            "params": self._params,
            "count": self._n,
            "next_key": self._next_key,
            "built_kind": self._built_kind if built else None,
            "built_n": self._built_n if built else 0,
        }
        ids_doc = {"save_token": token, "ids": self._ids}
        files: list[tuple[str, Callable[[BinaryIO], Any]]] = [
            ("ids.json", lambda fh: fh.write(json.dumps(ids_doc).encode("utf-8"))),
            ("vectors.npy", lambda fh: np.save(fh, self._vecs[: self._n])),
            ("keys.npy", lambda fh: np.save(fh, self._keys[: self._n])),
        ]
        if built:
            index = self._faiss
            writer = cast(Any, faiss).PyCallbackIOWriter  # faiss >= 1.7.3; not in its stubs
            files += [
                ("index.faiss", lambda fh: faiss.write_index(index, writer(fh.write))),
                ("tombstones.npy", lambda fh: np.save(fh, self._tombstones)),
            ]
        files.append(("meta.json", lambda fh: fh.write(json.dumps(meta, indent=1).encode("utf-8"))))
        temps: dict[str, Path] = {}
        try:
            for name, write in files:
                temps[name] = folder / f".{name}.{token}.tmp"
                _write_file(temps[name], write)
            for name, _ in files:  # ids.json first, meta.json last
                os.replace(temps.pop(name), folder / name)
        finally:
            for tmp in temps.values():
                tmp.unlink(missing_ok=True)
        if not built:  # meta.json now says so: the files of an older build are stale
            (folder / "index.faiss").unlink(missing_ok=True)
            (folder / "tombstones.npy").unlink(missing_ok=True)
        _fsync_dir(folder)
        return folder

    @classmethod
    def load(cls, path: str | Path) -> EmbeddingIndex:
        """Read an index written by :meth:`save`, checking that its files agree.

        Raises:
            ValueError: a missing or unreadable file, another format or version, files
                of two different saves (their ``save_token`` s differ), or files that
                disagree (row counts, dimension, metric, unsorted keys, repeated ids,
                non-finite vectors); the file and field are named.
        """
        folder = Path(path)
        meta_file = folder / "meta.json"
        try:
            meta = json.loads(meta_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise ValueError(
                f"Expected `path` to be a directory written by EmbeddingIndex.save, but "
                f"{meta_file} could not be read ({err})"
            ) from None
        if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
            raise ValueError(
                f"Expected {meta_file} to have format {_FORMAT!r}, but got "
                f"{meta.get('format') if isinstance(meta, dict) else type(meta).__name__!r}"
            )
        version = meta.get("version")
        if type(version) is not int or version not in _READABLE_VERSIONS:
            raise ValueError(
                f"Expected {meta_file} `version` to be one of {_READABLE_VERSIONS}, but got "
                f"{version!r}"
            )
        token = meta.get("save_token") if version >= 2 else None
        if version >= 2 and not isinstance(token, str):
            raise ValueError(f"Expected {meta_file} `save_token` to be a str, but got {token!r}")
        try:
            index = cls(meta["dim"], metric=meta["metric"], kind=meta["kind"], **meta["params"])
            count = check_int(meta["count"], "count", minimum=0)
            next_key = check_int(meta["next_key"], "next_key", minimum=0)
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(
                f"Expected {meta_file} to hold valid settings, but got: {err}"
            ) from None
        ids_file = folder / "ids.json"
        try:
            ids_doc = json.loads(ids_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise ValueError(f"Expected {ids_file} to be readable, but got: {err}") from None
        ids = _ids_of(ids_doc, ids_file, meta_file, token)
        vecs = _load_npy(folder / "vectors.npy")
        keys = _load_npy(folder / "keys.npy")
        if vecs.dtype != np.float32 or vecs.shape != (count, index.dim):
            raise ValueError(
                f"Expected vectors.npy to be float32 of shape {(count, index.dim)}, but got "
                f"{vecs.dtype} {vecs.shape}"
            )
        if keys.dtype != np.int64 or keys.shape != (count,):
            raise ValueError(
                f"Expected keys.npy to be int64 of shape {(count,)}, but got "
                f"{keys.dtype} {keys.shape}"
            )
        if len(ids) != count:
            raise ValueError(f"Expected ids.json to hold {count} ids, but got {len(ids)}")
        if count and (np.any(np.diff(keys) <= 0) or keys[0] < 0 or keys[-1] >= next_key):
            raise ValueError(
                f"Expected keys.npy to be strictly increasing in [0, {next_key}), but it is not"
            )
        dup = first_duplicate(ids)
        if dup is not None:
            raise ValueError(
                f"Expected ids.json to hold unique ids, but got a repeated id "
                f"(first offending item: {dup!r})"
            )
        as_matrix(vecs, "vectors.npy")
        index._reserve(count)
        index._vecs[:count] = vecs
        index._keys[:count] = keys
        index._ids = ids
        index._row = {item: r for r, item in enumerate(ids)}
        index._n = count
        index._next_key = next_key
        built_kind = meta.get("built_kind")
        if built_kind is not None:
            index._load_faiss(folder, built_kind, int(meta.get("built_n", 0)))
        return index

    # ------------------------------------------------------------------ internals

    def _reserve(self, n: int) -> None:
        cap = self._vecs.shape[0]
        if n <= cap:
            return
        new_cap = max(n, int(cap * 1.5) + 16)
        vecs = np.empty((new_cap, self._dim), dtype=np.float32)
        vecs[: self._n] = self._vecs[: self._n]
        keys = np.empty(new_cap, dtype=np.int64)
        keys[: self._n] = self._keys[: self._n]
        self._vecs, self._keys = vecs, keys

    def _rows_of(self, ids: list[str], name: str) -> np.ndarray:
        rows = np.empty(len(ids), dtype=np.int64)
        for i, item in enumerate(ids):
            r = self._row.get(item)
            if r is None:
                raise ValueError(
                    f"Expected `{name}` to be ids in the index, but got an unknown id "
                    f"(first offending item: {name}[{i}] = {item!r})"
                )
            rows[i] = r
        return rows

    def _drop_faiss(self) -> None:
        self._faiss = None
        self._built_kind = None
        self._built_n = 0
        self._tombstones = np.empty(0, dtype=np.int64)

    def _sync_after_add(self, x: np.ndarray, keys: np.ndarray) -> None:
        if self._faiss is None:
            return
        if self._built_kind != self.resolved_kind or (
            self._built_kind == "ivf"
            and self._params["nlist"] is None
            and self._n > _IVF_REGROW_FACTOR * self._built_n
        ):
            self._drop_faiss()
            return
        self._faiss.add_with_ids(x, keys)

    def _sync_after_remove(self, removed_keys: np.ndarray) -> None:
        import faiss

        if self._faiss is None:
            return
        if self._built_kind != self.resolved_kind:
            self._drop_faiss()
        elif self._built_kind == "ivf":
            self._faiss.remove_ids(faiss.IDSelectorBatch(removed_keys))
        else:  # hnsw cannot remove: filter at search time, rebuild when too many
            self._tombstones = np.union1d(self._tombstones, removed_keys)
            if self._tombstones.size > _HNSW_REBUILD_FRACTION * self._faiss.ntotal:
                self._drop_faiss()

    def _ensure_built(self) -> None:
        import faiss

        kind = self.resolved_kind
        if kind == "flat" or (self._faiss is not None and self._built_kind == kind):
            return
        self._drop_faiss()
        x = self._vecs[: self._n]
        metric = _faiss_metric(self._metric)
        index: Any
        if kind == "ivf":
            nlist = min(self._params["nlist"] or ivf_nlist(self._n), max(self._n, 1))
            quantizer = faiss.IndexFlat(self._dim, metric)
            index = faiss.IndexIVFFlat(quantizer, self._dim, nlist, metric)  # keeps quantizer
            index.cp.seed = faiss_seed(self._params["seed"])
            index.cp.max_points_per_centroid = self._params["train_points_per_list"]
            index.cp.min_points_per_centroid = 1  # our nlist rule keeps >= 39; FAISS would print
            index.train(x)
        else:
            inner = faiss.IndexHNSWFlat(self._dim, self._params["hnsw_m"], metric)
            inner.hnsw.efConstruction = self._params["ef_construction"]
            index = faiss.IndexIDMap(inner)  # keeps a reference to inner
        index.add_with_ids(x, self._keys[: self._n])
        self._faiss = index
        self._built_kind = kind
        self._built_n = self._n

    def _load_faiss(self, folder: Path, built_kind: str, built_n: int) -> None:
        import faiss

        index_file = folder / "index.faiss"
        try:
            index = faiss.read_index(str(index_file))
        except Exception as err:
            raise ValueError(
                f"Expected {index_file} to be a FAISS index, but reading it failed: {err}"
            ) from None
        tombstones = _load_npy(folder / "tombstones.npy")
        expected = "IndexIVFFlat" if built_kind == "ivf" else "IndexIDMap"
        if type(index).__name__ != expected:
            raise ValueError(
                f"Expected {index_file} to hold a {expected} for kind {built_kind!r}, but got "
                f"{type(index).__name__}"
            )
        if index.d != self._dim or index.metric_type != _faiss_metric(self._metric):
            raise ValueError(
                f"Expected {index_file} to have dimension {self._dim} and metric "
                f"{self._metric!r}, but got dimension {index.d}, FAISS metric {index.metric_type}"
            )
        if tombstones.dtype != np.int64 or tombstones.ndim != 1:
            raise ValueError(
                f"Expected tombstones.npy to be 1-D int64, but got {tombstones.dtype} "
                f"{tombstones.shape}"
            )
        if index.ntotal != self._n + tombstones.size:
            raise ValueError(
                f"Expected {index_file} to hold {self._n + tombstones.size} vectors, but got "
                f"{index.ntotal}"
            )
        if built_kind == "hnsw":
            labels = np.sort(faiss.vector_to_array(cast(Any, index).id_map))
            if not np.array_equal(labels, np.union1d(self._keys[: self._n], tombstones)):
                raise ValueError(f"Expected {index_file} ids to match keys.npy, but they differ")
        self._faiss = index
        self._built_kind = built_kind
        self._built_n = built_n
        self._tombstones = tombstones


def _write_file(path: Path, write: Callable[[BinaryIO], Any]) -> None:
    """``write`` into a new file at ``path``, flushed and fsynced before it is closed."""
    with path.open("wb") as fh:
        write(fh)
        fh.flush()
        os.fsync(fh.fileno())


def _fsync_dir(folder: Path) -> None:
    """Make the renames in ``folder`` durable (where the platform can open a directory)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # Windows: directories cannot be opened
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _ids_of(doc: Any, ids_file: Path, meta_file: Path, token: str | None) -> list[str]:
    """The ids of an ``ids.json`` document, checked to come from the save of ``meta.json``.

    ``token`` is None for a version 1 save (a bare JSON array, no save token).
    """
    two_saves = "the directory holds files of two saves (an interrupted save?)"
    if token is None:
        if not isinstance(doc, list):
            raise ValueError(
                f"Expected {ids_file} to be a JSON array of ids, as {meta_file} is version 1, "
                f"but got {type(doc).__name__}: {two_saves}"
            )
        ids = doc
    elif not isinstance(doc, dict) or "ids" not in doc or "save_token" not in doc:
        raise ValueError(
            f"Expected {ids_file} to be an object with `save_token` and `ids`, but got "
            f"{type(doc).__name__}"
        )
    elif doc["save_token"] != token:
        raise ValueError(
            f"Expected {ids_file} to come from the same save as {meta_file}, but their "
            f"save tokens differ ({doc['save_token']!r} and {token!r}): {two_saves}; save "
            "the index again"
        )
    else:
        ids = doc["ids"]
    try:
        return as_ids(ids, "ids.json")
    except TypeError as err:  # an unreadable file, as load() documents: a ValueError
        raise ValueError(str(err)) from None


def _load_npy(path: Path) -> np.ndarray:
    return load_npy(path, f"Expected `{path.name}` of the saved index to be a .npy array, but")
