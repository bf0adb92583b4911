"""Registry file → carbon budgets and green-power purchases, under an enterprise or at top level; and the
enterprise's carbon facts: `province` (grid factor), `ets` (national carbon market) and `process_co2`.

Under an enterprise the entries belong to it; at top level each names its `enterprise` (in the file or
already in the registry), so a yearly budget notice can be loaded without repeating the plant.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from core.registry.filecheck import MISSING, Checker, choice, credit_code, date_value, key_line, number, text
from core.registry.filespec import (
    BUDGET_KEYS,
    CARBONATE_KEYS,
    CLINKER_KEYS,
    GREEN_KEYS,
    PROCESS_KEYS,
    REDUCTANT_KEYS,
    TOP_BUDGET_KEYS,
    TOP_GREEN_KEYS,
    BudgetSpec,
    EnterpriseSpec,
    GreenSpec,
    RegistrySpec,
)
from core.registry.models import GREEN_KINDS
from core.registry.yamlnodes import Located

MIN_YEAR, MAX_YEAR = 2000, 2100


def year_value(value: Any) -> int:
    """A calendar year as an integer (2000..2100)."""
    if isinstance(value, bool) or not isinstance(value, int) or not MIN_YEAR <= value <= MAX_YEAR:
        raise ValueError(f"{value!r} is not a year ({MIN_YEAR}..{MAX_YEAR})")
    return value


def reference_text(value: Any) -> str:
    """A certificate batch or contract number (digits alone are accepted as text)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return text(value)


def boolean(value: Any) -> bool:
    """true or false (YAML booleans only: 'yes' in quotes is text)."""
    if not isinstance(value, bool):
        raise ValueError(f"{value!r} is not true or false")
    return value


def fraction(value: Any) -> float:
    """A mass fraction 0 <= x < 1 (0.652, not 65.2)."""
    x = number()(value)
    if not 0 <= x < 1:
        raise ValueError(f"{x:g} is not a mass fraction in [0, 1) (write 0.652 for 65.2 %)")
    return x


def _reference_keys() -> tuple[set[str], set[str]]:
    """Known province keys and carbonate minerals of the reference data (emission_factors.yaml)."""
    from core.reference import get_reference  # the registry reads the reference only to check these names

    factors = get_reference().emission_factors
    return set(factors.grid_provinces.provinces), set(factors.process.carbonates)


