"""Loading a workspace: files, inline flows, entity files, env interpolation, and strict validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from hygge.core.planner import Selection, plan
from hygge.core.workspace import load_workspace
from hygge.errors import ConfigError
from tests.helpers import write_project

FLOW = """\
home: {type: parquet, path: in}
store: {type: parquet, path: out}
entities: [users]
"""


def problems(root: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_workspace(root)
    return [p.render() for p in caught.value.problems]


def test_flows_from_folders_inline_flows_and_entity_files(tmp_path: Path) -> None:
    write_project(tmp_path, """\
        name: shop
        flows:
          tiny:
            home: {type: csv, path: in.csv}
            store: {type: jsonl, path: out}
            entities: [only]
        """, flows={"sales": """\
        home: {type: parquet, path: in}
        store: {type: parquet, path: out}
        run_type: append
        entities:
          - users
          - name: orders
            source: orders/*.parquet
            target: orders_v2
        """}, files={"flows/sales/entities/refunds.yaml": "run_type: full_drop\nsource: refunds.parquet\n"})
    ws = load_workspace(tmp_path)
    assert ws.name == "shop" and sorted(ws.flows) == ["sales", "tiny"]
    plans, failures = plan(ws)
    assert failures == []
    by_key = {p.key: p for p in plans}
    assert sorted(by_key) == ["sales.orders", "sales.refunds", "sales.users", "tiny.only"]
    assert by_key["sales.users"].run_type == "append"
    assert by_key["sales.refunds"].run_type == "full_drop"
    assert by_key["sales.orders"].source == "orders/*.parquet" and by_key["sales.orders"].target == "orders_v2"
    assert by_key["tiny.only"].home["type"] == "csv"


def test_defaults_cascade_from_project_to_flow_to_entity(tmp_path: Path) -> None:
    write_project(tmp_path, """\
        name: p
        defaults:
          run_type: append
          store: {compression: zstd}
          polish: {load_timestamp: _at, rename: {a: b}}
        """, flows={"f": """\
        home: {type: parquet, path: in}
        store: {type: parquet, path: out}
        defaults:
          polish: {rename: {c: d}}
        entities:
          - one
          - name: two
            run_type: full_drop
            store: {compression: gzip}
            polish: {drop: [x]}
        """})
    plans = {p.entity: p for p in plan(load_workspace(tmp_path))[0]}
    one, two = plans["one"], plans["two"]
    assert one.run_type == "append" and two.run_type == "full_drop"
    assert one.store["compression"] == "zstd" and two.store["compression"] == "gzip"
    assert one.polish == {"load_timestamp": "_at", "rename": {"a": "b", "c": "d"}}
    assert two.polish["drop"] == ["x"] and two.polish["rename"] == {"a": "b", "c": "d"}


def test_environment_variables_and_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAKE", "from-env")
    monkeypatch.delenv("SRC", raising=False)
    write_project(tmp_path, "name: p\n", flows={"f": """\
        home: {type: parquet, path: "${SRC}"}
        store: {type: parquet, path: "${LAKE}/x", compression: "${CODEC:-zstd}"}
        entities: [users]
        """}, files={".env": "SRC=from-dotenv\nLAKE=ignored-because-env-wins\n"})
    (p,) = plan(load_workspace(tmp_path))[0]
    assert p.home["path"] == "from-dotenv"
    assert p.store["path"] == "from-env/x"
    assert p.store["compression"] == "zstd"


def test_missing_environment_variable_names_file_line_and_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WAREHOUSE_PATH", raising=False)
    write_project(tmp_path, "name: p\n", flows={"f": """\
        home: {type: parquet, path: in}
        store:
          type: parquet
          path: ${WAREHOUSE_PATH}
        entities: [users]
        """})
    (message,) = problems(tmp_path)
    assert "flows/f/flow.yml:4 [store.path]: environment variable WAREHOUSE_PATH is not set" in message
    assert "export WAREHOUSE_PATH=..., add it to .env" in message


def test_malformed_yaml_points_at_the_line(tmp_path: Path) -> None:
    write_project(tmp_path, "name: p\n", flows={"f": """\
        home: {type: parquet, path: in}
        store:
          type: parquet
         path: out
        """})
    (message,) = problems(tmp_path)
    assert "flows/f/flow.yml:4: invalid YAML" in message
    assert "check the indentation" in message


def test_every_problem_is_reported_at_once_with_did_you_mean(tmp_path: Path) -> None:
    write_project(tmp_path, """\
        name: p
        options: {concurency: 3, retries: -1}
        """, flows={"f": """\
        home: {type: csv, path: in, delimeter: ";"}
        store: {type: parquett, path: out}
        entities:
          - name: users
            polish: {selct: [a]}
          - name: users
        """})
    found = "\n".join(problems(tmp_path))
    assert "hygge.yml:2 [options.concurency]: unknown key 'concurency'" in found
    assert "did you mean 'concurrency'?" in found
    assert "[options.retries]: Input should be greater than or equal to 0" in found
    assert "[home.delimeter]: home type csv: unknown key 'delimeter'" in found and "'delimiter'" in found
    assert "[store.type]: unknown store type 'parquett'" in found and "did you mean 'parquet'?" in found
    assert "[entities[0].polish.selct]: unknown key 'selct'" in found and "did you mean 'select'?" in found
    assert "entity 'users' is listed twice" in found


def test_duplicate_keys_and_wrong_shapes_are_errors(tmp_path: Path) -> None:
    write_project(tmp_path, "name: p\nname: q\n", flows={"f": FLOW.replace("entities: [users]", "entities: 3")})
    found = "\n".join(problems(tmp_path))
    assert "hygge.yml:2 [name]: key 'name' appears twice (first on line 1)" in found
    assert "entities must be \"*\" or a list" in found


def test_project_without_flows(tmp_path: Path) -> None:
    write_project(tmp_path, "name: p\n")
    assert "the project has no flows" in problems(tmp_path)[0]


def test_project_is_found_from_a_sub_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_project(tmp_path, "name: p\n", flows={"f": FLOW})
    (tmp_path / "deep" / "er").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "deep" / "er")
    assert load_workspace().root == tmp_path


def test_selection_by_flow_and_entity_glob(tmp_path: Path) -> None:
    write_project(tmp_path, "name: p\n", flows={
        "a": FLOW.replace("[users]", "[users, orders, order_lines]"),
        "b": FLOW.replace("path: out", "path: out_b"),  # a target of its own: two flows never share one
    })
    ws = load_workspace(tmp_path)
    keys = lambda sel: sorted(p.key for p in plan(ws, sel)[0])  # noqa: E731
    assert keys(Selection(flows=["b"])) == ["b.users"]
    assert keys(Selection(entities=["a.order*"])) == ["a.order_lines", "a.orders"]
    assert keys(Selection(flows=["b"], entities=["a.users"])) == ["a.users", "b.users"]
    with pytest.raises(ConfigError, match="does not say which flow"):
        plan(ws, Selection(entities=["users"]))


def test_disabled_flows_and_entities_are_skipped(tmp_path: Path) -> None:
    write_project(tmp_path, "name: p\n", flows={
        "on": FLOW.replace("[users]", "[users, {name: old, enabled: false}]"),
        "off": FLOW.replace("path: out", "path: out_off") + "enabled: false\n",
    })
    ws = load_workspace(tmp_path)
    assert [p.key for p in plan(ws)[0]] == ["on.users"]
    assert [p.key for p in plan(ws, Selection(flows=["off"]))[0]] == ["off.users"]


def test_merge_without_keys_is_a_plan_failure(tmp_path: Path) -> None:
    write_project(tmp_path, "name: p\n", flows={"f": FLOW + "run_type: merge\n"})
    plans, failures = plan(load_workspace(tmp_path))
    assert plans == [] and "run_type merge needs `keys`" in str(failures[0].error)
