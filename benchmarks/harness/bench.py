"""Timing a lane: prepare its source (untimed), then for each run reset every contender's target, run the
contender as a whole process, and check the rows that landed. Runs are interleaved across contenders, so noise
from a shared machine spreads over all of them instead of hitting one."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

from harness import targets
from harness.lanes import Lane
from harness.measure import Measurement, log_tail, run_process
from harness.settings import WORK, rows_label
from harness.sources import Source
from harness.targets import Target
from harness.tools.base import Contender, Unavailable

OK, FAILED, UNAVAILABLE = "ok", "FAILED", "not available"


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

    def over_budget(self, budget: float) -> bool:
        """True when one more run of this contender would likely take its total time past the budget."""
        spent = sum(r["seconds"] for r in self.runs)
        return spent + spent / len(self.runs) > budget

    def fail(self, status: str, reason: str) -> None:
        self.status, self.reason = status, reason

    def summary(self, source: Source | None) -> dict[str, Any]:
        good = [r for r in self.runs if r["ok"]]
        row: dict[str, Any] = {"contender": self.contender.name, "tool": self.contender.tool,
                               "slug": self.contender.slug, "status": self.status, "reason": self.reason,
                               "argv": self.argv, "runs": self.runs}
        if source is not None and self.status == OK and good:
            median = statistics.median(r["seconds"] for r in good)
            row.update(median_s=median, rows_per_s=source.rows / median, mb_per_s=source.bytes / 1e6 / median,
                       peak_rss_mb=max(r["peak_rss_mb"] for r in good),
                       cpu_s=statistics.median(r["cpu_seconds"] for r in good),
                       s_per_entity=median / source.entities)
        return row


def size_label(lane: Lane, rows: int) -> str:
    return "500x1k" if lane.fixed_size else rows_label(rows)


def run_lane(lane: Lane, rows: int, contenders: list[Contender], runs: int, timeout: float, budget: float,
             keep: bool = False) -> dict[str, Any]:
    label = size_label(lane, rows)
    header = {"lane": lane.key, "title": lane.title, "size": label}
    try:
        source = lane.source(rows)
    except Exception as exc:  # noqa: BLE001 - a source that cannot be prepared makes the lane unavailable
        reason = f"source not prepared: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        print(f"[{lane.key} {label}] {reason}", flush=True)
        entries = [Entry(c, None, UNAVAILABLE, reason) for c in contenders]
        return {**header, "rows": 0, "input_bytes": 0, "entities": 0, "results": [e.summary(None) for e in entries]}
    entries = [_checked(Entry(c, targets.target_for(lane.target, f"{lane.key}_{label}", c.slug)), source, lane, label)
               for c in contenders]
    for index in range(runs):
        for entry in entries:
            if entry.active:
                _timed_run(entry, source, lane, label, index, runs, timeout)
                _stop_if_over_budget(entry, budget, index, runs)
    if not keep:
        for entry in entries:
            if entry.target is not None:
                targets.drop(entry.target)
    return {**header, "rows": source.rows, "input_bytes": source.bytes, "entities": source.entities,
            "results": [e.summary(source) for e in entries]}


def _checked(entry: Entry, source: Source, lane: Lane, label: str) -> Entry:
    assert entry.target is not None
    try:
        targets.reset(entry.target)
        entry.contender.check(source, entry.target)
    except Unavailable as exc:
        entry.fail(UNAVAILABLE, str(exc))
    except Exception as exc:  # noqa: BLE001 - the target could not be reset: nothing of this contender can run
        entry.fail(FAILED, f"could not prepare the target: {type(exc).__name__}: {exc}")
    if entry.status != OK:
        print(f"[{lane.key} {label}] {entry.contender.name}: {entry.status}: {entry.reason}", flush=True)
    return entry


def _timed_run(entry: Entry, source: Source, lane: Lane, label: str, index: int, runs: int, timeout: float) -> None:
    target = entry.target
    assert target is not None
    try:
        targets.reset(target)
        command = entry.contender.build(source, target)
    except Unavailable as exc:
        entry.fail(UNAVAILABLE, str(exc))
        return
    entry.argv = command.argv
    log = WORK / "logs" / f"{lane.key}_{label}" / f"{entry.contender.slug}_run{index + 1}.log"
    measured = run_process(command.argv, command.env, log, timeout)
    landed, problem = _verify(measured, target, source.rows, log, timeout)
    entry.runs.append({"seconds": measured.seconds, "peak_rss_mb": measured.peak_rss_mb,
                       "cpu_seconds": measured.cpu_seconds, "exit_code": measured.exit_code,
                       "rows_in_target": landed, "ok": problem is None, "error": problem, "log": str(log)})
    verdict = "ok" if problem is None else f"FAILED: {problem}"
    print(f"[{lane.key} {label}] {entry.contender.name} run {index + 1}/{runs}: {measured.seconds:.2f} s, "
          f"{measured.peak_rss_mb:.0f} MB, {verdict}", flush=True)
    if problem is not None:
        entry.fail(FAILED, problem)


def _stop_if_over_budget(entry: Entry, budget: float, index: int, runs: int) -> None:
    if entry.active and index + 1 < runs and entry.over_budget(budget):
        entry.finished = True
        entry.reason = f"{len(entry.runs)} of {runs} runs: more would pass the {budget:.0f} s time budget"


def _verify(measured: Measurement, target: Target, expected: int, log: Any, timeout: float) -> tuple[int | None,
                                                                                                    str | None]:
    """(rows in the target, None) when the run counts as a success, else (rows or None, what went wrong)."""
    if measured.timed_out:
        return None, f"killed after the {timeout:.0f} s timeout"
    if measured.exit_code != 0:
        return None, f"exit code {measured.exit_code}: {log_tail(log)}"
    try:
        landed = targets.count(target)
    except Exception as exc:  # noqa: BLE001 - a target we cannot count is a failed run, whatever the reason
        return None, f"target could not be counted: {type(exc).__name__}: {str(exc)[:200]}"
    if landed != expected:
        return landed, f"target holds {landed:,} rows, expected {expected:,}"
    return landed, None
