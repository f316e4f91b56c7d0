"""`hygge history` for a Delta table: committed runs from its log, failed ones from hygge's side records.

Beside a local table the side records are ``_hygge/history.jsonl``; beside a table on a bucket they are one
object per run, ``_hygge/history/<run>.json``, rewritten as the run goes on (running, then how it ended): a
bucket has no append.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from deltalake import DeltaTable

from hygge.lake.heal import HYGGE_DIR
from hygge.lake.location import TableLocation, storage_options
from hygge.lake.log import all_commits
from hygge.lake.place import BucketPlace, LocalPlace, Place
from hygge.lake.table import DELTA_ERRORS
from hygge.state.journal import RunRecord, interrupted, interrupted_note, settled


def _parse(text: str) -> RunRecord | None:
    try:
        return RunRecord.from_dict(json.loads(text))
    except (ValueError, TypeError):
        return None  # a line cut short by a kill


def _logged(place: Place) -> list[RunRecord]:
    if isinstance(place, LocalPlace):
        path = place.folder / HYGGE_DIR / "history.jsonl"
        if not path.is_file():
            return []
        found = [_parse(line) for line in path.read_text(encoding="utf-8").splitlines()]
    else:
        storage, found = place.storage, []
        for entry in storage.entries(place.bucket.key(HYGGE_DIR, "history")):
            got = storage.read(entry.key)
            found.append(_parse(got[0].decode("utf-8")) if got else None)
        found.sort(key=lambda r: r.started_at if r else "")
    return [r for r in found if r is not None]


def _append(place: Place, records: list[RunRecord]) -> None:
    if isinstance(place, BucketPlace):
        for record in records:
            place.storage.put(place.bucket.key(HYGGE_DIR, "history", f"{record.run_id}.json"),
                              json.dumps(record.to_dict(), default=str).encode())
        return
    (place.folder / HYGGE_DIR).mkdir(parents=True, exist_ok=True)
    with open(place.folder / HYGGE_DIR / "history.jsonl", "a", encoding="utf-8") as handle:
        handle.write("".join(json.dumps(r.to_dict(), default=str) + "\n" for r in records))


def log_run(place: Place, record: RunRecord) -> None:
    _append(place, [record])


def table_history(place: Place, location: TableLocation) -> list[RunRecord]:
    """Every run of the table's entities: the log says which committed; the side records add the failed ones
    and the counts known only after the commit (rows in the target of a merge)."""
    logged = {r.run_id: r for r in settled(_logged(place))}
    committed: dict[str, RunRecord] = {}
    if place.has_log():
        try:
            for commit in all_commits(DeltaTable(location.uri, storage_options=storage_options(location))):
                committed[commit.run.run_id] = logged.get(commit.run.run_id) or commit.run
        except DELTA_ERRORS:
            pass
    others = [r for run_id, r in logged.items() if run_id not in committed]
    return [*committed.values(), *others]


def record_start(place: Place, record: RunRecord, healed: list[str]) -> list[str]:
    """A run holds the table's lock: it is recorded as running, so a kill from here on leaves a trace; a run
    still recorded as running never ended (no other run holds the lock): it is recorded as interrupted, with
    what this run did about it. Returns what the run says about it."""
    done = "; ".join(healed) if healed else "found nothing it had left"
    records, notes = [], []
    latest = {r.run_id: r for r in _logged(place)}  # as written: the last record of each run
    for last in latest.values():
        if last.status == "running" and last.run_id != record.run_id:
            records.append(interrupted(last, f"run {record.run_id}", done))
            notes.append(interrupted_note(last, done))
    try:
        _append(place, [*records, record])
    except Exception:  # noqa: BLE001 - the history is a convenience; the log holds what the data needs
        pass
    return notes


def tables(base: Any, root: Path) -> list[tuple[Place, TableLocation]]:
    """The tables below a store's path (or the one table it is), with their places."""
    from hygge.lake.bucket import LakeBucket
    from hygge.lake.location import shown_path

    if isinstance(base, LakeBucket):
        candidates = [base] if BucketPlace(base).has_log() else [
            base.at(n) for n in base.storage.folders(base.key())]
        return [(BucketPlace(b), TableLocation(b.uri, None, b.uri, bucket=b)) for b in candidates
                if BucketPlace(b).has_log() or b.storage.entries(b.key(HYGGE_DIR, "history"))]
    if not isinstance(base, Path) or not base.is_dir():
        return []
    found = [base] if LocalPlace(base).has_log() or (base / HYGGE_DIR).is_dir() else sorted(
        p for p in base.iterdir() if p.is_dir() and (LocalPlace(p).has_log() or (p / HYGGE_DIR).is_dir()))
    return [(LocalPlace(p), TableLocation(str(p), p, shown_path(root, p))) for p in found]
