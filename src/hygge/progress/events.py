"""What a run tells the outside world while it works. Renderers turn these into bars, lines or JSON."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Event:
    kind: str  # plan | start | progress | retry | done | run-end
    flow: str = ""
    entity: str = ""
    at: float = field(default_factory=time.time)
    rows: int = 0
    bytes: int = 0
    total_rows: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.flow}.{self.entity}"


Emit = Callable[[Event], None]


def ignore(event: Event) -> None:
    """The listener for runs nobody watches."""
