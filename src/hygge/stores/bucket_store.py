"""What a file Store does on a bucket besides landing runs: state, schema, history, reset and `hygge debug`."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq

from hygge.core.arrowtypes import parse_type
from hygge.homes.base import Check
from hygge.state.journal import EntityState, RunRecord
from hygge.state.manifest import MANIFEST, Manifest
from hygge.storage.base import Storage
from hygge.storage.manifest_object import HeldManifest, read_published
from hygge.stores.bucket_landing import history_key, history_object, read_history

if TYPE_CHECKING:
    from hygge.stores.files import FileStore


def manifest_of(storage: Storage, entity: str) -> Manifest | None:
    return read_published(storage, f"{entity}/{MANIFEST}")


def schema_of(store: FileStore, storage: Storage, entity: str, manifest: Manifest | None) -> pa.Schema | None:
    if manifest is None or not manifest.parts:
        return None
    if store.type_name == "parquet":
        with storage.open_input_file(f"{entity}/{manifest.parts[0].file}") as handle:
            return pq.read_schema(handle).remove_metadata()
    if manifest.state.columns:
        return pa.schema([(c["name"], parse_type(c["type"])) for c in manifest.state.columns])
    return None


def log_run(storage: Storage, record: RunRecord) -> None:
    try:
        storage.put(history_key(record), history_object(record))
    except Exception:  # noqa: BLE001 - the history is best effort; the manifest holds what the data needs
        pass


def history(storage: Storage, flow: str | None, entity: str | None) -> list[RunRecord]:
    return [r for r in read_history(storage)
            if (flow is None or r.flow == flow) and (entity is None or r.entity == entity)]


def forget(storage: Storage, entity: str, name: str, wait: float) -> bool:
    held = HeldManifest(storage, f"{entity}/{MANIFEST}", name, f"reset-{uuid.uuid4().hex[:8]}", wait=wait)
    try:
        manifest = held.published
        if manifest is None:
            return False
        manifest.state = EntityState(columns=manifest.state.columns, last_run=manifest.state.last_run)
        held.publish(manifest)
        return True
    finally:
        held.release()


def check(storage: Storage, shown: str) -> list[Check]:
    """Reachable, credentials accepted, listing and writing allowed: each said with the fix in plain words."""
    name = f"store path {shown}"
    try:
        storage.entries(".hygge", recursive=False)
    except Exception as exc:  # noqa: BLE001 - every failure is one line of the report
        return [Check(name, False, f"cannot list: {str(exc).splitlines()[0][:200]}",
                      getattr(exc, "hint", None) or "check the URL, the credentials and the endpoint")]
    probe = f".hygge/debug-{uuid.uuid4().hex[:8]}"
    try:
        storage.put(probe, b"hygge debug probe\n")
        storage.delete([probe])
    except Exception as exc:  # noqa: BLE001
        return [Check(name, False, f"can list, but cannot write: {str(exc).splitlines()[0][:200]}",
                      "give these credentials permission to write and delete objects under the prefix")]
    return [Check(name, True, f"reachable on {storage.url}; listing, writing and deleting allowed")]
