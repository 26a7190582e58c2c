"""JSON lines files: one record per non-blank line, with errors that name the line."""

from __future__ import annotations

import codecs
import json
from pathlib import Path
from typing import Any

__all__ = ["read_json_lines", "split_lines", "starts_with"]


def read_json_lines(path: Path, what: str, error: type[Exception] = ValueError) -> list[Any]:
    r"""Parse one JSON value per line of a UTF-8 file; blank lines are skipped.

    Lines end at ``\n`` only (a ``\r`` before it is JSON whitespace): U+2028 and
    U+2029, which JSON allows raw inside strings, do not end a line. A byte-order mark
    at the start is skipped.

    Args:
        path: the file.
        what: how messages name the file's content, e.g. ``"predictions"``.
        error: the exception class raised for a line that is not UTF-8 or not JSON.

    Returns:
        The values, in file order.

    Raises:
        error: a line that is not UTF-8 text or not valid JSON (its 1-based number named).

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "r.jsonl"
        >>> _ = p.write_text('{"a": "x\u2028y"}\n\n[2]\n', encoding="utf-8")
        >>> read_json_lines(p, "records")
        [{'a': 'x\u2028y'}, [2]]
    """
    records = []
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            if lineno == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8) :]
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise error(
                    f"Expected `{what}` to be UTF-8 text, but line {lineno} of {str(path)!r} is "
                    f"not ({exc.reason} at its byte {exc.start})"
                ) from None
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise error(
                    f"Expected `{what}` to be JSON lines, but line {lineno} of {str(path)!r} is "
                    f"not valid JSON: {exc}"
                ) from None
    return records


def split_lines(text: str) -> list[str]:
    r"""The lines of ``text``, each ended by ``\n`` only (a ``\r`` before it is dropped).

    Unlike ``str.splitlines``, form feeds, U+2028 and the other Unicode line breaks
    stay inside a line: ids read one per line may hold them.

    Example:
        >>> split_lines("a\r\nb\u2028c\f\n")
        ['a', 'b\u2028c\x0c', '']
    """
    return [line.removesuffix("\r") for line in text.split("\n")]


def starts_with(path: Path, char: str) -> bool:
    r"""Whether the file's first character that is not whitespace (or a BOM) is ``char``.

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "a.json"
        >>> _ = p.write_text("  \n [1, 2]")
        >>> starts_with(p, "["), starts_with(p, "{")
        (True, False)
    """
    target = char.encode("utf-8")
    with path.open("rb") as fh:
        head = fh.read(len(codecs.BOM_UTF8))
        if not head.startswith(codecs.BOM_UTF8):
            fh.seek(0)
        while block := fh.read(1 << 16):
            stripped = block.lstrip()
            if stripped:
                return stripped.startswith(target)
    return False
