"""hygge itself: one generated project per lane (JSON is YAML), run as `hygge go -q --project DIR`."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from harness.settings import HYGGE, PG_URL, SOURCE_SCHEMA, TABLE, WORK, mysql_url
from harness.sources import Source
from harness.targets import Target
from harness.tools.base import Command, Contender, Unavailable

UNKNOWN_TYPE = re.compile(r"unknown (home|store) type '([^']+)'")


def _home(source: Source) -> tuple[dict[str, Any], Any]:
    """The home mapping and the entities list for a source."""
    entity = {"name": TABLE, "source": source.table or (source.path.name if source.path else TABLE)}
    if source.kind in ("parquet", "csv"):
        return {"type": source.kind, "path": str(source.path.parent)}, [entity]
    if source.kind == "folder":
        return {"type": "parquet", "path": str(source.path)}, "*"
    if source.kind == "sqlite":
        return {"type": "sqlite", "path": str(source.path)}, [entity]
    if source.kind == "postgres":
        return {"type": "postgres", "url": PG_URL, "schema": SOURCE_SCHEMA}, [entity]
    return {"type": "mysql", "url": mysql_url(SOURCE_SCHEMA)}, [entity]


def _store(target: Target) -> dict[str, Any]:
    return {**_store_location(target), **dict(target.options)}


def _store_location(target: Target) -> dict[str, Any]:
    if target.kind in ("parquet", "csv"):
        return {"type": target.kind, "path": str(target.folder)}
    if target.kind == "duckdb":
        return {"type": "duckdb", "path": str(target.duckdb_file), "schema": target.schema}
    if target.kind == "postgres":
        return {"type": "postgres", "url": PG_URL, "schema": target.schema}
    return {"type": "mysql", "url": mysql_url(target.schema)}


def project_dir(target: Target) -> Path:
    return WORK / "projects" / target.folder.parent.name / target.folder.name


def write_project(source: Source, target: Target) -> Path:
    """A fresh project each run: no cache or journal survives from the previous run."""
    folder = project_dir(target)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    home, entities = _home(source)
    project = {"name": f"bench-{target.folder.parent.name}",
               "flows": {"bench": {"home": home, "store": _store(target), "entities": entities}}}
    (folder / "hygge.yml").write_text(json.dumps(project, indent=2) + "\n")
    return folder


def build(source: Source, target: Target) -> Command:
    return Command([str(HYGGE), "go", "-q", "--project", str(write_project(source, target))])


def check(source: Source, target: Target) -> None:
    """A dry run (untimed): a home or store type hygge does not have yet makes the lane 'not available'."""
    if not HYGGE.exists():
        raise Unavailable(f"{HYGGE} not found (create the dev venv first)")
    folder = write_project(source, target)
    done = subprocess.run([str(HYGGE), "go", "--dry-run", "-q", "--project", str(folder)],
                          capture_output=True, text=True, timeout=300)
    missing = UNKNOWN_TYPE.search(done.stdout + done.stderr)
    if missing:
        raise Unavailable(f"hygge has no {missing.group(2)} {missing.group(1)} yet (unknown {missing.group(1)} type)")


def contenders() -> list[Contender]:
    return [Contender("hygge", "hygge", "hygge", build, check)]
