"""`hygge debug`: check every flow's home and store, and say how to fix what is wrong."""

from __future__ import annotations

from dataclasses import dataclass

from hygge.core.planner import open_home, open_store
from hygge.core.validation import deep_merge
from hygge.core.workspace import Workspace
from hygge.errors import HyggeError
from hygge.homes.base import Check


@dataclass
class Finding:
    section: str
    check: Check


def diagnose(ws: Workspace) -> list[Finding]:
    findings = [Finding("project", Check(f"{ws.file.name}", True, f"{len(ws.flows)} flow(s) loaded"))]
    for name, flow in sorted(ws.flows.items()):
        for kind, opener, layers in (
            ("home", open_home, [ws.config.defaults.home, flow.config.home, flow.config.defaults.home]),
            ("store", open_store, [ws.config.defaults.store, flow.config.store, flow.config.defaults.store]),
        ):
            config = deep_merge(*layers)
            try:
                end = opener(ws.root, config, ws.config.connections)
                checks = end.check() or [Check(f"{kind} {config['type']}", True, "configured")]
            except HyggeError as exc:
                checks = [Check(f"{kind} {config.get('type')}", False, exc.what, exc.hint)]
            for check in checks:
                findings.append(Finding(f"flow {name}", check))
    return findings
