"""Figures of the semantic experiment: PSNR and accuracy vs SNR beside SSCC (Figs. 9, 11), reconstructions (Fig. 12)."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from linksim.experiments.plots import (  # noqa: E402
    data_footer,
    data_source,
    psnr_envelope,
    read_rows,
    save_figure,
)


def _panels(rows: list[dict[str, str]]):
    sweeps = list(dict.fromkeys(r["sweep"] for r in rows))
    fig, axes = plt.subplots(1, len(sweeps), figsize=(4.6 * len(sweeps), 3.9), squeeze=False,
                             sharey=True)
    return sweeps, fig, axes[0]


def _model_curves(ax, rows: list[dict[str, str]], sweep: str, key: str, scale: float = 1.0) -> None:
    for model in dict.fromkeys(r["model"] for r in rows):
        pts = sorted((float(r["snr_db"]), scale * float(r[key])) for r in rows
                     if r["sweep"] == sweep and r["model"] == model and r[key] != "")
        if pts:
            epochs = next(r["epochs_trained"] for r in rows if r["model"] == model)
            ax.plot(*zip(*pts), marker="o", markersize=3.5, label=f"{model} ({epochs} ep.)")


def plot_semantic_psnr(csv_path: Path, png_path: Path, baseline_csv: Path | None = None,
                       title: str = "") -> Path:
    """Mean PSNR vs SNR per semantic model, a panel per sweep point (channel).

    With ``baseline_csv`` (an SSCC experiment's CSV on the same images and
    realisations) each panel also shows, per codec, the best MCS at every SNR
    (dashed) and the capacity bound (dotted) of the same sweep point.
    """
    rows = read_rows(csv_path)
    sweeps, fig, axes = _panels(rows)
    envelope = psnr_envelope(baseline_csv) if baseline_csv and Path(baseline_csv).is_file() else []
    for ax, sweep in zip(axes, sweeps):
        _model_curves(ax, rows, sweep, "psnr_db")
        for codec in dict.fromkeys(e["codec"] for e in envelope):
            env = [e for e in envelope if e["sweep"] == sweep and e["codec"] == codec]
            if env:
                ax.plot([e["snr_db"] for e in env], [e["psnr_db"] for e in env], "--",
                        color="0.35" if codec == "bpg" else "0.65", label=f"SSCC {codec}, best MCS")
            cap = [(e["snr_db"], e["capacity_psnr_db"]) for e in env if e["capacity_psnr_db"]]
            if cap:
                ax.plot(*zip(*cap), ":", color="k" if codec == "bpg" else "0.5",
                        label=f"{codec} at capacity (bound)")
        ax.set_title(sweep.split("=")[-1].upper() or rows[0]["channel"].upper(), fontsize=9)
        ax.set_xlabel("SNR = 1/N0 per RE [dB]")
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel("mean PSNR [dB]")
    axes[-1].legend(fontsize=7, loc="best")
    return save_figure(fig, png_path, title, footer=data_footer(data_source(csv_path)))


def plot_semantic_accuracy(csv_path: Path, png_path: Path, title: str = "") -> Path:
    """Classification accuracy of the UE decoders' heads vs SNR (Fig. 11).

    Unlabelled images (the offline fallback) have no accuracy: then nothing is
    written and any stale ``png_path`` of an earlier run is removed, so the
    returned path exists only when the figure does.
    """
    rows = [r for r in read_rows(csv_path) if r["accuracy"] != ""]
    if not rows:
        Path(png_path).unlink(missing_ok=True)
        return Path(png_path)
    sweeps, fig, axes = _panels(rows)
    for ax, sweep in zip(axes, sweeps):
        _model_curves(ax, rows, sweep, "accuracy", scale=100.0)
        ax.set_title(sweep.split("=")[-1].upper() or rows[0]["channel"].upper(), fontsize=9)
        ax.set_xlabel("SNR [dB]")
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel("classification accuracy [%]")
    axes[-1].legend(fontsize=7)
    return save_figure(fig, png_path, title, footer=data_footer(data_source(csv_path)))


def plot_visual(originals: np.ndarray, labels: np.ndarray | None, shots: list[dict],
                class_names: tuple[str, ...], png_path: Path, title: str = "",
                source: str | None = None) -> Path:
    """Grid: a row per user, the original then one reconstruction per SNR (Fig. 12).

    Each reconstruction says its channel SNR and its PSNR ("SNR 7 dB · PSNR
    26.1 dB") and the predicted class by name; without class names (the
    offline fallback is unlabelled) class lines are left out.

    Parameters
    ----------
    originals : [K, 32, 32, 3], np.uint8
    labels : [K] or None
    shots : list of dict
        Per SNR: ``snr_db``, ``images`` [K, 32, 32, 3] uint8, ``psnr_db`` [K],
        ``predicted`` [K] class indices.
    class_names : tuple of str
        Name per class index; empty: no class lines.
    source : str or None
        The data source line; None reads ``data.source`` of the experiment
        JSON beside the figure (``<name>_visual.png`` -> ``<name>.json``). A
        red footer marks the offline fallback.
    """
    if source is None:
        png = Path(png_path)
        source = data_source(png.with_name(png.stem.removesuffix("_visual") + ".json"))
    named = bool(class_names)

    def name(i: int) -> str:
        return class_names[int(i)] if 0 <= int(i) < len(class_names) else f"class {int(i)}"

    k = len(originals)
    fig, axes = plt.subplots(k, 1 + len(shots), figsize=(2.0 * (1 + len(shots)), 2.2 * k),
                             squeeze=False)
    for u in range(k):
        axes[u][0].imshow(originals[u])
        truth = f"\n{name(labels[u])}" if named and labels is not None else ""
        axes[u][0].set_title(f"user {u + 1}: original{truth}", fontsize=8)
        for j, shot in enumerate(shots, start=1):
            axes[u][j].imshow(shot["images"][u])
            guess = (f"\npred. {name(shot['predicted'][u])}"
                     if named and shot.get("predicted") is not None else "")
            axes[u][j].set_title(f"SNR {shot['snr_db']:g} dB \u00b7 PSNR {shot['psnr_db'][u]:.1f} dB"
                                 f"{guess}", fontsize=8)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    return save_figure(fig, png_path, title, footer=data_footer(source))


def plot_cdfs(csv_path: Path, png_path: Path, title: str = "") -> Path:
    """Empirical CDFs of the per-image metrics of ``<name>_per_image.csv``, one curve per (model, SNR)."""
    import csv

    rows = list(csv.DictReader(open(csv_path)))
    metrics = [m for m in ("psnr_db", "ms_ssim", "lpips") if rows and rows[0][m] != ""]
    fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 4), squeeze=False)
    curves = dict.fromkeys((r["model"], r["snr_db"]) for r in rows)
    for ax, metric in zip(axes[0], metrics):
        for model, snr in curves:
            v = np.sort([float(r[metric]) for r in rows if (r["model"], r["snr_db"]) == (model, snr)])
            ax.step(v, np.arange(1, len(v) + 1) / len(v), where="post", label=f"{model} @ {snr} dB")
        ax.set_xlabel({"psnr_db": "PSNR [dB]", "ms_ssim": "MS-SSIM (3 scales)",
                       "lpips": "LPIPS"}[metric])
        ax.set_ylabel("CDF")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(png_path, dpi=120)
    plt.close(fig)
    return png_path
