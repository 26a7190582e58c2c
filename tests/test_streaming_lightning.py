"""The PyTorch Lightning example of docs/streaming.md, executed as written.

The ``python`` block under "## PyTorch Lightning" is extracted and run; each of its
modules is trained for one short epoch on the CPU with a tiny model, and the values it
logged at the end of validation must equal the offline evaluators' on the trained
model's validation outputs: ``assay.evaluate_detections`` (pycocotools' 12 stats),
``assay.evaluate_semantic`` and the classification kernels.
"""

from __future__ import annotations

import math
import re
import warnings
from pathlib import Path
from typing import Any

import assay
import pytest
import torch
from assay.kernels.classification import (
    multiclass_accuracy,
    multiclass_auroc,
    multiclass_average_precision,
    multiclass_f1_score,
    multiclass_precision,
    multiclass_recall,
)
from torch import nn

pl = pytest.importorskip("pytorch_lightning")

DOC = Path(__file__).resolve().parents[1] / "docs" / "streaming.md"
C = 3
IGNORE = 255


def _example() -> dict[str, Any]:
    """Execute the first python block after the Lightning heading; return its namespace."""
    text = DOC.read_text()
    section = text.split("## PyTorch Lightning", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "no python block under '## PyTorch Lightning' in docs/streaming.md"
    namespace: dict[str, Any] = {"__name__": "streaming_lightning_example"}
    exec(compile(match.group(1), str(DOC), "exec"), namespace)
    return namespace


@pytest.fixture(scope="module")
def example() -> dict[str, Any]:
    return _example()


def _fit(module: Any, train: list, val: list) -> dict[str, float]:
    """One epoch on ``train`` (lists of batches), validation on ``val``; the logged values."""
    trainer = pl.Trainer(
        max_epochs=1,
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Lightning's advice on workers and batch sizes
        trainer.fit(module, train_dataloaders=_Batches(train), val_dataloaders=_Batches(val))
    return {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("val/")}


class _Batches(torch.utils.data.DataLoader):  # type: ignore[type-arg]
    """A loader over ready-made batches (no collation, no workers)."""

    def __init__(self, batches: list) -> None:
        super().__init__(batches, batch_size=None, shuffle=False)


def _same(logged: float, expected: float, key: str) -> None:
    # Lightning keeps the logged float64 tensors as they are; allow nothing but NaN == NaN
    assert (math.isnan(logged) and math.isnan(expected)) or logged == expected, (
        key,
        logged,
        expected,
    )


# ------------------------------------------------------------------ detection


class TinyDetector(nn.Module):
    """torchvision-style: each "image" carries its proposals (x1, y1, x2, y2, logit, label);
    the model shifts the boxes and rescales the scores by learnable parameters."""

    def __init__(self) -> None:
        super().__init__()
        self.shift = nn.Parameter(torch.tensor([0.5, -0.3, 0.2, 0.4]))
        self.scale = nn.Parameter(torch.tensor(1.0))

    def forward(
        self, images: list[torch.Tensor], targets: list[dict[str, torch.Tensor]] | None = None
    ) -> Any:
        if targets is not None:  # training: a dict of losses
            return {"loss_shift": (self.shift**2).sum(), "loss_scale": (self.scale - 2.0) ** 2}
        return [
            {
                "boxes": img[:, :4] + self.shift,
                "scores": torch.sigmoid(img[:, 4] * self.scale),
                "labels": img[:, 5].long(),
            }
            for img in images
        ]


def _detection_batches(seed: int, num_batches: int) -> list:
    g = torch.Generator().manual_seed(seed)
    batches = []
    for _ in range(num_batches):
        images, targets = [], []
        for _ in range(3):
            n = int(torch.randint(0, 5, (1,), generator=g))
            xy = torch.rand(n, 2, generator=g) * 80
            wh = 5 + torch.rand(n, 2, generator=g) * 40
            boxes = torch.cat([xy, xy + wh], 1)
            labels = torch.randint(0, C, (n,), generator=g)
            keep = torch.rand(n, generator=g) < 0.8  # some objects are missed
            jitter = torch.randn(n, 4, generator=g) * 3
            extra = int(torch.randint(0, 3, (1,), generator=g))  # false positives
            fp_xy = torch.rand(extra, 2, generator=g) * 80
            fp = torch.cat([fp_xy, fp_xy + 10], 1)
            proposals = torch.cat([(boxes + jitter)[keep], fp])
            logits = torch.randn(proposals.shape[0], generator=g)
            plabels = torch.cat([labels[keep], torch.randint(0, C, (extra,), generator=g)])
            images.append(torch.cat([proposals, logits[:, None], plabels[:, None].float()], 1))
            targets.append({"boxes": boxes, "labels": labels})
        batches.append((images, targets))
    return batches


def test_lightning_detector_logs_the_offline_numbers(example: dict[str, Any]) -> None:
    model = TinyDetector()
    val = _detection_batches(1, 3)
    logged = _fit(example["LitDetector"](model), _detection_batches(0, 2), val)
    model.eval()
    gt: dict[str, list] = {"image": [], "category": [], "boxes": []}
    dt: dict[str, list] = {"image": [], "category": [], "boxes": [], "scores": []}
    image = 0
    with torch.no_grad():
        for images, targets in val:
            for pred, target in zip(model(images), targets, strict=True):
                n, d = target["labels"].shape[0], pred["labels"].shape[0]
                gt["image"] += [image] * n
                gt["category"] += target["labels"].tolist()
                gt["boxes"].append(target["boxes"])
                dt["image"] += [image] * d
                dt["category"] += pred["labels"].tolist()
                dt["boxes"].append(pred["boxes"])
                dt["scores"] += pred["scores"].tolist()
                image += 1
    # torchmetrics' (and so MeanAveragePrecision's) default thresholds are float32
    # linspace values (0.550000011920929, ...), not pycocotools' float64 ones
    params = {
        "iouThrs": torch.linspace(0.5, 0.95, 10).tolist(),
        "recThrs": torch.linspace(0.0, 1.0, 101).tolist(),
    }
    offline = assay.evaluate_detections(
        {**gt, "boxes": torch.cat(gt["boxes"]).double()},
        {**dt, "boxes": torch.cat(dt["boxes"]).double()},
        num_images=image,
        num_categories=C,
        box_format="xyxy",
        params=params,
    ).stats_named
    names = {"map": "AP", "map_50": "AP50", "map_75": "AP75", "map_small": "APs",
             "map_medium": "APm", "map_large": "APl", "mar_1": "AR1", "mar_10": "AR10",
             "mar_100": "AR100", "mar_small": "ARs", "mar_medium": "ARm", "mar_large": "ARl"}
    for key, stat in names.items():
        assert f"val/{key}" in logged
        _same(logged[f"val/{key}"], offline[stat], key)
    assert 0.0 < logged["val/map"] < 1.0


# --------------------------------------------------------------- segmentation


def _segmentation_batches(seed: int, num_batches: int) -> list:
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(num_batches):
        masks = torch.randint(0, C, (2, 6, 8), generator=g)
        masks[:, 0, :3] = IGNORE
        images = torch.randn(2, 3, 6, 8, generator=g)
        images[:, 0] += 2.0 * (masks == 1)  # the class is visible in channel 0
        out.append((images, masks))
    return out


def test_lightning_segmenter_logs_the_offline_numbers(example: dict[str, Any]) -> None:
    torch.manual_seed(0)
    model = nn.Conv2d(3, C, kernel_size=1)
    val = _segmentation_batches(1, 3)
    logged = _fit(example["LitSegmenter"](model, num_classes=C), _segmentation_batches(0, 2), val)
    with torch.no_grad():
        preds = torch.cat([model(x).argmax(1) for x, _ in val])
    target = torch.cat([m for _, m in val])
    r = assay.evaluate_semantic(target, preds, C, IGNORE)
    expected = {
        "miou": r.miou,
        "mean_dice": r.mean_dice,
        "pixel_accuracy": r.pixel_accuracy,
        "mean_class_accuracy": r.mean_class_accuracy,
        "frequency_weighted_iou": r.frequency_weighted_iou,
        **{f"iou/{c}": float(r.iou[c]) for c in range(C)},
        **{f"dice/{c}": float(r.dice[c]) for c in range(C)},
    }
    for key, value in expected.items():
        assert value is not None
        _same(logged[f"val/{key}"], value, key)


# -------------------------------------------------------------- classification


def _classification_batches(seed: int, num_batches: int) -> list:
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(num_batches):
        y = torch.randint(0, C, (16,), generator=g)
        x = torch.randn(16, 8, generator=g)
        x[:, :C] += 1.5 * nn.functional.one_hot(y, C)
        out.append((x, y))
    return out


def test_lightning_classifier_logs_the_offline_numbers(example: dict[str, Any]) -> None:
    torch.manual_seed(0)
    model = nn.Linear(8, C)
    val = _classification_batches(1, 3)
    module = example["LitClassifier"](model, num_classes=C)
    logged = _fit(module, _classification_batches(0, 2), val)
    with torch.no_grad():
        probs = torch.cat([model(x).softmax(1) for x, _ in val])
    y = torch.cat([t for _, t in val])
    expected = {
        "accuracy": multiclass_accuracy(probs, y, C, average="macro"),
        "precision": multiclass_precision(probs, y, C),
        "recall": multiclass_recall(probs, y, C),
        "f1": multiclass_f1_score(probs, y, C),
        "auroc": multiclass_auroc(probs, y, C),
        "average_precision": multiclass_average_precision(probs, y, C),
    }
    for key, value in expected.items():
        _same(logged[f"val/{key}"], float(value), key)
    assert 0.0 < logged["val/auroc"] < 1.0
