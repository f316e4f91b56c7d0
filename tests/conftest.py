"""Fixtures shared by every test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(scope="session", autouse=True)
def _bucket_servers_stop_with_the_session() -> Iterator[None]:
    """The bucket servers tests started (tests/buckets.py) stop when the session ends."""
    yield
    from tests.buckets import stop_all

    stop_all()
