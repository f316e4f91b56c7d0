"""`--select` / `--exclude` like dbt: tags, flows, flow.entity globs, unions and exclusions, and loud misses."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from hygge.cli import main
from hygge.core.planner import Selection, plan
from hygge.core.workspace import Workspace, load_workspace
from hygge.errors import ConfigError
from hygge.samples import users
from tests.helpers import read_target, write_project

SALES = """\
home: {type: parquet, path: in}
store: {type: parquet, path: out}
tags: [nightly]
entities:
  - orders
  - {name: order_lines, tags: [big]}
  - {name: refunds, tags: [hourly]}
"""
CRM = """\
home: {type: parquet, path: in}
store: {type: parquet, path: out}
entities: [users, {name: contacts, tags: [hourly]}]
"""
# Discovers its entities: its home is only opened when a selector may pick from it.
LAKE = """\
home: {type: parquet, path: missing-folder}
store: {type: parquet, path: out}
tags: [lake]
entities: "*"
"""


@pytest.fixture()
def ws(tmp_path: Path) -> Workspace:
    write_project(tmp_path, "name: p\n", flows={"sales": SALES, "crm": CRM, "lake": LAKE,
                                                "old": CRM.replace("path: out", "path: out_old") + "enabled: false\n"})
    return load_workspace(tmp_path)


def keys(ws: Workspace, **selection: list[str]) -> list[str]:
    plans, failures = plan(ws, Selection(**selection))  # type: ignore[arg-type]
    assert failures == [], [f.error for f in failures]
    return sorted(p.key for p in plans)


def test_a_tag_selects_entities_that_carry_it_and_entities_inherit_their_flows_tags(ws: Workspace) -> None:
    assert keys(ws, select=["tag:hourly"]) == ["crm.contacts", "sales.refunds"]
    assert keys(ws, select=["tag:nightly"]) == ["sales.order_lines", "sales.orders", "sales.refunds"]
    plans, _ = plan(ws, Selection(select=["tag:big"]))
    assert [(p.key, p.tags, p.selected_by) for p in plans] == [("sales.order_lines", ("nightly", "big"),
                                                                "--select tag:big")]


def test_a_flow_name_selects_the_whole_flow_and_a_glob_matches_flow_dot_entity(ws: Workspace) -> None:
    assert keys(ws, select=["crm"]) == ["crm.contacts", "crm.users"]
    assert keys(ws, select=["sales.order*"]) == ["sales.order_lines", "sales.orders"]
    # `*.users` lists every enabled flow (lake's home is not there: excluded), and no disabled one.
    assert keys(ws, select=["*.users"], exclude=["lake"]) == ["crm.users"]
    assert keys(ws, select=["old"]) == ["old.contacts", "old.users"], "named exactly, a disabled flow runs"


def test_selects_unite_and_excludes_subtract(ws: Workspace) -> None:
    assert keys(ws, select=["crm", "tag:big"]) == ["crm.contacts", "crm.users", "sales.order_lines"]
    assert keys(ws, select=["tag:nightly"], exclude=["tag:big", "sales.refunds"]) == ["sales.orders"]
    assert keys(ws, select=["tag:hourly", "crm.users"], exclude=["crm.c*"]) == ["crm.users", "sales.refunds"]
    # Excluding a whole flow does not open its home (lake's folder does not exist): nothing fails.
    assert keys(ws, exclude=["lake"]) == ["crm.contacts", "crm.users", "sales.order_lines", "sales.orders",
                                          "sales.refunds"]


def test_the_flow_and_entity_options_still_work_and_combine_with_selectors(ws: Workspace) -> None:
    assert keys(ws, flows=["crm"]) == ["crm.contacts", "crm.users"]
    assert keys(ws, entities=["sales.order*"], select=["crm.users"]) == ["crm.users", "sales.order_lines",
                                                                          "sales.orders"]
    assert keys(ws, flows=["sales"], exclude=["tag:big"]) == ["sales.orders", "sales.refunds"]
    plans, _ = plan(ws, Selection(flows=["crm"], select=["tag:hourly"]))
    why = {p.key: p.selected_by for p in plans}
    assert why == {"crm.contacts": "--flow crm, --select tag:hourly", "crm.users": "--flow crm",
                   "sales.refunds": "--select tag:hourly"}


def test_a_flow_whose_entities_cannot_be_listed_is_a_failure_not_a_selector_miss(ws: Workspace) -> None:
    plans, failures = plan(ws, Selection(select=["tag:lake"]))
    assert plans == [] and [(f.flow, f.entity) for f in failures] == [("lake", "*")]


@pytest.mark.parametrize(("option", "selector", "said", "hint"), [
    ("select", "tag:nigthly", "--select 'tag:nigthly' matches no entity", "did you mean 'tag:nightly'?"),
    ("select", "sales.orderz", "--select 'sales.orderz' matches no entity", "did you mean 'sales.orders'?"),
    ("select", "crn", "--select 'crn' matches no entity", "did you mean 'crm'?"),
    ("exclude", "sales.refundz", "--exclude 'sales.refundz' matches no entity", "did you mean 'sales.refunds'?"),
])
def test_a_selector_that_matches_nothing_is_a_config_error_with_what_exists(
        ws: Workspace, option: str, selector: str, said: str, hint: str) -> None:
    with pytest.raises(ConfigError) as caught:
        plan(ws, Selection(**{option: [selector]}))
    [problem] = caught.value.problems
    assert problem.message == said and problem.hint == hint
    assert problem.expected is not None and ("nightly" in problem.expected or "crm.users" in problem.expected)


def test_hygge_go_select_runs_only_the_selection_and_the_dry_run_says_why(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    for name in ("orders", "order_lines", "refunds", "users", "contacts"):
        pq.write_table(users(5), tmp_path / "in" / f"{name}.parquet")
    write_project(tmp_path, "name: p\n", flows={"sales": SALES, "crm": CRM})
    runner = CliRunner()
    args = ["go", "--project", str(tmp_path), "--select", "tag:nightly", "-s", "crm.users", "-x", "tag:big"]
    dry = runner.invoke(main, [*args, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "selected by" in dry.output and "--select tag:nightly [tags: nightly]" in dry.output
    assert "--select crm.users" in dry.output and "order_lines" not in dry.output
    done = runner.invoke(main, args)
    assert done.exit_code == 0, done.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir() if not p.name.startswith(".")) == [
        "orders", "refunds", "users"]
    assert read_target(tmp_path / "out" / "users").num_rows == 5
    missing = runner.invoke(main, ["go", "--project", str(tmp_path), "--select", "tag:weekly"])
    assert missing.exit_code == 2


def test_discovered_entities_carry_their_entity_files_tags_and_the_api_selects_too(tmp_path: Path) -> None:
    import hygge

    (tmp_path / "in").mkdir()
    for name in ("users", "orders", "payments"):
        pq.write_table(users(3), tmp_path / "in" / f"{name}.parquet")
    write_project(tmp_path, "name: p\n", flows={"lake": """\
        home: {type: parquet, path: in}
        store: {type: parquet, path: out}
        tags: [daily]
        entities: "*"
        """}, files={"flows/lake/entities/payments.yml": "tags: [pii]\n"})
    ws = load_workspace(tmp_path)
    plans, _ = plan(ws, Selection(select=["tag:pii"]))
    assert [(p.key, p.tags) for p in plans] == [("lake.payments", ("daily", "pii"))]
    assert keys(ws, select=["lake.*s"], exclude=["tag:pii"]) == ["lake.orders", "lake.users"]
    result = hygge.run(ws, select=["tag:daily"], exclude=["lake.users"])
    assert result.ok and sorted(m.key for m in result.moves) == ["lake.orders", "lake.payments"]
    assert not (tmp_path / "out" / "users").exists()
    with pytest.raises(ConfigError, match="--select needs a selector"):
        plan(ws, Selection(select=[" "]))
