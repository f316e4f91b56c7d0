"""The README's promises: its two opening commands, and CI running the same test command."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pyarrow.csv as pcsv
import pytest

from hygge import samples
from hygge.samples import write_sample_source
from tests.helpers import REPO, read_target, run_hygge
from tests.services import MYSQL_URL, POSTGRES_URL, mysql_sql, postgres_sql, require, schema_name

README = (REPO / "README.md").read_text(encoding="utf-8")


def opening_commands() -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)\n```", README, flags=re.S)
    return [b.strip() for b in blocks[:2]]


def test_readme_begins_with_exactly_two_commands() -> None:
    first_lines = README.split("\n## ")[0]
    assert len(re.findall(r"```sh\n", first_lines)) == 2
    install_and_example, install_and_test = opening_commands()
    assert "examples/01_parquet_to_parquet.py" in install_and_example
    assert "pytest" in install_and_test


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert opening_commands()[1] in ci.splitlines()


def test_the_first_example_runs_and_says_where_the_data_settled() -> None:
    proc = subprocess.run([sys.executable, str(REPO / "examples" / "01_parquet_to_parquet.py")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "lake.users     ok       1,000 rows ->" in proc.stdout
    assert "every entity moved" in proc.stdout


EXAMPLE = re.compile(r"<!-- example: (\S+) (\S+) -->\n```\w*\n(.*?)```", flags=re.S)


def example_projects() -> dict[str, dict[str, str]]:
    projects: dict[str, dict[str, str]] = {}
    for name, path, text in EXAMPLE.findall(README):
        projects.setdefault(name, {})[path] = text
    return projects


def example_data(root: Path) -> None:
    """The data the README's examples read: sample parquet, the same as CSV, and a ';' export."""
    write_sample_source(root / "data" / "source")
    (root / "data" / "csv").mkdir(parents=True)
    pcsv.write_csv(samples.users(), root / "data" / "csv" / "users.csv")
    pcsv.write_csv(samples.orders(), root / "data" / "csv" / "orders.csv")
    (root / "data" / "exports").mkdir(parents=True, exist_ok=True)
    sales = root / "data" / "exports" / "sales.csv"
    if not sales.exists():  # the tour writes its own, as the README shows it
        sales.write_text("id;amount;sold_on\n1;12.50;2024-01-02\n2;99999.99;2024-01-03\n3;;2024-01-04\n",
                         encoding="utf-8")


THEN = re.compile(r"<!-- then: (\S+) (.*?) -->")


@pytest.mark.parametrize("name", sorted(example_projects()))
def test_readme_examples_run(tmp_path: Path, name: str) -> None:
    # The README's schema, made this process's own: the servers are shared, and what this test drops is its own.
    schema = schema_name("readme")
    for path, text in example_projects()[name].items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text.replace("schema: hygge_readme", f"schema: {schema}"), encoding="utf-8")
    example_data(tmp_path)
    servers = {"postgres": (POSTGRES_URL, lambda: postgres_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')),
               "mysql": (MYSQL_URL, lambda: mysql_sql(f"DROP DATABASE IF EXISTS `{schema}`"))}
    if name in servers:
        require(servers[name][0])
    env = {}
    if name in ("buckets", "delta-buckets"):  # the README's bucket, on the suite's own S3 server (tests/buckets.py)
        from tests.buckets import make_bucket

        bucket = make_bucket("s3", "readme")
        yml = tmp_path / "hygge.yml"
        yml.write_text(yml.read_text().replace("s3://my-bucket/lake", bucket.url("lake")), encoding="utf-8")
        env = {"LAKE_ENDPOINT": bucket.settings.endpoint, "LAKE_KEY_ID": str(bucket.settings.access_key),
               "LAKE_SECRET": str(bucket.settings.secret_key), "AWS_EC2_METADATA_DISABLED": "true"}
    commands = [["go"]] + [args.split() for project, args in THEN.findall(README) if project == name]
    try:
        for command in commands:
            proc = run_hygge(*command, cwd=tmp_path, env=env)
            assert proc.returncode == 0, proc.stdout + proc.stderr
            if command[0] == "report":
                assert "wrote" in proc.stdout and "0 failing" in proc.stdout, proc.stdout
            else:
                assert "entities moved" in proc.stdout and "failed" not in proc.stdout
    finally:
        if name in servers:
            servers[name][1]()


def test_the_tour_example_types_and_polishes_as_described(tmp_path: Path) -> None:
    for path, text in example_projects()["tour"].items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text, encoding="utf-8")
    example_data(tmp_path)
    run_hygge("go", cwd=tmp_path, check=0)
    run_hygge("go", cwd=tmp_path, check=0)
    table = read_target(tmp_path / "data" / "lake" / "sales")
    assert table.num_rows == 6, "run_type append: two runs, three rows each"
    assert str(table.schema.field("amount").type) == "decimal128(12, 2)"
    assert table.column_names == ["id", "amount", "sale_date", "_loaded_at"]


