"""Triton kernels: one pass over memory where eager torch needs several.

Imported only through :mod:`._triton` (which falls back to eager torch when Triton is
missing). No ``from __future__ import annotations`` here: Triton reads the
``tl.constexpr`` annotations as objects. Each kernel is compiled for CUDA and also run
by Triton's interpreter on CPU tensors, so CI without a GPU tests the same code.
"""

# mypy: disable-error-code="no-untyped-def, untyped-decorator"

import triton
import triton.language as tl

# score kinds of binary_frame_scores_kernel (a box score s is the distribution (s, 1 - s))
ENTROPY, MARGIN, LEAST, RATIO, PROBABILITY = 0, 1, 2, 3, 4
# reductions over a frame's boxes
MIN, MAX, SUM, MEAN = 0, 1, 2, 3


@triton.jit
def pair_histogram_kernel(
    t_ptr,
    p_ptr,
    out_ptr,
    n,
    step,
    iters,
    ignore,
    C: tl.constexpr,
    NB: tl.constexpr,
    HAS_IGNORE: tl.constexpr,
    BLOCK: tl.constexpr,
):
    """Histogram of the pixel pairs ``target * C + pred``, bad labels in a bin of their own.

    Bins ``0 .. C*C - 1`` count the pairs; bin ``C*C`` the ignored pixels (and the
    tail); bin ``C*C + 1`` the pixels not ignored with a label outside ``[0, C)``.
    Program ``i`` of ``P`` reads blocks ``i, i + P, ...`` (``step = P * BLOCK``,
    ``iters = ceil(n / step)`` rounds),
    histograms each block in registers and adds its ``NB`` counts to ``out`` (int64)
    once, at the end.
    """
    first = tl.program_id(0).to(tl.int64) * BLOCK
    acc = tl.zeros([NB], dtype=tl.int32)
    for i in range(iters):  # offsets in int64: no wrap near 2**31 pixels
        offs = first + i * step.to(tl.int64) + tl.arange(0, BLOCK)
        inside = offs < n
        t = tl.load(t_ptr + offs, mask=inside, other=0)
        p = tl.load(p_ptr + offs, mask=inside, other=0)
        valid = (t >= 0) & (t < C) & (p >= 0) & (p < C)
        key = tl.where(valid, t.to(tl.int32) * C + p.to(tl.int32), C * C + 1)
        if HAS_IGNORE:
            key = tl.where(t == ignore, C * C, key)
        key = tl.where(inside, key, C * C)
        acc += tl.histogram(key, NB)
    tl.atomic_add(out_ptr + tl.arange(0, NB), acc.to(tl.int64))


@triton.jit
def _log1p_neg(s):
    """``log(1 - s)`` to full relative precision for small ``s`` (Goldberg: no ``log1p``).

    0 where ``s == 1`` (its term ``(1 - s) log(1 - s)`` is 0, as ``0 log 0`` is).
    """
    u = 1.0 - s
    safe = tl.where((u == 1.0) | (u <= 0.0), 0.5, u)
    return tl.where(u == 1.0, -s, tl.where(u > 0.0, tl.log(safe) * (-s / (safe - 1.0)), 0.0))


@triton.jit
def _box_score(s, SCORE: tl.constexpr, NORMALIZE: tl.constexpr):
    q = 1.0 - s
    if SCORE == 0:  # binary entropy (nats); 0 log 0 = 0
        logp = tl.log(tl.where(s > 0.0, s, 1.0))
        u = -(s * logp + q * _log1p_neg(s))
        if NORMALIZE:
            u = u / 0.6931471805599453
    elif SCORE == 1:  # margin |2s - 1|
        u = tl.abs(2.0 * s - 1.0)
    elif SCORE == 2:  # least confidence min(s, 1 - s), x2 normalised
        u = tl.minimum(s, q)
        if NORMALIZE:
            u = u * 2.0
    elif SCORE == 3:  # ratio min / max
        u = tl.minimum(s, q) / tl.maximum(s, q)
    else:  # the score itself
        u = s
    return u


