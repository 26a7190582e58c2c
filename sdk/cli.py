"""Command line: ``assay demo``, ``assay evaluate coco`` and ``assay sample`` (extra ``cli``).

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
from .engine.sampling import SamplingResult, parse_request, run_sampling
from .evaluate import evaluate_coco

try:
    import typer
    from rich.console import Console
    from rich.markup import escape
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
    # the area range per_category() used: "all", else the first (custom labels)
    title = (f"Per category (area {escape(rows[0].area)})" if rows else "Per category") + (
        "" if len(shown) == len(rows) else f", first {len(shown)} of {len(rows)}"
    )
    table = Table(title=title, title_justify="left")
    for col in ("id", "name", "AP", "AP50", "AP75", f"AR{rows[0].max_dets}" if rows else "AR"):
        table.add_column(col, justify="left" if col in ("id", "name") else "right")
    for c in shown:
        table.add_row(
            str(c.category_id), escape(c.name), *(f"{v:.3f}" for v in (c.ap, c.ap50, c.ap75, c.ar))
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
    items = [v.strip() for v in value.split(",")]
    if not any(items):
        raise typer.BadParameter(f"expected at least one value, but got {value!r}")
    try:
        if not all(items):  # "1,,10": an empty item is a typo, not a value to skip
            raise ValueError
        return [cast(v) for v in items]
    except ValueError:
        raise typer.BadParameter(
            f"expected comma-separated {kind} such as {example}, but got {value!r}"
        ) from None


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
    # coerce: pydantic's report cut to one line naming the field
    params = CocoParams.coerce({"maxDets": _parse_list(max_dets, int, "1,10,100")})
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
                title=f"{escape(k.key)}: {k.num_datums} datums, accuracy {k.accuracy:.4f}, "
                f"macro F1 {k.f1.macro:.4f}, macro AUC {k.roc_auc.macro:.4f}, ECE "
                f"{k.expected_calibration_error:.4f}",
                title_justify="left",
            )
            for col in ("value", "support", "P", "R", "F1", "AUC", "AP"):
                table.add_column(col, justify="left" if col == "value" else "right")
            for v in k.per_value:
                table.add_row(
                    escape(v.value),
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
                "" if v is None else f"{v:.4f}" if col == "value" else escape(str(v))
                for col, v in row.items()
            )
        )
    console.print(table)


def _sampling_table(result: SamplingResult, title: str, limit: int | None) -> Table:
    n = len(result)
    shown = n if limit is None else min(limit, n)
    if shown < n:
        title += f", first {shown} of {n}"
    table = Table(title=title, title_justify="left", min_width=len(title))
    for col in ("rank", "frame_id", "score", "stage"):
        table.add_column(col, justify="right" if col in ("rank", "score") else "left")
    for i in range(shown):
        table.add_row(
            str(i), escape(result.frame_ids[i]), f"{result.scores[i]:.6g}", result.stages[i]
        )
    return table


def _write_sampling(result: SamplingResult, path: Path) -> None:
    """``--output``: JSON lines (``.jsonl``), CSV (``.csv``) or one JSON object (``.json``)."""
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        with path.open("w", encoding="utf-8") as fh:
            for row in result.rows():
                fh.write(json.dumps(row) + "\n")
    elif suffix == ".csv":
        import csv

        with path.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=["rank", "frame_id", "score", "stage"])
            writer.writeheader()
            writer.writerows(result.rows())
    else:
        path.write_text(json.dumps(result.to_dict()) + "\n", encoding="utf-8")


def _check_output_suffix(path: Path | None) -> None:
    """Before the run: an ``--output`` that cannot be written is refused at once."""
    if path is not None and path.suffix.lower() not in (".jsonl", ".ndjson", ".csv", ".json"):
        raise typer.BadParameter(
            f"expected a .jsonl, .csv or .json file, but got {str(path)!r}", param_hint="--output"
        )


@app.command("sample")
def sample_command(
    predictions: Annotated[
        Path,
        typer.Argument(
            help="predictions: JSON lines, JSON or Parquet, one row per frame (frame_id, "
            "predictions) or per box (frame_id, score, ...); or a CVAL request .json"
        ),
    ],
    strategy: Annotated[
        list[str] | None,
        typer.Option(
            "--strategy",
            "-s",
            help="selection strategy; repeat for a pipeline (each stage but the last narrows "
            "the pool to --factor x N frames)",
        ),
    ] = None,
    num_samples: Annotated[
        int | None, typer.Option("-n", "--num-samples", help="frames to select")
    ] = None,
    policy: Annotated[
        str | None, typer.Option("--policy", help="bbox_selection_policy: min, max, mean, sum")
    ] = None,
    sort: Annotated[str | None, typer.Option("--sort", help="ascending or descending")] = None,
    clusters: Annotated[
        int | None, typer.Option("--clusters", help="num_of_clusters (-1: chosen)")
    ] = None,
    factor: Annotated[
        float | None,
        typer.Option("--factor", help="pipeline narrowing factor (default 5; two or more -s)"),
    ] = None,
    embeddings: Annotated[
        Path | None,
        typer.Option("--embeddings", "-e", help="embeddings: .npy, Parquet or JSON lines"),
    ] = None,
    embedding_ids: Annotated[
        Path | None,
        typer.Option(
            "--embedding-ids", help="ids of .npy embeddings: .txt lines (stripped) or .json"
        ),
    ] = None,
    labeled: Annotated[
        Path | None,
        typer.Option("--labeled", help="already-labeled frame ids: .txt lines (stripped) or .json"),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option(help="seed of random, hierarchical and k-means, 0 to 2**64 - 1 (default 0)"),
    ] = None,
    from_logits: Annotated[
        bool, typer.Option("--from-logits", help="probabilities hold logits")
    ] = False,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda")] = "cpu",
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="write the ranked frames: .jsonl, .csv or .json"),
    ] = None,
    limit: Annotated[int, typer.Option(help="rows shown in the table")] = 20,
    progress: Annotated[
        bool | None,
        typer.Option("--progress/--no-progress", help="progress bar on stderr (default: a TTY)"),
    ] = None,
) -> None:
    """Rank unlabeled frames for labeling (CVAL-compatible strategies, pipelines, core-set)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from .engine.sampling import read_embeddings, read_ids, read_predictions, read_request

    dev = _device(device)
    _check_output_suffix(output)
    request: dict[str, Any] = read_request(predictions) or {}
    if not request:
        request["frames"] = read_predictions(predictions)
    if num_samples is not None:
        request["num_of_samples"] = num_samples
    if "num_of_samples" not in request:
        raise typer.BadParameter("expected the number of frames to select", param_hint="-n")
    if factor is not None and len(strategy or ()) < 2:
        raise ValueError(
            "Expected `--factor` only with two or more `--strategy` (it sizes the narrowing "
            f"stages of a pipeline), but got {len(strategy or ())} `--strategy`"
        )
    if strategy:
        request.pop("selection_strategy", None)
        request.pop("stages", None)
        if len(strategy) == 1:
            request["selection_strategy"] = strategy[0]
        else:
            stages: list[dict[str, Any]] = [{"strategy": s} for s in strategy]
            if factor is not None:
                for st in stages[:-1]:
                    st["factor"] = factor
            request["stages"] = stages
    elif "selection_strategy" not in request and "stages" not in request:
        raise typer.BadParameter("expected a selection strategy", param_hint="--strategy")
    for key, value in (
        ("bbox_selection_policy", policy),
        ("sort_strategy", sort),
        ("num_of_clusters", clusters),
    ):
        if value is not None:
            request[key] = value
    if seed is not None:
        request["seed"] = seed
    if from_logits:
        request["from_logits"] = True
    if labeled is not None:
        request["labeled_ids"] = read_ids(labeled, what="--labeled")
    emb = None
    if embeddings is not None:
        emb = read_embeddings(embeddings, ids=embedding_ids)
    req = parse_request(request)
    if limit < 0:
        raise ValueError(f"Expected `--limit` to be an int >= 0 (rows shown), but got {limit}")
    show = sys.stderr.isatty() if progress is None else progress
    start = time.perf_counter()
    if show:
        columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
        with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
            task = bar.add_task("sampling", total=1.0)

            def report(fraction: float, message: str) -> None:
                bar.update(task, completed=fraction, description=message)

            result = run_sampling(req, embeddings=emb, device=dev, progress=report)
    else:
        result = run_sampling(req, embeddings=emb, device=dev)
    seconds = time.perf_counter() - start
    if output is not None:
        _write_sampling(result, output)
    if as_json:
        payload = {**result.to_dict(), "device": str(dev), "seconds": seconds}
        sys.stdout.write(json.dumps(payload) + "\n")
        return
    console = Console()
    title = (
        f"{result.strategy}: {len(result)} of {result.pool_size} frames ({dev}, {seconds:.2f} s)"
    )
    console.print(_sampling_table(result, title, limit))
    if result.note:
        console.print(f"note: {escape(result.note)}", highlight=False)
    if output is not None:
        console.print(f"wrote {len(result)} rows to {escape(str(output))}", highlight=False)


