"""Process CO2 (Scope 1, apart from combustion): clinker calcination, carbonate decomposition, ferroalloy reductants.

Each source is activity × factor, the activity being the period's output (the enterprise's product counter) times what
the registry says one unit of output takes (`process_co2:`, docs/registry.md):

- cement clinker (GB/T 32151.8-2015; 水泥生产企业温室气体排放核算方法与报告指南): E = Q × [(CaO − CaO_nc) × 44/56 +
  (MgO − MgO_nc) × 44/40], Q = clinker × (1 + dust leaving the kiln system per t clinker); the plant's measured
  fractions from the registry, else the reference default (IPCC Tier 1 CaO 65 %, no MgO default), marked;
- carbonates (ceramics, lime, glass; 陶瓷生产企业指南): E = output × Σ raw material t per unit × carbonate fraction ×
  calcination fraction × stoichiometric EF;
- ferroalloy reductants (铁合金生产企业指南, carbon balance): E = output × (Σ reductant t per unit × carbon fraction −
  product carbon fraction) × 44/12.

A source that applies but lacks what it needs is `None` with the reason, never 0: a clinker plant without an output
counter, a ferroalloy plant without reductant data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

CO2_PER_CAO: Final = 44.0 / 56.0
CO2_PER_MGO: Final = 44.0 / 40.0
CO2_PER_C: Final = 44.0 / 12.0

CEMENT_INDUSTRY: Final = "3011"
"""GB/T 4754-2017 水泥制造: clinker calcination applies when the enterprise's product is clinker."""
CLINKER_PRODUCT: Final = "cement_clinker"
"""Quota key of clinker (quota_standards.yaml): its output is the clinker the formula takes."""
FERROALLOY_INDUSTRY: Final = "3150"
"""GB/T 4754-2017 铁合金冶炼: reductant process emissions always apply."""
CERAMICS_INDUSTRY_PREFIX: Final = "307"
"""GB/T 4754-2017 307x 陶瓷制品制造: carbonate decomposition applies where the body contains carbonates."""

REGISTRY = "registry (the enterprise's own measurement)"


@dataclass(frozen=True, slots=True)
class ClinkerInputs:
    """Mass fractions in clinker, as the plant's laboratory measures them (None: use the reference default)."""

    cao: float | None = None
    mgo: float | None = None
    cao_non_carbonate: float = 0.0
    mgo_non_carbonate: float = 0.0
    dust_t_per_t: float = 0.0  # kiln and bypass dust leaving the kiln system, t per t clinker


@dataclass(frozen=True, slots=True)
class CarbonateInput:
    """A carbonate-bearing raw material: t per unit of output, its carbonate mass fraction, how much calcines."""

    mineral: str
    t_per_output: float
    fraction: float = 1.0
    calcination: float = 1.0


@dataclass(frozen=True, slots=True)
class ReductantInput:
    """A reducing agent (coke, coal, electrode paste ...): t per unit of output and its carbon mass fraction."""

    material: str
    t_per_output: float
    carbon: float


