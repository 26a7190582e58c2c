"""Bad input to the segmentation kernels: one error template, the first offending item named.

Metadata (types, dtypes, shapes, devices, the integer arguments) is checked on every device;
values (class and segment indexes in range, counts not negative, 0/1 flags) on CPU tensors.
``meta`` tensors (a device without data) prove that the checks read no value there: bad
values on ``meta`` get through to the unchecked core. Each bad case below used to give a raw
torch error (``bincount only supports 1-d non-negative integral inputs``), a count in the
wrong cell, a silent drop or a number. Valid edge cases (narrow and unsigned integer maps,
class counts beyond a map's dtype, float counts, predictions under ignored pixels) keep
their numbers, and ``pixel_confusion_matrix_with_invalid`` still counts out-of-range
pixels as invalid instead of refusing them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from assay.engine.streaming.classification import MulticlassMetrics
from assay.engine.streaming.semantic import SemanticSegmentationMetrics
from assay.kernels import segmentation as S

T = torch.tensor([[0, 1, 2, 1], [2, 1, 0, 0]])  # (N, W) target classes, C = 3
P = torch.tensor([[0, 1, 1, 1], [2, 0, 0, 2]])  # predictions


def _with(x: torch.Tensor, index: tuple[int, ...], value: Any) -> torch.Tensor:
    out = x.clone()
    out[index] = value
    return out


def _meta(x: torch.Tensor) -> torch.Tensor:
    return x.to("meta")


def _reference(
    target: torch.Tensor, preds: torch.Tensor, c: int, ignore: int | None
) -> tuple[np.ndarray, int]:
    """Confusion of the valid pixels and the number of invalid ones, pixel by pixel."""
    cm = np.zeros((c, c), np.int64)
    invalid = 0
    for t, p in zip(target.reshape(-1).tolist(), preds.reshape(-1).tolist(), strict=True):
        if ignore is not None and t == ignore:
            continue
        if 0 <= t < c and 0 <= p < c:
            cm[t, p] += 1
        else:
            invalid += 1
    return cm, invalid


# ----------------------------------------------------------------- label maps: metadata

MAP_FNS: dict[str, Callable[..., Any]] = {
    "confusion": S.pixel_confusion_matrix,
    "with_invalid": S.pixel_confusion_matrix_with_invalid,
    "pair_counts": lambda t, p, c: S.pixel_pair_counts(t, p, 3, c),
}

MAP_META_CASES: list[tuple[str, Callable[[], Any], type, str]] = [
    (
        "float_target",
        lambda: (T.float(), P, 3),
        TypeError,
        r"Expected `target` to be an integer or bool tensor, but got dtype torch.float32",
    ),
    (
        "float_preds",
        lambda: (T, P.double(), 3),
        TypeError,
        r"Expected `preds` to be an integer or bool tensor, but got dtype torch.float64",
    ),
    ("complex_preds", lambda: (T, P.to(torch.complex64), 3), TypeError, r"`preds` .*complex64"),
    ("list_target", lambda: (T.tolist(), P, 3), TypeError, r"`target` to be a torch.Tensor"),
    (
        "shapes",
        lambda: (T, P[:, :3], 3),
        ValueError,
        r"Expected `preds` to have the shape of `target` \(2, 4\), but got \(2, 3\)",
    ),
    (
        "device",
        lambda: (T, _meta(P), 3),
        ValueError,
        r"Expected `preds` on the device of `target` \(cpu\), but got meta",
    ),
    ("num_classes_zero", lambda: (T, P, 0), ValueError, r"`num_classes` to be an int >= 1, .* 0"),
    ("num_classes_neg", lambda: (T, P, -1), ValueError, r"`num_classes` to be an int >= 1"),
    ("num_classes_bool", lambda: (T, P, True), TypeError, r"`num_classes` to be an int, .*bool"),
    ("num_classes_float", lambda: (T, P, 3.0), TypeError, r"`num_classes` to be an int, .*3.0"),
    (
        "num_classes_tensor",
        lambda: (T, P, torch.tensor(3)),
        TypeError,
        r"`num_classes` to be an int, but got a 0-D torch.int64 Tensor",
    ),
]


@pytest.mark.parametrize("fn", MAP_FNS.values(), ids=MAP_FNS.keys())
@pytest.mark.parametrize(
    ("args", "error", "match"),
    [c[1:] for c in MAP_META_CASES],
    ids=[c[0] for c in MAP_META_CASES],
)
def test_label_map_metadata(
    fn: Callable[..., Any], args: Callable[[], Any], error: type, match: str
) -> None:
    with pytest.raises(error, match=match):
        fn(*args())


IGNORE_FNS: dict[str, Callable[..., Any]] = {
    "confusion": S.pixel_confusion_matrix,
    "with_invalid": S.pixel_confusion_matrix_with_invalid,
    "fused_available": S.fused_confusion_available,
}


@pytest.mark.parametrize("fn", IGNORE_FNS.values(), ids=IGNORE_FNS.keys())
@pytest.mark.parametrize(
    ("ignore", "match"),
    [
        (1.5, r"float 1.5"),
        ("255", r"str '255'"),
        (True, r"bool True"),
        (torch.tensor(255), r"a 0-D torch.int64 Tensor"),
    ],
    ids=["float", "str", "bool", "tensor"],
)
def test_ignore_index_must_be_an_int(fn: Callable[..., Any], ignore: Any, match: str) -> None:
    with pytest.raises(TypeError, match=rf"Expected `ignore_index` to be an int, but got {match}"):
        fn(T, P, 3, ignore)


def test_fused_confusion_available_checks_arguments_but_answers_false_for_other_dtypes() -> None:
    with pytest.raises(TypeError, match=r"`target` to be a torch.Tensor, but got list"):
        S.fused_confusion_available([0, 1], P, 3)
    with pytest.raises(ValueError, match=r"`num_classes` to be an int >= 1, but got 0"):
        S.fused_confusion_available(T, P, 0)
    assert not S.fused_confusion_available(T.float(), P, 3)  # a question, not a refusal
    assert not S.fused_confusion_available(T, P, 3, -1)


# -------------------------------------------------------------- label maps: CPU values

CONFUSION_VALUE_CASES: list[tuple[str, Callable[[], Any], str]] = [
    (
        "target_negative",  # was torch's "bincount only supports ... non-negative" error
        lambda: S.pixel_confusion_matrix(torch.tensor([-1, 0]), torch.tensor([0, 0]), 3),
        r"Expected `target` to hold class indexes in \[0, 3\), but got -1 "
        r"\(first offending item: target\[0\]\)",
    ),
    (
        "target_equal_c",  # was dropped silently (its key lies past the C * C bins)
        lambda: S.pixel_confusion_matrix(_with(T, (1, 2), 3), P, 3),
        r"`target` to hold class indexes in \[0, 3\), but got 3 \(first offending item: "
        r"target\[1, 2\]\)",
    ),
    (
        "target_last_far",
        lambda: S.pixel_confusion_matrix(_with(T, (1, 3), 9), P, 3),
        r"but got 9 \(first offending item: target\[1, 3\]\)",
    ),
    (
        "preds_alias",  # target 1, prediction 3: was counted as (2, 0)
        lambda: S.pixel_confusion_matrix(T, _with(P, (0, 1), 3), 3),
        r"Expected `preds` to hold class indexes in \[0, 3\), but got 3 "
        r"\(first offending item: preds\[0, 1\]\)",
    ),
    (
        "preds_negative",
        lambda: S.pixel_confusion_matrix(T, _with(P, (1, 1), -2), 3),
        r"`preds` .* but got -2 \(first offending item: preds\[1, 1\]\)",
    ),
    (
        "target_not_ignore",
        lambda: S.pixel_confusion_matrix(_with(_with(T, (0, 0), 255), (1, 0), 7), P, 3, 255),
        r"Expected `target` to hold class indexes in \[0, 3\) or ignore_index=255, but got 7 "
        r"\(first offending item: target\[1, 0\]\)",
    ),
    (
        "preds_on_counted_pixel",
        lambda: S.pixel_confusion_matrix(
            _with(T, (0, 0), 255), _with(_with(P, (0, 0), 99), (0, 3), 5), 3, 255
        ),
        r"Expected `preds` to hold class indexes in \[0, 3\) where `target` is not "
        r"ignore_index=255, but got 5 \(first offending item: preds\[0, 3\]\)",
    ),
    (
        "int8_beyond_dtype_bound",  # the bound 200 does not fit int8: compared in int64
        lambda: S.pixel_confusion_matrix(
            _with(T, (1, 1), -5).to(torch.int8), P.to(torch.int8), 200, 100
        ),
        r"`target` .*\[0, 200\) or ignore_index=100, but got -5 \(.*target\[1, 1\]\)",
    ),
    (
        "uint16_target",
        lambda: S.pixel_confusion_matrix(_with(T, (0, 1), 40000).to(torch.uint16), P, 3),
        r"`target` .* but got 40000 \(first offending item: target\[0, 1\]\)",
    ),
    (
        "pair_counts_target",
        lambda: S.pixel_pair_counts(_with(T, (1, 0), 3), P, 3, 3),
        r"Expected `target` to hold target values in \[0, 3\), but got 3 "
        r"\(first offending item: target\[1, 0\]\)",
    ),
    (
        "pair_counts_negative_target",  # was the raw bincount error
        lambda: S.pixel_pair_counts(_with(T, (0, 3), -1), P, 3, 3),
        r"`target` to hold target values .* but got -1",
    ),
    (
        "pair_counts_preds",  # was counted in the next row
        lambda: S.pixel_pair_counts(T, _with(P, (1, 2), 3), 3, 3),
        r"Expected `preds` to hold class indexes in \[0, 3\), but got 3 "
        r"\(first offending item: preds\[1, 2\]\)",
    ),
    (
        "pair_counts_num_rows",
        lambda: S.pixel_pair_counts(T, P, -1, 3),
        r"Expected `num_rows` to be an int >= 0, but got -1",
    ),
    (
        "ignore_outside_dtype",  # torch would compare -1 as 255 in uint8
        lambda: S.pixel_confusion_matrix(T.to(torch.uint8), P, 3, -1),
        r"Expected `ignore_index` to be representable in `target`'s dtype torch.uint8 "
        r"\(\[0, 255\]\), but got -1; widen `target` first",
    ),
]


@pytest.mark.parametrize(
    ("call", "match"),
    [c[1:] for c in CONFUSION_VALUE_CASES],
    ids=[c[0] for c in CONFUSION_VALUE_CASES],
)
def test_label_values_on_cpu(call: Callable[[], Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()


def test_first_offending_pixel_of_a_larger_map() -> None:
    t = torch.randint(0, 5, (3, 64, 80), generator=torch.Generator().manual_seed(0))
    p = t.flip(2)
    bad = _with(_with(t, (2, 7, 9), 5), (2, 40, 1), -3)
    with pytest.raises(ValueError, match=r"but got 5 \(first offending item: target\[2, 7, 9\]\)"):
        S.pixel_confusion_matrix(bad, p, 5)
    with pytest.raises(ValueError, match=r"but got 5 .*target\[2, 7, 9\]"):
        S.pixel_confusion_matrix(bad, p, 5, 255)


@pytest.mark.parametrize(
    "dtype", [torch.uint8, torch.int8, torch.int16, torch.int32, torch.uint16, torch.uint32]
)
@pytest.mark.parametrize("ignore", [None, 2])
def test_narrow_and_unsigned_maps_keep_numbers(dtype: torch.dtype, ignore: int | None) -> None:
    want = S.pixel_confusion_matrix(T, P, 3, ignore)
    assert torch.equal(S.pixel_confusion_matrix(T.to(dtype), P.to(dtype), 3, ignore), want)
    cm, invalid = S.pixel_confusion_matrix_with_invalid(T.to(dtype), P.to(dtype), 3, ignore)
    assert torch.equal(cm, want) and int(invalid) == 0  # uint16-32: was a raw NotImplementedError
    pairs = S.pixel_pair_counts(T.to(dtype), P.to(dtype), 3, 3)
    assert torch.equal(pairs, S.pixel_pair_counts(T, P, 3, 3))


def test_bool_maps_count_as_zero_one_maps() -> None:
    # a binary mask is a valid 0 / 1 label map (as it was before the dtype checks)
    t, p = torch.tensor([[True, False, True, True]]), torch.tensor([[False, False, True, False]])
    want = S.pixel_confusion_matrix(t.long(), p.long(), 2)
    assert want.tolist() == [[1, 0], [2, 1]]
    assert torch.equal(S.pixel_confusion_matrix(t, p, 2), want)
    assert torch.equal(S.pixel_confusion_matrix(t, p.long(), 2), want)  # mixed dtypes
    assert S.pixel_confusion_matrix(t, p, 2, ignore_index=1).tolist() == [[1, 0], [0, 0]]
    wider = S.pixel_confusion_matrix(t, p, 3, ignore_index=255)  # 255: no pixel holds it
    assert torch.equal(wider, torch.nn.functional.pad(want, (0, 1, 0, 1)))
    cm, invalid = S.pixel_confusion_matrix_with_invalid(t, p, 1)
    assert cm.tolist() == [[1]] and int(invalid) == 3
    assert torch.equal(S.pixel_pair_counts(t, p, 2, 2), want)
    with pytest.raises(ValueError, match=r"`target` to hold class indexes in \[0, 1\), but got 1 "
                       r"\(first offending item: target\[0, 0\]\)"):
        S.pixel_confusion_matrix(t, p, 1)
    with pytest.raises(ValueError, match=r"`target` to hold target values in \[0, 1\), but got 1"):
        S.pixel_pair_counts(t, p, 1, 2)
    with pytest.raises(
        ValueError,
        match=r"`ignore_index` to be representable in `target`'s dtype torch.bool, read as "
        r"torch.uint8 \(\[0, 255\]\), but got -1",
    ):
        S.pixel_confusion_matrix(t, p, 2, ignore_index=-1)


def test_class_count_beyond_the_map_dtype() -> None:
    # 300 classes with uint8 maps: every value fits, the bound does not (no wrap)
    want = S.pixel_confusion_matrix(T, P, 300)
    assert torch.equal(S.pixel_confusion_matrix(T.to(torch.uint8), P.to(torch.uint8), 300), want)
    assert int(want.sum()) == T.numel()


def test_predictions_under_ignored_pixels_are_not_read() -> None:
    t = _with(_with(T, (0, 0), 255), (1, 3), 255)
    p = _with(_with(P, (0, 0), -7), (1, 3), 99)
    want, bad = _reference(t, p, 3, 255)
    np.testing.assert_array_equal(S.pixel_confusion_matrix(t, p, 3, 255).numpy(), want)
    assert bad == 0


def test_device_values_are_not_read(monkeypatch: pytest.MonkeyPatch) -> None:
    # bad values on `meta` pass the checks and reach the unchecked core
    reached: list[str] = []
    for core in ("_pixel_confusion_matrix", "_pixel_confusion_matrix_with_invalid",
                 "_pixel_pair_counts", "_panoptic_intersections", "_panoptic_counts"):
        monkeypatch.setattr(S, core, lambda *a, name=core: reached.append(name))
    bad_t, bad_p = _meta(_with(T, (0, 0), -1)), _meta(_with(P, (1, 1), 9))
    S.pixel_confusion_matrix(bad_t, bad_p, 3)
    S.pixel_confusion_matrix(bad_t, bad_p, 3, 255)
    S.pixel_confusion_matrix_with_invalid(bad_t, bad_p, 3)
    S.pixel_pair_counts(bad_t, bad_p, 3, 3)
    S.panoptic_intersections(bad_t, bad_p, 1, 1)
    S.panoptic_counts(*(_meta(x) for x in _panoptic_bad_values()), 2)
    assert reached == [
        "_pixel_confusion_matrix",
        "_pixel_confusion_matrix",
        "_pixel_confusion_matrix_with_invalid",
        "_pixel_pair_counts",
        "_panoptic_intersections",
        "_panoptic_counts",
    ]


# --------------------------------------------- with_invalid: out of range is counted

INVALID_CASES = [
    ("in_range", T, P, None),
    ("ignore_inside", T, P, 1),
    ("ignore_255", _with(T, (0, 1), 255), P, 255),
    ("target_above", _with(T, (1, 1), 4), P, None),
    ("target_above_and_ignore", _with(_with(T, (1, 1), 4), (0, 0), 255), P, 255),
    ("target_negative", _with(T, (0, 2), -1), P, 255),
    ("preds_above", T, _with(P, (1, 0), 3), None),
    ("preds_negative_under_ignore", _with(T, (0, 3), 255), _with(P, (0, 3), -4), 255),
    ("target_huge", _with(T, (1, 2), 2**40), P, None),  # T * C past the pair-count bound
    ("preds_huge", T, _with(P, (0, 0), 2**40), 1),
]


@pytest.mark.parametrize(
    ("target", "preds", "ignore"),
    [c[1:] for c in INVALID_CASES],
    ids=[c[0] for c in INVALID_CASES],
)
def test_with_invalid_counts_out_of_range_pixels(
    target: torch.Tensor, preds: torch.Tensor, ignore: int | None
) -> None:
    want, bad = _reference(target, preds, 3, ignore)
    cm, invalid = S.pixel_confusion_matrix_with_invalid(target, preds, 3, ignore)
    np.testing.assert_array_equal(cm.numpy(), want)
    assert cm.dtype == torch.int64 and invalid.dtype == torch.int64 and int(invalid) == bad
    if not bad:
        assert torch.equal(S.pixel_confusion_matrix(target, preds, 3, ignore), cm)


def test_with_invalid_ignore_outside_the_dtype_matches_no_pixel() -> None:
    # torch compares -1 with uint8 255 as equal: 255 would have been ignored, not invalid
    t = _with(T, (0, 0), 255).to(torch.uint8)
    cm, invalid = S.pixel_confusion_matrix_with_invalid(t, P, 3, -1)
    assert int(invalid) == 1 and int(cm.sum()) == T.numel() - 1


def test_with_invalid_empty_maps() -> None:
    cm, invalid = S.pixel_confusion_matrix_with_invalid(T[:0], P[:0], 3, 255)
    assert cm.shape == (3, 3) and int(cm.sum()) == 0 and int(invalid) == 0


def test_with_invalid_class_count_beyond_a_signed_map_dtype() -> None:
    # torch wraps 150 into int8 (-106) before comparing: every pixel was counted invalid
    t = torch.tensor([5, -3, 100, 127], dtype=torch.int8)
    p = torch.tensor([1, 1, 149 - 256, 0], dtype=torch.int8)  # -107: invalid
    want, bad = _reference(t, p, 150, None)
    cm, invalid = S.pixel_confusion_matrix_with_invalid(t, p, 150)
    np.testing.assert_array_equal(cm.numpy(), want)
    assert bad == 2 and int(invalid) == 2


# ------------------------- dropping invalid pixels (streaming metrics, validate_args=False)

_DROP_DTYPES = [torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64]


def _random_maps(
    dtype: torch.dtype, c: int, ignore: int | None, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """(3, 8, 9) maps: mostly classes, some values out of range either way, some ignored."""
    g = torch.Generator().manual_seed(seed)
    info = torch.iinfo(dtype)
    t = torch.randint(-300, 400, (3, 8, 9), generator=g)
    p = torch.randint(-300, 400, (3, 8, 9), generator=g)
    t = torch.where(torch.rand(t.shape, generator=g) < 0.7, t.remainder(c), t)
    p = torch.where(torch.rand(p.shape, generator=g) < 0.8, p.remainder(c), p)
    if ignore is not None and info.min <= ignore <= info.max:
        t = torch.where(torch.rand(t.shape, generator=g) < 0.2, ignore, t)
    t = t.clamp(int(info.min), int(info.max)).to(dtype)
    return t, p.clamp(int(info.min), int(info.max)).to(dtype)


@pytest.mark.parametrize("device_path", [False, True], ids=["cpu", "device_emulated"])
@pytest.mark.parametrize("dtype", _DROP_DTYPES, ids=lambda d: str(d)[6:])
def test_dropping_invalid_counts_the_valid_pixels(
    monkeypatch: pytest.MonkeyPatch, device_path: bool, dtype: torch.dtype
) -> None:
    # device_emulated: the CPU takes the device branch (no value read, clamped keys)
    if device_path:
        monkeypatch.setattr(S, "reads_values", lambda *xs: False)
    for c in (1, 3, 21, 150, 300):  # 150, 300: beyond int8 / uint8
        for ignore in (None, 0, 2, 255, -1, 1000):  # in range, out of range, outside dtype
            for seed in range(2):
                t, p = _random_maps(dtype, c, ignore, seed)
                if seed == 1:  # every label in range: the CPU's pair-count path
                    t, p = t.abs() % c, p.abs() % c
                fits = ignore is None or S._fits(dtype, ignore)  # else it matches no pixel
                want, _ = _reference(t, p, c, ignore if fits else None)
                got = S._pixel_confusion_matrix_dropping_invalid(t, p, c, ignore)
                np.testing.assert_array_equal(got.numpy(), want)
                assert got.dtype == torch.int64 and got.is_contiguous()
                cm, _ = S._pixel_confusion_matrix_with_invalid(t, p, c, ignore)
                assert torch.equal(cm, got)
            empty = S._pixel_confusion_matrix_dropping_invalid(t[:0], p[:0], c, ignore)
            assert torch.equal(empty, torch.zeros(c, c, dtype=torch.int64))


def test_dropping_invalid_reads_no_device_value(monkeypatch: pytest.MonkeyPatch) -> None:
    # `meta` tensors hold no data: any host read, sum-to-host or value check would raise;
    # torch's own bincount (which sizes its output from the data) is stood in for
    monkeypatch.setattr(
        torch,
        "bincount",
        lambda key, minlength: torch.zeros(minlength, dtype=torch.int64, device=key.device),
    )
    for dtype, ignore in ((torch.int64, 255), (torch.uint8, 2), (torch.int8, None)):
        t, p = _random_maps(dtype, 5, ignore, 0)
        cm = S._pixel_confusion_matrix_dropping_invalid(_meta(t), _meta(p), 5, ignore)
        assert cm.device.type == "meta" and cm.shape == (5, 5) and cm.dtype == torch.int64


# ------------------------------------------------------------------ confusion matrices

CM = torch.tensor([[9, 5, 0], [3, 7, 0], [0, 0, 0]])
CONFUSION_FNS: dict[str, Callable[..., Any]] = {
    "iou": S.confusion_iou,
    "dice": S.confusion_dice,
    "precision": S.confusion_precision,
    "recall": S.confusion_recall,
    "semantic_scores": S.semantic_scores,
    "valor_lite": S.valor_lite_semantic_scores,
}

CONFUSION_CASES: list[tuple[str, Any, type, str]] = [
    ("list", CM.tolist(), TypeError, r"Expected `confusion` to be a torch.Tensor, but got list"),
    ("one_d", CM[0], ValueError, r"Expected `confusion` to have shape \(C, C\), but got \(3,\)"),
    ("not_square", CM[:2], ValueError, r"`confusion` to have shape \(C, C\).*, but got \(2, 3\)"),
    ("three_d", CM[None], ValueError, r"`confusion` to have shape \(C, C\), but got \(1, 3, 3\)"),
    (
        "bool",
        CM > 0,
        TypeError,
        r"Expected `confusion` to hold integer or floating-point counts, but got dtype torch.bool",
    ),
    ("complex", CM.to(torch.complex64), TypeError, r"`confusion` .*counts, .*complex64"),
    (
        "negative",
        _with(CM, (1, 2), -4),
        ValueError,
        r"Expected `confusion` to hold counts in \[0, inf\), but got -4 "
        r"\(first offending item: confusion\[1, 2\]\)",
    ),
    (
        "nan",
        _with(CM.double(), (2, 0), float("nan")),
        ValueError,
        r"`confusion` to hold counts in \[0, inf\), but got nan \(.*confusion\[2, 0\]\)",
    ),
    (
        "device_values_unread_but_shape_checked",
        _meta(CM[:2]),
        ValueError,
        r"`confusion` to have shape \(C, C\)( with C >= 1)?, but got \(2, 3\)",
    ),
]


@pytest.mark.parametrize("fn", CONFUSION_FNS.values(), ids=CONFUSION_FNS.keys())
@pytest.mark.parametrize(
    ("confusion", "error", "match"),
    [c[1:] for c in CONFUSION_CASES],
    ids=[c[0] for c in CONFUSION_CASES],
)
def test_bad_confusion(fn: Callable[..., Any], confusion: Any, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        fn(confusion)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, tuple):
        return all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a.dtype == b.dtype and torch.equal(a.nan_to_num(nan=-7.0), b.nan_to_num(nan=-7.0))


@pytest.mark.parametrize("fn", CONFUSION_FNS.values(), ids=CONFUSION_FNS.keys())
def test_confusion_dtypes_and_devices(fn: Callable[..., Any]) -> None:
    want = fn(CM)
    for cm in (CM.double(), CM.float(), CM.int(), CM.to(torch.uint8)):
        assert _same(fn(cm), want)
    out = fn(_meta(_with(CM, (0, 1), -1)))  # values on a device are not read
    first = out[0] if isinstance(out, tuple) else out
    assert first.device.type == "meta"


def test_empty_confusion() -> None:
    # no class at all: empty per-class scores (valor-lite needs its background class 0)
    assert S.confusion_iou(torch.zeros(0, 0, dtype=torch.long)).shape == (0,)
    assert S.semantic_scores(torch.zeros(0, 0, dtype=torch.long)).iou.shape == (0,)
    with pytest.raises(ValueError, match=r"shape \(C, C\) with C >= 1, but got \(0, 0\)"):
        S.valor_lite_semantic_scores(torch.zeros(0, 0, dtype=torch.long))
    assert S.valor_lite_semantic_scores(torch.tensor([[4]])).iou.shape == (0,)


# ------------------------------------------------------------------------------ panoptic

PT = torch.tensor([[[1, 1, 0, 2]]])  # (N, H, W) local target segment indexes, G = 2
PP = torch.tensor([[[1, 0, 1, 1]]])  # D = 1

INTERSECTION_CASES: list[tuple[str, Callable[[], Any], type, str]] = [
    (
        "target_above_g",
        lambda: S.panoptic_intersections(PT, PP, 1, 1),
        ValueError,
        r"Expected `target` to hold local segment indexes \(0: void, g \+ 1: segment g\) in "
        r"\[0, 1\], but got 2 \(first offending item: target\[0, 0, 3\]\)",
    ),
    (
        "preds_negative",
        lambda: S.panoptic_intersections(PT, _with(PP, (0, 0, 1), -1), 2, 1),
        ValueError,
        r"`preds` to hold local segment indexes .* in \[0, 1\], but got -1 "
        r"\(first offending item: preds\[0, 0, 1\]\)",
    ),
    (
        "float_target",
        lambda: S.panoptic_intersections(PT.float(), PP, 2, 1),
        TypeError,
        r"`target` to be an integer tensor, but got dtype torch.float32",
    ),
    (
        "zero_d",
        lambda: S.panoptic_intersections(torch.tensor(1), torch.tensor(1), 2, 1),
        ValueError,
        r"Expected `target` to have shape \(N, \.\.\.\), but got \(\)",
    ),
    (
        "shapes",
        lambda: S.panoptic_intersections(PT, PP[..., :3], 2, 1),
        ValueError,
        r"`preds` to have the shape of `target` \(1, 1, 4\), but got \(1, 1, 3\)",
    ),
    (
        "num_target_segments",
        lambda: S.panoptic_intersections(PT, PP, -1, 1),
        ValueError,
        r"`num_target_segments` to be an int >= 0, but got -1",
    ),
    (
        "num_pred_segments_float",
        lambda: S.panoptic_intersections(PT, PP, 2, 1.0),
        TypeError,
        r"`num_pred_segments` to be an int, but got float",
    ),
    (
        "device",
        lambda: S.panoptic_intersections(PT, _meta(PP), 2, 1),
        ValueError,
        r"`preds` on the device of `target` \(cpu\), but got meta",
    ),
]


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [c[1:] for c in INTERSECTION_CASES],
    ids=[c[0] for c in INTERSECTION_CASES],
)
def test_bad_panoptic_intersections(call: Callable[[], Any], error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        call()


def test_panoptic_intersections_narrow_maps_keep_numbers() -> None:
    want = S.panoptic_intersections(PT, PP, 2, 1)
    for dtype in (torch.uint8, torch.int16, torch.int32, torch.uint16):
        assert torch.equal(S.panoptic_intersections(PT.to(dtype), PP.to(dtype), 2, 1), want)


# one image, two target segments (cat 0, cat 1), two predictions (see panoptic_counts)
INTER = torch.tensor([[[0, 0, 0], [0, 8, 2], [0, 1, 5]]])
TCAT = torch.tensor([[0, 1]])
CROWD = torch.tensor([[False, False]])
PCAT = torch.tensor([[0, 1]])
MODIFIED = torch.tensor([False, True])


def _panoptic_bad_values() -> tuple[torch.Tensor, ...]:
    """Panoptic tallies' inputs with bad values (negative pixels, categories past K)."""
    return _with(INTER, (0, 1, 1), -3), _with(TCAT, (0, 0), 5), CROWD.long() * 2, PCAT


