"""COCO evaluation parameters, mirroring ``pycocotools.cocoeval.Params``."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

__all__ = ["CocoParams", "IouType"]

IouType = Literal["bbox", "segm"]

# pycocotools: np.linspace(.5, 0.95, round((0.95 - .5) / .05) + 1), float64 bits kept.
_IOU_THRS = tuple(
    float(x) for x in np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)
)
_REC_THRS = tuple(
    float(x) for x in np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True)
)
_AREA_RNG = ((0.0**2, 1e5**2), (0.0**2, 32.0**2), (32.0**2, 96.0**2), (96.0**2, 1e5**2))
_FIELDS = ("iouThrs", "recThrs", "maxDets", "areaRng", "areaRngLbl", "catIds", "imgIds", "useCats")


class CocoParams(BaseModel):
    """Parameters of a COCO evaluation, with pycocotools' names and defaults.

    Attributes:
        iouThrs: IoU thresholds ``T`` (default ``linspace(.5, .95, 10)``).
        recThrs: recall thresholds ``R`` (default ``linspace(0, 1, 101)``).
        maxDets: detections kept per image and category, ascending (``[1, 10, 100]``).
        areaRng: ``[lo, hi]`` area ranges, inclusive at both ends.
        areaRngLbl: one label per area range (``all``, ``small``, ``medium``, ``large``).
        catIds: categories to evaluate; ``None`` means all categories of the ground truth.
        imgIds: images to evaluate; ``None`` means all images of the ground truth.
        useCats: match detections to ground truths of their own category only.

    Example:
        >>> p = CocoParams(maxDets=[100, 1, 10])
        >>> p.maxDets, p.iouThrs[:3], len(p.recThrs)
        ((1, 10, 100), (0.5, 0.55, 0.6), 101)
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    iouThrs: tuple[float, ...] = _IOU_THRS
    recThrs: tuple[float, ...] = _REC_THRS
    maxDets: tuple[int, ...] = (1, 10, 100)
    areaRng: tuple[tuple[float, float], ...] = _AREA_RNG
    areaRngLbl: tuple[str, ...] = ("all", "small", "medium", "large")
    catIds: tuple[int, ...] | None = None
    imgIds: tuple[int, ...] | None = None
    useCats: bool = True

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            unknown = sorted(str(k) for k in data if k not in cls.model_fields)
            if unknown:
                raise ValueError(
                    f"Expected `params` keys to be among {list(_FIELDS)}, but got {unknown}"
                )
        return data

    @field_validator("iouThrs", "recThrs")
    @classmethod
    def _unit_interval(cls, value: tuple[float, ...], info: Any) -> tuple[float, ...]:
        if not value or not all(math.isfinite(v) and 0.0 <= v <= 1.0 for v in value):
            raise ValueError(
                f"Expected `{info.field_name}` to be a non-empty sequence in [0, 1], "
                f"but got {list(value)}"
            )
        return value

    @field_validator("maxDets")
    @classmethod
    def _positive_sorted(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if not value or any(v < 1 for v in value):
            raise ValueError(
                f"Expected `maxDets` to be a non-empty sequence of positive ints, but got "
                f"{list(value)}"
            )
        return tuple(sorted(value))  # pycocotools sorts maxDets in evaluate()

    @field_validator("areaRng")
    @classmethod
    def _ranges(cls, value: tuple[tuple[float, float], ...]) -> tuple[tuple[float, float], ...]:
        bad = [list(r) for r in value if not (r[0] <= r[1])]
        if not value or bad:
            raise ValueError(
                f"Expected `areaRng` to be a non-empty sequence of [lo, hi] with lo <= hi, "
                f"but got {bad or list(value)}"
            )
        return value

    @field_validator("catIds", "imgIds")
    @classmethod
    def _unique_ids(cls, value: tuple[int, ...] | None, info: Any) -> tuple[int, ...] | None:
        if value is None:
            return None
        if not value:
            raise ValueError(
                f"Expected `{info.field_name}` to be a non-empty sequence of ids, or None for "
                "all, but got []"
            )
        if len(set(value)) != len(value):
            raise ValueError(
                f"Expected `{info.field_name}` to hold unique ids, but got {list(value)}"
            )
        return value

    @model_validator(mode="after")
    def _labels_match(self) -> CocoParams:
        if len(self.areaRngLbl) != len(self.areaRng):
            raise ValueError(
                f"Expected `areaRngLbl` to have one label per area range ({len(self.areaRng)}), "
                f"but got {list(self.areaRngLbl)}"
            )
        return self

    @classmethod
    def coerce(cls, params: CocoParams | Mapping[str, Any] | Any | None) -> CocoParams:
        """Build from ``None``, a mapping, or any object with pycocotools' attributes.

        A ``pycocotools.cocoeval.Params`` works as is; its empty ``imgIds`` /
        ``catIds`` lists mean "all".

        Example:
            >>> CocoParams.coerce({"maxDets": [1, 10, 1000]}).maxDets
            (1, 10, 1000)
        """
        if params is None:
            return cls()
        if isinstance(params, CocoParams):
            return params
        if isinstance(params, Mapping):
            return cls._build(params)
        values: dict[str, Any] = {}
        for name in _FIELDS:
            if hasattr(params, name):
                value = getattr(params, name)
                if isinstance(value, np.ndarray):
                    value = value.tolist()
                if name in ("catIds", "imgIds") and (value is None or len(value) == 0):
                    continue
                values[name] = value
        if not values:
            raise TypeError(
                "Expected `params` to be CocoParams, a mapping or an object with pycocotools' "
                f"Params attributes ({', '.join(_FIELDS)}), but got {type(params).__name__}"
            )
        return cls._build(values)

    @classmethod
    def _build(cls, values: Mapping[str, Any]) -> CocoParams:
        """``cls(**values)`` with pydantic's report cut to one line naming the field."""
        try:
            return cls(**values)
        except ValidationError as exc:
            first = exc.errors()[0]
            message = str(first["msg"])
            if message.startswith("Value error, "):  # our validators' own message
                raise ValueError(message.removeprefix("Value error, ")) from None
            field = ".".join(str(part) for part in first["loc"])
            raise ValueError(
                f"Expected `params{'.' + field if field else ''}` to be valid ({message}), "
                f"but got {first.get('input')!r}"
            ) from None
