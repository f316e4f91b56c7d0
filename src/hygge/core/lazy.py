"""Imports hygge makes only when a move needs them, in one place so they cannot race each other.

polars costs about 90 ms to import and is needed only by a few paths (file merges, JSON lines, some
MySQL and UUID conversions). ``adbc_driver_manager`` imports polars as a side effect whenever it is
installed, only to offer it as a parameter backend hygge never uses (its default backend, pyarrow,
is the one bound), so every PostgreSQL or SQLite run paid for polars too. ``adbc_dbapi`` hides
polars while the driver manager imports; the shared lock keeps hygge's own polars imports from
running in that window on another thread.
"""

from __future__ import annotations

import importlib
import sys
import threading
from typing import Any

_LOCK = threading.Lock()


def polars() -> Any:
    """The polars module."""
    with _LOCK:
        import polars as pl

    return pl


def adbc_dbapi(module: str) -> Any:
    """An ADBC driver's DB-API module (``adbc_driver_postgresql.dbapi``), imported without polars."""
    with _LOCK:
        if "adbc_driver_manager.dbapi" in sys.modules or "polars" in sys.modules:
            return importlib.import_module(module)
        sys.modules["polars"] = None  # type: ignore[assignment]  # `import polars` now raises ImportError
        try:
            return importlib.import_module(module)
        finally:
            if sys.modules.get("polars", False) is None:
                del sys.modules["polars"]
