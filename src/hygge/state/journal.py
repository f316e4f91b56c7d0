"""Run records and entity state: what the journal keeps, committed together with the data.

A run that opens its landing writes a record with status ``running`` first (in a
short transaction or line of its own, never in the data's transaction), replaced
by its final record when it ends. A ``running`` record whose run is gone was
interrupted: killed, out of memory, or its machine went down. The next run of the
entity finds it when it takes the entity's lock, records it as ``interrupted``
with what it did about it (see ``interrupted``), and `hygge history` shows it so
even before that, when the process that wrote it is no longer alive.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timezone
from pathlib import Path
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
    # The project (hygge.yml `name:`) whose run this is; "" in records older hygge wrote, and in hygge.move().
    project: str = ""

    def to_dict(self) -> dict[str, Any]:
        return shallow_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunRecord:
        names = {f.name for f in fields(cls)}
        record = cls(**{k: v for k, v in data.items() if k in names})
        record.project = record.project or ""  # NULL in journal rows older hygge wrote
        return record

    def seen_by(self, project: str) -> bool:
        """Whether `hygge history` of ``project`` shows this run: its own, and runs of no project."""
        return not self.project or self.project == project

    def gone(self) -> bool:
        """Whether the process that runs this record is certainly no longer running it (this host only)."""
        if self.host != socket.gethostname():
            return False
        return not process_alive(self.pid, self.started_at)


def process_alive(pid: int, since: str) -> bool:
    """Whether process ``pid`` lives and is the one that started at ``since`` (an ISO time), not a later
    process given the same number; a zombie, killed but not yet reaped, is not alive."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # it exists, under another user
    stat = Path(f"/proc/{pid}/stat")
    try:
        fields_after_name = stat.read_text().rsplit(")", 1)[1].split()
        if fields_after_name[0] == "Z":
            return False
        ticks = os.sysconf("SC_CLK_TCK")
        boot = next(float(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                    if line.startswith("btime"))
        started = boot + int(fields_after_name[19]) / ticks
        return started <= datetime.fromisoformat(since).timestamp() + 2  # the clock ticks are coarse
    except (OSError, ValueError, IndexError, StopIteration):
        return True  # not Linux, or a time that does not parse: the process exists


def settled(records: Iterable[RunRecord]) -> list[RunRecord]:
    """The last record of each run, in the order runs first appear; a ``running`` record whose process is gone
    is shown as ``interrupted`` (the next run of the entity records it so, with what it did about it)."""
    last: dict[str, RunRecord] = {}
    for record in records:
        last[record.run_id] = record
    out = []
    for record in last.values():
        if record.status == "running" and record.gone():
            record = replace(record, status="interrupted",
                             error=f"no end was recorded: process {record.pid} on {record.host} is gone "
                                   "(killed, out of memory, or the machine stopped); the next run of this "
                                   "entity cleans up what it left")
        out.append(record)
    return out


def interrupted(record: RunRecord, finder: str, healed: str) -> RunRecord:
    """A ``running`` record found by the next holder of its entity's lock (``finder``, e.g. "run R"): that run
    ended without a word; ``healed`` says what the finder did about what it left."""
    return replace(record, status="interrupted", error=(
        f"no end was recorded: the run stopped without a word (killed, out of memory, or the machine stopped); "
        f"{finder} found it at {utc_now():%Y-%m-%d %H:%M:%S} UTC and {healed}"))


def interrupted_note(record: RunRecord, healed: str) -> str:
    """What the run that found an interrupted one says about it in its summary."""
    return (f"the previous run of this entity, {record.run_id} (started {record.started_at[:19].replace('T', ' ')}"
            f" UTC), was interrupted before it ended; this run {healed}")


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
