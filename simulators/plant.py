"""Physics of one plant: production by shift and season drives electricity, fuels and water per interval.

Pure and vectorised: `simulate` takes a `PlantSpec` and a `Timeline` and returns every meter's values
(cumulative counters, interval-mean gauges). Randomness comes from a generator keyed by (plant seed,
day, step), so the same seed gives the same data however the days are chunked.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from core.domain import CARRIER_COUNTER, Carrier, MeterRole
from simulators.industries import (
    COLD_STORE_SETPOINT_C,
    REFRIGERATION_KW_PER_TPD,
    ElecLoad,
    Industry,
    Schedule,
)
from simulators.problems import Effects, Problem, effects_of
from simulators.safety_faults import cable_temperature
from simulators.timeline import Timeline

NOISE_ROWS = 24
SHIFT_HOURS = {Schedule.CONTINUOUS: 24.0, Schedule.TWO_SHIFT: 16.0, Schedule.ONE_SHIFT: 8.5}
FLEX_HOURS_FOR_SIZING = 9.0  # a movable load squeezed into the 9 peak hours still fits the contracted capacity
STANDARD_KVA = (
    315,
    400,
    500,
    630,
    800,
    1000,
    1250,
    1600,
    2000,
    2500,
    3150,
    4000,
    5000,
    6300,
    8000,
    10000,
    12500,
    16000,
    20000,
    25000,
    31500,
    40000,
    50000,
)
COLD_WARM_EQUILIBRIUM_C = 5.0  # where a store without refrigeration drifts to
COLD_WARM_TAU_H = 40.0
COLD_RECOVERY_TAU_H = 3.0
LV_KV = 0.38
SAFETY_BREAKERS_A = (100, 160, 250, 400, 630)
SAFETY_RATING_MARGIN = 2.2
"""Rated current / full-load current of a safety-metered circuit: healthy peaks stay below 0.9 In."""
COUNTER_DECIMALS = {
    "energy_kwh": 2,
    "reactive_kvarh": 2,
    "gas_m3": 2,
    "water_m3": 2,
    "steam_t": 3,
    "coal_t": 3,
    "output_t": 3,
}


@dataclass(frozen=True, slots=True)
class MeterDef:
    """A meter of a plant as the registry knows it."""

    id: str
    carrier: Carrier
    role: MeterRole
    name: str
    product: str | None = None
    quantities: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PlantSpec:
    """One simulated enterprise: identity, size, health and injected problems."""

    index: int
    seed: int
    code: str
    name: str
    county: str
    industry: Industry
    gateway: str
    password: str
    capacity_tpd: float
    utilisation: float
    pf: float
    contracted_kva: float
    full_load_kw: float
    rated_current_a: float | None
    problems: tuple[Problem, ...] = ()
    safety: bool | None = None  # has a safety meter S01 (None: as the industry says)
    safety_circuit_share: float = 1.0  # share of the first load's feeder current the safety meter's circuit carries
    output_meter: bool = True  # has the production counter O01 (most SMEs have none)

    @property
    def has_safety_meter(self) -> bool:
        return self.industry.safety_meter if self.safety is None else self.safety

    @property
    def meters(self) -> list[MeterDef]:
        """The plant's meters (its industry's, with or without the safety meter)."""
        return meters_of(self.industry, self.has_safety_meter, self.output_meter)

    @property
    def effects(self) -> Effects:
        return effects_of(self.problems)

    @property
    def rate_tph(self) -> float:
        """Output per hour when producing at design capacity."""
        return self.capacity_tpd / SHIFT_HOURS[self.industry.schedule]


@dataclass(slots=True)
class PlantData:
    """A plant's simulated intervals: meter values plus the hidden quantities ground truth needs."""

    epoch_s: np.ndarray
    values: dict[str, dict[str, np.ndarray]]
    output_inc: np.ndarray
    producing: np.ndarray
    main_kwh: np.ndarray
    main_kvarh: np.ndarray
    flexible_kwh: np.ndarray
    fuel_inc: dict[Carrier, np.ndarray] = field(default_factory=dict)
    end_counters: dict[str, dict[str, float]] = field(default_factory=dict)
    store_temp_c: np.ndarray | None = None


