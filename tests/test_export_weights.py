"""scripts/export_weights.py: optimizer slots dropped, large weights compressed losslessly."""
from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "export_weights.py"
spec = importlib.util.spec_from_file_location("export_weights", SCRIPT)
export_weights = importlib.util.module_from_spec(spec)
spec.loader.exec_module(export_weights)


def _run(folder: Path) -> dict[str, np.ndarray]:
    """A training output as Keras writes it: weights, optimizer slots, state, history."""
    rng = np.random.default_rng(0)
    weights = {"encoder/dense/vars/0": rng.standard_normal((256, 512)).astype(np.float32),
               "encoder/dense/vars/1": rng.standard_normal(512).astype(np.float32)}
    folder.mkdir()
    with h5py.File(folder / "best.weights.h5", "w") as f:
        f.attrs["keras_version"] = "3"
        for name, value in weights.items():
            f.create_dataset(name, data=value).attrs["note"] = name
        f.create_dataset("optimizer/vars/0", data=np.zeros(10))
    (folder / "state.json").write_text(json.dumps({"model": "full"}))
    (folder / "history.csv").write_text("epoch,loss\n0,1.0\n")
    (folder / "batches.csv").write_text("epoch,step,loss\n0,0,1.0\n")
    return weights


def _read(path: Path) -> tuple[dict[str, np.ndarray], dict[str, str | None], dict]:
    """Every dataset's values and compression; the file's attributes and each dataset's note."""
    with h5py.File(path) as f:
        datasets = []
        f.visititems(lambda name, item: datasets.append(name) if isinstance(item, h5py.Dataset) else None)
        values = {n: f[n][()] for n in datasets}
        compression = {n: f[n].compression for n in datasets}
        return values, compression, dict(f.attrs) | {n: f[n].attrs.get("note") for n in datasets}


def test_export_drops_the_optimizer_and_compresses_large_weights_losslessly(tmp_path):
    weights = _run(tmp_path / "run")
    out = export_weights.export(tmp_path / "run", tmp_path / "models", step_log=False)
    values, compression, attrs = _read(out / "best.weights.h5")
    assert values.keys() == weights.keys()                       # no optimizer
    for name, value in weights.items():
        np.testing.assert_array_equal(values[name], value)
        assert attrs[name] == name
    assert attrs["keras_version"] == "3"
    assert compression == {"encoder/dense/vars/0": "gzip", "encoder/dense/vars/1": None}
    assert (out / "best.weights.h5").stat().st_size < 0.97 * weights["encoder/dense/vars/0"].nbytes
    assert sorted(p.name for p in out.iterdir()) == ["best.weights.h5", "history.csv", "state.json"]
    again = export_weights.export(out, tmp_path / "models")           # recompress in place
    assert again == out and _read(out / "best.weights.h5")[0].keys() == weights.keys()
    np.testing.assert_array_equal(_read(out / "best.weights.h5")[0]["encoder/dense/vars/0"],
                                  weights["encoder/dense/vars/0"])


def test_a_folder_that_is_not_a_training_output_ends_in_one_line_and_exit_2_before_writing(
        tmp_path, monkeypatch, capsys):
    _run(tmp_path / "run")
    (tmp_path / "empty").mkdir()
    monkeypatch.setattr(sys, "argv", ["x", str(tmp_path / "run"), str(tmp_path / "empty"),
                                      "--to", str(tmp_path / "models")])
    with pytest.raises(SystemExit) as stop:
        export_weights.script_main(export_weights.main)   # what `python scripts/export_weights.py` runs
    err = capsys.readouterr().err
    assert stop.value.code == 2 and "empty: no state.json" in err and len(err.splitlines()) == 1, err
    assert not (tmp_path / "models").exists()


def test_half_rounds_kernels_to_float16_says_so_and_keras_loads_them(tmp_path):
    import keras

    def model():
        return keras.Sequential([keras.Input((256,)), keras.layers.Dense(512), keras.layers.Dense(2)])

    trained = model()
    (tmp_path / "run").mkdir()
    trained.save_weights(tmp_path / "run" / "best.weights.h5")
    (tmp_path / "run" / "state.json").write_text(json.dumps({"model": "full"}))
    (tmp_path / "run" / "history.csv").write_text("epoch,loss\n0,1.0\n")
    out = export_weights.export(tmp_path / "run", tmp_path / "models", step_log=False, half=True)
    values = _read(out / "best.weights.h5")[0]
    assert sorted(str(v.dtype) for v in values.values()) == ["float16"] * 2 + ["float32"] * 2  # kernels; biases exact
    state = json.loads((out / "state.json").read_text())
    assert state["exported"] == {"float16_from_values": 2**10}
    # every evaluation of these weights records that they were rounded
    from linksim.systems.checkpoints import TrainedWeights
    record = TrainedWeights("full", out / "best.weights.h5", state).summary
    assert record["exported"] == state["exported"]
    assert "exported" not in TrainedWeights("full", out / "best.weights.h5", {}).summary
    loaded = model()
    loaded.load_weights(out / "best.weights.h5")
    x = np.random.default_rng(1).standard_normal((4, 256)).astype(np.float32)
    before, after = trained(x).numpy(), loaded(x).numpy()
    assert loaded.weights[0].dtype == "float32" and not np.array_equal(before, after)  # rounded
    np.testing.assert_allclose(after, before, rtol=0, atol=2e-3 * np.abs(before).max())
