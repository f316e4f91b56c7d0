"""The Coordinator: parallel moves under a limit, isolation of failures, fail-fast, retries with backoff."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

import hygge
from hygge.core import registry
from hygge.progress.events import Event
from tests.helpers import PeakWatch, read_target, write_project


@pytest.fixture(autouse=True)
def tick_home() -> None:
    registry.register("home", "tick", "tests.plugins:TickHome")


def tick_project(tmp: Path, entities: str, options: str = "") -> Path:
    return write_project(tmp, f"name: t\noptions: {{retry_backoff: 0.05{options}}}\n", flows={"f": f"""\
        home: {{type: tick, pause: 0.1}}
        store: {{type: parquet, path: out}}
        entities: {entities}
        """})


def test_moves_run_in_parallel_under_the_global_limit(tmp_path: Path) -> None:
    tick_project(tmp_path, "[a, b, c, d, e, f]", ", concurrency: 2")
    watch = PeakWatch()
    result = hygge.run(tmp_path, on_event=watch)
    assert result.ok and len(result.moves) == 6
    assert watch.peak == 2, "two moves at once: not fewer (parallel) and not more (the limit)"
    assert hygge.run(tmp_path, concurrency=6, on_event=watch).ok and watch.peak == 6


def test_one_failure_does_not_stop_the_others(tmp_path: Path) -> None:
    tick_project(tmp_path, "[ok1, {name: bad, home: {fail_always: true}}, ok2]", ", retries: 0")
    result = hygge.run(tmp_path)
    assert [m.status for m in result.moves] == ["ok", "failed", "ok"]
    assert result.exit_code == 1
    assert "the server closed the connection" in str(result.move("f.bad").error)
    assert read_target(tmp_path / "out" / "ok2").num_rows == 3000
    assert not (tmp_path / "out" / "bad").exists()


def test_fail_fast_stops_the_rest_and_leaves_their_targets_alone(tmp_path: Path) -> None:
    tick_project(tmp_path, "[{name: bad, home: {fail_always: true}}, s1, s2, s3]",
                 ", retries: 0, concurrency: 2")
    result = hygge.run(tmp_path, fail_fast=True)
    statuses = {m.entity: m.status for m in result.moves}
    assert statuses["bad"] == "failed"
    assert "cancelled" in statuses.values()
    for move in result.moves:
        if move.status == "cancelled":
            assert not (tmp_path / "out" / move.entity).exists()


def test_transient_errors_are_retried_with_backoff_and_load_exactly_once(tmp_path: Path) -> None:
    tick_project(tmp_path, "[{name: flaky, home: {fail_times: 2}}]", ", retries: 2")
    retries: list[Event] = []
    result = hygge.run(tmp_path, on_event=lambda e: retries.append(e) if e.kind == "retry" else None)
    move = result.move("f.flaky")
    assert move.ok and move.attempts == 3
    assert [e.detail["delay"] for e in retries] == [0.05, 0.1]
    target = read_target(tmp_path / "out" / "flaky")
    assert target.num_rows == 3000 and target.column("n").to_pylist() == list(range(3000))


def test_retries_give_up_after_the_configured_number(tmp_path: Path) -> None:
    tick_project(tmp_path, "[{name: flaky, home: {fail_times: 5}}]", ", retries: 1")
    move = hygge.run(tmp_path).move("f.flaky")
    assert move.status == "failed" and move.attempts == 2


def test_terminal_errors_are_not_retried(tmp_path: Path) -> None:
    write_project(tmp_path, "name: t\n", flows={"f": """\
        home: {type: parquet, path: nothing-here}
        store: {type: parquet, path: out}
        entities: [x]
        """})
    move = hygge.run(tmp_path).move("f.x")
    assert move.status == "failed" and move.attempts == 1


def test_inline_executor_runs_moves_one_after_another(tmp_path: Path) -> None:
    tick_project(tmp_path, "[a, b, c]", ", executor: inline")
    threads: set[str] = set()
    result = hygge.run(tmp_path, on_event=lambda e: threads.add(threading.current_thread().name)
                       if e.kind == "start" else None)
    assert result.ok and threads == {threading.main_thread().name}
