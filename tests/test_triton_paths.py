"""The one-pass Triton paths against the eager kernels and NumPy references.

``triton_device`` runs each test compiled on CUDA (when present) or through Triton's
interpreter on CPU tensors (tests/triton_interpreter.py), so CI without a GPU runs the
same kernel code. Each test first asserts that the Triton path is the one taken.
The eager paths of the same functions are tested here too, on every device.
"""

from __future__ import annotations

import math
from typing import Any

import assay
import numpy as np
import pytest
import torch
from assay.kernels import binary_frame_scores, segment_reduce_contiguous
from assay.kernels.segmentation import (
    fused_confusion_available,
    pixel_confusion_matrix,
    pixel_confusion_matrix_with_invalid,
)
from oracles import FRAME_LENGTHS, box_scores_with_edges, check_frames, np_box_scores

# ------------------------------------------------------------------ pixel pairs


def _np_confusion(t: np.ndarray, p: np.ndarray, c: int, ignore: int | None) -> tuple[Any, int]:
    """Reference: counts of valid pixels, number of invalid ones (not ignored, out of range)."""
    t = t.reshape(-1).astype(np.int64)
    p = p.reshape(-1).astype(np.int64)
    kept = np.ones(t.shape, bool) if ignore is None else t != ignore
    valid = kept & (t >= 0) & (t < c) & (p >= 0) & (p < c)
    cm = np.zeros((c, c), np.int64)
    np.add.at(cm, (t[valid], p[valid]), 1)
    return cm, int((kept & ~valid).sum())


def _maps(seed: int, shape: tuple[int, ...], c: int, dtype: torch.dtype) -> tuple[Any, Any]:
    g = torch.Generator().manual_seed(seed)
    t = torch.randint(0, c, shape, generator=g)
    p = torch.randint(0, c, shape, generator=g)
    return t.to(dtype), p.to(dtype)


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.int16, torch.uint8])
@pytest.mark.parametrize("ignore", [None, 255, 0])
def test_pair_histogram_matches_reference(
    triton_device: str, dtype: torch.dtype, ignore: int | None
) -> None:
    c = 7
    t, p = _maps(1, (3, 37, 53), c, dtype)  # 5,883 pixels: two blocks and a tail
    if ignore is not None:
        t[0, :4] = ignore
        p[0, :2] = 99  # predictions on ignored pixels are never counted
    t, p = t.to(triton_device), p.to(triton_device)
    assert fused_confusion_available(t, p, c)
    cm, invalid = pixel_confusion_matrix_with_invalid(t, p, c, ignore)
    ref, bad = _np_confusion(t.cpu().numpy(), p.cpu().numpy(), c, ignore)
    np.testing.assert_array_equal(cm.cpu().numpy(), ref)
    assert int(invalid) == bad == 0
    assert cm.dtype == torch.int64 and cm.device.type == t.device.type
    assert torch.equal(pixel_confusion_matrix(t, p, c, ignore), cm)


def test_pair_histogram_counts_invalid_pixels(triton_device: str) -> None:
    c = 5
    t, p = _maps(2, (2, 41, 61), c, torch.int64)
    t[0, 0, :7] = 255  # ignored
    p[0, 0, :3] = -4  # on ignored pixels: neither counted nor invalid
    t[1, 3, :5] = 9  # target out of range
    t[1, 4, :2] = -1  # negative target
    p[1, 5, :6] = 5  # prediction out of range
    p[1, 6, :1] = 2**40  # far out of range (no key wrap)
    t, p = t.to(triton_device), p.to(triton_device)
    assert fused_confusion_available(t, p, c)
    cm, invalid = pixel_confusion_matrix_with_invalid(t, p, c, 255)
    ref, bad = _np_confusion(t.cpu().numpy(), p.cpu().numpy(), c, 255)
    np.testing.assert_array_equal(cm.cpu().numpy(), ref)
    assert int(invalid) == bad == 5 + 2 + 6 + 1


