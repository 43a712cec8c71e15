"""Table III measurement (linksim.systems.scenario_adaptive.complexity) and the ``bench --only`` option."""
from __future__ import annotations

import csv
import json

import pytest

from conftest import make_scenario
from linksim.cli import main
from linksim.systems.scenario_adaptive import SemanticSystem
from linksim.experiments.complexity import write_complexity
from linksim.systems.scenario_adaptive.complexity import COMPONENTS, complexity_rows, component_inputs


def test_component_inputs_are_the_chain_tensors():
    system = SemanticSystem(make_scenario(), "full", encoder_width=0.25)
    inputs = component_inputs(system, batch_slots=2)
    assert [t.shape for t in inputs["encoder"]] == [(8, 32, 32, 3), (8, 32, 4), (8,)]
    assert [t.shape for t in inputs["precoder"]] == [
        (2, 1, 4, 14, 32), (2, 4, 1, 1, 4, 14, 32), (2,)]
    assert [t.shape for t in inputs["decoder"]] == [(8, 14, 32), (8, 14, 32), (8,)]
    assert "call" not in vars(system.encoder)  # the recorder is removed again


def test_complexity_rows_and_files(tmp_path):
    rows = complexity_rows(fft_sizes=(32,), variants=("full", "djscc"), widths=((0.5, 1.5),),
                           batch_slots=2, runs=2, warmup=1)
    assert [(r["variant"], r["component"]) for r in rows] == [
        (v, c) for v in ("full", "djscc") for c in COMPONENTS]
    sc = make_scenario()
    for variant in ("full", "djscc"):
        system = SemanticSystem(sc, variant, encoder_width=0.5, decoder_width=1.5)
        system.build()
        expected = system.component_parameters()
        got = {r["component"]: r for r in rows if r["variant"] == variant}
        for name in COMPONENTS:
            assert got[name]["parameters"] == expected[name]
            assert got[name]["weights_mb"] == pytest.approx(expected[name] * 4 / 2**20, abs=1e-4)
            assert got[name]["median_s_per_batch"] > 0
            assert got[name]["median_ms_per_image"] == pytest.approx(
                1e3 * got[name]["median_s_per_batch"] / 8, rel=0.02)
    assert rows[0]["encoder_width"] == 0.5 and rows[-1]["encoder_width"] is None
    files = write_complexity(rows, tmp_path, {"batch_slots": 2})
    assert sorted(f.name for f in tmp_path.iterdir()) == [
        "complexity.csv", "complexity.json", "complexity.png"] == sorted(f.name for f in files)
    with (tmp_path / "complexity.csv").open(newline="") as fh:
        assert len(list(csv.DictReader(fh))) == len(rows)
    assert json.loads((tmp_path / "complexity.json").read_text())["rows"][0]["parameters"] > 0


def test_bench_rejects_an_unknown_part(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "--only", "bogus"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'bogus'" in capsys.readouterr().err
