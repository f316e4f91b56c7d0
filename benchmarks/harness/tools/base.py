"""What every contender module provides: a Contender that builds a Command, or says why it cannot."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from harness.sources import Source
from harness.targets import Target


class Unavailable(Exception):
    """This contender cannot run this lane; the message is the reason shown in the results."""


@dataclass(frozen=True)
class Command:
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Contender:
    tool: str                                      # hygge | raw | dlt | ingestr | sling
    name: str                                      # shown in the tables
    slug: str                                      # names its target: folder, schema, database
    build: Callable[[Source, Target], Command]     # called after the target was reset; raises Unavailable
    check: Callable[[Source, Target], None] = lambda source, target: None  # once per lane; raises Unavailable


def unsupported(what: str) -> Unavailable:
    return Unavailable(f"no {what} support")


def require_installed(component: str) -> None:
    """Raise Unavailable unless benchmarks/peers/setup.sh finished `component`, quoting its log when it failed."""
    from harness.measure import log_tail
    from harness.settings import PEERS

    if (PEERS / f"{component}.ok").exists():
        return
    if (PEERS / f"{component}.failed").exists():
        raise Unavailable(f"setup of {component} failed: {log_tail(PEERS / f'{component}.log', lines=3)}")
    raise Unavailable(f"{component} is not installed (benchmarks/peers/setup.sh {PEERS} {component})")
