"""The notice each enterprise is sent (有序用电通知), Chinese first; pure text from its share of the plan."""

from __future__ import annotations

from typing import TYPE_CHECKING

from analytics.orderly.flex import EventWindow

if TYPE_CHECKING:
    from analytics.orderly.allocate import Candidate, Share


def notice_zh(candidate: Candidate, share: Share, window: EventWindow) -> str:
    """The notice text: who, when, how many kW to shift and to curtail, the load not to go below, and that it will
    be verified from the meters."""
    f = candidate.flex
    name = candidate.name or candidate.code
    day = f"{window.day.year}年{window.day.month}月{window.day.day}日"
    hours = f"{window.start:02d}:00至{window.end:02d}:00"
    parts = []
    if share.shift_kw > 0:
        meters = "、".join(f.shiftable_meters) or "批次生产设备"
        parts.append(f"将 {meters} 的批次负荷约 {share.shift_kw:.0f} 千瓦错峰移至该时段以外运行（错峰，产量不受影响）")
    if share.curtail_kw > 0:
        parts.append(f"削减生产负荷约 {share.curtail_kw:.0f} 千瓦（避峰）")
    target = (f.expected_kw or 0.0) - share.reduce_kw
    security = f.security_kw or 0.0
    return (
        f"{name}（统一社会信用代码 {candidate.code}）：\n"
        f"根据本地区电力供需情况和有序用电方案，请贵单位于{day} {hours}"
        f"{'；'.join(parts)}，合计约 {share.reduce_kw:.0f} 千瓦。"
        f"该时段贵单位预计负荷约 {f.expected_kw or 0.0:.0f} 千瓦，执行后请控制在约 {target:.0f} 千瓦以内；"
        f"保安负荷 {security:.0f} 千瓦（冷库制冷、安全系统、连续生产设备等）不在压减范围内，请务必保障。"
        "执行情况将依据计量数据核验（同类日同时段平均负荷为基线）。如有困难请及时与能源主管部门联系。\n"
        f"Orderly power use notice: on {window.day.isoformat()}, hours {window.label}, reduce about "
        f"{share.reduce_kw:.0f} kW (shift {share.shift_kw:.0f} kW, curtail {share.curtail_kw:.0f} kW); keep the "
        f"security load of {security:.0f} kW. Compliance is verified from the meters."
    )
