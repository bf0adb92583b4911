"""Validate dashboard JSON against the dashboard JSON Schema of grafana-foundation-sdk (draft-07 subset).

The schema (dashboards/schema/dashboard.jsonschema, source and commit in its `$comment`) is
stricter than Grafana in one place, relaxed here and nowhere else: a threshold's first step has
`"value": null` (-Infinity; the schema's own description says "Nulls currently appear here").
A keyword this validator does not know is an error, so nothing in the schema is skipped silently.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

# No .json suffix: Grafana's file provider loads every *.json under dashboards/ (recursively) as a dashboard.
SCHEMA_FILE = Path(__file__).parent / "schema" / "dashboard.jsonschema"
_IGNORED = {"$schema", "$comment", "definitions", "description", "default", "format"}
_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,), "array": (list,), "string": (str,), "boolean": (bool,), "null": (type(None),),
    "number": (int, float), "integer": (int,),
}


@cache
def schema() -> dict[str, Any]:
    """The vendored schema with the documented relaxation applied."""
    doc = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    doc = copy.deepcopy(doc)
    defs = doc["definitions"]
    defs["Threshold"]["properties"]["value"] = {"anyOf": [{"type": "number"}, {"type": "null"}]}
    return doc


def _is_type(value: Any, name: str) -> bool:
    if name in ("integer", "number") and isinstance(value, bool):
        return False
    if name == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, _TYPES[name])


def errors(value: Any, node: dict[str, Any] | None = None, path: str = "$") -> list[str]:
    """Every violation as `path: reason` (empty when the value is valid)."""
    root = schema()
    node = root if node is None else node
    out: list[str] = []
    for key, rule in node.items():
        if key in _IGNORED:
            continue
        if key == "$ref":
            name = rule.removeprefix("#/definitions/")
            out += errors(value, root["definitions"][name], path)
        elif key == "type":
            if not _is_type(value, rule):
                out.append(f"{path}: expected {rule}, got {type(value).__name__}")
        elif key == "enum":
            if value not in rule:
                out.append(f"{path}: {value!r} not one of {rule}")
        elif key == "const":
            if value != rule:
                out.append(f"{path}: must be {rule!r}")
        elif key == "anyOf":
            found = [errors(value, option, path) for option in rule]
            if all(found):
                closest = min(found, key=len)
                out.append(f"{path}: matches none of the allowed forms; closest: {'; '.join(closest)}")
        elif key in ("properties", "additionalProperties", "required"):
            if isinstance(value, dict):
                out += _object(value, node, key, path)
        elif key == "items":
            if isinstance(value, list):
                for i, item in enumerate(value):
                    out += errors(item, rule, f"{path}[{i}]")
        elif key in ("minLength", "maximum", "minimum", "exclusiveMaximum", "exclusiveMinimum"):
            out += _bound(value, key, rule, path)
        else:
            raise ValueError(f"schema keyword {key!r} at {path} is not supported by this validator")
    return out


def _object(value: dict[str, Any], node: dict[str, Any], key: str, path: str) -> list[str]:
    props: dict[str, Any] = node.get("properties", {})
    if key == "required":
        return [f"{path}: missing required {name!r}" for name in node["required"] if name not in value]
    if key == "properties":
        out: list[str] = []
        for name, sub in props.items():
            if name in value:
                out += errors(value[name], sub, f"{path}.{name}")
        return out
    extra = node["additionalProperties"]
    out = []
    for name in value:
        if name in props:
            continue
        if extra is False:
            out.append(f"{path}: property {name!r} is not allowed")
        elif isinstance(extra, dict) and extra:
            out += errors(value[name], extra, f"{path}.{name}")
    return out


def _bound(value: Any, key: str, limit: float, path: str) -> list[str]:
    if key == "minLength":
        return [f"{path}: shorter than {limit}"] if isinstance(value, str) and len(value) < limit else []
    if not isinstance(value, int | float) or isinstance(value, bool):
        return []
    ok = {"maximum": value <= limit, "minimum": value >= limit,
          "exclusiveMaximum": value < limit, "exclusiveMinimum": value > limit}[key]
    return [] if ok else [f"{path}: {value} violates {key} {limit}"]
