"""Iceberg tables as other engines see them: opened with pyiceberg's own catalog, read by pyiceberg and polars,
and checked for files no snapshot references. Nothing here goes through hygge."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa


def catalog_config(folder: Path) -> dict[str, Any]:
    """A SQLite catalog and a warehouse folder, as hygge's `connections:` entry."""
    return {"type": "iceberg", "catalog": "sql", "path": str(folder / "catalog.db"),
            "warehouse": str(folder / "warehouse")}


def open_catalog(folder: Path, name: str = "inline") -> Any:
    from pyiceberg.catalog.sql import SqlCatalog

    return SqlCatalog(name, uri=f"sqlite:///{folder / 'catalog.db'}", warehouse=(folder / "warehouse").as_uri())


def load(folder: Path, ident: str, name: str = "inline") -> Any:
    return open_catalog(folder, name).load_table(ident)


def rows(table: Any, sort_by: str) -> pa.Table:
    """The table's rows as pyiceberg itself reads them."""
    return table.scan().to_arrow().sort_by(sort_by)


def polars_rows(table: Any, sort_by: str) -> Any:
    import warnings

    import polars as pl

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "install polars_iceberg for faster planning"
        return pl.scan_iceberg(table).collect().sort(sort_by)


def stored(table: pa.Table) -> pa.Table:
    """What Iceberg readers get for hygge's rows (docs/types.md): strings and binaries as their large kinds,
    millisecond timestamps as microseconds, small integers as int32."""
    fields = []
    for f in table.schema:
        t = f.type
        if pa.types.is_string(t):
            t = pa.large_string()
        elif pa.types.is_binary(t):
            t = pa.large_binary()
        elif pa.types.is_timestamp(t) and t.unit in ("s", "ms"):
            t = pa.timestamp("us", "UTC" if t.tz else None)
        elif t in (pa.int8(), pa.int16(), pa.uint8(), pa.uint16()):
            t = pa.int32()
        fields.append(pa.field(f.name, t))
    return table.cast(pa.schema(fields))


def snapshot_count(table: Any) -> int:
    return len(table.metadata.snapshots)


def debris(table: Any) -> list[str]:
    """Files in the table's folder that no snapshot needs, and run locks left behind."""
    from urllib.parse import unquote, urlsplit

    used = {table.metadata_location, *(entry.metadata_file for entry in table.metadata.metadata_log)}
    for snapshot in table.metadata.snapshots:
        used.add(snapshot.manifest_list)
        for manifest in snapshot.manifests(table.io):
            used.add(manifest.manifest_path)
            used.update(e.data_file.file_path for e in manifest.fetch_manifest_entry(table.io, discard_deleted=False))
    folder = Path(unquote(urlsplit(table.location()).path))
    found = [p for p in folder.rglob("*") if p.is_file() and "_hygge" not in p.parts]
    leftover = [str(p) for p in found if p.as_uri() not in used]
    return leftover + [str(p) for p in (folder / "_hygge" / "runs").glob("*")]
