"""YAML read into values that remember their line, so every error can name FILE:LINE and the field path."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class YamlFileError(ValueError):
    """A file that is not readable YAML; the message names FILE:LINE."""


@dataclass
class Located:
    """A YAML value with the 1-based line it starts on; mappings and lists hold Located children."""

    value: Any
    line: int
    key_lines: dict[str, int] = field(default_factory=dict)  # mapping only: the line of each key


def plain(node: Located) -> Any:
    """The Python value without line information (mappings and lists unwrapped recursively)."""
    if isinstance(node.value, dict):
        return {k: plain(v) for k, v in node.value.items()}
    if isinstance(node.value, list):
        return [plain(v) for v in node.value]
    return node.value


def _convert(node: yaml.Node, loader: yaml.SafeLoader, path: Path) -> Located:
    line = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        out: dict[str, Located] = {}
        key_lines: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            key_line = key_node.start_mark.line + 1
            if not isinstance(key, str):
                key = str(key)
            if key in out:
                raise YamlFileError(f"{path}:{key_line}: key {key!r} given twice (first on line {key_lines[key]})")
            out[key] = _convert(value_node, loader, path)
            key_lines[key] = key_line
        return Located(out, line, key_lines)
    if isinstance(node, yaml.SequenceNode):
        return Located([_convert(item, loader, path) for item in node.value], line)
    return Located(loader.construct_object(node, deep=True), line)


def load_located(path: Path) -> Located | None:
    """Parse one YAML document from `path`; None when the file is empty."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise YamlFileError(f"{path}: cannot read: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise YamlFileError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        return None if node is None else _convert(node, loader, path)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise YamlFileError(f"{where}: not valid YAML: {exc.problem or exc.context}") from exc
    except yaml.YAMLError as exc:
        raise YamlFileError(f"{path}: not valid YAML: {exc}") from exc
    finally:
        loader.dispose()
