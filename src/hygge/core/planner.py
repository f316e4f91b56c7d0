"""From a workspace and a selection to the list of Moves to run."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Any

from hygge.core import registry, selectors
from hygge.core.config import EntityConfig
from hygge.core.plan import MovePlan
from hygge.core.validation import deep_merge
from hygge.core.workspace import Flow, Workspace, merged_defaults
from hygge.errors import ConfigError, ConfigProblem, HyggeError, SettingError, did_you_mean


@dataclass
class Selection:
    flows: list[str] = field(default_factory=list)
    entities: list[str] = field(default_factory=list)  # "flow.entity", globs allowed
    run_type: str | None = None
    window: tuple[str | None, str | None] = (None, None)
    select: list[str] = field(default_factory=list)  # tag:NAME, FLOW or FLOW.ENTITY (globs), see selectors.py
    exclude: list[str] = field(default_factory=list)

    @property
    def names_flows(self) -> bool:
        """--flow or --entity given: the selection of before --select, kept as it was."""
        return bool(self.flows or self.entities)


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
    chooser = Chooser(ws, selection)
    plans: list[MovePlan] = []
    failures: list[PlanFailure] = []
    legacy = {f.name for f in select_flows(ws, selection)} if selection.names_flows or not chooser.selects else set()
    for flow in [ws.flows[n] for n in sorted(legacy | chooser.flows())]:
        if chooser.excludes_flow(flow):
            continue
        try:
            entities = _entities_of(ws, flow)
        except HyggeError as exc:
            failures.append(PlanFailure(flow.name, "*", exc.located(flow=flow.name)))
            chooser.failed(flow)
            continue
        wanted = patterns.get(flow.name)
        if wanted:
            names = [e.name for e, _ in entities]
            for pattern in wanted:
                if not any(fnmatch.fnmatchcase(n, pattern) for n in names):
                    raise _usage(f"flow '{flow.name}' has no entity '{pattern}'", pattern, names, "entities")
        for entity, source in entities:
            named = flow.name in legacy and (not wanted or any(fnmatch.fnmatchcase(entity.name, p) for p in wanted))
            reasons = chooser.reasons(flow, entity, _legacy_reason(selection, flow.name, wanted) if named else None)
            if not reasons:
                continue
            try:
                plans.append(_plan_one(ws, flow, entity, source, selection, ", ".join(reasons)))
            except HyggeError as exc:
                failures.append(PlanFailure(flow.name, entity.name, exc.located(flow=flow.name, entity=entity.name)))
    chooser.check()
    plans, shared = _without_shared_targets(ws, plans)
    failures += shared
    if selection.window != (None, None) and len(plans) + len(failures) != 1:
        raise ConfigError([ConfigProblem(
            f"a backfill (--from/--to) runs one entity, and this selection has {len(plans) + len(failures)}",
            expected="--entity FLOW.ENTITY naming exactly one entity", found=", ".join(p.key for p in plans[:5]),
            hint="add --entity FLOW.ENTITY")])
    return plans, failures


# The settings of a store that say where its entities settle; the rest (codec, part size, durability...) does not.
LOCATION_KEYS = ("type", "path", "url", "connection", "schema", "db_schema", "schema_name", "namespace", "table")
# The settings of a connection that do not change which database or bucket it reaches (its type is the store's).
CONNECTION_SETTINGS = ("type", "options", "max_sessions", "connect_timeout", "password", "user")


def _store_identity(ws: Workspace, store: dict[str, Any], target: str) -> str:
    """Where an entity settles: its store's location and its target (case folded: most databases fold names).
    `path: out`, `./out` and the absolute path are one folder; a named connection is what it names."""
    import json

    where: dict[str, Any] = {key: store[key] for key in LOCATION_KEYS if key in store}
    where["type"] = registry.canonical(str(store.get("type")))
    connection = where.get("connection")
    if isinstance(connection, str):
        connection = ws.config.connections.get(connection, connection)
    if isinstance(connection, dict):
        connection = {k: _place(ws, v) if k == "path" else v for k, v in connection.items()
                      if k not in CONNECTION_SETTINGS}
        where["connection"] = connection
    if "path" in where:
        where["path"] = _place(ws, where["path"])
    return json.dumps(where, sort_keys=True, default=str) + "|" + target.lower()


def _place(ws: Workspace, path: Any) -> str:
    """A path as one spelling: a bucket URL without its trailing slash, a local path resolved from the project."""
    text = str(path)
    if "://" in text:
        return text.rstrip("/")
    return str((ws.root / text).resolve())


def _without_shared_targets(ws: Workspace, plans: list[MovePlan]) -> tuple[list[MovePlan], list[PlanFailure]]:
    """Entities that settle in the same target of the same store would share one state (one watermark, one list
    of loaded files) and replace each other's rows: such plans fail, naming the others. Checked against every
    enabled entity listed in the project, so that running them one at a time does not hide it."""
    settles: dict[str, set[str]] = {}
    for flow in ws.flows.values():  # disabled ones, kept for reference, claim nothing until they run
        for entity in (e for e in flow.entities if flow.config.enabled and e.enabled):
            store = deep_merge(*_store_layers(ws, flow), entity.store)
            if "type" in store:
                settles.setdefault(_store_identity(ws, store, entity.target or entity.name), set()).add(
                    f"{flow.name}.{entity.name}")
    for p in plans:
        settles.setdefault(_store_identity(ws, p.store, p.target), set()).add(p.key)
    kept: list[MovePlan] = []
    failures: list[PlanFailure] = []
    for p in plans:
        others = sorted(settles[_store_identity(ws, p.store, p.target)] - {p.key})
        if not others:
            kept.append(p)
            continue
        failures.append(PlanFailure(p.flow, p.entity, ConfigError([ConfigProblem(
            f"entity {p.key} settles in target '{p.target}', as {', '.join(others)} does, in the same store",
            key="target", expected="one entity per target", found=", ".join([p.key, *others]),
            hint="give each entity a `target:` of its own (they would share one watermark and replace each "
                 "other's rows)")]).located(flow=p.flow, entity=p.entity)))
    return kept, failures


def _legacy_reason(selection: Selection, flow: str, wanted: list[str] | None) -> str:
    if wanted:
        return ", ".join(f"--entity {flow}.{p}" for p in wanted)
    return f"--flow {flow}" if flow in selection.flows else "every enabled flow"


def tags_of(flow: Flow, entity: EntityConfig) -> tuple[str, ...]:
    """An entity's tags: its flow's, then its own, each once."""
    return tuple(dict.fromkeys([*flow.config.tags, *entity.tags]))


class Chooser:
    """--select and --exclude over the listed entities: which run, why, and which selector matched nothing."""

    def __init__(self, ws: Workspace, selection: Selection):
        self.ws = ws
        self.selects = selectors.parse(selection.select, "--select")
        self.excludes = selectors.parse(selection.exclude, "--exclude")
        self.matched: set[selectors.Selector] = set()
        self.keys: set[str] = set()
        self.listed: set[str] = set()

    def excludes_flow(self, flow: Flow) -> bool:
        """A whole flow left out (`--exclude FLOW`) is not even listed: its home may be down, and that is fine."""
        whole = [s for s in self.excludes if s.tag is None and "." not in s.text
                 and fnmatch.fnmatchcase(flow.name, s.text)]
        self.matched.update(whole)
        if not whole:
            self.listed.add(flow.name)
        return bool(whole)

    def _may_match(self, selector: selectors.Selector, flow: Flow) -> bool:
        entity_tags = [t for e in flow.entities for t in e.tags]
        return selector.may_match_flow(flow.name, flow.config.enabled, flow.config.tags, entity_tags)

    def flows(self) -> set[str]:
        """The flows whose entities the selects may pick (only these homes are opened to list entities)."""
        return {name for name, flow in self.ws.flows.items() if any(self._may_match(s, flow) for s in self.selects)}

    def failed(self, flow: Flow) -> None:
        # The flow's entities could not be listed: its failure is the news, not a selector that found nothing.
        self.matched.update(s for s in [*self.selects, *self.excludes] if self._may_match(s, flow))

    def reasons(self, flow: Flow, entity: EntityConfig, legacy: str | None) -> list[str]:
        tags = tags_of(flow, entity)
        self.keys.add(f"{flow.name}.{entity.name}")
        chosen = [s for s in self.selects if s.matches(flow.name, entity.name, tags)]
        left_out = [s for s in self.excludes if s.matches(flow.name, entity.name, tags)]
        self.matched.update(chosen + left_out)
        reasons = ([legacy] if legacy else []) + [f"--select {s.text}" for s in chosen]
        return [] if left_out else reasons

    def every_key(self) -> set[str]:
        """Every entity of every flow, for the error's list: flows this run did not list are listed now."""
        keys = set(self.keys)
        for flow in self.ws.flows.values():
            keys.update(f"{flow.name}.{e.name}" for e in flow.entities)
            if flow.name not in self.listed and flow.discovers:
                try:
                    keys.update(f"{flow.name}.{e.name}" for e, _ in _entities_of(self.ws, flow))
                except HyggeError:
                    continue  # its home is not reachable: the list goes without its entities
        return keys

    def check(self) -> None:
        problems = []
        keys: set[str] | None = None
        for selector in [*self.selects, *self.excludes]:
            if selector in self.matched or self._unlisted_flow_may_hold(selector):
                continue
            flows = self.ws.flows.values()
            tags = {t for f in flows for t in [*f.config.tags, *(t for e in f.entities for t in e.tags)]}
            keys = self.every_key() if keys is None else keys
            problems += selectors.nothing_matched(selector, tags, keys, self.ws.flows).problems
        if problems:
            raise ConfigError(problems)

    def _unlisted_flow_may_hold(self, selector: selectors.Selector) -> bool:
        """An exclude may name entities of a flow this run did not list: that is not a typo."""
        if selector.option != "--exclude":
            return False
        return any(self._may_match(selector, f) for f in self.ws.flows.values() if f.name not in self.listed)



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


def _plan_one(ws: Workspace, flow: Flow, entity: EntityConfig, source: str | None, selection: Selection,
              selected_by: str = "") -> MovePlan:
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
        tags=tags_of(flow, entity),
        selected_by=selected_by,
        configured_run_type=settings.run_type or "full_drop",
    )
    check_run_type(result)
    return result


def check_run_type(plan: MovePlan) -> None:
    if plan.run_type == "merge" and not plan.keys:
        raise SettingError("run_type merge needs `keys`", flow=plan.flow, entity=plan.entity,
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