def models() -> list[tuple[str, type]]:
    from hygge.core import config, registry

    found: list[tuple[str, type]] = [
        ("hygge.yml", config.ProjectConfig), ("options", config.Options), ("flow.yml", config.FlowConfig),
        ("entity", config.EntityConfig), ("polish", config.Polish),
    ]
    for kind in ("home", "store"):
        for name in sorted(registry.known(kind)):
            try:
                found.append((f"{kind} {name}", registry.load(kind, name).Config))
            except Exception:  # noqa: BLE001 - a type whose module is not built yet has no docs to check
                continue
    return found


@pytest.mark.parametrize(("where", "model"), models(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_config_key_is_documented(where: str, model: type) -> None:
    keys = [field.alias or name for name, field in model.model_fields.items()]
    missing = [key for key in keys if key != "type" and f"`{key}`" not in README]
    assert missing == [], f"README lacks {where} keys: {missing}"


def test_every_cli_command_and_option_is_documented() -> None:
    from hygge.cli import main

    for name, command in main.commands.items():
        assert f"hygge {name}" in README, f"command {name} is not in the README"
        for param in command.params:
            for opt in getattr(param, "opts", []):
                if opt.startswith("--") and opt not in ("--help",):
                    assert f"`{opt}" in README or f"/ `{opt}`" in README, f"hygge {name} {opt} is not in the README"


def test_every_test_named_in_the_guarantees_page_exists() -> None:
    page = (REPO / "docs" / "guarantees.md").read_text(encoding="utf-8")
    for path, name in re.findall(r"`([\w/]+\.py)(?:::(\w+))?", page):
        source = REPO / "tests" / path
        assert source.is_file(), f"docs/guarantees.md names {path}, which does not exist"
        if name:
            assert f"def {name}" in source.read_text(encoding="utf-8"), f"{path} has no test {name}"


def tour_block() -> str:
    tour = README.split("## A guided tour\n", 1)[1]
    return re.findall(r"```sh\n(.*?)\n```", tour, flags=re.S)[0]


def init_tree() -> list[str]:
    """The files the README says `hygge init` writes, from its tree."""
    tree = README.split("`hygge init` writes this project", 1)[1]
    lines = re.findall(r"```\n(.*?)\n```", tree, flags=re.S)[0].splitlines()
    assert lines[0] == "my-project/"
    return sorted(line.split()[0] for line in lines[1:])


def test_the_readme_init_tree_lists_every_file_hygge_init_writes(tmp_path: Path) -> None:
    run_hygge("init", "my-project", cwd=tmp_path, check=0)
    project = tmp_path / "my-project"
    written = sorted(str(p.relative_to(project)) for p in project.rglob("*") if p.is_file())
    assert init_tree() == written


def test_the_tour_works_as_written_after_the_first_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The tour's commands, line by line, as a newcomer types them; then its own flow, added to that project.

    In this process (click's CliRunner), from the folder each `cd` leads to: the commands, not processes, are
    what the tour promises; the real `hygge` process is tried by tests/test_cli.py."""
    from click.testing import CliRunner

    from hygge.cli import main

    def hygge(*args: str) -> str:
        result = CliRunner().invoke(main, list(args))
        assert result.exit_code == 0, f"hygge {' '.join(args)}:\n{result.output}"
        return result.stdout

    lines = [line.split("#")[0].strip() for line in tour_block().splitlines()]
    assert lines[0] == ". .venv/bin/activate", "the tour says how to call the hygge the first command installed"
    # The venv the first command makes holds the `hygge` script that pyproject.toml declares.
    assert "python3 -m venv .venv" in opening_commands()[0]
    assert re.search(r'^hygge = "hygge\.cli:main"$', (REPO / "pyproject.toml").read_text(), flags=re.M)
    monkeypatch.chdir(tmp_path)
    for line in lines[1:]:
        command, *args = line.split()
        if command == "cd":
            monkeypatch.chdir(Path.cwd() / args[0])
            continue
        assert command == "hygge", line
        said = hygge(*args)
        if args[0] == "go" and "--dry-run" not in args:
            assert "3 of 3 entities moved" in said
    for path, text in example_projects()["tour"].items():
        if path != "hygge.yml":  # my-project has its own
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            Path(path).write_text(text, encoding="utf-8")
    assert "1 of 1 entities moved, 3 rows" in hygge("go", "--flow", "exports")
    assert "1 of 1 entities moved" in hygge("go", "--entity", "exports.sales")
    assert read_target(Path("data") / "lake" / "sales").num_rows == 6
