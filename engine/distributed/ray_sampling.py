"""Sampling over Parquet shards on Ray Data (extra ``ray``): the same scores, the same picks.

The map half runs where the shards are: ``ray.data.read_parquet(paths)`` then
``map_batches`` scores every frame of a block with
:func:`~assay.engine.sampling.score_frames` (the same kernels as in-process) and keeps
only the block's *candidates*: for each score stage, its top ``k`` frames in the
stage's order (score, then frame id), where ``k`` bounds how deep the in-process run
can reach into that stage (the stage's size plus the frames earlier picking stages may
have taken). The driver merges the blocks' candidates into the global ones and runs
:func:`~assay.engine.sampling.select` on them, so only ``O(k x blocks)`` rows, not the
pool, come back.

Why it is exact: a stage of the in-process run only ever takes frames among the top
``size + taken`` of the whole pool by its own score, and those are all among the
candidates, ranked the same way (ties to the smaller frame id in both). A narrowing
stage ends the search: every later stage (core-set, clustering, ...) works inside its
pool, whose rows and embeddings are on the driver. A diversity stage that comes first
has the whole pool as its candidates; put an uncertainty stage before it to scale
(the pipeline CVAL calls "method combination").

Embeddings of a pipeline with a diversity stage are the in-process kinds (a mapping, a
pair ``(ids, array)``, an ``EmbeddingIndex``) or Parquet files with an id column
(``id``, ``embedding_id`` or ``frame_id``) and a vector column (``embedding`` or
``vector``), as ``assay sample --embeddings`` reads them; from files, only the rows of
the candidates (and of ``labeled_ids``) are gathered, by a distributed filter.
"""

from __future__ import annotations

import functools
import math
import os
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import torch

from ..sampling import (
    DIVERSITY_STRATEGIES,
    ClassificationSamplingRequest,
    FrameScores,
    PredictionTable,
    SamplingRequest,
    SamplingResult,
    parse_request,
    score_frames,
    select,
)
from ..sampling.embeddings import EmbeddingsLike
from ..sampling.readers import EMBEDDING_ID_COLUMNS, EMBEDDING_VECTOR_COLUMNS
from ..sampling.request import StageSpec
from ..sampling.scoring import ProgressCallback
from ..sampling.table import Task
from .shards import shard_task

if TYPE_CHECKING:  # pragma: no cover
    import ray.data

__all__ = [
    "RAY_INSTALL_HINT",
    "candidate_depths",
    "ray_available",
    "require_ray",
    "sample_parquet",
    "score_parquet",
]

RAY_INSTALL_HINT = 'pip install "assay[ray]"'
_POOL = "_pool_frames"  # per block: frames in the pool (on the block's first output row)
# a row kept only to carry its block's pool size, when the block kept no candidate
_CARRIER = "_pool_only"
_LABELED = "_labeled"
_KEYS = "_embedding_keys"
_KEY_IS_FRAME = "_embedding_is_frame"
_ERROR = "_error"  # a block's error (type: message), carried as data to the driver

AnyRequest = SamplingRequest | ClassificationSamplingRequest
PathsLike = str | os.PathLike[str] | Sequence[str | os.PathLike[str]]


@functools.cache
def _ray_import_error() -> str | None:
    """Why ``ray.data`` cannot be imported (``None`` when it can); cached."""
    try:
        import ray
        import ray.data  # noqa: F401
    except Exception as exc:  # any failure (missing, broken install) means "not available"
        return f"{type(exc).__name__}: {exc}"
    return None


def ray_available() -> bool:
    """Whether Ray Data can be imported (the ``ray`` extra is installed).

    Example:
        >>> isinstance(ray_available(), bool)
        True
    """
    return _ray_import_error() is None


def require_ray() -> None:
    """Raise ``ImportError`` with the install command when Ray Data is missing."""
    error = _ray_import_error()
    if error is not None:
        raise ImportError(
            "Expected Ray Data for sampling over Parquet shards, but it cannot be imported "
            f"({error}); install it with `{RAY_INSTALL_HINT}`"
        )


