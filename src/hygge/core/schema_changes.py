"""How a commit changed an entity's columns, in words, for the run's record (`hygge report` shows them).

Measured on what was committed (the columns of the previous state against this run's), so it is the same for
every run type and Store: a full_drop that brings a new column changes the target as much as an append does,
and rows cast into unchanged columns change nothing.
"""

from __future__ import annotations


def column_changes(before: list[dict[str, str]] | None, after: list[dict[str, str]] | None) -> list[str]:
    if not before or not after:
        return []  # a first load creates the columns; an older state may not have kept them
    old = {c["name"]: c["type"] for c in before}
    new = {c["name"]: c["type"] for c in after}
    lines = [f"new column {name} ({kind})" for name, kind in new.items() if name not in old]
    lines += [f"column {name} ({kind}) is no longer in the target" for name, kind in old.items() if name not in new]
    lines += [f"column {name} is now {new[name]} (was {kind})" for name, kind in old.items()
              if name in new and new[name] != kind]
    return lines
