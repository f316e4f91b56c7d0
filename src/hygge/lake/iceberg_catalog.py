"""Iceberg catalogs named in ``connections:`` (or given inline): SQL, REST and Glue.

One shape for all three::

    connections:
      lake:
        type: iceberg
        catalog: sql                      # sql | rest | glue
        uri: postgresql://hygge:${PGPASSWORD}@db:5432/lake   # or path: catalog.db (a SQLite file)
        warehouse: warehouse/             # where tables are created: a folder of the project, or a URL
        storage: my_bucket                # for a bucket warehouse (s3://, gs://, az://): a connection of
                                          # type s3 | gcs | azure, or a mapping; else the cloud's environment

Secrets (a password inside ``uri``, ``token``, ``credential``, keys in ``properties``) reach pyiceberg
and nothing else: every display goes through :meth:`CatalogSpec.display`, and validation problems
about them never repeat their value.
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, ValidationError, model_validator

from hygge.core.config import Strict
from hygge.errors import ConfigError, ConfigProblem, HyggeConnectionError, MissingDriver, first_line
from hygge.lake.bucket import iceberg_properties
from hygge.storage.settings import BucketSettings

# Keys whose values are never shown, in messages or displays.
_SECRET = re.compile(r"token|secret|password|credential|key|session", re.IGNORECASE)
_ONLY = {"sql": {"path"}, "rest": {"token", "credential", "scope", "oauth2_server_uri", "prefix"},
         "glue": {"region", "profile", "catalog_id"}}


class CatalogConfig(Strict):
    """One iceberg entry under ``connections:`` (or an inline ``connection:`` mapping)."""

    type: Literal["iceberg"] = "iceberg"
    catalog: Literal["sql", "rest", "glue"] = Field("sql", description="which kind of Iceberg catalog")
    name: str | None = Field(None, description="the catalog's name (SQL catalogs keep several apart by it); "
                                               "defaults to the connection's name")
    uri: str | None = Field(None, description="sql: a database URL (postgresql://..., sqlite:///file.db); "
                                              "rest: the catalog server's URL")
    path: str | None = Field(None, description="sql: a SQLite file holding the catalog, relative to the project")
    warehouse: str | None = Field(None, description="where new tables are created: a folder (relative to the "
                                                    "project) or a URL; rest: the warehouse name the server knows")
    token: str | None = Field(None, description="rest: a bearer token, e.g. ${ICEBERG_TOKEN}")
    credential: str | None = Field(None, description="rest: client_id:client_secret for OAuth2")
    scope: str | None = Field(None, description="rest: OAuth2 scope")
    oauth2_server_uri: str | None = Field(None, description="rest: the OAuth2 token endpoint, if not the catalog's")
    prefix: str | None = Field(None, description="rest: the catalog's path prefix")
    region: str | None = Field(None, description="glue: the AWS region")
    profile: str | None = Field(None, description="glue: the AWS profile name")
    catalog_id: str | None = Field(None, description="glue: the AWS account id of the catalog")
    storage: str | dict[str, Any] | None = Field(
        None, description="for a warehouse on a bucket: a name from `connections:` (type s3, gcs or azure), or a "
                          "mapping; without it, the cloud's own environment variables")
    properties: dict[str, str] = Field(default_factory=dict,
                                       description="more pyiceberg catalog and FileIO properties, passed as they are")
    max_sessions: int = Field(4, ge=1, description="moves using this catalog at once")

    @model_validator(mode="after")
    def _fits_its_kind(self) -> CatalogConfig:
        for kind, keys in _ONLY.items():
            if kind != self.catalog:
                given = sorted(k for k in keys if getattr(self, k) is not None)
                if given:
                    raise ValueError(f"{', '.join(given)} belong(s) to a {kind} catalog, and this one is "
                                     f"`catalog: {self.catalog}`")
        if self.catalog == "sql":
            if bool(self.uri) == bool(self.path):
                raise ValueError("a sql catalog needs exactly one of `uri:` (a database URL) or `path:` "
                                 "(a SQLite file)")
            if not self.warehouse:
                raise ValueError("a sql catalog needs `warehouse:`, the folder where its tables are created")
        if self.catalog == "rest" and not self.uri:
            raise ValueError("a rest catalog needs `uri:`, the URL of the catalog server")
        if self.catalog == "rest" and self.token and self.credential:
            raise ValueError("give a rest catalog either `token:` or `credential:`, not both")
        if self.catalog == "glue" and self.uri:
            raise ValueError("a glue catalog has no `uri:`; set `region:` (and `profile:`) instead")
        return self


def _mask_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def _location(text: str, root: Path) -> str:
    """A warehouse as pyiceberg wants it: URLs as they are, folders as absolute file:// URLs."""
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", text):
        return text
    path = Path(os.path.expanduser(text))
    return (path if path.is_absolute() else root / path).resolve().as_uri()


