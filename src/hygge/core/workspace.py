"""Load a workspace: hygge.yml, flows/<flow>/flow.yml, entity files, .env; every problem at once."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hygge.core import registry
from hygge.core.config import Defaults, EntityConfig, FlowConfig, ProjectConfig
from hygge.core.validation import deep_merge, validate
from hygge.core.yamlsource import KeyPath, YamlDoc, interpolate, load_yaml, read_env
from hygge.errors import ConfigError, ConfigProblem, HyggeError, did_you_mean

PROJECT_FILE = "hygge.yml"
PROJECT_FILES = ("hygge.yml", "hygge.yaml")
FLOW_FILES = ("flow.yml", "flow.yaml")


@dataclass
class Flow:
    name: str
    config: FlowConfig
    file: str
    # Explicit entities, from flow.yml and entities/*.yml; with entities "*"
    # they add to and configure the discovered ones.
    entities: list[EntityConfig] = field(default_factory=list)

    @property
    def discovers(self) -> bool:
        return self.config.entities == "*"


@dataclass
class Workspace:
    root: Path
    file: Path
    config: ProjectConfig
    flows: dict[str, Flow]

    @property
    def name(self) -> str:
        return self.config.name


def find_project(start: Path | str | None = None) -> Path:
    """The hygge.yml for ``start`` (a file or folder), searching parent folders like git does."""
    here = Path(start or ".").resolve()
    if here.is_file():
        return here
    for folder in (here, *here.parents):
        for name in PROJECT_FILES:
            if (folder / name).is_file():
                return folder / name
    raise ConfigError([ConfigProblem(
        "no hygge project here",
        file=str(here / PROJECT_FILE),
        expected=f"a {PROJECT_FILE} in this folder or one above it",
        found="none",
        hint="run `hygge init NAME` to make one, or pass `--project PATH`",
    )])


def load_workspace(start: Path | str | None = None) -> Workspace:
    return _Loader(find_project(start)).load()


class _Loader:
    def __init__(self, file: Path):
        self.file = file
        self.root = file.parent
        self.problems: list[ConfigProblem] = []
        self.env = read_env(self.root)

    def show(self, path: Path) -> str:
        try:
            return str(path.relative_to(Path.cwd()))
        except ValueError:
            return str(path)

    def _doc(self, path: Path) -> YamlDoc | None:
        doc, problems = load_yaml(path, self.show(path))
        self.problems.extend(problems)
        if doc is None:
            return None
        self.problems.extend(interpolate(doc, self.env))
        return doc

    def _mapping(self, doc: YamlDoc, path: KeyPath, what: str) -> dict[str, Any] | None:
        value = doc.data
        for part in path:
            value = value.get(part) if isinstance(value, dict) else None
        if value is None and not path:
            self.problems.append(doc.problem(path, f"{what} is empty", expected="a YAML mapping of keys"))
            return None
        if not isinstance(value, dict):
            self.problems.append(doc.problem(path, f"{what} must be a mapping of keys",
                                             expected="key: value lines", found=type(value).__name__))
            return None
        return value

    def load(self) -> Workspace:
        doc = self._doc(self.file)
        if doc is None:
            raise ConfigError(self.problems)
        raw = self._mapping(doc, (), self.show(self.file))
        if raw is None:
            raise ConfigError(self.problems)
        inline = raw.get("flows") if isinstance(raw.get("flows"), dict) else {}
        project_raw = {k: v for k, v in raw.items() if k != "flows"}
        project, problems = validate(ProjectConfig, project_raw, doc, ())
        self.problems.extend(problems)
        if project is None:
            # Keep going with defaults so flow problems are reported too.
            project = ProjectConfig(name=str(raw.get("name") or self.root.name))
        if "flows" in raw and not isinstance(raw.get("flows"), dict):
            self.problems.append(doc.problem(("flows",), "flows must be a mapping of flow name to flow",
                                             found=type(raw.get("flows")).__name__))
        flows: dict[str, Flow] = {}
        for name, body in (inline or {}).items():
            flow = self._flow(str(name), doc, ("flows", name), body, project, entity_dir=None)
            if flow:
                flows[flow.name] = flow
        flows_dir = self.root / project.flows_dir
        if flows_dir.is_dir():
            for folder in sorted(p for p in flows_dir.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
                self._folder_flow(folder, project, flows, doc)
        if not flows and not self.problems:
            self.problems.append(doc.problem(
                ("flows_dir",) if "flows_dir" in raw else (),
                "the project has no flows",
                expected=f"folders with a flow.yml under {project.flows_dir}/, or `flows:` in {self.file.name}",
                found="none",
                hint="see `hygge init` for an example project",
            ))
        if self.problems:
            raise ConfigError(self.problems)
        return Workspace(self.root, self.file, project, flows)

    def _folder_flow(self, folder: Path, project: ProjectConfig, flows: dict[str, Flow], project_doc: YamlDoc) -> None:
        flow_file = next((folder / n for n in FLOW_FILES if (folder / n).is_file()), None)
        if flow_file is None:
            self.problems.append(ConfigProblem(
                f"flow folder '{folder.name}' has no flow.yml",
                file=self.show(folder),
                hint="add a flow.yml, or move the folder out of the flows folder",
            ))
            return
        doc = self._doc(flow_file)
        if doc is None:
            return
        body = self._mapping(doc, (), self.show(flow_file))
        if body is None:
            return
        if folder.name in flows:
            self.problems.append(doc.problem((), f"flow '{folder.name}' is also defined inline in {self.file.name}",
                                             hint="keep one of them"))
            return
        flow = self._flow(folder.name, doc, (), body, project, entity_dir=folder / "entities")
        if flow:
            flows[flow.name] = flow

    def _flow(
        self, name: str, doc: YamlDoc, base: KeyPath, body: Any, project: ProjectConfig, entity_dir: Path | None
    ) -> Flow | None:
        if not isinstance(body, dict):
            self.problems.append(doc.problem(base, f"flow '{name}' must be a mapping", found=type(body).__name__))
            return None
        raw_entities = body.get("entities", "*")
        config, problems = validate(FlowConfig, {**body, "entities": "*"}, doc, base)
        self.problems.extend(problems)
        entities = self._entities(doc, (*base, "entities"), raw_entities)
        from_files = self._entity_files(entity_dir) if entity_dir is not None and entity_dir.is_dir() else []
        entities.extend(from_files)
        # Names from the raw list: an entity with another problem is still a duplicate.
        listed = raw_entities if isinstance(raw_entities, list) else []
        names = [i if isinstance(i, str) else i.get("name") for i in listed if isinstance(i, (str, dict))]
        self._check_names(doc, base, [*names, *(e.name for e in from_files)])
        if config is None:
            # The flow is invalid, but its home and store may hold problems of their own: report those too.
            ends = {k: body[k] for k in ("home", "store") if isinstance(body.get(k), dict)}
            lenient = FlowConfig.model_construct(**{"home": {}, "store": {}, **ends}, defaults=Defaults())
            for kind in ends:
                merged = deep_merge(*self._layers(Flow(name, lenient, doc.file), project, kind))
                self._check_end(kind, merged, doc, (*base, kind), name, project)
            return None
        discovers = raw_entities == "*"
        if not discovers:
            config = config.model_copy(update={"entities": entities})
        flow = Flow(name, config, doc.file, entities)
        self._check_ends(flow, doc, base, project)
        return flow

    def _entities(self, doc: YamlDoc, path: KeyPath, raw: Any) -> list[EntityConfig]:
        if raw == "*":
            return []
        if not isinstance(raw, list):
            self.problems.append(doc.problem(path, "entities must be \"*\" or a list",
                                             expected='"*" (every file or table found) or a list of names',
                                             found=repr(raw)))
            return []
        out = []
        for index, item in enumerate(raw):
            data = {"name": item} if isinstance(item, str) else item
            entity, problems = validate(EntityConfig, data, doc, (*path, index))
            self.problems.extend(problems)
            if entity:
                out.append(entity)
        return out

    def _entity_files(self, folder: Path) -> list[EntityConfig]:
        out = []
        for path in sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")]):
            doc = self._doc(path)
            if doc is None:
                continue
            body = self._mapping(doc, (), self.show(path))
            if body is None:
                continue
            entity, problems = validate(EntityConfig, {"name": path.stem, **body}, doc, ())
            self.problems.extend(problems)
            if entity:
                out.append(entity)
        return out

    def _check_names(self, doc: YamlDoc, base: KeyPath, names: list[Any]) -> None:
        seen: set[str] = set()
        for name in names:
            if name in seen:
                self.problems.append(doc.problem((*base, "entities"), f"entity '{name}' is listed twice",
                                                 hint="keep one, or give one of them another `name`"))
            seen.add(name)

    def _check_ends(self, flow: Flow, doc: YamlDoc, base: KeyPath, project: ProjectConfig) -> None:
        """Validate home and store against their type's own model, for the flow and each entity override."""
        for kind in ("home", "store"):
            merged = deep_merge(*self._layers(flow, project, kind))
            self._check_end(kind, merged, doc, (*base, kind), flow.name, project)
            for index, entity in enumerate(flow.entities):
                override = getattr(entity, kind)
                if override:
                    if "type" in override and override["type"] != merged.get("type"):
                        self.problems.append(doc.problem((*base, "entities", index, kind, "type"),
                                                         f"an entity cannot change its flow's {kind} type",
                                                         hint="make another flow for it"))
                        continue
                    self._check_end(kind, deep_merge(merged, override), doc,
                                    (*base, "entities", index, kind), flow.name, project)

    @staticmethod
    def _layers(flow: Flow, project: ProjectConfig, kind: str) -> list[dict[str, Any] | None]:
        return [getattr(project.defaults, kind), getattr(flow.config, kind), getattr(flow.config.defaults, kind)]

    def _check_end(
        self, kind: str, data: dict[str, Any], doc: YamlDoc, path: KeyPath, flow: str, project: ProjectConfig
    ) -> None:
        type_name = data.get("type")
        if not type_name:
            self.problems.append(doc.problem(path, f"the {kind} has no `type`",
                                             expected=f"one of {', '.join(sorted(registry.known(kind)))}"))
            return
        try:
            cls = registry.load(kind, str(type_name))
        except ConfigError as exc:
            for problem in exc.problems:
                self.problems.append(doc.problem((*path, "type"), problem.message, expected=problem.expected,
                                                 found=problem.found, hint=problem.hint))
            return
        except HyggeError as exc:
            self.problems.append(doc.problem((*path, "type"), exc.what, hint=exc.hint))
            return
        _, problems = validate(cls.Config, {**data, "type": registry.canonical(str(type_name))}, doc, path,
                               what=f"{kind} type {type_name}")
        self.problems.extend(problems)
        connection = data.get("connection")
        if isinstance(connection, str) and connection not in project.connections:
            names = ", ".join(project.connections) or "none defined"
            self.problems.append(doc.problem(
                (*path, "connection"), f"unknown connection '{connection}'",
                expected=f"one of the `connections:` in {PROJECT_FILE}: {names}",
                hint=did_you_mean(connection, project.connections)
                or f"define it under `connections:` in {PROJECT_FILE}",
            ))


def merged_defaults(project: ProjectConfig, flow: Flow, entity: EntityConfig | None) -> Defaults:
    """Settings for one entity: project defaults < flow < flow defaults < entity."""
    layers = [
        project.defaults.model_dump(exclude_unset=True),
        {"run_type": flow.config.run_type} if flow.config.run_type else {},
        flow.config.defaults.model_dump(exclude_unset=True),
        entity.model_dump(exclude_unset=True, include=set(Defaults.model_fields)) if entity else {},
    ]
    return Defaults.model_validate(deep_merge(*layers))