@dataclass(frozen=True, slots=True)
class ProcessInputs:
    """The registry's `process_co2:` block of one enterprise."""

    clinker: ClinkerInputs | None = None
    carbonates: tuple[CarbonateInput, ...] = field(default_factory=tuple)
    reductants: tuple[ReductantInput, ...] = field(default_factory=tuple)
    product_carbon: float = 0.0  # carbon mass fraction of the ferroalloy product (carbon balance)
    source: str | None = None  # where the figures come from (lab report, production records)

    def to_json(self) -> dict[str, Any]:
        """The registry column's JSON form (keys as in the registry file)."""
        out: dict[str, Any] = {}
        if self.clinker is not None:
            c = self.clinker
            pairs = (("cao", c.cao), ("mgo", c.mgo), ("cao_non_carbonate", c.cao_non_carbonate),
                     ("mgo_non_carbonate", c.mgo_non_carbonate), ("dust_t_per_t", c.dust_t_per_t))
            out["clinker"] = {k: v for k, v in pairs if v is not None}
        if self.carbonates:
            out["carbonates"] = [{"mineral": c.mineral, "t_per_output": c.t_per_output, "fraction": c.fraction,
                                  "calcination": c.calcination} for c in self.carbonates]
        if self.reductants:
            out["reductants"] = [{"material": r.material, "t_per_output": r.t_per_output, "carbon": r.carbon}
                                 for r in self.reductants]
        if self.product_carbon:
            out["product_carbon"] = self.product_carbon
        if self.source:
            out["source"] = self.source
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> ProcessInputs | None:
        """The inverse of `to_json` (None for an empty or missing block)."""
        if not data:
            return None
        clinker = ClinkerInputs(**data["clinker"]) if "clinker" in data else None
        return cls(clinker=clinker,
                   carbonates=tuple(CarbonateInput(**c) for c in data.get("carbonates", ())),
                   reductants=tuple(ReductantInput(**r) for r in data.get("reductants", ())),
                   product_carbon=float(data.get("product_carbon", 0.0)), source=data.get("source"))


class ProcessReference(Protocol):
    """What process accounting reads from the reference data (`core.reference.ReferenceData`)."""

    def carbonate_emission_factor(self, mineral: str) -> Any: ...

    def clinker_default(self, oxide: str) -> Any: ...

    def process_method(self, kind: str) -> Any: ...


@dataclass(frozen=True, slots=True)
class ProcessFactor:
    """kgCO2 per unit of the line's quantity, with how it was formed (a `CitedLike`)."""

    value: float
    unit: str
    source: str
    confidence: str
    note: str
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ProcessLine:
    """One process source of the period: `co2_t` None when it applies but cannot be computed (`reason`)."""

    source: str
    quantity: float | None
    unit: str
    factor: ProcessFactor | None
    co2_t: float | None
    reason: str | None = None


def applies(industry: str | None, product: str | None, inputs: ProcessInputs | None) -> tuple[str, ...]:
    """The process kinds that apply: `clinker`, `carbonates`, `reductants` (registry data or the sector)."""
    kinds: list[str] = []
    clinker_plant = industry == CEMENT_INDUSTRY and product == CLINKER_PRODUCT
    if (inputs is not None and inputs.clinker is not None) or clinker_plant:
        kinds.append("clinker")
    if inputs is not None and inputs.carbonates:
        kinds.append("carbonates")
    if (inputs is not None and inputs.reductants) or industry == FERROALLOY_INDUSTRY:
        kinds.append("reductants")
    return tuple(kinds)


def clinker_factor(inputs: ClinkerInputs | None, reference: ProcessReference) -> ProcessFactor:
    """kgCO2 per t clinker from CaO/MgO, measured or default (GB/T 32151.8 formula)."""
    method = reference.process_method("clinker")
    warnings: list[str] = []
    parts: list[str] = []
    confidence = method.confidence
    fractions: dict[str, float] = {}
    for oxide in ("cao", "mgo"):
        measured = getattr(inputs, oxide) if inputs is not None else None
        if measured is not None:
            fractions[oxide] = float(measured)
            parts.append(f"{oxide.upper()} {measured:g} ({REGISTRY})")
            continue
        default = reference.clinker_default(oxide)
        if default is None:
            fractions[oxide] = 0.0
            warnings.append(f"clinker {oxide.upper()} fraction not given and no default exists: its term is left out "
                            "(registry process_co2.clinker)")
            continue
        fractions[oxide] = float(default.value)
        confidence = default.confidence
        parts.append(f"{oxide.upper()} {default.value:g} (default: {default.source}; {default.confidence})")
        warnings.append(f"clinker {oxide.upper()} fraction not measured: default {default.value:g} used "
                        f"({default.confidence})")
    cao_nc = inputs.cao_non_carbonate if inputs is not None else 0.0
    mgo_nc = inputs.mgo_non_carbonate if inputs is not None else 0.0
    t_per_t = (fractions["cao"] - cao_nc) * CO2_PER_CAO + (fractions["mgo"] - mgo_nc) * CO2_PER_MGO
    note = (f"({fractions['cao']:g} − {cao_nc:g}) × 44/56 + ({fractions['mgo']:g} − {mgo_nc:g}) × 44/40 = "
            f"{t_per_t:.6f} tCO2/t clinker; " + "; ".join(parts))
    return ProcessFactor(t_per_t * 1000.0, "kgCO2/t", method.source, confidence, note, tuple(warnings))


