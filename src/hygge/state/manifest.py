"""The manifest of a file entity: its parts and its journal state, published with the data.

It lives inside the entity folder as ``.hygge-manifest.json`` (hidden, so
parquet readers skip it), which is what makes data and state one atomic unit:
the folder is published in one step, manifest included.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hygge.errors import StateError
from hygge.state.fsops import read_json, write_json_atomic
from hygge.state.journal import EntityState, shallow_dict

MANIFEST = ".hygge-manifest.json"
FORMAT_VERSION = 1


@dataclass
class Part:
    file: str
    rows: int
    bytes: int
    run_id: str
    # The earlier parts whose rows this one holds unchanged, in a new shape (a column added or widened): a Home
    # that loaded one of them has loaded this part's rows (stores/file_landing.py _reshape_parts).
    rewrites: list[str] | None = None


_PART_FIELDS = ("file", "rows", "bytes", "run_id", "rewrites")  # keys of another version are left out


def _part_dict(part: Part) -> dict[str, Any]:
    out = shallow_dict(part)
    if out.get("rewrites") is None:
        out.pop("rewrites", None)  # as manifests were before: a hygge that does not know the key still reads it
    return out


@dataclass
class Manifest:
    entity: str
    flow: str
    run_id: str
    committed_at: str
    run_type: str
    parts: list[Part] = field(default_factory=list)
    next_part: int = 0
    state: EntityState = field(default_factory=EntityState)
    format_version: int = FORMAT_VERSION
    # Parts a full_drop replaced, kept `keep_replaced` seconds for readers of the previous version: on a bucket,
    # where no folder is exchanged, they stay beside the new parts until a later run removes them.
    replaced: list[dict[str, Any]] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(p.rows for p in self.parts)

    @property
    def bytes(self) -> int:
        return sum(p.bytes for p in self.parts)

    def to_dict(self) -> dict[str, Any]:
        # Field by field: asdict would deep-copy the state too, only for it to be replaced (0.2 ms an entity).
        return {
            "entity": self.entity, "flow": self.flow, "run_id": self.run_id, "committed_at": self.committed_at,
            "run_type": self.run_type, "parts": [_part_dict(part) for part in self.parts],
            "next_part": self.next_part,
            "state": self.state.to_dict(), "format_version": self.format_version, "replaced": self.replaced,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        return cls(
            entity=data["entity"],
            flow=data.get("flow", ""),
            run_id=data["run_id"],
            committed_at=data["committed_at"],
            run_type=data.get("run_type", "full_drop"),
            parts=[Part(**{k: v for k, v in p.items() if k in _PART_FIELDS}) for p in data.get("parts", [])],
            next_part=int(data.get("next_part", 0)),
            state=EntityState.from_dict(data.get("state")),
            format_version=int(data.get("format_version", FORMAT_VERSION)),
            replaced=list(data.get("replaced", [])),
        )

    def write(self, folder: Path, durable: bool = True) -> None:
        write_json_atomic(folder / MANIFEST, self.to_dict(), durable=durable)

    @classmethod
    def read(cls, folder: Path) -> Manifest | None:
        path = folder / MANIFEST
        if not path.is_file():
            return None
        try:
            data = read_json(path)
            manifest = cls.from_dict(data)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise StateError(
                "the entity's manifest cannot be read",
                path=str(path),
                expected="the JSON manifest hygge wrote at the last commit",
                found=str(exc),
                hint="if the folder was edited by hand, restore it or delete the folder to reload the entity",
            ) from exc
        if manifest.format_version > FORMAT_VERSION:
            raise StateError(
                "the entity was written by a newer hygge",
                path=str(path),
                expected=f"manifest format {FORMAT_VERSION} or older",
                found=f"format {manifest.format_version}",
                hint="upgrade hygge on this machine",
            )
        return manifest
