"""What `hygge report` shows, gathered from the journal of every Store of a project: runs, state, freshness."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from hygge.core import durations
from hygge.core.history import collect
from hygge.core.plan import MovePlan
from hygge.core.planner import open_store, plan
from hygge.core.results import OK_STATUSES
from hygge.core.workspace import Workspace, merged_defaults
from hygge.errors import HyggeError
from hygge.state.journal import EntityState, RunRecord

RUNS_SHOWN = 50  # per entity: a week of a few runs a day, or two days of hourly ones
# Records that are neither a success nor a failure: a run still going, or one that started over at once because
# another run committed the entity first (StateMoved); the run after it says how it ended.
NOT_ENDED = ("running", "restarted")


def moment(text: str | None) -> datetime | None:
    """A journal timestamp as an aware datetime (records are written in UTC; a zone-less one is taken as UTC)."""
    if not text:
        return None
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)


@dataclass
class Run:
    """One run of an entity, with the times the charts need."""

    record: RunRecord
    started: datetime | None
    ended: datetime | None

    @classmethod
    def of(cls, record: RunRecord) -> Run:
        return cls(record, moment(record.started_at), moment(record.ended_at))

    @property
    def ok(self) -> bool:
        return self.record.status in OK_STATUSES

    @property
    def seconds(self) -> float | None:
        if self.started is None or self.ended is None:
            return None
        return max((self.ended - self.started).total_seconds(), 0.0)

    @property
    def rows_per_second(self) -> float | None:
        seconds = self.seconds
        if not self.ok or not seconds:
            return None
        return self.record.rows_written / seconds

    @property
    def next_step(self) -> str | None:
        """The hint of the run's error: HyggeError's text carries it on its ``next step:`` line."""
        for line in (self.record.error or "").splitlines():
            if line.strip().startswith("next step:"):
                return line.split("next step:", 1)[1].strip()
        return None


@dataclass
class EntityReport:
    flow: str
    entity: str
    location: str = ""
    runs: list[Run] = field(default_factory=list)  # oldest first, the last RUNS_SHOWN
    total_runs: int = 0
    expect_every: str | None = None
    watermark: Any = None
    watermark_column: str | None = None
    last_success: Run | None = None
    problem: str | None = None  # why the entity's state could not be read

    @property
    def key(self) -> str:
        return f"{self.flow}.{self.entity}"

    @property
    def last(self) -> Run | None:
        return self.runs[-1] if self.runs else None

    @property
    def expect_seconds(self) -> float | None:
        return durations.seconds(self.expect_every) if self.expect_every is not None else None

    def age(self, now: datetime) -> float | None:
        """Seconds since the last successful load ended, or None when there was none."""
        success = self.last_success
        at = success and (success.ended or success.started)
        return (now - at).total_seconds() if at else None

    def overdue(self, now: datetime) -> bool:
        """Whether the entity has `expect_every` and its last successful load is older than that (or missing)."""
        limit = self.expect_seconds
        if limit is None:
            return False
        age = self.age(now)
        return age is None or age > limit

    @property
    def failures(self) -> list[Run]:
        return [r for r in reversed(self.runs) if not r.ok and r.record.status not in NOT_ENDED]

    @property
    def schema_changes(self) -> list[Run]:
        return [r for r in reversed(self.runs) if r.record.schema_changes]


@dataclass
class ProjectReport:
    project: str
    generated_at: datetime
    entities: list[EntityReport] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # stores or flows that could not be read

    def entity(self, key: str) -> EntityReport:
        found = [e for e in self.entities if e.key == key]
        if not found:
            raise KeyError(key)
        return found[0]

    def failing(self) -> list[EntityReport]:
        return [e for e in self.entities
                if e.last is not None and not e.last.ok and e.last.record.status not in NOT_ENDED]

    def overdue(self) -> list[EntityReport]:
        return [e for e in self.entities if e.overdue(self.generated_at)]


def _why(exc: Exception) -> str:
    return str(exc) if isinstance(exc, HyggeError) else f"unexpected {type(exc).__name__}: {exc}"


def gather(ws: Workspace, now: datetime | None = None, runs_shown: int = RUNS_SHOWN) -> ProjectReport:
    report = ProjectReport(ws.name, now or datetime.now(timezone.utc))
    entities: dict[tuple[str, str], EntityReport] = {}

    def entity(flow: str, name: str) -> EntityReport:
        return entities.setdefault((flow, name), EntityReport(flow, name))

    plans: list[MovePlan] = []
    try:
        plans, failures = plan(ws)
    except HyggeError as exc:
        report.problems.append(str(exc))
        failures = []
    for failure in failures:
        if failure.entity == "*":  # a flow whose home could not list its entities
            report.problems.append(str(failure.error))
        else:
            entity(failure.flow, failure.entity).problem = str(failure.error)
    for p in plans:
        entity(p.flow, p.entity)
    for name in ws.flows:
        # One flow at a time: a store that cannot be read leaves the other flows' runs in the report.
        try:
            records = collect(ws, [name], None, None)
        except Exception as exc:  # noqa: BLE001 - shown in the report, which still covers the other stores
            report.problems.append(f"flow {name}: its store's history could not be read: {_why(exc)}")
            continue
        for record in records:
            entity(record.flow, record.entity).runs.append(Run.of(record))
    by_key = {p.key: p for p in plans}
    for item in entities.values():
        _settle(ws, item, by_key.get(item.key), runs_shown)
    report.entities = sorted(entities.values(), key=lambda e: (e.flow, e.entity))
    return report


def _settle(ws: Workspace, item: EntityReport, planned: MovePlan | None, runs_shown: int) -> None:
    """Freshness, expectations and the committed state of one entity, beside its runs."""
    item.total_runs = len(item.runs)
    successes = [r for r in item.runs if r.ok]
    item.last_success = successes[-1] if successes else None
    item.runs = item.runs[-runs_shown:]
    flow = ws.flows.get(item.flow)
    if flow is not None:
        explicit = next((e for e in flow.entities if e.name == item.entity), None)
        every = merged_defaults(ws.config, flow, explicit).expect_every
        item.expect_every = None if every is None else str(every)
    state: EntityState | None = None
    if planned is not None:
        try:
            store = open_store(planned.root, planned.store, planned.connections)
            item.location = store.location(planned)
            state = store.state(planned)
        except Exception as exc:  # noqa: BLE001 - the runs are still worth showing
            item.problem = item.problem or f"its state could not be read: {_why(exc)}"
    if state is not None:
        item.watermark, item.watermark_column = state.watermark, state.watermark_column
        _fill_changes(item, state)
    elif item.last_success is not None:
        item.watermark = item.last_success.record.watermark_after


def _fill_changes(item: EntityReport, state: EntityState) -> None:
    """A database Store's run table has no column for schema changes; its state keeps the last run's whole record."""
    last = state.last_run or {}
    changes = last.get("schema_changes")
    if not changes:
        return
    for run in item.runs:
        if run.record.run_id == last.get("run_id") and not run.record.schema_changes:
            run.record.schema_changes = list(changes)
