"""The energy bureau's orderly-use policy as data: which priority classes are asked first, their weights.

    source: 大同市能源局 2026 年有序用电方案 (the document the weights come from)
    classes:
      high_intensity: {rank: 1, weight: 1.0}        # 高耗能/超限额: asked first
      normal:         {rank: 2, weight: 1.0}
      strategic:      {rank: 3, weight: 1.0}        # 战略性新兴产业
      livelihood:     {rank: 4, weight: 1.0, protected: true}   # 保供/民生: only when nothing else is left
    over_quota_rank: 1        # an over-quota plant is asked with rank 1 (unless its class is protected)
    over_quota_weight: 2.0    # and carries twice the share within its rank

Read with the registry's rules: every problem as FILE:LINE, the whole file refused on any error.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Final

from core.registry.filecheck import MISSING, Checker, number, text
from core.registry.fileorderly import PRIORITY_CLASSES
from core.registry.filespec import RegistryFileError
from core.registry.yamlnodes import YamlFileError, load_located

POLICY_KEYS: Final = {"source", "classes", "over_quota_rank", "over_quota_weight"}
CLASS_KEYS: Final = {"rank", "weight", "protected"}
DEFAULT_POLICY: Final = "default_policy.yaml"


class PolicyError(RegistryFileError):
    """A policy file that cannot be used; `errors` lists every problem as 'FILE:LINE: field: why'."""


@dataclass(frozen=True, slots=True)
class ClassPolicy:
    rank: int
    weight: float
    protected: bool = False

    def __post_init__(self) -> None:
        if self.rank < 1 or self.weight <= 0:
            raise ValueError(f"rank must be >= 1 and weight > 0, got {self.rank}, {self.weight}")


@dataclass(frozen=True, slots=True)
class Policy:
    """Ranks and weights per priority class (every class of `PRIORITY_CLASSES`), and the over-quota rule."""

    source: str
    classes: dict[str, ClassPolicy]
    over_quota_rank: int | None = None
    over_quota_weight: float = 1.0
    file: str | None = None

    def __post_init__(self) -> None:
        missing = sorted(set(PRIORITY_CLASSES) - set(self.classes))
        if missing:
            raise ValueError(f"policy lacks class(es) {', '.join(missing)}")
        if self.over_quota_weight <= 0:
            raise ValueError("over_quota_weight must be > 0")

    def rank_of(self, priority: str, over_quota: bool) -> int:
        c = self.classes[priority]
        if over_quota and not c.protected and self.over_quota_rank is not None:
            return min(c.rank, self.over_quota_rank)
        return c.rank

    def weight_of(self, priority: str, over_quota: bool) -> float:
        return self.classes[priority].weight * (self.over_quota_weight if over_quota else 1.0)

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "file": self.file,
                "classes": {k: {"rank": c.rank, "weight": c.weight, "protected": c.protected}
                            for k, c in self.classes.items()},
                "over_quota_rank": self.over_quota_rank, "over_quota_weight": self.over_quota_weight}


def _rank(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"must be a whole number >= 1, got {value!r}")
    return int(value)


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"must be true or false, got {value!r}")
    return value


def read_policy(path: Path | None = None) -> Policy:
    """The policy file at `path` (default: the packaged `default_policy.yaml`), checked; PolicyError lists every
    problem as FILE:LINE."""
    if path is None:
        with resources.as_file(resources.files("analytics.orderly").joinpath(DEFAULT_POLICY)) as packaged:
            return read_policy(Path(packaged))
    try:
        root = load_located(path)
    except YamlFileError as exc:
        raise PolicyError([str(exc)]) from None
    if root is None:
        raise PolicyError([f"{path}:1: (file): empty file, expected keys {', '.join(sorted(POLICY_KEYS))}"])
    check = Checker(path)
    if not check.mapping(root, "(top)", POLICY_KEYS, ("source", "classes")) or not isinstance(root.value, dict):
        raise PolicyError(check.errors)
    source = check.get(root, "source", "source", text)
    classes: dict[str, ClassPolicy] = {}
    node = root.value.get("classes")
    if node is not None and check.mapping(node, "classes", set(PRIORITY_CLASSES), PRIORITY_CLASSES):
        for key, item in node.value.items():
            where = f"classes.{key}"
            if not check.mapping(item, where, CLASS_KEYS, ("rank",)):
                continue
            rank = check.get(item, "rank", where, _rank)
            weight = check.get(item, "weight", where, number(True), 1.0)
            protected = check.get(item, "protected", where, _flag, False)
            if MISSING not in (rank, weight, protected) and rank is not None:
                classes[key] = ClassPolicy(rank, weight, protected)
    over_rank = check.get(root, "over_quota_rank", "over_quota_rank", _rank)
    over_weight = check.get(root, "over_quota_weight", "over_quota_weight", number(True), 1.0)
    if classes and len(classes) == len(PRIORITY_CLASSES):
        lowest_open = max((c.rank for c in classes.values() if not c.protected), default=0)
        for key, c in classes.items():
            if c.protected and c.rank <= lowest_open:
                check.error(node.value[key].line, f"classes.{key}.rank",
                            f"a protected class must rank after every unprotected one (> {lowest_open})")
    if check.errors:
        raise PolicyError(check.errors)
    return Policy(source, classes, over_rank, over_weight, str(path))