def process_lines(output: float | None, output_unit: str, industry: str | None, product: str | None,
                  inputs: ProcessInputs | None, reference: ProcessReference) -> tuple[list[ProcessLine], list[str]]:
    """The period's process sources and the warnings about them; `output` None means no output counter."""
    lines: list[ProcessLine] = []
    notes: list[str] = []
    kinds = applies(industry, product, inputs)
    if industry and industry.startswith(CERAMICS_INDUSTRY_PREFIX) and "carbonates" not in kinds:
        notes.append("ceramics: carbonate decomposition in the body and glaze is not counted (registry "
                     "process_co2.carbonates not given); give it where the raw materials contain carbonates")
    for kind in kinds:
        if kind == "clinker":
            factor = clinker_factor(inputs.clinker if inputs is not None else None, reference)
            notes.extend(factor.warnings)
            dust = inputs.clinker.dust_t_per_t if inputs is not None and inputs.clinker is not None else 0.0
            lines.append(_line("clinker_calcination", output, 1.0 + dust, output_unit, factor,
                               "clinker output (the product's output counter)"))
        elif kind == "carbonates":
            assert inputs is not None
            for c in inputs.carbonates:
                ef = reference.carbonate_emission_factor(c.mineral)
                per_output = c.t_per_output * c.fraction * c.calcination
                factor = ProcessFactor(per_output * ef.value, f"kgCO2/{output_unit}", ef.source, ef.confidence,
                                       f"{c.t_per_output:g} t/{output_unit} × fraction {c.fraction:g} × calcination "
                                       f"{c.calcination:g} × {ef.value:g} kgCO2/t ({c.mineral}; {REGISTRY})")
                lines.append(_line(f"carbonate_{c.mineral}", output, 1.0, output_unit, factor, "output"))
        else:
            method = reference.process_method("reductants")
            if inputs is None or not inputs.reductants:
                lines.append(ProcessLine("reductants", None, output_unit, None, None,
                                         "ferroalloy reductant CO2 needs registry process_co2.reductants (t per unit "
                                         "of output and carbon fraction of each reducing agent)"))
                continue
            carbon = sum(r.t_per_output * r.carbon for r in inputs.reductants) - inputs.product_carbon
            used = " + ".join(f"{r.t_per_output:g} t × {r.carbon:g} C ({r.material})" for r in inputs.reductants)
            factor = ProcessFactor(carbon * CO2_PER_C * 1000.0, f"kgCO2/{output_unit}", method.source,
                                   method.confidence, f"({used} − product {inputs.product_carbon:g} C) × 44/12; "
                                   f"{REGISTRY}")
            lines.append(_line("reductants", output, 1.0, output_unit, factor, "output"))
    notes.extend(ln.reason for ln in lines if ln.reason)
    return lines, notes


def _line(source: str, output: float | None, scale: float, unit: str, factor: ProcessFactor,
          activity: str) -> ProcessLine:
    if output is None:
        return ProcessLine(source, None, unit, factor, None,
                           f"process CO2 ({source}) needs the {activity}: the enterprise has no output counter data")
    quantity = output * scale
    return ProcessLine(source, quantity, unit, factor, quantity * factor.value / 1000.0)
