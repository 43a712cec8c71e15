"""BLER sweeps: resume after interruption, bit-exact reproducibility, result files."""
from __future__ import annotations

import json
import textwrap

import pytest

import linksim.experiments.bler as bler
from conftest import TINY_BLER_YAML
from linksim.cli import main
from linksim.config import load_scenario

SCENARIO = TINY_BLER_YAML


@pytest.fixture
def scenario_file(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(SCENARIO)
    return path


_SIMULATE_POINT = bler._simulate_point


class Interrupted(Exception):
    """Stands in for Ctrl-C (pytest reserves KeyboardInterrupt for itself)."""


def _numbers(rows):
    return [{k: v for k, v in r.items() if k != "wall_s"} for r in rows]


def _counting(monkeypatch, fail_after=None):
    calls = []
    real = _SIMULATE_POINT

    def wrapped(*args, **kwargs):
        if fail_after is not None and len(calls) == fail_after:
            raise Interrupted
        calls.append(args[3])
        return real(*args, **kwargs)

    monkeypatch.setattr(bler, "_simulate_point", wrapped)
    return calls


def test_interrupted_sweep_keeps_finished_points_and_resumes(scenario_file, tmp_path, monkeypatch):
    sc = load_scenario(scenario_file)
    exp = sc.experiments[0]
    full = bler.run_bler(sc, exp, tmp_path / "full")
    reference = _numbers(bler.ResultTable(full, bler.COLUMNS).rows())
    assert [float(r["ebno_db"]) for r in reference] == [1.0, 3.0, 4.0]

    _counting(monkeypatch, fail_after=1)
    with pytest.raises(Interrupted):
        bler.run_bler(sc, exp, tmp_path / "cut")
    cut = bler.ResultTable(tmp_path / "cut" / "tiny.csv", bler.COLUMNS)
    assert len(cut.rows()) == 1                      # the finished point is on disk

    calls = _counting(monkeypatch)
    bler.run_bler(sc, exp, tmp_path / "cut")
    assert calls == [3.0, 4.0]                       # only the missing points ran
    assert _numbers(cut.rows()) == reference         # and bit for bit the same numbers

    calls = _counting(monkeypatch)
    bler.run_bler(sc, exp, tmp_path / "cut")
    assert calls == []                               # nothing left to do


def test_changed_config_is_not_mixed_with_old_rows(scenario_file, tmp_path, monkeypatch):
    sc = load_scenario(scenario_file)
    bler.run_bler(sc, sc.experiments[0], tmp_path)
    changed = sc.experiments[0].model_copy(update={"batch_size": 8})
    calls = _counting(monkeypatch)
    bler.run_bler(sc, changed, tmp_path)
    assert calls == [1.0, 3.0, 4.0]


def test_curve_stops_below_min_bler(scenario_file, tmp_path, monkeypatch):
    sc = load_scenario(scenario_file)
    exp = sc.experiments[0].model_copy(update={"ebno_db": [2.0, 10.0, 12.0, 14.0],
                                               "min_bler": 0.05})
    calls = _counting(monkeypatch)
    bler.run_bler(sc, exp, tmp_path)
    assert calls == [2.0, 10.0]                      # no errors at 10 dB: 12 and 14 skipped


def test_cli_run_writes_csv_json_png_and_resumes(scenario_file, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", str(scenario_file), "--out", str(out), "--no-progress"]) == 0
    for suffix in (".csv", ".json", ".png", "_summary.csv"):
        assert (out / f"tiny{suffix}").stat().st_size > 0
    meta = json.loads((out / "tiny.json").read_text())
    assert meta["scenario"]["seed"] == 5 and "tensorflow" in meta["provenance"]["versions"]
    assert meta["curves"][0]["config_hash"]
    first = (out / "tiny.csv").read_text()
    assert main(["run", str(scenario_file), "--out", str(out), "--no-progress"]) == 0
    assert (out / "tiny.csv").read_text() == first   # resumed: nothing appended
    assert main(["report", str(out)]) == 0
    report = (out / "report.md").read_text()
    assert "BLER = 0.1" in report and "| 4QAM r=1/2 | 32 | AWGN |" in report
    assert main(["report", str(tmp_path / "missing")]) == 2

    # another configuration into the same folder: its rows replace the old ones in the table
    # (and so in the plot and report); the old rows are kept aside, not lost
    scenario_file.write_text(SCENARIO.replace("seed: 5", "seed: 6"))
    assert main(["run", str(scenario_file), "--out", str(out), "--no-progress"]) == 0
    rows = [line for line in (out / "tiny.csv").read_text().splitlines()[1:]]
    assert len(rows) == 3 and not set(rows) & set(first.splitlines())
    assert (out / "tiny.stale.csv").read_text() == first


def test_quick_mode_is_small(tmp_path):
    from linksim.experiments import quick_version

    sc = load_scenario("scenarios/seed003/fig7_bler.yaml")
    q = quick_version(sc).experiments[0]
    assert len(q.mcs) == 1 and all(len(v) == 1 for v in q.sweep.values())
    assert len(q.ebno_values()) == 3 and q.max_blocks <= 64


def test_ebno_at_bler_interpolates_log_linearly_with_confidence_interval():
    from linksim.experiments.plots import ebno_at_bler

    pts = [{"ebno_db": "0", "bler": "1.0", "blocks": "1000"},
           {"ebno_db": "10", "bler": "0.01", "blocks": "1000"}]
    assert ebno_at_bler(pts, 0.1) == pytest.approx(5.0)
    assert ebno_at_bler(pts, 0.1, -1.96) < 5.0 < ebno_at_bler(pts, 0.1, 1.96)
    assert ebno_at_bler(pts, 0.001) is None        # never reached
