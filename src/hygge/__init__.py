"""hygge: move tables from where data lives (a Home) to where it should settle (a Store), comfortably."""

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
