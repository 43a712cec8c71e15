"""How far are the PSNR targets in training? PSNR vs cumulative epochs of one model lineage.

Reads the Fig. 9 CSVs of a chain of runs that continue each other (warm starts,
growth), sums epochs and training wall time along the chain, and fits
``PSNR = a + b log2(epochs)`` per channel and SNR: ``b`` is the gain per
doubling of training. Extrapolating the fit to a target gives the epochs (and,
at the last run's minutes per epoch, the hours on this machine) a longer run
would need *if the trend held* (past a million epochs: "never") -- a log-linear trend fitted to a few points,
with depth growth mixed in, so an order of magnitude, not a promise. The slope
of the last link of the chain alone (the last run against its source) is reported too: the
current marginal rate.

    python scripts/target_scaling.py results/fig9_psnr/conv_deep \\
        --chain batch8 bs8_34ep bs8_more:bs8_34ep deep5:bs8_more --target 7:27 --target=-7:23

``NAME`` is a run that started from scratch, ``NAME:SOURCE`` one that started
from SOURCE's weights (its epochs add to SOURCE's); two runs may share a source. Writes ``scaling.csv``,
``scaling.json`` (with each point's weights hash, seed and config hash, and
this run's provenance) and ``scaling.png`` beside the CSVs. A missing CSV, a
chain out of order or a malformed target ends in one line, exit 2.
"""
from __future__ import annotations

import argparse
import csv
import json
import math
from pathlib import Path

import matplotlib
import numpy as np

from linksim.cli import script_main
from linksim.config import ConfigError
from linksim.experiments.provenance import provenance

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


COLUMNS = ("snr_db", "psnr_db", "epochs_trained", "train_wall_s")
BEYOND = 1e6  # epochs (years on this machine): past this, extrapolating is reported as "never"


def read_points(folder: Path, chain: list[str], channel: str) -> list[dict]:
    """One row per run of the chain: cumulative epochs and hours, PSNR per SNR on ``channel``."""
    if len(chain) < 2:
        raise ConfigError("--chain: name at least two runs, a trend needs two points")
    totals: dict[str, tuple[int, float]] = {}
    points = []
    for link in chain:
        name, _, source = link.partition(":")
        if source and source not in totals:
            raise ConfigError(f"--chain: {name}'s source {source!r} must come before it")
        path = folder / f"{name}.csv"
        if not path.is_file():
            raise ConfigError(f"--chain: {path} does not exist (a 'linksim run' CSV of run {name!r})")
        rows = [r for r in csv.DictReader(path.open(newline="")) if r.get("channel") == channel]
        if not rows:
            raise ConfigError(f"{path}: no rows for channel {channel!r}")
        missing = [k for k in COLUMNS if k not in rows[0]]
        if missing:
            raise ConfigError(f"{path}: no column {missing[0]!r}; is it a 'linksim run' semantic CSV?")
        own_epochs, own_s = int(rows[0]["epochs_trained"]), float(rows[0]["train_wall_s"])
        before_epochs, before_s = totals.get(source, (0, 0.0))
        epochs, wall_s = before_epochs + own_epochs, before_s + own_s
        totals[name] = (epochs, wall_s)
        points.append({"run": name, "source": source or None, "own_epochs": own_epochs,
                       "epochs": epochs, "train_hours": round(wall_s / 3600, 2),
                       "min_per_epoch": round(own_s / 60 / own_epochs, 2),
                       "psnr_db": {float(r["snr_db"]): float(r["psnr_db"]) for r in rows},
                       **{k: rows[0][k] for k in ("weights", "seed", "config_hash") if k in rows[0]}})
    return points


def needed(points: list[dict], snr: float, target: float) -> dict:
    """Least-squares log2 fit over the chain and the last link's slope, each extrapolated to ``target``."""
    e = np.array([p["epochs"] for p in points], float)
    y = np.array([p["psnr_db"][snr] for p in points])
    slope, intercept = np.polyfit(np.log2(e), y, 1)
    # the last run against the run it started from (a chain may branch: two runs from one source)
    names = [p["run"] for p in points]
    before = names.index(points[-1]["source"]) if points[-1]["source"] else len(points) - 2
    last = (y[-1] - y[before]) / math.log2(e[-1] / e[before])
    minutes = points[-1]["min_per_epoch"]

    def reach(b: float, start_db: float) -> dict:
        """Epochs where a line of ``b`` dB per doubling through (last epochs, start_db) meets the target."""
        doublings = (target - start_db) / b if b > 0 else math.inf
        if doublings > math.log2(BEYOND / e[-1]):  # training alone will not get there
            return {"db_per_doubling": round(float(b), 3), "epochs": None, "hours": None}
        epochs = e[-1] * 2 ** doublings
        return {"db_per_doubling": round(float(b), 3), "epochs": int(round(epochs)),
                "hours": round(epochs * minutes / 60, 1)}

    fitted_now = intercept + slope * math.log2(e[-1])
    return {"snr_db": snr, "target_db": target, "now_db": float(y[-1]), "short_db": round(target - y[-1], 2),
            "fit": {**reach(slope, fitted_now), "intercept_db": round(float(intercept), 3)},
            "last_link": reach(last, y[-1]), "min_per_epoch": minutes}


