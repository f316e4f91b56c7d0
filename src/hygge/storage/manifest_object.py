"""An entity's manifest on a bucket: the one object whose conditional write publishes a run, and its lock.

A bucket has no rename and no lock that dies with its holder. So the manifest object carries both the
published version (parts, state, run record) and, while a run writes, a **lease**: who writes and until when.

- A run takes the lease with one conditional write (create-if-absent for a new entity, compare-and-swap on the
  manifest's ETag otherwise), only when there is no lease or it has expired, or its holder is a process of this
  host that is gone. It renews the lease while it works, each renewal another compare-and-swap.
- The run publishes with **one** compare-and-swap: the new version, lease cleared. The ETag it writes against is
  the one of its own last lease write, so the ETag is a fencing token: if the lease expired and another run took
  it over, that run's write changed the ETag and this run's publish fails, however long it stalled.
- A run that dies holds its lease until it expires; what it uploaded is referenced by nothing and removed by the
  next run (stores/bucket_landing.py).

Readers see only the published version; the lease changes nothing they read.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

from hygge.errors import StateError
from hygge.state.manifest import Manifest
from hygge.storage.base import Conflict, Storage

LEASE_SECONDS = 120.0  # how long a dead holder can block the entity (the same host frees it at once)


@dataclass
class Lease:
    run_id: str
    host: str
    pid: int
    until: float  # epoch seconds

    def alive(self, now: float) -> bool:
        if self.until <= now:
            return False
        if self.host == socket.gethostname() and self.pid != os.getpid():
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                return False  # its process is gone: no need to wait out the lease
            except PermissionError:
                return True
        return True


def _decode(data: bytes, shown: str) -> tuple[Manifest | None, Lease | None]:
    try:
        doc = json.loads(data)
        manifest = Manifest.from_dict(doc) if doc.get("run_id") else None
        lease = Lease(**doc["lease"]) if doc.get("lease") else None
    except (ValueError, KeyError, TypeError) as exc:
        raise StateError("the entity's manifest cannot be read", path=shown,
                         expected="the JSON manifest hygge wrote at the last commit", found=str(exc),
                         hint="if it was edited by hand, restore it; to reload the entity, delete its folder") from exc
    return manifest, lease


def _encode(manifest: Manifest | None, lease: Lease | None) -> bytes:
    doc: dict[str, Any] = manifest.to_dict() if manifest is not None else {}
    doc["lease"] = None if lease is None else vars(lease)
    return json.dumps(doc, sort_keys=True, default=str).encode() + b"\n"


def read_published(storage: Storage, key: str) -> Manifest | None:
    """The published version of an entity, as readers see it."""
    found = storage.read(key)
    return _decode(found[0], storage.show(key))[0] if found else None


class HeldManifest:
    """The manifest of one entity, with this run's lease on it until ``publish`` or ``release``."""

    def __init__(self, storage: Storage, key: str, entity: str, run_id: str, wait: float = 0.0,
                 lease_seconds: float = LEASE_SECONDS):
        self.storage, self.key, self.entity, self.run_id = storage, key, entity, run_id
        self.lease_seconds = lease_seconds
        self.published: Manifest | None = None
        self.etag = ""
        self.taken_over: Lease | None = None  # a lease of a run that died, which this run replaced
        self._lock = threading.Lock()  # renewals and the publish take turns on the ETag
        self._held = False
        self._acquire(wait)
        self._stop = threading.Event()
        self._renewer = threading.Thread(target=self._renew_until_done, name=f"hygge-lease-{entity}", daemon=True)
        self._renewer.start()

    def _lease(self) -> Lease:
        return Lease(self.run_id, socket.gethostname(), os.getpid(), time.time() + self.lease_seconds)

    def _acquire(self, wait: float) -> None:
        deadline = time.monotonic() + wait
        while True:
            found = self.storage.read(self.key)
            try:
                if found is None:
                    self.etag = self.storage.create(self.key, _encode(None, self._lease()))
                    self._held = True
                    return
                data, etag = found
                self.published, lease = _decode(data, self.storage.show(self.key))
                if lease is None or not lease.alive(time.time()):
                    self.etag = self.storage.replace(self.key, _encode(self.published, self._lease()), etag)
                    self.taken_over, self._held = lease, True
                    return
            except Conflict:
                continue  # another run wrote in between: look again
            if time.monotonic() >= deadline:
                left = max(0, int(lease.until - time.time()))
                raise StateError(
                    "another hygge run is writing this entity right now", entity=self.entity,
                    path=self.storage.show(self.key), expected="no other run on the same entity",
                    found=f"run {lease.run_id} (pid {lease.pid} on {lease.host}), its lease ends in {left} s",
                    hint="wait for it to finish, or set `options: lock_wait: SECONDS` to queue behind it; a run that "
                         "died frees the entity when its lease ends")
            time.sleep(min(1.0, max(0.05, deadline - time.monotonic())))

    def _renew_until_done(self) -> None:
        while not self._stop.wait(self.lease_seconds / 4):
            with self._lock:
                if not self._held:
                    return
                try:
                    self.etag = self.storage.replace(self.key, _encode(self.published, self._lease()), self.etag)
                except Conflict:
                    self._held = False  # taken over: the publish will say so
                    return
                except Exception:  # noqa: BLE001 - a renewal that failed to reach the bucket is tried again
                    continue

    def publish(self, manifest: Manifest) -> None:
        """Make ``manifest`` the entity's version and drop the lease, in one compare-and-swap."""
        with self._lock:
            if not self._held:
                raise self._lost()
            try:
                self.etag = self.storage.replace(self.key, _encode(manifest, None), self.etag)
            except Conflict:
                raise self._lost() from None
            self.published, self._held = manifest, False
        self._stop.set()

    def confirm(self) -> None:
        """Renew the lease now, or raise if another run took it over: the check before a write that only the
        holder may make (a conditional create of the next data file of a table, which no manifest fences)."""
        with self._lock:
            if not self._held:
                raise self._lost()
            try:
                self.etag = self.storage.replace(self.key, _encode(self.published, self._lease()), self.etag)
            except Conflict:
                self._held = False
                raise self._lost() from None

    def _lost(self) -> StateError:
        return StateError(
            "this run's lease on the entity ended and another run took it over; nothing was published",
            entity=self.entity, path=self.storage.show(self.key),
            expected="the manifest as this run left it", found="another run's write",
            hint="look at `hygge history` for the other run; run again once it has finished")

    def release(self) -> None:
        """Give the entity back without publishing (abort, or after publish: nothing to do)."""
        self._stop.set()
        with self._lock:
            if not self._held:
                return
            self._held = False
            try:
                self.storage.replace(self.key, _encode(self.published, None), self.etag)
            except Exception:  # noqa: BLE001 - the lease ends by itself; a later run takes it over
                pass
