"""What a killed run leaves in a Delta table's folder, and how the next run removes it.

Before a run writes its first data file it records its intent in ``_hygge/runs/<run>.json`` (its
application transaction, the table version it read). Its files carry its run in their names; a merge's
files are named by delta-rs, so the intent also notes when the merge began. The next run (holding the
table's lock, so no other hygge run is writing) looks at every intent left behind: if the run's commit
is in the log, only the bookkeeping goes; if not, its files go too. Files any version of the log names
are never touched, so time travel keeps working.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from deltalake import DeltaTable

from hygge.lake.log import commit_actions, find
from hygge.state.fsops import remove_tree, write_json_atomic

HYGGE_DIR = "_hygge"


def run_tag(run_id: str) -> str:
    return f"hygge-{run_id}"


@dataclass
class Intent:
    run_id: str
    app: str
    read_version: int | None
    started: float
    merging_since: float | None = None


def intents_dir(folder: Path) -> Path:
    return folder / HYGGE_DIR / "runs"


def staging_dir(folder: Path, run_id: str) -> Path:
    return folder / HYGGE_DIR / "staging" / run_id


def record_intent(folder: Path, intent: Intent) -> None:
    path = intents_dir(folder)
    path.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path / f"{intent.run_id}.json", asdict(intent))


def drop_intent(folder: Path, run_id: str) -> None:
    (intents_dir(folder) / f"{run_id}.json").unlink(missing_ok=True)
    remove_tree(staging_dir(folder, run_id))


def only_leftovers(folder: Path) -> bool:
    """Whether everything beside hygge's own folder is files of runs recorded there as started: a first run
    killed before its first commit, whose files the next run removes (not someone else's table)."""
    runs = intents_dir(folder)
    tags = [run_tag(p.stem) for p in runs.glob("*.json")] if runs.is_dir() else []
    if not tags:
        return False
    others = [p for p in folder.rglob("*") if p.is_file() and HYGGE_DIR not in p.relative_to(folder).parts]
    return all(any(tag in p.name for tag in tags) for p in others)


def _data_files(folder: Path) -> list[Path]:
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        if Path(dirpath) == folder:
            dirnames[:] = [d for d in dirnames if d not in ("_delta_log", HYGGE_DIR)]
        found += [Path(dirpath) / name for name in filenames if name.endswith(".parquet")]
    return found


def referenced_since(actions_of: Callable[[int], list[dict[str, Any]] | None], table: DeltaTable,
                     version: int | None) -> set[str]:
    """Relative paths of the current version's files and of every file added after ``version``."""
    names = {unquote(p) for p in table.get_add_actions(flatten=True).column("path").to_pylist()}
    for v in range((version if version is not None else -1) + 1, table.version() + 1):
        for action in actions_of(v) or []:
            for kind in ("add", "remove", "cdc"):
                if kind in action:
                    names.add(unquote(action[kind]["path"]))
    return names


def committed(table: DeltaTable | None, intent: Intent) -> bool:
    return table is not None and None is not find(
        table, intent.app, lambda meta, run=intent.run_id: (meta.get("run") or {}).get("run_id") == run)


def doomed(files: list[tuple[str, float]], referenced: set[str], intent: Intent) -> list[str]:
    """Of the table's data files (relative path, modification time), those of a run that did not commit: its
    own (named by its tag) and, after a merge began, delta-rs's files newer than it; never one a version names."""
    tag = run_tag(intent.run_id)
    return [path for path, mtime in files if path not in referenced and (
        tag in path.rsplit("/", 1)[-1] or (intent.merging_since is not None and mtime >= intent.merging_since - 1))]


def heal(folder: Path, table: DeltaTable | None, current_run: str) -> list[str]:
    """Finish what killed runs left; return what was done, for the run's notes."""
    notes: list[str] = []
    root = intents_dir(folder)
    if not root.is_dir():
        return notes
    for path in sorted(root.glob("*.json")):
        try:
            intent = Intent(**json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            path.unlink(missing_ok=True)  # cut short by the kill before any data file was written
            continue
        if intent.run_id == current_run:
            continue
        if not committed(table, intent):
            removed = _remove_uncommitted(folder, table, intent)
            notes.append(f"removed {removed} file(s) of run {intent.run_id}, which did not commit")
        drop_intent(folder, intent.run_id)
    return notes


def _remove_uncommitted(folder: Path, table: DeltaTable | None, intent: Intent) -> int:
    """Delete the run's files that no version names (a run may have committed a schema change of its own
    before its data commit failed: those files stay)."""
    referenced = referenced_since(lambda v: commit_actions(folder / "_delta_log", v), table,
                                  intent.read_version) if table is not None else set()
    files = [(p.relative_to(folder).as_posix(), p.stat().st_mtime) for p in _data_files(folder)]
    gone = doomed(files, referenced, intent)
    for relative in gone:
        (folder / relative).unlink(missing_ok=True)
    return len(gone)


def now() -> float:
    return time.time()
