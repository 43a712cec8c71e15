"""Plots made from the result CSV alone, so anyone can re-plot with pandas.

One panel per channel model; colour = MCS, line style = CSI, marker = N_f.
"""
from __future__ import annotations

import csv
import math
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

_STYLES = {"perfect": "-", "estimated": "--"}
_MARKERS = "os^vD<>p*h"


def read_rows(csv_path: Path) -> list[dict[str, str]]:
    with Path(csv_path).open(newline="") as fh:
        return list(csv.DictReader(fh))


def group_curves(rows: list[dict[str, str]]) -> dict[tuple[str, str], list[dict[str, str]]]:
    """``{(channel, curve label): rows sorted by Eb/N0}``."""
    groups: dict[tuple[str, str], list[dict[str, str]]] = defaultdict(list)
    for r in rows:
        groups[(r["channel"], r["curve"])].append(r)
    for pts in groups.values():
        pts.sort(key=lambda r: float(r["ebno_db"]))
    return groups


def plot_bler(csv_path: Path, png_path: Path, title: str = "") -> Path:
    """Semilog BLER vs Eb/N0, one curve per configuration."""
    groups = group_curves(read_rows(csv_path))
    channels = sorted({ch for ch, _ in groups})
    mcs_values = sorted({(int(p[0]["qam"]), float(p[0]["rate"])) for p in groups.values()})
    ffts = sorted({int(p[0]["fft_size"]) for p in groups.values()})
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    fig, axes = plt.subplots(1, len(channels), figsize=(5.2 * len(channels), 4.2),
                             squeeze=False, sharey=True)
    for ax, ch in zip(axes[0], channels):
        for (c, label), pts in sorted(groups.items()):
            if c != ch:
                continue
            p0 = pts[0]
            x = [float(r["ebno_db"]) for r in pts if int(r["block_errors"]) > 0]
            y = [float(r["bler"]) for r in pts if int(r["block_errors"]) > 0]
            ax.semilogy(
                x, y,
                color=colors[mcs_values.index((int(p0["qam"]), float(p0["rate"]))) % len(colors)],
                linestyle=_STYLES.get(p0["csi"], ":"),
                marker=_MARKERS[ffts.index(int(p0["fft_size"])) % len(_MARKERS)],
                markersize=4, label=label.replace(f"model={ch}, ", ""),
            )
        ax.set_title(ch.upper())
        ax.set_xlabel("Eb/N0 [dB]")
        ax.grid(True, which="both", alpha=0.3)
        ax.set_ylim(bottom=1e-3, top=1.05)
    axes[0][0].set_ylabel("BLER")
    axes[0][-1].legend(fontsize=6, loc="lower left")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    png_path = Path(png_path)
    fig.savefig(png_path, dpi=130)
    plt.close(fig)
    return png_path


def ebno_at_bler(pts: list[dict[str, str]], target: float = 0.1) -> float | None:
    """Eb/N0 where BLER crosses ``target`` (log-linear interpolation), None if not crossed."""
    xs = [float(r["ebno_db"]) for r in pts]
    ys = [max(float(r["bler"]), 1e-9) for r in pts]
    for (x0, y0), (x1, y1) in zip(zip(xs, ys), zip(xs[1:], ys[1:])):
        if y0 >= target > y1:
            t = (math.log10(target) - math.log10(y0)) / (math.log10(y1) - math.log10(y0))
            return x0 + t * (x1 - x0)
    if ys and ys[0] < target:
        return None  # already below at the first point: the grid starts too high
    return None


def bler_summary(csv_path: Path, target: float = 0.1) -> list[dict[str, object]]:
    """One row per curve: the Eb/N0 needed for BLER = ``target``."""
    out = []
    for (ch, label), pts in sorted(group_curves(read_rows(csv_path)).items()):
        p0 = pts[0]
        x = ebno_at_bler(pts, target)
        out.append({"channel": ch, "fft_size": int(p0["fft_size"]), "csi": p0["csi"],
                    "qam": int(p0["qam"]), "rate": float(p0["rate"]), "curve": label,
                    f"ebno_db_at_bler_{target:g}": None if x is None else round(x, 2)})
    return out