def _score_columns(num_stages: int) -> list[str]:
    return [f"score_{i}" for i in range(num_stages)]


def _paths(paths: PathsLike) -> list[str]:
    if isinstance(paths, (str, os.PathLike)):
        return [os.fspath(paths)]
    if (
        isinstance(paths, Sequence)
        and paths
        and all(isinstance(p, (str, os.PathLike)) for p in paths)
    ):
        return [os.fspath(p) for p in paths]
    raise TypeError(
        "Expected `paths` to be a path or a non-empty list of paths to Parquet shards, but got "
        f"{paths!r}"
    )


def _request_fields(
    request: AnyRequest | Mapping[str, Any],
) -> dict[str, Any]:
    """The request's fields without ``frames`` (which come from the shards)."""
    if isinstance(request, (SamplingRequest, ClassificationSamplingRequest)):
        if request.frames.num_frames:
            raise ValueError(
                "Expected a request without frames (they come from the shards), but it has "
                f"{request.frames.num_frames}"
            )
        return request.model_dump(exclude={"frames"}, exclude_none=True)
    if not isinstance(request, Mapping):
        raise TypeError(
            "Expected `request` to be a SamplingRequest, a ClassificationSamplingRequest or a "
            f"dict of their fields, but got {type(request).__name__}"
        )
    frames = request.get("frames")
    if frames is not None and len(frames):
        raise ValueError(
            "Expected a request without frames (they come from the shards), but it has "
            f"{len(frames)}"
        )
    return {k: v for k, v in request.items() if k != "frames"}


def _parse(fields: Mapping[str, Any], frames: PredictionTable) -> AnyRequest:
    return parse_request({**fields, "frames": frames})


def _empty_table(task: Task) -> PredictionTable:
    return PredictionTable.from_frames([], task=task)


# ---------------------------------------------------------------------- candidates


def candidate_depths(
    specs: Sequence[StageSpec], num_of_samples: int
) -> tuple[list[tuple[int, int]], bool]:
    """How deep each score stage's ranking must be searched; whether the whole pool is needed.

    Walks the pipeline as :func:`~assay.engine.sampling.select` does: a picking score
    stage of size ``m`` after picking stages that took up to ``t`` frames needs the top
    ``m + t`` of the pool by its score; a narrowing one needs the same and bounds the
    rest of the pipeline; a diversity stage before any narrowing needs the whole pool.

    Args:
        specs: the request's resolved stages (``request.stage_specs()``).
        num_of_samples: the request's ``num_of_samples``.

    Returns:
        ``([(stage index, depth), ...], whole_pool)``.

    Example:
        >>> from assay.engine.sampling import SamplingRequest
        >>> req = SamplingRequest(num_of_samples=3, frames=[], stages=[
        ...     {"strategy": "margin", "mode": "pick", "num_of_samples": 2},
        ...     {"strategy": "entropy", "num_of_samples": 10}, {"strategy": "coreset"}])
        >>> candidate_depths(req.stage_specs(), req.num_of_samples)
        ([(0, 2), (1, 12)], False)
    """
    depths: list[tuple[int, int]] = []
    taken = 0
    for spec in specs:
        if spec.strategy in DIVERSITY_STRATEGIES:
            return depths, True
        if spec.mode == "narrow":
            want = spec.num_of_samples or math.ceil(spec.factor * num_of_samples)
            depths.append((spec.index, want + taken))
            return depths, False
        want = spec.num_of_samples if spec.num_of_samples is not None else num_of_samples - taken
        want = max(want, 0)
        depths.append((spec.index, want + taken))
        taken += want
    return depths, False


