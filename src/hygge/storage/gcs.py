"""Google Cloud Storage: pyarrow's filesystem for data, Google's own client for objects' versions.

GCS's conditional writes are by *generation* (``ifGenerationMatch``: 0 creates only, N swaps only version N),
and its JSON API is what every GCS server speaks (obstore writes through the XML API, which the GCS
emulators do not serve). So listings, small objects, conditional puts and deletes go through
google-cloud-storage; the version tag hygge keeps is the generation.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any

from hygge.errors import MissingDriver
from hygge.storage.base import Conflict, Entry
from hygge.storage.remote import UPLOAD_CHUNK, RemoteStorage


def _google() -> Any:
    try:
        from google.cloud import storage
    except ModuleNotFoundError as exc:
        raise MissingDriver("google-cloud-storage", "gcs", needed_for="files on Google Cloud Storage") from exc
    return storage


class GcsStorage(RemoteStorage):
    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        _google()  # the install hint before anything starts

    @cached_property
    def client(self) -> Any:
        storage = _google()
        s = self.settings
        options = {"api_endpoint": s.endpoint} if s.endpoint else None
        if s.anonymous:
            from google.auth.credentials import AnonymousCredentials

            return storage.Client(project=s.project or "hygge", credentials=AnonymousCredentials(),
                                  client_options=options)
        if s.credentials_file:
            return storage.Client.from_service_account_json(s.credentials_file, project=s.project,
                                                            client_options=options)
        return storage.Client(project=s.project, client_options=options)

    @cached_property
    def bucket(self) -> Any:
        return self.client.bucket(self.address.bucket)

    def _entry(self, blob: Any, key: str | None = None) -> Entry:
        when = blob.updated
        return Entry(key if key is not None else self._relative(blob.name), int(blob.size or 0),
                     None if when is None else int(when.timestamp() * 1_000_000) * 1000, str(blob.generation))

    def entries(self, prefix: str = "", recursive: bool = True) -> list[Entry]:
        base = self.key(prefix)
        try:
            blobs = self.client.list_blobs(self.bucket, prefix=base + "/" if base else None,
                                           delimiter=None if recursive else "/")
            out = [self._entry(b) for b in blobs if not b.name.endswith("/")]
        except Exception as exc:
            raise self._error(exc, "list objects", prefix) from exc
        return sorted(out, key=lambda e: e.key)

    def folders(self, prefix: str = "") -> list[str]:
        base = self.key(prefix)
        try:
            listed = self.client.list_blobs(self.bucket, prefix=base + "/" if base else None, delimiter="/")
            for _ in listed:
                pass  # the prefixes are known once the pages are read
        except Exception as exc:
            raise self._error(exc, "list objects", prefix) from exc
        return sorted(p.rstrip("/").rsplit("/", 1)[-1] for p in listed.prefixes)

    def stat(self, key: str) -> Entry | None:
        try:
            blob = self.bucket.get_blob(self.key(key))
        except Exception as exc:
            raise self._error(exc, "read an object's details", key) from exc
        return None if blob is None else self._entry(blob, key)

    def read(self, key: str) -> tuple[bytes, str] | None:
        from google.api_core import exceptions

        blob = self.bucket.blob(self.key(key))
        try:
            data = blob.download_as_bytes()
        except exceptions.NotFound:
            return None
        except Exception as exc:
            raise self._error(exc, "read an object", key) from exc
        return data, str(blob.generation)

    def upload(self, local: Path, key: str) -> Entry:
        blob = self.bucket.blob(self.key(key), chunk_size=UPLOAD_CHUNK)
        try:
            blob.upload_from_filename(str(local))
        except Exception as exc:
            raise self._error(exc, "upload an object", key) from exc
        return self._entry(blob, key)

    def create_limit(self) -> int | None:
        return None  # a resumable upload with ifGenerationMatch=0 goes in chunks, however large

    def create_file(self, local: Path, key: str) -> Entry:
        from google.api_core import exceptions

        blob = self.bucket.blob(self.key(key), chunk_size=UPLOAD_CHUNK)
        try:
            blob.upload_from_filename(str(local), if_generation_match=0)
        except exceptions.PreconditionFailed as exc:
            raise Conflict(str(exc)) from exc
        except Exception as exc:
            raise self._error(exc, "upload an object", key) from exc
        return self._entry(blob, key)

    def _put(self, key: str, data: bytes | Path, mode: Any) -> str:
        from google.api_core import exceptions

        blob = self.bucket.blob(self.key(key))
        condition = {"if_generation_match": 0} if mode == "create" else (
            {"if_generation_match": int(mode["e_tag"])} if isinstance(mode, dict) else {})
        try:
            blob.upload_from_string(data, **condition)
        except (exceptions.PreconditionFailed, exceptions.NotFound) as exc:
            raise Conflict(str(exc)) from exc
        except Exception as exc:
            raise self._error(exc, "write an object", key) from exc
        return str(blob.generation)

    def delete(self, keys: list[str]) -> None:
        from google.api_core import exceptions

        for key in keys:
            try:
                self.bucket.blob(self.key(key)).delete()
            except exceptions.NotFound:
                continue
            except Exception as exc:
                raise self._error(exc, "delete objects", key) from exc
