"""``linksim train``: checkpoint files, resume at the next epoch, clean NaN stop, time budget, CLI errors."""
from __future__ import annotations

import csv
import json

import keras
import numpy as np
import pytest
import sionna
import tensorflow as tf
from PIL import Image

from conftest import make_scenario
from linksim.cli import main
from linksim.config import ConfigError
from linksim.experiments.train import FixedValidationDraws, _validation, slot_datasets, train
from linksim.systems.scenario_adaptive import SemanticSystem, build_system
from linksim.systems.scenario_adaptive.surgery import _may_grow
from linksim.nn.channel import training_sampler

TINY = {"encoder_width": 0.25, "decoder_width": 0.25, "train_channels": ["rayleigh"],
        "bank_size": 4, "data": "samples", "num_images": 40, "batch_size": 4, "patience": 5}


def _scenario(**semantic):
    return make_scenario(semantic={**TINY, **semantic})


def _epochs(out) -> list[int]:
    with (out / "history.csv").open(newline="") as f:
        return [int(row["epoch"]) for row in csv.DictReader(f)]


def _weights(path) -> list[np.ndarray]:
    model = keras.models.load_model(path)
    return [w.numpy() for w in model.weights]


class _Capture(keras.callbacks.Callback):
    """Weights and optimizer step as training (re)starts."""

    def on_train_begin(self, logs=None):
        self.weights = [w.numpy() for w in self.model.weights]
        self.step = int(self.model.optimizer.iterations.numpy())


def test_validation_sees_the_same_draws_every_epoch_and_leaves_the_training_stream_alone(tmp_path):
    sc = _scenario(model="rzf", val_fraction=0.25)
    model = build_system(sc, sc.semantic)
    model.compile(optimizer="adam")
    model.channel_sampler = training_sampler(sc, sc.semantic, cache_dir=tmp_path)
    _, _, val_x, val_y, _ = slot_datasets(sc)
    rng = sionna.phy.config.tf_rng
    rng.reset_from_seed(7)

    def validate(callbacks):
        return model.evaluate(_validation(val_x, val_y, 2), verbose=0, return_dict=True,
                              callbacks=callbacks)["loss"]

    fixed = FixedValidationDraws(seed=3)
    first = validate([fixed])
    rng.normal([5])                                      # training draws between the epochs
    before = rng.state.numpy()
    second = validate([fixed])
    assert first == second                               # same weights, same draws: same loss
    np.testing.assert_array_equal(rng.state.numpy(), before)   # training's stream untouched
    # without it, two passes over the same slots see other channels and noise
    assert validate([]) != validate([])
    assert not np.array_equal(rng.state.numpy(), before)


def test_run_writes_checkpoints_stops_on_the_time_budget_and_resumes_at_the_next_epoch(tmp_path):
    sc, out = _scenario(model="rzf"), tmp_path / "run"  # the lightest graph to trace
    state = train(sc, out, epochs=2, time_budget_min=1e-6, verbose=0, cache_dir=tmp_path)
    for name in ("last.keras", "last.weights.h5", "best.weights.h5", "history.csv",
                 "state.json", "loss_curve.png"):
        assert (out / name).is_file(), name
    assert list((out / "tensorboard").iterdir())
    saved = json.loads((out / "state.json").read_text())
    assert saved == json.loads(json.dumps(state))
    # the budget is checked after every step: epoch 0 ends after its first step, checkpointed
    assert saved["status"] == "time_budget" and saved["epochs_done"] == 1
    assert saved["optimizer_step"] == 1
    at_end = _weights(out / "last.keras")

    capture = _Capture()
    state = train(sc, out, epochs=2, verbose=0, cache_dir=tmp_path, callbacks=[capture])
    assert capture.step == 1                           # optimizer state restored, not reset
    for before, resumed in zip(at_end, capture.weights, strict=True):
        np.testing.assert_array_equal(before, resumed)
    assert _epochs(out) == [0, 1]
    assert state["status"] == "done"
    assert state["epochs_done"] == 2 and state["optimizer_step"] == 1 + 2  # 9 train slots // 4
    assert train(sc, out, epochs=2, verbose=0, cache_dir=tmp_path)["status"] == "done"
    assert _epochs(out) == [0, 1]                      # nothing left to do: no new rows
    # resuming under another SNR scale or width would mix two trainings: refused, files kept
    other = make_scenario(semantic={**TINY, "model": "rzf", "ce_weight": 0.1},
                          precoder={"power": "total"}, seed=sc.seed + 1)
    with pytest.raises(ConfigError, match=r"other settings \(precoder.power, seed, semantic.ce_weight\)"):
        train(other, out, epochs=3, verbose=0, cache_dir=tmp_path)
    assert _epochs(out) == [0, 1]
    # a run recorded before a setting existed resumes: the setting had its default then
    saved = json.loads((out / "state.json").read_text())
    del saved["trained_on"]["seed"], saved["trained_on"]["semantic"]["latent"]
    (out / "state.json").write_text(json.dumps(saved))
    assert train(sc, out, epochs=2, verbose=0, cache_dir=tmp_path)["status"] == "done"