def _top_rows(
    scores: np.ndarray, frame_ids: pa.Array, eligible: np.ndarray, k: int, descending: bool
) -> np.ndarray:
    """Indices of the ``k`` best eligible rows: by score, ties to the smaller frame id."""
    rows = np.flatnonzero(eligible)
    if k <= 0 or rows.size == 0:
        return rows[:0]
    id_rank = np.empty(len(frame_ids), dtype=np.int64)
    id_rank[pc.sort_indices(frame_ids).to_numpy()] = np.arange(len(frame_ids), dtype=np.int64)
    s = scores[rows]
    order = np.lexsort((id_rank[rows], -s if descending else s))
    return rows[order[:k]]


def _keep_candidates(
    table: pa.Table, depths: Sequence[tuple[int, int, bool]], whole_pool: bool
) -> np.ndarray:
    """``(n,)`` bool: the rows among some stage's top ``k`` (or labeled, or all)."""
    n = table.num_rows
    labeled = np.asarray(table.column(_LABELED).to_numpy(zero_copy_only=False), dtype=bool)
    if whole_pool:
        return np.ones(n, dtype=bool)
    keep = labeled.copy()
    ids = table.column("frame_id").combine_chunks()
    for index, k, descending in depths:
        scores = table.column(f"score_{index}").to_numpy(zero_copy_only=False)
        keep[_top_rows(scores, ids, ~labeled, k, descending)] = True
    return keep


class _ScoreBlock:
    """Ray ``map_batches`` function: a block of frames -> per-frame scores (+ keys, flags).

    With ``errors_as_rows``, a bad frame becomes one row whose ``_error`` holds
    ``"ValueError: message"``: Ray does not carry the original exception to the driver
    (only its text inside a traceback), and the driver re-raises it as it was.
    """

    def __init__(
        self,
        fields: dict[str, Any],
        task: Task,
        device: torch.device | str | None,
        keys: bool,
        errors_as_rows: bool = False,
    ) -> None:
        self.fields = fields
        self.task = task
        self.device = device
        self.keys = keys
        self.errors_as_rows = errors_as_rows

    def __call__(self, batch: pa.Table) -> pa.Table:
        try:
            table = PredictionTable.from_arrow(batch, task=self.task)
            req = _parse(self.fields, table)
            fs = score_frames(req, device=self.device)
        except (ValueError, TypeError) as exc:
            message = f"{exc} ({_where(batch, str(exc))})"
            if not self.errors_as_rows:
                raise type(exc)(message) from None
            num_stages = len(_parse(self.fields, _empty_table(self.task)).stage_specs())
            row = _empty_scores(num_stages, self.keys, rows=1)
            index = row.schema.get_field_index(_ERROR)
            error = pa.array([f"{type(exc).__name__}: {message}"], pa.string())
            return row.set_column(index, _ERROR, error)
        return _scores_table(fs, req.labeled_ids, keys=self.keys, error_column=self.errors_as_rows)


def _where(batch: pa.Table, message: str) -> str:
    """Where in the shards a block's error is: the block's first frame id, the named frame's."""
    ids = batch.column("frame_id")
    where = f"in the shard block whose first frame_id is {ids[0].as_py()!r}" if len(ids) else ""
    match = re.search(r"(?:frames|rows)\[(\d+)\]", message)
    if match and int(match.group(1)) < len(ids):
        where += f"; {match.group(0)} there is frame_id {ids[int(match.group(1))].as_py()!r}"
    return where


def _scores_table(
    fs: FrameScores, labeled_ids: list[str] | None, *, keys: bool, error_column: bool = False
) -> pa.Table:
    ids = pa.array(fs.frame_ids, pa.string())
    columns: dict[str, Any] = {"frame_id": ids}
    for i, name in enumerate(_score_columns(fs.scores.shape[1])):
        columns[name] = pa.array(np.ascontiguousarray(fs.scores[:, i]), pa.float64())
    labeled = (
        pc.is_in(ids, value_set=pa.array(labeled_ids, pa.string()))
        if labeled_ids
        else pa.array(np.zeros(len(ids), dtype=bool))
    )
    columns[_LABELED] = labeled
    if keys:
        order = np.argsort(fs.embedding_frame, kind="stable")
        counts = np.bincount(fs.embedding_frame, minlength=fs.num_frames)
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
        flat = pa.array(fs.embedding_ids[order], pa.string())
        columns[_KEYS] = pa.ListArray.from_arrays(pa.array(offsets), flat)
        is_frame = np.zeros(fs.num_frames, dtype=bool)
        is_frame[fs.embedding_frame[fs.embedding_is_frame]] = True
        columns[_KEY_IS_FRAME] = pa.array(is_frame)
    if error_column:
        columns[_ERROR] = pa.nulls(fs.num_frames, pa.string())
    return pa.table(columns)


