"""Semantic segmentation: kernels and ``assay.evaluate_semantic`` against other tools.

Oracles: scikit-learn (confusion_matrix, jaccard / f1 / precision / recall,
accuracy, balanced accuracy), torchmetrics (MulticlassJaccardIndex), valor-lite's
own semantic-segmentation evaluator, hotcoco's SemanticEval (mmsegmentation
conventions, when installed) and hand-worked cases. Kernel tests run on CPU and CUDA.

Textbook case (3 classes; class 2 never appears)::

    confusion (rows = target)   IoU_0 = 9 / (14 + 12 - 9) = 9 / 17
        [[9, 5, 0],             IoU_1 = 7 / (10 + 12 - 7) = 7 / 15
         [3, 7, 0],             IoU_2 = 0 / 0             -> NaN, left out
         [0, 0, 0]]             mIoU  = (9/17 + 7/15) / 2   ("standard")

    valor-lite reads class 0 as background: IoU_1 = 7/15, IoU_2 = 0 (declared but
    absent counts 0), mIoU = (7/15 + 0) / 2 = 7/30; accuracy = 16 / 24.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import warnings
from typing import Any

import assay
import assay.kernels.segmentation as Seg
import numpy as np
import pydantic
import pytest
import torch
from assay.engine.evaluation import SemanticResult
from assay.kernels.segmentation import (
    confusion_dice,
    confusion_iou,
    confusion_precision,
    confusion_recall,
    pixel_confusion_matrix,
    semantic_scores,
    valor_lite_semantic_scores,
)

skm = pytest.importorskip("sklearn.metrics")

TEXTBOOK = np.array([[9, 5, 0], [3, 7, 0], [0, 0, 0]])


def _maps_from_confusion(cm: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Label maps (1, H, W) whose confusion matrix is ``cm`` (pixels shuffled)."""
    t = np.repeat(np.arange(cm.shape[0]), cm.sum(1))
    p = np.concatenate([np.repeat(np.arange(cm.shape[1]), row) for row in cm])
    order = np.random.default_rng(0).permutation(t.size)
    return t[order].reshape(1, *shape), p[order].reshape(1, *shape)


