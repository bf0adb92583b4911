"""Registry file → an enterprise's orderly-power-use facts (`orderly:` block, 有序用电, issue 18).

    orderly:
      priority: livelihood      # 保供/民生; strategic (战略性新兴产业), normal, high_intensity (高耗能/超限额)
      security_kw: 180          # declared security load (保安负荷): never to be cut

The city sets the priority class; the plan (analytics/orderly) asks the classes in the order of the bureau's
policy file and never plans an enterprise below its security load.
"""

from __future__ import annotations

from core.registry.filecheck import MISSING, Checker, choice, number
from core.registry.yamlnodes import Located

ORDERLY_KEYS = {"priority", "security_kw"}
PRIORITY_CLASSES = ("livelihood", "strategic", "normal", "high_intensity")
"""保供/民生, 战略性新兴产业, 一般, 高耗能/超限额 — the classes a city's orderly-use plan ranks enterprises by."""
DEFAULT_PRIORITY = "normal"


def read_orderly(check: Checker, ent_node: Located, ent_where: str) -> tuple[str | None, float | None]:
    """(priority class, declared security kW) of the enterprise's `orderly:` block; (None, None) when absent.

    Problems go to `check` (FILE:LINE); an invalid value reads as None."""
    node = ent_node.value.get("orderly") if isinstance(ent_node.value, dict) else None
    if node is None or node.value is None:
        return None, None
    where = f"{ent_where}.orderly"
    if not check.mapping(node, where, ORDERLY_KEYS, ()) and not isinstance(node.value, dict):
        return None, None
    priority = check.get(node, "priority", where, choice(PRIORITY_CLASSES))
    security = check.get(node, "security_kw", where, _non_negative)
    return (None if priority is MISSING else priority), (None if security is MISSING else security)


def _non_negative(value: object) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool) and value == 0:
        return 0.0
    return number(True)(value)