class _Candidates:
    """Ray ``map_batches`` function: a block's scores -> its candidates (+ its pool size)."""

    def __init__(self, depths: list[tuple[int, int, bool]], whole_pool: bool) -> None:
        self.depths = depths
        self.whole_pool = whole_pool

    def __call__(self, batch: pa.Table) -> pa.Table:
        if batch.num_rows and batch.column(_ERROR).null_count < batch.num_rows:
            zeros = np.zeros(batch.num_rows, np.int64)
            return batch.append_column(_POOL, pa.array(zeros)).append_column(
                _CARRIER, pa.array(zeros.astype(bool))
            )
        labeled = batch.column(_LABELED).to_numpy(zero_copy_only=False).astype(bool)
        keep = _keep_candidates(batch, self.depths, self.whole_pool)
        out = batch.filter(pa.array(keep))
        in_pool = int((~labeled).sum())
        carrier = np.zeros(out.num_rows, dtype=bool)
        if out.num_rows == 0 and in_pool:  # nothing kept (e.g. depth 0): carry the count
            out, carrier = batch.slice(0, 1), np.ones(1, dtype=bool)
        pool = np.zeros(out.num_rows, dtype=np.int64)
        if out.num_rows:
            pool[0] = in_pool
        return out.append_column(_POOL, pa.array(pool)).append_column(_CARRIER, pa.array(carrier))


class _KeepIds:
    """Ray ``map_batches`` function: the embedding rows whose id is among ``ids``."""

    def __init__(self, ids: pa.Array) -> None:
        self.ids = ids

    def __call__(self, batch: pa.Table) -> pa.Table:
        names = batch.column_names
        id_col = next(c for c in EMBEDDING_ID_COLUMNS if c in names)  # checked on the driver
        vec_col = next(c for c in EMBEDDING_VECTOR_COLUMNS if c in names)
        ids = batch.column(id_col).combine_chunks()
        if pa.types.is_integer(ids.type):
            ids = pc.cast(ids, pa.string())
        mask = pc.fill_null(pc.is_in(ids, value_set=self.ids), False)
        return pa.table({"id": ids.filter(mask), "vector": batch.column(vec_col).filter(mask)})


def _vectors(table: pa.Table) -> tuple[list[str], np.ndarray]:
    """``(ids, (N, D) float32)`` of gathered embedding rows (ragged vectors rejected)."""
    ids = table.column("id").to_pylist()
    vec = table.column("vector").combine_chunks()
    if vec.null_count:
        r = int(np.flatnonzero(vec.is_null().to_numpy(zero_copy_only=False))[0])
        raise ValueError(f"Expected every embedding to be a vector, but id {ids[r]!r} has null")
    lengths = pc.list_value_length(vec).to_numpy(zero_copy_only=False)
    if len(lengths) and (lengths != lengths[0]).any():
        r = int(np.flatnonzero(lengths != lengths[0])[0])
        raise ValueError(
            f"Expected every embedding to have dimension {int(lengths[0])}, but got "
            f"{int(lengths[r])} (first offending item: id {ids[r]!r})"
        )
    dim = int(lengths[0]) if len(lengths) else 0
    flat = pc.list_flatten(vec)
    values = pc.cast(flat, pa.float32()).to_numpy(zero_copy_only=False) if len(flat) else []
    return ids, np.asarray(values, dtype=np.float32).reshape(len(ids), dim)


