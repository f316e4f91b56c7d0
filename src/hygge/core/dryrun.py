"""`hygge go --dry-run`: what each Move would do, found by opening sources but moving nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hygge.core.config import SchemaPolicy
from hygge.core.drift import compare
from hygge.core.move import as_hygge_error, read_state
from hygge.core.plan import MovePlan
from hygge.core.planner import open_home, open_store
from hygge.core.polish import Polisher
from hygge.errors import HyggeError
from hygge.state.journal import utc_now


@dataclass
class PlannedMove:
    plan: MovePlan
    source: str = ""
    target: str = ""
    columns: list[str] = field(default_factory=list)
    estimated_rows: int | None = None
    rows_exact: bool = True
    rows_in_target: int | None = None
    watermark: Any = None
    error: HyggeError | None = None
    drift: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "flow": self.plan.flow,
            "entity": self.plan.entity,
            "run_type": self.plan.run_type,
            "tags": list(self.plan.tags),
            "selected_by": self.plan.selected_by,
            "source": self.source,
            "target": self.target,
            "columns": self.columns,
            "estimated_rows": self.estimated_rows,
            "estimated_rows_exact": self.rows_exact if self.estimated_rows is not None else None,
            "watermark": self.watermark,
            "drift": self.drift,
            "error": self.error.to_dict() if self.error else None,
        }


def describe(plan: MovePlan) -> PlannedMove:
    planned = PlannedMove(plan)
    try:
        home = open_home(plan.root, plan.home, plan.connections)
        store = open_store(plan.root, plan.store, plan.connections)
        planned.target = store.location(plan)
        state = store.state(plan)
        planned.watermark = state.watermark if state else None
        source = home.open(plan, read_state(plan, state))
        try:
            planned.source = source.description
            planned.estimated_rows, planned.rows_exact = source.estimated_rows, source.rows_exact
            polisher = Polisher(plan.polish, source.schema, utc_now(), flow=plan.flow, entity=plan.entity)
            planned.columns = list(polisher.schema.names)
            target = store.target_schema(plan)
            if target is not None:
                planned.drift = compare(polisher.schema, target).lines(SchemaPolicy.model_validate(plan.schema_policy))
        finally:
            source.close()
    except Exception as exc:  # noqa: BLE001 - shown per entity, like a failed move
        planned.error = as_hygge_error(exc, plan)
    return planned
