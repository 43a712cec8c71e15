"""``python -m linksim train-report``: several training runs side by side (seed 003 Fig. 10).

Reads what :func:`linksim.experiments.train.train` wrote into each run
directory (``state.json``, ``history.csv``, ``batches.csv``) and writes

- ``training.csv``: one row per run and epoch (losses, PSNR, accuracy, train
  and validation), with the run's model, N_f and status;
- ``training.json``: per run the final state (epochs, optimizer steps, wall
  time, status, where a NaN appeared, configuration, provenance);
- ``training.png``: the running training loss per step of every run (a NaN
  run's curve ends at a red cross: the ZF collapse) and validation PSNR per
  epoch.

Nothing is recomputed: the figure shows the runs as they happened.
"""
from __future__ import annotations

import csv
import json
import math
from collections import Counter
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from linksim.config import ConfigError  # noqa: E402
from linksim.config.schema import SemanticConfig  # noqa: E402
from linksim.experiments.plots import save_figure  # noqa: E402
from linksim.experiments.provenance import provenance  # noqa: E402
from linksim.experiments.results import ResultTable, write_json  # noqa: E402

EPOCH_KEYS = ("loss", "mse", "ce", "psnr", "accuracy", "val_loss", "val_mse", "val_ce", "val_psnr",
              "val_accuracy")


def _read_run(folder: Path) -> tuple[dict, list[dict[str, str]], np.ndarray]:
    state_path = folder / "state.json"
    if not state_path.is_file():
        raise ConfigError(f"{folder}: no state.json -- not a 'linksim train' output directory")
    state = json.loads(state_path.read_text())
    history = []
    if (folder / "history.csv").is_file() and (folder / "history.csv").stat().st_size:
        with (folder / "history.csv").open(newline="") as f:
            history = list(csv.DictReader(f))
    steps = np.zeros((0, 3))
    if (folder / "batches.csv").is_file():
        steps = np.loadtxt(folder / "batches.csv", delimiter=",", skiprows=1, ndmin=2)
    return state, history, steps


def _widths(state: dict) -> tuple:
    sem = state.get("semantic") or {}
    return sem.get("encoder_width"), sem.get("decoder_width")


_DEFAULT_BATCH = SemanticConfig.model_fields["batch_size"].default  # not named in the labels


def _batch_slots(state: dict) -> list[int]:
    """The batch sizes (slots) a run trained with, in order: per epoch where ``state.json``
    records them, else the last invocation's (runs from before the per-epoch record)."""
    by_epoch = state.get("batch_slots_by_epoch") or {}
    sizes = [by_epoch[e] for e in sorted(by_epoch, key=int)] or [state.get("batch_slots")]
    return list(dict.fromkeys(s for s in sizes if s is not None))


def _label(state: dict, usual_widths: tuple = (None, None)) -> str:
    """What tells a run apart: variant, N_f, lambda, and any latent, widths (when not
    the ones most runs share), decoder options (blocks, SNR gate, full convolutions),
    UE level control, CSI error, step-size drops (after these epochs), batch sizes
    other than the default, power convention off the usual, or a warm start (its
    epochs count from 0 again; the label says how many its weights had before)."""
    nf, sem = state.get("fft_size"), state.get("semantic") or {}
    ce, latent = sem.get("ce_weight"), sem.get("latent", "dense")
    widths, rates = _widths(state), state.get("learning_rates") or {}
    # the drops that happened (state.json's step size per epoch), not the ones configured;
    # epochs before the first recorded one ran at semantic.learning_rate
    drops, previous = [], sem.get("learning_rate")
    for epoch in sorted(rates, key=int):
        if previous is not None and rates[epoch] != previous:
            drops.append(int(epoch))
        previous = rates[epoch]
    # runs from before precoder.power (no "trained_on") used what is now "total"
    power = (state.get("trained_on") or {}).get("precoder", {}).get("power", "total")
    return ", ".join([state["model"], *([f"N_f={nf}"] if nf else []),
                      *([f"lambda={ce:g}"] if ce is not None else []),
                      *([f"latent={latent}"] if latent != "dense" else []),
                      *([f"widths={widths[0]:g}/{widths[1]:g}"]
                        if widths != usual_widths and None not in widths else []),
                      *([f"decoder_blocks={sem['decoder_blocks']}"]
                        if sem.get("decoder_blocks") else []),
                      *(["pixel_path"] if sem.get("pixel_path") else []),
                      *([f"csi_error={sem['csi_error']:g}"] if sem.get("csi_error") else []),
                      *([f"lr_drops={list(drops)}"] if drops else []),
                      *([f"batch_slots={'/'.join(map(str, batches))}"]
                        if (batches := _batch_slots(state)) and batches != [_DEFAULT_BATCH] else []),
                      *(["power=total"] if power == "total" else []),
                      *([f"warm start from a {init.get('epochs_trained')}-ep. run"]
                        if (init := state.get("init_from")) else [])])