@triton.jit
def binary_frame_scores_kernel(
    s_ptr,
    start_ptr,
    len_ptr,
    out_ptr,
    empty_ptr,
    num_frames,
    n,
    SCORE: tl.constexpr,
    REDUCE: tl.constexpr,
    NORMALIZE: tl.constexpr,
    BOXES: tl.constexpr,
    BLOCK_F: tl.constexpr,
    BLOCK_B: tl.constexpr,
):
    """Per-frame reduction of per-box binary scores, frames stored one after another.

    Each program takes ``BLOCK_F`` frames and walks their boxes ``BLOCK_B`` at a time:
    box scores are read once, scored in registers and reduced; only the per-frame
    value is written. ``BOXES > 0``: every frame has ``BOXES`` boxes (a constant, so
    row starts are known multiples of it and loads vectorise); ``BOXES == 0``: frame
    ``f``'s boxes start at ``start[f]`` and number ``len[f]``. A frame without boxes
    gets ``empty_ptr[0]`` (read in the output's dtype, exactly).
    """
    pid = tl.program_id(0)
    f = pid.to(tl.int64) * BLOCK_F + tl.arange(0, BLOCK_F)
    inside = f < num_frames
    if BOXES > 0:
        start = f * BOXES
        length = tl.where(inside, BOXES, 0).to(tl.int64)
    else:
        start = tl.load(start_ptr + f, mask=inside, other=0)
        length = tl.load(len_ptr + f, mask=inside, other=0)
    if REDUCE == 0:
        acc = tl.full([BLOCK_F], float("inf"), tl.float32)
    elif REDUCE == 1:
        acc = tl.full([BLOCK_F], float("-inf"), tl.float32)
    else:
        acc = tl.zeros([BLOCK_F], tl.float32)
    acc = acc.to(s_ptr.dtype.element_ty)
    longest = tl.max(length, axis=0)
    for j in range(0, longest, BLOCK_B):
        col = j + tl.arange(0, BLOCK_B)
        at = start[:, None] + col[None, :]
        # lengths past N, or negative (callers' error), read nothing
        m = (col[None, :] < length[:, None]) & (at < n) & (at >= 0)
        s = tl.load(s_ptr + at, mask=m, other=0.5)
        u = _box_score(s, SCORE, NORMALIZE)
        if REDUCE == 0:
            acc = tl.minimum(acc, tl.min(tl.where(m, u, float("inf")), axis=1))
        elif REDUCE == 1:
            acc = tl.maximum(acc, tl.max(tl.where(m, u, float("-inf")), axis=1))
        else:
            acc = acc + tl.sum(tl.where(m, u, 0.0), axis=1)
    if REDUCE == 3:
        acc = acc / tl.maximum(length, 1).to(acc.dtype)
    acc = tl.where(length <= 0, tl.load(empty_ptr), acc)
    tl.store(out_ptr + f, acc, mask=inside)


@triton.jit
def nearest_update_kernel(
    x_ptr,
    c_ptr,
    dist_ptr,
    n,
    d,
    stride,
    FP32: tl.constexpr,
    BLOCK_N: tl.constexpr,
    BLOCK_D: tl.constexpr,
):
    """``dist = min(dist, |x - c|)`` for ``BLOCK_N`` rows per program, one read of ``x``.

    ``|x - c|`` is the square root (correctly rounded) of the sum of the squared
    differences, accumulated in ``x``'s dtype over ``BLOCK_D`` columns at a time.
    """
    rows = tl.program_id(0).to(tl.int64) * BLOCK_N + tl.arange(0, BLOCK_N)
    inside = rows < n
    acc = tl.zeros([BLOCK_N], dtype=x_ptr.dtype.element_ty)
    for j in range(0, d, BLOCK_D):
        cols = j + tl.arange(0, BLOCK_D)
        in_cols = cols < d
        c = tl.load(c_ptr + cols, mask=in_cols, other=0.0)
        xs = tl.load(
            x_ptr + rows[:, None] * stride + cols[None, :],
            mask=inside[:, None] & in_cols[None, :],
            other=0.0,
        )
        diff = xs - c[None, :]
        acc += tl.sum(diff * diff, axis=1)
    if FP32:  # noqa: SIM108 - a constexpr branch: sqrt_rn takes float32 only
        near = tl.sqrt_rn(acc)
    else:
        near = tl.sqrt(acc)  # float64: PTX has only the correctly rounded square root
    old = tl.load(dist_ptr + rows, mask=inside, other=0.0)
    tl.store(dist_ptr + rows, tl.minimum(old, near), mask=inside)
