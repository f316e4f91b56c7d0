"""An Iceberg table on a bucket, as lake/iceberg_heal.py sees it: its files listed through hygge's storage layer,
and each writing run's mark a conditional object with a lease (storage/manifest_object.py).

A run's mark is ``<table>/_hygge/runs/<run id>.lock``, created when the run starts staging and renewed while it
works; the run deletes it last, after its commit or its own clean-up. A mark that is missing, or whose lease
ended (or whose process is gone, on this host), belongs to a dead run: its files that no snapshot references are
the next run's to delete.
"""

from __future__ import annotations

import json
import time
from typing import Any

from hygge.storage.address import Address, parse
from hygge.storage.settings import BucketSettings


class BucketTree:
    def __init__(self, location: str, settings: BucketSettings):
        from hygge.storage.remote import storage_for

        self.location = location.rstrip("/")
        address = parse(self.location, key="warehouse")
        self.prefix = address.prefix
        self.storage = storage_for(Address(address.family, address.bucket, "", address.account, address.domain,
                                           address.text), settings)

    def _key(self, *parts: str) -> str:
        return "/".join(p for p in (self.prefix, *parts) if p)

    def files(self, sub: str) -> list[str]:
        base = self._key()
        return [f"{self.location}/{e.key[len(base) + 1:]}" for e in self.storage.entries(self._key(sub))]

    def put(self, key: str, data: bytes) -> None:
        self.storage.put(self._key(key), data)

    def contents(self, sub: str) -> list[bytes]:
        """The bytes of every object below ``sub``, in key order."""
        out = []
        for entry in self.storage.entries(self._key(sub)):
            found = self.storage.read(entry.key)
            if found is not None:
                out.append(found[0])
        return out

    def mark_key(self, run_id: str) -> str:
        return self._key("_hygge", "runs", f"{run_id}.lock")

    def dead(self, run_id: str) -> bool:
        from hygge.storage.manifest_object import Lease

        found = self.storage.read(self.mark_key(run_id))
        if found is None:
            return True
        try:
            lease = json.loads(found[0]).get("lease")
        except ValueError:
            return True  # not hygge's writing: nobody renews it
        return lease is None or not Lease(**lease).alive(time.time())


class BucketMark:
    """This run's mark on the bucket: held (and renewed) until release, then deleted."""

    def __init__(self, tree: BucketTree, run_id: str):
        from hygge.storage.manifest_object import HeldManifest

        self.tree, self.key = tree, tree.mark_key(run_id)
        self.held: Any = HeldManifest(tree.storage, self.key, f"run {run_id}", run_id)

    def release(self) -> None:
        self.held.release()
        try:
            self.tree.storage.delete([self.key])
        except Exception:  # noqa: BLE001 - the lease ends by itself; a later run takes the mark for a dead run's
            pass
