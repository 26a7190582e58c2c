"""``assay.SemanticSegmentationMetrics`` against ``evaluate_semantic``, torchmetrics, sklearn.

The streaming metric and the offline evaluator share their counting stage, so the
parity tests here are about what the metric adds: batches summed in any order and
size, logits, ignore_index, the torchmetrics machinery (reset, forward, state_dict,
``.to``, pickling), the log_dict layout and bad input. torchmetrics'
``MulticlassJaccardIndex`` / ``MulticlassAccuracy`` (float32) and scikit-learn are
independent oracles; torchmetrics' ``MeanIoU`` is not one (it averages per image and
gives -1 to absent classes).
"""

from __future__ import annotations

import math
import pickle
import warnings

import assay
import numpy as np
import pytest
import torch
from assay.engine.streaming import SemanticSegmentationMetrics

skm = pytest.importorskip("sklearn.metrics")
tmc = pytest.importorskip("torchmetrics.classification")

C = 5
IGNORE = 255


def _batches(
    seed: int, sizes: tuple[int, ...] = (3, 1, 4, 2), absent: int | None = 4
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(preds, target) batches of blocky (N, 12, 10) maps; ``absent`` never appears."""
    g = torch.Generator().manual_seed(seed)
    hi = C if absent is None else absent
    out = []
    for n in sizes:
        blocks = torch.randint(0, hi, (n, 3, 5), generator=g)
        target = blocks.repeat_interleave(4, 1).repeat_interleave(2, 2)
        target[:, :2, :3] = IGNORE
        noise = torch.randint(0, hi, target.shape, generator=g)
        preds = torch.where(torch.rand(target.shape, generator=g) < 0.7, target, noise)
        out.append((torch.where(preds == IGNORE, 0, preds), target))
    return out


def _all(batches: list[tuple[torch.Tensor, torch.Tensor]]) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.cat([p for p, _ in batches]), torch.cat([t for _, t in batches])


def _expected(result: assay.SemanticResult, per_class: bool = True) -> dict[str, float]:
    out: dict[str, float] = {}
    for key in ("miou", "mean_dice", "pixel_accuracy", "mean_class_accuracy",
                "frequency_weighted_iou"):
        value = getattr(result, key)
        if value is not None:
            out[key] = value
    if per_class:
        first = 1 if result.protocol == "valor-lite" else 0
        for key in ("iou", "dice", "precision", "recall"):
            for c in range(first, result.num_classes):
                out[f"{key}/{result.class_names[c]}"] = float(getattr(result, key)[c])
    return out


def _assert_equal(got: dict[str, torch.Tensor], expected: dict[str, float]) -> None:
    assert list(got) == list(expected)
    for key, value in expected.items():
        g = got[key]
        assert g.ndim == 0 and g.dtype == torch.float64, key
        x = float(g)
        assert (math.isnan(x) and math.isnan(value)) or x == value, (key, x, value)


# ----------------------------------------------------------------- parity


@pytest.mark.parametrize("protocol", ["standard", "valor-lite"])
def test_many_batches_equal_evaluate_semantic_on_all(device: str, protocol: str) -> None:
    batches = _batches(0)
    metric = SemanticSegmentationMetrics(C, IGNORE, protocol=protocol).to(device)  # type: ignore[arg-type]
    for p, t in batches:
        metric.update(p.to(device), t.to(device))
    preds, target = _all(batches)
    expected = assay.evaluate_semantic(target, preds, C, IGNORE, protocol=protocol)  # type: ignore[arg-type]
    got = metric.compute()
    assert all(v.device == metric.device for v in got.values())
    _assert_equal(got, _expected(expected))
    assert math.isnan(float(got["iou/4"])) if protocol == "standard" else float(got["iou/4"]) == 0
    np.testing.assert_array_equal(metric.confmat.cpu().numpy(), expected.confusion_matrix)


def test_one_batch_equals_many_and_order_does_not_matter() -> None:
    batches = _batches(1)
    one = SemanticSegmentationMetrics(C, IGNORE)
    one.update(*_all(batches))
    many = SemanticSegmentationMetrics(C, IGNORE)
    for p, t in reversed(batches):
        many.update(p, t)
    assert torch.equal(one.confmat, many.confmat)
    _assert_equal(many.compute(), {k: float(v) for k, v in one.compute().items()})


def test_against_sklearn_and_torchmetrics() -> None:
    batches = _batches(2, absent=None)  # every class present: the averages agree
    preds, target = _all(batches)
    metric = SemanticSegmentationMetrics(C, IGNORE)
    for p, t in batches:
        metric.update(p, t)
    got = metric.compute()
    keep = (target != IGNORE).numpy().ravel()
    t_np, p_np = target.numpy().ravel()[keep], preds.numpy().ravel()[keep]
    iou = skm.jaccard_score(t_np, p_np, average=None, labels=range(C))
    assert got["miou"].item() == pytest.approx(iou.mean(), rel=1e-12)
    assert got["pixel_accuracy"].item() == pytest.approx(skm.accuracy_score(t_np, p_np), rel=1e-12)
    assert got["mean_class_accuracy"].item() == pytest.approx(
        skm.balanced_accuracy_score(t_np, p_np), rel=1e-12
    )
    dice = skm.f1_score(t_np, p_np, average=None, labels=range(C))
    for c in range(C):
        assert got[f"iou/{c}"].item() == pytest.approx(iou[c], rel=1e-12)
        assert got[f"dice/{c}"].item() == pytest.approx(dice[c], rel=1e-12)
    tm = {
        "miou": tmc.MulticlassJaccardIndex(C, ignore_index=IGNORE),
        "pixel_accuracy": tmc.MulticlassAccuracy(C, average="micro", ignore_index=IGNORE),
        "mean_class_accuracy": tmc.MulticlassAccuracy(C, average="macro", ignore_index=IGNORE),
    }
    for key, m in tm.items():
        for p, t in batches:
            m.update(p, t)
        torch.testing.assert_close(got[key].float(), m.compute(), rtol=1e-6, atol=0)
    per = tmc.MulticlassJaccardIndex(C, ignore_index=IGNORE, average="none")(preds, target)
    torch.testing.assert_close(
        torch.stack([got[f"iou/{c}"] for c in range(C)]).float(), per, rtol=1e-6, atol=0
    )


def test_absent_class_left_out_like_torchmetrics() -> None:
    preds, target = _all(_batches(3))  # class 4 absent from target and preds
    got = SemanticSegmentationMetrics(C, IGNORE)(preds, target)
    tm = tmc.MulticlassJaccardIndex(C, ignore_index=IGNORE)(preds, target)
    torch.testing.assert_close(got["miou"].float(), tm, rtol=1e-6, atol=0)
    assert math.isnan(got["iou/4"].item()) and math.isnan(got["precision/4"].item())


def test_logits_are_argmaxed_ties_to_lower_class() -> None:
    batches = _batches(4)
    metric = SemanticSegmentationMetrics(C, IGNORE)
    labels = SemanticSegmentationMetrics(C, IGNORE)
    for p, t in batches:
        logits = torch.nn.functional.one_hot(p, C).permute(0, 3, 1, 2).float()
        logits[:, 0] += (p == 3).float()  # a tie between class 0 and 3: argmax gives 0
        metric.update(logits, t)
        labels.update(torch.where(p == 3, 0, p), t)
    assert torch.equal(metric.confmat, labels.confmat)
    single = SemanticSegmentationMetrics(C, IGNORE)
    p, t = batches[0]
    single.update(torch.nn.functional.one_hot(p[0], C).permute(2, 0, 1).double(), t[0])
    ref = SemanticSegmentationMetrics(C, IGNORE)
    ref.update(p[0], t[0])
    assert torch.equal(single.confmat, ref.confmat) and int(ref.confmat.sum()) > 0


def test_single_map_uint8_and_numpy_inputs() -> None:
    p, t = _batches(5)[0]
    ref = SemanticSegmentationMetrics(C, IGNORE)
    ref.update(p, t)
    metric = SemanticSegmentationMetrics(C, IGNORE)
    for i in range(p.shape[0]):  # (H, W) maps, uint8 and numpy
        metric.update(p[i].to(torch.uint8).numpy(), t[i].to(torch.uint8))
    assert torch.equal(metric.confmat, ref.confmat)


def test_uniform_and_perfect_maps() -> None:
    t = torch.full((2, 4, 4), 2)
    out = SemanticSegmentationMetrics(3)(t, t)
    assert out["miou"].item() == 1.0 and out["pixel_accuracy"].item() == 1.0
    assert math.isnan(out["iou/0"].item()) and out["iou/2"].item() == 1.0


def test_empty_batch_and_no_update() -> None:
    metric = SemanticSegmentationMetrics(C, IGNORE)
    metric.update(torch.zeros(0, 4, 4, dtype=torch.long), torch.zeros(0, 4, 4, dtype=torch.long))
    assert int(metric.confmat.sum()) == 0
    out = metric.compute()
    assert all(math.isnan(v.item()) for v in out.values())
    with pytest.warns(UserWarning, match="before the ``update``"):
        SemanticSegmentationMetrics(C).compute()


def test_validate_args_false_same_numbers() -> None:
    batches = _batches(6)
    a, b = SemanticSegmentationMetrics(C, IGNORE), SemanticSegmentationMetrics(
        C, IGNORE, validate_args=False
    )
    for p, t in batches:
        a.update(p, t)
        b.update(p, t)
    assert torch.equal(a.confmat, b.confmat)


def _dropped_reference(target: torch.Tensor, preds: torch.Tensor, c: int, ignore: int | None):
    """Confusion of the pixels with target and prediction in [0, c), target not ignored."""
    cm = np.zeros((c, c), np.int64)
    for t, p in zip(target.reshape(-1).tolist(), preds.reshape(-1).tolist(), strict=True):
        if t != ignore and 0 <= t < c and 0 <= p < c:
            cm[t, p] += 1
    return cm


@pytest.mark.parametrize("device_path", [False, True], ids=["cpu", "device_emulated"])
@pytest.mark.parametrize("ignore", [None, IGNORE, 1])
def test_validate_args_false_drops_out_of_range_labels(
    monkeypatch: pytest.MonkeyPatch, device_path: bool, ignore: int | None
) -> None:
    # device_emulated: the kernel takes its device branch on the CPU (no value read)
    if device_path:
        from assay.kernels import segmentation

        monkeypatch.setattr(segmentation, "reads_values", lambda *xs: False)
    g = torch.Generator().manual_seed(3)
    metric = SemanticSegmentationMetrics(C, ignore, validate_args=False)
    want = np.zeros((C, C), np.int64)
    for dtype in (torch.int64, torch.int32, torch.int16, torch.uint8):
        target = torch.randint(-4, 2 * C, (2, 6, 7), generator=g)
        preds = torch.randint(-3, C + 3, (2, 6, 7), generator=g)
        target[0, :2] = IGNORE
        if dtype == torch.uint8:  # no negative values
            target, preds = target.abs(), preds.abs()
        target, preds = target.to(dtype), preds.to(dtype)
        metric.update(preds, target)
        want += _dropped_reference(target, preds, C, ignore)
    np.testing.assert_array_equal(metric.confmat.numpy(), want)
    assert 0 < int(metric.confmat.sum()) < 4 * 2 * 6 * 7


def test_max_over_classes_takes_argmax_labels_on_ties() -> None:
    # max(dim) gives the maxima and argmax's indexes: the first maximum on ties
    g = torch.Generator().manual_seed(8)
    for dtype in (torch.float16, torch.float32, torch.float64):
        scores = torch.randint(0, 3, (3, C, 6, 7), generator=g).to(dtype)  # many ties
        scores[0, :, 0, 0] = float("inf")  # a tie of infinities
        scores[1, 2:, 1, 1] = -float("inf")
        target = torch.randint(0, C, (3, 6, 7), generator=g)
        for validate in (True, False):
            metric = SemanticSegmentationMetrics(C, validate_args=validate)
            metric.update(scores, target)
            ref = SemanticSegmentationMetrics(C)
            ref.update(scores.argmax(1), target)
            assert torch.equal(metric.confmat, ref.confmat)
            metric.reset()
            metric.update(scores[1], target[1])  # one (C, H, W) map
            ref.reset()
            ref.update(scores[1].argmax(0), target[1])
            assert torch.equal(metric.confmat, ref.confmat)


def test_per_class_off_and_class_names() -> None:
    p, t = _batches(7)[0]
    names = ["road", "car", "sky", "tree", "boat"]
    out = SemanticSegmentationMetrics(C, IGNORE, class_names=names)(p, t)
    assert "iou/sky" in out and "recall/boat" in out
    short = SemanticSegmentationMetrics(C, IGNORE, per_class=False)(p, t)
    assert list(short) == ["miou", "mean_dice", "pixel_accuracy", "mean_class_accuracy",
                           "frequency_weighted_iou"]
    assert short["miou"].item() == out["miou"].item()


def test_result_equals_evaluate_semantic() -> None:
    batches = _batches(8)
    metric = SemanticSegmentationMetrics(C, IGNORE, protocol="valor-lite")
    for p, t in batches:
        metric.update(p, t)
    preds, target = _all(batches)
    expected = assay.evaluate_semantic(target, preds, C, IGNORE, protocol="valor-lite")
    assert metric.result().to_dict() == expected.to_dict()


# ----------------------------------------------------------- torchmetrics machinery


def test_reset_forgets_everything() -> None:
    batches = _batches(9)
    metric = SemanticSegmentationMetrics(C, IGNORE)
    metric.update(*batches[0])
    first = metric.compute()
    metric.reset()
    assert int(metric.confmat.sum()) == 0
    metric.update(*batches[1])
    fresh = SemanticSegmentationMetrics(C, IGNORE)
    fresh.update(*batches[1])
    _assert_equal(metric.compute(), {k: float(v) for k, v in fresh.compute().items()})
    assert first["miou"].item() != metric.compute()["miou"].item()


def test_forward_returns_batch_value_and_accumulates() -> None:
    batches = _batches(10)
    metric = SemanticSegmentationMetrics(C, IGNORE)
    for p, t in batches:
        batch_out = metric(p, t)
        alone = SemanticSegmentationMetrics(C, IGNORE)(p, t)
        _assert_equal(batch_out, {k: float(v) for k, v in alone.items()})
    preds, target = _all(batches)
    _assert_equal(
        metric.compute(), _expected(assay.evaluate_semantic(target, preds, C, IGNORE))
    )


def test_state_dict_round_trip_and_pickle() -> None:
    batches = _batches(11)
    metric = SemanticSegmentationMetrics(C, IGNORE)
    metric.persistent(True)
    for p, t in batches:
        metric.update(p, t)
    state = metric.state_dict()
    assert torch.equal(state["confmat"], metric.confmat)
    restored = SemanticSegmentationMetrics(C, IGNORE)
    restored.load_state_dict(state)
    assert torch.equal(restored.confmat, metric.confmat)
    clone = pickle.loads(pickle.dumps(metric))
    _assert_equal(clone.compute(), {k: float(v) for k, v in metric.compute().items()})
    assert SemanticSegmentationMetrics(C).state_dict() == {}  # not persistent by default


def test_to_device_moves_state(device: str) -> None:
    metric = SemanticSegmentationMetrics(C).to(device)
    assert metric.confmat.device.type == device and metric.device.type == device
    metric.set_dtype(torch.float64)  # torchmetrics' would cast the counts to float64
    assert metric.confmat.dtype == torch.int64
    metric.reset()
    assert metric.confmat.dtype == torch.int64


def test_works_inside_a_metric_collection() -> None:
    torchmetrics = pytest.importorskip("torchmetrics")
    p, t = _batches(12)[0]
    coll = torchmetrics.MetricCollection(
        {"seg": SemanticSegmentationMetrics(C, IGNORE)}, prefix="val/"
    )
    coll.update(p, t)
    out = coll.compute()  # a collection flattens dict outputs under its prefix
    assert out["val/miou"].item() == SemanticSegmentationMetrics(C, IGNORE)(p, t)["miou"].item()


# ---------------------------------------------------------------- bad input


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match=r"Expected `num_classes` to be an int >= 1, but got 0"):
        SemanticSegmentationMetrics(0)
    with pytest.raises(TypeError, match=r"Expected `num_classes` to be an int"):
        SemanticSegmentationMetrics(2.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"Expected `protocol` to be one of"):
        SemanticSegmentationMetrics(3, protocol="coco")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"Expected `class_names` to have num_classes=3"):
        SemanticSegmentationMetrics(3, class_names=["a", "b"])


@pytest.mark.parametrize(
    ("preds", "target", "error", "match"),
    [
        (torch.zeros(2, 4, 4, dtype=torch.long), torch.zeros(2, 4, 5, dtype=torch.long),
         ValueError, r"Expected `preds` to have the shape of `target` \(2, 4, 5\), but got \(2, "),
        (torch.zeros(2, 1, 4, 4, dtype=torch.long), torch.zeros(2, 1, 4, 4, dtype=torch.long),
         ValueError, r"Expected `target` to be label maps of shape \(N, H, W\) or \(H, W\)"),
        (torch.zeros(2, 4, 4, 4), torch.zeros(2, 4, 4, dtype=torch.long),
         ValueError, r"Expected `preds` scores to have shape \(N, C, H, W\) = \(2, 5, 4, 4\)"),
        (torch.zeros(2, 4, 4), torch.zeros(2, 4, 4, dtype=torch.long),
         TypeError, r"Expected `preds` to be integer label maps of the shape of `target` or"),
        (torch.zeros(2, 4, 4, dtype=torch.long), torch.zeros(2, 4, 4),
         TypeError, r"Expected `target` to hold integer labels, but got dtype torch.float32"),
        ([[0, 1]], torch.zeros(1, 2, dtype=torch.long),
         TypeError, r"Expected `preds` to be a torch.Tensor or numpy array, but got list"),
    ],
)
def test_bad_shapes_and_types(
    preds: object, target: object, error: type[Exception], match: str
) -> None:
    metric = SemanticSegmentationMetrics(C, IGNORE)
    with pytest.raises(error, match=match):
        metric.update(preds, target)  # type: ignore[arg-type]
    assert int(metric.confmat.sum()) == 0  # nothing counted


def test_labels_out_of_range_name_the_pixel() -> None:
    metric = SemanticSegmentationMetrics(C, IGNORE)
    t = torch.zeros(2, 3, 3, dtype=torch.long)
    t[1, 2, 0] = 7
    with pytest.raises(ValueError, match=r"Expected `target` values in \[0, 5\) or ignore_index "
                                         r"255, but got 7 at index \(1, 2, 0\)"):
        metric.update(torch.zeros_like(t), t)
    p = torch.zeros(2, 3, 3, dtype=torch.long)
    p[0, 1, 1] = 5
    with pytest.raises(ValueError, match=r"Expected `preds` values in \[0, 5\), but got 5 at "
                                         r"index \(0, 1, 1\)"):
        metric.update(p, torch.zeros_like(p))
    with pytest.raises(ValueError, match=r"but got -1 at index \(0, 0, 0\)"):
        metric.update(torch.zeros_like(p), torch.full_like(p, -1))
    assert int(metric.confmat.sum()) == 0


def test_nan_scores_are_refused_not_argmaxed() -> None:
    """argmax picks a NaN score's class: it was counted as that prediction."""
    metric = SemanticSegmentationMetrics(3)
    logits = torch.zeros(2, 3, 2, 2)
    logits[0, 1] = 1.0
    logits[1, 2, 1, 0] = float("nan")
    target = torch.zeros(2, 2, 2, dtype=torch.long)
    with pytest.raises(ValueError, match=r"Expected `preds` scores to hold no NaN, but got NaN "
                                         r"at index \(1, 2, 1, 0\)"):
        metric.update(logits, target)
    with pytest.raises(ValueError, match=r"NaN at index \(2, 1, 0\)"):  # one (C, H, W) map
        metric.update(logits[1], target[1])
    assert int(metric.confmat.sum()) == 0
    logits[1, 2, 1, 0] = float("inf")  # an infinite score is a score: argmax takes it
    metric.update(logits, target)
    assert int(metric.confmat[0, 2]) == 1 and int(metric.confmat[0, 1]) == 4


def test_nan_scores_named_by_their_full_index() -> None:
    # the check reads the (N, H, W) maxima; the error names the first NaN of the
    # (N, C, H, W) scores in C order, not the first pixel whose maximum is NaN
    metric = SemanticSegmentationMetrics(3, validate_args=True)
    logits = torch.zeros(2, 3, 4, 5)
    logits[1, 2, 0, 0] = float("nan")
    logits[1, 1, 3, 4] = float("nan")  # pixel (1, 3, 4) comes later, class 1 comes first
    logits[1, 0, 3, 4] = float("inf")  # NaN propagates past an infinite maximum
    target = torch.zeros(2, 4, 5, dtype=torch.long)
    with pytest.raises(ValueError, match=r"but got NaN at index \(1, 1, 3, 4\)"):
        metric.update(logits, target)
    logits[1, 1, 3, 4] = 0.0
    with pytest.raises(ValueError, match=r"but got NaN at index \(2, 0, 0\)"):
        metric.update(logits[1], target[1])
    assert int(metric.confmat.sum()) == 0


def test_device_mismatch_says_the_fix() -> None:
    metric = SemanticSegmentationMetrics(C)
    meta = torch.zeros(1, 2, 2, dtype=torch.long, device="meta")  # another device, no GPU needed
    with pytest.raises(ValueError, match=r"Expected `preds` on the metric's device cpu, but got "
                                         r"meta; move the metric to the input's device: `metric = "
                                         r"SemanticSegmentationMetrics\(\.\.\.\)\.to\(device\)`"):
        metric.update(meta, torch.zeros(1, 2, 2, dtype=torch.long))
    with pytest.raises(ValueError, match=r"`target` on the metric's device cpu, but got meta.*"
                                         r"`target\.to\(metric\.device\)`"):
        metric.update(torch.zeros(1, 2, 2, dtype=torch.long), meta)


def test_no_warning_in_normal_use() -> None:
    p, t = _batches(13)[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        metric = SemanticSegmentationMetrics(C, IGNORE)
        metric.update(p, t)
        metric.compute()
