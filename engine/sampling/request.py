"""Sampling requests: CVAL's on-premise detection and classification fields, plus assay's own.

A request says *which frames to label next*: ``num_of_samples`` frames out of a pool
of unlabeled ``frames``, each with its model predictions, picked by a
``selection_strategy`` (or by a pipeline of ``stages``). The field names and values
are CVAL's (``cval_lib.models.detection.DetectionSamplingOnPremise`` and
``cval_lib.models.classification.ClassificationSamplingOnPremise``; see
``docs/sampling.md`` for the sources and the differences), so a CVAL request dict
validates here unchanged:

>>> req = SamplingRequest.model_validate({
...     "num_of_samples": 1,
...     "selection_strategy": "margin",
...     "bbox_selection_policy": "min",
...     "sort_strategy": "descending",
...     "frames": [{"frame_id": "a", "predictions": [{"category_id": 1, "score": 0.9}]},
...                {"frame_id": "b", "predictions": [{"category_id": 1, "score": 0.55}]}],
... })
>>> req.selection_strategy, len(req.frames)
('margin', 2)

Unlike CVAL's client, an unknown strategy, policy or field is an error that lists the
valid ones, never silently dropped.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal, get_args

import pyarrow as pa
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from ..index._inputs import MAX_SEED, check_utf8
from .table import PredictionTable, frames_key

__all__ = [
    "ASSAY_STRATEGIES",
    "BBOX_SELECTION_POLICIES",
    "BBoxPrediction",
    "BBoxSelectionPolicy",
    "CVAL_STRATEGIES",
    "ClassificationFrame",
    "ClassificationSamplingRequest",
    "DEFAULT_NARROW_FACTOR",
    "DIVERSITY_STRATEGIES",
    "DetectionFrame",
    "SCORE_STRATEGIES",
    "SELECTION_STRATEGIES",
    "SORT_STRATEGIES",
    "STAGE_MODES",
    "SamplingRequest",
    "SamplingStage",
    "SelectionStrategy",
    "SortStrategy",
    "StageMode",
    "StageSpec",
    "UNCERTAINTY_STRATEGIES",
    "parse_request",
]

SelectionStrategy = Literal[
    "margin",
    "least",
    "ratio",
    "entropy",
    "probability",
    "clustering",
    "hierarchical",
    "random",
    "coreset",
    "bald",
    "variation_ratio",
]
BBoxSelectionPolicy = Literal["min", "max", "mean", "sum"]
SortStrategy = Literal["ascending", "descending"]
StageMode = Literal["narrow", "pick"]

SELECTION_STRATEGIES: tuple[str, ...] = get_args(SelectionStrategy)
#: The values CVAL's on-premise sampling documents for ``selection_strategy``.
CVAL_STRATEGIES: tuple[str, ...] = SELECTION_STRATEGIES[:7]
#: assay's own strategies (not in CVAL).
ASSAY_STRATEGIES: tuple[str, ...] = SELECTION_STRATEGIES[7:]
#: Strategies whose frame score measures the model's uncertainty (larger = more uncertain).
UNCERTAINTY_STRATEGIES: tuple[str, ...] = (
    "margin",
    "least",
    "ratio",
    "entropy",
    "bald",
    "variation_ratio",
)
#: Strategies that give every frame a score and select by sorting it.
SCORE_STRATEGIES: tuple[str, ...] = (*UNCERTAINTY_STRATEGIES, "probability", "random")
#: Strategies that select by the frames' embeddings.
DIVERSITY_STRATEGIES: tuple[str, ...] = ("clustering", "hierarchical", "coreset")
BBOX_SELECTION_POLICIES: tuple[str, ...] = get_args(BBoxSelectionPolicy)
SORT_STRATEGIES: tuple[str, ...] = get_args(SortStrategy)
STAGE_MODES: tuple[str, ...] = get_args(StageMode)
#: A narrowing stage without a size keeps ``DEFAULT_NARROW_FACTOR * num_of_samples`` frames.
DEFAULT_NARROW_FACTOR = 5.0

_CHOICES: dict[str, tuple[str, ...]] = {
    "selection_strategy": SELECTION_STRATEGIES,
    "strategy": SELECTION_STRATEGIES,
    "bbox_selection_policy": BBOX_SELECTION_POLICIES,
    "sort_strategy": SORT_STRATEGIES,
    "mode": STAGE_MODES,
}


def _quoted(values: Sequence[str]) -> str:
    return ", ".join(repr(v) for v in values)


def _check_fields(data: Any, model: type[BaseModel], where: str) -> Any:
    """Unknown keys and unknown choice values, as one-line errors that list the valid ones."""
    if not isinstance(data, Mapping):
        return data
    known = tuple(model.model_fields)
    unknown = [k for k in data if k not in known]
    if unknown:
        raise ValueError(
            f"Expected the fields of `{where}` to be among {_quoted(known)}, but got unknown "
            f"field {unknown[0]!r} (first offending item: {where}.{unknown[0]})"
        )
    for name, choices in _CHOICES.items():
        if name in known and data.get(name) is not None and data[name] not in choices:
            raise ValueError(
                f"Expected `{where}.{name}` to be one of {_quoted(choices)}, but got {data[name]!r}"
            )
    return data


class BBoxPrediction(BaseModel):
    """One prediction of a frame: a detected box (detection) or the frame's class (classification).

    Every field is optional, as in CVAL; what a strategy needs is checked when it runs.

    Attributes:
        category_id: the predicted class (not used for scoring).
        score: the model's confidence in [0, 1]. CVAL reads it as the two-class
            distribution ``(score, 1 - score)``.
        embedding_id: the id of this prediction's embedding (diversity strategies).
        probabilities: per-class probabilities (sum 1 within
            :data:`~assay.engine.sampling.table.PROBABILITY_SUM_TOLERANCE`), or logits
            when the request sets ``from_logits``.
        mc_probabilities: ``S x C`` Monte-Carlo draws of ``probabilities`` (assay's
            ``bald`` and ``variation_ratio``).

    Example:
        >>> BBoxPrediction(score=0.7).score
        0.7
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    category_id: int | str | None = None
    score: float | None = None
    embedding_id: str | None = None
    probabilities: list[float] | None = None
    mc_probabilities: list[list[float]] | None = None

    @model_validator(mode="before")
    @classmethod
    def _known_fields(cls, data: Any) -> Any:
        return _check_fields(data, cls, "prediction")