class _CtrlC(keras.callbacks.Callback):
    """Presses Ctrl-C at the second step of epoch 1."""

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.epoch == 1 and batch == 1:
            raise KeyboardInterrupt


def test_ctrl_c_marks_the_run_interrupted_keeps_the_last_epoch_and_resumes(tmp_path):
    sc, out = _scenario(model="rzf"), tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        train(sc, out, epochs=2, verbose=0, cache_dir=tmp_path, callbacks=[_CtrlC()])
    saved = json.loads((out / "state.json").read_text())
    assert saved["status"] == "interrupted" and saved["epochs_done"] == 1
    assert _epochs(out) == [0]                          # the epoch in progress is dropped
    assert (out / "last.keras").is_file()
    state = train(sc, out, epochs=2, verbose=0, cache_dir=tmp_path)
    assert state["status"] == "done" and _epochs(out) == [0, 1]


def _image_folder(root, shade):
    """<root>/train/{cat,dog}/NN.png: 24 images whose pixels depend on ``shade``."""
    for c, cls in enumerate(("cat", "dog")):
        (root / "train" / cls).mkdir(parents=True)
        for i in range(12):
            pixels = np.full((32, 32, 3), (shade, 20 * i, 100 * c), np.uint8)
            Image.fromarray(pixels).save(root / "train" / cls / f"{i:02d}.png")
    return root


def test_resuming_on_other_images_than_the_run_was_trained_on_is_refused(tmp_path, monkeypatch):
    # semantic.data: auto resolves through $LINKSIM_DATA: the same scenario in a shell where it
    # points elsewhere (or is unset) must not continue the run on those images
    sc, out = _scenario(model="rzf", data="auto"), tmp_path / "run"
    first, other = _image_folder(tmp_path / "a", 0), _image_folder(tmp_path / "b", 255)
    monkeypatch.setenv("LINKSIM_DATA", str(first))
    train(sc, out, epochs=1, verbose=0, cache_dir=tmp_path)
    monkeypatch.setenv("LINKSIM_DATA", str(other))
    with pytest.raises(ConfigError, match=rf"^semantic.data: .* trained on image folder {first}.*"
                                          rf"this run reads image folder {other}"):
        train(sc, out, epochs=2, verbose=0, cache_dir=tmp_path)
    assert _epochs(out) == [0]                           # nothing trained, nothing written
    # a run recorded before the digest existed compares its data line
    saved = json.loads((out / "state.json").read_text())
    del saved["data_sha256_16"]
    (out / "state.json").write_text(json.dumps(saved))
    with pytest.raises(ConfigError, match="semantic.data: "):
        train(sc, out, epochs=2, verbose=0, cache_dir=tmp_path)
    monkeypatch.setenv("LINKSIM_DATA", str(first))
    assert train(sc, out, epochs=2, verbose=0, cache_dir=tmp_path)["status"] == "done"
    assert _epochs(out) == [0, 1]


