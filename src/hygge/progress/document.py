"""The one JSON document `--json` prints on stdout, for `go`, `go --dry-run` and `history`, success or not.

Scripts read it with `jq`, so its shape holds whatever happened: the same envelope (hygge version, command,
start and end in UTC, ok, exit code) around the run's moves, the dry run's plan, the runs of the journal, or
the error that stopped the command before any of that. Sources and targets are objects a script can pick
apart (kind, family, path or table), never only the text a person reads.
"""

from __future__ import annotations

import posixpath
from datetime import datetime, timezone
from typing import Any

from hygge import __version__
from hygge.errors import HyggeError

DATABASES = frozenset({"postgres", "mysql", "sqlite", "duckdb"})
LAKE_TABLES = frozenset({"delta", "iceberg", "open_mirroring"})


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def envelope(command: str, started: datetime, ended: datetime, exit_code: int, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "hygge_version": __version__,
        "command": command,
        "started_at": started.isoformat(timespec="milliseconds"),
        "ended_at": ended.isoformat(timespec="milliseconds"),
        "ok": exit_code == 0,
        "exit_code": exit_code,
        **body,
    }


def family(kind: str) -> str:
    return "database" if kind in DATABASES else "lake table" if kind in LAKE_TABLES else "files"


def endpoint(config: dict[str, Any], name: str, display: str = "", query: str | None = None) -> dict[str, Any]:
    """A Home's or Store's side of one move: what kind of place, and where in it. No URL: it may hold a password."""
    kind = str(config.get("type", ""))
    out: dict[str, Any] = {"kind": kind, "family": family(kind)}
    if isinstance(config.get("connection"), str):
        out["connection"] = config["connection"]
    if out["family"] == "database":
        if query:
            out["query"] = query
        else:
            out["table"] = name
        if config.get("schema"):
            out["schema"] = config["schema"]
        if config.get("path"):  # sqlite and duckdb: the database file
            out["database"] = str(config["path"])
    else:
        root = str(config.get("path", ""))
        out["path"] = posixpath.join(root, name) if root else name
    out["display"] = display
    return out


def error_body(error: BaseException) -> dict[str, Any]:
    """An error a script can branch on: kind, message, hint and, for configuration, every problem."""
    if isinstance(error, HyggeError):
        return error.to_dict()
    return {"kind": "unexpected", "message": f"{type(error).__name__}: {error}", "type": type(error).__name__,
            "hint": "run again with --verbose to see where, and report it if it persists"}


def plan_sides(plan: Any) -> dict[str, Any]:
    return {"source": endpoint(plan.home, plan.source, query=plan.query),
            "target": endpoint(plan.store, plan.target), "tags": list(plan.tags), "selected_by": plan.selected_by}


def run_body(run: Any, plans: list[Any]) -> dict[str, Any]:
    """`hygge go`: the run report, each move with its structured source and target."""
    by_key = {p.key: p for p in plans}
    body = run.to_dict()
    for move, data in zip(run.moves, body["moves"], strict=True):
        plan = by_key.get(move.key)
        if plan is not None:
            sides = plan_sides(plan)
            sides["source"]["display"] = move.source
            sides["target"]["display"] = move.location
            data.update(sides)
        else:  # never planned (its flow's entities could not be listed): nothing is known of its ends
            data.update({"source": None, "target": None, "tags": [], "selected_by": ""})
    body.pop("ok", None)
    body.pop("exit_code", None)
    return body


def dry_run_body(project: str, planned: list[Any], failures: list[Any]) -> dict[str, Any]:
    moves = []
    for p in planned:
        data = p.to_dict()
        sides = plan_sides(p.plan)
        sides["source"]["display"] = p.source or p.plan.source
        sides["target"]["display"] = p.target
        data.update(sides)
        moves.append(data)
    return {"project": project, "dry_run": True, "moves": moves,
            "failures": [{"flow": f.flow, "entity": f.entity, "error": f.error.to_dict()} for f in failures]}
