"""The shared kernel argument checks (assay.kernels._checks)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from assay.kernels._checks import (
    check_binary,
    check_dtype,
    check_int,
    check_no_nan,
    check_permutation,
    check_range,
    check_same_device,
    check_size,
    check_sorted,
    check_tensor,
    first_item,
    reads_values,
)

T = torch.tensor


def test_check_tensor_type_and_dims():
    with pytest.raises(TypeError, match=r"Expected `x` to be a torch.Tensor, but got list"):
        check_tensor("x", [1, 2], 1)
    with pytest.raises(ValueError, match=r"Expected `x` to have shape 1-D or 2-D, but got \(\)"):
        check_tensor("x", T(1.0), (1, 2))
    assert check_tensor("x", torch.zeros(2, 3), (1, 2)).shape == (2, 3)


@pytest.mark.parametrize(
    ("dtype", "kind", "ok"),
    [
        (torch.int64, "integer", True),
        (torch.uint8, "integer", True),
        (torch.bool, "integer", False),
        (torch.float32, "integer", False),
        (torch.bool, "integer or bool", True),
        (torch.int32, "integer or bool", True),
        (torch.float16, "floating", True),
        (torch.int64, "floating", False),
        (torch.bool, "bool", True),
        (torch.uint8, "bool", False),
    ],
)
def test_check_dtype(dtype, kind, ok):
    x = torch.zeros(2, dtype=dtype)
    if ok:
        check_dtype("x", x, kind)
    else:
        with pytest.raises(TypeError, match=rf"to be .* tensor, but got dtype {dtype}"):
            check_dtype("x", x, kind)


def test_check_size():
    check_size("x", torch.zeros(2, 3), 3, "columns", dim=1)
    with pytest.raises(ValueError, match=r"`x` to hold one per pair \(4\), but got shape \(2, 3\)"):
        check_size("x", torch.zeros(2, 3), 4, "one per pair")


def test_check_int():
    assert check_int("k", np.int32(3)) == 3
    assert check_int("k", 1, minimum=1) == 1
    for bad in (2.0, True, "3", None):
        with pytest.raises(TypeError, match="Expected `k` to be an int"):
            check_int("k", bad)
    with pytest.raises(ValueError, match=r"Expected `k` to be an int >= 1, but got 0"):
        check_int("k", 0, minimum=1)


@pytest.mark.parametrize(
    ("value", "what"),
    [
        (T(2), r"a 0-D torch.int64 Tensor"),
        (T(2.0), r"a 0-D torch.float32 Tensor"),  # gave torch's raw TypeError
        (T([2]), r"a 1-D torch.int64 Tensor"),  # was taken as 2
        (torch.empty((), dtype=torch.long, device="meta"), r"a 0-D torch.int64 Tensor"),
    ],
)
def test_check_int_refuses_tensors(value, what):
    """A tensor is not an int: reading a device tensor's value would be a host sync (and
    its repr would read it too), so the message names the tensor without its values."""
    with pytest.raises(TypeError, match=rf"^Expected `k` to be an int, but got {what}; "
                                        r"pass int\(k\)$"):
        check_int("k", value)


def test_check_int_numpy_and_no_minimum():
    assert check_int("k", np.int64(-3), minimum=None) == -3
    assert check_int("k", np.array(4)) == 4  # a 0-d integer array is an index
    with pytest.raises(ValueError, match=r"`k` to be an int >= 0, but got -3"):
        check_int("k", np.int64(-3))
    for bad, shown in ((np.arange(100), r"ndarray array\(\[ 0,  1\.\.\., 97, 98, 99\]\)$"),
                       (np.float64(2.0), r"float64 np.float64\(2.0\)$"),
                       (np.bool_(True), r"bool np.True_$")):
        with pytest.raises(TypeError, match=rf"`k` to be an int, but got {shown}"):
            check_int("k", bad)


def test_check_range_of_unsigned_dtypes_torch_cannot_compare():
    """uint16 / 32 / 64 have no aminmax or < on the CPU: compared as int64 instead of a
    raw NotImplementedError."""
    for dtype in (torch.uint16, torch.uint32, torch.uint64):
        check_range("x", T([0, 5], dtype=dtype), 0, 6, "ids")
        with pytest.raises(ValueError, match=r"in \[0, 5\), but got 5 \(first .*: x\[1\]\)"):
            check_range("x", T([0, 5], dtype=dtype), 0, 5, "ids")


def test_check_range_names_first_offender_in_nd():
    x = T([[0, 1], [7, -2]])
    with pytest.raises(ValueError, match=r"in \[0, 3\), but got 7 \(first .*: x\[1, 0\]\)"):
        check_range("x", x, 0, 3, "ids")
    with pytest.raises(ValueError, match=r"in \[0, inf\), but got -2 \(first .*: x\[1, 1\]\)"):
        check_range("x", x, 0, None, "ids")
    with pytest.raises(ValueError, match=r"in \[-inf, 5\), but got 7"):
        check_range("x", x, None, 5, "ids")
    check_range("x", x, -2, 8, "ids")
    check_range("x", torch.zeros(0, dtype=torch.long), 0, 0, "ids")


def test_check_range_bounds_beyond_the_dtype_do_not_wrap():
    check_range("x", T([1, 100, 255], dtype=torch.uint8), 0, 300, "ids")
    check_range("x", T([-128, 127], dtype=torch.int8), -200, 128, "ids")
    with pytest.raises(ValueError, match=r"in \[0, 300\), but got -1"):
        check_range("x", T([5, -1], dtype=torch.int8), 0, 300, "ids")
    with pytest.raises(ValueError, match=r"in \[-1000, 2\), but got 7"):
        check_range("x", T([-5, 7], dtype=torch.int8), -1000, 2, "ids")


def test_check_range_reads_bool_as_0_1():
    check_range("x", T([True, False]), 0, 2, "flags")
    with pytest.raises(ValueError, match=r"in \[0, 1\), but got 1 \(first .*: x\[1\]\)"):
        check_range("x", T([False, True]), 0, 1, "flags")


def test_check_no_nan_and_first_item():
    check_no_nan("x", T([1.0, float("inf")]))
    check_no_nan("x", torch.empty(3, device="meta"))
    with pytest.raises(ValueError, match=r"no NaN, but got nan \(first .*: x\[0, 1\]\)"):
        check_no_nan("x", T([[1.0, float("nan")], [float("nan"), 0.0]]))
    assert first_item("x", T([False, True, True])) == (1, "x[1]")


@pytest.mark.parametrize(
    "dtype",
    [torch.bool, torch.uint8, torch.int8, torch.uint16, torch.uint64, torch.int64,
     torch.float16, torch.float32, torch.float64],
)
def test_check_binary_accepts_0_1_of_every_dtype(dtype):
    check_binary("x", T([[0, 1], [1, 0]]).to(dtype), "flags")
    check_binary("x", torch.zeros(0, 2, dtype=dtype), "flags")


@pytest.mark.parametrize(
    ("x", "got", "item"),
    [
        (T([0, 1, 2], dtype=torch.uint16), "2", r"x\[2\]"),  # uint16: no aminmax in torch
        (T([[0, 1], [-1, 1]], dtype=torch.int8), "-1", r"x\[1, 0\]"),
        (T([0.0, 0.5, 1.0]), "0.5", r"x\[1\]"),
        (T([1.0, float("nan")], dtype=torch.float64), "nan", r"x\[1\]"),
        (T([0.0, -1.0]), "-1.0", r"x\[1\]"),
    ],
)
def test_check_binary_names_first_offender(x, got, item):
    with pytest.raises(ValueError, match=rf"`x` to hold flags, but got {got} \(first .*: {item}\)"):
        check_binary("x", x, "flags")
    check_binary("x", x.to("meta"), "flags")  # device values are not read


def test_check_range_refuses_nan():
    with pytest.raises(ValueError, match=r"in \[0, 1\), but got nan \(first .*: x\[1\]\)"):
        check_range("x", T([0.5, float("nan"), 2.0]), 0, 1, "IoUs")
    with pytest.raises(ValueError, match=r"but got nan \(first .*: x\[0\]\)"):
        check_range("x", T([float("nan")]), None, 1, "IoUs")


def test_value_checks_do_not_read_device_tensors():
    # meta tensors have no data: a check that read them would raise
    meta = torch.empty(5, dtype=torch.long, device="meta")
    assert not reads_values(meta)
    check_range("x", meta, 0, 1, "ids")
    check_sorted("x", meta)
    check_permutation("x", meta, 5)
    with pytest.raises(ValueError, match="one index per entry"):
        check_permutation("x", meta, 4)


def test_check_sorted():
    check_sorted("g", T([0, 0, 1, 5]))
    check_sorted("g", T([3]))
    with pytest.raises(ValueError, match=r"got 1 after 2 \(first offending item: g\[3\]\)"):
        check_sorted("g", T([0, 2, 2, 1, 0]))


def test_check_permutation():
    check_permutation("o", T([2, 0, 1]), 3)
    check_permutation("o", torch.zeros(0, dtype=torch.long), 0)
    with pytest.raises(ValueError, match=r"got 1 more than once \(first offending item: o\[0\]\)"):
        check_permutation("o", T([1, 2, 1, 2]), 4)
    with pytest.raises(ValueError, match=r"in \[0, 3\), but got 3"):
        check_permutation("o", T([0, 1, 3]), 3)
    with pytest.raises(ValueError, match=r"one index per entry \(3\), but got shape \(2,\)"):
        check_permutation("o", T([0, 1]), 3)


def test_check_same_device():
    check_same_device(a=torch.zeros(1), b=torch.zeros(1))
    with pytest.raises(ValueError, match=r"`b` on the device of `a` \(cpu\), but got meta"):
        check_same_device(a=torch.zeros(1), b=torch.empty(1, device="meta"))


def test_check_range_closed_upper_bound():
    check_range("p", T([0.0, 1.0]), 0, 1, "probabilities", high_closed=True)
    check_range("x", T([0, 255], dtype=torch.uint8), 0, 255, "ids", high_closed=True)
    with pytest.raises(ValueError, match=r"in \[0, 1\], but got 1.5 \(first .*: p\[1\]\)"):
        check_range("p", T([0.0, 1.5]), 0, 1, "probabilities", high_closed=True)
    with pytest.raises(ValueError, match=r"in \[0, 1\], but got nan"):
        check_range("p", T([float("nan")]), 0, 1, "probabilities", high_closed=True)
    with pytest.raises(ValueError, match=r"in \[0, 1\), but got 1.0"):
        check_range("p", T([0.0, 1.0]), 0, 1, "probabilities")


def test_check_sorted_strict():
    check_sorted("d", T([0, 1, 5]), "strictly increasing", strict=True)
    check_sorted("d", T([0, 1, 1]))
    with pytest.raises(ValueError, match=r"increasing, but got 1 after 1 \(first .*: d\[2\]\)"):
        check_sorted("d", T([0, 1, 1]), "strictly increasing", strict=True)
