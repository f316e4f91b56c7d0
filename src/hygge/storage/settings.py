"""Credentials, region and endpoint of a bucket: from a named connection, else each cloud's own environment.

What already works for the AWS, Azure and gcloud command-line tools works here: ``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``, ``AWS_REGION``, ``AWS_ENDPOINT_URL``, ``AWS_PROFILE`` (static keys
from ``~/.aws/credentials``); ``AZURE_STORAGE_CONNECTION_STRING``, ``AZURE_STORAGE_ACCOUNT_NAME``,
``AZURE_STORAGE_ACCOUNT_KEY``, ``AZURE_STORAGE_SAS_TOKEN`` and the identity chain (``AZURE_CLIENT_ID`` ...);
``GOOGLE_APPLICATION_CREDENTIALS`` and ``STORAGE_EMULATOR_HOST``. A connection (``type: s3 | gcs | azure``) may set
the same things explicitly, secrets from ``${ENV}``. Secrets never leave this module except towards a client:
everything shown to people goes through :meth:`BucketSettings.display`.
"""

from __future__ import annotations

import configparser
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, ValidationError

from hygge.core.config import Strict
from hygge.errors import ConfigError, ConfigProblem
from hygge.storage.address import Address


class S3Connection(Strict):
    type: Literal["s3"]
    region: str | None = None
    endpoint: str | None = Field(None, description="an S3-compatible server, e.g. http://127.0.0.1:9000 (MinIO)")
    access_key_id: str | None = None
    secret_access_key: str | None = None
    session_token: str | None = None
    profile: str | None = Field(None, description="a profile of ~/.aws/credentials with static keys")
    path_style: bool | None = Field(None, description="bucket in the path, not the host (default with an endpoint)")
    anonymous: bool = False


class GcsConnection(Strict):
    type: Literal["gcs"]
    project: str | None = None
    endpoint: str | None = Field(None, description="an emulator, e.g. http://127.0.0.1:4443")
    credentials: str | None = Field(None, description="a service-account JSON key file")
    anonymous: bool = False


class AzureConnection(Strict):
    type: Literal["azure"]
    account_name: str | None = None
    account_key: str | None = None
    connection_string: str | None = None
    sas_token: str | None = None
    endpoint: str | None = Field(None, description="the blob endpoint, e.g. http://127.0.0.1:10000/devstoreaccount1")
    tenant_id: str | None = None
    client_id: str | None = None
    client_secret: str | None = None


MODELS: dict[str, type[Strict]] = {"s3": S3Connection, "gcs": GcsConnection, "azure": AzureConnection}


@dataclass(frozen=True)
class BucketSettings:
    """Everything a client needs for one bucket family, resolved once."""

    family: str
    name: str  # the connection's name, or "environment"
    region: str | None = None
    endpoint: str | None = None  # scheme://host[:port][/path]
    key_id: str | None = None
    secret: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    account: str | None = None
    project: str | None = None
    credentials_file: str | None = None
    path_style: bool = False
    anonymous: bool = False
    tenant_id: str | None = None
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)

    @property
    def http(self) -> bool:
        return bool(self.endpoint and self.endpoint.startswith("http://"))

    @property
    def authority(self) -> str | None:
        """host:port of the endpoint."""
        return urlsplit(self.endpoint).netloc if self.endpoint else None

    def display(self) -> str:
        where = f" at {self.endpoint}" if self.endpoint else (f" in {self.region}" if self.region else "")
        who = f", account {self.account}" if self.account else ""
        return f"{self.family}{where} ({self.name}{who})"


def settings_for(address: Address, connection: str | dict[str, Any] | None,
                 connections: dict[str, dict[str, Any]], env: dict[str, str] | None = None) -> BucketSettings:
    """The settings of a bucket: a named or inline connection when given, the cloud's environment otherwise."""
    env = dict(os.environ if env is None else env)
    name, raw = "environment", {"type": address.family}
    if isinstance(connection, str):
        if connection not in connections:
            raise ConfigError([ConfigProblem(
                f"connection '{connection}' is not defined", key="connection",
                expected=f"a name under `connections:` ({', '.join(sorted(connections)) or 'none defined'})",
                found=connection,
                hint=f"add it under `connections:` in hygge.yml, with `type: {address.family}`")])
        name, raw = connection, {"type": address.family, **connections[connection]}
    elif isinstance(connection, dict):
        name, raw = "inline", {"type": address.family, **connection}
    model = MODELS[address.family]
    if raw.get("type") != address.family:
        raise ConfigError([ConfigProblem(
            f"connection '{name}' is of type {raw.get('type')}, but the path is a {address.family} URL",
            key="connection", expected=f"type: {address.family}", found=str(raw.get("type")),
            hint="name a connection of the bucket's kind, or fix the URL")])
    try:
        config = model.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError([ConfigProblem(f"connection '{name}': {error['msg']}",
                                         key=".".join(str(p) for p in error["loc"]))
                           for error in exc.errors()]) from None
    if isinstance(config, S3Connection):
        return _s3(name, config, env)
    if isinstance(config, GcsConnection):
        return _gcs(name, config, env)
    assert isinstance(config, AzureConnection)
    return _azure(name, config, address, env)


