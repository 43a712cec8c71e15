"""Figures of the semantic experiment: PSNR and accuracy vs SNR beside SSCC (Figs. 9, 11), reconstructions (Fig. 12)."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from linksim.experiments.plots import psnr_envelope, read_rows, save_figure  # noqa: E402


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
    return save_figure(fig, png_path, title)


def plot_semantic_accuracy(csv_path: Path, png_path: Path, title: str = "") -> Path:
    """Classification accuracy of the UE decoders' heads vs SNR (Fig. 11)."""
    rows = [r for r in read_rows(csv_path) if r["accuracy"] != ""]
    if not rows:
        return Path(png_path)
    sweeps, fig, axes = _panels(rows)
    for ax, sweep in zip(axes, sweeps):
        _model_curves(ax, rows, sweep, "accuracy", scale=100.0)
        ax.set_title(sweep.split("=")[-1].upper() or rows[0]["channel"].upper(), fontsize=9)
        ax.set_xlabel("SNR [dB]")
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel("classification accuracy [%]")
    axes[-1].legend(fontsize=7)
    return save_figure(fig, png_path, title)


def plot_visual(originals: np.ndarray, labels: np.ndarray | None, shots: list[dict],
                class_names: tuple[str, ...], png_path: Path, title: str = "") -> Path:
    """Grid: a row per user, the original then one reconstruction per SNR (Fig. 12).

    Parameters
    ----------
    originals : [K, 32, 32, 3], np.uint8
    labels : [K] or None
    shots : list of dict
        Per SNR: ``snr_db``, ``images`` [K, 32, 32, 3] uint8, ``psnr_db`` [K],
        ``predicted`` [K] class indices.
    """
    def name(i: int) -> str:
        return class_names[i] if class_names else str(i)

    k = len(originals)
    fig, axes = plt.subplots(k, 1 + len(shots), figsize=(1.9 * (1 + len(shots)), 2.1 * k),
                             squeeze=False)
    for u in range(k):
        axes[u][0].imshow(originals[u])
        axes[u][0].set_title(f"user {u + 1}: original" + (f"\n{name(labels[u])}" if labels is not None
                                                          else ""), fontsize=8)
        for j, shot in enumerate(shots, start=1):
            axes[u][j].imshow(shot["images"][u])
            axes[u][j].set_title(f"{shot['snr_db']:g} dB: {shot['psnr_db'][u]:.1f} dB\n"
                                 f"pred. {name(shot['predicted'][u])}", fontsize=8)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    return save_figure(fig, png_path, title)
