"""hygge: move tables from where data lives (a Home) to where it should settle (a Store), comfortably.

The public names are imported on first use (PEP 562), so ``hygge.cli`` starts without building the API's
config models before it has decided how (see cli.py: pydantic's plugin lookup).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hygge.api import move, run
    from hygge.core.results import MoveResult, RunResult
    from hygge.core.workspace import Workspace, load_workspace
    from hygge.errors import (
        Cancelled,
        ConfigError,
        HyggeConnectionError,
        HyggeError,
        MissingDriver,
        ReadError,
        StateError,
        WriteError,
    )

__version__ = "0.1.0"

_WHERE = {
    "move": "hygge.api", "run": "hygge.api",
    "MoveResult": "hygge.core.results", "RunResult": "hygge.core.results",
    "Workspace": "hygge.core.workspace", "load_workspace": "hygge.core.workspace",
    **{name: "hygge.errors" for name in ("Cancelled", "ConfigError", "HyggeConnectionError", "HyggeError",
                                          "MissingDriver", "ReadError", "StateError", "WriteError")},
}

__all__ = [
    "Cancelled",
    "ConfigError",
    "HyggeConnectionError",
    "HyggeError",
    "MissingDriver",
    "MoveResult",
    "ReadError",
    "RunResult",
    "StateError",
    "Workspace",
    "WriteError",
    "__version__",
    "load_workspace",
    "move",
    "run",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'hygge' has no attribute {name!r}")
    value = getattr(import_module(_WHERE[name]), name)
    globals()[name] = value  # looked up once
    return value


def __dir__() -> list[str]:
    return __all__
