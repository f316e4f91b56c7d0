"""`hygge history` and `hygge reset`: the journal of each Store, read and (carefully) edited."""

from __future__ import annotations

from typing import Any

from hygge.core.planner import Selection, open_store, plan, select_flows
from hygge.core.validation import deep_merge
from hygge.core.workspace import Workspace
from hygge.errors import ConfigError, ConfigProblem
from hygge.state.journal import RunRecord


def collect(ws: Workspace, flows: list[str], entity: str | None, limit: int | None) -> list[RunRecord]:
    """Runs of the selected flows, oldest first; stores shared by several flows are read once."""
    seen: set[str] = set()
    records: list[RunRecord] = []
    flow_name, _, entity_name = entity.partition(".") if entity else (None, "", None)
    chosen = select_flows(ws, Selection(flows=flows or ([flow_name] if flow_name else [])))
    for flow in chosen:
        config: dict[str, Any] = deep_merge(ws.config.defaults.store, flow.config.store, flow.config.defaults.store)
        store = open_store(ws.root, config, ws.config.connections)
        where = f"{config.get('type')}|{store.describe()}"
        if where in seen:
            continue
        seen.add(where)
        names = {f.name for f in chosen}
        records += [r for r in store.history(ws.name, None, entity_name or None) if r.flow in names]
    records.sort(key=lambda r: r.started_at)
    return records[-limit:] if limit else records


def forget(ws: Workspace, entity: str) -> bool:
    plans, failures = plan(ws, Selection(entities=[entity]))
    if failures:
        raise failures[0].error
    if len(plans) != 1:
        raise ConfigError([ConfigProblem(f"'{entity}' names {len(plans)} entities", expected="exactly one",
                                         hint="give FLOW.ENTITY without wildcards")])
    target = plans[0]
    store = open_store(target.root, target.store, target.connections)
    return bool(store.forget(target))