class CarbonReader:
    """Reads `carbon_budgets:` and `green_power:` lists; reports duplicates across both places by line."""

    def __init__(self, check: Checker, spec: RegistrySpec) -> None:
        self.check = check
        self.spec = spec
        self.budget_lines: dict[tuple[str, int], int] = {}
        self.green_lines: dict[tuple[str, str, dt.date, dt.date, str], int] = {}

    def enterprise(self, ent_node: Located, ent_where: str, code: Any) -> None:
        """The lists under one enterprise (`code` may be invalid: entries are still checked, not kept)."""
        budgets = self.check.items(ent_node.value.get("carbon_budgets"), f"{ent_where}.carbon_budgets")
        for i, node in enumerate(budgets):
            self._budget(node, f"{ent_where}.carbon_budgets[{i}]", BUDGET_KEYS, code)
        for i, node in enumerate(self.check.items(ent_node.value.get("green_power"), f"{ent_where}.green_power")):
            self._green(node, f"{ent_where}.green_power[{i}]", GREEN_KEYS, code)

    def top_level(self, root: Located) -> None:
        """The top-level lists, each entry naming its enterprise."""
        for i, node in enumerate(self.check.items(root.value.get("carbon_budgets"), "carbon_budgets")):
            self._budget(node, f"carbon_budgets[{i}]", TOP_BUDGET_KEYS, None)
        for i, node in enumerate(self.check.items(root.value.get("green_power"), "green_power")):
            self._green(node, f"green_power[{i}]", TOP_GREEN_KEYS, None)

    def _owner(self, node: Located, where: str, code: Any) -> tuple[Any, str]:
        if code is not None:
            return code, f"{self.check.path}:{node.line}: {where}"
        return (self.check.get(node, "enterprise", where, credit_code),
                f"{self.check.path}:{key_line(node, 'enterprise')}: {where}.enterprise")

    def _budget(self, node: Located, where: str, allowed: set[str], code: Any) -> None:
        required = ("year", "budget_t") if code is not None else ("enterprise", "year", "budget_t")
        if not self.check.mapping(node, where, allowed, required):
            return
        owner, ref_where = self._owner(node, where, code)
        year = self.check.get(node, "year", where, year_value)
        budget = self.check.get(node, "budget_t", where, number(True))
        note = self.check.get(node, "note", where, text)
        if not isinstance(owner, str) or not isinstance(year, int) or not isinstance(budget, float):
            return
        key = (owner, year)
        if self.check.repeated(self.budget_lines, key, node.line, f"{where}.year", f"budget of {owner} for {year}"):
            return
        self.spec.budgets.append(BudgetSpec(owner, year, budget, note, ref_where))

    def _green(self, node: Located, where: str, allowed: set[str], code: Any) -> None:
        required = ("type", "from", "until", "mwh")
        if code is None:
            required = ("enterprise", *required)
        if not self.check.mapping(node, where, allowed, required):
            return
        owner, ref_where = self._owner(node, where, code)
        kind = self.check.get(node, "type", where, choice(GREEN_KINDS))
        first = self.check.get(node, "from", where, date_value)
        last = self.check.get(node, "until", where, date_value)
        mwh = self.check.get(node, "mwh", where, number(True))
        reference = self.check.get(node, "reference", where, reference_text, "")
        note = self.check.get(node, "note", where, text)
        if isinstance(first, dt.date) and isinstance(last, dt.date) and last < first:
            self.check.error(key_line(node, "until"), f"{where}.until", f"{last} is before from ({first})")
            return
        values = (owner, kind, first, last, mwh, reference)
        if any(v is MISSING or v is None for v in values) or not isinstance(owner, str):
            return
        key = (owner, kind, first, last, reference)
        if self.check.repeated(self.green_lines, key, node.line, where,
                               f"the same {kind} of {owner} for {first}..{last} (reference {reference!r})"):
            return
        self.spec.green.append(GreenSpec(owner, kind, first, last, mwh, reference, note, ref_where))

    def site(self, node: Located, where: str, ent: EnterpriseSpec) -> None:
        """`province`, `ets` and `process_co2` of one enterprise, into its spec."""
        provinces, minerals = _reference_keys()
        ent.province = self.check.get(node, "province", where, choice(tuple(sorted(provinces))))
        ent.ets = self.check.get(node, "ets", where, boolean, False)
        block = node.value.get("process_co2")
        if block is None or block.value is None:
            return
        pwhere = f"{where}.process_co2"
        if not self.check.mapping(block, pwhere, PROCESS_KEYS, ()):
            return
        out: dict[str, Any] = {}
        clinker = block.value.get("clinker")
        if clinker is not None and self.check.mapping(clinker, f"{pwhere}.clinker", CLINKER_KEYS, ()):
            values = {k: self.check.get(clinker, k, f"{pwhere}.clinker", fraction) for k in sorted(CLINKER_KEYS)}
            out["clinker"] = {k: v for k, v in values.items() if v is not None}
        for key, keys, required, convert in (
            ("carbonates", CARBONATE_KEYS, ("mineral", "t_per_output"),
             {"mineral": choice(tuple(sorted(minerals))), "t_per_output": number(True), "fraction": fraction,
              "calcination": fraction}),
            ("reductants", REDUCTANT_KEYS, ("material", "t_per_output", "carbon"),
             {"material": text, "t_per_output": number(True), "carbon": fraction}),
        ):
            rows = []
            for i, item in enumerate(self.check.items(block.value.get(key), f"{pwhere}.{key}")):
                iwhere = f"{pwhere}.{key}[{i}]"
                if not self.check.mapping(item, iwhere, keys, required):
                    continue
                row = {k: self.check.get(item, k, iwhere, c) for k, c in convert.items()}
                for k in ("fraction", "calcination"):
                    if k in row and row[k] is None:
                        row[k] = 1.0
                if key == "carbonates" and row.get("fraction") == 0:
                    self.check.error(key_line(item, "fraction"), f"{iwhere}.fraction", "a carbonate fraction of 0 "
                                     "emits nothing: leave the material out")
                rows.append(row)
            if rows:
                out[key] = rows
        product_carbon = self.check.get(block, "product_carbon", pwhere, fraction)
        if product_carbon is not None:
            out["product_carbon"] = product_carbon
        source = self.check.get(block, "source", pwhere, text)
        if source is not None:
            out["source"] = source
        bad = any(v is MISSING for v in _leaves(out))
        ent.process_co2 = None if bad or not out else out


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [x for v in value.values() for x in _leaves(v)]
    if isinstance(value, list):
        return [x for v in value for x in _leaves(v)]
    return [value]
