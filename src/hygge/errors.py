"""One error tree for everything hygge reports.

Every error a person can see carries the same parts: what went wrong, where
(flow, entity, file or table), what was expected, what was found and the next
step. ``transient`` marks errors worth retrying (a dropped connection, a
timeout); everything else is terminal.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


class HyggeError(Exception):
    """Base of every error hygge raises on purpose."""

    kind = "error"
    transient = False

    def __init__(
        self,
        what: str,
        *,
        flow: str | None = None,
        entity: str | None = None,
        path: str | None = None,
        expected: str | None = None,
        found: str | None = None,
        hint: str | None = None,
        transient: bool | None = None,
    ) -> None:
        super().__init__(what)
        self.what = what
        self.flow = flow
        self.entity = entity
        self.path = path
        self.expected = expected
        self.found = found
        self.hint = hint
        if transient is not None:
            self.transient = transient

    def __reduce__(self) -> tuple[Any, ...]:
        # Errors travel back from Dask workers: rebuild them whole, whatever their constructor takes.
        return _rebuild, (type(self), self.args, self.__dict__)

    def located(self, *, flow: str | None = None, entity: str | None = None) -> HyggeError:
        """Fill in the flow and entity where the raiser did not know them."""
        self.flow = self.flow or flow
        self.entity = self.entity or entity
        return self

    def lines(self) -> list[str]:
        where = []
        if self.flow:
            where.append(f"flow {self.flow}")
        if self.entity:
            where.append(f"entity {self.entity}")
        head = self.what if not where else f"{', '.join(where)}: {self.what}"
        out = [head]
        if self.path:
            out.append(f"  where:     {self.path}")
        if self.expected:
            out.append(f"  expected:  {self.expected}")
        if self.found:
            out.append(f"  found:     {self.found}")
        if self.hint:
            out.append(f"  next step: {self.hint}")
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "message": self.what,
            "flow": self.flow,
            "entity": self.entity,
            "path": self.path,
            "expected": self.expected,
            "found": self.found,
            "hint": self.hint,
            "transient": self.transient,
        }


def _rebuild(cls: type[HyggeError], args: tuple[Any, ...], state: dict[str, Any]) -> HyggeError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


@dataclass
class ConfigProblem:
    """One problem in a project's configuration, located as precisely as we can."""

    message: str
    file: str | None = None
    line: int | None = None
    key: str | None = None
    expected: str | None = None
    found: str | None = None
    hint: str | None = None

    def render(self) -> str:
        where = self.file or "<config>"
        if self.line:
            where += f":{self.line}"
        if self.key:
            where += f" [{self.key}]"
        out = [f"{where}: {self.message}"]
        if self.expected:
            out.append(f"    expected:  {self.expected}")
        if self.found:
            out.append(f"    found:     {self.found}")
        if self.hint:
            out.append(f"    next step: {self.hint}")
        return "\n".join(out)


class ConfigError(HyggeError):
    """The project cannot be understood: every problem found is listed at once."""

    kind = "config"

    def __init__(self, problems: Iterable[ConfigProblem] | str, **kwargs: Any) -> None:
        if isinstance(problems, str):
            problems = [ConfigProblem(problems, **{k: kwargs.pop(k) for k in list(kwargs) if k in _PROBLEM_KEYS})]
        self.problems: list[ConfigProblem] = list(problems)
        count = len(self.problems)
        what = f"the configuration has {count} problem{'s' if count != 1 else ''}"
        super().__init__(what, **kwargs)

    def lines(self) -> list[str]:
        return [super().lines()[0], *(p.render() for p in self.problems)]

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["problems"] = [p.__dict__ for p in self.problems]
        return data


_PROBLEM_KEYS = {"file", "line", "key", "expected", "found", "hint"}


class SettingError(HyggeError):
    """One entity's settings cannot work (merge without keys, say): a configuration error that stops only that
    entity, found while planning or starting its move. It exits 2 like every configuration error."""

    kind = "config"


class HyggeConnectionError(HyggeError):
    """A server or file system could not be reached or refused us."""

    kind = "connection"


class ReadError(HyggeError):
    """A Home could not be read as configured."""

    kind = "read"


class CastError(ReadError):
    """A polish `cast` met a value its type does not hold (the value is never made a null instead)."""


class WriteError(HyggeError):
    """A Store could not take the data."""

    kind = "write"


class StateError(HyggeError):
    """The journal, a lock or a commit protocol step failed."""

    kind = "state"


class Cancelled(HyggeError):
    """The move was stopped on purpose (fail-fast, Ctrl-C, the other side failed)."""

    kind = "cancelled"


class MissingDriver(HyggeError):
    """An optional dependency is not installed."""

    kind = "config"

    def __init__(self, module: str, extra: str, *, needed_for: str) -> None:
        super().__init__(
            f"{needed_for} needs the Python package '{module}', which is not installed",
            expected=f"'{module}' importable",
            found="ModuleNotFoundError",
            hint=f'pip install "hygge[{extra}]"',
        )


@dataclass
class Suggestion:
    """Closest known names to a misspelled one, for "did you mean" hints."""

    word: str
    choices: list[str] = field(default_factory=list)

    def best(self) -> str | None:
        found = difflib.get_close_matches(self.word, self.choices, n=1, cutoff=0.6)
        return found[0] if found else None

    def hint(self) -> str | None:
        best = self.best()
        return f"did you mean '{best}'?" if best else None


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message, or its type's name when it has none: what a person reads."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    return Suggestion(word, sorted(set(choices))).hint()


class StateMoved(HyggeError):
    """The entity's state changed between the move reading it and taking the entity: another run committed, or
    the landing rolled forward a publish a killed run had begun. The move starts over at once, from the state as it
    is now; this is not a failure, and it does not use up `retries`."""

    kind = "state"
    transient = True