def _counts(**over: Any) -> Any:
    args: dict[str, Any] = dict(
        intersections=INTER, target_category=TCAT, target_crowd=CROWD, pred_category=PCAT,
        num_categories=2,
    )
    args.update(over)
    return S.panoptic_counts(**args)


COUNT_CASES: list[tuple[str, Callable[[], Any], type, str]] = [
    (
        "negative_intersection",
        lambda: _counts(intersections=_with(INTER, (0, 2, 1), -1)),
        ValueError,
        r"Expected `intersections` to hold pixel counts in \[0, inf\), but got -1 "
        r"\(first offending item: intersections\[0, 2, 1\]\)",
    ),
    (
        "target_category_above",  # was counted for no category (bincount cut it off)
        lambda: _counts(target_category=_with(TCAT, (0, 1), 2)),
        ValueError,
        r"Expected `target_category` to hold category indexes \(-1: padding\) in \[-1, 2\), "
        r"but got 2 \(first offending item: target_category\[0, 1\]\)",
    ),
    (
        "pred_category_below",
        lambda: _counts(pred_category=_with(PCAT, (0, 0), -2)),
        ValueError,
        r"`pred_category` .* in \[-1, 2\), but got -2 \(.*pred_category\[0, 0\]\)",
    ),
    (
        "crowd_two",
        lambda: _counts(target_crowd=torch.tensor([[0, 2]])),
        ValueError,
        r"Expected `target_crowd` to hold crowd flags 0 or 1, but got 2 "
        r"\(first offending item: target_crowd\[0, 1\]\)",
    ),
    (
        "float_intersections",
        lambda: _counts(intersections=INTER.double()),
        TypeError,
        r"`intersections` to be an integer tensor, but got dtype torch.float64",
    ),
    (
        "float_category",
        lambda: _counts(pred_category=PCAT.float()),
        TypeError,
        r"`pred_category` to be an integer tensor",
    ),
    (
        "complex_crowd",
        lambda: _counts(target_crowd=CROWD.to(torch.complex64)),
        TypeError,
        r"`target_crowd` to be a bool, integer or 0/1 float tensor",
    ),
    (
        "intersections_2d",
        lambda: _counts(intersections=INTER[0]),
        ValueError,
        r"`intersections` to have shape \(N, G \+ 1, D \+ 1\), but got \(3, 3\)",
    ),
    (
        "target_category_shape",
        lambda: _counts(target_category=torch.tensor([[0, 1, 1]])),
        ValueError,
        r"Expected `target_category` to have shape \(N, G\) = \(1, 2\) \(from `intersections` "
        r"of shape \(1, 3, 3\)\), but got \(1, 3\)",
    ),
    (
        "crowd_shape",
        lambda: _counts(target_crowd=CROWD[0]),
        ValueError,
        r"`target_crowd` to have shape \(N, G\), but got \(2,\)",
    ),
    (
        "pred_category_images",
        lambda: _counts(pred_category=PCAT.expand(2, 2)),
        ValueError,
        r"`pred_category` to have shape \(N, D\) = \(1, 2\)",
    ),
    (
        "num_categories_zero",
        lambda: _counts(num_categories=0),
        ValueError,
        r"`num_categories` to be an int >= 1, but got 0",
    ),
    (
        "num_categories_float",
        lambda: _counts(num_categories=2.0),
        TypeError,
        r"`num_categories` to be an int",
    ),
    (
        "protocol",  # was scored as torchmetrics
        lambda: _counts(protocol="panopticapi"),
        ValueError,
        r"Expected `protocol` to be one of \('coco', 'torchmetrics', 'torchmetrics-modified'\), "
        r"but got 'panopticapi'",
    ),
    (
        "modified_shape",
        lambda: _counts(protocol="torchmetrics-modified", modified=torch.tensor([True])),
        ValueError,
        r"Expected `modified` to have shape \(K,\) = \(2,\) \(one per category\), but got \(1,\)",
    ),
    (
        "modified_values",
        lambda: _counts(protocol="torchmetrics-modified", modified=torch.tensor([0, 3])),
        ValueError,
        r"`modified` to hold flags 0 or 1, but got 3 \(first offending item: modified\[1\]\)",
    ),
    (
        "device",
        lambda: _counts(pred_category=_meta(PCAT)),
        ValueError,
        r"Expected `pred_category` on the device of `intersections` \(cpu\), but got meta",
    ),
]


