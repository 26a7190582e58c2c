"""Command line: ``assay demo`` and ``assay evaluate coco`` (extra ``cli``).

Example:
    >>> from typer.testing import CliRunner
    >>> result = CliRunner().invoke(app, ["evaluate", "--help"])
    >>> result.exit_code
    0
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import torch

from .engine.device import DEVICE_CHOICES, resolve_device
from .engine.evaluation import CocoParams, CocoResult
from .evaluate import evaluate_coco

try:
    import typer
    from rich.console import Console
    from rich.table import Table
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        f"The assay command line needs typer and rich ({exc}); install them with "
        '`pip install "assay[cli]"`'
    ) from exc

__all__ = ["app", "main"]

app = typer.Typer(
    name="assay",
    help="Exact, GPU-accelerated metrics for computer-vision models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
evaluate_app = typer.Typer(help="Evaluate model results.", no_args_is_help=True)
app.add_typer(evaluate_app, name="evaluate")


def _stats_table(result: CocoResult, title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for col in ("metric", "IoU", "area", "maxDets", "value"):
        table.add_column(col, justify="right" if col == "value" else "left")
    for line in result.summary_lines():
        table.add_row(line.metric, line.iou, line.area, str(line.max_dets), f"{line.value:.3f}")
    return table


def _category_table(result: CocoResult, limit: int | None) -> Table:
    rows = result.per_category()
    shown = rows if limit is None else rows[:limit]
    title = "Per category (area all)" + (
        "" if len(shown) == len(rows) else f", first {len(shown)} of {len(rows)}"
    )
    table = Table(title=title, title_justify="left")
    for col in ("id", "name", "AP", "AP50", "AP75", f"AR{rows[0].max_dets}" if rows else "AR"):
        table.add_column(col, justify="left" if col in ("id", "name") else "right")
    for c in shown:
        table.add_row(
            str(c.category_id), c.name, *(f"{v:.3f}" for v in (c.ap, c.ap50, c.ap75, c.ar))
        )
    return table


def _json_payload(result: CocoResult, seconds: float, device: str) -> dict[str, Any]:
    return {
        "iou_type": result.iou_type,
        "stats": result.stats.tolist(),
        "stats_named": result.stats_named,
        "per_category": [c.model_dump() for c in result.per_category()],
        "params": result.params.model_dump(),
        "device": device,
        "seconds": seconds,
    }


def _parse_list(value: str, cast: type[int] | type[float], example: str) -> list[Any]:
    """Comma-separated option values, e.g. ``--max-dets 1,10,100``."""
    kind = "ints" if cast is int else "numbers"
    try:
        values = [cast(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise typer.BadParameter(
            f"expected comma-separated {kind} such as {example}, but got {value!r}"
        ) from None
    if not values:
        raise typer.BadParameter(f"expected at least one value, but got {value!r}")
    return values


def _device(device: str) -> torch.device:
    """The ``--device`` option: auto, cpu, cuda or cuda:N."""
    if device not in DEVICE_CHOICES and not device.startswith("cuda:"):
        raise typer.BadParameter(
            f"expected one of {DEVICE_CHOICES}, but got {device!r}", param_hint="--device"
        )
    return resolve_device(device)


@evaluate_app.command("coco")
def evaluate_coco_command(
    gt: Annotated[Path, typer.Argument(help="COCO ground-truth JSON (instances_*.json).")],
    results: Annotated[Path, typer.Argument(help="COCO results JSON (list of detections).")],
    iou_type: Annotated[str, typer.Option("--iou-type", help="bbox or segm")] = "bbox",
    device: Annotated[str, typer.Option(help="auto, cpu or cuda")] = "auto",
    max_dets: Annotated[
        str, typer.Option("--max-dets", help="maxDets, comma separated")
    ] = "1,10,100",
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """COCO detection (bbox) or instance segmentation (segm) metrics, as pycocotools' COCOeval."""
    dev = _device(device)
    params = CocoParams(maxDets=tuple(_parse_list(max_dets, int, "1,10,100")))
    start = time.perf_counter()
    result = evaluate_coco(gt, results, iou_type=iou_type, device=dev, params=params)  # type: ignore[arg-type]
    seconds = time.perf_counter() - start
    if as_json:
        sys.stdout.write(json.dumps(_json_payload(result, seconds, str(dev))) + "\n")
        return
    console = Console()
    console.print(_stats_table(result, f"COCO {iou_type} evaluation ({dev}, {seconds:.2f} s)"))
    console.print(_category_table(result, limit=None))


