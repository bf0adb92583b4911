"""Industry profiles: meters, energy per tonne, standing loads, shift patterns and seasonality per industry.

Energy per tonne is chosen so that a healthy plant lands where the quota standards say a compliant plant
does (e.g. clinker ≈ 112 kgce/t whole plant against GB 16780-2021's 117 limit); see docs/simulators.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from core.domain import Carrier, MeterRole


class Schedule(StrEnum):
    """When a plant produces (local time)."""

    CONTINUOUS = "continuous"  # 24/7, holidays included (kilns, coke ovens)
    TWO_SHIFT = "two_shift"  # 08:00-24:00 on working days
    ONE_SHIFT = "one_shift"  # 08:00-12:00 and 13:00-17:30 on working days


@dataclass(frozen=True, slots=True)
class ElecLoad:
    """An electricity sub-meter: energy per tonne of product and a standing (idle) load."""

    meter: str
    name: str
    kwh_per_t: float
    idle_share: float  # standing power as a share of full-load power
    role: MeterRole = MeterRole.SUB
    product: str | None = None
    flexible: bool = False  # batch load (grinding, furnaces): its daily energy may run in any hours
    refrigeration: bool = False  # cold-store compressors: standing load set by store size and outdoor heat


@dataclass(frozen=True, slots=True)
class FuelUse:
    """A fuel or medium meter: consumption per tonne, winter extra, standing use per hour."""

    meter: str
    name: str
    carrier: Carrier
    per_t: float  # carrier unit per tonne of product
    winter_per_degc: float = 0.0  # relative extra per °C below 10 °C outside (space/boiler heat)
    standing_share: float = 0.0  # standing use per hour as a share of full-load hourly use


@dataclass(frozen=True, slots=True)
class Industry:
    """Everything a plant of one industry needs: identity, product, quota, size range and loads."""

    key: str
    name_zh: str
    gbt4754: str  # GB/T 4754-2017 class code
    product: str
    quota_key: str | None
    capacity_tpd: tuple[float, float]  # design output per day (range to draw from)
    schedule: Schedule
    loads: tuple[ElecLoad, ...]
    fuels: tuple[FuelUse, ...] = ()
    unmetered_share: float = 0.03  # lighting, offices: share of main energy not on sub-meters
    season: tuple[float, ...] = (1.0,) * 12  # monthly production factor, January first
    name_words: tuple[str, ...] = ()
    cold_store: bool = False
    safety_meter: bool = False
    utilisation: tuple[float, float] = (0.75, 0.92)
    problems: tuple[str, ...] = field(default=())  # problem kinds that make sense here

    @property
    def flexible_loads(self) -> tuple[ElecLoad, ...]:
        return tuple(load for load in self.loads if load.flexible)


_ALL = ("low_power_factor", "demand_over_capacity", "intensity_step")

INDUSTRIES: dict[str, Industry] = {
    ind.key: ind
    for ind in (
        Industry(
            key="cement",
            name_zh="水泥",
            gbt4754="3011",
            product="cement_clinker",
            quota_key="cement_clinker",
            capacity_tpd=(1200.0, 2500.0),
            schedule=Schedule.CONTINUOUS,
            loads=(
                ElecLoad("M02", "熟料烧成线", 55.0, 0.15, MeterRole.PROCESS, "cement_clinker"),
                ElecLoad("M03", "水泥粉磨", 44.0, 0.02, MeterRole.PROCESS, "cement", flexible=True),
            ),
            fuels=(FuelUse("C01", "窑头窑尾用煤", Carrier.COAL, 0.140),),
            unmetered_share=0.02,
            season=(0.80, 0.75, 0.95, 1.0, 1.05, 1.05, 1.0, 1.0, 1.05, 1.05, 1.0, 0.9),
            name_words=("建材", "水泥", "新型建材"),
            problems=(*_ALL, "over_quota", "peak_shift", "shutdown"),
        ),
        Industry(
            key="coking",
            name_zh="焦化",
            gbt4754="2521",
            product="coke_top_charged",
            quota_key="coke_top_charged",
            capacity_tpd=(600.0, 1800.0),
            schedule=Schedule.CONTINUOUS,
            loads=(
                ElecLoad("M02", "炼焦炉组", 22.0, 0.3, MeterRole.PROCESS, "coke_top_charged"),
                ElecLoad("M03", "煤气净化与公辅", 13.0, 0.4),
            ),
            fuels=(
                FuelUse("C01", "加热用煤(折原煤)", Carrier.COAL, 0.150),
                FuelUse("ST01", "外购蒸汽", Carrier.STEAM, 0.080, winter_per_degc=0.01),
                FuelUse("W01", "生产用水", Carrier.WATER, 1.6),
            ),
            name_words=("焦化", "煤化工", "能源化工"),
            problems=(*_ALL, "over_quota", "shutdown"),
        ),
        Industry(
            key="ceramics",
            name_zh="卫生陶瓷",
            gbt4754="3072",
            product="sanitary_ware_gt_0_3",
            quota_key="sanitary_ware_gt_0_3",
            capacity_tpd=(20.0, 60.0),
            schedule=Schedule.CONTINUOUS,
            loads=(
                ElecLoad("M02", "隧道窑", 180.0, 0.5, MeterRole.PROCESS, "sanitary_ware_gt_0_3"),
                ElecLoad("M03", "原料制备(球磨)", 240.0, 0.02, flexible=True),
            ),
            fuels=(
                FuelUse("G01", "窑炉天然气", Carrier.NATURAL_GAS, 330.0, standing_share=0.0),
                FuelUse("W01", "生产用水", Carrier.WATER, 3.0),
            ),
            name_words=("陶瓷", "洁具", "建陶"),
            problems=(*_ALL, "over_quota", "peak_shift", "shutdown"),
        ),
        Industry(
            key="food",
            name_zh="肉制品加工",
            gbt4754="1353",
            product="meat_products",
            quota_key=None,
            capacity_tpd=(20.0, 80.0),
            schedule=Schedule.TWO_SHIFT,
            loads=(
                ElecLoad("M02", "加工车间", 70.0, 0.08, MeterRole.PROCESS, "meat_products"),
                ElecLoad("M03", "制冷机房", 90.0, 0.35),
                ElecLoad("M04", "速冻隧道", 40.0, 0.02, flexible=True),
            ),
            fuels=(
                FuelUse("G01", "蒸汽锅炉天然气", Carrier.NATURAL_GAS, 45.0, winter_per_degc=0.012, standing_share=0.03),
                FuelUse("W01", "生产用水", Carrier.WATER, 8.0),
            ),
            unmetered_share=0.05,
            season=(1.25, 1.1, 0.9, 0.9, 0.95, 0.95, 0.9, 0.95, 1.0, 1.05, 1.0, 1.15),
            name_words=("食品", "肉业", "清真食品"),
            safety_meter=True,
            problems=(*_ALL, "base_load", "peak_shift", "shutdown"),
        ),
        Industry(
            key="machinery",
            name_zh="机械加工",
            gbt4754="3484",
            product="machined_parts",
            quota_key=None,
            capacity_tpd=(5.0, 20.0),
            schedule=Schedule.ONE_SHIFT,
            loads=(
                ElecLoad("M02", "机加工车间", 380.0, 0.06, MeterRole.PROCESS, "machined_parts"),
                ElecLoad("M03", "空压站", 120.0, 0.10),
                ElecLoad("M04", "热处理电炉", 260.0, 0.03, flexible=True),
            ),
            fuels=(FuelUse("G01", "喷涂烘干天然气", Carrier.NATURAL_GAS, 30.0, winter_per_degc=0.02),),
            unmetered_share=0.06,
            name_words=("机械", "重工", "装备制造"),
            safety_meter=True,
            problems=(*_ALL, "base_load", "peak_shift", "shutdown"),
        ),
        Industry(
            key="cold_store",
            name_zh="冷链仓储",
            gbt4754="5930",
            product="cold_storage",
            quota_key=None,
            capacity_tpd=(50.0, 200.0),
            schedule=Schedule.ONE_SHIFT,
            loads=(
                ElecLoad("M02", "冷库制冷", 4.0, 0.0, MeterRole.WAREHOUSE, refrigeration=True),
                ElecLoad("M03", "月台与叉车充电", 2.5, 0.05),
            ),
            unmetered_share=0.04,
            season=(1.2, 1.1, 0.9, 0.9, 0.95, 1.0, 1.05, 1.05, 1.1, 1.0, 0.95, 1.1),
            name_words=("冷链物流", "冷藏", "供应链"),
            cold_store=True,
            utilisation=(0.6, 0.9),
            problems=("low_power_factor", "demand_over_capacity", "cold_store_failure"),
        ),
    )
}
"""The industries the city is made of, by key."""

COLD_STORE_SETPOINT_C = -18.0
COLD_STORE_BAND_C = (-22.0, -15.0)
REFRIGERATION_KW_PER_TPD = 3.0
"""Cold store: standing refrigeration kW per t/d of throughput capacity (store size), at 0 °C outside."""

COUNTIES: tuple[tuple[str, str], ...] = (
    ("140213", "平城区"),
    ("140214", "云冈区"),
    ("140212", "新荣区"),
    ("140215", "云州区"),
    ("140221", "阳高县"),
    ("140222", "天镇县"),
    ("140223", "广灵县"),
    ("140224", "灵丘县"),
    ("140225", "浑源县"),
    ("140226", "左云县"),
)
"""Datong's districts and counties (GB/T 2260 codes), where the simulated plants are."""