def training_report(run_dirs: list[Path], out_dir: Path) -> list[Path]:
    """Summarise ``run_dirs`` into ``out_dir`` (see the module docstring); returns the files."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    runs = [(Path(d), *_read_run(Path(d))) for d in run_dirs]
    table_path = out_dir / "training.csv"
    table_path.unlink(missing_ok=True)
    table = ResultTable(table_path, ["run", "model", "fft_size", "status", "epoch", *EPOCH_KEYS])
    for folder, state, history, _ in runs:
        for row in history:
            table.append({"run": str(folder), "model": state["model"],
                          "fft_size": state.get("fft_size"), "status": state.get("status"),
                          "epoch": int(row["epoch"]),
                          **{k: float(row[k]) for k in EPOCH_KEYS if row.get(k, "") != ""}})
    keep = ("model", "fft_size", "status", "nan_at", "epochs_done", "best_epoch", "best_val_loss",
            "optimizer_step", "wall_s", "batch_slots", "train_slots", "data", "semantic", "seed",
            "trained_on", "provenance")
    write_json(out_dir / "training.json", {
        "runs": {str(folder): {k: state.get(k) for k in keep} for folder, state, _, _ in runs},
        "method": __doc__, "provenance": provenance()})
    return [table_path, out_dir / "training.json", _plot(runs, out_dir / "training.png")]


def _plot(runs, png_path: Path) -> Path:
    fig, (ax_loss, ax_psnr) = plt.subplots(1, 2, figsize=(14, 4.6))
    colours = plt.get_cmap("tab20")
    styles = {32: "-", 64: "--", 128: ":"}  # one line style per grid width, a colour per run
    usual = Counter(_widths(state) for _, state, _, _ in runs).most_common(1)[0][0]
    legend: dict[str, object] = {}  # label -> handle: every run once, whichever panel it is in
    for i, (folder, state, history, steps) in enumerate(runs):
        label = _label(state, usual)
        style = {"color": colours(i % 20), "ls": styles.get(state.get("fft_size"), "-.")}
        if steps.size:
            loss = steps[:, 2]
            finite = np.isfinite(loss)
            end = int(np.argmin(finite)) if not finite.all() else len(loss)
            (legend[label],) = ax_loss.plot(np.arange(end), loss[:end], lw=0.8, label=label, **style)
            if end < len(loss):  # the collapse: the loss became NaN/Inf at this step
                nan = f"{state['model']}: NaN loss at step {end}"
                (legend[nan],) = ax_loss.plot(end, loss[end - 1] if end else 1.0, "x", color="red",
                                              ms=10, mew=2, label=nan)
        pts = [(int(r["epoch"]) + 1, float(r["val_psnr"])) for r in history
               if r.get("val_psnr") and math.isfinite(float(r["val_psnr"]))]
        if pts:
            (line,) = ax_psnr.plot(*zip(*pts), marker="o", ms=3.5, label=label, **style)
            legend.setdefault(label, line)  # an exported run has no step log, only epochs
    ax_loss.set(xlabel="training step", ylabel="training loss (MSE + lambda CE, running mean)",
                yscale="log")
    ax_psnr.set(xlabel="epochs trained", ylabel="validation PSNR [dB] (SNR uniform in range)")
    for ax in (ax_loss, ax_psnr):
        ax.grid(True, which="both", alpha=0.3)
    ax_psnr.legend(list(legend.values()), list(legend), fontsize=7, loc="upper left",
                   bbox_to_anchor=(1.02, 1.0))
    return save_figure(fig, png_path)
