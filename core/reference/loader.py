"""Load, override and validate the reference data; errors name the file, the line and the field path.

The data files ship in core/reference/data/. A local override file (settings `reference_override`) mirrors their
keys and replaces single values, each with its own source, so a city can update a factor without touching code.
"""

from __future__ import annotations

from copy import deepcopy
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from core.settings import get_settings

from .models import DATA_FILES, ReferenceData

DATA_DIR = Path(__file__).parent / "data"
OVERRIDE_CONFIDENCE = "local-override"
CITATION_KEYS = ("source", "confidence", "note")

# (file, key path with "*" for any key) of maps an override may add entries to: grid factors of a new year.
OPEN_MAPS: tuple[tuple[str, ...], ...] = (
    ("emission_factors", "grid", "*"),
    ("emission_factors", "grid_notices"),
)

Path_ = tuple[str, ...]
Lines = dict[Path_, tuple[Path, int]]


class ReferenceDataError(ValueError):
    """Reference data that cannot be used; each line of the message names file:line, field path and problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


def _read_yaml(path: Path, prefix: Path_, lines: Lines) -> Any:
    """Parse a YAML file keeping each node's line (keys as written, so '2021' and '0.90' stay as typed)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ReferenceDataError([f"{path}: cannot read reference file: {exc.strerror}"]) from exc
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        return None if node is None else _build(loader, node, prefix, path, lines)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ReferenceDataError([f"{where}: invalid YAML: {getattr(exc, 'problem', None) or exc}"]) from exc
    finally:
        loader.dispose()


def _build(loader: yaml.SafeLoader, node: yaml.Node, path: Path_, file: Path, lines: Lines) -> Any:
    lines[path] = (file, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise ReferenceDataError(
                    [f"{file}:{key_node.start_mark.line + 1}: {_dotted(path)}: keys must be scalars"]
                )
            key = str(key_node.value)
            if key in out:
                raise ReferenceDataError(
                    [f"{file}:{key_node.start_mark.line + 1}: {_dotted((*path, key))}: duplicate key"]
                )
            out[key] = _build(loader, value_node, (*path, key), file, lines)
            lines[(*path, key)] = (file, key_node.start_mark.line + 1)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(loader, item, (*path, str(i)), file, lines) for i, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def _dotted(path: Path_) -> str:
    return ".".join(path) if path else "(top level)"


def _where(lines: Lines, path: Path_) -> str:
    """file:line of the deepest known node on `path`."""
    for end in range(len(path), 0, -1):
        hit = lines.get(path[:end])
        if hit:
            return f"{hit[0]}:{hit[1]}"
    return "reference data"


def _is_open(path: Path_) -> bool:
    return any(
        len(pattern) == len(path) and all(p in ("*", q) for p, q in zip(pattern, path, strict=True))
        for pattern in OPEN_MAPS
    )


def _merge(base: Any, over: Any, path: Path_, lines: Lines, problems: list[str]) -> Any:
    """Apply an override node to a base node; a cited node (one with `confidence`) needs a new `source`."""
    if isinstance(base, dict) and "confidence" in base and not isinstance(over, dict):
        problems.append(
            f"{_where(lines, path)}: {_dotted(path)}: override a cited value with a mapping that has a source"
        )
        return base
    if not isinstance(over, dict) or not isinstance(base, dict):
        return deepcopy(over)
    merged = dict(base)
    if "confidence" in base:
        if not over.get("source"):
            problems.append(f"{_where(lines, path)}: {_dotted(path)}: an override must carry a source")
            return base
        merged = {k: v for k, v in base.items() if k not in CITATION_KEYS}
        merged["confidence"] = OVERRIDE_CONFIDENCE
    for key, value in over.items():
        child = (*path, key)
        if key in merged or ("confidence" in base and key in CITATION_KEYS):
            merged[key] = _merge(merged.get(key), value, child, lines, problems)
        elif _is_open(path):
            merged[key] = _new_entry(base, value, child, lines, problems)
        else:
            known = ", ".join(sorted(k for k in base if k not in CITATION_KEYS))
            problems.append(f"{_where(lines, child)}: {_dotted(child)}: no such key to override (known: {known})")
    return merged


def _new_entry(siblings: dict[str, Any], value: Any, path: Path_, lines: Lines, problems: list[str]) -> Any:
    """A new entry of an open map (e.g. a new year's grid factor), shaped like its latest sibling."""
    template = siblings[max(siblings)] if siblings else None
    if not isinstance(template, dict):
        return value
    if not isinstance(value, dict) or not value.get("source"):
        problems.append(f"{_where(lines, path)}: {_dotted(path)}: an override must carry a source")
        return template
    entry = {k: v for k, v in template.items() if k not in (*CITATION_KEYS, "value")}
    entry["confidence"] = OVERRIDE_CONFIDENCE
    entry.update(value)
    return entry


def _apply_override(raw: dict[str, Any], override: Path, lines: Lines) -> dict[str, Any]:
    data = _read_yaml(override, (), lines)
    if data is None:
        return raw
    if not isinstance(data, dict):
        raise ReferenceDataError([f"{override}:1: the override file must be a mapping of data-file names"])
    problems: list[str] = []
    merged = dict(raw)
    for stem, value in data.items():
        if stem not in raw:
            problems.append(
                f"{_where(lines, (stem,))}: {stem}: no such reference file to override (known: {', '.join(DATA_FILES)})"
            )
            continue
        merged[stem] = _merge(raw[stem], value, (stem,), lines, problems)
    if problems:
        raise ReferenceDataError(problems)
    return merged


def _explain(exc: ValidationError, lines: Lines) -> list[str]:
    problems = []
    for error in exc.errors():
        path = tuple(str(p) for p in error["loc"] if p != "[key]")
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown key"
        elif error["type"] == "missing":
            message = "required key missing"
        problems.append(f"{_where(lines, path)}: {_dotted(path)}: {message}")
    return problems


def load_reference(override: Path | None = None, data_dir: Path = DATA_DIR) -> ReferenceData:
    """Read every data file (and the override file, if any) and validate it all; raises ReferenceDataError."""
    lines: Lines = {}
    raw = {stem: _read_yaml(data_dir / f"{stem}.yaml", (stem,), lines) for stem in DATA_FILES}
    if override is not None:
        raw = _apply_override(raw, Path(override), lines)
    try:
        return ReferenceData.model_validate(raw)
    except ValidationError as exc:
        raise ReferenceDataError(_explain(exc, lines)) from None


@lru_cache(maxsize=1)
def get_reference() -> ReferenceData:
    """The process-wide reference data, honouring settings `reference_override` (cached; `.cache_clear()`)."""
    return load_reference(get_settings().reference_override)