def test_a_warm_start_loads_the_weights_starts_a_fresh_optimizer_and_resumes(tmp_path):
    sc, source, out = _scenario(model="rzf"), tmp_path / "source", tmp_path / "warm"
    train(sc, source, epochs=1, verbose=0, cache_dir=tmp_path)
    capture = _Capture()
    state = train(sc, out, epochs=1, init_from=source, verbose=0, cache_dir=tmp_path,
                  callbacks=[capture])
    for theirs, ours in zip(_weights(source / "last.keras"), capture.weights, strict=True):
        np.testing.assert_array_equal(theirs, ours)   # epoch 0 is the source's best and last
    assert capture.step == 0                            # the optimizer starts fresh
    assert state["epochs_done"] == 1 and state["optimizer_step"] == 9 // 4
    assert state["init_from"]["epochs_trained"] == 1
    assert state["init_from"]["weights"] == str(source / "best.weights.h5")
    # the same command resumes the warm-started run from its own checkpoint
    capture = _Capture()
    state = train(sc, out, epochs=2, init_from=source, verbose=0, cache_dir=tmp_path,
                  callbacks=[capture])
    assert capture.step == 9 // 4 and state["epochs_done"] == 2 and _epochs(out) == [0, 1]
    # ... but not from other weights
    train(sc, tmp_path / "other", epochs=1, batch_size=2, verbose=0, cache_dir=tmp_path)
    with pytest.raises(ConfigError, match="holds a run not started from"):
        train(sc, out, epochs=3, init_from=tmp_path / "other", verbose=0, cache_dir=tmp_path)


