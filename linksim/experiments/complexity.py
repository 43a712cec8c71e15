"""Table III files: measure seed 003's component sizes and times (:mod:`linksim.systems.scenario_adaptive.complexity`) and write them."""
from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import tensorflow as tf

from linksim.experiments.provenance import provenance
from linksim.experiments.results import ResultTable, write_json
from linksim.systems.scenario_adaptive import complexity
from linksim.systems.scenario_adaptive.complexity import (COLUMNS, COMPONENTS, PAPER_WIDTHS,
                                                          TRAINED_WIDTHS, VARIANTS,
                                                          complexity_rows)
from linksim.systems.scenario_adaptive.throughput import onednn_enabled


def write_complexity(rows: list[dict], out_dir: Path, meta: dict) -> list[Path]:
    """``complexity.csv``, ``complexity.json`` (``meta`` + rows) and ``complexity.png``."""
    out_dir = Path(out_dir)
    csv_path = out_dir / "complexity.csv"
    csv_path.unlink(missing_ok=True)
    table = ResultTable(csv_path, COLUMNS)
    for row in rows:
        table.append(row)
    json_path = out_dir / "complexity.json"
    write_json(json_path, {**meta, "rows": rows})
    return [csv_path, json_path, plot_complexity(rows, out_dir / "complexity.png")]


def plot_complexity(rows: list[dict], png_path: Path) -> Path:
    """Grouped bars, one row of panels per N_f: parameters and median ms per image (log scales)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ffts = sorted({r["fft_size"] for r in rows})
    fig, axes = plt.subplots(len(ffts), 2, figsize=(12, 3.6 * len(ffts)), squeeze=False)
    for (ax_n, ax_t), fft_size in zip(axes, ffts):
        systems = _by_system([r for r in rows if r["fft_size"] == fft_size])
        for i, name in enumerate(COMPONENTS):
            x = [j + (i - 1) * 0.27 for j in range(len(systems))]
            comp = [parts[name] for parts in systems.values()]
            ax_n.bar(x, [r["parameters"] for r in comp], 0.27, label=name)
            ax_t.bar(x, [r["median_ms_per_image"] for r in comp], 0.27, label=name)
        for ax, label in ((ax_n, "parameters"), (ax_t, "median ms per image")):
            ax.set_xticks(range(len(systems)), list(systems), fontsize=8)
            ax.set(yscale="log", ylabel=label, title=f"N_f = {fft_size}")
            ax.grid(True, axis="y", which="both", alpha=0.3)
    for ax in axes[-1]:
        ax.set_xlabel("variant, encoder/decoder width")
    fig.suptitle(f"Table III: size and CPU inference time per component (batches of "
                 f"{rows[0]['batch_images']} images; rzf/djscc precoder: no weights)")
    fig.legend(*axes[0][0].get_legend_handles_labels(), loc="upper center", ncol=3,
               bbox_to_anchor=(0.5, 0.96))
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    fig.savefig(png_path, dpi=130)
    plt.close(fig)
    return Path(png_path)


def _by_system(rows: list[dict]) -> dict[str, dict[str, dict]]:
    """``{"variant enc/dec widths": {component: row}}`` in measurement order."""
    systems: dict[str, dict[str, dict]] = {}
    for r in rows:
        size = "" if r["encoder_width"] is None else f"\n{r['encoder_width']}/{r['decoder_width']}"
        systems.setdefault(f"{r['variant']}{size}", {})[r["component"]] = r
    return systems


def run_complexity(out_dir: Path, fft_sizes: Sequence[int] = (32, 128),
                   variants: Sequence[str] = VARIANTS,
                   widths: Sequence[tuple[float, float]] = (PAPER_WIDTHS, TRAINED_WIDTHS),
                   batch_slots: int = 64, runs: int = 20, warmup: int = 2) -> list[Path]:
    """Measure (:func:`complexity_rows`) and write the three files into ``out_dir``."""
    rows = complexity_rows(fft_sizes, variants, widths, batch_slots, runs, warmup)
    meta = {"method": complexity.__doc__, "memory_unit": "MB = 2**20 bytes; weights as float32 (4 bytes)",
            "batch_slots": batch_slots, "batch_images": rows[0]["batch_images"],
            "timed_runs": runs, "warmup_runs": warmup, "jit_compile": False,
            "onednn": onednn_enabled(), "cpu_count": os.cpu_count(),
            "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
            "load_avg_1min": round(os.getloadavg()[0], 2), "provenance": provenance()}
    return write_complexity(rows, out_dir, meta)
