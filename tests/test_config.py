"""Scenario validation: each kind of bad input gives one line naming the key, exit 2."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from linksim.cli import main
from linksim.config import ConfigError, load_scenario

ROOT = Path(__file__).resolve().parents[1]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(textwrap.dedent(text))
    return path


SHIPPED = sorted((ROOT / "scenarios").rglob("*.yaml"))
#: the catalogue: what a user runs on a fresh clone (scenarios/training/ may need a training run first)
CATALOGUE = [p for p in SHIPPED if "training" not in p.relative_to(ROOT / "scenarios").parts]


def _scenario_id(path: Path) -> str:
    return str(path.relative_to(ROOT / "scenarios").with_suffix(""))


@pytest.mark.parametrize("path", SHIPPED, ids=_scenario_id)
def test_shipped_scenarios_are_valid(path):
    from linksim.registry import SYSTEMS
    sc = load_scenario(path)
    system = SYSTEMS[sc.semantic.system]
    assert type(sc.semantic) is system.config          # the section was read by its system
    if sc.link == "p2p_mimo":          # seed 002: N_T x N_R, the semantic section sized to the link
        assert sc.semantic.num_tx_ant == sc.bs.array.num_ant and sc.ue.num_users == 1
    elif system.name == "jscbf":                       # seed 000: the model fits the scenario
        from linksim.systems.jscbf.model import check_fits
        check_fits(sc, sc.semantic)
    elif system.name == "scenario_adaptive":           # seed 003: Table II's grid and 4 BS ports
        assert sc.ofdm.num_data_ofdm_symbols == 12 and sc.bs.array.num_ant == 4


@pytest.mark.parametrize("path", CATALOGUE, ids=_scenario_id)
def test_catalogue_scenarios_read_committed_weights_only(path):
    """Every model a catalogue scenario evaluates is in models/ (not runs/, not a deleted folder)."""
    from linksim.systems.checkpoints import find_weights

    sc = load_scenario(path)
    for exp in sc.experiments:
        if exp.kind != "semantic":
            continue
        assert not exp.weights.startswith("runs/"), f"{exp.name}: {exp.weights}"
        for model in exp.models:
            trained = find_weights(exp.weights, sc, model)
            assert (ROOT / "models") in trained.path.resolve().parents, trained.path


def test_defaults_are_seed_003_table_ii(tmp_path):
    sc = load_scenario(_write(tmp_path, "{}\n"))
    assert (sc.ofdm.num_ofdm_symbols, sc.ofdm.subcarrier_spacing, sc.ofdm.cyclic_prefix_length,
            sc.ofdm.pilot_ofdm_symbol_indices) == (14, 15e3, 20, (2, 11))
    assert sc.channel.carrier_frequency == 2.6e9 and sc.ue.num_users == 4
    assert (sc.bs.array.polarization_type, sc.bs.array.pattern) == ("cross", "38.901")


BAD = {
    "unknown key": ("ofdm:\n  fft_sise: 64\n", ["ofdm.fft_sise", "unknown key", "fft_size"]),
    "wrong type": ("ofdm:\n  fft_size: many\n", ["ofdm.fft_size", "'many'", "integer"]),
    "out of range": ("ofdm:\n  fft_size: 4\n", ["ofdm.fft_size", "4", "greater than or equal to 8"]),
    "unknown plug-in": ("channel:\n  model: umx\n", ["channel.model", "'umx'", "umi", "rma"]),
    "bad literal": ("receiver:\n  csi: psychic\n", ["receiver.csi", "'perfect'", "'estimated'"]),
    "bad rate": ("experiments:\n  - kind: bler\n    mcs: [{qam: 4, rate: 0.99}]\n",
                 ["experiments[0].mcs[0].rate", "0.2..0.93"]),
    "bad fraction": ("experiments:\n  - kind: bler\n    mcs: [{qam: 4, rate: 'a/b'}]\n",
                     ["experiments[0].mcs[0].rate", "fraction"]),
    "bad kind": ("experiments:\n  - kind: blur\n", ["experiments[0]", "blur", "bler"]),
    "bad sweep key": ("experiments:\n  - kind: bler\n    sweep: {channel.modle: [umi]}\n",
                      ["channel.modle", "not a sweepable key", "model"]),
    "bad sweep value": ("experiments:\n  - kind: bler\n    sweep: {channel.model: [umi, xyz]}\n",
                        ["sweep", "channel.model", "'xyz'"]),
    "pilot outside grid": ("ofdm:\n  pilot_ofdm_symbol_indices: [2, 14]\n",
                           ["ofdm", "[14]", "0..13"]),
    # `semantic` is both a section and an experiment kind: the section's keys and path
    "unknown semantic key": ("semantic:\n  foo: 1\n", ["semantic.foo", "encoder_width", "lr_drops"]),
    "unknown experiment key": ("experiments:\n  - kind: semantic\n    fooo: 1\n",
                               ["experiments[0].fooo", "visual_snr_db"]),
    "lr drops not increasing": ("semantic:\n  lr_drops: [30, 20]\n",
                                ["semantic.lr_drops", "increasing", "[30, 20]"]),
    "pixel path without conv latent": ("semantic:\n  pixel_path: true\n",
                                       ["semantic.pixel_path", "latent: conv"]),
    "too many users": ("ue:\n  num_users: 8\n", ["ue.num_users (8)", "BS antennas (4)"]),
    "multi-antenna UE on the MU-MIMO downlink": (
        "ue:\n  array: {num_rows: 2}\n", ["ue.array", "link: mu_mimo_downlink", "1 antenna"]),
    "p2p needs one user": ("link: p2p_mimo\n", ["ue.num_users (4)", "link: p2p_mimo"]),
    "too many p2p streams": (
        "link: p2p_mimo\nue: {num_users: 1, array: {num_rows: 2}}\np2p: {num_streams: 3}\n",
        ["p2p.num_streams (3)", "min(4, 2)"]),
    "bad link": ("link: sic\n", ["link", "'sic'", "'mu_mimo_downlink'", "'p2p_mimo'"]),
    "bad power allocation": ("p2p: {power_allocation: greedy}\n",
                             ["p2p.power_allocation", "'waterfilling'"]),
    "no sounding pilots": ("precoder:\n  csi: estimated\n  csi_pilots: 0\n",
                           ["precoder.csi_pilots", "0", ">= 1"]),
    "unknown BS estimator": ("precoder:\n  csi_estimator: omp\n",
                             ["precoder.csi_estimator", "'omp'", "ls, lmmse"]),
    "bad BS csi": ("precoder:\n  csi: guessed\n", ["precoder.csi", "'perfect'", "'estimated'"]),
    "not a mapping": ("- 1\n- 2\n", ["top level must be a mapping"]),
    "bad yaml": ("ofdm: [1, 2\n", ["not valid YAML", "line"]),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_scenario_gives_one_line_exit_2(case, tmp_path, capsys):
    text, needles = BAD[case]
    path = _write(tmp_path, text)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    assert err.startswith(f"error: {path}")
    for needle in needles:
        assert needle in err, (needle, err)


def test_missing_file_is_one_line(tmp_path, capsys):
    assert main(["run", str(tmp_path / "nope.yaml")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"error: {tmp_path / 'nope.yaml'}: no such scenario file"


def test_run_without_experiments_and_unknown_only(tmp_path, capsys):
    path = _write(tmp_path, "name: x\n")
    assert main(["run", str(path)]) == 2
    assert "lists no experiment" in capsys.readouterr().err
    path = _write(tmp_path, "experiments:\n  - kind: bler\n    name: a\n")
    assert main(["run", str(path), "--only", "b"]) == 2
    assert "--only 'b'" in capsys.readouterr().err


def test_config_error_is_raised_by_the_api(tmp_path):
    with pytest.raises(ConfigError, match=r"channel\.model"):
        load_scenario(_write(tmp_path, "channel: {model: 3}\n"))


def test_p2p_scenario_with_multi_antenna_ue_validates(tmp_path):
    sc = load_scenario(_write(tmp_path, "link: p2p_mimo\nue: {num_users: 1, array: {num_rows: 2}}\n"
                                        "p2p: {num_streams: 2, power_allocation: waterfilling}\n"))
    assert (sc.link, sc.ue.array.num_ant, sc.p2p.num_streams) == ("p2p_mimo", 2, 2)
    sc = load_scenario(_write(tmp_path, "precoder: {csi: estimated, csi_estimator: lmmse, "
                                        "csi_pilots: 4, csi_snr_db: 10}\n"))
    assert (sc.precoder.csi, sc.precoder.csi_pilots, sc.precoder.csi_snr_db) == ("estimated", 4, 10.0)
    assert load_scenario(_write(tmp_path, "{}\n")).precoder.csi == "perfect"   # seed 003's assumption


def test_extends_merges_sections_over_a_base_and_names_the_file_itself(tmp_path):
    (tmp_path / "base.yaml").write_text("name: base\nseed: 3\nofdm: {fft_size: 64, num_ofdm_symbols: 14}\n"
                                        "channel: {model: uma}\n")
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "child.yaml").write_text("extends: ../base.yaml\nofdm: {fft_size: 128}\n")
    sc = load_scenario(sub / "child.yaml")
    assert (sc.name, sc.seed, sc.ofdm.fft_size, sc.channel.model) == ("child", 3, 128, "uma")
    (sub / "loop.yaml").write_text("extends: loop.yaml\n")
    with pytest.raises(ConfigError, match="a cycle of extends"):
        load_scenario(sub / "loop.yaml")
    (sub / "bad.yaml").write_text("extends: ../base.yaml\nofdm: {fft_siz: 128}\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: ofdm.fft_siz: unknown key"):
        load_scenario(sub / "bad.yaml")