def _s3(name: str, c: S3Connection, env: dict[str, str]) -> BucketSettings:
    key, secret, token = c.access_key_id, c.secret_access_key, c.session_token
    profile = c.profile or env.get("AWS_PROFILE")
    if key is None and profile and not env.get("AWS_ACCESS_KEY_ID"):
        key, secret, token = _profile_keys(profile, env)
    if key is None:
        key, secret = env.get("AWS_ACCESS_KEY_ID"), env.get("AWS_SECRET_ACCESS_KEY")
        token = token or env.get("AWS_SESSION_TOKEN")
    endpoint = c.endpoint or env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL")
    region = c.region or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    if endpoint and not region:
        region = "us-east-1"  # S3-compatible servers ignore it, but request signing needs one
    path_style = c.path_style if c.path_style is not None else bool(endpoint)
    return BucketSettings("s3", name, region=region, endpoint=endpoint, key_id=key, secret=secret, token=token,
                          path_style=path_style, anonymous=c.anonymous)


def _profile_keys(profile: str, env: dict[str, str]) -> tuple[str | None, str | None, str | None]:
    path = Path(env.get("AWS_SHARED_CREDENTIALS_FILE") or Path.home() / ".aws" / "credentials").expanduser()
    parser = configparser.ConfigParser()
    parser.read(path)
    if not parser.has_section(profile) or not parser.has_option(profile, "aws_access_key_id"):
        raise ConfigError([ConfigProblem(
            f"AWS profile '{profile}' has no static keys in {path}", key="profile",
            expected="aws_access_key_id and aws_secret_access_key under [" + profile + "]",
            found="no such profile" if not parser.has_section(profile) else "a profile without keys",
            hint="run `aws configure --profile " + profile + "`, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")])
    section = parser[profile]
    return section.get("aws_access_key_id"), section.get("aws_secret_access_key"), section.get("aws_session_token")


def _gcs(name: str, c: GcsConnection, env: dict[str, str]) -> BucketSettings:
    endpoint = c.endpoint
    emulator = env.get("STORAGE_EMULATOR_HOST")
    if endpoint is None and emulator:
        endpoint = emulator if "://" in emulator else f"http://{emulator}"
    credentials = c.credentials or env.get("GOOGLE_APPLICATION_CREDENTIALS")
    # An emulator takes no credentials; asking the metadata server for some would only hang.
    anonymous = c.anonymous or (endpoint is not None and credentials is None)
    return BucketSettings("gcs", name, endpoint=endpoint, project=c.project or env.get("GOOGLE_CLOUD_PROJECT"),
                          credentials_file=credentials, anonymous=anonymous)


def _azure(name: str, c: AzureConnection, address: Address, env: dict[str, str]) -> BucketSettings:
    parsed = _connection_string(c.connection_string or ("" if c.account_name or c.account_key else
                                                         env.get("AZURE_STORAGE_CONNECTION_STRING", "")))
    account = (c.account_name or address.account or parsed.get("AccountName")
               or env.get("AZURE_STORAGE_ACCOUNT_NAME") or env.get("AZURE_STORAGE_ACCOUNT"))
    key = c.account_key or parsed.get("AccountKey") or env.get("AZURE_STORAGE_ACCOUNT_KEY") or env.get(
        "AZURE_STORAGE_KEY")
    sas = c.sas_token or parsed.get("SharedAccessSignature") or env.get("AZURE_STORAGE_SAS_TOKEN")
    endpoint = c.endpoint or parsed.get("BlobEndpoint")
    if endpoint is None and address.domain and address.account:
        endpoint = f"https://{address.account}.blob.{address.domain}"
    if not account:
        raise ConfigError([ConfigProblem(
            "the Azure storage account is not known", key="connection",
            expected="an account in the URL (abfss://container@ACCOUNT.dfs.core.windows.net/), a connection's "
                     "`account_name`, or AZURE_STORAGE_ACCOUNT_NAME / AZURE_STORAGE_CONNECTION_STRING",
            found="none of them", hint="name the account in one of those places")])
    return BucketSettings("azure", name, endpoint=endpoint, account=account, secret=key,
                          token=sas.lstrip("?") if sas else None,
                          tenant_id=c.tenant_id or env.get("AZURE_TENANT_ID"),
                          client_id=c.client_id or env.get("AZURE_CLIENT_ID"),
                          client_secret=c.client_secret or env.get("AZURE_CLIENT_SECRET"))


# The well-known key of Azure's storage emulators (Azurite), published by Microsoft: not a secret.
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def _connection_string(text: str) -> dict[str, str]:
    out = {}
    for part in text.split(";"):
        if "=" in part:
            key, value = part.split("=", 1)
            out[key.strip()] = value.strip()
    if out.get("UseDevelopmentStorage") == "true":
        out.setdefault("AccountName", "devstoreaccount1")
        out.setdefault("AccountKey", AZURITE_KEY)
        out.setdefault("BlobEndpoint", "http://127.0.0.1:10000/devstoreaccount1")
    if "BlobEndpoint" not in out and out.get("AccountName"):
        protocol = out.get("DefaultEndpointsProtocol", "https")
        suffix = out.get("EndpointSuffix", "core.windows.net")
        out["BlobEndpoint"] = f"{protocol}://{out['AccountName']}.blob.{suffix}"
    return out
