"""What a Move and a run report back: counts, time, status and, on failure, the error."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hygge.errors import HyggeError

OK_STATUSES = ("ok", "empty")


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

    @property
    def key(self) -> str:
        return f"{self.flow}.{self.entity}"

    @property
    def ok(self) -> bool:
        return self.status in OK_STATUSES

    @property
    def rows_per_second(self) -> float:
        return self.rows_written / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "flow": self.flow,
            "entity": self.entity,
            "run_type": self.run_type,
            "status": self.status,
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

    @property
    def ok(self) -> bool:
        return not self.interrupted and all(m.ok for m in self.moves)

    @property
    def failed(self) -> list[MoveResult]:
        return [m for m in self.moves if not m.ok]

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return 130
        return 0 if self.ok else 1

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
            "seconds": round(self.seconds, 3),
            "rows_written": sum(m.rows_written for m in self.moves),
            "moves": [m.to_dict() for m in self.moves],
        }
