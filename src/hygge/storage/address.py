"""Where a file Home or Store keeps its bytes: a local folder or a bucket, told apart by the `path` text.

``s3://bucket/prefix``, ``gs://bucket/prefix`` (``gcs://`` too), ``az://container/prefix`` and
``abfss://container@account.dfs.core.windows.net/prefix`` (``abfs://``; Blob endpoints ``*.blob.core.windows.net``
too) name buckets; anything else is a local path. A `path` that looks like a URL of another scheme is refused
rather than written as a folder named ``s3:`` in the project.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from hygge.errors import ConfigError, ConfigProblem

SCHEMES = {"s3": "s3", "s3a": "s3", "gs": "gcs", "gcs": "gcs", "az": "azure", "azure": "azure", "abfs": "azure",
           "abfss": "azure"}
_URL = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://")
_AZURE_HOST = re.compile(r"^(?P<account>[a-z0-9]+)\.(?P<kind>dfs|blob)\.(?P<domain>.+)$")


@dataclass(frozen=True)
class Address:
    """A bucket (or container) and a prefix inside it; ``account`` for Azure when the URL names it."""

    family: str  # s3, gcs, azure
    bucket: str
    prefix: str  # no leading or trailing slash; "" for the bucket's root
    account: str | None = None
    domain: str | None = None  # Azure: the endpoint's domain when the URL names one (OneLake, sovereign clouds)
    text: str = ""  # as the person wrote it

    @property
    def url(self) -> str:
        scheme = {"s3": "s3", "gcs": "gs", "azure": "az"}[self.family]
        return f"{scheme}://{self.bucket}/{self.prefix}".rstrip("/")

    def child(self, *parts: str) -> str:
        """A key inside the bucket, below the prefix."""
        return "/".join(p.strip("/") for p in (self.prefix, *parts) if p.strip("/"))


def is_url(path: str) -> bool:
    return bool(_URL.match(path.strip()))


def parse(path: str, key: str = "path") -> Address:
    """The bucket address a `path` names; a ConfigError that says what is accepted otherwise."""
    text = path.strip()
    match = _URL.match(text)
    scheme = match.group("scheme").lower() if match else ""
    family = SCHEMES.get(scheme)
    if family is None:
        raise ConfigError([ConfigProblem(
            f"`{key}` is a URL of a kind hygge cannot read or write: {scheme}://", key=key,
            expected="a local path, or s3://, gs://, az:// or abfss://container@account.dfs.core.windows.net/ URL",
            found=text, hint="write a folder path, or one of those URLs")])
    parts = urlsplit(text)
    netloc, prefix = parts.netloc, parts.path.strip("/")
    account = domain = None
    if family == "azure" and "@" in netloc:
        netloc, host = netloc.split("@", 1)
        found = _AZURE_HOST.match(host)
        if not found:
            raise ConfigError([ConfigProblem(
                "an Azure URL names its account as container@account.dfs.core.windows.net", key=key,
                expected="abfss://container@account.dfs.core.windows.net/prefix", found=text,
                hint="check the host part of the URL")])
        account, domain = found.group("account"), found.group("domain")
    if not netloc:
        raise ConfigError([ConfigProblem(
            f"`{key}` names no bucket", key=key, expected=f"{scheme}://BUCKET/prefix", found=text,
            hint="put the bucket (or container) name right after the scheme")])
    return Address(family, netloc, prefix, account, domain, text)
