"""Read YAML while remembering where every key came from.

Validation errors are only useful when they point at a line, so the loader
keeps a map from key path (``("flows", "sales", "home", "path")``) to line
number, and reports duplicate keys, which plain ``yaml.safe_load`` silently
drops.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from hygge.errors import ConfigProblem

KeyPath = tuple[str | int, ...]


def render_key(path: KeyPath) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


@dataclass
class YamlDoc:
    """A loaded YAML document with its source locations."""

    file: str
    data: Any
    lines: dict[KeyPath, int] = field(default_factory=dict)

    def line_of(self, path: KeyPath) -> int | None:
        # Walk up until a located ancestor: a wrong value inside a list item
        # is best reported at the item, not nowhere.
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), None)

    def problem(self, path: KeyPath, message: str, **kwargs: Any) -> ConfigProblem:
        return ConfigProblem(message, file=self.file, line=self.line_of(path), key=render_key(path) or None, **kwargs)


def load_yaml(path: Path, display: str | None = None) -> tuple[YamlDoc | None, list[ConfigProblem]]:
    shown = display or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, [ConfigProblem("file not found", file=shown, hint="create it, or run `hygge init NAME`")]
    except (OSError, UnicodeDecodeError) as exc:
        return None, [ConfigProblem(f"cannot read the file: {exc}", file=shown)]
    return parse_yaml(text, shown)


def parse_yaml(text: str, file: str) -> tuple[YamlDoc | None, list[ConfigProblem]]:
    try:
        loader = yaml.SafeLoader(text)
    except yaml.YAMLError as exc:  # a character YAML does not allow, found before parsing starts
        return None, [ConfigProblem(f"invalid YAML: {exc}", file=file, hint="remove the control character")]
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        detail = " ".join(str(part) for part in (exc.context, exc.problem) if part)
        return None, [
            ConfigProblem(
                f"invalid YAML: {detail}",
                file=file,
                line=line,
                hint="check the indentation and the ':' after each key near that line",
            )
        ]
    except yaml.YAMLError as exc:
        return None, [ConfigProblem(f"invalid YAML: {exc}", file=file)]
    finally:
        loader.dispose()
    doc = YamlDoc(file, data)
    problems: list[ConfigProblem] = []
    if node is not None:
        doc.lines[()] = node.start_mark.line + 1
        _walk(node, (), doc, problems)
    return doc, problems


def _walk(node: yaml.Node, path: KeyPath, doc: YamlDoc, problems: list[ConfigProblem]) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            line = key_node.start_mark.line + 1
            if key in seen:
                problems.append(
                    ConfigProblem(
                        f"key '{key}' appears twice (first on line {seen[key]})",
                        file=doc.file,
                        line=line,
                        key=render_key((*path, key)),
                        hint="keep one of them",
                    )
                )
            seen[key] = line
            child = (*path, key)
            doc.lines[child] = line
            _walk(value_node, child, doc, problems)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = (*path, index)
            doc.lines[child] = item.start_mark.line + 1
            _walk(item, child, doc, problems)


_VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-(.*?))?\}")


def interpolate(doc: YamlDoc, env: Mapping[str, str]) -> list[ConfigProblem]:
    """Replace ``${VAR}`` and ``${VAR:-default}`` in every string, in place.

    ``$$`` stands for a literal ``$``. A variable that is neither set nor given
    a default is a problem, reported with its line.
    """
    problems: list[ConfigProblem] = []

    def sub(value: Any, path: KeyPath) -> Any:
        if isinstance(value, str) and "$" in value:
            def repl(match: re.Match[str]) -> str:
                if match.group(0) == "$$":
                    return "$"
                name, default = match.group(1), match.group(2)
                if name in env:
                    return env[name]
                if default is not None:
                    return default
                problems.append(
                    doc.problem(
                        path,
                        f"environment variable {name} is not set",
                        expected=f"{name} in the environment or in the .env file beside hygge.yml",
                        found="nothing",
                        hint=f"export {name}=..., add it to .env, or write ${{{name}:-default}}",
                    )
                )
                return match.group(0)

            return _VAR.sub(repl, value)
        if isinstance(value, dict):
            return {k: sub(v, (*path, k)) for k, v in value.items()}
        if isinstance(value, list):
            return [sub(v, (*path, i)) for i, v in enumerate(value)]
        return value

    doc.data = sub(doc.data, ())
    return problems


def read_env(folder: Path) -> dict[str, str]:
    """The environment seen by a workspace: ``.env`` beside hygge.yml, then the real one on top."""
    env: dict[str, str] = {}
    dotenv = folder / ".env"
    if dotenv.is_file():
        from dotenv import dotenv_values  # 30 ms of regexes at import: only when there is a .env to read

        env.update({k: v for k, v in dotenv_values(dotenv).items() if v is not None})
    env.update(os.environ)
    return env
