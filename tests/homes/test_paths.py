"""Paths as people have them: project folders named `p[1]` or `a*b?` (only what the user writes is a glob), and
files and folders named like globs. Through the real command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import read_target, run_here, write_project

FLOW = """\
home:
  type: csv
  path: {path}
store:
  type: parquet
  path: lake
entities: {entities}
"""


def project(root: Path, path: str, entities: str) -> Path:
    files = {"data/t.csv": "id,name\n1,a\n2,b\n",
             "data/events/part-1.csv": "id,name\n3,c\n",
             "data/events/part-2.csv": "id,name\n4,d\n5,e\n"}
    return write_project(root, "name: paths\n", {"f": FLOW.format(path=path, entities=entities)}, files)


def moved(root: Path) -> dict[str, int]:
    report = json.loads(run_here("go", "--json", cwd=root, check=0).stdout)
    return {m["entity"]: m["rows_in_target"] for m in report["moves"]}


@pytest.mark.parametrize("folder", ["p[1]", "a*b?", "[x]y"])
def test_a_project_folder_named_like_a_glob_finds_its_files_folders_and_globs(tmp_path: Path, folder: str) -> None:
    root = project(tmp_path / folder, "data", "[t, events, {name: some, source: 'events/part-*.csv'}]")
    assert moved(root) == {"t": 2, "events": 3, "some": 3}
    assert read_target(root / "lake" / "t").column("id").to_pylist() == [1, 2]
    # a home path that is itself a glob: only the part the user wrote is a pattern
    root = project(tmp_path / folder / "second", "data/events/*.csv", "[both]")
    assert moved(root) == {"both": 3}
    # every entity found in the folder
    root = project(tmp_path / folder / "third", "data", '"*"')
    assert moved(root) == {"t": 2, "events": 3}
    assert "all checks passed" in run_here("debug", cwd=root, check=0).stdout


def test_a_glob_home_path_under_such_a_folder_is_checked_by_debug(tmp_path: Path) -> None:
    root = project(tmp_path / "p[1]", "data/events/*.csv", "[both]")
    assert "2 match(es)" in run_here("debug", cwd=root, check=0).stdout
    (root / "data" / "events" / "part-1.csv").unlink()
    (root / "data" / "events" / "part-2.csv").unlink()
    assert "no file matches this glob yet" in run_here("debug", cwd=root, check=1).stdout


def test_files_and_folders_named_like_globs_are_read_as_they_are_named(tmp_path: Path) -> None:
    root = write_project(tmp_path / "p[1]", "name: paths\n", {"f": FLOW.format(path="data", entities='"*"')},
                         {"data/a*b?.csv": "id\n1\n", "data/axby.csv": "id\n2\n3\n",
                          "data/s[1]/x.csv": "id\n4\n", "data/s1/x.csv": "id\n5\n6\n7\n"})
    assert moved(root) == {"a*b?": 1, "axby": 2, "s[1]": 1, "s1": 3}
    assert read_target(root / "lake" / "a*b?").column("id").to_pylist() == [1]


def test_a_missing_source_under_such_a_folder_names_what_is_there(tmp_path: Path) -> None:
    root = project(tmp_path / "p[1]", "data", "[tt]")
    proc = run_here("go", cwd=root, check=1)
    assert "the source does not exist" in proc.stdout and "data/tt" in proc.stdout
    assert "did you mean 't'?" in proc.stdout