def meters_of(industry: Industry, safety: bool | None = None, output: bool = True) -> list[MeterDef]:
    """The meters a plant of `industry` has, main electricity meter first (`safety`: with S01; None: industry's;
    `output`: with the production counter O01)."""
    elec = ("energy_kwh", "power_kw", "reactive_kvarh", "pf")
    out = [MeterDef("M01", Carrier.ELECTRICITY, MeterRole.MAIN, "总进线", None, elec)]
    # The ground truth judges a plant's quota on the whole site (main meter plus fuels), so no energy meter is
    # mapped to the product in the registry: analytics then takes the same site boundary. Each fuel has one
    # meter, which is therefore its carrier's site total (role main, which the carrier totals count).
    out += [MeterDef(ld.meter, Carrier.ELECTRICITY, ld.role, ld.name, None, elec) for ld in industry.loads]
    out += [
        MeterDef(f.meter, f.carrier, MeterRole.MAIN, f.name, None, (CARRIER_COUNTER[f.carrier],))
        for f in industry.fuels
    ]
    if output:
        out.append(MeterDef("O01", Carrier.OUTPUT, MeterRole.PROCESS, "产量计量", industry.product, ("output_t",)))
    if industry.cold_store:
        out.append(MeterDef("T01", Carrier.TEMPERATURE, MeterRole.WAREHOUSE, "冷库温度", None, ("temp_c",)))
    if industry.safety_meter if safety is None else safety:
        out.append(
            MeterDef(
                "S01",
                Carrier.ELECTRICITY,
                MeterRole.SAFETY,
                "车间配电柜安全监测",
                None,
                ("current_a", "voltage_v", "leakage_ma", "temp_c"),
            )
        )
    return out


def load_full_kw(industry: Industry, load: ElecLoad, capacity_tpd: float) -> float:
    """Nominal power of one sub-metered load at full output."""
    rate = capacity_tpd / SHIFT_HOURS[industry.schedule]
    if load.flexible:
        return load.kwh_per_t * capacity_tpd / FLEX_HOURS_FOR_SIZING
    if load.refrigeration:
        return REFRIGERATION_KW_PER_TPD * capacity_tpd * 1.9 + load.kwh_per_t * rate
    return load.kwh_per_t * rate


def full_load_kw(industry: Industry, capacity_tpd: float) -> float:
    """Nominal main-meter power with every load at full output (sizes capacity and base-load cases)."""
    kw = sum(load_full_kw(industry, ld, capacity_tpd) for ld in industry.loads)
    return kw / (1 - industry.unmetered_share)


def safety_circuit(industry: Industry, capacity_tpd: float) -> tuple[float, float]:
    """(rated current A, share of the first load's feeder) of the cabinet a safety meter watches.

    The breaker is the smallest standard size of at least SAFETY_RATING_MARGIN x the circuit's full-load
    current, at most a workshop cabinet's 630 A; a bigger feeder is split and the cabinet carries a share.
    """
    full_a = load_full_kw(industry, industry.loads[0], capacity_tpd) / (math.sqrt(3) * LV_KV * 0.9)
    need = SAFETY_RATING_MARGIN * full_a
    rated = next((a for a in SAFETY_BREAKERS_A if a >= need), SAFETY_BREAKERS_A[-1])
    return float(rated), round(min(1.0, rated / need), 4)


def contracted_kva(full_kw: float) -> float:
    """Smallest standard transformer capacity above full load at pf 0.9 with a 15 % margin."""
    need = full_kw * 1.15 / 0.9
    return float(next((k for k in STANDARD_KVA if k >= need), math.ceil(need / 1000) * 1000))


def initial_counters(spec: PlantSpec) -> dict[str, dict[str, float]]:
    """Seeded register values at the start of the simulation (meters were not installed yesterday)."""
    rng = np.random.default_rng([spec.seed, 1])
    out: dict[str, dict[str, float]] = {}
    for m in spec.meters:
        counters = [q for q in m.quantities if q in COUNTER_DECIMALS]
        out[m.id] = {q: round(float(rng.uniform(1e3, 5e5)), COUNTER_DECIMALS[q]) for q in counters}
    return out


