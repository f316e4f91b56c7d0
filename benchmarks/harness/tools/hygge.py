"""hygge itself: one generated project per lane (JSON is YAML), run as `hygge go -q --project DIR`."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from harness import buckets
from harness.settings import HYGGE, PG_URL, SOURCE_SCHEMA, TABLE, WORK, mysql_url
from harness.sources import Source
from harness.targets import Target
from harness.tools.base import Command, Contender, Unavailable

UNKNOWN_TYPE = re.compile(r"unknown (home|store) type '([^']+)'")
BUCKET = "bucket"   # the connection naming the bucket lanes' S3 server
CATALOG = "lake"    # the connection naming an iceberg target's SQL catalog


def _home(source: Source) -> tuple[dict[str, Any], Any]:
    """The home mapping and the entities list for a source."""
    entity = {"name": TABLE, "source": source.table or (source.path.name if source.path else TABLE)}
    if source.kind in ("s3parquet", "s3csv"):
        folder = buckets.server().url(source.key.rpartition("/")[0])
        return {"type": source.kind.removeprefix("s3"), "path": folder, "connection": BUCKET}, [entity]
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
    if target.kind == "sqlite":
        return {"type": "sqlite", "path": str(target.sqlite_file)}
    if target.kind == "s3parquet":
        return {"type": "parquet", "path": buckets.server().url(target.prefix), "connection": BUCKET}
    if target.kind == "delta":
        return {"type": "delta", "path": str(target.folder)}
    if target.kind == "iceberg":
        return {"type": "iceberg", "connection": CATALOG, "namespace": target.schema}
    if target.kind == "postgres":
        return {"type": "postgres", "url": PG_URL, "schema": target.schema}
    return {"type": "mysql", "url": mysql_url(target.schema)}


def _connections(source: Source, target: Target) -> dict[str, Any]:
    connections: dict[str, Any] = {}
    if source.kind.startswith("s3") or target.kind.startswith("s3"):
        connections[BUCKET] = buckets.server().connection()
    if target.kind == "iceberg":
        connections[CATALOG] = {"type": "iceberg", "catalog": "sql", "path": str(target.iceberg_catalog),
                                "warehouse": str(target.iceberg_warehouse)}
    return connections


def project_dir(target: Target) -> Path:
    return WORK / "projects" / target.folder.parent.name / target.folder.name


Options = tuple[tuple[str, Any], ...]


def write_project(source: Source, target: Target, flow: Options = (), entity: Options = ()) -> Path:
    """A fresh project each run: no cache or journal survives from the previous run."""
    folder = project_dir(target)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    home, entities = _home(source)
    if isinstance(entities, list):
        entities = [{**e, **dict(entity)} for e in entities]
    project: dict[str, Any] = {"name": f"bench-{target.folder.parent.name}"}
    if connections := _connections(source, target):
        project["connections"] = connections
    project["flows"] = {"bench": {"home": home, "store": _store(target), "entities": entities, **dict(flow)}}
    (folder / "hygge.yml").write_text(json.dumps(project, indent=2) + "\n")
    return folder


def contenders(flow: Options = (), entity: Options = ()) -> list[Contender]:
    """hygge with the lane's flow options (run_type) and entity options (keys), every other option at its default."""

    def build(source: Source, target: Target) -> Command:
        return Command([str(HYGGE), "go", "-q", "--project", str(write_project(source, target, flow, entity))])

    def check(source: Source, target: Target) -> None:
        """A dry run (untimed): a home or store type hygge does not have yet makes the lane 'not available'."""
        if not HYGGE.exists():
            raise Unavailable(f"{HYGGE} not found (create the dev venv first)")
        folder = write_project(source, target, flow, entity)
        done = subprocess.run([str(HYGGE), "go", "--dry-run", "-q", "--project", str(folder)],
                              capture_output=True, text=True, timeout=300)
        missing = UNKNOWN_TYPE.search(done.stdout + done.stderr)
        if missing:
            kind = missing.group(1)
            raise Unavailable(f"hygge has no {missing.group(2)} {kind} yet (unknown {kind} type)")

    return [Contender("hygge", "hygge", "hygge", build, check)]
