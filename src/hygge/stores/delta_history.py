"""`hygge history` for a Delta table: committed runs from its log, failed ones from ``_hygge/history.jsonl``."""

from __future__ import annotations

import json
from pathlib import Path

from deltalake import DeltaTable

from hygge.lake.heal import HYGGE_DIR
from hygge.lake.log import all_commits
from hygge.lake.table import DELTA_ERRORS, is_table
from hygge.state.journal import RunRecord, interrupted, interrupted_note, settled


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
    logged = {r.run_id: r for r in settled(_logged(folder))}
    committed: dict[str, RunRecord] = {}
    if is_table(folder):
        try:
            for commit in all_commits(DeltaTable(str(folder))):
                committed[commit.run.run_id] = logged.get(commit.run.run_id) or commit.run
        except DELTA_ERRORS:
            pass
    others = [r for run_id, r in logged.items() if run_id not in committed]
    return [*committed.values(), *others]


def _append(folder: Path, records: list[RunRecord]) -> None:
    (folder / HYGGE_DIR).mkdir(parents=True, exist_ok=True)
    with open(folder / HYGGE_DIR / "history.jsonl", "a", encoding="utf-8") as handle:
        handle.write("".join(json.dumps(r.to_dict(), default=str) + "\n" for r in records))


def record_start(folder: Path, record: RunRecord, healed: list[str]) -> list[str]:
    """A run holds the table's lock: it is recorded as running, so a kill from here on leaves a trace; a run
    still recorded as running never ended (no other run holds the lock): it is recorded as interrupted, with
    what this run did about it. Returns what the run says about it."""
    done = "; ".join(healed) if healed else "found nothing it had left"
    records, notes = [], []
    latest = {r.run_id: r for r in _logged(folder)}  # as written: the last record of each run
    for last in latest.values():
        if last.status == "running" and last.run_id != record.run_id:
            records.append(interrupted(last, f"run {record.run_id}", done))
            notes.append(interrupted_note(last, done))
    try:
        _append(folder, [*records, record])
    except OSError:
        pass  # the history is a convenience; the log holds what the data needs
    return notes
