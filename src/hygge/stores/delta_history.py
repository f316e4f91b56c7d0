"""`hygge history` for a Delta table: committed runs from its log, failed ones from ``_hygge/history.jsonl``."""

from __future__ import annotations

import json
from pathlib import Path

from deltalake import DeltaTable

from hygge.lake.heal import HYGGE_DIR
from hygge.lake.log import all_commits
from hygge.lake.table import DELTA_ERRORS, is_table
from hygge.state.journal import RunRecord


def _logged(folder: Path) -> list[RunRecord]:
    path = folder / HYGGE_DIR / "history.jsonl"
    if not path.is_file():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            records.append(RunRecord.from_dict(json.loads(line)))
        except (ValueError, TypeError):
            continue  # a line cut short by a kill
    return records


def table_history(folder: Path, root: Path) -> list[RunRecord]:
    """Every run of the table's entities: the log says which committed; the side file adds the failed ones
    and the counts known only after the commit (rows in the target of a merge)."""
    logged = {r.run_id: r for r in _logged(folder)}
    committed: dict[str, RunRecord] = {}
    if is_table(folder):
        try:
            for commit in all_commits(DeltaTable(str(folder))):
                committed[commit.run.run_id] = logged.get(commit.run.run_id) or commit.run
        except DELTA_ERRORS:
            pass
    others = [r for run_id, r in logged.items() if run_id not in committed]
    return [*committed.values(), *others]
