"""Experiments: what ``linksim run`` can execute, by the YAML's ``kind``.

Each runner takes ``(scenario, experiment, out_dir, progress, executor=None)``
and writes its CSV, JSON and PNG into ``out_dir``; it returns the paths it
wrote. ``executor`` is where the sweep points run
(:class:`~linksim.experiments.engine.LocalExecutor` by default,
:class:`~linksim.experiments.ray_executor.RayExecutor` for ``run --ray``).
"""
from __future__ import annotations

from pathlib import Path

from linksim.config import BLERExperiment, Scenario, SemanticExperiment, SSCCExperiment
from linksim.experiments.bler import run_bler
from linksim.experiments.plots import bler_summary, plot_bler, plot_psnr, psnr_envelope
from linksim.experiments.results import ResultTable
from linksim.experiments.sscc import run_sscc
from linksim.registry import EXPERIMENTS



@EXPERIMENTS.register("bler")
def bler_experiment(scenario: Scenario, exp: BLERExperiment, out_dir: Path, progress=None,
                    executor=None) -> list[Path]:
    """BLER/BER vs Eb/N0 curves (CSV + JSON + PNG + Eb/N0-at-BLER-0.1 summary)."""
    csv_path = run_bler(scenario, exp, out_dir, progress, executor)
    png = plot_bler(csv_path, out_dir / f"{exp.name}.png", title=f"{scenario.name}: {exp.name}")
    summary = bler_summary(csv_path)
    summary_path = out_dir / f"{exp.name}_summary.csv"
    summary_path.unlink(missing_ok=True)
    if summary:
        table = ResultTable(summary_path, summary[0].keys())
        for row in summary:
            table.append(row)
    return [csv_path, out_dir / f"{exp.name}.json", png, summary_path]


@EXPERIMENTS.register("sscc")
def sscc_experiment(scenario: Scenario, exp: SSCCExperiment, out_dir: Path, progress=None,
                    executor=None) -> list[Path]:
    """SSCC image transmission: PSNR vs SNR per codec and MCS, capacity bound, best-MCS envelope."""
    csv_path = run_sscc(scenario, exp, out_dir, progress, executor)
    png = plot_psnr(csv_path, out_dir / f"{exp.name}.png", title=f"{scenario.name}: {exp.name}")
    envelope_path = out_dir / f"{exp.name}_envelope.csv"
    envelope_path.unlink(missing_ok=True)
    rows = psnr_envelope(csv_path)
    if rows:
        table = ResultTable(envelope_path, rows[0].keys())
        for row in rows:
            table.append(row)
    return [csv_path, out_dir / f"{exp.name}.json", png, envelope_path]


@EXPERIMENTS.register("semantic")
def semantic_experiment(scenario: Scenario, exp: SemanticExperiment, out_dir: Path,
                        progress=None, executor=None) -> list[Path]:
    """Trained semantic models: PSNR/SSIM/MS-SSIM/accuracy vs SNR beside SSCC, reconstruction grid."""
    from linksim.experiments import semantic_eval, semantic_plots  # Keras only when needed

    csv_path, images = semantic_eval.run_semantic(scenario, exp, out_dir, progress, executor)
    baseline = None
    if exp.baseline:
        named = out_dir / f"{exp.baseline}.csv"
        baseline = named if named.is_file() else Path(exp.baseline)
    title = f"{scenario.name}: {exp.name}"
    files = [csv_path, out_dir / f"{exp.name}.json",
             semantic_plots.plot_semantic_psnr(csv_path, out_dir / f"{exp.name}.png", baseline, title),
             semantic_plots.plot_semantic_accuracy(csv_path, out_dir / f"{exp.name}_accuracy.png",
                                                   title)]
    return (files + semantic_eval.visual(scenario, exp, out_dir, images)
            + semantic_eval.per_image(scenario, exp, out_dir, images))


def quick_version(scenario: Scenario) -> Scenario:
    """A smoke-test-sized copy: one curve (BLER: three Eb/N0 points; SSCC, semantic: two SNRs, 8 images), no compilation."""
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
        elif isinstance(exp, SSCCExperiment):
            snrs = exp.snr_values()
            exp = exp.model_copy(update={
                "mcs": exp.mcs[:1], "sweep": {k: v[:1] for k, v in exp.sweep.items()},
                "snr_db": sorted({snrs[0], snrs[-1]}), "num_images": min(exp.num_images, 8),
                "batch_size": 2,
            })
        elif isinstance(exp, SemanticExperiment):
            snrs = exp.snr_values()
            exp = exp.model_copy(update={
                "sweep": {k: v[:1] for k, v in exp.sweep.items()}, "snr_db": sorted({snrs[0], snrs[-1]}),
                "num_images": min(exp.num_images, 8), "batch_size": 2,
                "visual_snr_db": exp.visual_snr_db[-1:], "cdf_snr_db": exp.cdf_snr_db[-1:]})
        exps.append(exp)
    runtime = scenario.runtime.model_copy(update={"mode": "eager"})
    return scenario.model_copy(update={"experiments": exps, "runtime": runtime})
