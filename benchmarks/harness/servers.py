"""CPU time of the servers a lane talks to (PostgreSQL, MariaDB, the S3 server), read from /proc before and after a
run, so a report shows where the cycles went: in the contender (client CPU, from its rusage) or in the server.

A server's CPU is the user + system time of its process tree: every live process under its root, plus what the
processes of the tree have reaped (cutime/cstime: a PostgreSQL backend that ended during the run is counted there
once the postmaster reaps it). The servers are local processes on this machine; one that is not (or whose pid cannot
be found) reads as None and is shown as "—". The figure covers the whole server, so other clients of a shared server
during the run are counted too: measure on a quiet machine."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, utime + stime + cutime + cstime in seconds) of a live process."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()  # the command name may hold spaces and parentheses
    return int(fields[1]), sum(int(f) for f in fields[11:15]) / TICK


def tree_cpu_seconds(root: int) -> float | None:
    """CPU seconds of root and every process below it, including what they reaped."""
    stats: dict[int, tuple[int, float]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            stats[int(entry.name)] = stat
    if root not in stats:
        return None
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in stats.items():
        children.setdefault(parent, []).append(pid)
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        total += stats[pid][1]
        todo.extend(children.get(pid, ()))
    return total


def parent_of(pid: int) -> int | None:
    stat = _stat(pid)
    return stat[0] if stat else None


def postgres_root() -> int | None:
    """The postmaster: the parent of the backend serving this query (None when the server is not local)."""
    from harness import dbs

    try:
        backend = int(dbs.pg_scalar("SELECT pg_backend_pid()"))
    except Exception:  # noqa: BLE001 - no server: no server CPU
        return None
    return parent_of(backend)


def mariadb_root() -> int | None:
    """mariadbd, from the pid file it names (None when the file is not readable here)."""
    from harness import dbs

    try:
        return int(Path(str(dbs.my_scalar("SELECT @@pid_file"))).read_text().split()[0])
    except Exception:  # noqa: BLE001 - no server, or not on this machine
        return None


class ServerClock:
    """The servers of one lane, by name, each with a way to find its root pid (found once per lane)."""

    def __init__(self, finders: dict[str, Callable[[], int | None]]):
        self.roots = {name: find() for name, find in finders.items()}

    def sample(self) -> dict[str, float | None]:
        return {name: (tree_cpu_seconds(root) if root else None) for name, root in self.roots.items()}

    @staticmethod
    def spent(before: dict[str, float | None], after: dict[str, float | None]) -> dict[str, float | None]:
        spent: dict[str, float | None] = {}
        for name, start in before.items():
            end = after.get(name)
            spent[name] = end - start if start is not None and end is not None else None
        return spent
