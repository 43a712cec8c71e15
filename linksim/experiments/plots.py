"""Plots made from the result CSV alone, so anyone can re-plot with pandas.

One panel per channel model; colour = MCS, line style = CSI (solid perfect,
dashed estimated), marker = N_f. Image figures say in a red footer when their
pixels are the offline fallback rather than CIFAR-10 (``data.source`` of the
experiment JSON beside the CSV).
"""
from __future__ import annotations

import csv
import json
import math
from collections import defaultdict
from fractions import Fraction
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

_STYLES = {"perfect": "-", "estimated": "--"}
_MARKERS = "os^vD<>p*h"


def save_figure(fig, png_path: Path, title: str = "", bottom: float = 0.0, footer: str = "") -> Path:
    """Title, tight layout, an optional red ``footer`` line, PNG at 130 dpi (nothing cut off), close.

    ``bottom`` keeps that fraction of the figure free below the axes; the PNG
    is saved with ``bbox_inches="tight"``, so legends and footers placed
    outside the axes are always fully in the file.
    """
    if title:
        fig.suptitle(title)
    fig.tight_layout(rect=(0, bottom, 1, 1))
    if footer:
        fig.text(0.5, 0.0, footer, ha="center", va="top", fontsize=8, color="firebrick")
    png_path = Path(png_path)
    fig.savefig(png_path, dpi=130, bbox_inches="tight", pad_inches=0.1)
    plt.close(fig)
    return png_path


FALLBACK_MARK = "fallback, not CIFAR-10"
"""Part of :data:`linksim.data.samples.SAMPLES_SOURCE`: a data source line containing it is the offline fallback."""


