"""`hygge report`: one self-contained HTML page of every entity's runs, freshness, failures and state."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from hygge.core.workspace import Workspace
from hygge.errors import HyggeError
from hygge.report.gather import ProjectReport, gather
from hygge.report.page import render

DEFAULT_NAME = "hygge-report.html"

__all__ = ["DEFAULT_NAME", "ProjectReport", "Written", "gather", "render", "write_report"]


@dataclass
class Written:
    path: Path
    report: ProjectReport


def write_report(ws: Workspace, out: Path | None = None, now: datetime | None = None) -> Written:
    """Gather the project's journals and write the page, whole or not at all (a page being served stays readable)."""
    path = (out if out is not None else ws.root / DEFAULT_NAME).resolve()
    report = gather(ws, now)
    page = render(report)
    staged = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # beside it, so the rename is atomic
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            staged.write_text(page, encoding="utf-8")
            os.replace(staged, path)
        finally:
            staged.unlink(missing_ok=True)
    except OSError as exc:
        raise HyggeError("the report could not be written", path=str(path), expected="a folder hygge can write in",
                         found=exc.strerror or str(exc), hint="pass another file with `--out FILE`") from exc
    return Written(path, report)
