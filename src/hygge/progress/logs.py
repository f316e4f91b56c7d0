"""Progress as records of the standard `logging` module (logger `hygge` and its children).

The command line sends them to one handler: `--log-format text` (the default) writes the timestamped lines
that CI and cron have always seen, `--log-format json` one JSON object per line for log collectors. An
application embedding hygge attaches its own handlers to the `hygge` logger instead.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import IO, Any

from hygge.progress.events import Event
from hygge.progress.plain import PlainRenderer

LOGGER = logging.getLogger("hygge")
MOVES = LOGGER.getChild("move")
RUN = LOGGER.getChild("run")
LOG_FORMATS = ("text", "json")


def _utc(record: logging.LogRecord) -> datetime:
    return datetime.fromtimestamp(record.created, timezone.utc)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return f"{_utc(record).strftime('%Y-%m-%dT%H:%M:%SZ')} {record.getMessage()}"


class JsonFormatter(logging.Formatter):
    """One line per record, always the same keys first: time, level, logger, event, flow, entity, message."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": _utc(record).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": getattr(record, "event", "log"),
            "flow": getattr(record, "flow", None),
            "entity": getattr(record, "entity", None),
            "message": record.getMessage(),
        }
        data.update(getattr(record, "fields", {}))
        if record.exc_info:
            data["traceback"] = self.formatException(record.exc_info)
        return json.dumps(data, default=str)


@contextmanager
def logging_to(stream: IO[str], log_format: str) -> Iterator[None]:
    """hygge's records go to ``stream`` in ``log_format`` for the duration, and nowhere else."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    saved = LOGGER.level, LOGGER.propagate
    LOGGER.addHandler(handler)
    LOGGER.setLevel(logging.INFO)
    LOGGER.propagate = False  # a root handler someone configured would print every line twice
    try:
        yield
    finally:
        LOGGER.removeHandler(handler)
        LOGGER.setLevel(saved[0])
        LOGGER.propagate = saved[1]


def _error(error: Any) -> dict[str, Any] | None:
    if error is None:
        return None
    return {"message": error.what, "kind": error.kind, "hint": error.hint, "path": error.path}


def fields_of(event: Event) -> tuple[int, dict[str, Any]]:
    """The level and the structured fields of an event's record."""
    if event.kind == "start":
        return logging.INFO, {key: event.detail.get(key) for key in ("run_type", "source", "target")}
    if event.kind == "progress":
        return logging.INFO, {"rows": event.rows, "bytes": event.bytes, "total_rows": event.total_rows}
    if event.kind == "retry":
        return logging.WARNING, {"attempt": event.detail.get("attempt"), "delay": event.detail.get("delay")}
    if event.kind == "done":
        result = event.detail["result"]
        level = logging.INFO if result.ok else logging.WARNING if result.status == "cancelled" else logging.ERROR
        return level, {"status": result.status, "rows_read": result.rows_read, "rows_written": result.rows_written,
                       "rows_in_target": result.rows_in_target, "bytes_written": result.bytes_written,
                       "seconds": round(result.seconds, 3), "run_id": result.run_id, "error": _error(result.error)}
    return logging.INFO, {}


class LogRenderer(PlainRenderer):
    """The plain renderer's lines, told as log records: the handler decides between text and JSON."""

    def __init__(self, every: float = 10.0):
        super().__init__(every=every)
        self._told = threading.local()  # moves tell events from their own threads

    def __call__(self, event: Event) -> None:
        self._told.event = event
        if event.kind == "plan":
            for failure in event.detail.get("failures", []):
                MOVES.error(f"failed   {failure.flow}.{failure.entity}  {str(failure.error).splitlines()[0]}",
                            extra={"event": "plan-failure", "flow": failure.flow, "entity": failure.entity,
                                   "fields": {"status": "failed", "error": _error(failure.error)}})
        elif event.kind == "run-end":
            run = event.detail["result"]
            RUN.log(logging.INFO if run.ok else logging.ERROR,
                    f"run end  {len(run.moves) - len(run.failed)} of {len(run.moves)} entities moved",
                    extra={"event": "run-end", "flow": None, "entity": None,
                           "fields": {"ok": run.ok, "exit_code": run.exit_code, "seconds": round(run.seconds, 3),
                                      "rows_written": sum(m.rows_written for m in run.moves)}})
        else:
            super().__call__(event)

    def line(self, text: str) -> None:
        event: Event = self._told.event
        level, fields = fields_of(event)
        MOVES.log(level, text, extra={"event": event.kind, "flow": event.flow, "entity": event.entity,
                                      "fields": fields})


def log_error(error: BaseException, message: str) -> None:
    """An error that stopped the command, as one record (the `--log-format json` stream stays JSON)."""
    from hygge.progress.document import error_body

    LOGGER.getChild("cli").error(message, extra={"event": "error", "flow": getattr(error, "flow", None),
                                                 "entity": getattr(error, "entity", None),
                                                 "fields": {"error": error_body(error)}})
