"""Bad CSV rows set aside, with their line numbers, while the good rows load (`on_bad_rows: quarantine`)."""

from __future__ import annotations

import csv
import mmap
from pathlib import Path
from typing import Any

from hygge.state.journal import utc_now


class Quarantine:
    def __init__(self, folder: Path, encoding: str):
        self.folder = folder
        self.encoding = encoding
        self.rows: list[tuple[str, int, int]] = []  # text, expected and actual column counts

    def handler(self, row: Any) -> str:
        """pyarrow's invalid_row_handler: note the row, skip it (called for bad rows only)."""
        self.rows.append((row.text, row.expected_columns, row.actual_columns))
        return "skip"

    def flush(self, source: Path) -> tuple[int, Path] | None:
        """Write what one file's read set aside; return (count, side file)."""
        if not self.rows:
            return None
        rows, self.rows = self.rows, []
        lines = line_numbers(source, [text for text, _, _ in rows], self.encoding)
        self.folder.mkdir(parents=True, exist_ok=True)
        side = self.folder / f"{source.name}.{utc_now():%Y%m%dT%H%M%S%f}.bad.csv"
        with open(side, "w", newline="", encoding="utf-8") as handle:
            out = csv.writer(handle)
            out.writerow(["file", "line", "expected_fields", "found_fields", "row"])
            for (text, expected, actual), line in zip(rows, lines, strict=True):
                out.writerow([str(source), line if line is not None else "", expected, actual, text])
        return len(rows), side


def line_numbers(path: Path, texts: list[str], encoding: str) -> list[int | None]:
    """1-based line of each bad row, found in file order; None where the file cannot be searched (compressed)."""
    if path.suffix in (".gz", ".bz2", ".zst") or not texts:
        return [None] * len(texts)
    out: list[int | None] = []
    with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        position, line = 0, 1
        for text in texts:
            needle = text.encode(encoding)
            at = 0 if position == 0 and data[: len(needle)] == needle else data.find(b"\n" + needle, position)
            if at < 0:
                out.append(None)
                continue
            start = at if at == 0 and position == 0 else at + 1
            line += data[position:start].count(b"\n")
            position = start
            out.append(line)
    return out
