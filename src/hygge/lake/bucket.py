"""A lake table on a bucket (S3, GCS, Azure): hygge's resolved bucket settings in the words of delta-rs and pyiceberg.

The credentials, endpoint and region come from storage/settings.py, the same as for file Stores on a bucket, so
one `connections:` entry (or the cloud's environment) serves parquet files, Delta tables and Iceberg tables
alike. Secrets go only into the option mappings handed to the clients; what people see is
:meth:`BucketSettings.display`.

Safe concurrent commits. A Delta commit is the creation of ``_delta_log/<version>.json``; two writers are safe
only if that creation fails for the second one. delta-rs 1.x does this with a conditional put (create only if
absent) on every family; on S3 the only alternatives it knows are an unsafe rename (``AWS_S3_ALLOW_UNSAFE_RENAME``)
or a DynamoDB locking provider (dropped in 1.0). hygge asks for the conditional put explicitly, refuses a
configuration that would switch it off, and checks once per bucket that the server really refuses a second
create of the same key (an S3-compatible server that ignores ``If-None-Match`` would let two commits of one
version overwrite each other).
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from hygge.errors import ConfigError, ConfigProblem
from hygge.storage.address import Address
from hygge.storage.base import Conflict, Storage
from hygge.storage.settings import BucketSettings

# Settings that make delta-rs commit without a conditional put: two writers could then both commit one version.
UNSAFE = ("AWS_S3_ALLOW_UNSAFE_RENAME", "AWS_S3_LOCKING_PROVIDER")
_checked: set[tuple[str, str, str]] = set()
_checking = threading.Lock()


@dataclass(frozen=True)
class LakeBucket:
    """One table's prefix in a bucket, with the storage (rooted at the bucket) hygge's own objects go through."""

    address: Address  # the table's own prefix
    settings: BucketSettings
    storage: Storage = None  # type: ignore[assignment]

    def key(self, *parts: str) -> str:
        """A key of the table's prefix, in the bucket-rooted storage."""
        return self.address.child(*parts)

    def at(self, name: str) -> LakeBucket:
        prefix = self.address.child(name)
        return LakeBucket(Address(self.address.family, self.address.bucket, prefix, self.address.account,
                                  self.address.domain, f"{self.address.url}/{name}"), self.settings, self.storage)

    @property
    def uri(self) -> str:
        return self.address.url


def open_bucket(path: str, connection: str | dict[str, Any] | None,
                connections: dict[str, dict[str, Any]]) -> LakeBucket:
    from hygge.storage.address import parse
    from hygge.storage.remote import storage_for
    from hygge.storage.settings import settings_for

    address = parse(path)
    settings = settings_for(address, connection, connections)
    root = Address(address.family, address.bucket, "", address.account, address.domain, address.text)
    return LakeBucket(address, settings, storage_for(root, settings))


def _emulated_azure(s: BucketSettings) -> bool:
    """Azurite: object_store's emulator mode is what its path-style URLs need (with a plain endpoint, delta-rs
    fails from the third commit on with 'Invalid table version: 1')."""
    host = urlsplit(s.endpoint).hostname if s.endpoint else None
    return bool(host in ("127.0.0.1", "localhost", "::1") and s.account == "devstoreaccount1")


