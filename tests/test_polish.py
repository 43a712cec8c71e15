"""What a user sees: BLER legends and axes, quick-run output folder, summary table, data labels, quiet start."""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from matplotlib.legend import Legend

matplotlib.use("Agg")

import linksim.experiments.plots as plots  # noqa: E402
import linksim.experiments.semantic_plots as semantic_plots  # noqa: E402
from conftest import TINY_BLER_YAML
from linksim.cli import existing_files, headline, main, summary_table  # noqa: E402
from linksim.data.samples import SAMPLES_SOURCE  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

BLER_COLUMNS = ["curve", "channel", "fft_size", "csi", "qam", "rate", "ebno_db", "blocks",
                "block_errors", "bler"]


def _bler_rows(points: dict[tuple[int, str], list[float]], ebnos) -> list[dict[str, str]]:
    rows = []
    for (qam, csi), blers in points.items():
        label = f"csi={csi}, {qam}QAM r=1/2"
        for x, p in zip(ebnos, blers):
            rows.append({"curve": label, "channel": "umi", "fft_size": "32", "csi": csi,
                         "qam": str(qam), "rate": "0.5", "ebno_db": str(x), "blocks": "100",
                         "block_errors": str(round(100 * p)), "bler": str(p)})
    return rows


def _legends(fig) -> list[Legend]:
    return [a for ax in fig.axes for a in ax.get_children() if isinstance(a, Legend)] + fig.legends


def _inside(inner, outer, tol=1.0) -> bool:
    return (inner.x0 >= outer.x0 - tol and inner.y0 >= outer.y0 - tol
            and inner.x1 <= outer.x1 + tol and inner.y1 <= outer.y1 + tol)


def test_bler_legends_inside_figure_and_csi_drawn_as_line_style():
    curve = [1.0, 0.6, 0.2, 0.05, 0.01]
    rows = _bler_rows({(q, c): curve for q in (4, 16) for c in ("perfect", "estimated")},
                      [0, 2, 4, 6, 8])
    fig = plots.bler_figure(rows)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    legends = _legends(fig)
    assert len(legends) == 2                                 # colours = MCS, styles = CSI / N_f
    for leg in legends:
        assert _inside(leg.get_window_extent(renderer), fig.bbox)
    texts = [t.get_text() for leg in legends for t in leg.get_texts()]
    assert {"4QAM r=1/2", "16QAM r=1/2", "CSI perfect", "CSI estimated", "N_f = 32"} <= set(texts)
    styles = {line.get_label(): line.get_linestyle() for line in fig.axes[0].get_lines()
              if line.get_label().startswith("csi=")}
    assert styles["csi=perfect, 4QAM r=1/2"] == "-"
    assert styles["csi=estimated, 4QAM r=1/2"] == "--"
    matplotlib.pyplot.close(fig)


def test_bler_axes_readable_for_a_single_point_at_bler_one():
    fig = plots.bler_figure(_bler_rows({(4, "perfect"): [1.0]}, [-2.0]))
    ax = fig.axes[0]
    low, high = ax.get_ylim()
    assert low <= 1e-2 and high >= 1.0                       # two decades, not 1.00 .. 1.05
    x0, x1 = ax.get_xlim()
    assert x1 - x0 >= 2.0
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for axis in (ax.xaxis, ax.yaxis):
        boxes = [t.get_window_extent(renderer) for t in axis.get_ticklabels()
                 if t.get_visible() and t.get_text()]
        assert len(boxes) >= 2
        for a, b in zip(boxes, boxes[1:]):                   # no overlapping tick labels
            assert not a.overlaps(b)
    matplotlib.pyplot.close(fig)


def _write_csv(path: Path, rows: list[dict]) -> Path:
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, rows[0].keys())
        writer.writeheader()
        writer.writerows(rows)
    return path


def _sscc_rows() -> list[dict]:
    return [{"sweep": "channel.model=umi", "channel": "umi", "codec": "jpeg", "backend": "pillow",
             "scheme": scheme, "snr_db": str(snr), "psnr_db": str(psnr), "success_rate": "1"}
            for scheme, pts in (("4QAM r=1/2", ((-7, 0.0), (7, 24.5))),
                                ("capacity", ((-7, 20.0), (7, 30.0))))
            for snr, psnr in pts]


@pytest.mark.parametrize("source, marked", [(SAMPLES_SOURCE + "; 8 images", True),
                                            ("CIFAR-10 pickles /x, split test; 8 images", False)])