def test_the_head_stage_trains_only_the_classifier_and_leaves_every_reconstruction_unchanged(
        tmp_path):
    """semantic.stages: [head] from a trained run: same reconstructions bit for bit, a new head."""
    source, out = tmp_path / "source", tmp_path / "head"
    train(_scenario(model="full"), source, epochs=1, verbose=0, cache_dir=tmp_path)
    sc = _scenario(model="full", stages=["head"])
    state = train(sc, out, epochs=1, init_from=source, verbose=0, cache_dir=tmp_path)
    assert state["stage"] == "head" and state["epochs_done"] == 1
    models = []
    for folder in (source, out):
        model = build_system(sc, sc.semantic)
        model.load_weights(folder / "last.weights.h5")
        models.append(model)
    rng = np.random.default_rng(3)
    shape = (2, 4, 1, 1, 4, 14, 32)
    h = tf.constant((rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(np.complex64))
    inputs = {"images": tf.constant(rng.uniform(size=(2, 4, 32, 32, 3)), tf.float32), "h": h,
              "no": tf.constant([0.2, 1.0])}
    outputs = []
    for model in models:
        sionna.phy.config.seed = 5
        outputs.append(model(inputs))
    np.testing.assert_array_equal(outputs[0]["reconstruction"].numpy(),
                                  outputs[1]["reconstruction"].numpy())
    assert not np.array_equal(outputs[0]["logits"].numpy(), outputs[1]["logits"].numpy())


@pytest.mark.parametrize("semantic, source, message", [
    ({"model": "rzf", "decoder_width": 0.75}, "source", "semantic.decoder_width=0.25, this scenario has 0.75"),
    ({"model": "full"}, "source", "holds a 'rzf' model, not 'full'"),
    ({"model": "rzf"}, "missing", "--init-from: no trained 'rzf' model in"),
    ({"model": "rzf", "encoder_width": 0.375}, "source",
     "semantic.encoder_width=0.25, this scenario has 0.375"),
])
def test_a_warm_start_from_weights_that_do_not_fit_is_refused_before_training(
        tmp_path, semantic, source, message):
    train(_scenario(model="rzf"), tmp_path / "source", epochs=1, verbose=0, cache_dir=tmp_path)
    with pytest.raises(ConfigError, match=message):
        train(_scenario(**semantic), tmp_path / "warm", epochs=1, init_from=tmp_path / source,
              verbose=0, cache_dir=tmp_path)
    assert not (tmp_path / "warm").exists()


def test_a_warm_start_with_more_decoder_blocks_or_pixel_paths_grows_the_source_and_fewer_are_refused(
        tmp_path):
    sc = _scenario(model="rzf", latent="conv")
    train(sc, tmp_path / "source", epochs=1, verbose=0, cache_dir=tmp_path)
    deeper = _scenario(model="rzf", latent="conv", decoder_blocks=2, pixel_path=True)
    capture = _Capture()
    state = train(deeper, tmp_path / "grown", epochs=1, init_from=tmp_path / "source", verbose=0,
                  cache_dir=tmp_path, callbacks=[capture])
    assert state["init_from"]["grown"] == {"decoder_blocks": [0, 2], "pixel_path": [False, True]}
    source = _weights(tmp_path / "source" / "last.keras")
    assert len(capture.weights) > len(source)
    for kept in source:  # every source weight starts the grown run unchanged
        assert any(w.shape == kept.shape and np.array_equal(w, kept) for w in capture.weights)
    assert state["epochs_done"] == 1
    with pytest.raises(ConfigError, match="semantic.decoder_blocks=2, this scenario has 1"):
        train(_scenario(model="rzf", latent="conv", decoder_blocks=1), tmp_path / "shallower",
              epochs=1, init_from=tmp_path / "grown", verbose=0, cache_dir=tmp_path)
    with pytest.raises(ConfigError, match="semantic.pixel_path=True, this scenario has False"):
        train(_scenario(model="rzf", latent="conv", decoder_blocks=2), tmp_path / "no_path",
              epochs=1, init_from=tmp_path / "grown", verbose=0, cache_dir=tmp_path)


def test_a_warm_start_with_twice_the_widths_grows_the_source(tmp_path):
    sc = _scenario(model="rzf", latent="conv")
    train(sc, tmp_path / "source", epochs=1, verbose=0, cache_dir=tmp_path)
    wider = _scenario(model="rzf", latent="conv", encoder_width=0.5, decoder_width=0.5,
                      decoder_blocks=1)
    capture = _Capture()
    state = train(wider, tmp_path / "grown", epochs=1, init_from=tmp_path / "source", verbose=0,
                  cache_dir=tmp_path, callbacks=[capture])
    assert state["init_from"]["grown"] == {"decoder_blocks": [0, 1], "encoder_width": [0.25, 0.5],
                                           "decoder_width": [0.25, 0.5]}
    source = _weights(tmp_path / "source" / "last.keras")
    stem = [w for w in capture.weights if w.shape == (3, 3, 3, 32)]  # the stem: 16 channels, twice
    assert len(stem) == 1 and any(np.array_equal(stem[0], np.concatenate([w, w], axis=-1))
                                  for w in source if w.shape == (3, 3, 3, 16))
    assert state["epochs_done"] == 1
    # twice the width must mean twice every channel count (rounded): 0.2 -> 0.4 gives 26 -> 51
    assert _may_grow("encoder_width", 0.25, 0.5) and not _may_grow("encoder_width", 0.2, 0.4)
    # the decoder's too: 0.3 -> 0.6 gives 10 -> 19 channels for Table I's 32
    assert _may_grow("decoder_width", 1.5, 3.0) and not _may_grow("decoder_width", 0.3, 0.6)


def test_a_warm_start_on_a_wider_grid_repeats_the_source_and_other_grids_are_refused(tmp_path):
    train(_scenario(model="rzf", latent="conv"), tmp_path / "source", epochs=1, verbose=0,
          cache_dir=tmp_path)
    wide = make_scenario(semantic={**TINY, "model": "rzf", "latent": "conv"}, ofdm={"fft_size": 64})
    capture = _Capture()
    state = train(wide, tmp_path / "wide", epochs=1, init_from=tmp_path / "source", verbose=0,
                  cache_dir=tmp_path, callbacks=[capture])
    assert state["init_from"]["grown"] == {"fft_size": [32, 64]} and state["epochs_done"] == 1
    source = _weights(tmp_path / "source" / "last.keras")
    kernels = [w for w in source if w.ndim == 4 and w.shape[-1] == 12]  # the latent: 12 per 8x8
    assert len(kernels) == 1
    assert any(np.array_equal(w, np.concatenate([kernels[0]] * 2, axis=-1))
               for w in capture.weights)
    for fft_size, semantic in ((48, {}), (64, {"decoder_blocks": 1})):
        other = make_scenario(semantic={**TINY, "model": "rzf", "latent": "conv", **semantic},
                              ofdm={"fft_size": fft_size})
        with pytest.raises(ConfigError, match=f"ofdm.fft_size=32, this scenario has {fft_size}; "
                                              "a warm start may go to a multiple"):
            train(other, tmp_path / "other", epochs=1, init_from=tmp_path / "source", verbose=0,
                  cache_dir=tmp_path)
        assert not (tmp_path / "other").exists()
    # a corrupt record of the source's grid: the same one line, not a ZeroDivisionError
    state_path = tmp_path / "source" / "state.json"
    state_path.write_text(json.dumps({**json.loads(state_path.read_text()), "fft_size": 0}))
    with pytest.raises(ConfigError, match="ofdm.fft_size=0, this scenario has 64"):
        train(wide, tmp_path / "other", epochs=1, init_from=tmp_path / "source", verbose=0,
              cache_dir=tmp_path)


class _StepSizes(keras.callbacks.Callback):
    """Adam's step size in every epoch, read from the optimizer itself."""

    def __init__(self):
        super().__init__()
        self.rates = []

    def on_epoch_end(self, epoch, logs=None):
        self.rates.append(float(self.model.optimizer.learning_rate.numpy()))


def test_training_on_fresh_38901_drops_every_batch_runs_inside_the_compiled_step(tmp_path):
    # Keras traces train_step without AutoGraph; Sionna's topology code needs it (it raised
    # OperatorNotAllowedInGraphError before the sampler compiled each model on its own)
    sc = _scenario(model="rzf", channel_source="online", train_channels=["umi", "rma"],
                   num_images=20, batch_size=2)
    state = train(sc, tmp_path / "run", epochs=1, verbose=0, cache_dir=tmp_path)
    assert state["status"] == "done" and np.isfinite(state["best_val_loss"])
    assert not list(tmp_path.glob("*.npy"))                     # no bank was made


def test_step_size_drops_follow_the_epoch_count_and_may_be_added_on_resume(tmp_path):
    out = tmp_path / "run"
    train(_scenario(model="rzf", learning_rate=1e-3), out, epochs=1, verbose=0, cache_dir=tmp_path)
    # adding drops to a run in progress is allowed (as more epochs are), and resumes on schedule
    seen = _StepSizes()
    state = train(_scenario(model="rzf", learning_rate=1e-3, lr_drops=[2, 3], lr_drop_factor=0.5),
                  out, epochs=4, verbose=0, cache_dir=tmp_path, callbacks=[seen])
    np.testing.assert_allclose(seen.rates, [1e-3, 5e-4, 2.5e-4], rtol=1e-6)
    assert state["learning_rates"] == pytest.approx({"0": 1e-3, "1": 1e-3, "2": 5e-4, "3": 2.5e-4})
    assert json.loads((out / "state.json").read_text())["learning_rates"]["3"] == pytest.approx(2.5e-4)


def test_batch_size_may_change_on_resume_and_is_recorded_per_epoch(tmp_path):
    sc, out = _scenario(model="rzf"), tmp_path / "run"  # semantic.batch_size 4
    state = train(sc, out, epochs=1, verbose=0, cache_dir=tmp_path)
    assert state["optimizer_step"] == 9 // 4 and state["semantic"]["batch_size"] == 4
    # a schedule setting like the step-size drops: resuming with another one is allowed
    state = train(sc, out, epochs=2, batch_size=2, verbose=0, cache_dir=tmp_path)
    assert state["status"] == "done" and state["optimizer_step"] == 9 // 4 + 9 // 2
    assert state["batch_slots_by_epoch"] == {"0": 4, "1": 2} and state["batch_slots"] == 2
    assert json.loads((out / "state.json").read_text())["batch_slots_by_epoch"] == {"0": 4, "1": 2}
    # a new run records the batch it trains with, not the scenario's
    assert train(sc, tmp_path / "new", epochs=1, batch_size=2, verbose=0,
                 cache_dir=tmp_path)["semantic"]["batch_size"] == 2


def test_nan_loss_stops_cleanly_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    loss_fn = SemanticSystem.semantic_loss

    def collapse_at_step_3(self, images, labels, outputs):  # the ZF collapse, on demand
        loss, mse, ce = loss_fn(self, images, labels, outputs)
        return tf.where(self.optimizer.iterations >= 3, np.float32(np.nan), loss), mse, ce

    monkeypatch.setattr(SemanticSystem, "semantic_loss", collapse_at_step_3)
    out = tmp_path / "nan"
    state = train(_scenario(model="zf"), out, epochs=4, verbose=0, cache_dir=tmp_path)
    assert state["status"] == "nan"
    assert state["nan_at"] == {"epoch": 1, "step": 1}
    assert state["epochs_done"] == 1 and state["optimizer_step"] == 2
    assert json.loads((out / "state.json").read_text())["status"] == "nan"
    assert all(np.isfinite(w).all() for w in _weights(out / "last.keras"))
    assert (out / "loss_curve.png").is_file()
    assert not np.isfinite(np.loadtxt(out / "batches.csv", delimiter=",", skiprows=1)[-1, 2])
    # Fig. 10's summary reports the collapse as a result
    assert main(["train-report", str(out), "--out", str(tmp_path / "fig10")]) == 0
    summary = json.loads((tmp_path / "fig10" / "training.json").read_text())["runs"][str(out)]
    assert summary["status"] == "nan" and summary["nan_at"] == {"epoch": 1, "step": 1}
    with (tmp_path / "fig10" / "training.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["model"], r["epoch"]) for r in rows] == [("zf", "0"), ("zf", "1")]
    assert np.isfinite(float(rows[0]["loss"])) and np.isnan(float(rows[1]["loss"]))
    assert (tmp_path / "fig10" / "training.png").stat().st_size > 0


def test_train_report_rejects_a_directory_without_a_run(tmp_path, capsys):
    assert main(["train-report", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "not a 'linksim train' output directory" in capsys.readouterr().err


@pytest.mark.parametrize("flags, message", [
    (["--model", "bogus"], "--model 'bogus': not a variant of system 'scenario_adaptive'; allowed: full, no_pilot"),
    (["--epochs", "0"], "--epochs: 0 -- must be positive"),
    (["--init-from", "nowhere"], "--init-from: no trained 'full' model in "),
])
def test_bad_arguments_exit_2_with_one_line(tmp_path, capsys, flags, message):
    path = tmp_path / "s.yaml"
    path.write_text("runtime: {mode: eager}\n")
    assert main(["train", str(path), "--out", str(tmp_path / "o"), *flags]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
    assert not (tmp_path / "o").exists()


def test_fig10_labels_tell_runs_apart_by_latent_widths_and_the_drops_that_happened():
    from linksim.experiments.training_report import _label

    state = {"model": "full", "fft_size": 32,
             "semantic": {"ce_weight": 0.001, "latent": "conv", "encoder_width": 1.0,
                          "decoder_width": 3.0, "learning_rate": 1e-3},
             # resumed at epoch 16 with a drop: earlier epochs ran at learning_rate
             "learning_rates": {"16": 1e-4, "17": 1e-4, "18": 1e-5},
             "trained_on": {"precoder": {"power": "per_antenna"}}}
    assert _label(state, (0.5, 1.5)) == ("full, N_f=32, lambda=0.001, latent=conv, widths=1/3, "
                                         "lr_drops=[16, 18]")
    assert _label(state, (1.0, 3.0)) == "full, N_f=32, lambda=0.001, latent=conv, lr_drops=[16, 18]"
    state["semantic"] |= {"decoder_blocks": 3, "pixel_path": True, "csi_error": 0.1}
    assert _label(state, (1.0, 3.0)) == ("full, N_f=32, lambda=0.001, latent=conv, decoder_blocks=3, "
                                         "pixel_path, csi_error=0.1, lr_drops=[16, 18]")
    # batch sizes off the default: the last one for older runs, else every one, in order
    base = _label(state, (1.0, 3.0))
    assert _label(state | {"batch_slots": 32}, (1.0, 3.0)) == base
    assert _label(state | {"batch_slots": 8}, (1.0, 3.0)) == base + ", batch_slots=8"
    assert _label(state | {"batch_slots": 8, "batch_slots_by_epoch": {"0": 32, "1": 32, "2": 8}},
                  (1.0, 3.0)) == base + ", batch_slots=32/8"
    assert _label(state | {"init_from": {"epochs_trained": 24}}, (1.0, 3.0)) == (
        base + ", warm start from a 24-ep. run")


def test_fig10_legend_names_every_run_also_one_exported_without_its_step_log(tmp_path, monkeypatch):
    # a committed models/ folder keeps history.csv but not batches.csv: it draws only the
    # validation panel, and the legend must still say which line it is
    from linksim.experiments import training_report

    def state(blocks):
        return {"model": "full", "fft_size": 32, "semantic": {"ce_weight": 0.001, "latent": "conv",
                                                              "decoder_blocks": blocks}}
    history = [{"epoch": "0", "val_psnr": "24.0"}, {"epoch": "1", "val_psnr": "24.1"}]
    runs = [("models/a", state(8), history, np.zeros((0, 3))),
            ("runs/b", state(5), history, np.array([[0, 0, 0.01], [0, 1, 0.009]]))]
    shown = {}
    monkeypatch.setattr(training_report, "save_figure",
                        lambda fig, path: shown.setdefault("labels", [t.get_text() for ax in fig.axes
                                                                       if ax.get_legend()
                                                                       for t in ax.get_legend().get_texts()]))
    training_report._plot(runs, tmp_path / "t.png")
    assert shown["labels"] == [training_report._label(s, (None, None)) for _, s, _, _ in runs]
    assert len(set(shown["labels"])) == 2
