"""Where a lake table lives: a folder on this machine, a bucket prefix (``s3://``, ``gs://``, ``az://``,
``abfss://container@account.dfs.core.windows.net/``; lake/bucket.py), or a Delta table in a Microsoft Fabric
lakehouse (OneLake).

A OneLake address names a lakehouse's ``Tables`` area, a schema in it, or one table::

    abfss://<workspace>@onelake.dfs.fabric.microsoft.com/<lakehouse>.Lakehouse/Tables
    abfss://<workspace>@onelake.dfs.fabric.microsoft.com/<lakehouse>.Lakehouse/Tables/<schema>
    abfss://<workspace>@onelake.dfs.fabric.microsoft.com/<lakehouse>.Lakehouse/Tables/<schema>/<table>

Workspace and lakehouse may also be given by their GUIDs (then without ``.Lakehouse``). Entities settle in
``Tables/<target>`` (``Tables/<schema>/<table>`` for a target ``schema.table``), ``Tables/<schema>/<target>``,
or in the one table named. The same layout on a local disk (``…/Tables/dbo/orders``) is an ordinary folder
of tables.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from hygge.errors import ConfigError, ConfigProblem
from hygge.lake.bucket import LakeBucket, delta_options, open_bucket

ONELAKE_HOST = re.compile(r"^(?:[a-z0-9-]+-)?onelake\.(?:dfs|blob)\.fabric\.microsoft\.com$")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# Fabric's rule for lakehouse table and schema names: letters, digits and underscores, at most 256 characters.
_FABRIC_NAME = re.compile(r"^[A-Za-z0-9_]{1,256}$")
_SAFE_FOLDER = re.compile(r"^[^/\\\x00]+$")
FORM = "abfss://<workspace>@onelake.dfs.fabric.microsoft.com/<lakehouse>.Lakehouse/Tables[/<schema>[/<table>]]"


@dataclass(frozen=True)
class OneLake:
    """A parsed OneLake address: the lakehouse's Tables area, a schema of it, or one table."""

    workspace: str
    host: str
    item: str  # "<name>.Lakehouse" or the item's GUID
    schema: str | None = None
    table: str | None = None

    @property
    def uri(self) -> str:
        parts = [self.item, "Tables", *(p for p in (self.schema, self.table) if p)]
        return f"abfss://{self.workspace}@{self.host}/{'/'.join(parts)}"

    def with_table(self, target: str) -> OneLake:
        """The address of the entity ``target`` below this one."""
        if self.table is not None:
            return self
        schema, table = self.schema, target
        if schema is None and "." in target:
            schema, table = target.split(".", 1)
        for kind, name in (("schema", schema), ("table", table)):
            if name is not None and not _FABRIC_NAME.match(name):
                raise _problem(f"'{name}' cannot be a lakehouse {kind} name", self.uri,
                               "letters, digits and underscores, at most 256 characters",
                               "set `target:` on the entity to a name of that form")
        return OneLake(self.workspace, self.host, self.item, schema, table)


def _problem(message: str, found: str, expected: str, hint: str) -> ConfigError:
    return ConfigError([ConfigProblem(message, key="path", expected=expected, found=found, hint=hint)])


def parse_onelake(address: str) -> OneLake:
    """Parse and check a OneLake address; a ConfigError says what is wrong with it."""
    parts = urlsplit(address)
    hint = f"write it as {FORM}"
    if parts.scheme.lower() != "abfss" or "@" not in parts.netloc:
        raise _problem("a OneLake address starts with abfss://<workspace>@", address, FORM, hint)
    workspace, _, host = parts.netloc.partition("@")
    if not workspace:
        raise _problem("the OneLake address names no workspace", address, FORM, hint)
    if not ONELAKE_HOST.match(host.lower()):
        raise _problem(f"'{host}' is not a OneLake host", address, "onelake.dfs.fabric.microsoft.com", hint)
    segments = [s for s in parts.path.split("/") if s]
    if len(segments) < 2 or segments[1] != "Tables":
        raise _problem("a OneLake Delta table lives under <lakehouse>.Lakehouse/Tables", address, FORM,
                       "Files/ holds loose files, not tables; point the path at the lakehouse's Tables")
    item = segments[0]
    if not (item.endswith(".Lakehouse") and len(item) > len(".Lakehouse")) and not _GUID.match(item):
        raise _problem(f"'{item}' is not a lakehouse", address, "<name>.Lakehouse, or the lakehouse's GUID",
                       hint)
    rest = segments[2:]
    if len(rest) > 2:
        raise _problem("a OneLake table address has at most a schema and a table after Tables", address, FORM,
                       hint)
    for kind, name in zip(("schema", "table"), rest, strict=False):
        if not _FABRIC_NAME.match(name):
            raise _problem(f"'{name}' is not a valid lakehouse {kind} name", address,
                           "letters, digits and underscores, at most 256 characters", hint)
    return OneLake(workspace, host.lower(), item, *rest)


