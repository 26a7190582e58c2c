"""The pool of a sampling request as columns: frames -> dense int index, boxes as flat arrays.

Request dicts, typed frame models and Arrow tables (Parquet, JSON lines) all become one
:class:`PredictionTable` here, once, at the edge; the scoring path reads its columns and
never loops over frames or boxes in Python.

Two layouts are read:

frames (CVAL's)
    one row/record per frame: ``frame_id`` and ``predictions`` (a list of
    ``{category_id, score, embedding_id, probabilities, mc_probabilities}``; missing,
    null or empty: a frame without boxes), or ``prediction`` (one such object; a
    classification request).
boxes
    one row per prediction: ``frame_id`` and the prediction's fields as columns; a row
    whose prediction fields are all null is a frame without boxes.

Frame ids are strings (integer ids are accepted and become their decimal string); they
must be unique in the frames layout, and valid UTF-8 text (as must ``embedding_id`` s:
a lone surrogate, what ``os.fsdecode`` makes of a file name that is not UTF-8, is
refused by name). Frames are ordered by id (Python's string order)
so that index order *is* frame-id order: every tie in assay's sampling goes to the
smaller frame id through it. Bad values are errors that name the first offending
record, e.g. ``frames[3].predictions[1].score``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..index._inputs import check_utf8
from ._arrow_frames import ascending, column, frames_of_rows

__all__ = [
    "BOX_FIELDS",
    "PROBABILITY_SUM_TOLERANCE",
    "PredictionTable",
    "Task",
]

Task = Literal["detection", "classification"]
#: The fields of one prediction (CVAL's ``BBoxScores`` plus assay's ``mc_probabilities``).
BOX_FIELDS: tuple[str, ...] = (
    "category_id",
    "score",
    "embedding_id",
    "probabilities",
    "mc_probabilities",
)
#: ``probabilities`` must sum to 1 within this absolute tolerance (unless they are logits);
#: scoring divides an accepted row by its sum.
PROBABILITY_SUM_TOLERANCE = 1e-3

_EMPTY_F64 = np.zeros(0, dtype=np.float64)
_EMPTY_I64 = np.zeros(0, dtype=np.int64)
_NONE = np.array(None, dtype=object)


def _quoted(values: Sequence[str]) -> str:
    return ", ".join(repr(v) for v in values)


@dataclass(frozen=True, eq=False)
class PredictionTable:
    """Frames and their predictions as flat columns (frames sorted by id).

    Attributes:
        task: ``"detection"`` or ``"classification"`` (one prediction per frame).
        layout: ``"frames"`` (names items ``frames[i]...``) or ``"boxes"`` (``rows[r]``).
        frame_ids: ``(F,)`` object array of str, sorted ascending, unique.
        frame_position: ``(F,)`` int64 position of each frame in the input (its first
            row in the boxes layout), for messages and :meth:`to_frames`.
        box_frame: ``(B,)`` int64 frame index of each prediction.
        box_position: ``(B,)`` int64 position of the prediction in its frame's list
            (frames layout) or its row (boxes layout).
        score: ``(B,)`` float64 in [0, 1]; NaN where the prediction has no score. Read
            only when it comes from Arrow (without nulls, a view of the column's buffer).
        probabilities: ``(B, C)`` float64, rows of NaN where absent; None when no
            prediction has them.
        mc_probabilities: ``(B, S, C)`` float64 Monte-Carlo draws, NaN where absent;
            None when no prediction has them.
        embedding_id: ``(B,)`` object array of str, None where absent; None when no
            prediction has one.
        category_id: ``(B,)`` int64 array (from an Arrow integer column without nulls,
            not uint64; read only) or object array (int, str or None); None when no
            prediction has one.

    Example:
        >>> t = PredictionTable.from_frames([
        ...     {"frame_id": "b", "predictions": [{"score": 0.9}, {"score": 0.2}]},
        ...     {"frame_id": "a"}])
        >>> t.frame_ids.tolist(), t.box_frame.tolist(), t.num_frames, t.num_boxes
        (['a', 'b'], [1, 1], 2, 2)
    """

    task: Task
    layout: Literal["frames", "boxes"]
    frame_ids: np.ndarray
    frame_position: np.ndarray
    box_frame: np.ndarray
    box_position: np.ndarray
    score: np.ndarray
    probabilities: np.ndarray | None
    mc_probabilities: np.ndarray | None
    embedding_id: np.ndarray | None
    category_id: np.ndarray | None
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    # ------------------------------------------------------------------ shape

    @property
    def num_frames(self) -> int:
        """Number of frames ``F``."""
        return int(self.frame_ids.shape[0])

    @property
    def num_boxes(self) -> int:
        """Number of predictions ``B``."""
        return int(self.box_frame.shape[0])

    def __len__(self) -> int:
        return self.num_frames

    def boxes_per_frame(self) -> np.ndarray:
        """``(F,)`` int64 number of predictions of each frame."""
        if "counts" not in self._cache:
            self._cache["counts"] = np.bincount(self.box_frame, minlength=self.num_frames)
        counts: np.ndarray = self._cache["counts"]
        return counts

    def boxes_in_frame_order(self) -> bool:
        """Whether ``box_frame`` never decreases (boxes stored frame after frame).

        Per-frame reductions are then over runs, without a scatter.

        Example:
            >>> t = PredictionTable.from_frames([
            ...     {"frame_id": "b", "predictions": [{"score": 0.9}]},
            ...     {"frame_id": "a", "predictions": [{"score": 0.2}]}])
            >>> t.box_frame.tolist(), t.boxes_in_frame_order()
            ([1, 0], False)
        """
        if "in_order" not in self._cache:
            f = self.box_frame
            self._cache["in_order"] = bool(f.size < 2 or (f[1:] >= f[:-1]).all())
        in_order: bool = self._cache["in_order"]
        return in_order

    def has_probabilities(self) -> np.ndarray:
        """``(B,)`` bool: the prediction has ``probabilities``."""
        if self.probabilities is None:
            return np.zeros(self.num_boxes, dtype=bool)
        has: np.ndarray = ~np.isnan(self.probabilities[:, 0])
        return has

    def has_mc_probabilities(self) -> np.ndarray:
        """``(B,)`` bool: the prediction has ``mc_probabilities``."""
        if self.mc_probabilities is None:
            return np.zeros(self.num_boxes, dtype=bool)
        has: np.ndarray = ~np.isnan(self.mc_probabilities[:, 0, 0])
        return has

    # ------------------------------------------------------------------ names

    def frame_name(self, frame: int) -> str:
        """How messages name frame index ``frame``, e.g. ``frames[3] (frame_id 'x')``."""
        pos = int(self.frame_position[frame])
        where = "frames" if self.layout == "frames" else "rows"
        return f"{where}[{pos}] (frame_id {self.frame_ids[frame]!r})"

    def box_name(self, box: int) -> str:
        """How messages name prediction ``box``, e.g. ``frames[3].predictions[1]``."""
        if self.layout == "boxes":
            return f"rows[{int(self.box_position[box])}]"
        pos = int(self.frame_position[self.box_frame[box]])
        if self.task == "classification":
            return f"frames[{pos}].prediction"
        return f"frames[{pos}].predictions[{int(self.box_position[box])}]"

    def first_box(self, mask: np.ndarray) -> int:
        """The prediction, among ``mask``, that comes first in the input."""
        idx = np.flatnonzero(mask)
        return int(idx[np.argmin(self._input_order(idx))])

    def first_box_of(self, boxes: np.ndarray, mask: np.ndarray) -> int:
        """Position in ``boxes`` of the prediction, among ``boxes[mask]``, first in the input."""
        sub = np.flatnonzero(mask)
        return int(sub[np.argmin(self._input_order(boxes[sub]))])

    def _input_order(self, boxes: np.ndarray) -> np.ndarray:
        """A key that sorts predictions as the input lists them.

        Boxes layout: the row itself (a frame's rows need not be adjacent). Frames
        layout: the frame's position, then the prediction's position in it.
        """
        key: np.ndarray = self.box_position[boxes]
        if self.layout == "frames":
            key = self.frame_position[self.box_frame[boxes]] * (1 << 31) + key
        return key

    def first_frame(self, mask: np.ndarray) -> int:
        """The frame, among ``mask``, that comes first in the input."""
        idx = np.flatnonzero(mask)
        return int(idx[np.argmin(self.frame_position[idx])])

    # ------------------------------------------------------------------ out

    def to_frames(self) -> list[dict[str, Any]]:
        """The frames as CVAL-style dicts, in input order (a Python loop: for small tables).

        Example:
            >>> PredictionTable.from_frames([{"frame_id": "a", "predictions": [
            ...     {"score": 0.5}]}]).to_frames()
            [{'frame_id': 'a', 'predictions': [{'score': 0.5}]}]
        """
        order = np.lexsort((self.box_position, self.box_frame))
        per_frame: list[list[dict[str, Any]]] = [[] for _ in range(self.num_frames)]
        has_p = self.has_probabilities()
        has_mc = self.has_mc_probabilities()
        for b in order.tolist():
            pred: dict[str, Any] = {}
            if self.category_id is not None and self.category_id[b] is not None:
                cat = self.category_id[b]
                pred["category_id"] = cat.item() if isinstance(cat, np.generic) else cat
            if not math.isnan(self.score[b]):
                pred["score"] = float(self.score[b])
            if self.embedding_id is not None and self.embedding_id[b] is not None:
                pred["embedding_id"] = self.embedding_id[b]
            if has_p[b] and self.probabilities is not None:
                pred["probabilities"] = self.probabilities[b].tolist()
            if has_mc[b] and self.mc_probabilities is not None:
                pred["mc_probabilities"] = self.mc_probabilities[b].tolist()
            per_frame[int(self.box_frame[b])].append(pred)
        out = []
        for f in np.argsort(self.frame_position, kind="stable").tolist():
            if self.task == "classification":
                out.append({"frame_id": self.frame_ids[f], "prediction": per_frame[f][0]})
            else:
                out.append({"frame_id": self.frame_ids[f], "predictions": per_frame[f]})
        return out

    # ------------------------------------------------------------------ in

    @classmethod
    def coerce(cls, value: Any, *, task: Task = "detection") -> PredictionTable:
        """A table from a table, a ``pyarrow.Table`` or a sequence of frames.

        Args:
            value: a :class:`PredictionTable` (kept), a ``pyarrow.Table`` /
                ``RecordBatch`` (:meth:`from_arrow`), or a sequence of frame dicts or
                frame models (:meth:`from_frames`).
            task: what the frames are: ``"detection"`` (``predictions`` lists) or
                ``"classification"`` (one ``prediction`` each).

        Returns:
            The table.

        Raises:
            TypeError: anything else.
            ValueError: a bad frame or prediction (named).
        """
        if isinstance(value, PredictionTable):
            if value.task != task:
                raise ValueError(
                    f"Expected `frames` of a {task} request, but got a {value.task} table"
                )
            return value
        if isinstance(value, pa.RecordBatch):
            value = pa.Table.from_batches([value])
        if isinstance(value, pa.Table):
            return cls.from_arrow(value, task=task)
        if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
            return cls.from_frames(value, task=task)
        raise TypeError(
            "Expected `frames` to be a list of frames, a pyarrow.Table or a PredictionTable, "
            f"but got {type(value).__name__}"
        )

    @classmethod
    def from_frames(cls, frames: Sequence[Any], *, task: Task = "detection") -> PredictionTable:
        """A table from CVAL-style frames (dicts or ``DetectionFrame``/``ClassificationFrame``).

        Args:
            frames: ``[{"frame_id": ..., "predictions": [{...}, ...]}, ...]`` (detection)
                or ``[{"frame_id": ..., "prediction": {...}}, ...]`` (classification).
            task: ``"detection"`` or ``"classification"``.

        Returns:
            The table (layout ``"frames"``).

        Raises:
            ValueError: unknown fields, bad values, duplicate frame ids.
            TypeError: a frame or prediction that is not an object.
        """
        pred_key = "prediction" if task == "classification" else "predictions"
        allowed = ("frame_id", pred_key)
        frames = _as_dicts(list(frames), lambda i: f"frames[{i}]")
        _check_keys(frames, frozenset(allowed), allowed, "a frame", lambda i: f"frames[{i}]")
        ids = [fr.get("frame_id") for fr in frames]
        preds = [fr.get(pred_key) for fr in frames]
        if task == "classification":
            if None in preds:
                i = preds.index(None)
                raise ValueError(
                    f"Expected `frames[{i}].prediction` to be an object, but got None "
                    f"(a classification frame has exactly one prediction)"
                )
            boxes = preds
            counts = np.ones(len(preds), dtype=np.int64)
        else:
            if not set(map(type, preds)) <= {list, type(None)}:
                for i, v in enumerate(preds):
                    if v is not None and type(v) is not list:
                        if isinstance(v, (str, bytes, Mapping)) or not isinstance(v, Sequence):
                            raise TypeError(
                                f"Expected `frames[{i}].predictions` to be a list of objects, but "
                                f"got {type(v).__name__}"
                            )
                        preds[i] = list(v)
            counts = np.fromiter(
                (0 if v is None else len(v) for v in preds), dtype=np.int64, count=len(preds)
            )
            boxes = list(itertools.chain.from_iterable(v for v in preds if v))
        frame = np.repeat(np.arange(len(preds), dtype=np.int64), counts)
        position = np.arange(frame.size, dtype=np.int64) - np.repeat(
            np.cumsum(counts) - counts, counts
        )
        built = _columns_from_dicts(boxes, frame, position, task)
        return _build(task, "frames", ids, built)

    @classmethod
    def from_box_records(
        cls, records: Sequence[Mapping[str, Any]], *, task: Task = "detection"
    ) -> PredictionTable:
        """A table from one record per prediction: ``frame_id`` plus the prediction's fields.

        A record whose prediction fields are all missing or null is a frame without boxes.

        Example:
            >>> t = PredictionTable.from_box_records([
            ...     {"frame_id": "a", "score": 0.3}, {"frame_id": "a", "score": 0.6},
            ...     {"frame_id": "b", "score": None}])
            >>> t.boxes_per_frame().tolist()
            [2, 0]
        """
        allowed = ("frame_id", *BOX_FIELDS)
        records = _as_dicts(list(records), lambda r: f"rows[{r}]")
        _check_keys(
            records, frozenset(allowed), allowed, "a prediction row", lambda r: f"rows[{r}]"
        )
        fids = [rec.get("frame_id") for rec in records]
        if not set(map(type, fids)) <= {str}:
            for r, fid in enumerate(fids):
                if not isinstance(fid, (str, int)) or isinstance(fid, bool):
                    raise TypeError(f"Expected `rows[{r}].frame_id` to be a str, but got {fid!r}")
            # as decimal strings before grouping: 7 and "7" are one frame's rows
            fids = [fid if isinstance(fid, str) else str(fid) for fid in fids]
        first_row: dict[Any, int] = {}
        for r, fid in enumerate(fids):
            first_row.setdefault(fid, r)
        ids = list(first_row)
        frame_of = np.fromiter(first_row.values(), dtype=np.int64, count=len(ids))
        index_of = {fid: i for i, fid in enumerate(ids)}
        row_frame = np.fromiter((index_of[f] for f in fids), dtype=np.int64, count=len(fids))
        has_box = np.fromiter(
            (any(v is not None for k, v in rec.items() if k != "frame_id") for rec in records),
            dtype=bool,
            count=len(records),
        )
        rows = np.flatnonzero(has_box)
        boxes = [{k: v for k, v in records[r].items() if k != "frame_id"} for r in rows.tolist()]
        built = _columns_from_dicts(boxes, row_frame[rows], rows.astype(np.int64), "rows")
        return _build(task, "boxes", ids, built, frame_position=frame_of)

    @classmethod
    def from_records(cls, records: Sequence[Any], *, task: Task | None = None) -> PredictionTable:
        """Frames layout when a record has ``predictions``/``prediction``, else boxes.

        The first record that has either key decides between detection and
        classification frames (a frame without predictions may come first).

        Example:
            >>> PredictionTable.from_records([{"frame_id": "a", "score": 0.5}]).layout
            'boxes'
            >>> PredictionTable.from_records(
            ...     [{"frame_id": "a"}, {"frame_id": "b", "predictions": [{"score": 0.5}]}]
            ... ).boxes_per_frame().tolist()
            [0, 1]
        """
        key = frames_key(records)
        if key is not None:
            kind: Task = "classification" if key == "prediction" else "detection"
            if task is not None and task != kind:
                raise ValueError(f"Expected {task} frames, but the records hold {kind} frames")
            return cls.from_frames(records, task=kind)
        return cls.from_box_records(records, task=task or "detection")

    @classmethod
    def from_arrow(cls, table: pa.Table, *, task: Task | None = None) -> PredictionTable:
        """A table from Arrow (Parquet, JSON lines), either layout, with pyarrow compute.

        Columns: ``frame_id`` and ``predictions`` (list of structs) or ``prediction``
        (struct) for the frames layout; ``frame_id`` and any of :data:`BOX_FIELDS` for
        the boxes layout.

        Raises:
            ValueError: a missing ``frame_id`` column, unknown columns or fields, bad
                values, duplicate frame ids in the frames layout (each named).
            TypeError: a column of the wrong type, e.g. a float ``category_id``.

        Example:
            >>> import pyarrow as pa
            >>> t = PredictionTable.from_arrow(pa.table({
            ...     "frame_id": ["a", "a", "b"], "score": [0.1, 0.2, None]}))
            >>> t.boxes_per_frame().tolist(), t.layout
            ([2, 0], 'boxes')
        """
        names = table.column_names
        if "frame_id" not in names:
            raise ValueError(f"Expected a column 'frame_id', but the table has columns {names}")
        if "predictions" in names or "prediction" in names:
            kind: Task = "classification" if "prediction" in names else "detection"
            if task is not None and task != kind:
                raise ValueError(f"Expected {task} frames, but the table holds {kind} frames")
            pred_col = "prediction" if kind == "classification" else "predictions"
            allowed: tuple[str, ...] = ("frame_id", pred_col)
            _check_columns(names, allowed, "column")
            ids = _id_column(column(table, "frame_id"), "frames", "frame_id")
            col = column(table, pred_col)
            if kind == "classification":
                if col.null_count:
                    f = int(np.flatnonzero(col.is_null().to_numpy(zero_copy_only=False))[0])
                    raise ValueError(
                        f"Expected `frames[{f}].prediction` to be an object, but got None "
                        "(a classification frame has exactly one prediction)"
                    )
                flat = col
                parent = np.arange(len(col), dtype=np.int64)
                position = np.zeros(len(col), dtype=np.int64)
            else:
                if pa.types.is_null(col.type):  # no frame has predictions: nothing typed them
                    col = pa.nulls(len(col), pa.list_(pa.struct([])))
                if not pa.types.is_list(col.type) and not pa.types.is_large_list(col.type):
                    raise TypeError(
                        f"Expected column 'predictions' to be a list of objects, but got {col.type}"
                    )
                flat = pc.list_flatten(col)
                parent = pc.list_parent_indices(col).to_numpy().astype(np.int64)
                lengths = pc.fill_null(pc.list_value_length(col), 0).to_numpy()
                starts = np.cumsum(lengths) - lengths
                position = np.arange(len(parent), dtype=np.int64) - np.repeat(starts, lengths)
            if len(flat) and not pa.types.is_struct(flat.type):
                raise TypeError(
                    f"Expected the predictions to be objects, but got {flat.type} values"
                )
            if flat.null_count:
                b = int(np.flatnonzero(flat.is_null().to_numpy(zero_copy_only=False))[0])
                raise ValueError(
                    f"Expected every prediction to be an object, but got None "
                    f"(first offending item: frames[{parent[b]}].predictions[{position[b]}])"
                )
            fields = (
                {flat.type.field(i).name: flat.field(i) for i in range(flat.type.num_fields)}
                if len(flat) or pa.types.is_struct(flat.type)
                else {}
            )
            for k in fields:
                if k not in BOX_FIELDS:
                    b0 = _first_valid(fields[k])
                    where = (
                        f"frames[{parent[b0]}].prediction.{k}"
                        if kind == "classification"
                        else f"frames[{parent[b0]}].predictions[{position[b0]}].{k}"
                    )
                    raise ValueError(
                        f"Expected the fields of a prediction to be among {_quoted(BOX_FIELDS)}, "
                        f"but got unknown field {k!r} (first offending item: {where})"
                    )
            n = len(flat)
            built = _arrow_box_columns(fields, n, parent, position, "frames", kind)
            return _build(kind, "frames", ids, built)
        allowed = ("frame_id", *BOX_FIELDS)
        _check_columns(names, allowed, "column")
        # kept in chunks (Parquet row groups): only the frames' own ids are copied
        ids_all = _id_column(table.column("frame_id"), "rows", "frame_id")
        frame_of_row, frame_ids, first_row = frames_of_rows(ids_all)
        fields = {k: column(table, k) for k in names if k != "frame_id"}
        if any(arr.null_count == 0 for arr in fields.values()):  # every row has a prediction
            rows = np.arange(table.num_rows, dtype=np.int64)
            sub = fields
        else:
            present = np.zeros(table.num_rows, dtype=bool)
            for arr in fields.values():
                present |= arr.is_valid().to_numpy(zero_copy_only=False)
            rows = np.flatnonzero(present).astype(np.int64)
            sub = {k: v.take(pa.array(rows)) for k, v in fields.items()}
            frame_of_row = frame_of_row[rows]
        built = _arrow_box_columns(sub, len(rows), frame_of_row, rows, "rows", task)
        return _build(task or "detection", "boxes", frame_ids, built, frame_position=first_row)


# ---------------------------------------------------------------------- building


_BOX_FIELD_SET = frozenset(BOX_FIELDS)


def frames_key(records: Sequence[Any]) -> str | None:
    """``"predictions"`` / ``"prediction"``: the frames key of the records, if any.

    The first record decides, unless it holds nothing but a ``frame_id`` (a frame
    without predictions, or a row without a box): then the first record that has
    either key does. ``None``: the boxes layout.
    """
    first = records[0] if len(records) else None
    if isinstance(first, Mapping) and first.keys() - {"frame_id"}:
        candidates: Sequence[Any] = (first,)
    else:
        candidates = records
    for rec in candidates:
        if isinstance(rec, Mapping):
            if "predictions" in rec:
                return "predictions"
            if "prediction" in rec:
                return "prediction"
    return None


def _as_dicts(items: list[Any], name: Any) -> list[Any]:
    """Plain dicts (pydantic models dumped); a non-object item is a TypeError."""
    if set(map(type, items)) <= {dict}:
        return items
    out = []
    for i, x in enumerate(items):
        if type(x) is not dict and hasattr(x, "model_dump"):
            x = x.model_dump()
        if not isinstance(x, Mapping):
            raise TypeError(
                f"Expected `{name(i)}` to be an object (dict), but got {type(x).__name__}"
            )
        out.append(x)
    return out


def _check_keys(
    items: list[Any], allowed: frozenset[str], listed: Sequence[str], what: str, name: Any
) -> frozenset[str]:
    """The keys that occur in ``items`` (dicts); an unknown key is an error naming it."""
    present = frozenset().union(*items)
    if present <= allowed:
        return present
    i = next(i for i, x in enumerate(items) if not x.keys() <= allowed)
    k = next(k for k in items[i] if k not in allowed)
    raise ValueError(
        f"Expected the fields of {what} to be among {_quoted(listed)}, but got unknown field "
        f"{k!r} (first offending item: {name(i)}.{k})"
    )


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


def _columns_from_dicts(
    boxes: list[Any],
    frame: np.ndarray,
    position: np.ndarray,
    kind: Literal["detection", "classification", "rows"],
) -> _Built:
    """Prediction dicts -> columns, one list comprehension per field, checks on arrays."""

    def name(b: int) -> str:
        if kind == "rows":
            return f"rows[{int(position[b])}]"
        if kind == "classification":
            return f"frames[{int(frame[b])}].prediction"
        return f"frames[{int(frame[b])}].predictions[{int(position[b])}]"

    boxes = _as_dicts(boxes, name)
    present = _check_keys(boxes, _BOX_FIELD_SET, BOX_FIELDS, "a prediction", name)
    n = len(boxes)
    # skip the per-box lookup of a field no prediction has
    raw = [p.get("score") for p in boxes] if "score" in present else [None] * n
    if not set(map(type, raw)) <= {float, int, type(None)}:
        for b, v in enumerate(raw):
            if v is not None and not _is_number(v):
                raise TypeError(
                    f"Expected `{name(b)}.score` to be a number in [0, 1], but got {v!r}"
                )
    obj = np.array(raw, dtype=object) if n else np.zeros(0, dtype=object)
    missing = np.equal(obj, _NONE).astype(bool)  # one C loop over the objects
    obj[missing] = math.nan
    score = obj.astype(np.float64)
    bad = ~missing & ~((score >= 0.0) & (score <= 1.0))
    if bad.any():
        b = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"Expected `score` to be a finite number in [0, 1], but got {raw[b]!r} "
            f"(first offending item: {name(b)}.score)"
        )
    emb_raw = [p.get("embedding_id") for p in boxes] if "embedding_id" in present else []
    if not set(map(type, emb_raw)) <= {str, type(None)}:
        for b, e in enumerate(emb_raw):
            if e is not None and type(e) is not str:
                if isinstance(e, bool) or not isinstance(e, (str, int)):
                    raise TypeError(f"Expected `{name(b)}.embedding_id` to be a str, but got {e!r}")
                emb_raw[b] = str(e)
    emb = None
    if emb_raw.count(None) < len(emb_raw):
        check_utf8([e or "" for e in emb_raw], "embedding_id", lambda b: f"{name(b)}.embedding_id")
        emb = np.empty(n, dtype=object)
        emb[:] = emb_raw
    cat_raw = [p.get("category_id") for p in boxes] if "category_id" in present else []
    if not set(map(type, cat_raw)) <= {int, str, type(None)}:
        for b, c in enumerate(cat_raw):
            if c is not None and (isinstance(c, bool) or not isinstance(c, (int, str, np.integer))):
                raise TypeError(
                    f"Expected `{name(b)}.category_id` to be an int or str, but got {c!r}"
                )
    cat = None
    if cat_raw.count(None) < len(cat_raw):
        cat = np.empty(n, dtype=object)
        cat[:] = cat_raw
    probs = None
    col = [p.get("probabilities") for p in boxes] if "probabilities" in present else []
    have = [b for b, v in enumerate(col) if v is not None]
    if have:
        rows = _dense(
            [col[b] for b in have], [f"{name(b)}.probabilities" for b in have], 2, "probabilities"
        )
        probs = np.full((n, rows.shape[1]), np.nan)
        probs[np.asarray(have, dtype=np.int64)] = rows
    mc = None
    col = [p.get("mc_probabilities") for p in boxes] if "mc_probabilities" in present else []
    have = [b for b, v in enumerate(col) if v is not None]
    if have:
        draws = _dense(
            [col[b] for b in have],
            [f"{name(b)}.mc_probabilities" for b in have],
            3,
            "mc_probabilities",
        )
        mc = np.full((n, draws.shape[1], draws.shape[2]), np.nan)
        mc[np.asarray(have, dtype=np.int64)] = draws
    return _Built(
        frame=np.asarray(frame, dtype=np.int64),
        position=np.asarray(position, dtype=np.int64),
        score=score,
        probabilities=probs,
        mc_probabilities=mc,
        embedding_id=emb,
        category_id=cat,
    )


@dataclass
class _Built:
    frame: np.ndarray
    position: np.ndarray
    score: np.ndarray
    probabilities: np.ndarray | None
    mc_probabilities: np.ndarray | None
    embedding_id: np.ndarray | None
    category_id: np.ndarray | None


def _dense(rows: list[Any], names: list[str], ndim: int, what: str) -> np.ndarray:
    """Nested lists of numbers -> a dense float64 array, naming the first ragged/bad row."""
    shape = "C numbers" if ndim == 2 else "S lists of C numbers"
    try:
        arr = np.asarray(rows)
    except ValueError:
        arr = np.asarray([None])  # ragged: find the row below
    if arr.ndim != ndim or arr.dtype.kind not in "fiu":
        ref = np.shape(np.asarray(rows[0], dtype=object)) if rows else ()
        for r, name in zip(rows, names, strict=True):
            a = np.asarray(r, dtype=object)
            ok = a.ndim == ndim - 1 and a.shape == ref and a.size > 0
            if ok:
                flat = a.ravel().tolist()
                ok = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in flat)
            if not ok:
                raise ValueError(
                    f"Expected `{what}` to be {shape} (the same for every prediction, here "
                    f"shape {ref}), but got {r!r} (first offending item: {name})"
                )
        raise ValueError(f"Expected `{what}` to be {shape}")  # pragma: no cover
    arr = arr.astype(np.float64, copy=False)
    if arr.shape[-1] < 2:
        raise ValueError(
            f"Expected `{what}` to have at least 2 classes, but got {arr.shape[-1]} "
            f"(first offending item: {names[0]})"
        )
    bad = ~np.isfinite(arr.reshape(arr.shape[0], -1)).all(axis=1)
    if bad.any():
        r = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"Expected `{what}` to be finite, but got {rows[r]!r} (first offending item: "
            f"{names[r]})"
        )
    return arr


def _check_columns(names: Sequence[str], allowed: Sequence[str], what: str) -> None:
    for k in names:
        if k not in allowed:
            raise ValueError(
                f"Expected the columns to be among {_quoted(allowed)}, but got unknown {what} {k!r}"
            )


def _first_valid(arr: pa.Array) -> int:
    valid = arr.is_valid().to_numpy(zero_copy_only=False)
    return int(np.flatnonzero(valid)[0]) if valid.any() else 0


def _id_column(
    arr: pa.Array | pa.ChunkedArray, where: str, name: str
) -> pa.Array | pa.ChunkedArray:
    if (
        pa.types.is_integer(arr.type)
        or pa.types.is_large_string(arr.type)
        or pa.types.is_dictionary(arr.type)
    ):
        arr = pc.cast(arr, pa.string())
    if not pa.types.is_string(arr.type) and len(arr):
        raise TypeError(f"Expected column {name!r} to hold str ids, but got {arr.type}")
    if arr.null_count:
        r = int(np.flatnonzero(arr.is_null().to_numpy(zero_copy_only=False))[0])
        raise ValueError(
            f"Expected `{name}` to be a str, but got None (first offending item: "
            f"{where}[{r}].{name})"
        )
    return arr


def _arrow_box_columns(
    fields: Mapping[str, pa.Array],
    n: int,
    frame: np.ndarray,
    position: np.ndarray,
    where: str,
    task: Task | None,
) -> _Built:
    """Arrow prediction fields -> columns, vectorized (``frame``/``position`` per value)."""

    def name(b: int, k: str) -> str:
        if where == "rows":
            return f"rows[{int(position[b])}].{k}"
        if task == "classification":
            return f"frames[{int(frame[b])}].prediction.{k}"
        return f"frames[{int(frame[b])}].predictions[{int(position[b])}].{k}"

    score = None
    if "score" in fields:
        arr = fields["score"]
        numeric = pa.types.is_floating(arr.type) or pa.types.is_integer(arr.type)
        if not numeric and len(arr) and not pa.types.is_null(arr.type):
            raise TypeError(f"Expected `score` to hold numbers, but got {arr.type}")
        if not pa.types.is_null(arr.type):
            vals = pc.cast(arr, pa.float64())
            if arr.null_count:
                vals = pc.fill_null(vals, math.nan)
            score = vals.to_numpy(zero_copy_only=False)  # read-only view without nulls
            # NaN fails both comparisons (so do the nulls, now NaN: looked at below)
            if n and not (score.min() >= 0.0 and score.max() <= 1.0):
                valid = arr.is_valid().to_numpy(zero_copy_only=False)
                bad = valid & ~((score >= 0.0) & (score <= 1.0))
                if bad.any():
                    b = int(np.flatnonzero(bad)[0])
                    raise ValueError(
                        f"Expected `score` to be a finite number in [0, 1], but got "
                        f"{arr[b].as_py()!r} (first offending item: {name(b, 'score')})"
                    )
    if score is None:
        score = np.full(n, np.nan)
    emb = None
    if "embedding_id" in fields and fields["embedding_id"].null_count < n:
        arr = fields["embedding_id"]
        if pa.types.is_integer(arr.type) or pa.types.is_large_string(arr.type):
            arr = pc.cast(arr, pa.string())
        if not pa.types.is_string(arr.type):
            raise TypeError(f"Expected `embedding_id` to hold str ids, but got {arr.type}")
        emb = arr.to_numpy(zero_copy_only=False).astype(object)
    cat = None
    if "category_id" in fields and fields["category_id"].null_count < n:
        arr = fields["category_id"]
        if pa.types.is_dictionary(arr.type):
            arr = arr.dictionary_decode()
        if pa.types.is_large_string(arr.type):
            arr = pc.cast(arr, pa.string())
        if pa.types.is_integer(arr.type) and arr.type != pa.uint64() and not arr.null_count:
            cat = arr.to_numpy().astype(np.int64, copy=False)  # no Python int per box
        elif pa.types.is_integer(arr.type) or pa.types.is_string(arr.type):
            cat = np.empty(n, dtype=object)
            cat[:] = arr.to_pylist()
        else:
            b = _first_valid(arr)
            hint = (
                " (a pandas int column with missing values becomes float: give it dtype 'Int64')"
                if pa.types.is_floating(arr.type)
                else ""
            )
            raise TypeError(
                f"Expected `category_id` to hold ints or strs, but got {arr.type} "
                f"{arr[b].as_py()!r} (first offending item: {name(b, 'category_id')}){hint}"
            )
    probs = None
    if "probabilities" in fields and fields["probabilities"].null_count < n:
        probs = _arrow_dense(fields["probabilities"], n, 1, "probabilities", name)
    mc = None
    if "mc_probabilities" in fields and fields["mc_probabilities"].null_count < n:
        mc = _arrow_dense(fields["mc_probabilities"], n, 2, "mc_probabilities", name)
    return _Built(
        frame=np.asarray(frame, dtype=np.int64),
        position=np.asarray(position, dtype=np.int64),
        score=score,
        probabilities=probs,
        mc_probabilities=mc,
        embedding_id=emb,
        category_id=cat,
    )


def _arrow_dense(arr: pa.Array, n: int, depth: int, what: str, name: Any) -> np.ndarray:
    """A (nested) list column -> ``(n, C)`` / ``(n, S, C)`` float64 with NaN rows for nulls."""
    rows = np.flatnonzero(arr.is_valid().to_numpy(zero_copy_only=False))
    level = arr.take(pa.array(rows))
    owner = rows  # the prediction each value of `level` belongs to
    shape: list[int] = []
    for _ in range(depth):
        if not (pa.types.is_list(level.type) or pa.types.is_large_list(level.type)):
            raise TypeError(f"Expected `{what}` to hold lists of numbers, but got {arr.type}")
        if level.null_count:
            i = int(np.flatnonzero(level.is_null().to_numpy(zero_copy_only=False))[0])
            raise ValueError(
                f"Expected `{what}` to hold lists of numbers, but got a null list (first "
                f"offending item: {name(int(owner[i]), what)})"
            )
        lengths = pc.list_value_length(level).to_numpy(zero_copy_only=False).astype(np.int64)
        ref = int(lengths[0]) if len(lengths) else 0
        if (lengths != ref).any():
            i = int(np.flatnonzero(lengths != ref)[0])
            raise ValueError(
                f"Expected `{what}` to have the same shape for every prediction, but got a list "
                f"of {int(lengths[i])} after {ref} (first offending item: "
                f"{name(int(owner[i]), what)})"
            )
        shape.append(ref)
        owner = np.repeat(owner, lengths)
        level = pc.list_flatten(level)
    if len(level) and not (pa.types.is_floating(level.type) or pa.types.is_integer(level.type)):
        raise TypeError(f"Expected `{what}` to hold numbers, but got {arr.type}")
    if level.null_count:
        i = int(np.flatnonzero(level.is_null().to_numpy(zero_copy_only=False))[0])
        raise ValueError(
            f"Expected `{what}` to hold numbers, but got a null value (first offending item: "
            f"{name(int(owner[i]), what)})"
        )
    if not rows.size:
        return np.full((n, *([2] * depth)), np.nan)
    if shape[-1] < 2:
        raise ValueError(
            f"Expected `{what}` to have at least 2 classes, but got {shape[-1]} "
            f"(first offending item: {name(int(rows[0]), what)})"
        )
    vals = pc.cast(level, pa.float64()).to_numpy(zero_copy_only=False)
    dense = vals.reshape(len(rows), *shape)
    bad = ~np.isfinite(dense.reshape(len(rows), -1)).all(axis=1)
    if bad.any():
        r = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"Expected `{what}` to be finite, but got a NaN or inf (first offending item: "
            f"{name(int(rows[r]), what)})"
        )
    out = np.full((n, *shape), np.nan)
    out[rows] = dense
    return out


def _renumber(frame: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Input frame indexes -> sorted ones, given the sort ``order`` of the frames."""
    if not frame.size:
        return _EMPTY_I64
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order), dtype=np.int64)
    out: np.ndarray = rank[frame]
    return out