@dataclass(frozen=True)
class CatalogSpec:
    """A resolved catalog: what pyiceberg needs, and a safe way to show it."""

    name: str
    config: CatalogConfig = field(repr=False)
    root: Path
    bucket: BucketSettings | None = field(default=None, repr=False)  # a warehouse on a bucket

    def display(self) -> str:
        c = self.config
        where = c.path if c.path else _mask_url(c.uri) if c.uri else (c.region or "glue")
        return f"iceberg {c.catalog} catalog {self.name} ({where})"

    @property
    def key(self) -> str:
        """Moves sharing this key share the catalog's session limit."""
        return f"iceberg|{self.name}|{self.display()}"

    def warehouse(self) -> str | None:
        w = self.config.warehouse
        if w is None:
            return None
        return w if self.config.catalog == "rest" else _location(w, self.root)

    def properties(self) -> dict[str, str]:
        """Everything handed to pyiceberg's catalog class, secrets included: for pyiceberg only."""
        c = self.config
        props: dict[str, str] = {}
        if c.catalog == "sql":
            props["uri"] = _sql_uri(c, self.root)
            props["init_catalog_tables"] = "true"
        elif c.catalog == "rest":
            assert c.uri is not None
            props["uri"] = c.uri
            for key, prop in (("token", "token"), ("credential", "credential"), ("scope", "scope"),
                              ("oauth2_server_uri", "oauth2-server-uri"), ("prefix", "prefix")):
                value = getattr(c, key)
                if value is not None:
                    props[prop] = value
        else:
            for key, prop in (("region", "glue.region"), ("profile", "glue.profile-name"),
                              ("catalog_id", "glue.id")):
                value = getattr(c, key)
                if value is not None:
                    props[prop] = value
        warehouse = self.warehouse()
        if warehouse is not None:
            props["warehouse"] = warehouse
        return {**props, **fileio_properties(self), **c.properties}


def fileio_properties(spec: CatalogSpec) -> dict[str, str]:
    """FileIO properties for the tables' files: none for local folders; for a bucket warehouse, hygge's FileIO and
    its resolved settings (storage/settings.py, as for every Store on a bucket; lake/iceberg_io.py), in one place,
    so the catalog, the Store and the Home all get them."""
    return iceberg_properties(spec.bucket) if spec.bucket is not None else {}


def _bucket_of(config: CatalogConfig, connections: dict[str, dict[str, Any]]) -> BucketSettings | None:
    from hygge.storage.address import is_url, parse
    from hygge.storage.settings import settings_for

    warehouse = config.warehouse
    if config.catalog == "rest" or not warehouse or not is_url(warehouse) or warehouse.startswith("file:"):
        return None
    return settings_for(parse(warehouse, key="warehouse"), config.storage, connections)


def _sql_uri(c: CatalogConfig, root: Path) -> str:
    """A SQLAlchemy URL: a SQLite file relative to the project, PostgreSQL through psycopg2 (pyiceberg's extra)."""
    if c.path is not None:
        path = Path(os.path.expanduser(c.path))
        return f"sqlite:///{path if path.is_absolute() else (root / path).resolve()}"
    assert c.uri is not None
    uri = c.uri
    if uri.startswith(("postgres://", "postgresql://", "pg://")):
        uri = "postgresql+psycopg2://" + uri.split("://", 1)[1]
    if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
        relative = uri[len("sqlite:///"):]
        if relative and relative != ":memory:":
            uri = f"sqlite:///{(root / relative).resolve()}"
    return uri


def _problems(exc: ValidationError, name: str) -> list[ConfigProblem]:
    from hygge.core.validation import problem_for
    from hygge.core.yamlsource import YamlDoc

    doc = YamlDoc(file="hygge.yml", data=None)
    out = []
    for error in exc.errors():
        problem = problem_for(error, CatalogConfig, doc, ("connections", name), f"iceberg catalog {name}")
        if any(_SECRET.search(str(part)) or part == "uri" for part in error["loc"]):
            problem.found = None  # never repeat a secret
        out.append(problem)
    return out