class _Frame(BaseModel):
    """What both kinds of frame share: the id (an int becomes its decimal string)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    frame_id: str

    @field_validator("frame_id", mode="before")
    @classmethod
    def _int_id(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @model_validator(mode="before")
    @classmethod
    def _known_fields(cls, data: Any) -> Any:
        return _check_fields(data, cls, "frame")


class DetectionFrame(_Frame):
    """A frame of a detection request: its id and its predictions (none: a frame without boxes).

    Example:
        >>> DetectionFrame(frame_id="f1", predictions=[BBoxPrediction(score=0.4)]).frame_id
        'f1'
        >>> DetectionFrame(frame_id=7).frame_id  # as in dict frames
        '7'
    """

    predictions: list[BBoxPrediction] | None = None


class ClassificationFrame(_Frame):
    """A frame of a classification request: its id and its one prediction.

    Example:
        >>> ClassificationFrame(frame_id="f1", prediction=BBoxPrediction(
        ...     probabilities=[0.2, 0.8])).prediction.probabilities
        [0.2, 0.8]
    """

    prediction: BBoxPrediction


class SamplingStage(BaseModel):
    """One stage of a pipeline (CVAL's "selection strategy combination", as data).

    A ``"narrow"`` stage keeps the best frames of the current pool as the pool of the
    next stage (pre-selection); a ``"pick"`` stage selects frames for the result (and
    takes them out of the pool). Every stage but the last narrows by default; the last
    always picks.

    Attributes:
        strategy: the stage's selection strategy.
        num_of_samples: frames this stage keeps (narrow) or picks (pick). Default:
            ``factor * request.num_of_samples`` for a narrowing stage, the frames still
            missing from the result for a picking one.
        factor: size of a narrowing stage as a multiple of the request's
            ``num_of_samples`` (default :data:`DEFAULT_NARROW_FACTOR`).
        mode: ``"narrow"`` or ``"pick"``.
        bbox_selection_policy, sort_strategy, num_of_clusters: this stage's values;
            default: the request's.

    Example:
        >>> SamplingStage(strategy="entropy", factor=5).mode is None
        True
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    strategy: SelectionStrategy
    num_of_samples: int | None = Field(default=None, ge=1, strict=True)
    factor: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    mode: StageMode | None = None
    bbox_selection_policy: BBoxSelectionPolicy | None = None
    sort_strategy: SortStrategy | None = None
    num_of_clusters: int | None = Field(default=None, strict=True)

    @model_validator(mode="before")
    @classmethod
    def _known_fields(cls, data: Any) -> Any:
        return _check_fields(data, cls, "stage")


class StageSpec(BaseModel):
    """A stage with every default resolved (what :func:`select` runs).

    Attributes:
        index: the stage's position in the pipeline.
        strategy: the selection strategy.
        mode: ``"narrow"`` or ``"pick"``.
        num_of_samples: explicit size, or None (``factor`` for narrowing stages, the
            remainder for picking ones).
        factor: narrowing size as a multiple of the request's ``num_of_samples``.
        bbox_selection_policy: how box scores become a frame score (score strategies).
        sort_strategy: ``"descending"`` selects the largest scores first.
        num_of_clusters: clusters (``-1``: see the strategy).
    """

    model_config = ConfigDict(frozen=True)

    index: int
    strategy: SelectionStrategy
    mode: StageMode
    num_of_samples: int | None
    factor: float
    bbox_selection_policy: BBoxSelectionPolicy
    sort_strategy: SortStrategy
    num_of_clusters: int

    @property
    def descending(self) -> bool:
        """Whether the largest frame scores are selected first."""
        return self.sort_strategy == "descending"

    @property
    def label(self) -> str:
        """The strategy's name (what a result's ``stages`` holds)."""
        return self.strategy


def _default_policy(strategy: str) -> BBoxSelectionPolicy:
    # A frame is as uncertain as its most uncertain box; as confident as its least
    # confident one.
    return "min" if strategy == "probability" else "max"


def _default_sort(strategy: str) -> SortStrategy:
    # Uncertainty: largest first; probability (the model's confidence): smallest first.
    return "ascending" if strategy == "probability" else "descending"


class _SamplingOptions(BaseModel):
    """Fields shared by detection and classification requests."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    num_of_samples: int = Field(ge=0, strict=True)
    selection_strategy: SelectionStrategy | None = None
    sort_strategy: SortStrategy | None = None
    num_of_clusters: int = Field(default=-1, strict=True)
    probs_weights: list[float] | None = None
    dataset_id: str | None = None
    frames: PredictionTable
    # assay's own fields
    stages: list[SamplingStage] | None = None
    seed: int = Field(default=0, ge=0, le=MAX_SEED, strict=True)
    labeled_ids: list[str] | None = None
    from_logits: bool = Field(default=False, strict=True)

    def __init__(self, /, **data: Any) -> None:
        """Validate the fields; a bad one raises :func:`parse_request`'s one-line ``ValueError``.

        Pydantic's ``ValidationError`` (itself a ``ValueError``, over several lines) is
        re-raised in the house template, the message ``parse_request`` and
        ``assay.sample`` give. ``model_validate`` keeps pydantic's own error.
        """
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise ValueError(_first_error_message(exc)) from None

    @model_validator(mode="before")
    @classmethod
    def _coerce(cls, data: Any) -> Any:
        data = _check_fields(data, cls, "request")
        if not isinstance(data, Mapping):
            return data
        out = dict(data)
        if "frames" in out:
            task = "classification" if cls is ClassificationSamplingRequest else "detection"
            out["frames"] = PredictionTable.coerce(out["frames"], task=task)  # type: ignore[arg-type]
        clusters = out.get("num_of_clusters", -1)
        if (
            not isinstance(clusters, bool)
            and isinstance(clusters, int)
            and (clusters == 0 or clusters < -1)
        ):
            raise ValueError(
                "Expected `request.num_of_clusters` to be -1 (chosen by the strategy) or >= 1, "
                f"but got {clusters}"
            )
        seed = out.get("seed", 0)
        if not isinstance(seed, bool) and isinstance(seed, int) and not 0 <= seed <= MAX_SEED:
            raise ValueError(
                f"Expected `request.seed` to be an int in [0, {MAX_SEED}], but got {seed}"
            )
        labeled = out.get("labeled_ids")
        if isinstance(labeled, list):
            check_utf8(
                [x if isinstance(x, str) else "" for x in labeled],
                "request.labeled_ids",
                lambda i: f"labeled_ids[{i}]",
            )
        weights = out.get("probs_weights")
        if isinstance(weights, Sequence) and not isinstance(weights, str):
            for i, w in enumerate(weights):
                ok = isinstance(w, (int, float)) and not isinstance(w, bool)
                if not ok or not math.isfinite(w) or w < 0:
                    raise ValueError(
                        "Expected `request.probs_weights` to be finite numbers >= 0, but got "
                        f"{w!r} (first offending item: probs_weights[{i}])"
                    )
        return out

    @model_validator(mode="after")
    def _check_stages(self) -> _SamplingOptions:
        if (self.selection_strategy is None) == (self.stages is None):
            raise ValueError(
                "Expected exactly one of `request.selection_strategy` and `request.stages`, "
                f"but got {'both' if self.stages is not None else 'neither'}"
            )
        if self.stages is not None:
            if not self.stages:
                raise ValueError("Expected `request.stages` to be a non-empty list, but got []")
            last = len(self.stages) - 1
            if self.stages[last].mode == "narrow":
                raise ValueError(
                    f"Expected the last stage to pick frames, but got mode 'narrow' "
                    f"(first offending item: stages[{last}].mode)"
                )
            picked = 0
            all_explicit = True
            for i, st in enumerate(self.stages):
                mode = st.mode or ("pick" if i == last else "narrow")
                if st.factor is not None and (mode == "pick" or st.num_of_samples is not None):
                    raise ValueError(
                        "Expected `factor` only on a narrowing stage without `num_of_samples`, "
                        f"but got factor={st.factor} (first offending item: stages[{i}].factor)"
                    )
                if mode == "pick":
                    if st.num_of_samples is None:
                        all_explicit = False
                    else:
                        picked += st.num_of_samples
            if picked > self.num_of_samples or (all_explicit and picked != self.num_of_samples):
                raise ValueError(
                    f"Expected the picking stages' `num_of_samples` to add up to the request's "
                    f"num_of_samples={self.num_of_samples}, but they add up to {picked}"
                )
        return self

    @property
    def task(self) -> str:
        """``"detection"`` or ``"classification"``."""
        return self.frames.task

    def stage_specs(self) -> tuple[StageSpec, ...]:
        """The stages with every default resolved; a single strategy is a one-stage pipeline.

        Example:
            >>> req = SamplingRequest(num_of_samples=1, selection_strategy="probability",
            ...                       frames=[{"frame_id": "a"}])
            >>> spec = req.stage_specs()[0]
            >>> spec.bbox_selection_policy, spec.sort_strategy
            ('min', 'ascending')
        """
        policy = getattr(self, "bbox_selection_policy", None)
        if self.stages is not None:
            stages = list(self.stages)
        else:  # _check_stages: exactly one of selection_strategy and stages
            stages = [SamplingStage(strategy=self.selection_strategy or "random")]
        last = len(stages) - 1
        specs = []
        for i, st in enumerate(stages):
            specs.append(
                StageSpec(
                    index=i,
                    strategy=st.strategy,
                    mode=st.mode or ("pick" if i == last else "narrow"),
                    num_of_samples=st.num_of_samples,
                    factor=st.factor if st.factor is not None else DEFAULT_NARROW_FACTOR,
                    bbox_selection_policy=st.bbox_selection_policy
                    or policy
                    or _default_policy(st.strategy),
                    sort_strategy=st.sort_strategy
                    or self.sort_strategy
                    or _default_sort(st.strategy),
                    num_of_clusters=st.num_of_clusters
                    if st.num_of_clusters is not None
                    else self.num_of_clusters,
                )
            )
        return tuple(specs)

    def to_dict(self) -> dict[str, Any]:
        """The request as plain data (frames as CVAL-style frame dicts, JSON-ready)."""
        out = self.model_dump(exclude={"frames"}, exclude_none=True)
        out["frames"] = self.frames.to_frames()
        return out


class SamplingRequest(_SamplingOptions):
    """A detection sampling request, CVAL's ``DetectionSamplingOnPremise`` plus assay's fields.

    Attributes:
        num_of_samples: how many frames to select. More than the pool: the whole pool
            is returned, ranked, and the result says so (``truncated``, ``note``).
        selection_strategy: one of :data:`SELECTION_STRATEGIES` (CVAL's ``margin``,
            ``least``, ``ratio``, ``entropy``, ``probability``, ``clustering``,
            ``hierarchical``; assay's ``random``, ``coreset``, ``bald``,
            ``variation_ratio``). Exactly one of it and ``stages``.
        bbox_selection_policy: box scores -> frame score: ``min``, ``max``, ``mean``,
            ``sum`` (default ``max``; ``min`` for ``probability``).
        sort_strategy: ``descending`` selects the largest frame scores first
            (default; ``ascending`` for ``probability``).
        num_of_clusters: clusters of ``hierarchical`` and ``clustering``; ``-1``
            (default): chosen by silhouette (``hierarchical``), one per selected frame
            (``clustering``).
        use_null_detections: a frame without predictions gets CVAL's fake prediction
            (``score=0.5``; ``0`` for ``probability``) when true (default); when false
            such a frame is an error.
        probs_weights: per-class weights of the multi-class entropy (one per class).
        dataset_id: accepted for CVAL compatibility and unused (embeddings are passed
            to :func:`~assay.engine.sampling.run_sampling`).
        frames: the pool: a list of frame dicts or :class:`DetectionFrame`, a
            ``pyarrow.Table`` (see :class:`PredictionTable`), or a
            :class:`PredictionTable`.
        stages: a pipeline of :class:`SamplingStage` instead of ``selection_strategy``.
        seed: seed of ``random``, ``hierarchical`` and k-means, an int in
            ``[0, 2**64 - 1]`` (results are a pure function of the request, the
            embeddings and the seed); FAISS's k-means takes a C ``int`` and gets
            ``seed % 2**31``, so seeds below ``2**31`` reach it unchanged.
        labeled_ids: frames already labeled: taken out of the pool, and the initial
            centers of ``coreset`` (their embeddings are then required: a labeled
            frame of the request has its frame vector, as any frame; another labeled
            id is looked up under its own id).
        from_logits: ``probabilities`` hold logits (no sum check; softmax applied).
    """

    bbox_selection_policy: BBoxSelectionPolicy | None = None
    use_null_detections: bool = Field(default=True, strict=True)


class ClassificationSamplingRequest(_SamplingOptions):
    """A classification sampling request, CVAL's ``ClassificationSamplingOnPremise``.

    The same fields as :class:`SamplingRequest` without ``bbox_selection_policy`` and
    ``use_null_detections``; each frame has exactly one ``prediction``.

    Example:
        >>> req = ClassificationSamplingRequest(
        ...     num_of_samples=1, selection_strategy="entropy",
        ...     frames=[{"frame_id": "a", "prediction": {"probabilities": [0.5, 0.5]}}])
        >>> req.task
        'classification'
    """


#: What a required field holds, for the message that says it is missing.
_REQUIRED: dict[str, str] = {
    "num_of_samples": "an int >= 0 (the number of frames to select)",
    "frames": "the pool of frames (a list of frames, a pyarrow.Table or a PredictionTable)",
    "strategy": f"one of {_quoted(SELECTION_STRATEGIES)}",
}
_REPR_MAX = 200


def _short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _REPR_MAX else text[: _REPR_MAX - 3] + "..."


def _first_error_message(exc: ValidationError) -> str:
    err = exc.errors(include_url=False)[0]
    loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"]).lstrip(".")
    msg = str(err["msg"])
    if err["type"] == "value_error":
        return msg.removeprefix("Value error, ")
    where = f"request.{loc}" if loc else "request"
    if err["type"] == "missing":  # its input is the whole request: not worth quoting
        field = str(err["loc"][-1]) if err["loc"] else ""
        return f"Expected `{where}` to be {_REQUIRED.get(field, 'given')}, but it is missing"
    if msg.startswith("Input should be "):
        return (
            f"Expected `{where}` to be {msg.removeprefix('Input should be ')}, but got "
            f"{_short_repr(err.get('input'))}"
        )
    return f"Expected `{where}` to be valid, but got {_short_repr(err.get('input'))}: {msg}"


def parse_request(
    request: SamplingRequest | ClassificationSamplingRequest | Mapping[str, Any],
) -> SamplingRequest | ClassificationSamplingRequest:
    """A request model from a model or a dict of the same fields (CVAL's JSON).

    A dict whose frames carry ``prediction`` (one per frame) is a classification
    request; otherwise a detection request. Validation errors become one-line
    ``ValueError`` s in the house template.

    Args:
        request: a request model, or its fields as a mapping.

    Returns:
        :class:`SamplingRequest` or :class:`ClassificationSamplingRequest`.

    Raises:
        ValueError: an invalid field; the message names it and lists valid values.
        TypeError: not a mapping or a request.

    Example:
        >>> parse_request({"num_of_samples": 1, "selection_strategy": "foo", "frames": []})
        Traceback (most recent call last):
        ...
        ValueError: Expected `request.selection_strategy` to be one of 'margin', ...
    """
    if isinstance(request, (SamplingRequest, ClassificationSamplingRequest)):
        return request
    if not isinstance(request, Mapping):
        raise TypeError(
            "Expected `request` to be a SamplingRequest, a ClassificationSamplingRequest or a "
            f"dict of their fields, but got {type(request).__name__}"
        )
    cls: type[SamplingRequest] | type[ClassificationSamplingRequest] = SamplingRequest
    frames = request.get("frames")
    if isinstance(frames, PredictionTable):
        if frames.task == "classification":
            cls = ClassificationSamplingRequest
    elif isinstance(frames, pa.Table):
        if "prediction" in frames.column_names:
            cls = ClassificationSamplingRequest
    elif isinstance(frames, Sequence) and frames:
        first = frames[0]
        if isinstance(first, ClassificationFrame) or (
            isinstance(first, Mapping) and frames_key(frames) == "prediction"
        ):
            cls = ClassificationSamplingRequest
    try:
        return cls.model_validate(dict(request))
    except ValidationError as exc:
        raise ValueError(_first_error_message(exc)) from None
