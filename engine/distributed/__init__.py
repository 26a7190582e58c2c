"""Scale-out: the same sampling over Parquet shards on Ray Data (extra ``ray``).

:func:`sample_parquet` returns what ``assay.sample`` returns for the same frames in one
request; :mod:`~assay.engine.distributed.shards` defines the shard layout (one row per
frame) and writes it. Without Ray installed, the functions that need it raise an
``ImportError`` that says ``pip install "assay[ray]"``.

Example:
    >>> from assay.engine.distributed import candidate_depths, ray_available
    >>> isinstance(ray_available(), bool)
    True
"""

from __future__ import annotations

from .ray_sampling import (
    RAY_INSTALL_HINT,
    candidate_depths,
    ray_available,
    require_ray,
    sample_parquet,
    score_parquet,
)
from .shards import SHARD_COLUMNS, shard_task, to_frames_layout, write_prediction_shards

__all__ = [
    "RAY_INSTALL_HINT",
    "SHARD_COLUMNS",
    "candidate_depths",
    "ray_available",
    "require_ray",
    "sample_parquet",
    "score_parquet",
    "shard_task",
    "to_frames_layout",
    "write_prediction_shards",
]