@app.command()
def demo(
    images: Annotated[int, typer.Option(help="number of sample images")] = 500,
    seed: Annotated[int, typer.Option(help="random seed of the sample data")] = 0,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda")] = "auto",
) -> None:
    """Evaluate seeded COCO-like sample data, rank a seeded unlabeled pool; print the tables."""
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
    _demo_sampling(console, images, seed, dev)


def _demo_sampling(console: Console, frames: int, seed: int, dev: torch.device) -> None:
    """The sampling half of ``assay demo``: uncertainty, then uncertainty -> core-set."""
    from .engine.synthetic import make_sampling_pool

    pool, embeddings = make_sampling_pool(frames, seed=seed, empty_fraction=0.0)
    n = max(1, frames // 50)
    console.print(
        f"Sampling pool (seed {seed}): {len(pool)} unlabeled frames, "
        f"{sum(len(f['predictions']) for f in pool)} predictions, embeddings of dimension "
        f"{embeddings[1].shape[1]}; selecting {n}"
    )
    runs = (
        ("entropy, max over boxes", {"selection_strategy": "entropy"}),
        (
            "entropy keeps 5N, then core-set",
            {"stages": [{"strategy": "entropy", "factor": 5}, {"strategy": "coreset"}]},
        ),
    )
    for title, fields in runs:
        start = time.perf_counter()
        request = {"num_of_samples": n, "frames": pool, "seed": seed, **fields}
        result = run_sampling(request, embeddings=embeddings, device=dev)
        seconds = time.perf_counter() - start
        console.print(_sampling_table(result, f"Sampling: {title} ({dev}, {seconds:.2f} s)", 10))


def main() -> None:
    """Entry point of the ``assay`` command; bad input prints one line and exits with 2."""
    try:
        app()
    except (ValueError, TypeError, KeyError, OSError, OverflowError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        # escaped: messages quote inputs, whose brackets rich would read as markup
        # soft wrap: one line whatever the width (rich wraps at 80 columns off a terminal)
        Console(stderr=True, soft_wrap=True).print(
            f"[red]error:[/red] {escape(str(message))}", highlight=False
        )
        raise SystemExit(2) from None
