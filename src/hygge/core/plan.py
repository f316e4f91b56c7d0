"""A Move's plan: plain, picklable data that says everything a worker needs."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from hygge.core.config import DEFAULT_BATCH_BYTES, DEFAULT_QUEUE_BYTES


@dataclass(frozen=True)
class MovePlan:
    flow: str
    entity: str
    source: str
    target: str
    home: dict[str, Any]
    store: dict[str, Any]
    run_type: str
    root: str
    polish: dict[str, Any] = field(default_factory=dict)
    allow_empty: bool = False
    watermark: str | None = None
    lookback: str | int | float | None = None
    keys: tuple[str, ...] = ()
    delete_column: str | None = None
    schema_policy: dict[str, Any] = field(default_factory=dict)
    query: str | None = None
    queue_bytes: int = DEFAULT_QUEUE_BYTES
    batch_bytes: int = DEFAULT_BATCH_BYTES
    lock_wait: float = 0.0
    connections: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Backfill window (hygge go --from/--to), as text in the watermark's type.
    window: tuple[str | None, str | None] = (None, None)
    # The project (hygge.yml `name:`): a store's journal keeps each project's state and runs apart.
    project: str = ""
    # hygge.yml `tags:` of the flow and the entity; and which selectors chose this move (shown in the dry run).
    tags: tuple[str, ...] = ()
    selected_by: str = ""
    # Whether a database Store keys the tables it makes on `keys` (set by the move: a merge or an incremental
    # load, whose rows are one per key by construction, even on the incremental's first, full_drop run).
    key_tables: bool = False
    # The run type the project gives the entity, when this run overrides it (`hygge go --full-drop`): a full load
    # of an incremental entity commits the watermark its next, incremental run starts from (db/high_water.py).
    configured_run_type: str = ""

    @property
    def key(self) -> str:
        return f"{self.flow}.{self.entity}"

    def with_run_type(self, run_type: str) -> MovePlan:
        return replace(self, run_type=run_type)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
