"""Experiments: what ``linksim run`` can execute, by the YAML's ``kind``.

Each runner takes ``(scenario, experiment, out_dir, progress)`` and writes its
CSV, JSON and PNG into ``out_dir``; it returns the paths it wrote.
"""
from __future__ import annotations

from pathlib import Path

from linksim.config import BLERExperiment, Scenario
from linksim.experiments.bler import run_bler
from linksim.experiments.plots import bler_summary, plot_bler
from linksim.experiments.results import ResultTable
from linksim.registry import Registry

EXPERIMENTS: Registry = Registry("experiment kind")


@EXPERIMENTS.register("bler")
def bler_experiment(scenario: Scenario, exp: BLERExperiment, out_dir: Path, progress=None) -> list[Path]:
    """BLER/BER vs Eb/N0 curves (CSV + JSON + PNG + Eb/N0-at-BLER-0.1 summary)."""
    csv_path = run_bler(scenario, exp, out_dir, progress)
    png = plot_bler(csv_path, out_dir / f"{exp.name}.png", title=f"{scenario.name}: {exp.name}")
    summary = bler_summary(csv_path)
    summary_path = out_dir / f"{exp.name}_summary.csv"
    summary_path.unlink(missing_ok=True)
    if summary:
        table = ResultTable(summary_path, summary[0].keys())
        for row in summary:
            table.append(row)
    return [csv_path, out_dir / f"{exp.name}.json", png, summary_path]


def quick_version(scenario: Scenario) -> Scenario:
    """A smoke-test-sized copy: one curve, three Eb/N0 points, tiny batches, no compilation."""
    exps = []
    for exp in scenario.experiments:
        if isinstance(exp, BLERExperiment):
            ebnos = exp.ebno_values()
            picked = sorted({ebnos[0], ebnos[len(ebnos) // 2], ebnos[-1]})
            exp = exp.model_copy(update={
                "mcs": exp.mcs[:1], "sweep": {k: v[:1] for k, v in exp.sweep.items()},
                "ebno_db": picked, "batch_size": min(exp.batch_size, 8),
                "target_block_errors": 10, "max_blocks": 64, "min_bler": 0.0,
            })
        exps.append(exp)
    runtime = scenario.runtime.model_copy(update={"mode": "eager"})
    return scenario.model_copy(update={"experiments": exps, "runtime": runtime})
