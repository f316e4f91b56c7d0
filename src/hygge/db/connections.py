"""Database connections: named in hygge.yml or given inline, as a URL or as fields.

Passwords never leave this module in clear text except towards the driver:
every display, error and report uses :meth:`ConnectionSpec.display`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from pydantic import Field, ValidationError, field_validator

from hygge.core.config import Strict
from hygge.errors import ConfigError, ConfigProblem

SCHEMES = {
    "postgresql": "postgres", "postgres": "postgres", "pg": "postgres",
    "mysql": "mysql", "mariadb": "mysql",
    "sqlite": "sqlite", "sqlite3": "sqlite",
    "duckdb": "duckdb",
}
DEFAULT_PORTS = {"postgres": 5432, "mysql": 3306}


class ConnectionConfig(Strict):
    """One entry under ``connections:`` (or an inline ``connection:`` mapping)."""

    url: str | None = Field(None, description="e.g. postgresql://user:pass@host:5432/db")
    type: str | None = Field(None, description="postgres, mysql, sqlite or duckdb (taken from the URL if given)")
    host: str | None = None
    port: int | None = None
    user: str | None = None
    password: str | None = None
    database: str | None = None
    path: str | None = Field(None, description="database file, for sqlite and duckdb")
    options: dict[str, str] = Field(default_factory=dict, description="driver options, e.g. sslmode: require")
    max_sessions: int = Field(4, ge=1, description="sessions hygge opens at once on this connection")
    connect_timeout: float = Field(10, gt=0, description="seconds to wait for the server")

    @field_validator("options", mode="before")
    @classmethod
    def _options_as_text(cls, value: Any) -> Any:
        """YAML reads ``busy_timeout: 60000`` as a number and ``autocommit: on`` as true; drivers take every
        option as text. Mappings and lists stay as they are, and are refused."""
        if not isinstance(value, dict):
            return value
        return {key: (str(item).lower() if isinstance(item, bool) else str(item))
                if isinstance(item, int | float) else item for key, item in value.items()}


@dataclass(frozen=True)
class ConnectionSpec:
    """A resolved connection: everything a driver needs, and a safe way to show it."""

    name: str
    type: str
    host: str | None = None
    port: int | None = None
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    database: str | None = None
    path: str | None = None
    options: tuple[tuple[str, str], ...] = ()
    max_sessions: int = 4
    connect_timeout: float = 10

    def display(self) -> str:
        if self.type in ("sqlite", "duckdb"):
            return f"{self.type}:///{self.path}"
        auth = f"{self.user}{':***' if self.password else ''}@" if self.user else ""
        port = f":{self.port}" if self.port else ""
        return f"{self.type}://{auth}{self.host or 'localhost'}{port}/{self.database or ''}"

    def url(self, scheme: str | None = None) -> str:
        """The full URL, password included: for drivers only, never for people."""
        scheme = scheme or {"postgres": "postgresql"}.get(self.type, self.type)
        auth = ""
        if self.user:
            auth = quote(self.user, safe="")
            if self.password:
                auth += ":" + quote(self.password, safe="")
            auth += "@"
        port = f":{self.port}" if self.port else ""
        query = "&".join(f"{k}={quote(v, safe='')}" for k, v in self.options)
        base = f"{scheme}://{auth}{self.host or 'localhost'}{port}/{self.database or ''}"
        return base + (f"?{query}" if query else "")

    @property
    def key(self) -> str:
        """Moves sharing this key share the connection's session limit."""
        return f"{self.name}|{self.display()}"

    def file(self, root: Path) -> Path:
        assert self.path is not None
        path = Path(self.path).expanduser()
        return path if path.is_absolute() else root / path


def parse_url(url: str) -> dict[str, Any]:
    parts = urlsplit(url)
    scheme = parts.scheme.split("+")[0].lower()
    if scheme not in SCHEMES:
        raise ValueError(f"unknown database URL scheme '{parts.scheme}' (known: postgresql, mysql, sqlite, duckdb)")
    kind = SCHEMES[scheme]
    out: dict[str, Any] = {"type": kind}
    if kind in ("sqlite", "duckdb"):
        # sqlite:///relative.db and sqlite:////absolute.db, as SQLAlchemy writes them.
        path = unquote(parts.netloc + parts.path)
        out["path"] = path[1:] if path.startswith("/") else path
        return out
    out.update(
        host=parts.hostname,
        port=parts.port,
        user=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        database=unquote(parts.path.lstrip("/")) or None,
        options=dict(parse_qsl(parts.query)),
    )
    return out


