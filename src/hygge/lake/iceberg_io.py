"""pyiceberg's FileIO for a warehouse on a bucket: the pyarrow filesystem hygge's storage layer builds for it.

pyiceberg's own PyArrowFileIO builds its clients from ``s3.*``, ``gcs.*`` and ``adls.*`` properties, and for two
families that falls short: on Azure it takes ``container@account`` for the container of an ``abfss://`` URL (and
knows no ``az://``), and on GCS it cannot say "anonymous", so pyarrow's client asks the metadata server for a
token and waits. This FileIO keeps pyiceberg's files (PyArrowFile: reads, streaming writes, deletes) and swaps
only the filesystem: the one :class:`hygge.storage.remote.RemoteStorage` makes from the bucket's resolved
settings, the same client parquet and csv Stores on that bucket use, with its explicit endpoint, credentials
and retries. Table locations stay the URLs people write (``s3://``, ``gs://``, ``az://``, ``abfss://``).

The settings travel as ``hygge.bucket.*`` properties (:func:`properties`), because pyiceberg makes its FileIO
from properties alone (``py-io-impl``); secrets among them reach pyiceberg and nothing else.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from pyarrow.fs import FileSystem
from pyiceberg.io.pyarrow import PyArrowFileIO
from pyiceberg.typedef import EMPTY_DICT, Properties

from hygge.storage.address import SCHEMES, Address, parse
from hygge.storage.settings import BucketSettings

IMPL = f"{__name__}.BucketFileIO"
PREFIX = "hygge.bucket."
_FLAGS = ("path_style", "anonymous")


def properties(s: BucketSettings) -> dict[str, str]:
    """The FileIO properties of a warehouse on this bucket: ``py-io-impl`` and the settings it needs."""
    out = {"py-io-impl": IMPL}
    for f in fields(s):
        value = getattr(s, f.name)
        if f.name in _FLAGS:
            out[PREFIX + f.name.replace("_", "-")] = "true" if value else "false"
        elif value is not None:
            out[PREFIX + f.name.replace("_", "-")] = str(value)
    return out


def settings_of(props: Properties) -> BucketSettings:
    given = {f.name: props.get(PREFIX + f.name.replace("_", "-")) for f in fields(BucketSettings)}
    if not given["family"]:
        raise ValueError(f"{IMPL} needs the bucket's settings ({PREFIX}family ...); hygge's catalogs give them")
    values: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
    for flag in _FLAGS:
        values[flag] = given[flag] == "true"
    return BucketSettings(**values)


class BucketFileIO(PyArrowFileIO):
    """PyArrowFileIO over hygge's filesystem of the warehouse's bucket family; local paths as pyiceberg does."""

    def __init__(self, properties: Properties = EMPTY_DICT):
        super().__init__(properties)
        self.settings = settings_of(properties)

    @staticmethod
    def parse_location(location: str, properties: Properties = EMPTY_DICT) -> tuple[str, str, str]:
        scheme = location.split("://", 1)[0].lower() if "://" in location else ""
        if scheme not in SCHEMES:
            return PyArrowFileIO.parse_location(location, properties)
        address = parse(location, key="location")
        # pyarrow's paths are bucket/key; the account of an abfss:// URL is the client's, not part of the path.
        return scheme, address.bucket, "/".join(p for p in (address.bucket, address.prefix) if p)

    def _initialize_fs(self, scheme: str, netloc: str | None = None) -> FileSystem:
        family = SCHEMES.get(scheme)
        if family is None:
            return super()._initialize_fs(scheme, netloc)
        if family != self.settings.family:
            raise ValueError(f"a {family} location in a warehouse on {self.settings.display()}: hygge's FileIO "
                             f"reaches one bucket family per catalog; give the {family} tables a catalog of their own")
        from hygge.storage.remote import RemoteStorage

        return RemoteStorage(Address(family, netloc or "", ""), self.settings).filesystem