def test_pair_histogram_empty_and_strided(triton_device: str) -> None:
    c = 3
    t, p = _maps(3, (4, 20, 30), c, torch.int64)
    t, p = t.to(triton_device), p.to(triton_device)
    cm, invalid = pixel_confusion_matrix_with_invalid(t[:0], p[:0], c, None)
    assert cm.shape == (3, 3) and int(cm.sum()) == 0 and int(invalid) == 0
    ts, ps = t[:, ::2, 1::3], p.transpose(1, 2)[:, 1::3, ::2]  # non-contiguous views
    cm, invalid = pixel_confusion_matrix_with_invalid(ts, ps, c, None)
    ref, _ = _np_confusion(ts.cpu().numpy(), ps.cpu().numpy(), c, None)
    np.testing.assert_array_equal(cm.cpu().numpy(), ref)


def test_pair_histogram_not_taken_for_large_class_counts(triton_device: str) -> None:
    t, p = _maps(4, (2, 5, 5), 30, torch.int64)
    t, p = t.to(triton_device), p.to(triton_device)
    assert not fused_confusion_available(t, p, 23)  # 23 * 23 + 2 bins > 512: eager
    assert fused_confusion_available(t, p, 22)
    assert not fused_confusion_available(t.float(), p, 22)
    assert not fused_confusion_available(t.bool(), p, 22)


def test_evaluate_semantic_on_the_fused_path(triton_device: str) -> None:
    c = 6
    t, p = _maps(5, (3, 30, 40), c, torch.int64)
    t[0, :3] = 255
    p[0, :1] = 77  # under ignored pixels: not an error
    t, p = t.to(triton_device), p.to(triton_device)
    assert fused_confusion_available(t, p, c)
    r = assay.evaluate_semantic(t, p, c, 255)
    ref, _ = _np_confusion(t.cpu().numpy(), p.cpu().numpy(), c, 255)
    np.testing.assert_array_equal(r.confusion_matrix, ref)
    p[1, 2, 3] = 6
    message = r"Expected `preds` values in \[0, 6\), but got 6 at index \(1, 2, 3\)"
    with pytest.raises(ValueError, match=message):
        assay.evaluate_semantic(t, p, c, 255)
    p[1, 2, 3] = 0
    t[2, 0, 1] = 6
    with pytest.raises(ValueError, match=r"but got 6 at index \(2, 0, 1\)"):
        assay.evaluate_semantic(t, p, c, 255)


def test_streaming_semantic_on_the_fused_path(triton_device: str) -> None:
    from assay.engine.streaming.semantic import SemanticSegmentationMetrics

    c = 4
    metric = SemanticSegmentationMetrics(c, ignore_index=255).to(triton_device)
    total = np.zeros((c, c), np.int64)
    for seed in range(3):
        t, p = _maps(10 + seed, (2, 17, 19), c, torch.uint8)
        t[0, 0] = 255
        metric.update(p.to(triton_device), t.to(triton_device))
        total += _np_confusion(t.numpy(), p.numpy(), c, 255)[0]
    np.testing.assert_array_equal(metric.result().confusion_matrix, total)


