"""The Python API: run a workspace, or move one entity, without the command line."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hygge.core.config import Options, Polish
from hygge.core.coordinator import Coordinator
from hygge.core.plan import MovePlan
from hygge.core.planner import Selection, check_run_type, plan
from hygge.core.results import MoveResult, RunResult
from hygge.core.workspace import Workspace, load_workspace
from hygge.progress.events import Emit, ignore


def run(
    project: str | Path | Workspace = ".",
    *,
    flows: Sequence[str] = (),
    entities: Sequence[str] = (),
    select: Sequence[str] = (),
    exclude: Sequence[str] = (),
    run_type: str | None = None,
    concurrency: int | None = None,
    fail_fast: bool | None = None,
    on_event: Emit = ignore,
) -> RunResult:
    """Run the selected flows of a workspace (all of them by default) and return per-entity results.

    ``select`` and ``exclude`` take the selectors of `hygge go --select/--exclude` (tag:NAME, FLOW, FLOW.ENTITY).

    >>> result = hygge.run("my-project")          # doctest: +SKIP
    >>> result.ok, result.move("sales.orders").rows_written
    """
    ws = project if isinstance(project, Workspace) else load_workspace(project)
    options = ws.config.options
    updates: dict[str, Any] = {}
    if concurrency is not None:
        updates["concurrency"] = concurrency
    if fail_fast is not None:
        updates["fail_fast"] = fail_fast
    if updates:
        options = Options.model_validate({**options.model_dump(), **updates})
    plans, failures = plan(ws, Selection(list(flows), list(entities), run_type, select=list(select),
                                         exclude=list(exclude)))
    return Coordinator(options, on_event).run(ws.name, plans, failures)


def move(
    home: dict[str, Any],
    store: dict[str, Any],
    entity: str,
    *,
    source: str | None = None,
    target: str | None = None,
    run_type: str = "full_drop",
    polish: dict[str, Any] | None = None,
    root: str | Path = ".",
    flow: str = "api",
    on_event: Emit = ignore,
    **settings: Any,
) -> MoveResult:
    """Move one entity from a Home to a Store, with the same guarantees as `hygge go`.

    ``settings`` are run options (``batch_bytes``, ``queue_bytes``, ``retries``, ``lock_wait``...) and entity
    settings (``keys``, ``watermark``, ``query``...), named as in the YAML.

    >>> hygge.move({"type": "parquet", "path": "in"}, {"type": "parquet", "path": "out"}, "users")  # doctest: +SKIP
    """
    from hygge.core import registry
    from hygge.core.validation import validate
    from hygge.core.yamlsource import YamlDoc
    from hygge.errors import ConfigError

    chosen = {name: settings.pop(name) for name in list(settings) if name in Options.model_fields}
    options, problems = validate(Options, chosen, YamlDoc("hygge.move()", chosen), ("options",), "options")
    home = {**home, "type": registry.canonical(str(home["type"]))}
    store = {**store, "type": registry.canonical(str(store["type"]))}
    for kind, config in (("home", home), ("store", store)):
        model = registry.load(kind, config["type"]).Config
        doc = YamlDoc("hygge.move()", config)
        problems += validate(model, config, doc, (kind,), f"{kind} type {config['type']}")[1]
    polished, polish_problems = validate(Polish, polish or {}, YamlDoc("hygge.move()", polish), ("polish",), "polish")
    problems += polish_problems
    if problems:
        raise ConfigError(problems)
    the_plan = MovePlan(
        flow=flow,
        entity=entity,
        source=source or entity,
        target=target or entity,
        home=home,
        store=store,
        run_type=run_type,
        root=str(Path(root).resolve()),
        polish=polished.model_dump(exclude_defaults=True),
        queue_bytes=int(options.queue_bytes),
        batch_bytes=int(options.batch_bytes),
        lock_wait=options.lock_wait,
        **settings,
    )
    check_run_type(the_plan)
    result = Coordinator(options, on_event).run(flow, [the_plan])
    return result.moves[0]