@evaluate_app.command("classification")
def evaluate_classification_command(
    gt: Annotated[Path, typer.Argument(help="ground truths: JSON lines or Parquet")],
    predictions: Annotated[Path, typer.Argument(help="predictions: JSON lines or Parquet")],
    protocol: Annotated[str, typer.Option(help="sklearn or valor-lite")] = "sklearn",
    score_thresholds: Annotated[
        str, typer.Option("--score-thresholds", help="valor-lite thresholds, comma separated")
    ] = "0.0",
    hardmax: Annotated[bool, typer.Option("--hardmax/--no-hardmax", help="valor-lite")] = True,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda")] = "cpu",
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """Classification metrics per label key (scikit-learn's or valor-lite's)."""
    from .engine.evaluation import ClassificationResult, evaluate_classification

    dev = _device(device)
    start = time.perf_counter()
    result = evaluate_classification(
        gt,
        predictions,
        protocol=protocol,  # type: ignore[arg-type]
        score_thresholds=_parse_list(score_thresholds, float, "0.25,0.5"),
        hardmax=hardmax,
        device=dev,
    )
    seconds = time.perf_counter() - start
    if as_json:
        payload = {**result.to_dict(), "device": str(dev), "seconds": seconds}
        sys.stdout.write(json.dumps(payload) + "\n")
        return
    console = Console()
    console.print(f"Classification ({protocol}, {dev}, {seconds:.2f} s)")
    if isinstance(result, ClassificationResult):
        for k in result.keys:
            table = Table(
                title=f"{k.key}: {k.num_datums} datums, accuracy {k.accuracy:.4f}, macro F1 "
                f"{k.f1.macro:.4f}, macro AUC {k.roc_auc.macro:.4f}, ECE "
                f"{k.expected_calibration_error:.4f}",
                title_justify="left",
            )
            for col in ("value", "support", "P", "R", "F1", "AUC", "AP"):
                table.add_column(col, justify="left" if col == "value" else "right")
            for v in k.per_value:
                table.add_row(
                    v.value,
                    str(v.support),
                    *(f"{x:.4f}" for x in (v.precision, v.recall, v.f1, v.roc_auc)),
                    f"{v.average_precision:.4f}",
                )
            console.print(table)
        return
    table = Table(title_justify="left")
    rows = result.table()
    for col in rows.column_names:
        table.add_column(col, justify="right" if col in ("score_threshold", "value") else "left")
    for row in rows.to_pylist():
        table.add_row(
            *(
                "" if v is None else f"{v:.4f}" if col == "value" else str(v)
                for col, v in row.items()
            )
        )
    console.print(table)


@app.command()
def demo(
    images: Annotated[int, typer.Option(help="number of sample images")] = 500,
    seed: Annotated[int, typer.Option(help="random seed of the sample data")] = 0,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda")] = "auto",
) -> None:
    """Evaluate seeded COCO-like sample data and print the tables."""
    from .engine.synthetic import make_coco_detection

    dev = _device(device)
    console = Console()
    gt, dt = make_coco_detection(num_images=images, seed=seed)
    console.print(
        f"Sample data (seed {seed}): {len(gt['images'])} images, {len(gt['annotations'])} "
        f"ground truths, {len(dt)} detections, {len(gt['categories'])} categories"
    )
    start = time.perf_counter()
    result = evaluate_coco(gt, dt, device=dev)
    seconds = time.perf_counter() - start
    console.print(_stats_table(result, f"COCO bbox evaluation ({dev}, {seconds:.2f} s)"))
    console.print(_category_table(result, limit=10))


def main() -> None:
    """Entry point of the ``assay`` command; bad input prints one line and exits with 2."""
    try:
        app()
    except (ValueError, TypeError, KeyError, FileNotFoundError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        Console(stderr=True).print(f"[red]error:[/red] {message}", highlight=False)
        raise SystemExit(2) from None
