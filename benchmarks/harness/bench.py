"""Timing a lane: prepare its source (untimed), then for each run reset every contender's target, run the
contender as a whole process, and check the rows that landed. Runs are interleaved across contenders, so noise
from a shared machine spreads over all of them instead of hitting one."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from harness import buckets, servers, targets
from harness.lanes import Lane, servers_for
from harness.measure import Measurement, log_tail, run_process
from harness.settings import WORK, rows_label
from harness.sources import Source
from harness.targets import Target
from harness.tools.base import Contender, Unavailable

OK, FAILED, UNAVAILABLE = "ok", "FAILED", "not available"


@dataclass(frozen=True)
class Limits:
    runs: int          # timed runs per contender
    timeout: float     # seconds before one run is killed
    budget: float      # seconds one contender may spend on the lane before it stops repeating
    keep: bool = False  # leave the targets in place afterwards


@dataclass
class Entry:
    """One contender in one lane at one size, with all its runs."""
    contender: Contender
    target: Target | None
    status: str = OK
    reason: str = ""
    runs: list[dict[str, Any]] = field(default_factory=list)
    argv: list[str] = field(default_factory=list)
    finished: bool = False

    @property
    def active(self) -> bool:
        return self.status == OK and not self.finished

    def fail(self, status: str, reason: str) -> None:
        self.status, self.reason = status, reason

    def stop_if_over_budget(self, limits: Limits) -> None:
        """Stop repeating when one more run would likely take this contender's total past the budget."""
        spent = sum(r["seconds"] for r in self.runs)
        if self.active and len(self.runs) < limits.runs and spent + spent / len(self.runs) > limits.budget:
            self.finished = True
            self.reason = f"{len(self.runs)} of {limits.runs} runs: more would pass the {limits.budget:.0f} s budget"

    def summary(self, source: Source | None) -> dict[str, Any]:
        row: dict[str, Any] = {"contender": self.contender.name, "tool": self.contender.tool,
                               "slug": self.contender.slug, "status": self.status, "reason": self.reason,
                               "argv": self.argv, "runs": self.runs}
        good = [r for r in self.runs if r["ok"]]
        if source is not None and self.status == OK and good:
            median = statistics.median(r["seconds"] for r in good)
            row.update(median_s=median, rows_per_s=source.rows / median, mb_per_s=source.bytes / 1e6 / median,
                       peak_rss_mb=max(r["peak_rss_mb"] for r in good),
                       cpu_s=statistics.median(r["cpu_seconds"] for r in good),
                       s_per_entity=median / source.entities)
            server_cpu = [r["server_cpu_seconds"] for r in good if r.get("server_cpu_seconds") is not None]
            if server_cpu:
                row["server_cpu_s"] = statistics.median(server_cpu)
                names = {name for r in good for name in r.get("server_cpu_by_server", {})}
                row["server_cpu_by_server"] = {
                    name: statistics.median(v) if (v := [r["server_cpu_by_server"][name] for r in good
                                                          if r["server_cpu_by_server"].get(name) is not None])
                    else None for name in sorted(names)}
        return row


