"""COCO evaluation parameters, mirroring ``pycocotools.cocoeval.Params``."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator
from torch import Tensor

from ..formats.coco import _is_int  # a Python or numpy int, never a bool: the loaders' rule

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
_INT64_MAX = 2**63 - 1


def _type_name(value: Any) -> str:
    return type(value).__name__


def _is_real(value: Any) -> bool:
    """An int or float, Python or numpy; never a bool or a string."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _as_float(value: Any) -> float:
    """``float(value)``; an int beyond float64 becomes +-inf (then out of every range)."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def _items(value: Any) -> list[Any] | None:
    """The items of a list, tuple, numpy array, tensor or other sequence, else ``None``.

    ``None`` for a string, a number, a set, a generator...
    """
    if isinstance(value, (np.ndarray, Tensor)):
        items = value.tolist()
        return items if isinstance(items, list) else None  # a 0-d array is a number
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return list(value)
    return None


def _checked_items(
    name: str, value: Any, ok: Callable[[Any], bool], what: str, convert: Callable[[Any], Any]
) -> Any:
    """``value`` as a tuple of converted items, each checked with ``ok``.

    A TypeError names the first item that is not ``what``, or a value that is not a
    sequence (sets and generators have no order pycocotools' arrays would keep).
    """
    items = _items(value)
    if items is None:
        raise TypeError(
            f"Expected `{name}` to be a list, tuple, numpy array or tensor of {what}, but got "
            f"{value!r} ({_type_name(value)})"
        )
    for i, v in enumerate(items):
        if not ok(v):
            raise TypeError(
                f"Expected `{name}` to be a sequence of {what}, but got {v!r} ({_type_name(v)}) "
                f"(first offending item: {name}[{i}])"
            )
    return tuple(map(convert, items))


def _check_ints(name: str, value: Any) -> Any:
    return _checked_items(name, value, _is_int, "ints", int)


def _check_reals(name: str, value: Any) -> Any:
    return _checked_items(name, value, _is_real, "numbers (int or float)", _as_float)


def _check_strs(name: str, value: Any) -> Any:
    return _checked_items(name, value, lambda v: isinstance(v, str), "strings", str)


def _check_ranges(name: str, value: Any) -> Any:
    ranges = _items(value)
    if ranges is None:
        raise TypeError(
            f"Expected `{name}` to be a list, tuple, numpy array or tensor of [lo, hi] pairs, "
            f"but got {value!r} ({_type_name(value)})"
        )
    out = []
    for i, r in enumerate(ranges):
        pair = _items(r)
        if pair is None:
            raise TypeError(
                f"Expected `{name}` to be a sequence of [lo, hi] pairs, but got {r!r} "
                f"({_type_name(r)}) (first offending item: {name}[{i}])"
            )
        if len(pair) != 2:
            raise ValueError(
                f"Expected `{name}` to be a sequence of [lo, hi] pairs, but got {pair!r} "
                f"(first offending item: {name}[{i}])"
            )
        out.append(_check_reals(f"{name}[{i}]", pair))
    return tuple(out)


def _check_use_cats(name: str, value: Any) -> Any:
    """A bool, or pycocotools' ints 0 / 1; anything else is refused, not read as truthy."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if _is_int(value):
        if value not in (0, 1):
            raise ValueError(f"Expected `{name}` to be a bool or 0 / 1, but got {value!r}")
        return bool(value)
    raise TypeError(
        f"Expected `{name}` to be a bool or 0 / 1, but got {value!r} ({_type_name(value)})"
    )


def _check_ids(name: str, value: Any) -> Any:
    return None if value is None else _check_ints(name, value)


# Each field's item types, checked (and numpy scalars made Python ones) before pydantic's
# strict validation: no silent coercion of "2", "0.5", True or 10.0.
_TYPE_CHECKS: dict[str, Callable[[str, Any], Any]] = {
    "iouThrs": _check_reals,
    "recThrs": _check_reals,
    "maxDets": _check_ints,
    "areaRng": _check_ranges,
    "areaRngLbl": _check_strs,
    "catIds": _check_ids,
    "imgIds": _check_ids,
    "useCats": _check_use_cats,
}


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

    Values are never coerced: ids and ``maxDets`` are ints (Python or numpy; not a bool,
    a float or a string), ``maxDets`` in [1, 2**63 - 1] and ids in the int64 range;
    thresholds and area bounds are ints or floats (not a bool or a string); ``useCats``
    is a bool or 0 / 1; sequences are lists, tuples, numpy arrays or tensors.

    Example:
        >>> p = CocoParams(maxDets=[100, 1, 10])
        >>> p.maxDets, p.iouThrs[:3], len(p.recThrs)
        ((1, 10, 100), (0.5, 0.55, 0.6), 101)
    """

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

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
    def _known_keys_and_types(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            unknown = sorted(str(k) for k in data if k not in cls.model_fields)
            if unknown:
                raise ValueError(
                    f"Expected `params` keys to be among {list(_FIELDS)}, but got {unknown}"
                )
            data = {k: _TYPE_CHECKS[k](k, v) for k, v in data.items()}
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
        # the evaluator compares ranks with maxDets in int64 (2**63 would wrap to < 0)
        big = next((i for i, v in enumerate(value) if v > _INT64_MAX), None)
        if big is not None:
            raise ValueError(
                f"Expected `maxDets` to be ints in [1, 2**63 - 1], but got {value[big]} "
                f"(first offending item: maxDets[{big}])"
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
        big = next((i for i, v in enumerate(value) if not -_INT64_MAX - 1 <= v <= _INT64_MAX), None)
        if big is not None:
            raise ValueError(
                f"Expected `{info.field_name}` to be ids in the int64 range, but got {value[big]} "
                f"(first offending item: {info.field_name}[{big}])"
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
            field = "".join(
                f"[{part}]" if isinstance(part, int) else f".{part}" for part in first["loc"]
            )
            raise ValueError(
                f"Expected `params{field}` to be valid ({message}), but got {first.get('input')!r}"
            ) from None