def _check_unique(ids: pa.Array) -> None:
    """A frame id met twice (in two blocks' candidates) is an error, as in one request."""
    if len(ids) < 2:
        return
    ids = ids.take(pc.sort_indices(ids))
    same = pc.equal(ids.slice(1), ids.slice(0, len(ids) - 1)).to_numpy(zero_copy_only=False)
    if same.any():
        raise ValueError(
            "Expected every frame_id to be in one shard only, but got frame_id "
            f"{ids[int(np.flatnonzero(same)[0])].as_py()!r} twice"
        )


def _frame_scores(rows: pa.Table, strategies: tuple[str, ...], keys: bool) -> FrameScores:
    """The gathered candidates as :class:`FrameScores` (sorted by frame id, unique)."""
    ids = rows.column("frame_id").combine_chunks()
    order = pc.sort_indices(ids).to_numpy().astype(np.int64)
    rows = rows.take(pa.array(order))
    ids = rows.column("frame_id").combine_chunks()
    _check_unique(ids)
    frame_ids = np.asarray(ids.to_pylist(), dtype=object)
    n = len(frame_ids)
    scores = (
        np.stack(
            [
                rows.column(c).to_numpy(zero_copy_only=False)
                for c in _score_columns(len(strategies))
            ],
            axis=1,
        ).astype(np.float64)
        if n
        else np.zeros((0, len(strategies)))
    )
    if keys:
        lists = rows.column(_KEYS).combine_chunks()
        lengths = pc.list_value_length(lists).to_numpy(zero_copy_only=False).astype(np.int64)
        emb_ids = np.asarray(pc.list_flatten(lists).to_pylist(), dtype=object)
        emb_frame = np.repeat(np.arange(n, dtype=np.int64), lengths)
        is_frame = rows.column(_KEY_IS_FRAME).to_numpy(zero_copy_only=False).astype(bool)
        emb_is_frame = np.repeat(is_frame, lengths)
    else:
        emb_ids = np.zeros(0, dtype=object)
        emb_frame = np.zeros(0, dtype=np.int64)
        emb_is_frame = np.zeros(0, dtype=bool)
    return FrameScores(
        frame_ids=frame_ids,
        scores=scores,
        strategies=strategies,
        embedding_ids=emb_ids,
        embedding_frame=emb_frame,
        embedding_is_frame=emb_is_frame,
    )


# ---------------------------------------------------------------------- public


def _dataset(paths: list[str]) -> tuple[ray.data.Dataset, Task]:
    import ray.data

    ds = ray.data.read_parquet(paths)
    return ds, shard_task(ds.schema().names)


def score_parquet(
    paths: PathsLike,
    request: AnyRequest | Mapping[str, Any],
    *,
    device: torch.device | str | None = None,
) -> ray.data.Dataset:
    """Per-frame scores of Parquet shards, as a lazy Ray Dataset (no selection).

    Args:
        paths: Parquet shards (files or folders) in the layout of
            :mod:`assay.engine.distributed.shards` (one row per frame).
        request: the request's fields without ``frames`` (a dict, or a request model
            whose ``frames`` are empty).
        device: where each block's kernels run (``None``/``"cpu"``, ``"cuda"``,
            ``"auto"``).

    Returns:
        A ``ray.data.Dataset`` with ``frame_id``, one float64 ``score_{i}`` column per
        stage (NaN for diversity stages) and ``_labeled`` (the frame is in
        ``labeled_ids``); rows are computed when the dataset is consumed.

    Raises:
        ImportError: Ray Data is missing (says ``pip install "assay[ray]"``).
        ValueError: an invalid request, or shards of another layout.
    """
    require_ray()
    fields = _request_fields(request)
    ds, task = _dataset(_paths(paths))
    req = _parse(fields, _empty_table(task))
    needs_keys = any(s.strategy in DIVERSITY_STRATEGIES for s in req.stage_specs())
    return ds.map_batches(
        _ScoreBlock(fields, task, device, needs_keys), batch_format="pyarrow", batch_size=None
    )