def _random_maps(
    rng: np.random.Generator,
    n: int,
    h: int,
    w: int,
    c: int,
    *,
    absent: tuple[int, ...] = (),
    agree: float = 0.6,
) -> tuple[np.ndarray, np.ndarray]:
    """Blocky target maps and predictions that agree on a share of pixels."""
    present = [k for k in range(c) if k not in absent]
    blocks = rng.choice(present, size=(n, (h + 3) // 4, (w + 3) // 4))
    target = np.repeat(np.repeat(blocks, 4, 1), 4, 2)[:, :h, :w]
    noise = rng.choice(present, size=(n, h, w))
    preds = np.where(rng.random((n, h, w)) < agree, target, noise)
    return target.astype(np.int64), preds.astype(np.int64)


def _sk_confusion(t: np.ndarray, p: np.ndarray, c: int, ignore: int | None = None) -> np.ndarray:
    keep = np.ones(t.shape, bool) if ignore is None else t != ignore
    return skm.confusion_matrix(t[keep], p[keep], labels=np.arange(c))


# ------------------------------------------------------------------------- kernels


# ignore values above the classes (255, 10**6), equal to a class (0, 6) and negative,
# each with every dtype that holds it
@pytest.mark.parametrize(
    ("dtype", "ignore"),
    [
        (dtype, ignore)
        for dtype in (torch.uint8, torch.int16, torch.int32, torch.int64)
        for ignore in (None, 255, 0, 6, -1, 10**6)
        if ignore is None or torch.iinfo(dtype).min <= ignore <= torch.iinfo(dtype).max
    ],
)
def test_confusion_matches_sklearn(device: str, dtype: torch.dtype, ignore: int | None) -> None:
    rng = np.random.default_rng(1)
    c = 7
    t, p = _random_maps(rng, 5, 23, 17, c, absent=(4,))
    if ignore is not None:
        t[rng.random(t.shape) < 0.15] = ignore
        p[rng.random(p.shape) < 0.05] = 6  # predictions on ignored pixels are not read
    tt = torch.as_tensor(t).to(device=device, dtype=dtype)
    pt = torch.as_tensor(p).to(device=device, dtype=dtype)
    cm = pixel_confusion_matrix(tt, pt, c, ignore)
    assert cm.device.type == torch.device(device).type and cm.dtype == torch.int64
    np.testing.assert_array_equal(cm.cpu().numpy(), _sk_confusion(t, p, c, ignore))


@pytest.mark.parametrize("ignore", [0, 2, 255])
def test_predictions_on_ignored_pixels_are_never_read(device: str, ignore: int) -> None:
    # Any value, even negative or beyond the key dtype, where the target is ignored.
    t = torch.tensor([[[0, 1, 2, ignore, ignore, ignore]]], device=device)
    t[t == ignore] = ignore
    p = torch.tensor([[[0, 1, 2, -1, 255, 2**40]]], device=device)
    keep = t != ignore
    p_ok = torch.where(keep, p, torch.zeros_like(p))
    want = _sk_confusion(t.cpu().numpy(), p_ok.cpu().numpy(), 3, ignore)
    np.testing.assert_array_equal(pixel_confusion_matrix(t, p, 3, ignore).cpu().numpy(), want)
    got = assay.evaluate_semantic(t, p, 3, ignore_index=ignore)
    np.testing.assert_array_equal(np.asarray(got.confusion_matrix), want)


@pytest.mark.parametrize("fused", [False, True])
def test_pair_keys_in_both_forms(device: str, fused: bool) -> None:
    # The CPU casts first, devices add into a narrow `out` in one pass; both forms are
    # checked on every device, with narrow and mixed dtypes whose sum overflows them.
    make = Seg._pair_keys_fused if fused else Seg._pair_keys_cast_first
    rng = np.random.default_rng(3)
    for t_dtype, p_dtype, c, rows in (
        (torch.uint8, torch.uint8, 21, 256),  # 255 * 21 + 20 overflows uint8
        (torch.int64, torch.int64, 21, 256),
        (torch.uint8, torch.int64, 21, 256),
        (torch.int16, torch.uint8, 300, 300),  # int32 keys
        (torch.bool, torch.bool, 2, 2),
        (torch.int32, torch.bool, 2, 40),
    ):
        hi_p = 2 if p_dtype == torch.bool else c
        t = torch.as_tensor(rng.integers(0, rows, (3, 7, 5)), device=device).to(t_dtype)
        p = torch.as_tensor(rng.integers(0, hi_p, (3, 7, 5)), device=device).to(p_dtype)
        dtype = Seg._key_dtype(rows * c)
        before = t.clone()
        key = make(t, p, c, dtype)
        assert key.dtype == dtype and key.shape == (t.numel(),)
        np.testing.assert_array_equal(
            key.cpu().numpy(), (t.long() * c + p.long()).reshape(-1).cpu().numpy()
        )
        assert torch.equal(t, before)  # the inputs are never written


def test_confusion_large_class_count(device: str) -> None:
    # C * C beyond int16 keys (C = 300 -> 90,000 bins) still counts exactly.
    rng = np.random.default_rng(2)
    c = 300
    t = rng.integers(0, c, (2, 40, 40))
    p = rng.integers(0, c, (2, 40, 40))
    cm = pixel_confusion_matrix(
        torch.as_tensor(t, device=device), torch.as_tensor(p, device=device), c
    )
    np.testing.assert_array_equal(cm.cpu().numpy(), _sk_confusion(t, p, c))


def test_confusion_empty_and_single_class(device: str) -> None:
    empty = torch.zeros(0, 5, 5, dtype=torch.int64, device=device)
    cm = pixel_confusion_matrix(empty, empty, 4, 255)
    assert cm.shape == (4, 4) and cm.device.type == torch.device(device).type
    assert int(cm.sum()) == 0
    one = torch.zeros(2, 3, 3, dtype=torch.int64, device=device)
    assert pixel_confusion_matrix(one, one, 1).tolist() == [[18]]


def test_confusion_all_ignored(device: str) -> None:
    t = torch.full((2, 4, 4), 255, device=device)
    p = torch.zeros_like(t)
    assert int(pixel_confusion_matrix(t, p, 3, 255).sum()) == 0


def test_scores_match_sklearn(device: str) -> None:
    rng = np.random.default_rng(3)
    c = 6
    t, p = _random_maps(rng, 4, 20, 20, c, absent=(2,))
    p[p == 5] = 0  # class 5 is in the target, never predicted
    yt, yp = t.ravel(), p.ravel()
    labels = np.arange(c)
    cm = torch.as_tensor(_sk_confusion(t, p, c), device=device)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sk_iou = skm.jaccard_score(yt, yp, labels=labels, average=None, zero_division=0)
        sk_miou = skm.jaccard_score(yt, yp, average="macro")  # labels present in either
        sk = {
            name: f(yt, yp, labels=labels, average=None, zero_division=np.nan)
            for name, f in (
                ("f1", skm.f1_score),
                ("precision", skm.precision_score),
                ("recall", skm.recall_score),
            )
        }
        sk_bal = skm.balanced_accuracy_score(yt, yp)
    iou = confusion_iou(cm).cpu().numpy()
    assert np.isnan(iou[2]) and not np.isnan(np.delete(iou, 2)).any()
    np.testing.assert_allclose(np.delete(iou, 2), np.delete(sk_iou, 2), rtol=0, atol=1e-15)
    np.testing.assert_allclose(confusion_dice(cm).cpu().numpy(), sk["f1"], rtol=0, atol=1e-15)
    prec = confusion_precision(cm).cpu().numpy()
    np.testing.assert_allclose(prec, sk["precision"], rtol=0, atol=1e-15)
    assert np.isnan(prec[[2, 5]]).all()
    np.testing.assert_allclose(confusion_recall(cm).cpu().numpy(), sk["recall"], atol=1e-15)
    s = semantic_scores(cm)
    assert s.miou.device.type == torch.device(device).type
    assert float(s.miou) == pytest.approx(sk_miou, abs=1e-15)
    assert float(s.pixel_accuracy) == pytest.approx(skm.accuracy_score(yt, yp), abs=1e-15)
    assert float(s.mean_class_accuracy) == pytest.approx(sk_bal, abs=1e-15)
    # frequency-weighted IoU (Long et al., FCN): sum_c support_c * IoU_c / pixels
    support = np.bincount(yt, minlength=c)
    fw = float(np.sum(support * np.nan_to_num(sk_iou)) / support.sum())
    assert float(s.frequency_weighted_iou) == pytest.approx(fw, abs=1e-15)
    assert float(s.mean_dice) == pytest.approx(np.nanmean(sk["f1"]), abs=1e-15)


def test_scores_empty_confusion(device: str) -> None:
    s = semantic_scores(torch.zeros(3, 3, dtype=torch.int64, device=device))
    assert all(math.isnan(float(v)) for v in (s.miou, s.pixel_accuracy, s.frequency_weighted_iou))
    v = valor_lite_semantic_scores(torch.zeros(3, 3, dtype=torch.int64, device=device))
    assert float(v.accuracy) == 0.0 and float(v.miou) == 0.0
    v1 = valor_lite_semantic_scores(torch.tensor([[4]], device=device))  # background only
    assert v1.iou.shape == (0,) and v1.iou_matrix.shape == (0, 0) and float(v1.miou) == 0.0
    assert float(v1.accuracy) == 1.0


# ------------------------------------------------------------------------- textbook


def test_textbook_miou_standard_excludes_absent_class() -> None:
    t, p = _maps_from_confusion(TEXTBOOK, (4, 6))
    r = assay.evaluate_semantic(t, p, num_classes=3)
    np.testing.assert_array_equal(r.confusion_matrix, TEXTBOOK)
    assert r.miou == (9 / 17 + 7 / 15) / 2
    assert r.iou[0] == 9 / 17 and r.iou[1] == 7 / 15 and math.isnan(r.iou[2])
    assert r.pixel_accuracy == 16 / 24
    assert r.precision[0] == 9 / 12 and r.recall[0] == 9 / 14
    assert r.dice[1] == 2 * 7 / (10 + 12)
    assert r.mean_class_accuracy == (9 / 14 + 7 / 10) / 2
    assert r.frequency_weighted_iou == pytest.approx((14 * 9 / 17 + 10 * 7 / 15) / 24, abs=1e-15)


def test_textbook_valor_lite_counts_absent_class_as_zero() -> None:
    t, p = _maps_from_confusion(TEXTBOOK, (4, 6))
    r = assay.evaluate_semantic(t, p, 3, protocol="valor-lite")
    assert math.isnan(r.iou[0])  # background has no metric of its own
    assert r.iou[1] == 7 / 15 and r.iou[2] == 0.0
    assert r.miou == (7 / 15 + 0.0) / 2
    assert r.pixel_accuracy == 16 / 24
    assert r.precision[1] == 7 / 12 and r.recall[1] == 7 / 10
    assert r.unmatched_ground_truth_ratio is not None
    assert r.unmatched_ground_truth_ratio.tolist() == [3 / 10, 0.0]
    assert r.unmatched_prediction_ratio is not None
    assert r.unmatched_prediction_ratio.tolist() == [5 / 12, 0.0]
    assert r.mean_class_accuracy is None and r.frequency_weighted_iou is None


# ------------------------------------------------------------------------- evaluate_semantic


@pytest.mark.parametrize("seed", range(4))
def test_evaluate_semantic_vs_sklearn_with_ignore(device: str, seed: int) -> None:
    rng = np.random.default_rng(10 + seed)
    c = int(rng.integers(2, 9))
    t, p = _random_maps(rng, 3, 16, 21, c, absent=(c - 1,) if seed % 2 else ())
    t[rng.random(t.shape) < 0.1] = 255
    r = assay.evaluate_semantic(
        torch.as_tensor(t, device=device), torch.as_tensor(p, device=device), c, 255
    )
    keep = t != 255
    yt, yp = t[keep], p[keep]
    np.testing.assert_array_equal(r.confusion_matrix, _sk_confusion(t, p, c, 255))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert r.miou == pytest.approx(skm.jaccard_score(yt, yp, average="macro"), abs=1e-15)
        rec = skm.recall_score(yt, yp, labels=np.arange(c), average=None, zero_division=np.nan)
    np.testing.assert_allclose(r.recall, rec, rtol=0, atol=1e-15)
    assert r.pixel_accuracy == pytest.approx(skm.accuracy_score(yt, yp), abs=1e-15)


def test_single_class() -> None:
    t = np.zeros((2, 5, 5), np.int64)
    r = assay.evaluate_semantic(t, t, 1)
    assert r.iou.tolist() == [1.0] and r.miou == 1.0 and r.pixel_accuracy == 1.0
    rv = assay.evaluate_semantic(t, t, 1, protocol="valor-lite", class_names=["background"])
    assert rv.miou == 0.0 and rv.pixel_accuracy == 1.0  # valor-lite: no foreground label
    # valor-lite leaves the per-label types out (they were empty lists here)
    assert sorted(rv.valor_lite_metrics()) == ["Accuracy", "ConfusionMatrix", "mIOU"]
    _assert_same_metrics(rv.valor_lite_metrics(), _valor_lite_metrics(t, t, ["background"]))


def test_classes_never_present_standard_is_nan() -> None:
    rng = np.random.default_rng(5)
    t, p = _random_maps(rng, 2, 8, 8, 5, absent=(1, 3))
    r = assay.evaluate_semantic(t, p, 5)
    assert np.isnan(r.iou[[1, 3]]).all() and np.isnan(r.dice[[1, 3]]).all()
    assert r.miou == pytest.approx(np.mean(r.iou[[0, 2, 4]]), abs=1e-15)
    d = r.to_dict()
    assert d["iou"][1] is None and d["iou"][3] is None
    json.dumps(d)  # NaN-free


def test_torchmetrics_jaccard_parity() -> None:
    tm = pytest.importorskip("torchmetrics.classification")
    rng = np.random.default_rng(6)
    c = 5
    t, p = _random_maps(rng, 3, 12, 12, c, absent=(3,))
    t[rng.random(t.shape) < 0.1] = 255
    tt, pt = torch.as_tensor(t), torch.as_tensor(p)
    r = assay.evaluate_semantic(tt, pt, c, 255)
    for average, ours in (("macro", r.miou), ("none", None)):
        metric = tm.MulticlassJaccardIndex(c, average=average, ignore_index=255)
        metric.update(pt, tt)
        value = metric.compute().double().numpy()
        if ours is not None:
            assert ours == pytest.approx(float(value), abs=1e-6)  # torchmetrics is float32
        else:  # torchmetrics writes 0 for the absent class where assay has NaN
            np.testing.assert_allclose(np.nan_to_num(r.iou), value, rtol=0, atol=1e-6)


def test_hotcoco_semantic_parity() -> None:
    semantic = pytest.importorskip("hotcoco.semantic")
    rng = np.random.default_rng(7)
    c = 6
    t, p = _random_maps(rng, 3, 16, 16, c, absent=(2,))
    t[rng.random(t.shape) < 0.1] = 255
    ev = semantic.SemanticEval(c)
    ev.update(t, p)
    ref = ev.results()
    r = assay.evaluate_semantic(t, p, c, 255)
    np.testing.assert_array_equal(np.asarray(ev.confusion()), r.confusion_matrix)
    assert r.miou == pytest.approx(ref["mIoU"], abs=1e-15)
    assert r.frequency_weighted_iou == pytest.approx(ref["fwIoU"], abs=1e-15)
    assert r.mean_class_accuracy == pytest.approx(ref["mAcc"], abs=1e-15)
    assert r.pixel_accuracy == pytest.approx(ref["aAcc"], abs=1e-15)


# ------------------------------------------------------------------------- streaming


def test_streaming_equals_one_shot() -> None:
    rng = np.random.default_rng(8)
    c = 5
    t, p = _random_maps(rng, 7, 10, 13, c)
    t[rng.random(t.shape) < 0.1] = 255
    once = assay.evaluate_semantic(t, p, c, 255)
    acc = assay.SemanticAccumulator(c, 255)
    for i in range(0, 7, 3):
        acc.update(t[i : i + 3], p[i : i + 3])
    assert acc.compute().to_dict() == once.to_dict()
    # single (H, W) maps, and merge of two halves
    a, b = assay.SemanticAccumulator(c, 255), assay.SemanticAccumulator(c, 255)
    for i in range(7):
        (a if i % 2 else b).update(t[i], p[i])
    a.merge(b)
    assert a.compute().to_dict() == once.to_dict()
    a.reset()
    assert int(a.confusion_matrix.sum()) == 0
    with pytest.raises(ValueError, match="`other`"):
        a.merge(assay.SemanticAccumulator(c))


def test_streaming_valor_lite_protocol() -> None:
    rng = np.random.default_rng(9)
    t, p = _random_maps(rng, 4, 8, 8, 4)
    acc = assay.SemanticAccumulator(4, protocol="valor-lite")
    acc.update(t[:2], p[:2])
    acc.update(t[2:], p[2:])
    once = assay.evaluate_semantic(t, p, 4, protocol="valor-lite")
    assert acc.compute().valor_lite_metrics() == once.valor_lite_metrics()


def _ddp_worker(rank: int, world: int, init: str, t: np.ndarray, p: np.ndarray, out: str) -> None:
    torch.distributed.init_process_group("gloo", init_method=init, rank=rank, world_size=world)
    try:
        acc = assay.SemanticAccumulator(4, 255)
        acc.update(t[rank::world], p[rank::world])
        acc.sync()
        # the panoptic state syncs the same way: (category, instance) maps, class = category
        pan = assay.PanopticAccumulator(things={1, 2}, stuffs={0, 3})
        pair = lambda x: np.stack([x, np.zeros_like(x)], -1)  # noqa: E731
        pan.update(pair(t[rank::world]), pair(p[rank::world]))
        pan.sync()
        if rank == 0:
            np.save(out, acc.confusion_matrix.numpy())
            np.save(out + ".pq.npy", np.stack([pan.tp.numpy(), pan.fp.numpy(), pan.fn.numpy()]))
    finally:
        torch.distributed.destroy_process_group()


def test_sync_sums_over_two_gloo_ranks() -> None:
    if not torch.distributed.is_available():
        pytest.skip("torch.distributed is not available")
    rng = np.random.default_rng(10)
    t, p = _random_maps(rng, 6, 8, 8, 4)
    t[0, 0, :3] = 255
    with tempfile.TemporaryDirectory() as tmp:
        init = "file://" + os.path.join(tmp, "rendezvous")
        out = os.path.join(tmp, "cm.npy")
        torch.multiprocessing.spawn(_ddp_worker, args=(2, init, t, p, out), nprocs=2, join=True)
        np.testing.assert_array_equal(np.load(out), _sk_confusion(t, p, 4, 255))
        pair = lambda x: np.stack([x, np.zeros_like(x)], -1)  # noqa: E731
        whole = assay.evaluate_panoptic(pair(t), pair(p), things={1, 2}, stuffs={0, 3})
        np.testing.assert_array_equal(np.load(out + ".pq.npy"), [whole.tp, whole.fp, whole.fn])


# ------------------------------------------------------------------------- valor-lite


def _valor_lite_metrics(
    t: np.ndarray, p: np.ndarray, names: list[str]
) -> dict[str, list[dict[str, Any]]]:
    vl = pytest.importorskip("valor_lite.semantic_segmentation")
    loader = vl.Loader.in_memory()
    loader.add_data(
        [
            vl.Segmentation(
                uid=f"img{i}",
                groundtruths=t[i].astype(np.uint16),
                predictions=p[i].astype(np.uint16),
                labels=list(names[1:]),
            )
            for i in range(t.shape[0])
        ]
    )
    metrics = loader.finalize().compute_precision_recall_iou()
    return {k.value: [m.to_dict() for m in v] for k, v in metrics.items()}


def _assert_same_metrics(ours: dict[str, Any], theirs: dict[str, Any]) -> None:
    assert set(ours) == set(theirs)
    for key in theirs:
        assert len(ours[key]) == len(theirs[key]), key
        for a, b in zip(ours[key], theirs[key], strict=True):
            assert a["type"] == b["type"] and a["parameters"] == b["parameters"]
            _assert_close(a["value"], b["value"], key)


def _assert_close(a: Any, b: Any, where: str) -> None:
    if isinstance(b, dict):
        assert set(a) == set(b), where
        for k in b:
            _assert_close(a[k], b[k], f"{where}.{k}")
    else:
        assert a == pytest.approx(b, rel=0, abs=1e-15), where


@pytest.mark.parametrize(
    ("c", "absent", "seed"),
    [(2, (), 0), (4, (), 1), (5, (2,), 2), (6, (1, 4), 3), (3, (1, 2), 4)],
)
def test_valor_lite_parity(c: int, absent: tuple[int, ...], seed: int) -> None:
    rng = np.random.default_rng(20 + seed)
    t, p = _random_maps(rng, 3, 9, 11, c, absent=absent)
    names = ["background", *[f"class{k}" for k in range(1, c)]]
    r = assay.evaluate_semantic(t, p, c, protocol="valor-lite", class_names=names)
    _assert_same_metrics(r.valor_lite_metrics(), _valor_lite_metrics(t, p, names))


def test_valor_lite_parity_textbook_and_all_background() -> None:
    t, p = _maps_from_confusion(TEXTBOOK, (4, 6))
    names = ["bg", "a", "b"]
    r = assay.evaluate_semantic(t, p, 3, protocol="valor-lite", class_names=names)
    _assert_same_metrics(r.valor_lite_metrics(), _valor_lite_metrics(t, p, names))
    z = np.zeros((2, 3, 3), np.int64)
    r = assay.evaluate_semantic(z, z, 3, protocol="valor-lite", class_names=names)
    _assert_same_metrics(r.valor_lite_metrics(), _valor_lite_metrics(z, z, names))


def test_valor_lite_ignore_equals_cropping() -> None:
    # valor-lite has no ignore value: ignoring rows equals cropping them out.
    rng = np.random.default_rng(30)
    t, p = _random_maps(rng, 3, 10, 8, 4)
    names = ["bg", "x", "y", "z"]
    masked = t.copy()
    masked[:, 7:, :] = 255
    r = assay.evaluate_semantic(masked, p, 4, 255, protocol="valor-lite", class_names=names)
    crop = _valor_lite_metrics(t[:, :7], p[:, :7], names)
    _assert_same_metrics(r.valor_lite_metrics(), crop)


def test_valor_lite_metrics_needs_the_protocol() -> None:
    r = assay.evaluate_semantic(np.zeros((2, 2), np.int64), np.zeros((2, 2), np.int64), 2)
    with pytest.raises(ValueError, match="protocol='valor-lite'"):
        r.valor_lite_metrics()


def test_valor_lite_cases_file_has_no_semantic_cases(shared_data: Any) -> None:
    # The shared valor-lite reference cases cover detection and classification only;
    # this test notices when semantic-segmentation cases are added.
    cases = json.loads((shared_data / "valor_lite_cases.json").read_text())["cases"]
    assert {c["task"] for c in cases} <= {"object_detection", "classification"}


# ------------------------------------------------------------------------- result


def test_result_to_dict_and_summary() -> None:
    t, p = _maps_from_confusion(TEXTBOOK, (4, 6))
    r = assay.evaluate_semantic(t, p, 3, class_names=["road", "car", "sky"])
    assert isinstance(r, SemanticResult)
    d = r.to_dict()
    for key in (
        "confusion_matrix",
        "iou",
        "miou",
        "pixel_accuracy",
        "dice",
        "f1",
        "precision",
        "recall",
        "mean_class_accuracy",
        "frequency_weighted_iou",
        "mean_dice",
    ):
        assert key in d
    assert d["confusion_matrix"] == TEXTBOOK.tolist() and d["iou"][2] is None
    json.dumps(d)
    assert "road" in r.summary() and r.per_class()[0]["support"] == 14
    with pytest.raises(pydantic.ValidationError):  # frozen
        r.miou = 0.0  # type: ignore[misc]
    dv = assay.evaluate_semantic(t, p, 3, protocol="valor-lite").to_dict()
    assert {"iou_matrix", "unmatched_prediction_ratio", "unmatched_ground_truth_ratio"} <= set(dv)


# ------------------------------------------------------------------------- bad input


def _ok() -> np.ndarray:
    return np.zeros((2, 3, 4), np.int64)


@pytest.mark.parametrize(
    ("kwargs", "error", "pattern"),
    [
        (
            {"target": np.array([[[0, 1, 5, 7]]]), "preds": np.zeros((1, 1, 4), np.int64)},
            ValueError,
            r"Expected `target` values in \[0, 3\), but got 5 at index \(0, 0, 2\)",
        ),
        (
            {
                "target": np.array([[[0, 255, 3]]]),
                "preds": np.zeros((1, 1, 3), np.int64),
                "ignore_index": 255,
            },
            ValueError,
            r"Expected `target` values in \[0, 3\) or ignore_index 255, "
            r"but got 3 at index \(0, 0, 2\)",
        ),
        (
            {"target": np.zeros((1, 2, 2), np.int64), "preds": np.array([[[0, 1], [-1, 9]]])},
            ValueError,
            r"Expected `preds` values in \[0, 3\), but got -1 at index \(0, 1, 0\)",
        ),
        (
            {"target": _ok(), "preds": np.zeros((2, 3, 5), np.int64)},
            ValueError,
            r"Expected `preds` to have the shape of `target` \(2, 3, 4\), but got \(2, 3, 5\)",
        ),
        (
            {"target": _ok().astype(np.float32), "preds": _ok()},
            TypeError,
            r"Expected `target` to hold integer labels, but got a numpy array of dtype float32",
        ),
        (
            {"target": _ok(), "preds": torch.zeros(2, 3, 4)},
            TypeError,
            r"Expected `preds` to hold integer labels, but got dtype torch.float32",
        ),
        (
            {"target": _ok(), "preds": torch.zeros(2, 3, 4, dtype=torch.bool)},
            TypeError,
            r"Expected `preds` to hold integer labels, but got dtype torch.bool",
        ),
        (
            {"target": [[0, 1]], "preds": _ok()},
            TypeError,
            r"Expected `target` to be a torch.Tensor or numpy array, but got list",
        ),
        (
            {"target": np.zeros(4, np.int64), "preds": np.zeros(4, np.int64)},
            ValueError,
            r"Expected `target` to be label maps of shape \(N, H, W\) or \(H, W\), "
            r"but got shape \(4,\)",
        ),
        ({"num_classes": 0}, ValueError, r"Expected `num_classes` to be an int >= 1, but got 0"),
        ({"num_classes": 3.0}, TypeError, r"Expected `num_classes` to be an int, but got float"),
        ({"ignore_index": True}, TypeError, r"Expected `ignore_index` to be an int, but got bool"),
        (
            {"protocol": "mmseg"},
            ValueError,
            r"Expected `protocol` to be one of \('standard', 'valor-lite'\), but got 'mmseg'",
        ),
        (
            {"class_names": ["a", "b"]},
            ValueError,
            r"Expected `class_names` to have num_classes=3 entries, but got 2",
        ),
        (
            {"class_names": ["a", 1, "c"]},
            TypeError,
            r"Expected `class_names` to hold str, but got 1 at position 1",
        ),
    ],
)
def test_bad_input(kwargs: dict[str, Any], error: type[Exception], pattern: str) -> None:
    args: dict[str, Any] = {"target": _ok(), "preds": _ok(), "num_classes": 3}
    args.update(kwargs)
    with pytest.raises(error, match=pattern):
        assay.evaluate_semantic(**args)


def test_predictions_on_ignored_pixels_are_not_checked() -> None:
    t = np.array([[[0, 255, 1]]])
    p = np.array([[[0, 99, 1]]])
    assert assay.evaluate_semantic(t, p, 2, 255).pixel_accuracy == 1.0
    # ignore_index inside [0, C) also masks the predictions there
    assert assay.evaluate_semantic(np.array([[0, 1]]), np.array([[7, 1]]), 2, 0).miou == 1.0


def test_ignore_index_outside_the_dtype_range() -> None:
    # uint8 == -1 would wrap to 255 in torch; the target is widened instead.
    t = torch.tensor([[[0, 1, 2]]], dtype=torch.uint8)
    p = torch.tensor([[[0, 1, 1]]], dtype=torch.uint8)
    r = assay.evaluate_semantic(t, p, 3, ignore_index=-1)
    assert r.confusion_matrix.sum() == 3
    with pytest.raises(ValueError, match="but got 255 at index"):
        assay.evaluate_semantic(
            torch.tensor([[255]], dtype=torch.uint8), torch.tensor([[0]]), 3, -1
        )


def test_unsigned_numpy_inputs() -> None:
    t = np.array([[0, 1], [2, 1]], np.uint16)
    p = np.array([[0, 1], [1, 1]], np.uint32)
    r = assay.evaluate_semantic(t, p, 3)
    np.testing.assert_array_equal(
        r.confusion_matrix, _sk_confusion(t.astype(int), p.astype(int), 3)
    )


def test_uint64_values_past_int64_are_named_not_wrapped() -> None:
    """uint64 labels widen to int64: 2**64 - 1 wrapped to -1 (and matched ignore_index=-1),
    2**63 + 5 was reported as a negative number."""
    t = np.array([[0, 2**63 + 5]], np.uint64)
    with pytest.raises(ValueError, match=r"Expected `target` to hold labels below 2\*\*63, but "
                                         r"got 9223372036854775813 at index \(0, 1\)"):
        assay.evaluate_semantic(t, np.zeros_like(t), 3)
    with pytest.raises(ValueError, match=r"`preds` to hold labels below 2\*\*63, but got "
                                         r"18446744073709551615 at index \(0, 0\)"):
        assay.evaluate_semantic(np.zeros_like(t), np.full_like(t, 2**64 - 1), 3, -1)
    ok = np.array([[0, 2, 1]], np.uint64)
    r = assay.evaluate_semantic(ok, ok, 3)
    np.testing.assert_array_equal(r.confusion_matrix, np.eye(3, dtype=np.int64))


@pytest.mark.parametrize("ignore", [0, 2, 255, -1, 10**6])
def test_ignore_values_inside_and_outside_the_class_range(ignore: int) -> None:
    # Exercises both counting paths (pair histogram with an ignore row; masked count).
    rng = np.random.default_rng(40)
    c = 4
    t, p = _random_maps(rng, 3, 9, 9, c)
    t[rng.random(t.shape) < 0.2] = ignore
    r = assay.evaluate_semantic(t, p, c, ignore)
    np.testing.assert_array_equal(r.confusion_matrix, _sk_confusion(t, p, c, ignore))


def test_labels_out_of_range_beside_the_ignore_value() -> None:
    t = np.array([[[0, 255, 1], [200, 1, 0]]])
    with pytest.raises(ValueError, match=r"but got 200 at index \(0, 1, 0\)"):
        assay.evaluate_semantic(t, np.zeros_like(t), 2, 255)


def test_benchmark_script_runs_small(tmp_path: Any) -> None:
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_semantic.py"
    spec = importlib.util.spec_from_file_location("bench_semantic", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path / "bench.json"
    assert module.main(["--maps", "2", "--size", "24", "--repeat", "1", "--json", str(out)]) == 0
    payload = json.loads(out.read_text())
    assert payload["results"]["assay"]["iou_agrees"] and payload["env"]["torch"]
