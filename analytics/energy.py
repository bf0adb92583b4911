"""Comprehensive energy consumption per GB/T 2589-2020 (综合能耗) in tonnes of standard coal, and intensity.

Every carrier consumed inside the boundary is converted with its standard-coal coefficient (equivalent
value by default; equal value for electricity on request) and energy delivered out of the boundary is
deducted. Electricity used on site = imported + PV generated − exported, i.e. PV self-consumption is
counted as electricity used and any export beyond the PV output is deducted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from analytics.refs import CitedLike, Reference, cited_dict

FUEL_CARRIERS: Final = ("natural_gas", "steam", "heat", "coal", "diesel")
"""Carriers besides electricity that count towards comprehensive consumption (section 7 names)."""

MEDIA_CARRIERS: Final = ("water",)
"""Energy-consuming media (耗能工质): their coefficient is an equal value (the energy spent making them, from
the 2008 edition's appendix, not yet checked against the 2020 text), and whether purchased media belong in
a quota's boundary depends on the quota standard, so they are reported but added only when asked
(`include_media`)."""

ENERGY_KEYS: Final = ("electricity", *FUEL_CARRIERS, *MEDIA_CARRIERS)
"""The carriers of the `energy` object in `enerdiag analyze --json` (CONTRACTS.md section 6)."""

Method = Literal["equivalent", "equal"]


@dataclass(frozen=True, slots=True)
class ElectricityBalance:
    """Where the site's electricity came from and went (kWh)."""

    imported_kwh: float
    exported_kwh: float
    pv_generated_kwh: float

    @property
    def used_kwh(self) -> float:
        """Electricity used on site: imported + PV − exported."""
        return self.imported_kwh + self.pv_generated_kwh - self.exported_kwh

    @property
    def pv_self_kwh(self) -> float:
        """PV generation used on site (the part not exported)."""
        return max(self.pv_generated_kwh - self.exported_kwh, 0.0)

    @property
    def net_purchased_kwh(self) -> float:
        """Imported − exported (净购入电量), never below 0."""
        return max(self.imported_kwh - self.exported_kwh, 0.0)

    @classmethod
    def from_totals(cls, totals: Mapping[str, float]) -> ElectricityBalance:
        return cls(float(totals.get("electricity", 0.0)), float(totals.get("electricity_export", 0.0)),
                   float(totals.get("pv", 0.0)))


@dataclass(frozen=True, slots=True)
class TceLine:
    """One carrier's contribution: quantity × coefficient (kgce/unit) / 1000 = tce."""

    carrier: str
    quantity: float
    unit: str
    coefficient: CitedLike
    tce: float


@dataclass(frozen=True, slots=True)
class EnergyAccount:
    """The period's comprehensive energy consumption and its breakdown."""

    energy: dict[str, float]
    electricity: ElectricityBalance
    lines: tuple[TceLine, ...]
    tce: float
    method: str
    output: float | None
    notes: tuple[str, ...] = field(default=())

    @property
    def intensity_kgce_per_unit(self) -> float | None:
        """Unit-product comprehensive consumption, kgce per unit of output (None without output)."""
        if not self.output or self.output <= 0:
            return None
        return self.tce * 1000.0 / self.output

    def evidence(self) -> dict[str, Any]:
        """Coefficients used, per carrier, with source and confidence."""
        return {ln.carrier: {"quantity": ln.quantity, "unit": ln.unit, "tce": ln.tce,
                             "coefficient": cited_dict(ln.coefficient)} for ln in self.lines}


def comprehensive_energy(totals: Mapping[str, float], reference: Reference, *, method: Method = "equivalent",
                         include_pv: bool = True, include_media: bool = False) -> EnergyAccount:
    """tce of the period from carrier totals (`electricity`, `electricity_export`, `pv`, fuels, `output`).

    `include_pv=False` leaves PV self-consumption out (for a boundary that counts purchased energy only).
    """
    balance = ElectricityBalance.from_totals(totals)
    kwh = balance.used_kwh if include_pv else balance.used_kwh - balance.pv_self_kwh
    lines: list[TceLine] = []
    notes: list[str] = []
    if kwh or balance.imported_kwh or balance.exported_kwh:
        coef = reference.coal_coefficient("electricity", method)
        lines.append(TceLine("electricity", kwh, "kWh", coef, kwh * coef.value / 1000.0))
    if balance.exported_kwh > balance.pv_generated_kwh:
        notes.append("exported electricity beyond PV generation deducted (GB/T 2589: 输出能源扣除)")
    for carrier in (*FUEL_CARRIERS, *(MEDIA_CARRIERS if include_media else ())):
        quantity = float(totals.get(carrier, 0.0))
        if quantity:
            coef = reference.coal_coefficient(carrier, "equivalent")
            lines.append(TceLine(carrier, quantity, coef.unit.split("/")[-1], coef, quantity * coef.value / 1000.0))
    energy = {"electricity": balance.used_kwh}
    for carrier in (*FUEL_CARRIERS, *MEDIA_CARRIERS):
        if carrier in totals:
            energy[carrier] = float(totals[carrier])
    output = totals.get("output")
    return EnergyAccount(
        energy=energy,
        electricity=balance,
        lines=tuple(lines),
        tce=sum(ln.tce for ln in lines),
        method=method,
        output=None if output is None else float(output),
        notes=tuple(notes),
    )
