"""Run records and entity state: what the journal keeps, committed together with the data."""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from typing import Any


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def new_run_id(at: datetime | None = None) -> str:
    # Sortable by time, unique across hosts and processes.
    at = at or utc_now()
    return f"{at:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"


def shallow_dict(record: Any) -> dict[str, Any]:
    """A dataclass's fields as a dict for JSON, sharing its values: ``asdict`` deep-copies every nested dict and
    list first (0.3 ms an entity for the state's columns and files), and every caller only serializes it."""
    return {f.name: getattr(record, f.name) for f in fields(record)}


@dataclass
class RunRecord:
    """One attempt of one move, as `hygge history` shows it."""

    run_id: str
    flow: str
    entity: str
    run_type: str
    started_at: str
    ended_at: str | None = None
    status: str = "running"
    rows_read: int = 0
    rows_written: int = 0
    rows_in_target: int | None = None
    bytes_written: int = 0
    watermark_before: Any = None
    watermark_after: Any = None
    error: str | None = None
    # How the rows differed from the target, as the run said it (new column, widened type); [] in older records.
    schema_changes: list[str] = field(default_factory=list)
    host: str = field(default_factory=socket.gethostname)
    pid: int = field(default_factory=os.getpid)

    def to_dict(self) -> dict[str, Any]:
        return shallow_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunRecord:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass
class EntityState:
    """What the next run of an entity needs to know; committed atomically with its data."""

    watermark: Any = None
    watermark_column: str | None = None
    loaded_files: dict[str, dict[str, Any]] = field(default_factory=dict)
    columns: list[dict[str, str]] | None = None
    last_run: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return shallow_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> EntityState:
        if not data:
            return cls()
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})
