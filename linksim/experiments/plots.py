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


def save_figure(fig, png_path: Path, title: str = "", bottom: float = 0.0) -> Path:
    """Title, tight layout (leaving ``bottom`` for a figure legend), PNG at 130 dpi, close."""
    if title:
        fig.suptitle(title)
    fig.tight_layout(rect=(0, bottom, 1, 1))
    png_path = Path(png_path)
    fig.savefig(png_path, dpi=130)
    plt.close(fig)
    return png_path


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
    rows = read_rows(csv_path)
    groups = group_curves(rows)
    channels = list(dict.fromkeys(r["channel"] for r in rows))  # in sweep order
    mcs_values = sorted({(int(p[0]["qam"]), float(p[0]["rate"])) for p in groups.values()})
    ffts = sorted({int(p[0]["fft_size"]) for p in groups.values()})
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    fig, axes = plt.subplots(1, len(channels), figsize=(5.2 * len(channels), 5.6),
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
        lowest = min((float(r["bler"]) for r in rows if int(r["block_errors"]) > 0), default=1e-3)
        ax.set_ylim(bottom=10 ** math.floor(math.log10(lowest)), top=1.05)
    axes[0][0].set_ylabel("BLER")
    handles, labels = axes[0][0].get_legend_handles_labels()
    rows_of_legend = math.ceil(len(labels) / 4)
    fig.legend(handles, labels, loc="lower center", ncol=4, fontsize=7, frameon=False)
    return save_figure(fig, png_path, title, bottom=0.045 * rows_of_legend + 0.02)


def ebno_at_bler(pts: list[dict[str, str]], target: float = 0.1, z: float = 0.0) -> float | None:
    """Eb/N0 where BLER crosses ``target`` (log-linear interpolation), None if not crossed.

    ``z`` shifts every point by ``z`` binomial standard errors first (``z = +-1.96``
    gives the ends of a 95 % confidence interval of the crossing).
    """
    xs = [float(r["ebno_db"]) for r in pts]
    ys = []
    for r in pts:
        p, n = float(r["bler"]), int(r["blocks"])
        ys.append(min(max(p + z * math.sqrt(max(p * (1 - p), 1.0 / n) / n), 1e-9), 1.0))
    for (x0, y0), (x1, y1) in zip(zip(xs, ys), zip(xs[1:], ys[1:])):
        if y0 >= target > y1:
            t = (math.log10(target) - math.log10(y0)) / (math.log10(y1) - math.log10(y0))
            return x0 + t * (x1 - x0)
    return None


def bler_summary(csv_path: Path, target: float = 0.1) -> list[dict[str, object]]:
    """One row per curve: the Eb/N0 needed for BLER = ``target``."""
    out = []
    for (ch, label), pts in sorted(group_curves(read_rows(csv_path)).items()):
        p0 = pts[0]
        x, lo, hi = (ebno_at_bler(pts, target, z) for z in (0.0, -1.96, 1.96))
        out.append({"channel": ch, "fft_size": int(p0["fft_size"]), "csi": p0["csi"],
                    "qam": int(p0["qam"]), "rate": float(p0["rate"]), "curve": label,
                    f"ebno_db_at_bler_{target:g}": None if x is None else round(x, 2),
                    "ci95_low_db": None if lo is None else round(lo, 2),
                    "ci95_high_db": None if hi is None else round(hi, 2)})
    return out


def psnr_envelope(csv_path: Path) -> list[dict[str, object]]:
    """Best MCS per SNR (seed 000's MCS search) for each sweep point and codec, from the SSCC CSV.

    One row per (sweep, codec, SNR): the practical scheme with the highest
    mean PSNR, its PSNR and success rate, and the capacity bound's PSNR there.
    """
    best: dict[tuple[str, str, float], dict[str, str]] = {}
    bound: dict[tuple[str, str, float], str] = {}
    for r in read_rows(csv_path):
        key = (r["sweep"], r["codec"], float(r["snr_db"]))
        if r["scheme"] == "capacity":
            bound[key] = r["psnr_db"]
        elif key not in best or float(r["psnr_db"]) > float(best[key]["psnr_db"]):
            best[key] = r
    return [{"sweep": sweep, "channel": r["channel"], "codec": codec, "snr_db": snr,
             "best_scheme": r["scheme"], "psnr_db": float(r["psnr_db"]),
             "success_rate": float(r["success_rate"]),
             "capacity_psnr_db": float(bound[(sweep, codec, snr)]) if (sweep, codec, snr) in bound else None}
            for (sweep, codec, snr), r in sorted(best.items())]


def plot_psnr(csv_path: Path, png_path: Path, title: str = "") -> Path:
    """Mean PSNR vs SNR of the SSCC baselines: a row per codec, a panel per sweep point (channel).

    Colour = MCS; black dashed = capacity bound; thick grey = best MCS per SNR.
    The 0 dB points are lost images (seed 003's rule), which shows the cliff.
    """
    rows = read_rows(csv_path)
    sweeps = list(dict.fromkeys(r["sweep"] for r in rows))
    codecs = list(dict.fromkeys(r["codec"] for r in rows))
    schemes = [s for s in dict.fromkeys(r["scheme"] for r in rows) if s != "capacity"]
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    envelope = psnr_envelope(csv_path)
    fig, axes = plt.subplots(len(codecs), len(sweeps), figsize=(4.6 * len(sweeps), 3.8 * len(codecs)),
                             squeeze=False, sharex=True, sharey=True)
    for i, codec in enumerate(codecs):
        for j, sweep in enumerate(sweeps):
            ax = axes[i][j]
            env = [e for e in envelope if e["sweep"] == sweep and e["codec"] == codec]
            ax.plot([e["snr_db"] for e in env], [e["psnr_db"] for e in env], color="0.6",
                    linewidth=5, alpha=0.5, label="best MCS per SNR")
            for scheme in [*schemes, "capacity"]:
                pts = sorted((float(r["snr_db"]), float(r["psnr_db"])) for r in rows
                             if r["sweep"] == sweep and r["codec"] == codec and r["scheme"] == scheme)
                if not pts:
                    continue
                style = (dict(color="k", linestyle="--") if scheme == "capacity" else
                         dict(color=colors[schemes.index(scheme) % len(colors)]))
                ax.plot(*zip(*pts), marker="o", markersize=3.5, label=scheme, **style)
            backend = next(r["backend"] for r in rows if r["codec"] == codec)
            ax.set_title(f"{sweep.split('=')[-1].upper() or 'all'}: {codec} ({backend})", fontsize=9)
            ax.grid(True, alpha=0.3)
            if i == len(codecs) - 1:
                ax.set_xlabel("SNR = 1/N0 per RE [dB]")
            if j == 0:
                ax.set_ylabel("mean PSNR [dB] (lost = 0 dB)")
    axes[0][-1].legend(fontsize=7, loc="upper left")
    return save_figure(fig, png_path, title)