def resolve(ref: str | dict[str, Any] | None, connections: dict[str, dict[str, Any]], root: Path) -> CatalogSpec:
    """The catalog of an iceberg Store or Home config: a name from ``connections:`` or an inline mapping."""
    if ref is None:
        raise ConfigError([ConfigProblem("an iceberg store or home needs its catalog", key="connection",
                                         hint="set `connection: NAME` naming an entry of `connections:` with "
                                              "`type: iceberg`")])
    if isinstance(ref, str):
        if ref not in connections:
            raise ConfigError([ConfigProblem(f"unknown connection '{ref}'", key="connection",
                                             hint="define it under `connections:` in hygge.yml")])
        name, raw = ref, connections[ref]
    else:
        name, raw = "inline", ref
    if raw.get("type", "iceberg") != "iceberg":
        raise ConfigError([ConfigProblem(
            f"connection '{name}' is a {raw.get('type')} connection, used by an iceberg store or home",
            key=f"connections.{name}.type", expected="iceberg", found=str(raw.get("type")),
            hint="point the store or home at a connection with `type: iceberg`")])
    try:
        config = CatalogConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_problems(exc, name)) from None
    bucket = _bucket_of(config, connections)
    if bucket is not None:
        iceberg_properties(bucket)  # a warehouse its FileIO cannot reach is refused here, not at the first read
    return CatalogSpec(name=config.name or name, config=config, root=root, bucket=bucket)


_limits: dict[str, threading.BoundedSemaphore] = {}
_limits_lock = threading.Lock()


def sessions(spec: CatalogSpec) -> threading.BoundedSemaphore:
    """The catalog's session limit, shared by every move of this process."""
    with _limits_lock:
        if spec.key not in _limits:
            _limits[spec.key] = threading.BoundedSemaphore(spec.config.max_sessions)
        return _limits[spec.key]


def load(spec: CatalogSpec) -> Any:
    """The pyiceberg catalog. Built from our properties only: no ~/.pyiceberg.yaml or PYICEBERG_ variables mixed in."""
    kind = spec.config.catalog
    try:
        if kind == "sql":
            from pyiceberg.catalog.sql import SqlCatalog as cls
        elif kind == "rest":
            from pyiceberg.catalog.rest import RestCatalog as cls  # type: ignore[assignment]
        else:
            from pyiceberg.catalog.glue import GlueCatalog as cls  # type: ignore[assignment]
    except ModuleNotFoundError as exc:
        missing = (exc.name or "pyiceberg").split(".")[0]
        raise MissingDriver(missing if missing != "pyiceberg" else "pyiceberg", "iceberg",
                            needed_for=f"the iceberg {kind} catalog") from exc
    if spec.config.path is not None:  # a SQLite catalog file is created on first use, its folder with it
        Path(_sql_uri(spec.config, spec.root)[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    # A new SQL catalog creates its tables when first opened: moves starting together (threads here, or other
    # processes) race to create them, and all but one fail. One at a time in this process, and once more after.
    with _opening(spec):
        if kind == "sql":
            try:
                return cls(spec.name, **spec.properties())
            except Exception:  # noqa: BLE001 - tried once more; the second failure is reported
                pass
        try:
            return cls(spec.name, **spec.properties())
        except Exception as exc:  # noqa: BLE001 - drivers raise anything; the person gets one clear error
            raise HyggeConnectionError(
                "cannot open the iceberg catalog", path=spec.display(),
                expected="a reachable catalog", found=_scrub(first_line(exc), spec),
                hint="check the connection's uri, warehouse and credentials (`hygge debug` tests it)",
                transient=isinstance(exc, (ConnectionError, TimeoutError)),
            ) from None


_openings: dict[str, threading.Lock] = {}


def _opening(spec: CatalogSpec) -> threading.Lock:
    with _limits_lock:
        return _openings.setdefault(spec.key, threading.Lock())


def _scrub(text: str, spec: CatalogSpec) -> str:
    """An error text with every secret value of the spec taken out (drivers like to echo URLs)."""
    for key, value in spec.properties().items():
        if value and (_SECRET.search(key) or key == "uri"):
            text = text.replace(value, _mask_url(value) if key == "uri" else "***")
            password = urlsplit(value).password if key == "uri" else None
            if password:
                text = text.replace(password, "***")
    return text
