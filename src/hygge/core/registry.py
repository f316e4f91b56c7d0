"""Home and Store types by name: built-ins plus the ``hygge.homes``/``hygge.stores`` entry points.

Modules are imported only when a type is used, so a missing optional driver
fails for the flows that need it, with the exact install line, and nowhere else.
"""

from __future__ import annotations

import importlib
import threading
from functools import cache
from typing import Any

from hygge.errors import ConfigError, ConfigProblem, MissingDriver, did_you_mean
from hygge.homes.base import Home
from hygge.stores.base import Store

BUILTIN_HOMES = {
    "parquet": "hygge.homes.parquet:ParquetHome",
    "csv": "hygge.homes.csv:CsvHome",
    "jsonl": "hygge.homes.jsonl:JsonlHome",
    "duckdb": "hygge.homes.duckdb:DuckdbHome",
    "sqlite": "hygge.homes.sqlite:SqliteHome",
    "postgres": "hygge.homes.postgres:PostgresHome",
    "mysql": "hygge.homes.mysql:MysqlHome",
    "delta": "hygge.homes.delta:DeltaHome",
    "iceberg": "hygge.homes.iceberg:IcebergHome",
}
BUILTIN_STORES = {
    "parquet": "hygge.stores.parquet:ParquetStore",
    "csv": "hygge.stores.csv:CsvStore",
    "jsonl": "hygge.stores.jsonl:JsonlStore",
    "duckdb": "hygge.stores.duckdb:DuckdbStore",
    "sqlite": "hygge.stores.sqlite:SqliteStore",
    "postgres": "hygge.stores.postgres:PostgresStore",
    "mysql": "hygge.stores.mysql:MysqlStore",
    "delta": "hygge.stores.delta:DeltaStore",
    "open_mirroring": "hygge.stores.open_mirroring:OpenMirroringStore",
    "iceberg": "hygge.stores.iceberg:IcebergStore",
}
ALIASES = {"postgresql": "postgres", "pg": "postgres", "mariadb": "mysql", "ndjson": "jsonl", "sqlite3": "sqlite",
           "deltalake": "delta"}

# Which extra brings the driver a module needs (for the install hint).
EXTRAS = {"duckdb": "duckdb", "adbc_driver_postgresql": "postgres", "psycopg": "postgres", "pgpq": "postgres",
          "pymysql": "mysql", "connectorx": "mysql", "adbc_driver_sqlite": "sqlite", "distributed": "dask",
          "dask": "dask", "deltalake": "delta", "pyiceberg": "iceberg", "obstore": "s3", "google": "gcs"}


# Types registered from Python (notebooks, tests, applications embedding hygge).
_REGISTERED: dict[str, dict[str, str]] = {"home": {}, "store": {}}
# Moves load their Home and Store classes on threads of their own: the modules (and the libraries they import at
# the top) are imported one thread at a time, since libraries that import each other in a cycle can hand a
# second thread a partly initialized module. Reentrant: a plugin's module may load another class.
_LOADING = threading.RLock()


@cache
def _plugins(group: str) -> dict[str, str]:
    from importlib.metadata import entry_points  # 20-26 ms to import: only when a type is not built in

    return {ep.name: ep.value for ep in entry_points(group=group)}


def register(kind: str, name: str, target: str) -> None:
    """Make ``"module:Class"`` available as a home or store type, like an entry point would."""
    if kind not in _REGISTERED:
        raise ValueError("kind must be 'home' or 'store'")
    _REGISTERED[kind][name] = target


def known(kind: str) -> dict[str, str]:
    builtin = BUILTIN_HOMES if kind == "home" else BUILTIN_STORES
    return {**_plugins(f"hygge.{kind}s"), **_REGISTERED[kind], **builtin}


def canonical(name: str) -> str:
    return ALIASES.get(name, name)


def load(kind: str, name: str) -> Any:
    """The Home or Store class registered under ``name``; ConfigError with a hint when unknown."""
    name = canonical(name)
    builtin = BUILTIN_HOMES if kind == "home" else BUILTIN_STORES
    table = builtin if name in builtin else known(kind)  # a built-in name wins over plugins either way
    if name not in table:
        raise ConfigError([ConfigProblem(
            f"unknown {kind} type '{name}'",
            expected=f"one of {', '.join(sorted(table))}",
            found=name,
            hint=did_you_mean(name, table) or f"install the plugin that provides it (entry point group hygge.{kind}s)",
        )])
    module_name, _, attr = table[name].partition(":")
    try:
        with _LOADING:
            module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").split(".")[0]
        if missing in EXTRAS:
            raise MissingDriver(missing, EXTRAS[missing], needed_for=f"the {name} {kind}") from exc
        raise
    return getattr(module, attr)


def home_class(name: str) -> type[Home]:
    cls: type[Home] = load("home", name)
    return cls


def store_class(name: str) -> type[Store]:
    cls: type[Store] = load("store", name)
    return cls