@pytest.mark.parametrize("ignore", [None, 255, 1])
def test_eager_confusion_with_invalid(
    device: str, ignore: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASSAY_TRITON", "off")
    c = 4
    t, p = _maps(6, (2, 9, 11), c, torch.int64)
    t[0, 0, :3] = 255
    t[1, 1, :2] = -2
    p[1, 2, :4] = 4
    p[0, 0, :1] = 2**40
    t, p = t.to(device), p.to(device)
    assert not fused_confusion_available(t, p, c)
    cm, invalid = pixel_confusion_matrix_with_invalid(t, p, c, ignore)
    ref, bad = _np_confusion(t.cpu().numpy(), p.cpu().numpy(), c, ignore)
    np.testing.assert_array_equal(cm.cpu().numpy(), ref)
    assert int(invalid) == bad


# ------------------------------------------------------------ frame scores


@pytest.mark.parametrize("score", ["entropy", "margin", "least_confidence", "ratio", "probability"])
@pytest.mark.parametrize("reduction", ["min", "max", "mean", "sum"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_fused_frame_scores_match_reference(
    triton_device: str, score: Any, reduction: Any, dtype: torch.dtype
) -> None:
    from assay.kernels import _triton

    s = box_scores_with_edges(sum(FRAME_LENGTHS), dtype, 7).to(triton_device)
    lengths = torch.tensor(FRAME_LENGTHS, device=triton_device)
    assert _triton.available(s, lengths)
    for normalize in (False, True):
        out = binary_frame_scores(s, lengths, score, reduction, normalize=normalize)
        check_frames(out, s, FRAME_LENGTHS, score, reduction, normalize)
    dense = s[:280]
    out = binary_frame_scores(dense, 20, score, reduction, empty=-1.0)
    check_frames(out, dense, [20] * 14, score, reduction, False)


def test_fused_frame_scores_edges(triton_device: str) -> None:
    s = torch.rand(50, dtype=torch.float64).to(triton_device)
    no_frames = torch.zeros(0, dtype=torch.long, device=s.device)
    empty = binary_frame_scores(s[:0], no_frames, "margin", "min")
    assert empty.shape == (0,)
    none = binary_frame_scores(s[:0], torch.zeros(3, dtype=torch.long, device=s.device), "ratio",
                               "mean", empty=-2.0)
    assert none.tolist() == [-2.0, -2.0, -2.0]
    assert binary_frame_scores(s[:0], 4, "entropy", "max").shape == (0,)
    # the empty value is written in the scores' dtype, exactly (0.1 is not a float32)
    tenth = binary_frame_scores(s[:2], torch.tensor([0, 2, 0], device=s.device), "margin",
                                "max", empty=0.1)
    assert tenth[0].item() == 0.1 and tenth[2].item() == 0.1
    # lengths past the scores (a caller's error) read nothing beyond them
    from assay.kernels import _triton

    out = _triton.binary_frame_scores(s[:5], torch.tensor([3, 9], device=s.device), "probability",
                                      "sum", normalize=False, empty=math.nan)
    assert out.cpu().tolist() == pytest.approx([float(s[:3].sum()), float(s[3:5].sum())])


@pytest.mark.parametrize("score", ["entropy", "margin", "least_confidence", "ratio", "probability"])
@pytest.mark.parametrize("reduction", ["min", "max", "mean", "sum"])
def test_eager_frame_scores_match_reference(device: str, score: Any, reduction: Any,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSAY_TRITON", "0")
    for dtype in (torch.float32, torch.float64):
        s = box_scores_with_edges(sum(FRAME_LENGTHS), dtype, 8).to(device)
        for normalize in (False, True):
            lengths = torch.tensor(FRAME_LENGTHS, device=device)
            out = binary_frame_scores(s, lengths, score, reduction, normalize=normalize)
            check_frames(out, s, FRAME_LENGTHS, score, reduction, normalize)


def _boxes_near_the_middle(dtype: torch.dtype, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Frames of scores whose entropies are the hardest to rank: both sides of 1/2 within a
    few ulps, a box and its mirror ``1 - s`` (equal entropy), tiny and nearly-1 scores, 0, 1."""
    g = torch.Generator().manual_seed(seed)
    eps = torch.finfo(dtype).eps
    half = torch.tensor(0.5, dtype=dtype)
    ulps = torch.randint(-6, 7, (400,), generator=g).to(dtype)
    near = half + ulps * eps / 4  # below 1/2 the spacing is eps / 4, above eps / 2
    far = torch.rand(400, generator=g, dtype=torch.float64).pow(8).to(dtype)
    mirrored = torch.cat([far[:100], 1 - far[:100]])  # s and 1 - s: exact from 1/4 to 1
    edges = torch.tensor([0.0, 1.0, 0.5, 1e-30, 1 - 2e-7, 2e-7, 0.25, 0.75], dtype=dtype)
    pool = torch.cat([near, far, 1 - far, mirrored, edges])
    s = pool[torch.randperm(pool.shape[0], generator=g)]
    lengths = torch.randint(0, 7, (400,), generator=g)  # ~1,200 of the 1,408 boxes
    lengths[-1] = s.shape[0] - lengths[:-1].sum()  # the rest in the last frame
    return s, lengths


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("reduction", ["min", "max"])
def test_entropy_extremes_reduce_first(
    device: str, dtype: torch.dtype, reduction: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``entropy`` ``min`` / ``max`` take the frame's least-confidence extreme, then one
    entropy: the NumPy reference's numbers, and the per-box path's to rounding."""
    import assay.kernels.frame_scores as fs
    from assay.kernels import segment_reduce_contiguous

    monkeypatch.setenv("ASSAY_TRITON", "0")  # the eager CPU / device path
    s, lengths = _boxes_near_the_middle(dtype, 5)
    s, lengths = s.to(device), lengths.to(device)
    eps = torch.finfo(dtype).eps
    for normalize in (False, True):
        out = binary_frame_scores(s, lengths, "entropy", reduction, normalize=normalize)
        check_frames(out, s, lengths.tolist(), "entropy", reduction, normalize)
        per_box = segment_reduce_contiguous(fs._box_scores(s, "entropy", normalize), lengths,
                                            reduction)
        torch.testing.assert_close(out, per_box, rtol=4 * eps, atol=0, equal_nan=True)
    # a frame's extreme box is found exactly: its entropy is 0 only where every box is 0 / 1
    certain = torch.tensor([0.0, 1.0, 1.0, 0.0, 1e-30], dtype=dtype, device=device)
    out = binary_frame_scores(certain, torch.tensor([2, 1, 0, 2], device=device), "entropy",
                              reduction, empty=-1.0)
    last = float(np_box_scores(np.array([1e-30 if dtype == torch.float64 else float(certain[4])]),
                               "entropy", False)[0])
    expected = [0.0, 0.0, -1.0, 0.0 if reduction == "min" else last]
    assert out.cpu().tolist() == pytest.approx(expected, rel=4 * eps, abs=0)


@pytest.mark.parametrize(
    ("args", "pattern"),
    [
        (("margins", "min"), r"Expected `score` to be one of \['entropy', .*\], but got 'margins'"),
        (("margin", "median"), r"Expected `reduction` to be one of \['min', .*\], but got 'median"),
    ],
)
def test_frame_scores_bad_arguments(args: tuple[Any, Any], pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern):
        binary_frame_scores(torch.rand(4), 2, *args)


@pytest.mark.parametrize("length", [0, 3])
def test_frame_scores_bad_int_length(length: int) -> None:
    with pytest.raises(ValueError, match=rf"dividing the 4 scores, but got {length}"):
        binary_frame_scores(torch.rand(4), length, "margin", "min")


@pytest.mark.parametrize("chunk", [1, 7, 64])
def test_cpu_chunks_equal_one_pass(chunk: int, monkeypatch: pytest.MonkeyPatch) -> None:
    import assay.kernels.frame_scores as fs
    from assay.kernels import segment_reduce_contiguous

    monkeypatch.setattr(fs, "_CPU_CHUNK_BOXES", chunk)
    g = torch.Generator().manual_seed(chunk)
    lengths = torch.randint(0, 30, (157,), generator=g)
    lengths[torch.rand(157, generator=g) < 0.2] = 0
    s = torch.rand(int(lengths.sum()), generator=g, dtype=torch.float64)
    for score in fs.BINARY_SCORES:
        for reduction in ("min", "max", "mean", "sum"):
            whole = segment_reduce_contiguous(fs._box_scores(s, score, True), lengths, reduction)
            out = binary_frame_scores(s, lengths, score, reduction, normalize=True)
            if score == "entropy" and reduction in ("min", "max"):  # reduced first
                torch.testing.assert_close(out, whole, rtol=4e-16, atol=0, equal_nan=True)
                per_box = binary_frame_scores(s, lengths, score, reduction, normalize=True,
                                              reduce_first=False)
                assert torch.equal(per_box.nan_to_num(), whole.nan_to_num())
            else:
                assert torch.equal(out.isnan(), whole.isnan())
                assert torch.equal(out.nan_to_num(), whole.nan_to_num())
            dense = s[: 3 * (s.shape[0] // 3)]
            whole = segment_reduce_contiguous(fs._box_scores(dense, score, False), 3, reduction)
            out = binary_frame_scores(dense, 3, score, reduction)
            if score == "margin" and reduction != "min":  # through cdist: another order
                torch.testing.assert_close(out, whole, rtol=1e-15, atol=0)
            elif score == "entropy" and reduction in ("min", "max"):  # reduced first
                torch.testing.assert_close(out, whole, rtol=4e-16, atol=0)
            else:
                assert torch.equal(out, whole)
    none = torch.zeros(0, dtype=torch.long)
    assert binary_frame_scores(s[:0], none, "margin", "min").shape == (0,)


@pytest.mark.parametrize("reduction", ["max", "mean", "sum"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("length", [1, 3, 20, 33])
def test_cpu_dense_margin_through_cdist(reduction: Any, dtype: torch.dtype, length: int,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Dense margin frames on the CPU: ``2 |s - 1/2|`` summed or maximised by ``cdist``.

    Same numbers as the NumPy reference and as the per-box path (max exactly, sum and
    mean to rounding); the per-box path is switched off to prove it is not taken.
    """
    import assay.kernels.frame_scores as fs

    frames = 41
    s = box_scores_with_edges(frames * length, dtype, length)
    eager = fs._cpu_chunked(s, length, "margin", reduction, False, math.nan)

    def per_box_path(*args: Any) -> None:
        raise AssertionError("dense margin took the per-box path")

    monkeypatch.setattr(fs, "_cpu_chunked", per_box_path)
    out = binary_frame_scores(s, length, "margin", reduction)
    check_frames(out, s, [length] * frames, "margin", reduction, False)
    if reduction == "max":
        assert torch.equal(out, eager)
    else:
        torch.testing.assert_close(out, eager)
    none = binary_frame_scores(s[:0], length, "margin", reduction)
    assert none.shape == (0,) and none.dtype == dtype


def test_cpu_dense_margin_cdist_only_where_it_is_exact_enough(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Long rows (float32 sums would drift), strided scores (copied whole by cdist) and
    autograd (cdist's output is scaled in place) keep the per-box path, with its results."""
    import assay.kernels.frame_scores as fs

    calls: list[int] = []
    per_box = fs._cpu_chunked

    def counted(*args: Any) -> torch.Tensor:
        calls.append(1)
        return per_box(*args)

    monkeypatch.setattr(fs, "_cpu_chunked", counted)
    g = torch.Generator().manual_seed(3)
    long_rows = torch.rand(3 * 1000, generator=g)
    out = binary_frame_scores(long_rows, 1000, "margin", "sum")
    ref = (2 * long_rows.double() - 1).abs().view(3, -1).sum(1)
    torch.testing.assert_close(out.double(), ref, rtol=2e-7, atol=0)
    base = torch.rand(2 * 40, generator=g)
    strided = binary_frame_scores(base[::2], 4, "margin", "mean")
    assert torch.equal(strided, binary_frame_scores(base[::2].contiguous(), 4, "margin", "mean"))
    x = torch.rand(12, generator=g, requires_grad=True)
    binary_frame_scores(x, 4, "margin", "sum").sum().backward()
    assert x.grad is not None
    torch.testing.assert_close(x.grad, 2 * torch.sign(2 * x.detach() - 1))
    assert len(calls) == 3
    longest = torch.rand(2 * fs._CDIST_MAX_LENGTH, generator=g)
    binary_frame_scores(longest, fs._CDIST_MAX_LENGTH, "margin", "max")  # longest cdist rows
    assert len(calls) == 3


def test_pair_histogram_ignore_outside_the_dtype_goes_eager(triton_device: str) -> None:
    t = torch.tensor([[0, 1, 255, 2]], dtype=torch.uint8, device=triton_device)
    p = torch.tensor([[0, 1, 0, 2]], dtype=torch.uint8, device=triton_device)
    assert fused_confusion_available(t, p, 3, 255)
    assert not fused_confusion_available(t, p, 3, -1)  # torch wraps -1 to 255 in uint8
    cm, invalid = pixel_confusion_matrix_with_invalid(t, p, 3, -1)
    cm_cpu, invalid_cpu = pixel_confusion_matrix_with_invalid(t.cpu(), p.cpu(), 3, -1)
    assert torch.equal(cm.cpu(), cm_cpu) and int(invalid) == int(invalid_cpu)


def test_fused_frame_scores_lengths_views_and_dtypes(triton_device: str) -> None:
    from assay.kernels import _triton

    s = torch.rand(10, dtype=torch.float64).to(triton_device)
    table = torch.tensor([[0, 3], [0, 7]], device=triton_device)
    lengths = table[:, 1]  # a strided int64 column
    assert not lengths.is_contiguous() and _triton.available(s, lengths)
    expect = [float(s[:3].sum()), float(s[3:].sum())]
    for ls in (lengths, lengths.to(torch.int32), lengths.to(torch.int16)):
        out = binary_frame_scores(s, ls, "probability", "sum")
        assert out.cpu().tolist() == pytest.approx(expect)


def test_failed_launch_falls_back_to_eager(
    triton_device: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from assay.kernels import _triton, _triton_kernels

    class Broken:
        def __getitem__(self, grid: Any) -> Any:
            raise RuntimeError("no C compiler")

    monkeypatch.setattr(_triton_kernels, "binary_frame_scores_kernel", Broken())
    monkeypatch.setattr(_triton, "_failed", [])
    s = torch.rand(12, dtype=torch.float64).to(triton_device)
    lengths = torch.tensor([5, 0, 7], device=triton_device)
    with pytest.warns(RuntimeWarning, match="binary_frame_scores_kernel failed"):
        out = binary_frame_scores(s, lengths, "margin", "max")
    assert not _triton.available(s, lengths)  # eager from then on, no second warning
    monkeypatch.setenv("ASSAY_TRITON", "0")
    torch.testing.assert_close(out, binary_frame_scores(s, lengths, "margin", "max"),
                               rtol=0, atol=0, equal_nan=True)


@pytest.mark.parametrize("value", ["0", "off", "False", "no"])
def test_triton_switched_off(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from assay.kernels import _triton

    monkeypatch.setenv("ASSAY_TRITON", value)
    assert not _triton.available(torch.zeros(1))


_INT = r"`lengths` to be an int or an integer tensor, but got"


@pytest.mark.parametrize(
    ("scores", "lengths", "error", "pattern"),
    [
        (torch.zeros(4, dtype=torch.long), 2, TypeError,
         r"`scores` to be a floating-point tensor, but got torch.int64"),
        (torch.zeros(2, 2), 2, ValueError, r"`scores` to have shape \(N,\), but got \(2, 2\)"),
        (torch.zeros(4), True, TypeError, _INT + " bool"),
        (torch.zeros(4), np.float64(2.0), TypeError, _INT + " float64"),  # np.int64: an int
        (torch.zeros(4), torch.tensor([2.0, 2.0]), TypeError,
         r"integer tensor, but got dtype torch.float32"),
        (torch.zeros(4), torch.tensor([[2, 2]]), ValueError,
         r"`lengths` to have shape \(S,\), but got \(1, 2\)"),
        # past the scores: torch.segment_reduce read outside them (garbage, or a crash)
        (torch.zeros(4), torch.tensor([3, 3]), ValueError,
         r"`lengths` to add up to the 4 scores, but they add up to 6"),
        (torch.zeros(4), torch.tensor([3, 0]), ValueError,
         r"`lengths` to add up to the 4 scores, but they add up to 3"),
        (torch.zeros(4), torch.tensor([6, -2]), ValueError,
         r"`lengths` to hold segment lengths in \[0, inf\), but got -2 \(first offending item: "
         r"lengths\[1\]\)"),
        (torch.zeros(4), torch.zeros(0, dtype=torch.long), ValueError,
         r"`lengths` to add up to the 4 scores, but got none"),
    ],
)
def test_frame_scores_bad_inputs(
    scores: Any, lengths: Any, error: type[Exception], pattern: str
) -> None:
    for reduction in ("min", "sum"):
        with pytest.raises(error, match=pattern):
            binary_frame_scores(scores, lengths, "margin", reduction)
        if isinstance(lengths, torch.Tensor) and scores.is_floating_point() and scores.ndim == 1:
            with pytest.raises(error, match=pattern.replace("scores", "values")):
                segment_reduce_contiguous(scores, lengths, reduction)


def test_pair_histogram_near_two_to_the_31_pixels() -> None:
    """Offsets past 2**31 - 1 must not wrap (int32 arithmetic read out of bounds once)."""
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device (the interpreter would take minutes at this size)")
    pytest.importorskip("triton")
    n = 2**31 - 1000
    if torch.cuda.mem_get_info()[0] < 3 * n:
        pytest.skip("not enough free GPU memory")
    t = torch.ones(n, dtype=torch.uint8, device="cuda")
    p = torch.zeros(n, dtype=torch.uint8, device="cuda")
    t[-5:] = 0
    p[-3:] = 1
    assert fused_confusion_available(t, p, 2)
    cm, invalid = pixel_confusion_matrix_with_invalid(t, p, 2, None)
    assert cm.tolist() == [[2, 3], [n - 5, 0]] and int(invalid) == 0


# ------------------------------------------------------------ k-center update


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("kind", ["gaussian", "grid"])
def test_fused_nearest_update_picks_like_eager(
    triton_device: str, dtype: torch.dtype, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from assay.kernels import _triton, k_center_greedy, kmeans_plus_plus

    g = torch.Generator().manual_seed(3)
    if kind == "grid":  # integer coordinates: exactly tied distances, ties by index
        x = torch.randint(-3, 4, (150, 37), generator=g).to(dtype)
    else:
        x = torch.randn(150, 300, generator=g, dtype=dtype)  # D > 128: three column blocks
    x = x.to(triton_device)
    assert _triton.available(x)
    fused = k_center_greedy(x, 40, first=5)
    seeds = kmeans_plus_plus(x, 10, generator=torch.Generator(device=x.device).manual_seed(1))
    # reference: float64 brute force on the CPU
    xd = x.double().cpu()
    dist = torch.full((150,), math.inf, dtype=torch.float64)
    picks, radii = [5], [math.inf]
    for _ in range(39):
        dist = torch.minimum(dist, (xd - xd[picks[-1]]).norm(dim=1))
        dist[picks] = -math.inf
        picks.append(int(dist.argmax()))
        radii.append(float(dist[picks[-1]]))
    assert fused.indices.cpu().tolist() == picks
    np.testing.assert_allclose(fused.radii.double().cpu().numpy(), radii, rtol=1e-6)
    monkeypatch.setenv("ASSAY_TRITON", "0")
    eager = kmeans_plus_plus(x, 10, generator=torch.Generator(device=x.device).manual_seed(1))
    assert torch.equal(seeds, eager)


def test_fused_nearest_update_strided_rows_go_eager(triton_device: str) -> None:
    from assay.kernels import k_center_greedy

    x = torch.randn(60, 8, dtype=torch.float64).to(triton_device)
    wide = torch.zeros(60, 16, dtype=torch.float64, device=x.device)
    wide[:, ::2] = x  # a column-strided view: the kernel needs contiguous rows
    ref = k_center_greedy(x, 10, first=0)
    out = k_center_greedy(wide[:, ::2], 10, first=0)
    assert torch.equal(out.indices, ref.indices)