@pytest.mark.parametrize(
    ("call", "error", "match"), [c[1:] for c in COUNT_CASES], ids=[c[0] for c in COUNT_CASES]
)
def test_bad_panoptic_counts(call: Callable[[], Any], error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize("protocol", ["coco", "torchmetrics", "torchmetrics-modified"])
def test_panoptic_counts_index_widths_and_flags_keep_numbers(protocol: str) -> None:
    want = _counts(protocol=protocol, modified=MODIFIED)
    narrow = _counts(
        intersections=INTER.int(),
        target_category=TCAT.to(torch.int16),  # uint8 indexes `modified` as a mask
        target_crowd=CROWD.long(),
        pred_category=PCAT.to(torch.int8),
        protocol=protocol,
        modified=MODIFIED.to(torch.uint8),
    )
    assert _same(tuple(narrow), tuple(want))


def test_panoptic_counts_modified_unread_by_other_protocols() -> None:
    # `modified` is only read with "torchmetrics-modified": not checked otherwise
    assert _same(tuple(_counts(modified=torch.tensor([7]))), tuple(_counts()))


C_OK = S.PanopticCounts(
    torch.tensor([1.6, 0.0], dtype=torch.float64),
    torch.tensor([2, 0]),
    torch.tensor([1, 0]),
    torch.tensor([1, 0]),
)

SCORES_CASES: list[tuple[str, Callable[[], Any], type, str]] = [
    (
        "not_a_tuple",
        lambda: S.panoptic_scores(C_OK._asdict()),
        TypeError,
        r"Expected `counts` to be a tuple or list of 4 tensors \(iou_sum, tp, fp, fn\), "
        r"but got dict",
    ),
    (
        "three_fields",
        lambda: S.panoptic_scores(tuple(C_OK)[:3]),
        TypeError,
        r"`counts` to be a tuple or list of 4 tensors .*, but got tuple of length 3",
    ),
    (
        "list_of_three",
        lambda: S.panoptic_scores(list(C_OK)[:3]),
        TypeError,
        r"`counts` to be a tuple or list of 4 tensors .*, but got list of length 3",
    ),
    (
        "negative_fp",
        lambda: S.panoptic_scores(C_OK._replace(fp=torch.tensor([1, -1]))),
        ValueError,
        r"Expected `counts.fp` to hold counts in \[0, inf\), but got -1 "
        r"\(first offending item: counts.fp\[1\]\)",
    ),
    (
        "nan_iou_sum",
        lambda: S.panoptic_scores(C_OK._replace(iou_sum=torch.tensor([float("nan"), 0.0]))),
        ValueError,
        r"`counts.iou_sum` to hold IoU sums in \[0, inf\), but got nan",
    ),
    (
        "float_tp",
        lambda: S.panoptic_scores(C_OK._replace(tp=C_OK.tp.double())),
        TypeError,
        r"Expected `counts.tp` to be an integer tensor, but got dtype torch.float64",
    ),
    (
        "int_iou_sum",
        lambda: S.panoptic_scores(C_OK._replace(iou_sum=C_OK.tp)),
        TypeError,
        r"`counts.iou_sum` to be a floating-point tensor",
    ),
    (
        "length",
        lambda: S.panoptic_scores(C_OK._replace(fn=torch.tensor([1, 0, 0]))),
        ValueError,
        r"Expected `counts.fn` to hold one entry per category of `counts.iou_sum` \(2\), "
        r"but got shape \(3,\)",
    ),
    (
        "two_d",
        lambda: S.panoptic_scores(C_OK._replace(tp=C_OK.tp[None])),
        ValueError,
        r"`counts.tp` to have shape \(K,\), but got \(1, 2\)",
    ),
    (
        "protocol",
        lambda: S.panoptic_scores(C_OK, "pq"),
        ValueError,
        r"`protocol` to be one of .*, but got 'pq'",
    ),
    (
        "device",
        lambda: S.panoptic_scores(C_OK._replace(fp=_meta(C_OK.fp))),
        ValueError,
        r"`counts.fp` on the device of `counts.iou_sum` \(cpu\), but got meta",
    ),
]


@pytest.mark.parametrize(
    ("call", "error", "match"), [c[1:] for c in SCORES_CASES], ids=[c[0] for c in SCORES_CASES]
)
def test_bad_panoptic_scores(call: Callable[[], Any], error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        call()


S_OK = S.panoptic_scores(C_OK)
THING = torch.tensor([True, False])

AVERAGE_CASES: list[tuple[str, Callable[[], Any], type, str]] = [
    (
        "is_thing_int",
        lambda: S.panoptic_averages(S_OK, THING.long()),
        TypeError,
        r"Expected `is_thing` to be a bool tensor, but got dtype torch.int64",
    ),
    (
        "is_thing_length",
        lambda: S.panoptic_averages(S_OK, torch.tensor([True])),
        ValueError,
        r"Expected `is_thing` to hold one entry per category of `scores.pq` \(2\), "
        r"but got shape \(1,\)",
    ),
    (
        "valid_float",
        lambda: S.panoptic_averages(S_OK._replace(valid=S_OK.valid.double()), THING),
        TypeError,
        r"`scores.valid` to be a bool tensor",
    ),
    (
        "pq_int",
        lambda: S.panoptic_averages(S_OK._replace(pq=S_OK.valid.long()), THING),
        TypeError,
        r"`scores.pq` to be a floating-point tensor",
    ),
    (
        "float32_rq",
        lambda: S.panoptic_averages(S_OK, THING, float32_rq="yes"),
        TypeError,
        r"Expected `float32_rq` to be a bool, but got 'yes' \(str\)",
    ),
    (
        "float32_rq_int",  # a bool-only switch: 1 is refused, not read as True
        lambda: S.panoptic_averages(S_OK, THING, float32_rq=1),
        TypeError,
        r"Expected `float32_rq` to be a bool, but got 1 \(int\)",
    ),
    (
        "scores_dict",
        lambda: S.panoptic_averages(S_OK._asdict(), THING),
        TypeError,
        r"`scores` to be a tuple or list of 4 tensors \(pq, sq, rq, valid\), but got dict",
    ),
    (
        "device",
        lambda: S.panoptic_averages(S_OK, _meta(THING)),
        ValueError,
        r"Expected `is_thing` on the device of `scores.pq` \(cpu\), but got meta",
    ),
]


@pytest.mark.parametrize(
    ("call", "error", "match"), [c[1:] for c in AVERAGE_CASES], ids=[c[0] for c in AVERAGE_CASES]
)
def test_bad_panoptic_averages(call: Callable[[], Any], error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        call()


def test_panoptic_scores_and_averages_take_a_list() -> None:
    # a tuple or a list of the fields, as a NamedTuple turned into either
    assert _same(tuple(S.panoptic_scores(list(C_OK))), tuple(S_OK))
    assert _same(tuple(S.panoptic_scores(tuple(C_OK), "torchmetrics")),
                 tuple(S.panoptic_scores(C_OK, "torchmetrics")))
    want = S.panoptic_averages(S_OK, THING, float32_rq=True)
    assert _same(S.panoptic_averages(list(S_OK), THING, float32_rq=True), want)
    assert _same(S.panoptic_averages(tuple(S_OK), THING), S.panoptic_averages(S_OK, THING))


def test_panoptic_scores_and_averages_do_not_read_device_values() -> None:
    bad = S.PanopticCounts(*(_meta(x) for x in C_OK._replace(fp=torch.tensor([1, -1]))))
    scores = S.panoptic_scores(bad)
    assert scores.pq.device.type == "meta"
    means, n = S.panoptic_averages(scores, _meta(THING), float32_rq=np.bool_(False))
    assert means.shape == (3, 3) and n.shape == (3,)
    want = S.panoptic_averages(S_OK, THING, float32_rq=True)
    assert _same(S.panoptic_averages(S_OK, THING, float32_rq=np.bool_(True)), want)


# ---------------------------------------- streaming metrics with validate_args=False


def test_streaming_semantic_without_validation_drops_out_of_range_labels() -> None:
    # was torch's raw bincount error (negative target) or a count in another cell
    target = _with(_with(T, (0, 0), -1), (1, 1), 255)
    preds = _with(_with(P, (1, 2), 3), (1, 1), 9)  # (1, 1) is ignored, (1, 2) invalid
    metric = SemanticSegmentationMetrics(3, ignore_index=255, validate_args=False)
    metric.update(preds, target)
    want, bad = _reference(target, preds, 3, 255)
    np.testing.assert_array_equal(metric.confmat.numpy(), want)
    assert bad == 2 and int(metric.confmat.sum()) == T.numel() - 3
    with pytest.raises(ValueError, match=r"`target` values in \[0, 3\)"):
        SemanticSegmentationMetrics(3, ignore_index=255).update(preds, target)


def test_streaming_classification_without_validation_drops_out_of_range_classes() -> None:
    target = torch.tensor([0, -1, 2, 1, 3])
    preds = torch.tensor([0, 1, 5, 1, 0])
    metric = MulticlassMetrics(3, validate_args=False)
    metric.update(preds, target)
    want, bad = _reference(target, preds, 3, None)
    np.testing.assert_array_equal(metric.confmat.numpy(), want)
    assert bad == 3 and int(metric.confmat.sum()) == 2
