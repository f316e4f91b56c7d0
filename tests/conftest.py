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


# The files that take longest, longest first. pytest-xdist hands whole files (--dist loadfile) to its workers as they
# free up; a long file handed out last keeps one worker busy while the other has nothing left to do. (The rest keep
# their order; --no-loadscope-reorder in pyproject.toml stops xdist from re-sorting files by their number of tests.)
SLOW_FIRST = (
    "tests/guarantees/test_random_kills.py",
    "tests/test_dask.py",
    "tests/test_signals.py",
    "tests/storage/test_bucket_pairs.py",
    "tests/test_projects.py",
    "tests/storage/test_bucket_files.py",
    "tests/contract/test_pairs.py",
    "tests/storage/test_bucket_commits.py",
    "tests/stores/test_file_stores.py",
    "tests/test_mysql.py",
    "tests/test_history.py",
    "tests/core/test_move.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {path: i for i, path in enumerate(SLOW_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))  # stable: the rest as collected
