"""Report charts as PNG bytes (matplotlib, Agg backend) with a CJK font so Chinese labels render.

Each function takes plain pandas data and returns PNG bytes; nothing here reads data or writes files.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib import font_manager

CJK_FAMILY = "Noto Sans CJK SC"
CJK_FALLBACK_PATHS = ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
                      "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.otf")
"""Debian `fonts-noto-cjk`; `fc-match` is asked first so other layouts work too."""
DPI = 110
TOU_COLOURS = {"critical_peak": "#b2182b", "peak": "#ef8a62", "flat": "#bdbdbd", "valley": "#67a9cf",
               "deep_valley": "#2166ac"}


class FontMissingError(RuntimeError):
    """No CJK font: Chinese chart text would render as boxes."""


@lru_cache(maxsize=1)
def cjk_font_path() -> str:
    """Path of a Noto Sans CJK font file (fc-match, then the Debian paths)."""
    if shutil.which("fc-match"):
        out = subprocess.run(["fc-match", "-f", "%{file}", f"{CJK_FAMILY}:style=Regular"], capture_output=True,
                             text=True, check=False).stdout.strip()
        if out and "CJK" in out and Path(out).exists():
            return out
    for path in CJK_FALLBACK_PATHS:
        if Path(path).exists():
            return path
    raise FontMissingError("no CJK font found: install Debian fonts-noto-cjk")


@lru_cache(maxsize=1)
def setup_fonts() -> str:
    """Register the CJK font with matplotlib and make it the default family; returns the family name."""
    font_manager.fontManager.addfont(cjk_font_path())
    plt.rcParams["font.family"] = [CJK_FAMILY, "DejaVu Sans"]
    plt.rcParams["axes.unicode_minus"] = False
    return CJK_FAMILY


def _png(fig: plt.Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def load_profile(table: pd.DataFrame, workday_label: str, restday_label: str, title: str) -> bytes:
    """Typical day: mean kW per local hour on working days and on rest days (weekends, holidays)."""
    setup_fonts()
    fig, ax = plt.subplots(figsize=(7, 3))
    for flag, label, style in ((True, workday_label, "-"), (False, restday_label, "--")):
        sel = table[table["workday"] == flag]
        if len(sel):
            prof = sel.groupby("hour")["kwh"].mean()
            ax.plot(prof.index, prof.to_numpy(), style, marker="o", ms=3, label=label)
    ax.set_xticks(range(0, 24, 2))
    ax.set_xlabel("时 hour")
    ax.set_ylabel("kW")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    return _png(fig)


def heat_map(table: pd.DataFrame, title: str) -> bytes:
    """Day × hour heat map of main-meter kWh."""
    setup_fonts()
    grid = table.pivot_table(index="day", columns="hour", values="kwh", aggfunc="sum")
    fig, ax = plt.subplots(figsize=(7, min(4.5, max(2.5, 0.1 * len(grid) + 1))))
    im = ax.imshow(grid.to_numpy(), aspect="auto", cmap="viridis", interpolation="nearest")
    ax.set_yticks(range(0, len(grid), max(1, len(grid) // 12)))
    ax.set_yticklabels([str(d) for d in grid.index[:: max(1, len(grid) // 12)]], fontsize=7)
    ax.set_xticks(range(0, 24, 2))
    ax.set_xlabel("时 hour")
    ax.set_title(title)
    fig.colorbar(im, ax=ax, label="kWh")
    return _png(fig)


def daily_trend(days: pd.DataFrame, title: str, energy_label: str, output_label: str) -> bytes:
    """Daily tce (bars) and output (line)."""
    setup_fonts()
    fig, ax = plt.subplots(figsize=(7, 3))
    x = np.arange(len(days))
    ax.bar(x, days["tce"].to_numpy(), color="#4c72b0", label=energy_label)
    ax.set_ylabel("tce")
    ax2 = ax.twinx()
    ax2.plot(x, days["output"].to_numpy(), color="#dd8452", marker=".", label=output_label)
    ax2.set_ylabel("t")
    step = max(1, len(days) // 10)
    ax.set_xticks(x[::step])
    ax.set_xticklabels([str(d)[5:] for d in days.index[::step]], fontsize=7)
    ax.set_title(title)
    lines = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
    ax.legend(lines, [energy_label, output_label], loc="upper left", fontsize=8)
    return _png(fig)


def tou_split(kwh_by_period: dict[str, float], labels: dict[str, str], title: str) -> bytes:
    """Electricity by time-of-use period (horizontal bars with shares)."""
    setup_fonts()
    keys = [k for k in TOU_COLOURS if kwh_by_period.get(k)]
    total = sum(kwh_by_period.values()) or 1.0
    fig, ax = plt.subplots(figsize=(7, 0.5 * len(keys) + 1))
    vals = [kwh_by_period[k] for k in keys]
    ax.barh([labels.get(k, k) for k in keys], vals, color=[TOU_COLOURS[k] for k in keys])
    for i, v in enumerate(vals):
        ax.text(v, i, f" {v:,.0f} kWh ({100 * v / total:.1f}%)", va="center", fontsize=8)
    ax.set_xlim(0, max(vals or [1]) * 1.4)
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.set_xlabel("kWh")
    ax.set_title(title)
    return _png(fig)


def baseline_cusum(table: pd.DataFrame, title: str, labels: tuple[str, str, str]) -> bytes:
    """Actual vs expected daily energy (top) and the CUSUM of actual − expected (bottom)."""
    setup_fonts()
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(7, 4.5), sharex=True)
    x = np.arange(len(table))
    a1.plot(x, table["actual"].to_numpy(), marker=".", label=labels[0])
    a1.plot(x, table["expected"].to_numpy(), "--", label=labels[1])
    a1.set_ylabel("tce")
    a1.legend(fontsize=8)
    a1.set_title(title)
    a2.plot(x, table["cusum"].to_numpy(), color="#c44e52")
    a2.axhline(0, color="black", lw=0.6)
    a2.set_ylabel(labels[2])
    step = max(1, len(table) // 10)
    a2.set_xticks(x[::step])
    a2.set_xticklabels([str(d)[5:10] for d in table.index[::step]], fontsize=7)
    for ax in (a1, a2):
        ax.grid(alpha=0.3)
    return _png(fig)
