"""Buckets for the tests: one real server per family, started by the suite on 127.0.0.1, shared by a session.

S3 is moto's server (PyPI), Azure Blob is Azurite (npm; installed on first use into a cache folder), Google
Cloud Storage is fake-gcs-server (PyPI). A server that cannot be installed or started skips its tests with the
reason, unless HYGGE_REQUIRE_SERVICES=1 (CI), where they fail. Nothing here reaches a real cloud: every client
gets the server's endpoint and test credentials, and instance-metadata lookups are switched off.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from tests import objectstores

SERVERS = {"s3": "moto", "azure": "azurite", "gcs": "fake-gcs-server"}
_started: dict[str, objectstores.Emulator | str] = {}


def server(family: str) -> objectstores.Emulator:
    """The family's server, started on first use; a reason to skip when it cannot run here."""
    found = _started.get(family)
    if found is None:
        try:
            found = objectstores.SERVERS[SERVERS[family]]().start()
        except Exception as exc:  # noqa: BLE001 - the reason is what the person needs
            found = f"{SERVERS[family]} ({family}) could not start here: {str(exc).splitlines()[0][:300]}"
        _started[family] = found
    if isinstance(found, str):
        if os.environ.get("HYGGE_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{found}, and HYGGE_REQUIRE_SERVICES=1 says it must be there")
        pytest.skip(found)
    return found


def stop_all() -> None:
    for emulator in _started.values():
        if not isinstance(emulator, str):
            emulator.close()
    _started.clear()


@dataclass
class Bucket:
    """A prefix of its own in the family's bucket, and how hygge reaches it."""

    family: str
    settings: objectstores.StoreSettings
    prefix: str

    def url(self, *parts: str) -> str:
        return self.settings.url("/".join([self.prefix, *parts]))

    @property
    def env(self) -> dict[str, str]:
        """What each cloud's own tools read: hygge takes its credentials and endpoint from these."""
        return {k: v for k, v in self.settings.env().items() if v is not None}

    def connection(self) -> dict[str, Any]:
        """The same, as a named connection under `connections:` of a hygge.yml."""
        s = self.settings
        if self.family == "s3":
            return {"type": "s3", "endpoint": s.endpoint, "region": s.region, "access_key_id": s.access_key,
                    "secret_access_key": s.secret_key}
        if self.family == "azure":
            return {"type": "azure", "account_name": s.account_name, "account_key": s.account_key,
                    "endpoint": s.endpoint}
        return {"type": "gcs", "endpoint": f"http://{s.authority}", "anonymous": True}

    def read_back(self, root: Path, entity: str, key: str = "id") -> pa.Table:
        """The entity under ``lake/`` read back by `hygge go` into a local parquet folder below ``root``."""
        from tests.helpers import read_target, run_hygge, write_project

        back = root / f"back-{uuid.uuid4().hex[:6]}"
        write_project(back, f"""\
            name: back
            flows:
              b:
                home: {{type: parquet, path: "{self.url('lake')}"}}
                store: {{type: parquet, path: out}}
                entities: [{entity}]
            """)
        run_hygge("go", cwd=back, env=self.env, check=0)
        return read_target(back / "out" / entity).sort_by(key)

    def storage(self) -> Any:
        """hygge's own view of the prefix, for checking what landed."""
        from hygge.storage.address import parse
        from hygge.storage.remote import storage_for
        from hygge.storage.settings import settings_for

        address = parse(self.url())
        return storage_for(address, settings_for(address, self.connection(), {}))


def make_bucket(family: str, name: str) -> Bucket:
    emulator = server(family)
    clean = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[-40:]
    return Bucket(family, emulator.settings, f"{clean}-{os.getpid()}-{uuid.uuid4().hex[:6]}")


@pytest.fixture(params=list(SERVERS), ids=list(SERVERS))
def bucket(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Bucket]:
    """A bucket prefix of each family; its credentials in the environment, as the clouds' own tools find them."""
    made = make_bucket(request.param, request.node.name)
    for key, value in made.env.items():
        monkeypatch.setenv(key, value)
    yield made