def resolve(name: str, raw: dict[str, Any] | ConnectionConfig, expected: str | None = None) -> ConnectionSpec:
    """Merge URL and fields (fields win) into a ConnectionSpec, checking its type fits the home or store."""
    try:
        config = raw if isinstance(raw, ConnectionConfig) else ConnectionConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError([ConfigProblem(
            f"connection '{name}': {error['msg'].removeprefix('Value error, ')}",
            key=".".join(["connections" if name != "inline" else "connection",
                          *([name] if name != "inline" else []), *map(str, error["loc"])]),
            found=repr(error.get("input"))[:80]) for error in exc.errors()]) from None
    merged: dict[str, Any] = {}
    if config.url:
        try:
            merged.update(parse_url(config.url))
        except ValueError as exc:
            raise ConfigError([ConfigProblem(str(exc), key=f"connections.{name}.url",
                                             hint="write it like postgresql://user@host:5432/db")]) from None
    for key in ("type", "host", "port", "user", "password", "database", "path"):
        value = getattr(config, key)
        if value is not None:
            merged[key] = SCHEMES.get(value, value) if key == "type" else value
    options = {**merged.pop("options", {}), **config.options}
    kind = merged.get("type") or expected
    if kind is None:
        raise ConfigError([ConfigProblem(f"connection '{name}' does not say what kind of database it is",
                                         key=f"connections.{name}", hint="give a `url:` or `type:`")])
    if expected and kind != expected:
        raise ConfigError([ConfigProblem(
            f"connection '{name}' is a {kind} connection, used by a {expected} home or store",
            key=f"connections.{name}", expected=expected, found=kind,
            hint="point the home or store at a connection of its own kind")])
    if kind in ("sqlite", "duckdb") and not merged.get("path"):
        raise ConfigError([ConfigProblem(f"connection '{name}' needs the database file", key=f"connections.{name}",
                                         hint="add `path: data/app.db` or a URL such as sqlite:///data/app.db")])
    merged.setdefault("port", DEFAULT_PORTS.get(kind))
    merged["type"] = kind
    return ConnectionSpec(name=name, options=tuple(sorted(options.items())), max_sessions=config.max_sessions,
                          connect_timeout=config.connect_timeout, **merged)


def spec_for(end: Any, connections: dict[str, dict[str, Any]], expected: str) -> ConnectionSpec:
    """The connection of a database home or store config (``connection:`` name or mapping, or ``url:``)."""
    ref = getattr(end, "connection", None)
    url = getattr(end, "url", None)
    if isinstance(ref, str):
        if ref not in connections:
            raise ConfigError([ConfigProblem(f"unknown connection '{ref}'", key="connection",
                                             hint="define it under `connections:` in hygge.yml")])
        return resolve(ref, connections[ref], expected)
    if isinstance(ref, dict):
        return resolve("inline", ref, expected)
    if url:
        return resolve("inline", {"url": url}, expected)
    path = getattr(end, "path", None)
    if path and expected in ("sqlite", "duckdb"):
        return resolve("inline", {"type": expected, "path": path}, expected)
    raise ConfigError([ConfigProblem(f"the {expected} {type(end).__name__} names no database",
                                     hint="set `connection: NAME` (from `connections:`), `url:` or `path:`")])


class SessionLimits:
    """Per-connection semaphores shared by every move in this process."""

    _lock = threading.Lock()
    _limits: ClassVar[dict[str, threading.BoundedSemaphore]] = {}

    @classmethod
    def of(cls, spec: ConnectionSpec) -> threading.BoundedSemaphore:
        with cls._lock:
            if spec.key not in cls._limits:
                cls._limits[spec.key] = threading.BoundedSemaphore(spec.max_sessions)
            return cls._limits[spec.key]


def with_database(spec: ConnectionSpec, database: str) -> ConnectionSpec:
    return replace(spec, database=database)