def sample_parquet(
    paths: PathsLike,
    request: AnyRequest | Mapping[str, Any],
    *,
    embeddings: EmbeddingsLike | PathsLike | None = None,
    device: torch.device | str | None = None,
    progress: ProgressCallback | None = None,
) -> SamplingResult:
    """``assay.sample`` over Parquet shards on Ray Data: the same frames, scores and stages.

    Args:
        paths: Parquet shards (files or folders), one row per frame (see
            :mod:`assay.engine.distributed.shards`).
        request: the request's fields without ``frames`` (a dict, or a request model
            whose ``frames`` are empty): strategy or stages, ``num_of_samples``, ...
        embeddings: for diversity stages: a mapping, a pair ``(ids, array)``, an
            ``EmbeddingIndex``, or Parquet file(s) of ``id``/``embedding`` rows (only the
            candidates' rows are gathered).
        device: where the kernels run, on the workers and on the driver.
        progress: optional ``progress(fraction, message)`` (phases: scoring the shards,
            merging candidates, selecting).

    Returns:
        :class:`~assay.engine.sampling.SamplingResult`, equal to
        ``assay.sample`` of the same frames in one request.

    Raises:
        ImportError: Ray Data is missing (says ``pip install "assay[ray]"``).
        ValueError: an invalid request, a bad frame (named with its shard block), a
            frame id in two shards, missing embeddings.

    Example:
        >>> import tempfile
        >>> from assay.engine.distributed import write_prediction_shards
        >>> import ray  # doctest: +SKIP
        >>> _ = ray.init(num_cpus=1, include_dashboard=False, ignore_reinit_error=True,
        ...              log_to_driver=False)  # doctest: +SKIP
        >>> paths = write_prediction_shards(
        ...     [{"frame_id": f"f{i}", "predictions": [{"score": i / 10}]} for i in range(6)],
        ...     tempfile.mkdtemp(), num_shards=3)
        >>> sample_parquet(paths, {"num_of_samples": 2,
        ...                        "selection_strategy": "margin"}).frame_ids  # doctest: +SKIP
        ('f5', 'f4')
    """
    require_ray()
    fields = _request_fields(request)
    path_list = _paths(paths)
    ds, task = _dataset(path_list)
    req = _parse(fields, _empty_table(task))
    specs = req.stage_specs()
    depths, whole_pool = candidate_depths(specs, req.num_of_samples)
    needs_keys = any(s.strategy in DIVERSITY_STRATEGIES for s in specs)
    by_index = {s.index: s for s in specs}
    ranked = [(i, k, by_index[i].descending) for i, k in depths]
    if progress is not None:
        progress(0.0, f"scoring {len(path_list)} shard path(s) on Ray")
    candidates = ds.map_batches(
        _ScoreBlock(fields, task, device, needs_keys, errors_as_rows=True),
        batch_format="pyarrow",
        batch_size=None,
    ).map_batches(_Candidates(ranked, whole_pool), batch_format="pyarrow", batch_size=None)
    blocks = []
    for block in candidates.iter_batches(batch_format="pyarrow", batch_size=None):
        _raise_block_error(block)  # stops the run at the first bad block
        blocks.append(block)
    gathered = pa.concat_tables(blocks) if blocks else None
    if progress is not None:
        progress(0.5, "merging candidates")
    pool_size = 0
    if gathered is not None and gathered.num_rows:
        pool_size = int(pc.sum(gathered.column(_POOL)).as_py())
        gathered = gathered.filter(pc.invert(gathered.column(_CARRIER)))
    if gathered is None or gathered.num_rows == 0:
        strategies = tuple(s.strategy for s in specs)
        fs = _frame_scores(_empty_scores(len(specs), needs_keys), strategies, needs_keys)
    else:
        _check_unique(gathered.column("frame_id").combine_chunks())
        keep = _keep_candidates(gathered, ranked, whole_pool)
        gathered = gathered.filter(pa.array(keep))
        fs = _frame_scores(gathered, tuple(s.strategy for s in specs), needs_keys)
    lookup = embeddings
    if needs_keys and _is_paths(embeddings):
        lookup = _gather_embeddings(_paths(cast(PathsLike, embeddings)), fs, req.labeled_ids)
    tail: ProgressCallback | None = None
    if progress is not None:
        progress(0.6, f"selecting from {fs.num_frames} candidates")
        cb = progress

        def tail(f: float, msg: str) -> None:
            cb(0.6 + 0.4 * f, msg)

    result = select(req, fs, lookup, device=device, progress=tail)
    return _with_pool_size(result, pool_size)


