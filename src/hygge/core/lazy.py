"""Imports hygge makes only when a move needs them.

polars costs about 90 ms to import and is needed only by a few paths (file merges, JSON lines, some
MySQL and UUID conversions). ``adbc_driver_manager`` imports polars as a side effect whenever it is
installed, only to offer it as a parameter backend hygge never uses (its default backend, pyarrow,
is the one bound), so every PostgreSQL or SQLite run paid for polars too. ``adbc_dbapi`` refuses
polars to that one import: a finder on ``sys.meta_path`` says "not found" only when the import of
polars comes from the driver manager's backend module on the importing thread's own stack, so
every other import of polars (hygge's, a plugin's, the caller's, on any thread) proceeds as usual.
The driver manager then offers its pyarrow backend only, in this process.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import threading
from collections.abc import Sequence
from types import FrameType, ModuleType
from typing import Any

_BACKENDS = "adbc_driver_manager._dbapi_backend"
_LOCK = threading.Lock()


class _NoPolarsForAdbc(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if fullname != "polars":
            return None
        frame: FrameType | None = sys._getframe(1)
        while frame is not None:
            if frame.f_globals.get("__name__") == _BACKENDS:
                raise ModuleNotFoundError("hygge binds ADBC parameters with pyarrow", name=fullname)
            frame = frame.f_back
        return None


def polars() -> Any:
    """The polars module."""
    import polars as pl

    return pl


def adbc_dbapi(module: str) -> Any:
    """An ADBC driver's DB-API module (``adbc_driver_postgresql.dbapi``), its driver manager imported without polars."""
    with _LOCK:
        if _BACKENDS in sys.modules:
            return importlib.import_module(module)
        finder = _NoPolarsForAdbc()
        sys.meta_path.insert(0, finder)
        try:
            return importlib.import_module(module)
        finally:
            sys.meta_path.remove(finder)
