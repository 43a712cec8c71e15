"""scripts/target_scaling.py: epochs summed along a warm-start chain, log2 fit, extrapolation."""
from __future__ import annotations

import csv
import importlib.util
import json
import sys
from pathlib import Path

import pytest

from linksim.config import ConfigError

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "target_scaling.py"
spec = importlib.util.spec_from_file_location("target_scaling", SCRIPT)
scaling = importlib.util.module_from_spec(spec)
spec.loader.exec_module(scaling)


def _run_csv(folder: Path, name: str, epochs: int, wall_s: float, psnr: dict[float, float]) -> None:
    with (folder / f"{name}.csv").open("w", newline="") as f:
        w = csv.DictWriter(f, ["channel", "snr_db", "psnr_db", "epochs_trained", "train_wall_s"])
        w.writeheader()
        for snr, value in psnr.items():
            w.writerow({"channel": "umi", "snr_db": snr, "psnr_db": value,
                        "epochs_trained": epochs, "train_wall_s": wall_s})
        w.writerow({"channel": "uma", "snr_db": 7, "psnr_db": 99.0, "epochs_trained": epochs,
                    "train_wall_s": wall_s})


def test_warm_starts_add_their_sources_epochs_and_one_db_per_doubling_extrapolates_exactly(
        tmp_path, monkeypatch):
    _run_csv(tmp_path, "a", 10, 600.0, {7: 20.0, -7: 15.0})
    _run_csv(tmp_path, "b", 10, 600.0, {7: 21.0, -7: 15.0})     # 20 epochs in all
    _run_csv(tmp_path, "c", 20, 2400.0, {7: 22.0, -7: 15.0})    # 40 epochs, 2 min per epoch
    monkeypatch.setattr(sys, "argv", ["x", str(tmp_path), "--chain", "a", "b:a", "c:b",
                                      "--target", "7:24", "--target=-7:16"])
    scaling.main()
    out = json.loads((tmp_path / "scaling.json").read_text())
    assert [p["epochs"] for p in out["points"]] == [10, 20, 40]
    assert out["points"][-1]["train_hours"] == 1.0
    high, low = out["targets"]
    assert high["fit"]["db_per_doubling"] == pytest.approx(1.0)
    assert high["fit"]["epochs"] == 160 and high["last_link"]["epochs"] == 160   # 40 * 2**2
    assert high["fit"]["hours"] == pytest.approx(160 * 2 / 60, abs=0.05)
    assert low["fit"]["epochs"] is None                        # flat: training alone never gets there
    assert (tmp_path / "scaling.png").stat().st_size > 0
    assert len(list(csv.DictReader((tmp_path / "scaling.csv").open()))) == 4
    assert out["provenance"]["versions"]                        # how it was made, with what


def test_the_last_link_of_a_branching_chain_is_the_last_run_against_its_own_source(tmp_path):
    # c and d both start from b (20 epochs); d is last: its link is d vs b, not d vs its sibling c
    _run_csv(tmp_path, "a", 10, 600.0, {7: 20.0})
    _run_csv(tmp_path, "b", 10, 600.0, {7: 21.0})
    _run_csv(tmp_path, "c", 20, 1200.0, {7: 25.0})                # 40 epochs
    _run_csv(tmp_path, "d", 60, 3600.0, {7: 23.0})                # 80 epochs: +2 dB in 2 doublings
    points = scaling.read_points(tmp_path, ["a", "b:a", "c:b", "d:b"], "umi")
    assert [p["epochs"] for p in points] == [10, 20, 40, 80]
    assert scaling.needed(points, 7.0, 24.0)["last_link"]["db_per_doubling"] == pytest.approx(1.0)


def test_a_source_named_after_its_continuation_is_refused(tmp_path):
    _run_csv(tmp_path, "a", 10, 600.0, {7: 20.0})
    with pytest.raises(ConfigError, match="must come before"):
        scaling.read_points(tmp_path, ["b:a", "a"], "umi")


@pytest.mark.parametrize("args, message", [
    (["--chain", "a", "b:a", "--target", "7"], "--target '7': expected SNR:PSNR"),
    (["--chain", "a", "gone:a", "--target", "7:24"], "gone.csv does not exist"),
    (["--chain", "a", "b:a", "--target", "5:24"], "no point at 5 dB SNR"),
    (["--chain", "a", "--target", "7:24"], "at least two runs"),
])
def test_bad_arguments_end_in_one_line_and_exit_2_before_anything_is_written(
        tmp_path, monkeypatch, capsys, args, message):
    _run_csv(tmp_path, "a", 10, 600.0, {7: 20.0})
    _run_csv(tmp_path, "b", 10, 600.0, {7: 21.0})
    monkeypatch.setattr(sys, "argv", ["x", str(tmp_path), *args])
    with pytest.raises(SystemExit) as stop:
        scaling.script_main(scaling.main)            # what `python scripts/target_scaling.py` runs
    err = capsys.readouterr().err
    assert stop.value.code == 2 and message in err and len(err.splitlines()) == 1, err
    assert not (tmp_path / "scaling.json").exists()