def data_source(result_path: Path) -> str | None:
    """``data.source`` of the experiment JSON beside a result file (``<name>.csv`` -> ``<name>.json``), or None."""
    path = Path(result_path).with_suffix(".json")
    try:
        return json.loads(path.read_text())["data"]["source"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def data_footer(source: str | None) -> str:
    """The footer an image figure carries when its pixels are not CIFAR-10 (the offline fallback), else ''."""
    if source and FALLBACK_MARK in source:
        return ("data: scikit-image photographs, the offline fallback, NOT CIFAR-10\n"
                "(set LINKSIM_DATA to a CIFAR-10 copy: README, Data)")
    return ""


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


def _mcs_label(qam: int, rate: float) -> str:
    return f"{qam}QAM r={Fraction(rate).limit_denominator(16)}"


def _bler_ylim(rows: list[dict[str, str]]) -> tuple[float, float]:
    """Log-axis limits: at least two decades (1e-2 .. 1) even when every BLER is 1 or there is one point."""
    lowest = min((float(r["bler"]) for r in rows if int(r["block_errors"]) > 0), default=1e-2)
    return 10.0 ** min(math.floor(math.log10(lowest)), -2), 1.1


def _ebno_xlim(rows: list[dict[str, str]]) -> tuple[float, float]:
    """The swept Eb/N0 range, padded; +-2 dB around a single point (so ticks never crowd)."""
    xs = [float(r["ebno_db"]) for r in rows] or [0.0]
    lo, hi = min(xs), max(xs)
    pad = 2.0 if hi - lo < 1e-9 else max(0.5, 0.04 * (hi - lo))
    return lo - pad, hi + pad


def bler_figure(rows: list[dict[str, str]], title: str = ""):
    """The BLER figure of :func:`plot_bler` (returned open, for tests); ``rows`` as in the CSV.

    One panel per channel model. When MCS, CSI and N_f tell the curves of a
    panel apart (the usual sweep), colour = MCS, line style = CSI (solid
    perfect, dashed estimated), marker = N_f, explained by two small legends
    inside the last panel; otherwise one legend entry per curve below the
    panels. Points without a block error sit as hollow triangles on the axis
    floor (BLER 0 has no place on a log axis).
    """
    groups = group_curves(rows)
    channels = list(dict.fromkeys(r["channel"] for r in rows))  # in sweep order
    mcs_values = sorted({(int(p[0]["qam"]), float(p[0]["rate"])) for p in groups.values()})
    ffts = sorted({int(p[0]["fft_size"]) for p in groups.values()})
    order = list(_STYLES)
    csis = sorted({p[0]["csi"] for p in groups.values()},
                  key=lambda c: (order.index(c) if c in order else len(order), c))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]

    def identity(p0):
        return int(p0["qam"]), float(p0["rate"]), p0["csi"], int(p0["fft_size"])

    factorized = all(
        len({identity(p[0]) for (c, _), p in groups.items() if c == ch})
        == sum(1 for (c, _) in groups if c == ch) for ch in channels)
    ylim, xlim = _bler_ylim(rows), _ebno_xlim(rows)
    fig, axes = plt.subplots(1, len(channels), figsize=(5.2 * len(channels), 4.6),
                             squeeze=False, sharey=True)
    any_clean = False
    for ax, ch in zip(axes[0], channels):
        for (c, label), pts in sorted(groups.items()):
            if c != ch:
                continue
            p0 = pts[0]
            style = dict(
                color=colors[mcs_values.index((int(p0["qam"]), float(p0["rate"]))) % len(colors)],
                linestyle=_STYLES.get(p0["csi"], ":"),
                marker=_MARKERS[ffts.index(int(p0["fft_size"])) % len(_MARKERS)])
            hit = [r for r in pts if int(r["block_errors"]) > 0]
            ax.semilogy([float(r["ebno_db"]) for r in hit], [float(r["bler"]) for r in hit],
                        markersize=4, label=label.replace(f"model={ch}, ", ""), **style)
            clean = [float(r["ebno_db"]) for r in pts if int(r["block_errors"]) == 0]
            if clean:
                any_clean = True
                ax.plot(clean, [ylim[0]] * len(clean), linestyle="none", marker="v", markersize=6,
                        markerfacecolor="none", color=style["color"], clip_on=False)
        ax.set_title(ch.upper())
        ax.set_xlabel("Eb/N0 [dB]")
        ax.grid(True, which="both", alpha=0.3)
        ax.set_ylim(*ylim)
        ax.set_xlim(*xlim)
    axes[0][0].set_ylabel("BLER")
    if title:
        fig.suptitle(title)
    last = axes[0][-1]
    if factorized:
        mcs_handles = [Line2D([], [], color=colors[i % len(colors)], linewidth=2)
                       for i in range(len(mcs_values))]
        first = last.legend(mcs_handles, [_mcs_label(q, r) for q, r in mcs_values], title="MCS",
                            loc="upper right", fontsize=7, title_fontsize=7, framealpha=0.9)
        last.add_artist(first)
        handles = [Line2D([], [], color="k", linestyle=_STYLES.get(c, ":"), linewidth=1.5)
                   for c in csis]
        labels = [f"CSI {c}" for c in csis]
        handles += [Line2D([], [], color="k", linestyle="none",
                           marker=_MARKERS[i % len(_MARKERS)], markersize=4)
                    for i in range(len(ffts))]
        labels += [f"N_f = {f}" for f in ffts]
        if any_clean:
            handles.append(Line2D([], [], color="k", linestyle="none", marker="v",
                                  markerfacecolor="none", markersize=6))
            labels.append("no block error")
        last.legend(handles, labels, loc="lower left", fontsize=7, framealpha=0.9,
                    handlelength=2.6)
    else:
        handles, labels = axes[0][0].get_legend_handles_labels()
        fig.tight_layout()
        fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0),
                   ncol=max(1, min(len(labels), 2 * len(channels))), fontsize=7, frameon=False)
    return fig


def plot_bler(csv_path: Path, png_path: Path, title: str = "") -> Path:
    """Semilog BLER vs Eb/N0, one curve per configuration (:func:`bler_figure`)."""
    fig = bler_figure(read_rows(csv_path))
    return save_figure(fig, png_path, title)


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
    A red footer says so when the images were the offline fallback (the JSON
    beside ``csv_path``).
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
    return save_figure(fig, png_path, title, footer=data_footer(data_source(csv_path)))
