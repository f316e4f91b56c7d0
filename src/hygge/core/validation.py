"""Turn pydantic's validation errors into problems a person can act on."""

from __future__ import annotations

from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError

from hygge.core.yamlsource import KeyPath, YamlDoc
from hygge.errors import ConfigProblem, did_you_mean


def _model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The nested model that owns the last key of ``loc``, to list its valid keys."""
    current: Any = model
    for part in loc:
        if isinstance(part, int) or current is None:
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = current.model_fields.get(str(part))
        if field is None:
            return current
        current = _inner_model(field.annotation)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _inner_model(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _inner_model(arg)
        if found is not None:
            return found
    if get_origin(annotation) is None:
        return None
    return None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def validate(
    model: type[BaseModel], data: Any, doc: YamlDoc, base: KeyPath, what: str = ""
) -> tuple[Any, list[ConfigProblem]]:
    """Validate ``data`` against ``model``; problems carry file, line and key path."""
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        return None, [problem_for(error, model, doc, base, what) for error in exc.errors()]


def problem_for(error: Any, model: type[BaseModel], doc: YamlDoc, base: KeyPath, what: str) -> ConfigProblem:
    loc = tuple(part for part in error["loc"])
    path: KeyPath = (*base, *loc)
    kind = error["type"]
    prefix = f"{what}: " if what else ""
    if kind == "extra_forbidden":
        owner = _model_at(model, loc[:-1])
        allowed = sorted(owner.model_fields) if owner else []
        return doc.problem(
            path,
            f"{prefix}unknown key '{loc[-1]}'",
            expected=f"one of {', '.join(allowed)}" if allowed else None,
            hint=did_you_mean(str(loc[-1]), allowed) or "remove it",
        )
    if kind == "missing":
        return doc.problem(path, f"{prefix}required key '{loc[-1]}' is missing", hint=f"add `{loc[-1]}:`")
    expected = None
    ctx = error.get("ctx") or {}
    if "expected" in ctx:
        expected = str(ctx["expected"])
    found = _short(error.get("input"))
    message = error["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, "):]
    hint = None
    if kind == "literal_error" and isinstance(error.get("input"), str):
        choices = [c.strip().strip("'") for c in str(ctx.get("expected", "")).replace(" or ", ",").split(",")]
        hint = did_you_mean(error["input"], [c for c in choices if c])
    return doc.problem(path, f"{prefix}{message}", expected=expected, found=found, hint=hint)


def deep_merge(*layers: dict[str, Any] | None) -> dict[str, Any]:
    """Merge dicts left to right; nested dicts merge, anything else is replaced."""
    out: dict[str, Any] = {}
    for layer in layers:
        for key, value in (layer or {}).items():
            if isinstance(value, dict) and isinstance(out.get(key), dict):
                out[key] = deep_merge(out[key], value)
            else:
                out[key] = value
    return out
