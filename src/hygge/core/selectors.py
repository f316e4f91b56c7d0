"""`hygge go --select/--exclude`: dbt-style selectors over entities.

A selector is one of
  tag:NAME       entities carrying the tag (an entity carries its own tags and its flow's)
  FLOW           every entity of the flow(s) the name or glob matches
  FLOW.ENTITY    entities whose key `flow.entity` the glob matches (`sales.order*`, `*.users`)

What runs is the union of the selects minus the excludes. A selector that matches nothing is a
configuration error: a typo in `--exclude` would otherwise run what it meant to leave out.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass

from hygge.errors import ConfigError, ConfigProblem, did_you_mean

TAG = "tag:"
GLOB_CHARS = frozenset("*?[")


@dataclass(frozen=True)
class Selector:
    text: str
    option: str  # "--select" or "--exclude": said in errors and in the dry run's "selected by"

    @property
    def tag(self) -> str | None:
        return self.text[len(TAG):] if self.text.startswith(TAG) else None

    @property
    def flow_part(self) -> str:
        return self.text.partition(".")[0]

    def matches(self, flow: str, entity: str, tags: Iterable[str]) -> bool:
        if self.tag is not None:
            return any(fnmatch.fnmatchcase(t, self.tag) for t in tags)
        if "." not in self.text:
            return fnmatch.fnmatchcase(flow, self.text)
        return fnmatch.fnmatchcase(f"{flow}.{entity}", self.text)

    def may_match_flow(self, flow: str, enabled: bool, flow_tags: Iterable[str], entity_tags: Iterable[str]) -> bool:
        """Whether the flow's entities need listing for this selector: a flow's home is opened only if so.

        A disabled flow runs only when a selector names it exactly, as `--flow` does."""
        if self.tag is not None:
            return enabled and any(fnmatch.fnmatchcase(t, self.tag) for t in [*flow_tags, *entity_tags])
        if self.flow_part == flow:
            return True
        if not enabled:
            return False
        if "." in self.text and GLOB_CHARS & set(self.flow_part):
            return True  # `*.users` may match in any flow, and `*` may span dots inside an entity name
        return fnmatch.fnmatchcase(flow, self.flow_part)


def parse(texts: Iterable[str], option: str) -> list[Selector]:
    out = []
    for text in texts:
        text = text.strip()
        if not text or text == TAG:
            raise ConfigError([ConfigProblem(
                f"{option} needs a selector", expected="tag:NAME, FLOW or FLOW.ENTITY (globs allowed)",
                found=repr(text), hint=f"e.g. {option} tag:nightly or {option} 'sales.order*'")])
        out.append(Selector(text, option))
    return out


def nothing_matched(selector: Selector, tags: Iterable[str], keys: Iterable[str], flows: Iterable[str]) -> ConfigError:
    """The error for a selector that matched no entity, listing what exists and the closest name."""
    if selector.tag is not None:
        known = sorted({f"{TAG}{t}" for t in tags})
        what = "tags"
    else:
        known = sorted({*flows, *keys})
        what = "flows and entities"
    shown = ", ".join(known[:20]) + (f" and {len(known) - 20} more" if len(known) > 20 else "")
    return ConfigError([ConfigProblem(
        f"{selector.option} '{selector.text}' matches no entity", file="the command line",
        expected=f"one of the {what}: {shown or '(none)'}", found=selector.text,
        hint=did_you_mean(selector.text, known) or "run `hygge go --dry-run` to see every entity and its tags",
    )])