def is_remote(path: str) -> bool:
    return "://" in path


def is_onelake(path: str) -> bool:
    host = urlsplit(path.strip()).netloc.rpartition("@")[2].lower()
    return bool(ONELAKE_HOST.match(host))


@dataclass(frozen=True)
class TableLocation:
    """One table: the URI delta-rs opens, the folder on this machine (local tables), and a name for people."""

    uri: str
    local: Path | None
    shown: str
    onelake: OneLake | None = None
    bucket: LakeBucket | None = None


def base_location(root: Path, path: str, connection: str | dict[str, Any] | None = None,
                  connections: dict[str, dict[str, Any]] | None = None) -> Path | OneLake | LakeBucket:
    """A store or home `path`: a local folder (relative to the project), a OneLake address, or a bucket prefix."""
    if is_remote(path):
        if is_onelake(path):
            return parse_onelake(path)
        return open_bucket(path, connection, connections or {})
    return root / os.path.expanduser(path)


def _check_name(name: str) -> None:
    if not _SAFE_FOLDER.match(name) or name in (".", ".."):
        raise ConfigError([ConfigProblem(f"'{name}' cannot be a table folder name", key="target",
                                         expected="a name without slashes", hint="set `target:` on the entity")])


def table_location(root: Path, path: str, name: str, connection: str | dict[str, Any] | None = None,
                   connections: dict[str, dict[str, Any]] | None = None) -> TableLocation:
    """The table of entity ``name`` under `path` (or `path` itself, when it is one table)."""
    base = base_location(root, path, connection, connections)
    if isinstance(base, OneLake):
        table = base.with_table(name)
        return TableLocation(table.uri, None, table.uri, table)
    if isinstance(base, LakeBucket):
        if name and not base.storage.entries(base.key("_delta_log")):
            _check_name(name)
            base = base.at(name)
        return TableLocation(base.uri, None, base.uri, bucket=base)
    if (base / "_delta_log").is_dir() or not name:
        folder = base
    else:
        _check_name(name)
        folder = base / name
    return TableLocation(str(folder), folder, shown_path(root, folder))


def shown_path(root: Path, folder: Path) -> str:
    try:
        return str(folder.relative_to(root))
    except ValueError:
        return str(folder)


def storage_options(location: TableLocation) -> dict[str, str] | None:
    """What delta-rs needs to reach the table: nothing on a local disk, the bucket's settings on a bucket.

    OneLake credentials (an Azure token or client secret from `connections:`) are not wired yet: a OneLake table
    is refused by `require_local`."""
    if location.onelake is not None:
        return {"use_fabric_endpoint": "true"}
    if location.bucket is not None:
        return delta_options(location.bucket.settings)
    return None


def require_local(location: TableLocation, doing: str) -> Path:
    """The local folder of the table, or a clear refusal for addresses hygge cannot reach yet."""
    if location.local is None:
        raise ConfigError([ConfigProblem(
            f"{doing} a OneLake table needs hygge's object-storage support, which this version does not have",
            key="path", expected="a local folder", found=location.shown,
            hint="the address is valid; until OneLake is supported, write to a local folder with the same "
                 "layout (…/Tables/<schema>/<table>) and upload it, or use a Fabric pipeline")])
    return location.local
