"""What a Move and a run report back: counts, time, status and, on failure, the error."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hygge.errors import HyggeError

OK_STATUSES = ("ok", "empty")
# What happened to a move's target, said when a run was interrupted (see RunResult.outcomes).
OUTCOMES = ("committed", "rolled back", "failed", "not started")


@dataclass
class MoveResult:
    flow: str
    entity: str
    run_type: str = ""
    status: str = "ok"  # ok | empty | failed | cancelled
    run_id: str = ""
    rows_read: int = 0
    rows_written: int = 0
    rows_in_target: int | None = None
    bytes_written: int = 0
    seconds: float = 0.0
    attempts: int = 1
    location: str = ""
    source: str = ""
    error: HyggeError | None = None
    traceback: str | None = None
    warnings: list[str] = field(default_factory=list)
    watermark: Any = None
    started: bool = True  # False for a move the run never began (stopped, or not even planned)
    committed: bool = False  # its landing published: the target holds this run's rows, whatever came after

    @property
    def key(self) -> str:
        return f"{self.flow}.{self.entity}"

    @property
    def ok(self) -> bool:
        return self.status in OK_STATUSES

    @property
    def outcome(self) -> str:
        """What this run did to the target: committed, rolled back (stopped), failed (unchanged), not started."""
        if self.committed or self.ok:
            return "committed"
        if not self.started:
            return "not started"
        return "rolled back" if self.status == "cancelled" else "failed"

    @property
    def rows_per_second(self) -> float:
        return self.rows_written / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "flow": self.flow,
            "entity": self.entity,
            "run_type": self.run_type,
            "status": self.status,
            "outcome": self.outcome,
            "run_id": self.run_id,
            "rows_read": self.rows_read,
            "rows_written": self.rows_written,
            "rows_in_target": self.rows_in_target,
            "bytes_written": self.bytes_written,
            "seconds": round(self.seconds, 3),
            "rows_per_second": round(self.rows_per_second, 1),
            "attempts": self.attempts,
            "location": self.location,
            "source": self.source,
            "watermark": self.watermark,
            "warnings": self.warnings,
            "error": self.error.to_dict() if self.error else None,
        }


@dataclass
class RunResult:
    project: str
    moves: list[MoveResult] = field(default_factory=list)
    seconds: float = 0.0
    interrupted: bool = False
    signum: int | None = None  # the signal that interrupted the run (SIGINT for Ctrl-C, SIGTERM)

    @property
    def ok(self) -> bool:
        return not self.interrupted and all(m.ok for m in self.moves)

    @property
    def signal(self) -> str | None:
        from hygge.core import signals

        return signals.name(self.signum) if self.interrupted else None

    def outcomes(self) -> dict[str, list[str]]:
        """The moves by what happened to their targets, in run order; outcomes no move had are left out."""
        found: dict[str, list[str]] = {}
        for move in self.moves:
            found.setdefault(move.outcome, []).append(move.key)
        return {outcome: found[outcome] for outcome in OUTCOMES if outcome in found}

    @property
    def failed(self) -> list[MoveResult]:
        return [m for m in self.moves if not m.ok]

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            from hygge.core import signals

            return signals.exit_code(self.signum)
        if self.ok:
            return 0
        # A move stopped by its configuration (a URL hygge cannot serve, a missing driver, a bad --from) is a
        # usage error, whether the plan found it or the move did when it started.
        configured = any(m.error is not None and m.error.kind == "config" for m in self.moves if not m.ok)
        return 2 if configured else 1

    def move(self, key: str) -> MoveResult:
        for result in self.moves:
            if result.key == key:
                return result
        raise KeyError(key)

    def to_dict(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "ok": self.ok,
            "exit_code": self.exit_code,
            "interrupted": self.interrupted,
            "signal": self.signal,
            "seconds": round(self.seconds, 3),
            "rows_written": sum(m.rows_written for m in self.moves),
            "moves": [m.to_dict() for m in self.moves],
        }