def _string_array(ids: list[str], where: str, pos_of: np.ndarray) -> pa.Array:
    """The frame ids as an Arrow string column; an id UTF-8 cannot encode is named."""
    try:
        return pa.array(ids, pa.string())
    except UnicodeEncodeError:
        check_utf8(ids, "frame_id", lambda i: f"{where}[{int(pos_of[i])}].frame_id")
        raise  # pragma: no cover - check_utf8 raised


def _build(
    task: Task,
    layout: Literal["frames", "boxes"],
    ids: list[Any] | pa.Array,
    b: _Built,
    *,
    frame_position: np.ndarray | None = None,
) -> PredictionTable:
    """Sort frames by id (pyarrow), check uniqueness, remap boxes to sorted frame indexes."""
    where = "frames" if layout == "frames" else "rows"
    pos_of = frame_position if frame_position is not None else np.arange(len(ids), dtype=np.int64)
    if isinstance(ids, pa.Array):
        str_ids = ids  # a checked string column
    elif not set(map(type, ids)) <= {str}:
        ids = list(ids)
        for i, fid in enumerate(ids):
            if isinstance(fid, bool) or not isinstance(fid, (str, int, np.integer)):
                raise TypeError(
                    f"Expected `frame_id` to be a str, but got {fid!r} (first offending item: "
                    f"{where}[{int(pos_of[i])}].frame_id)"
                )
            ids[i] = fid if isinstance(fid, str) else str(int(fid))
        str_ids = _string_array(ids, where, pos_of)
    else:
        str_ids = _string_array(ids, where, pos_of)
    already_sorted = ascending(str_ids)  # the usual export: no sort, no duplicate
    if already_sorted:
        order = np.arange(len(str_ids), dtype=np.int64)
        sorted_ids = str_ids
    else:
        order = pc.sort_indices(str_ids).to_numpy().astype(np.int64)
        sorted_ids = str_ids.take(pa.array(order))
    if len(sorted_ids) > 1 and not already_sorted:
        dup = pc.equal(sorted_ids[1:], sorted_ids[:-1]).to_numpy(zero_copy_only=False)
        if dup.any():
            d = np.flatnonzero(dup)
            # the duplicate that occurs first in the input
            second = np.maximum(pos_of[order[d]], pos_of[order[d + 1]])
            k = int(np.argmin(second))
            raise ValueError(
                f"Expected `frame_id` to be unique, but got {sorted_ids[int(d[k])].as_py()!r} "
                f"twice (first offending item: {where}[{int(second[k])}].frame_id)"
            )
    frame_ids = np.empty(len(order), dtype=object)
    frame_ids[:] = sorted_ids.to_numpy(zero_copy_only=False)
    if task == "classification":
        counts = np.bincount(b.frame, minlength=len(ids))
        if (counts != 1).any():
            f = int(np.flatnonzero(counts != 1)[0])
            raise ValueError(
                f"Expected exactly one prediction per classification frame, but got "
                f"{int(counts[f])} (first offending item: {where}[{int(pos_of[f])}])"
            )
    return PredictionTable(
        task=task,
        layout=layout,
        frame_ids=frame_ids,
        frame_position=pos_of[order].astype(np.int64),
        box_frame=b.frame if already_sorted else _renumber(b.frame, order),
        box_position=b.position,
        score=b.score if b.score.size else _EMPTY_F64,
        probabilities=b.probabilities,
        mc_probabilities=b.mc_probabilities,
        embedding_id=b.embedding_id,
        category_id=b.category_id,
    )
