"""`hygge init`: a new project that runs as it is, with sample data."""

from __future__ import annotations

from pathlib import Path

from hygge.errors import ConfigError, ConfigProblem
from hygge.samples import write_sample_source

PROJECT_YML = """\
# hygge project: {name}
# Every key is documented in the README (section "Configuration reference").
name: {name}

# Each folder under flows/ holding a flow.yml is one flow.
flows_dir: flows

options:
  concurrency: 4        # moves running at once, across all flows
  fail_fast: false      # true: stop everything at the first failure
  retries: 2            # extra attempts for transient errors (dropped connections, timeouts)

# Settings every flow inherits unless it says otherwise.
defaults:
  run_type: full_drop
"""

FLOW_YML = """\
# Move every parquet file and folder under data/source into data/lake.
home:
  type: parquet
  path: data/source

store:
  type: parquet
  path: data/lake
  compression: zstd

# "*": each file or sub-folder of the home path becomes an entity
# (users.parquet -> users, orders.parquet -> orders, events/ -> events).
entities: "*"

defaults:
  polish:
    load_timestamp: _loaded_at   # a column holding when this run started
"""

ENTITY_YML = """\
# Settings for one entity of the flow; the file name is the entity name.
# This one appends each run's events instead of replacing them.
run_type: append
polish:
  rename:
    at: event_time
"""

GITIGNORE = """\
data/lake/
.env
"""

ENV_EXAMPLE = """\
# Copy to .env and fill in; ${VAR} in any YAML file reads these.
# PGPASSWORD=...
"""


def init_project(folder: Path) -> list[Path]:
    """Create the project; refuse to touch a folder that already has files."""
    if folder.exists() and any(folder.iterdir()):
        raise ConfigError([ConfigProblem(
            "the folder already exists and is not empty",
            file=str(folder),
            expected="a new or empty folder",
            found=f"{sum(1 for _ in folder.iterdir())} entries",
            hint="choose another name, or remove the folder first",
        )])
    name = folder.name
    files = {
        folder / "hygge.yml": PROJECT_YML.format(name=name),
        folder / "flows" / "example" / "flow.yml": FLOW_YML,
        folder / "flows" / "example" / "entities" / "events.yml": ENTITY_YML,
        folder / ".gitignore": GITIGNORE,
        folder / ".env.example": ENV_EXAMPLE,
    }
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    data = write_sample_source(folder / "data" / "source")
    return [*files, *data]