def test_image_figures_say_when_data_are_the_offline_fallback(tmp_path, monkeypatch, source,
                                                              marked):
    footers = []

    def spy(fig, png_path, title="", bottom=0.0, footer=""):
        footers.append(footer)
        matplotlib.pyplot.close(fig)
        return Path(png_path)

    monkeypatch.setattr(plots, "save_figure", spy)
    monkeypatch.setattr(semantic_plots, "save_figure", spy)
    sscc_csv = _write_csv(tmp_path / "sscc.csv", _sscc_rows())
    (tmp_path / "sscc.json").write_text(json.dumps({"data": {"source": source}}))
    plots.plot_psnr(sscc_csv, tmp_path / "sscc.png")
    sem_rows = [{"sweep": "", "channel": "umi", "model": "full", "epochs_trained": "10",
                 "snr_db": str(s), "psnr_db": "25", "accuracy": "0.5"} for s in (-7, 7)]
    sem_csv = _write_csv(tmp_path / "semantic.csv", sem_rows)
    (tmp_path / "semantic.json").write_text(json.dumps({"data": {"source": source}}))
    semantic_plots.plot_semantic_psnr(sem_csv, tmp_path / "semantic.png", sscc_csv)
    semantic_plots.plot_semantic_accuracy(sem_csv, tmp_path / "semantic_accuracy.png")
    images = np.zeros((2, 32, 32, 3), np.uint8)
    shots = [{"snr_db": 7, "images": images, "psnr_db": np.array([26.1, 20.0]),
              "predicted": np.array([0, 1])}]
    semantic_plots.plot_visual(images, None, shots, (), tmp_path / "semantic_visual.png")
    assert len(footers) == 4
    assert all(("offline fallback" in f and "NOT CIFAR-10" in f) == marked for f in footers)


def test_visual_tiles_name_snr_psnr_and_classes(tmp_path, monkeypatch):
    figs = []
    monkeypatch.setattr(semantic_plots, "save_figure",
                        lambda fig, png_path, title="", footer="": figs.append(fig) or png_path)
    images = np.zeros((2, 32, 32, 3), np.uint8)
    shots = [{"snr_db": 7, "images": images, "psnr_db": np.array([26.14, 20.0]),
              "predicted": np.array([2, 0])}]
    semantic_plots.plot_visual(images, np.array([2, 1]), shots, ("airplane", "automobile", "bird"),
                               tmp_path / "v_visual.png", source="CIFAR-10")
    titles = [ax.get_title() for ax in figs[0].axes]
    assert titles[0] == "user 1: original\nbird"
    assert titles[1] == "SNR 7 dB \u00b7 PSNR 26.1 dB\npred. bird"
    assert titles[3] == "SNR 7 dB \u00b7 PSNR 20.0 dB\npred. airplane"
    semantic_plots.plot_visual(images, None, shots, (), tmp_path / "v_visual.png", source="x")
    titles = [ax.get_title() for ax in figs[1].axes]
    assert titles[:2] == ["user 1: original", "SNR 7 dB \u00b7 PSNR 26.1 dB"]   # no classes
    for fig in figs:
        matplotlib.pyplot.close(fig)


def test_accuracy_figure_without_labels_is_not_written_nor_left_stale(tmp_path):
    rows = [{"sweep": "", "channel": "umi", "model": "full", "epochs_trained": "1",
             "snr_db": "7", "psnr_db": "25", "accuracy": ""}]
    png = tmp_path / "s_accuracy.png"
    png.write_bytes(b"stale")
    semantic_plots.plot_semantic_accuracy(_write_csv(tmp_path / "s.csv", rows), png)
    assert not png.exists()


def test_summary_lists_only_existing_files_and_a_headline(tmp_path):
    real = tmp_path / "a.csv"
    real.write_text("x\n")
    assert existing_files([real, tmp_path / "missing.png", real]) == [real]
    rows = _bler_rows({(4, "perfect"): [1.0, 0.3, 0.03]}, [0, 2, 4])
    bler_csv = _write_csv(tmp_path / "bler.csv", rows)
    line = headline("bler", bler_csv)
    assert line == "Eb/N0 at BLER 0.1: 3.0 dB (csi=perfect, 4QAM r=1/2)"   # log-linear
    _write_csv(tmp_path / "flat.csv", _bler_rows({(4, "perfect"): [1.0, 0.9]}, [0, 2]))
    assert "not reached" in headline("bler", tmp_path / "flat.csv")
    sscc = _write_csv(tmp_path / "sscc.csv", _sscc_rows())
    assert headline("sscc", sscc) == "best PSNR at SNR 7 dB: 24.50 dB (jpeg, 4QAM r=1/2)"
    table = summary_table([{"experiment": "bler", "kind": "bler", "files": [real],
                            "headline": line, "wall_s": 75.2}], tmp_path)
    assert "1 min 15 s" in table and " 1 " in table.splitlines()[2]


TINY = TINY_BLER_YAML


def test_quick_out_writes_into_out_and_announces_only_existing_files(tmp_path, capsys):
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(TINY)
    out = tmp_path / "X"
    assert main(["run", str(scenario), "--quick", "--out", str(out), "--no-progress"]) == 0
    assert (out / "tiny.csv").is_file() and (out / "tiny.png").is_file()
    assert not (out / "quick").exists()
    printed = capsys.readouterr().out
    written = next(line for line in printed.splitlines() if line.startswith("tiny written: "))
    for path in written.removeprefix("tiny written: ").split(", "):
        assert Path(path).is_file()
    assert "summary (" in printed and "Eb/N0 at BLER 0.1" in printed


def test_cli_start_is_quiet_unless_verbose():
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env["PYTHONPATH"] = str(ROOT)
    cmd = [sys.executable, "-m", "linksim", "validate", "scenarios/umi_4x4.yaml"]
    quiet = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert quiet.returncode == 0
    assert quiet.stderr == ""
    assert quiet.stdout.splitlines() == ["scenarios/umi_4x4.yaml: ok (3 experiment(s))"]
