"""Embeddings for diversity strategies: one lookup over the forms a caller may hand in.

A mapping ``id -> vector``, a pair ``(ids, array)`` or an
:class:`~assay.engine.index.EmbeddingIndex` becomes an :class:`EmbeddingLookup`; ids
are matched with one hash join (``pyarrow.compute.index_in``), never a Python loop
over frames.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import torch

from ..index import EmbeddingIndex
from ..index._inputs import check_utf8

__all__ = ["EmbeddingLookup", "EmbeddingsLike"]

EmbeddingsLike = Any
"""``Mapping[str, vector]``, ``(ids, (N, D) array)``, an ``EmbeddingIndex`` or a lookup."""


def _as_array(x: Any, name: str) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    arr = np.asarray(x)
    if arr.dtype.kind not in "fiu":
        raise TypeError(f"Expected `{name}` to hold real numbers, but got dtype {arr.dtype}")
    return arr


class EmbeddingLookup:
    """Vectors by string id, from any accepted form of ``embeddings``.

    Args:
        embeddings: a mapping ``id -> vector`` (all of one length), a pair
            ``(ids, array)`` with an ``(N, D)`` array (numpy or torch), or an
            :class:`~assay.engine.index.EmbeddingIndex`.

    Raises:
        ValueError: vectors of different lengths, a non-2-D array, ids and rows that
            do not pair up, duplicate ids, NaN or inf.
        TypeError: anything else.

    Example:
        >>> lookup = EmbeddingLookup({"a": [0.0, 1.0], "b": [2.0, 3.0]})
        >>> lookup.dim, lookup.get(np.array(["b", "a"], dtype=object), "ids").tolist()
        (2, [[2.0, 3.0], [0.0, 1.0]])
    """

    def __init__(self, embeddings: EmbeddingsLike) -> None:
        self._index: EmbeddingIndex | None = None
        self._vectors: np.ndarray = np.zeros((0, 0), dtype=np.float32)
        if isinstance(embeddings, EmbeddingLookup):
            self._ids: pa.Array = embeddings._ids
            self._vectors = embeddings._vectors
            self._index = embeddings._index
            self.dim: int = embeddings.dim
            return
        if isinstance(embeddings, EmbeddingIndex):
            self._index = embeddings
            self._ids = pa.array(embeddings.ids, pa.string())
            self.dim = embeddings.dim
            return
        if isinstance(embeddings, Mapping):
            ids = list(embeddings.keys())
            rows = [_as_array(v, f"embeddings[{k!r}]") for k, v in embeddings.items()]
            shapes = [r.shape for r in rows]
            for k, shape in zip(ids, shapes, strict=True):
                if len(shape) != 1 or shape != shapes[0]:
                    raise ValueError(
                        f"Expected every embedding to be a vector of dimension "
                        f"{shapes[0][0] if len(shapes[0]) == 1 else '?'}, but got shape {shape} "
                        f"(first offending item: embeddings[{k!r}])"
                    )
            dim = shapes[0][0] if shapes else 0
            vectors = np.stack(rows) if rows else np.zeros((0, dim))
        elif isinstance(embeddings, tuple) and len(embeddings) == 2:
            ids_in, arr = embeddings
            if isinstance(ids_in, (str, bytes)) or not isinstance(
                ids_in, (Sequence, np.ndarray, pa.Array, pa.ChunkedArray)
            ):
                raise TypeError(
                    f"Expected the ids of `embeddings` to be a sequence of str, but got "
                    f"{type(ids_in).__name__}"
                )
            ids = (
                ids_in.to_pylist()
                if isinstance(ids_in, (pa.Array, pa.ChunkedArray))
                else list(ids_in)
            )
            vectors = _as_array(arr, "embeddings")
            if vectors.ndim != 2:
                raise ValueError(
                    f"Expected the array of `embeddings` to be 2-D (N, D), but got shape "
                    f"{tuple(vectors.shape)}"
                )
            if vectors.shape[0] != len(ids):
                raise ValueError(
                    f"Expected one embedding id per row, but got {len(ids)} ids for "
                    f"{vectors.shape[0]} rows"
                )
            dim = int(vectors.shape[1])
        else:
            raise TypeError(
                "Expected `embeddings` to be a mapping id -> vector, a pair (ids, array) or an "
                f"EmbeddingIndex, but got {type(embeddings).__name__}"
            )
        for i, item in enumerate(ids):
            if not isinstance(item, str):
                raise TypeError(
                    f"Expected embedding ids to be str, but got {item!r} (first offending item: "
                    f"ids[{i}])"
                )
        check_utf8(ids, "embedding ids", lambda i: f"ids[{i}]")
        if ids and dim == 0:
            raise ValueError(
                "Expected embeddings to be vectors of dimension at least 1, but got dimension 0 "
                f"(first item: {ids[0]!r})"
            )
        self._ids = pa.array(ids, pa.string())
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        finite = np.isfinite(vectors).all(axis=1) if vectors.size else np.ones(0, bool)
        if not finite.all():
            r = int(np.flatnonzero(~finite)[0])
            raise ValueError(
                f"Expected embeddings to be finite, but got a NaN or inf (first offending item: "
                f"{ids[r]!r})"
            )
        uniq = pc.unique(self._ids)
        if len(uniq) != len(self._ids):
            counts = pc.value_counts(self._ids)
            dup = counts.filter(pc.greater(counts.field("counts"), 1))[0]["values"].as_py()
            raise ValueError(f"Expected embedding ids to be unique, but got {dup!r} twice")
        self._vectors = vectors
        self.dim = dim

    def __len__(self) -> int:
        return len(self._ids)

    def rows(self, ids: np.ndarray) -> np.ndarray:
        """``(Q,)`` int64 row of each id, ``-1`` where missing."""
        found = pc.index_in(pa.array(ids, pa.string()), value_set=self._ids)
        rows: np.ndarray = pc.fill_null(found, -1).to_numpy(zero_copy_only=False).astype(np.int64)
        return rows

    def require(
        self, ids: np.ndarray, field: str | Callable[[int], str], names: Any = None
    ) -> np.ndarray:
        """``(Q,)`` int64 row of each of ``ids``, every one of which must have an embedding.

        Args:
            ids: ``(Q,)`` object array of str.
            field: what the ids are, for messages (e.g. ``"embedding_id"``), or a
                callable ``i -> str`` giving it for the ``i``-th id.
            names: optional callable ``i -> str`` naming the ``i``-th id's item.

        Raises:
            ValueError: an id without an embedding (the first, named).
        """
        rows = self.rows(ids)
        if (rows < 0).any():
            i = int(np.flatnonzero(rows < 0)[0])
            what = field(i) if callable(field) else field
            where = names(i) if names is not None else f"{what}[{i}]"
            raise ValueError(
                f"Expected `{what}` to name an embedding in `embeddings`, but got {ids[i]!r}, "
                f"which is not there (first offending item: {where})"
            )
        return rows

    def get(
        self, ids: np.ndarray, field: str | Callable[[int], str], names: Any = None
    ) -> np.ndarray:
        """``(Q, D)`` float32 vectors of ``ids`` (:meth:`require`'s arguments and check).

        Raises:
            ValueError: an id without an embedding (the first, named).
        """
        rows = self.require(ids, field, names)
        if self._index is not None:
            return np.asarray(self._index.vectors(list(ids)), dtype=np.float32)
        vectors: np.ndarray = self._vectors[rows]
        return vectors
