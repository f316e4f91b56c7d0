"""From a workspace and a selection to the list of Moves to run."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Any

from hygge.core import registry
from hygge.core.config import EntityConfig
from hygge.core.plan import MovePlan
from hygge.core.validation import deep_merge
from hygge.core.workspace import Flow, Workspace, merged_defaults
from hygge.errors import ConfigError, ConfigProblem, HyggeError, did_you_mean


@dataclass
class Selection:
    flows: list[str] = field(default_factory=list)
    entities: list[str] = field(default_factory=list)  # "flow.entity", globs allowed
    run_type: str | None = None
    window: tuple[str | None, str | None] = (None, None)


@dataclass
class PlanFailure:
    """A flow or entity that could not even be planned (its home could not list entities, say)."""

    flow: str
    entity: str
    error: HyggeError


def _usage(message: str, found: str, choices: list[str], what: str) -> ConfigError:
    return ConfigError([ConfigProblem(
        message, expected=f"one of {', '.join(choices) or '(none)'}", found=found,
        hint=did_you_mean(found, choices) or f"run `hygge go --dry-run` to list the {what}",
    )])


def _entity_patterns(selection: Selection, flows: dict[str, Flow]) -> dict[str, list[str]]:
    patterns: dict[str, list[str]] = {}
    for spec in selection.entities:
        flow, dot, entity = spec.partition(".")
        if not dot or not entity:
            raise ConfigError([ConfigProblem(
                f"--entity '{spec}' does not say which flow", expected="FLOW.ENTITY, e.g. sales.orders",
                found=spec, hint="put the flow name and a dot in front of the entity")])
        if flow not in flows:
            raise _usage(f"--entity names flow '{flow}', which does not exist", flow, sorted(flows), "flows")
        patterns.setdefault(flow, []).append(entity)
    return patterns


def select_flows(ws: Workspace, selection: Selection) -> list[Flow]:
    for name in selection.flows:
        if name not in ws.flows:
            raise _usage(f"there is no flow '{name}'", name, sorted(ws.flows), "flows")
    patterns = _entity_patterns(selection, ws.flows)
    names = selection.flows or list(patterns) or [n for n, f in ws.flows.items() if f.config.enabled]
    if selection.flows and patterns:
        names = sorted(set(names) | set(patterns))
    return [ws.flows[n] for n in sorted(set(names))]


def plan(ws: Workspace, selection: Selection | None = None) -> tuple[list[MovePlan], list[PlanFailure]]:
    selection = selection or Selection()
    patterns = _entity_patterns(selection, ws.flows)
    plans: list[MovePlan] = []
    failures: list[PlanFailure] = []
    for flow in select_flows(ws, selection):
        try:
            entities = _entities_of(ws, flow)
        except HyggeError as exc:
            failures.append(PlanFailure(flow.name, "*", exc.located(flow=flow.name)))
            continue
        wanted = patterns.get(flow.name)
        if wanted:
            names = [e.name for e, _ in entities]
            for pattern in wanted:
                if not any(fnmatch.fnmatchcase(n, pattern) for n in names):
                    raise _usage(f"flow '{flow.name}' has no entity '{pattern}'", pattern, names, "entities")
            entities = [(e, s) for e, s in entities if any(fnmatch.fnmatchcase(e.name, p) for p in wanted)]
        for entity, source in entities:
            try:
                plans.append(_plan_one(ws, flow, entity, source, selection))
            except HyggeError as exc:
                failures.append(PlanFailure(flow.name, entity.name, exc.located(flow=flow.name, entity=entity.name)))
    if selection.window != (None, None) and len(plans) + len(failures) != 1:
        raise ConfigError([ConfigProblem(
            f"a backfill (--from/--to) runs one entity, and this selection has {len(plans) + len(failures)}",
            expected="--entity FLOW.ENTITY naming exactly one entity", found=", ".join(p.key for p in plans[:5]),
            hint="add --entity FLOW.ENTITY")])
    return plans, failures


def _entities_of(ws: Workspace, flow: Flow) -> list[tuple[EntityConfig, str | None]]:
    explicit = {e.name: e for e in flow.entities}
    if not flow.discovers:
        return [(e, None) for e in flow.entities if e.enabled]
    home = open_home(ws.root, deep_merge(*_home_layers(ws, flow)), ws.config.connections)
    found: list[tuple[EntityConfig, str | None]] = []
    for name, source in home.discover():
        if flow.config.include and not any(fnmatch.fnmatchcase(name, p) for p in flow.config.include):
            continue
        if any(fnmatch.fnmatchcase(name, p) for p in flow.config.exclude):
            continue
        entity = explicit.pop(name, None) or EntityConfig(name=name)
        found.append((entity, source))
    # Entity files naming something discovery did not find still run (and fail loudly if missing).
    found.extend((e, None) for e in explicit.values())
    return [(e, s) for e, s in found if e.enabled]


def _home_layers(ws: Workspace, flow: Flow) -> list[dict[str, Any] | None]:
    return [ws.config.defaults.home, flow.config.home, flow.config.defaults.home]


def _store_layers(ws: Workspace, flow: Flow) -> list[dict[str, Any] | None]:
    return [ws.config.defaults.store, flow.config.store, flow.config.defaults.store]


def _plan_one(ws: Workspace, flow: Flow, entity: EntityConfig, source: str | None, selection: Selection) -> MovePlan:
    settings = merged_defaults(ws.config, flow, entity)
    home = deep_merge(*_home_layers(ws, flow), entity.home)
    store = deep_merge(*_store_layers(ws, flow), entity.store)
    home["type"] = registry.canonical(str(home["type"]))
    store["type"] = registry.canonical(str(store["type"]))
    run_type = selection.run_type or settings.run_type or "full_drop"
    options = ws.config.options
    result = MovePlan(
        flow=flow.name,
        entity=entity.name,
        source=entity.source or source or entity.name,
        target=entity.target or entity.name,
        home=home,
        store=store,
        run_type=run_type,
        root=str(ws.root),
        polish=settings.polish.model_dump(exclude_defaults=True) if settings.polish else {},
        allow_empty=bool(settings.allow_empty),
        watermark=settings.watermark,
        lookback=settings.lookback,
        keys=tuple(settings.keys or ()),
        delete_column=settings.delete_column,
        schema_policy=settings.schema_policy.model_dump(exclude_defaults=True) if settings.schema_policy else {},
        query=entity.query,
        queue_bytes=int(options.queue_bytes),
        batch_bytes=int(options.batch_bytes),
        lock_wait=options.lock_wait,
        connections=ws.config.connections,
        window=selection.window,
        project=ws.name,
    )
    check_run_type(result)
    return result


def check_run_type(plan: MovePlan) -> None:
    if plan.run_type == "merge" and not plan.keys:
        raise HyggeError("run_type merge needs `keys`", flow=plan.flow, entity=plan.entity,
                         expected="keys: [column, ...] on the entity or the flow's defaults", found="no keys",
                         hint="add the key columns that identify a row")


def open_home(root: Any, config: dict[str, Any], connections: dict[str, dict[str, Any]]) -> Any:
    from pathlib import Path

    cls = registry.home_class(str(config["type"]))
    model = cls.Config.model_validate({**config, "type": registry.canonical(str(config["type"]))})
    return cls(model, root=Path(root), connections=connections)


def open_store(root: Any, config: dict[str, Any], connections: dict[str, dict[str, Any]]) -> Any:
    from pathlib import Path

    cls = registry.store_class(str(config["type"]))
    model = cls.Config.model_validate({**config, "type": registry.canonical(str(config["type"]))})
    return cls(model, root=Path(root), connections=connections)