def _noise(seed: int, tl: Timeline) -> np.ndarray:
    """(NOISE_ROWS, n) standard normals; each local day's block depends only on (seed, day, step)."""
    spd = tl.steps_per_day
    mats = np.stack(
        [np.random.default_rng([seed, d.toordinal(), tl.step_s]).standard_normal((NOISE_ROWS, spd)) for d in tl.days]
    )
    return mats[tl.day_index, :, tl.slot].T


def _on_shift(schedule: Schedule, tl: Timeline) -> np.ndarray:
    m = tl.minute_of_day
    if schedule is Schedule.CONTINUOUS:
        return np.ones(len(tl), dtype=bool)
    if schedule is Schedule.TWO_SHIFT:
        return tl.workday & (m >= 480)
    return tl.workday & (((m >= 480) & (m < 720)) | ((m >= 780) & (m < 1050)))


def _day_ordinals(tl: Timeline) -> np.ndarray:
    return np.array([d.toordinal() for d in tl.days])[tl.day_index]


def _reactive(kwh: np.ndarray, pf: np.ndarray) -> np.ndarray:
    return kwh * np.tan(np.arccos(pf))


def simulate(spec: PlantSpec, tl: Timeline, start: dict[str, dict[str, float]] | None = None) -> PlantData:
    """Every meter value of `spec` over `tl`; counters continue from `start` (default: seeded values)."""
    ind, fx = spec.industry, spec.effects
    noise = _noise(spec.seed, tl)
    n, dt_h = len(tl), tl.dt_h
    ordinal = _day_ordinals(tl)
    daily = noise[1, :]  # row 1 at slot 0 of each day is the day's factor
    daily = daily.reshape(len(tl.days), -1)[:, 0][tl.day_index]

    on = _on_shift(ind.schedule, tl)
    if fx.shutdown:
        down = (ordinal >= fx.shutdown[0].toordinal()) & (ordinal <= fx.shutdown[1].toordinal())
        on = on & ~down
    season = np.asarray(ind.season)[tl.month - 1]
    rate = spec.rate_tph * spec.utilisation * season * (1 + 0.03 * daily) * (1 + 0.04 * noise[0])
    rate = np.where(on, np.clip(rate, 0, None), 0.0)
    output_inc = rate * dt_h
    step = np.where(ordinal >= fx.step_from.toordinal(), fx.step_factor, 1.0) if fx.step_from else np.ones(n)
    elec_scale = step * fx.elec_factor

    per_day_out = np.bincount(tl.day_index, weights=output_inc, minlength=len(tl.days))
    base_pf = fx.pf if fx.pf is not None else spec.pf
    loads_kwh: dict[str, np.ndarray] = {}
    flexible = np.zeros(n)
    extra_target = _base_load_meter(ind.loads)
    store_temp = None
    for i, ld in enumerate(ind.loads):
        jitter = 1 + 0.03 * noise[2 + i]
        full_kw = ld.kwh_per_t * spec.rate_tph
        if ld.flexible:
            allowed = tl.peak.copy() if fx.flexible_in_peak else ~tl.peak & (on | (ind.schedule is Schedule.CONTINUOUS))
            count = np.bincount(tl.day_index, weights=allowed, minlength=len(tl.days))
            share = np.divide(1.0, count, out=np.zeros_like(count), where=count > 0)[tl.day_index]
            run = ld.kwh_per_t * (1 - ld.idle_share) * per_day_out[tl.day_index] * share * allowed
            kwh = (run * jitter + ld.idle_share * ld.kwh_per_t * spec.capacity_tpd / 24 * dt_h) * elec_scale
            flexible += kwh
        elif ld.refrigeration:
            kw = REFRIGERATION_KW_PER_TPD * spec.capacity_tpd * np.clip(1 + 0.025 * tl.outdoor_c, 0.4, None)
            kwh = (kw * dt_h + ld.kwh_per_t * output_inc) * jitter * elec_scale
            if fx.cold_failure:
                kwh, store_temp = _cold_failure(kwh, tl, fx, noise[13])
            else:
                store_temp = _store_temp(tl, noise[13])
        else:
            kwh = (ld.idle_share * full_kw * dt_h + (1 - ld.idle_share) * ld.kwh_per_t * output_inc) * jitter
            kwh = kwh * elec_scale
        loads_kwh[ld.meter] = kwh
    subs = sum(loads_kwh.values())
    unmetered = subs * ind.unmetered_share / (1 - ind.unmetered_share) * (1 + 0.05 * noise[5])
    if extra_target is not None and fx.offshift_extra_kw:
        extra = np.where(on, 0.0, fx.offshift_extra_kw * dt_h)
        loads_kwh[extra_target] = loads_kwh[extra_target] + extra
        subs = subs + extra
    if extra_target is None and fx.offshift_extra_kw:
        unmetered = unmetered + np.where(on, 0.0, fx.offshift_extra_kw * dt_h)
    if fx.spike_days:
        unmetered = unmetered + _spikes(spec, tl, fx, subs + unmetered)
    main_kwh = subs + unmetered

    values: dict[str, dict[str, np.ndarray]] = {}
    main_kvarh = _reactive(unmetered, np.clip(base_pf + 0.01 * noise[6], 0.5, 0.995))
    for i, (meter, kwh) in enumerate(loads_kwh.items()):
        q = _reactive(kwh, np.clip(base_pf + 0.01 * noise[7 + i], 0.5, 0.995))
        main_kvarh = main_kvarh + q
        values[meter] = _electric(kwh, q, dt_h, noise[12], base_pf)
    values["M01"] = _electric(main_kwh, main_kvarh, dt_h, noise[12], base_pf)

    fuel_inc: dict[Carrier, np.ndarray] = {}

    for j, f in enumerate(ind.fuels):
        energy = f.carrier is not Carrier.WATER
        scale = step * fx.fuel_factor if energy else np.ones(n)
        winter = 1 + f.winter_per_degc * np.clip(10 - tl.outdoor_c, 0, None)
        standing = np.where(on | (ind.schedule is Schedule.CONTINUOUS), f.standing_share * f.per_t * spec.rate_tph, 0)
        inc = (f.per_t * output_inc * winter * (1 + 0.03 * noise[9 + j]) + standing * dt_h) * scale
        fuel_inc[f.carrier] = fuel_inc.get(f.carrier, 0) + inc
        values[f.meter] = {CARRIER_COUNTER[f.carrier]: inc}
    if spec.output_meter:
        values["O01"] = {"output_t": output_inc}
    if store_temp is not None:
        values["T01"] = {"temp_c": np.round(store_temp, 2)}
    if spec.has_safety_meter:
        values["S01"] = _safety(spec, tl, loads_kwh[ind.loads[0].meter], base_pf, noise)

    start = start or initial_counters(spec)
    end_counters: dict[str, dict[str, float]] = {}
    for meter, qs in values.items():
        for q in list(qs):
            if q in COUNTER_DECIMALS:
                cum = start[meter][q] + np.cumsum(qs[q])
                qs[q] = np.round(cum, COUNTER_DECIMALS[q])
                end_counters.setdefault(meter, {})[q] = float(cum[-1])
    return PlantData(
        epoch_s=tl.epoch_s,
        values=values,
        output_inc=output_inc,
        producing=on,
        main_kwh=main_kwh,
        main_kvarh=main_kvarh,
        flexible_kwh=flexible,
        fuel_inc=fuel_inc,
        end_counters=end_counters,
        store_temp_c=store_temp,
    )


