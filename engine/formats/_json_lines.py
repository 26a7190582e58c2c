"""JSON lines, one record per non-blank line, with errors that name the line."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

__all__ = ["parse_json_lines"]


def parse_json_lines(
    lines: Iterable[str], what: str, path: Path, error: type[Exception] = ValueError
) -> list[Any]:
    """Parse one JSON value per line; blank lines are skipped.

    Args:
        lines: the file's lines (an open text file, or ``str.splitlines()``).
        what: how messages name the file's content, e.g. ``"predictions"``.
        path: the file, for messages.
        error: the exception class raised for a line that is not valid JSON.

    Returns:
        The values, in file order.

    Raises:
        error: a line that is not valid JSON (its 1-based number is named).

    Example:
        >>> from pathlib import Path
        >>> parse_json_lines(['{"a": 1}', "", "[2]"], "records", Path("r.jsonl"))
        [{'a': 1}, [2]]
    """
    records = []
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise error(
                f"Expected `{what}` to be JSON lines, but line {lineno} of {str(path)!r} is not "
                f"valid JSON: {exc}"
            ) from None
    return records