def _empty_scores(num_stages: int, keys: bool, *, rows: int = 0) -> pa.Table:
    """The scores schema (with ``_error``) and ``rows`` rows of nulls / NaN / empty lists."""
    columns: dict[str, Any] = {"frame_id": pa.nulls(rows, pa.string())}
    for name in _score_columns(num_stages):
        columns[name] = pa.array(np.full(rows, np.nan), pa.float64())
    columns[_LABELED] = pa.array(np.zeros(rows, dtype=bool))
    if keys:
        columns[_KEYS] = pa.array([[]] * rows, pa.list_(pa.string()))
        columns[_KEY_IS_FRAME] = pa.array(np.zeros(rows, dtype=bool))
    columns[_ERROR] = pa.nulls(rows, pa.string())
    return pa.table(columns)


def _raise_block_error(block: pa.Table) -> None:
    """Re-raise the first error row of a block as the error the worker caught."""
    errors = block.column(_ERROR)
    if errors.null_count == block.num_rows:
        return
    text = str(pc.drop_null(errors)[0].as_py())
    kind, _, message = text.partition(": ")
    raise (TypeError if kind == "TypeError" else ValueError)(message)


def _is_paths(value: Any) -> bool:
    if isinstance(value, (str, os.PathLike)):
        return True
    return (
        isinstance(value, Sequence)
        and not isinstance(value, (str, bytes))
        and len(value) > 0
        and all(isinstance(v, (str, os.PathLike)) for v in value)
    )


def _gather_embeddings(
    paths: list[str], fs: FrameScores, labeled_ids: list[str] | None
) -> tuple[list[str], np.ndarray]:
    """Only the rows of the candidates' embedding ids (and labeled ids), filtered on Ray."""
    import ray.data

    wanted = pa.array(sorted(set(fs.embedding_ids.tolist()) | set(labeled_ids or [])), pa.string())
    ds = ray.data.read_parquet(paths)
    names = ds.schema().names
    if not any(c in names for c in EMBEDDING_ID_COLUMNS) or not any(
        c in names for c in EMBEDDING_VECTOR_COLUMNS
    ):
        raise ValueError(
            "Expected the embeddings to have an id column ("
            f"{' or '.join(EMBEDDING_ID_COLUMNS)}) and a vector column ("
            f"{' or '.join(EMBEDDING_VECTOR_COLUMNS)}), but they have {names}"
        )
    kept = ds.map_batches(_KeepIds(wanted), batch_format="pyarrow", batch_size=None)
    blocks: list[pa.Table] = [
        b
        for b in kept.iter_batches(batch_format="pyarrow", batch_size=None)
        if isinstance(b, pa.Table) and b.num_rows
    ]
    if not blocks:
        return [], np.zeros((0, 1), dtype=np.float32)
    return _vectors(pa.concat_tables(blocks))


def _with_pool_size(result: SamplingResult, pool_size: int) -> SamplingResult:
    """The candidates' result with the whole pool's size (and in the truncation note)."""
    if result.pool_size == pool_size:
        return result
    note = result.note
    if note is not None:
        note = note.replace(f"(pool of {result.pool_size})", f"(pool of {pool_size})")
    return result.model_copy(update={"pool_size": pool_size, "note": note})