def told(estimate: dict) -> str:
    """One estimate in words: its slope and the epochs (hours) it needs, or never."""
    if estimate["epochs"] is None:
        return f"{estimate['db_per_doubling']:+.2f} dB/doubling -> never (> {BEYOND:.0e} epochs)"
    return (f"{estimate['db_per_doubling']:+.2f} dB/doubling -> {estimate['epochs']} epochs "
            f"({estimate['hours']} h)")


def plot(points: list[dict], results: list[dict], path: Path, channel: str) -> None:
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    e = np.array([p["epochs"] for p in points], float)
    grid = np.geomspace(e.min(), e.max() * 16, 50)
    for r, colour in zip(results, ("C0", "C3", "C2", "C1")):
        snr = r["snr_db"]
        ax.plot(e, [p["psnr_db"][snr] for p in points], "o", color=colour, label=f"{channel}, {snr:+g} dB SNR")
        b, a = r["fit"]["db_per_doubling"], r["fit"]["intercept_db"]
        ax.plot(grid, a + b * np.log2(grid), "--", color=colour, lw=1,
                label=f"fit: {b:+.2f} dB per doubling")
        ax.axhline(r["target_db"], color=colour, lw=0.8, ls=":")
    for p in points:
        ax.annotate(p["run"], (p["epochs"], p["psnr_db"][results[0]["snr_db"]]), fontsize=7,
                    textcoords="offset points", xytext=(3, -10))
    ax.set_xscale("log", base=2)
    ax.set_xlabel("epochs trained along the chain (warm starts summed)")
    ax.set_ylabel("PSNR (dB), 1,000 CIFAR-10 test images")
    ax.set_title("PSNR vs training, extrapolated to the targets (dotted)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def parse_target(text: str) -> tuple[float, float]:
    """``"SNR:PSNR"`` in dB -> (snr, psnr)."""
    try:
        snr, psnr = (float(v) for v in text.split(":"))
    except ValueError:
        raise ConfigError(f"--target {text!r}: expected SNR:PSNR in dB, e.g. 7:27") from None
    return snr, psnr


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("folder", type=Path, help="a 'linksim run' output folder with one CSV per run")
    p.add_argument("--chain", nargs="+", required=True, help="NAME or NAME:SOURCE, sources first")
    p.add_argument("--target", action="append", required=True, help="SNR:PSNR in dB, e.g. 7:27 (negative SNR: --target=-7:23)")
    p.add_argument("--channel", default="umi")
    args = p.parse_args()
    points = read_points(args.folder, args.chain, args.channel)
    results = []
    for t in args.target:
        snr, psnr = parse_target(t)
        if not all(snr in q["psnr_db"] for q in points):
            raise ConfigError(f"--target {t}: a run of the chain has no point at {snr:g} dB SNR")
        results.append(needed(points, snr, psnr))
    stem = args.folder / "scaling"
    stem.with_suffix(".json").write_text(json.dumps(
        {"channel": args.channel, "points": [{**q, "psnr_db": {str(k): v for k, v in q["psnr_db"].items()}}
                                             for q in points],
         "targets": results, "provenance": provenance()}, indent=1))
    with stem.with_suffix(".csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["snr_db", "target_db", "now_db", "short_db", "estimate", "db_per_doubling",
                    "epochs_needed", "hours_needed", "min_per_epoch"])
        for r in results:
            for kind in ("fit", "last_link"):
                w.writerow([r["snr_db"], r["target_db"], r["now_db"], r["short_db"], kind,
                            r[kind]["db_per_doubling"], r[kind]["epochs"], r[kind]["hours"], r["min_per_epoch"]])
    plot(points, results, stem.with_suffix(".png"), args.channel)
    for r in results:
        print(f"{r['snr_db']:+g} dB: {r['now_db']:.2f} dB now, target {r['target_db']:g}; "
              f"fit {told(r['fit'])}; last link {told(r['last_link'])}")


if __name__ == "__main__":
    script_main(main)