def delta_options(s: BucketSettings) -> dict[str, str]:
    """delta-rs ``storage_options`` for a table on this bucket."""
    refuse_unsafe(s)
    out: dict[str, str] = {}
    if s.family == "s3":
        out["conditional_put"] = "etag"  # the commit is a create-if-absent (delta-rs's default; said, not assumed)
        if s.region:
            out["AWS_REGION"] = s.region
        if s.endpoint:
            out["AWS_ENDPOINT_URL"] = s.endpoint
        if s.http:
            out["AWS_ALLOW_HTTP"] = "true"
        out["AWS_VIRTUAL_HOSTED_STYLE_REQUEST"] = "false" if s.path_style else "true"
        if s.anonymous:
            out["AWS_SKIP_SIGNATURE"] = "true"
        elif s.key_id and s.secret:
            out.update(AWS_ACCESS_KEY_ID=s.key_id, AWS_SECRET_ACCESS_KEY=s.secret)
            if s.token:
                out["AWS_SESSION_TOKEN"] = s.token
        return out
    if s.family == "gcs":
        if s.http:
            out["allow_http"] = "true"
        if s.anonymous and s.endpoint:
            # object_store asks the metadata server for a token even with skip_signature; a key that says
            # "no OAuth" and names the base URL is how it talks to an emulator without one.
            out["google_service_account_key"] = json.dumps({
                "gcs_base_url": s.endpoint, "disable_oauth": True, "client_email": "", "private_key": "",
                "private_key_id": ""})
            return out
        if s.credentials_file:
            out["google_service_account"] = s.credentials_file
        if s.endpoint:
            out["google_base_url"] = s.endpoint
        if s.anonymous:
            out["google_skip_signature"] = "true"
        return out
    if _emulated_azure(s):
        assert s.endpoint is not None
        parts = urlsplit(s.endpoint)
        # object_store reads the emulator's address only from the environment; this is Azurite on this machine.
        os.environ["AZURITE_BLOB_STORAGE_URL"] = f"{parts.scheme}://{parts.netloc}"
        return {"azure_storage_use_emulator": "true", "azure_allow_http": "true"}
    if s.account:
        out["azure_storage_account_name"] = s.account
    if s.secret:
        out["azure_storage_account_key"] = s.secret
    if s.token:
        out["azure_storage_sas_key"] = s.token
    if s.client_id and s.client_secret and s.tenant_id:
        out.update(azure_client_id=s.client_id, azure_client_secret=s.client_secret, azure_tenant_id=s.tenant_id)
    if s.endpoint:
        out["azure_storage_endpoint"] = s.endpoint
    if s.http:
        out["azure_allow_http"] = "true"
    return out


def iceberg_properties(s: BucketSettings) -> dict[str, str]:
    """pyiceberg FileIO properties for a warehouse on this bucket: hygge's own FileIO (lake/iceberg_io.py), whose
    filesystem is the pyarrow client the storage layer builds from these settings, on every family. (pyiceberg's
    PyArrowFileIO takes ``container@account`` for an Azure container and cannot reach a GCS server anonymously.)"""
    from hygge.lake.iceberg_io import properties

    if s.family == "azure" and not s.secret:
        raise ConfigError([ConfigProblem(
            "an Iceberg warehouse on Azure is written through pyarrow's Azure client, which needs the account "
            "key (without one it ends the whole process, arrow#40405)", key="storage",
            expected="an account key: `account_key:` of the storage connection, AZURE_STORAGE_ACCOUNT_KEY or a "
                     "connection string with AccountKey", found=f"no key for {s.display()}",
            hint="give the warehouse's storage connection the account key, or keep the warehouse on S3, GCS or "
                 "a local folder")])
    return properties(s)


def refuse_unsafe(s: BucketSettings, env: dict[str, str] | None = None) -> None:
    """A ConfigError when the environment would make delta-rs commit without a conditional put."""
    env = dict(os.environ if env is None else env)
    found = [f"{k}={env[k]}" for k in UNSAFE if env.get(k, "").strip().lower() not in ("", "false", "0")]
    if s.family == "s3" and found:
        raise ConfigError([ConfigProblem(
            "the environment asks delta-rs to commit to S3 without a conditional put; two writers could then both "
            "commit the same table version and one's data would be lost", key="path",
            expected="no AWS_S3_ALLOW_UNSAFE_RENAME and no AWS_S3_LOCKING_PROVIDER (hygge commits with S3's "
                     "conditional writes)", found=", ".join(found),
            hint="unset those variables; S3 and S3-compatible servers with conditional writes need no lock")])


def check_conditional_put(bucket: LakeBucket) -> None:
    """Once per bucket and process: the server refuses a second create of one key, or the table is refused."""
    s = bucket.settings
    marker = (s.family, s.endpoint or "", bucket.address.bucket)
    with _checking:
        if marker in _checked:
            return
        probe = bucket.key("_hygge", f"probe-{uuid.uuid4().hex}")
        bucket.storage.create(probe, b"1")
        try:
            bucket.storage.create(probe, b"2")
            honoured = False
        except Conflict:
            honoured = True
        finally:
            bucket.storage.delete([probe])
        if not honoured:
            raise ConfigError([ConfigProblem(
                "this bucket's server does not honour conditional writes, so two Delta commits of one version "
                "could overwrite each other; hygge does not write tables there", key="path",
                expected="a create-if-absent (If-None-Match: *) that fails when the object exists",
                found=f"a second create of one key succeeded on {s.display()}",
                hint="use a server with conditional writes (AWS S3, MinIO, Cloudflare R2, ...), or a local folder")])
        _checked.add(marker)