def _base_load_meter(loads: tuple[ElecLoad, ...]) -> str | None:
    """Where forgotten off-shift load goes: the first utility sub-meter (compressors, chillers)."""
    return next((ld.meter for ld in loads if ld.role is MeterRole.SUB and not ld.flexible), None)


def _electric(kwh: np.ndarray, kvarh: np.ndarray, dt_h: float, noise: np.ndarray, pf0: float) -> dict:
    """Interval increments and the gauges consistent with them (mean power, interval power factor)."""
    apparent = np.hypot(kwh, kvarh)
    pf = np.divide(kwh, apparent, out=np.full_like(kwh, pf0), where=apparent > 0)
    return {
        "energy_kwh": kwh,
        "power_kw": np.round(kwh / dt_h * (1 + 0.002 * noise), 2),
        "reactive_kvarh": kvarh,
        "pf": np.round(np.clip(pf, 0, 1), 3),
    }


def _spikes(spec: PlantSpec, tl: Timeline, fx: Effects, main_kwh: np.ndarray) -> np.ndarray:
    """Extra kWh per interval that lifts the main meter to `spike_ratio` × contracted kVA on spike days."""
    extra = np.zeros(len(tl))
    target_kw = fx.spike_ratio * spec.contracted_kva
    for day in fx.spike_days:
        if day not in tl.days:
            continue
        d = tl.days.index(day)
        start_min = int(np.random.default_rng([spec.seed, 99, day.toordinal()]).integers(9 * 4, 15 * 4)) * 15
        sel = (tl.day_index == d) & (tl.slot * tl.step_s // 60 >= start_min)
        sel &= tl.slot * tl.step_s // 60 < start_min + fx.spike_minutes
        now_kw = main_kwh[sel] / tl.dt_h
        extra[sel] = np.maximum(target_kw - now_kw, 0.1 * spec.contracted_kva) * tl.dt_h
    return extra


def _store_temp(tl: Timeline, noise: np.ndarray) -> np.ndarray:
    """Cold-store air temperature: set point, defrost cycles every 6 h, sensor noise."""
    defrost = 0.6 * np.clip(np.sin(2 * np.pi * tl.minute_of_day / 360.0), 0, None) ** 8 * 3
    return COLD_STORE_SETPOINT_C + defrost + 0.2 * noise


def _cold_failure(kwh: np.ndarray, tl: Timeline, fx: Effects, noise: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Refrigeration stops in [start, end): temperature drifts up; afterwards pull-down at 1.6× power."""
    assert fx.cold_failure is not None
    start, end = fx.cold_failure
    temp = _store_temp(tl, noise)
    t = tl.epoch_s.astype(float)
    sp = COLD_STORE_SETPOINT_C
    failing = (t > start) & (t <= end)
    warm = COLD_WARM_EQUILIBRIUM_C + (sp - COLD_WARM_EQUILIBRIUM_C) * np.exp(
        -np.clip(t - start, 0, None) / 3600 / COLD_WARM_TAU_H
    )
    at_end = COLD_WARM_EQUILIBRIUM_C + (sp - COLD_WARM_EQUILIBRIUM_C) * np.exp(-(end - start) / 3600 / COLD_WARM_TAU_H)
    cool = sp + (at_end - sp) * np.exp(-np.clip(t - end, 0, None) / 3600 / COLD_RECOVERY_TAU_H)
    recovering = (t > end) & (cool > sp + 0.5)
    temp = np.where(failing, warm + 0.1 * noise, np.where(recovering, cool + 0.1 * noise, temp))
    kwh = np.where(failing, kwh * 0.03, np.where(recovering, kwh * 1.6, kwh))
    return kwh, temp


def _safety(spec: PlantSpec, tl: Timeline, feeder_kwh: np.ndarray, pf: float, noise: np.ndarray) -> dict:
    """Safety meter on a workshop cabinet of the first load's feeder: current, voltage, leakage, cable temperature.

    The cable temperature lags its heating (30 K at rated current) with a 15-minute time constant.
    """
    rated = spec.rated_current_a or 630.0
    current = feeder_kwh / tl.dt_h / (math.sqrt(3) * LV_KV * pf) * spec.safety_circuit_share
    load = current / rated
    indoor = 15 + 0.35 * (tl.outdoor_c - 15)
    temp = cable_temperature(tl.epoch_s, indoor, load)
    return {
        "current_a": np.round(current, 1),
        "voltage_v": np.round(224 - 10 * load + 0.5 * noise[14], 1),
        "leakage_ma": np.round(6 + 3 * np.abs(noise[15]), 1),
        "temp_c": np.round(temp + 0.3 * noise[16], 1),
    }