class LaneRun:
    """One lane at one size: its source, the contenders' entries, and the interleaved runs."""

    def __init__(self, lane: Lane, rows: int, limits: Limits):
        self.lane = lane
        self.limits = replace(limits, timeout=min(limits.timeout, lane.timeout or limits.timeout))
        self.label = lane.fixed_size or rows_label(rows)
        self.rows = rows
        self.seed: Path | None = None
        self.clock = servers.ServerClock({})

    def say(self, message: str) -> None:
        print(f"[{self.lane.key} {self.label}] {message}", flush=True)

    def run(self, contenders: list[Contender]) -> dict[str, Any]:
        header = {"lane": self.lane.key, "title": self.lane.title, "size": self.label, "servers": []}
        try:
            source = self.lane.source(self.rows)
            self.seed = self.lane.seed(self.rows) if self.lane.seed else None
            header["servers"] = list(servers_for(source.kind, self.lane.target))  # by the source as made
            self.clock = servers.ServerClock({name: SERVER_ROOTS[name] for name in header["servers"]})
        except Exception as exc:  # noqa: BLE001 - a source that cannot be prepared makes the lane unavailable
            reason = f"source or server not prepared: {type(exc).__name__}: {(str(exc).splitlines() or [''])[0]}"
            self.say(reason)
            return {**header, "rows": 0, "input_bytes": 0, "entities": 0,
                    "results": [Entry(c, None, UNAVAILABLE, reason).summary(None) for c in contenders]}
        entries = [self.checked(c, source) for c in contenders]
        for index in range(self.limits.runs):
            for entry in (e for e in entries if e.active):
                self.timed_run(entry, source, index)
                entry.stop_if_over_budget(self.limits)
        if not self.limits.keep:
            self.clean_up(entries)
        return {**header, "rows": source.rows, "input_bytes": source.bytes, "entities": source.entities,
                "target_rows": source.target_rows, "results": [e.summary(source) for e in entries]}

    def checked(self, contender: Contender, source: Source) -> Entry:
        entry = Entry(contender, targets.target_for(self.lane.target, f"{self.lane.key}_{self.label}", contender.slug,
                                                   self.lane.hygge_store, self.seed))
        try:
            targets.reset(entry.target)
            contender.check(source, entry.target)
        except Unavailable as exc:
            entry.fail(UNAVAILABLE, str(exc))
        except Exception as exc:  # noqa: BLE001 - the target could not be reset: nothing of this contender can run
            entry.fail(FAILED, f"could not prepare the target: {type(exc).__name__}: {exc}")
        if entry.status != OK:
            self.say(f"{contender.name}: {entry.status}: {entry.reason}")
        return entry

    def timed_run(self, entry: Entry, source: Source, index: int) -> None:
        assert entry.target is not None
        try:
            targets.reset(entry.target)
            command = entry.contender.build(source, entry.target)
        except Unavailable as exc:
            entry.fail(UNAVAILABLE, str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - e.g. a database went away between runs
            entry.fail(FAILED, f"could not reset the target: {type(exc).__name__}: {exc}")
            return
        entry.argv = command.argv
        log = WORK / "logs" / f"{self.lane.key}_{self.label}" / f"{entry.contender.slug}_run{index + 1}.log"
        before = self.clock.sample()
        measured = run_process(command.argv, command.env, log, self.limits.timeout)
        spent = self.clock.spent(before, self.clock.sample())
        landed, problem = verify(measured, entry.target, source, log, self.limits.timeout)
        known = [v for v in spent.values() if v is not None]
        server_cpu = sum(known) if known else None
        entry.runs.append({"seconds": measured.seconds, "peak_rss_mb": measured.peak_rss_mb,
                           "cpu_seconds": measured.cpu_seconds, "server_cpu_seconds": server_cpu,
                           "server_cpu_by_server": spent, "exit_code": measured.exit_code,
                           "rows_in_target": landed, "ok": problem is None, "error": problem, "log": str(log)})
        shown = "" if server_cpu is None else f", server CPU {server_cpu:.2f} s"
        self.say(f"{entry.contender.name} run {index + 1}/{self.limits.runs}: {measured.seconds:.2f} s, "
                 f"{measured.peak_rss_mb:.0f} MB, CPU {measured.cpu_seconds:.2f} s{shown}, "
                 f"{'ok' if problem is None else 'FAILED: ' + problem}")
        if problem is not None:
            entry.fail(FAILED, problem)

    def clean_up(self, entries: list[Entry]) -> None:
        for entry in entries:
            if entry.target is not None:
                try:
                    targets.drop(entry.target)
                except Exception as exc:  # noqa: BLE001 - leftovers are harmless; the next reset drops them
                    self.say(f"could not drop the target of {entry.contender.name}: {exc}")


def verify(measured: Measurement, target: Target, source: Source, log: Path,
           timeout: float) -> tuple[int | None, str | None]:
    """(rows in the target, None) when the run counts as a success, else (rows or None, what went wrong)."""
    if measured.timed_out:
        return None, f"killed after the {timeout:.0f} s timeout"
    if measured.exit_code != 0:
        return None, f"exit code {measured.exit_code}: {log_tail(log)}"
    try:
        landed = targets.count(target)
        marked = targets.count_marked(target) if source.marked else 0
    except Exception as exc:  # noqa: BLE001 - a target we cannot count is a failed run, whatever the reason
        return None, f"target could not be counted: {type(exc).__name__}: {str(exc)[:200]}"
    if landed != source.target_rows:
        return landed, f"target holds {landed:,} rows, expected {source.target_rows:,}"
    if marked != source.marked:
        return landed, f"target holds {marked:,} changed rows (qty = -1), expected {source.marked:,}"
    return landed, None


# How each server's root process is found (once per lane), for its CPU time.
SERVER_ROOTS = {"postgres": servers.postgres_root, "mariadb": servers.mariadb_root,
                "s3": lambda: buckets.server().pid}
