"""The README's promises: its two opening commands, and CI running the same test command."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.helpers import REPO

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
