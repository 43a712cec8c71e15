"""Seed 000's JSCBF system: Swin blocks, unfolded WMMSE, power, gradients, save/load, training, config errors."""
from __future__ import annotations

import json
import textwrap

import keras
import numpy as np
import pytest
import sionna
import tensorflow as tf

from conftest import FixedSampler, make_scenario
from linksim.cli import main
from linksim.config import ConfigError
from linksim.nn.swin import (MASK_VALUE, SwinBlock, WindowAttention, shifted_window_mask,
                             window_partition, window_reverse)
from linksim.phy.channels import CHANNELS
from linksim.phy.ofdm import resource_grid
from linksim.phy.wmmse import wmmse, wmmse_beamformer, wmmse_parameters, rzf_init
from linksim.systems.jscbf import VARIANTS, JSCBFSystem, build_system, stages
from linksim.systems.jscbf.beamforming import UnfoldedWMMSE, isotropic_error_beamformer

TINY = {"system": "jscbf", "image_size": 16, "embed_dims": [8, 16], "depths": [2, 2],
        "heads": [2, 2], "mlp_ratio": 1.0, "image_dim": 8, "csi_dim": 4, "d_model": 8,
        "transformer_heads": 2, "wmmse_layers": 2}


def _scenario(k=2, rows=2, cols=2, nc=8, q=2, model="jscbf", **semantic):
    return make_scenario(
        ofdm={"fft_size": nc, "num_ofdm_symbols": max(q, 2), "pilot_ofdm_symbol_indices": [0],
              "cyclic_prefix_length": 2},
        channel={"model": "sparse_multipath"}, ue={"num_users": k},
        bs={"array": {"num_rows": rows, "num_cols": cols, "polarization": "single",
                      "polarization_type": "V", "pattern": "omni"}},
        sounding={"num_pilots": 4, "estimator": "ls"},
        semantic={**TINY, "model": model, "num_symbols": q, "num_tx_ant": rows * cols,
                  "upa": [cols, rows], **semantic})


def _inputs(sc, batch=2, snr_db=10.0, seed=5):
    sionna.phy.config.seed = seed
    h = CHANNELS[sc.channel.model](sc, resource_grid(sc))(batch)
    s, k = sc.semantic.image_size, sc.ue.num_users
    images = tf.random.stateless_uniform([batch, k, s, s, 3], [seed, 1])
    return {"images": images, "h": h, "no": tf.fill([batch], 10 ** (-snr_db / 10))}


# --------------------------------------------------------------------------- Swin blocks
def test_window_partition_and_reverse_round_trip():
    x = tf.random.normal([2, 8, 12, 5])
    w = window_partition(x, 4)
    assert w.shape == (2 * 2 * 3, 16, 5)
    np.testing.assert_array_equal(w[1].numpy(), tf.reshape(x[0, :4, 4:8], [16, 5]).numpy())
    np.testing.assert_array_equal(window_reverse(w, 4, 8, 12).numpy(), x.numpy())


def test_shifted_window_mask_separates_the_regions_the_roll_brings_together():
    mask = shifted_window_mask(8, 8, 4, 2)                 # 4 windows of 16 tokens
    assert mask.shape == (4, 16, 16)
    assert not mask[0].any()                               # top-left window: one region
    assert set(np.unique(mask[3])) == {0.0, MASK_VALUE}    # bottom-right: 4 regions
    assert (mask[3] == MASK_VALUE).sum() == 16 * 16 - 4 * 4 * 4
    assert not shifted_window_mask(8, 8, 4, 0).any()


def test_masked_window_attention_ignores_tokens_of_other_regions():
    attn = WindowAttention(8, 2, 4)
    mask = tf.constant(shifted_window_mask(8, 8, 4, 2))
    x = tf.random.normal([4, 16, 8])
    y = attn(x, mask)
    # window 3, token 0 (region of rows/cols 4..5) and token 15 (rows/cols 6..7): other regions
    x2 = tf.tensor_scatter_nd_add(x, [[3, 15]], tf.ones([1, 8]) * 5.0)
    y2 = attn(x2, mask)
    np.testing.assert_allclose(y2[3, 0].numpy(), y[3, 0].numpy(), atol=1e-6)
    assert np.abs(y2[3, 14].numpy() - y[3, 14].numpy()).max() > 1e-3   # same region: attends
    y3 = attn(x2)                                                        # no mask: everything mixes
    assert np.abs(y3[3, 0].numpy() - attn(x)[3, 0].numpy()).max() > 1e-3


def test_shifted_swin_block_does_not_mix_the_wrapped_border():
    block = SwinBlock(8, 2, 4, (8, 8), shift=2, mlp_ratio=1.0)
    x = tf.random.normal([1, 8, 8, 8])
    # not a constant over channels: the block's LayerNorm would remove that
    x2 = tf.tensor_scatter_nd_add(x, [[0, 0, 0]], tf.random.normal([1, 8]) * 5.0)
    d = np.abs(block(x2).numpy() - block(x).numpy()).max(-1)[0]
    assert d[7, 7] < 1e-6          # rolled next to (0, 0) but from the other image border: masked
    assert d[1, 1] > 1e-4          # shares (0, 0)'s shifted window and region
    assert d[0, 0] > 1e-4


# --------------------------------------------------------------------------- shapes
@pytest.mark.parametrize("model,k,rows,cols,nc,q", [
    ("jscbf", 2, 2, 2, 8, 2), ("jscbf", 1, 1, 2, 16, 1), ("jscbf", 3, 2, 2, 12, 3),
    ("model_driven", 3, 2, 2, 12, 3), ("djscc", 1, 1, 2, 16, 1)])
def test_shapes_for_users_antennas_subcarriers_and_symbols(model, k, rows, cols, nc, q):
    sc = _scenario(k, rows, cols, nc, q, model)
    system = build_system(sc, sc.semantic)
    out = system(_inputs(sc, batch=2))
    assert out["reconstruction"].shape == (2, k, 16, 16, 3)
    assert out["logits"].shape == (2, k, 10) and not out["logits"].numpy().any()
    r = out["reconstruction"].numpy()
    assert np.isfinite(r).all() and r.min() >= 0 and r.max() <= 1


# --------------------------------------------------------------------------- beamforming
@pytest.mark.parametrize("scale,at_budget", [(100.0, True), (1e-3, False)])
def test_power_after_the_hybrid_beamformer_meets_eq_7(scale, at_budget):
    sc = _scenario(q=2)
    system = build_system(sc, sc.semantic)
    k, nc, m, q = system.dims
    rng = np.random.default_rng(0)
    w_s = tf.constant((rng.normal(size=(3, nc, k, q)) + 1j * rng.normal(size=(3, nc, k, q)))
                      * scale, tf.complex64)
    from linksim.phy.sounding import channel_matrix
    inp = _inputs(sc, batch=3)
    h_hat = channel_matrix(inp["h"])
    csi = system.csi_extractor(h_hat)
    x = system.beamform(w_s, h_hat, inp["no"], csi)
    assert x.shape == (3, 1, m, q, nc)
    energy = tf.reduce_sum(tf.abs(x) ** 2, axis=[1, 2, 3, 4]).numpy()
    budget = q * nc * system.power                          # Q P_t, P_t = N_c P_re
    assert (energy <= budget * (1 + 1e-5)).all()
    if at_budget:
        np.testing.assert_allclose(energy, budget, rtol=1e-5)


def test_unfolded_wmmse_with_classical_parameters_is_classical_wmmse():
    rng = np.random.default_rng(1)
    b, nc, k, m = 2, 4, 3, 4
    h = tf.constant(rng.normal(size=(b, nc, k, m)) + 1j * rng.normal(size=(b, nc, k, m)),
                    tf.complex64) / np.sqrt(2)
    no = tf.constant([0.1, 0.5], tf.float32)
    layer = UnfoldedWMMSE(k, nc, 3, 4.0, 8, 1, 2, 1.0, classical=True)
    v = layer(h, no, tf.zeros([b, nc, 5]))
    ref = wmmse(h, tf.broadcast_to(no[:, None], [b, nc]), tf.fill([b, nc], 4.0), 3)
    np.testing.assert_allclose(v.numpy(), ref.numpy(), atol=1e-5)
    # the learned layer starts at the same point, up to its small initial R_e = r I
    learned = UnfoldedWMMSE(k, nc, 3, 4.0, 8, 1, 2, 1.0)
    v_learned = learned(h, no, tf.random.normal([b, nc, 5]))
    assert np.abs(v_learned.numpy() - ref.numpy()).max() < 0.05 * np.abs(ref.numpy()).max()
    np.testing.assert_allclose(tf.reduce_sum(tf.abs(v_learned) ** 2, [2, 3]).numpy(), 4.0, rtol=1e-4)


def test_isotropic_error_beamformer_is_eq_26_with_r_identity():
    rng = np.random.default_rng(2)
    k, m = 3, 5
    h = tf.constant(rng.normal(size=(4, k, m)) + 1j * rng.normal(size=(4, k, m)), tf.complex64)
    no, power = tf.fill([4], 0.2), tf.fill([4], 2.0)
    params = wmmse_parameters(h, rzf_init(h, no, power), no)
    r = tf.constant([0.0, 0.1, 0.5, 2.0])
    ours = isotropic_error_beamformer(h, params["equalizer"], params["weights"], no, power, r)
    cov = tf.cast(r, tf.complex64)[:, None, None] * tf.eye(m, dtype=tf.complex64)
    ref = wmmse_beamformer(h, params["equalizer"], params["weights"], no, power, error_cov=cov)
    np.testing.assert_allclose(ours.numpy(), ref.numpy(), atol=2e-5)


# --------------------------------------------------------------------------- end to end
def test_gradients_reach_the_image_encoder_through_the_channel():
    sc = _scenario(model="jscbf", bs_csi="perfect")
    system = build_system(sc, sc.semantic)
    inp = _inputs(sc)

    def encoder_grads(h):
        with tf.GradientTape() as tape:
            out = system({**inp, "h": h, "h_bs": inp["h"]}, training=True)
            loss = tf.reduce_mean(tf.square(out["reconstruction"] - inp["images"]))
        grads = tape.gradient(loss, system.encoder.trainable_variables)
        return max(float(tf.reduce_max(tf.abs(g))) if g is not None else 0.0 for g in grads)

    assert encoder_grads(inp["h"]) > 0
    # with no propagation the UE receives noise only: nothing flows back to the encoder
    assert encoder_grads(tf.zeros_like(inp["h"])) == 0.0


@pytest.mark.parametrize("model", ["jscbf", "djscc"])
def test_save_load_gives_identical_outputs(tmp_path, model):
    sc = _scenario(model=model)                             # LS sounding inside the model
    system = build_system(sc, sc.semantic)
    system.no_channel = model == "djscc"                    # the pre-training flag is saved too
    inp = _inputs(sc)
    sionna.phy.config.seed = 9
    before = system(inp)["reconstruction"].numpy()
    system.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert isinstance(loaded, JSCBFSystem) and loaded.no_channel == system.no_channel
    sionna.phy.config.seed = 9
    np.testing.assert_array_equal(loaded(inp)["reconstruction"].numpy(), before)
    system.save_weights(tmp_path / "w.weights.h5")
    fresh = build_system(sc, sc.semantic)
    fresh.load_weights(tmp_path / "w.weights.h5")
    fresh.no_channel = system.no_channel
    sionna.phy.config.seed = 9
    np.testing.assert_array_equal(fresh(inp)["reconstruction"].numpy(), before)


@pytest.mark.parametrize("no_channel", [True, False])
def test_a_tiny_training_run_lowers_the_loss(no_channel):
    sc = _scenario(model="jscbf", loss="mse+ms_ssim")
    system = build_system(sc, sc.semantic)
    inp = _inputs(sc, batch=4, snr_db=20.0)
    (stages(sc.semantic)[0 if no_channel else 1].prepare)(system, sc.semantic)
    assert system.no_channel is no_channel
    system.channel_sampler = FixedSampler(inp["h"], inp["no"])
    system.compile(optimizer=keras.optimizers.Adam(5e-3), run_eagerly=True)
    data = (inp["images"], tf.zeros([4, 2], tf.int32))

    def loss():
        sionna.phy.config.seed = 3
        return system.test_step(data)["loss"].numpy()

    start = loss()
    for _ in range(8):
        system.train_step(data)
    assert loss() < 0.9 * start


def test_stages_pretrain_then_joint():
    sc = _scenario()
    names = [(s.name, s.epochs(sc.semantic) if s.epochs else None) for s in stages(sc.semantic)]
    assert names == [("pretrain", sc.semantic.pretrain_epochs), ("joint", None)]


def test_ms_ssim_loss_is_the_evaluation_metric_with_finite_gradients():
    from linksim.data.metrics import ms_ssim as metric
    from linksim.nn.losses import ms_ssim
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (3, 32, 32, 3)).astype(np.uint8)
    b = np.clip(a + rng.integers(-30, 30, a.shape), 0, 255).astype(np.uint8)
    ours = ms_ssim(tf.constant(a / 255.0, tf.float32), tf.constant(b / 255.0, tf.float32))
    np.testing.assert_allclose(ours.numpy(), metric(a, b), atol=1e-3)
    # anti-correlated: the contrast-structure term is negative; tf.image.ssim_multiscale's
    # gradient is NaN here (ReLU to 0, then a fractional power), ours is finite
    inverted = tf.Variable(tf.constant(1.0 - a[:1] / 255.0, tf.float32))
    with tf.GradientTape() as tape:
        value = ms_ssim(tf.constant(a[:1] / 255.0, tf.float32), inverted)
    assert np.isfinite(tape.gradient(value, inverted).numpy()).all()


# --------------------------------------------------------------------------- configuration
def _write(tmp_path, text):
    path = tmp_path / "s.yaml"
    path.write_text(textwrap.dedent(text))
    return path


BAD = {
    "upa does not match N_t": ("semantic:\n  system: jscbf\n  num_tx_ant: 64\n  upa: [4, 8]\n",
                               ["semantic", "upa [4, 8] has 32 antennas", "num_tx_ant is 64"]),
    "heads do not divide": ("semantic:\n  system: jscbf\n  heads: [3, 4]\n",
                            ["semantic", "multiples of the heads"]),
    "stages disagree": ("semantic:\n  system: jscbf\n  depths: [2]\n", ["semantic", "one entry per"]),
    "image does not tile": ("semantic:\n  system: jscbf\n  image_size: 24\n", ["does not tile"]),
    "unknown variant": ("semantic:\n  system: jscbf\n  model: full\n",
                        ["semantic.model", "'full'", "jscbf", "djscc"]),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_jscbf_section_is_one_line(case, tmp_path, capsys):
    text, needles = BAD[case]
    path = _write(tmp_path, text)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    for needle in needles:
        assert needle in err, (needle, err)


@pytest.mark.parametrize("change,needle", [
    ({"num_tx_ant": 8, "upa": [4, 2]}, "semantic.num_tx_ant: 8 -- the BS array"),
    ({"upa": [1, 4], "num_tx_ant": 4}, "semantic.upa: [1, 4]"),
    ({"num_symbols": 3}, "semantic.num_symbols: Q=3 -- more than the grid's 2 OFDM symbols"),
])
def test_a_scenario_that_cannot_carry_the_model_is_a_config_error(change, needle):
    sc = _scenario()
    cfg = sc.semantic.model_copy(update=change)
    with pytest.raises(ConfigError) as err:
        build_system(sc, type(sc.semantic).model_validate(cfg.model_dump()))
    assert needle in str(err.value) and "\n" not in str(err.value)


@pytest.mark.slow  # two traced train steps: 166 s on the 2 shared cores (load 8), well under idle
def test_the_generic_trainer_pretrains_without_the_channel_then_trains_jointly(tmp_path):
    import zipfile

    from linksim.experiments.train import train
    sc = _scenario(image_size=32, wmmse_layers=1, train_channels=["sparse_multipath"],
                   bank_size=4, data="samples", num_images=24, batch_size=2, epochs=1,
                   pretrain_epochs=1)
    state = train(sc, tmp_path / "run", verbose=0, cache_dir=tmp_path / "cache")
    assert (state["stage"], state["status"], state["epochs_done"]) == ("joint", "done", 1)
    assert state["init_from"]["weights"] == str(tmp_path / "run" / "pretrain" / "best.weights.h5")
    for stage, no_channel in (("pretrain", True), ("joint", False)):
        saved = json.loads(zipfile.ZipFile(tmp_path / "run" / stage / "last.keras").read("config.json"))
        assert saved["config"]["no_channel"] is no_channel
    # --epochs (here 2) extends the end-to-end stage only: pre-training keeps pretrain_epochs
    state = train(sc, tmp_path / "run", epochs=2, verbose=0, cache_dir=tmp_path / "cache")
    assert (state["stage"], state["status"], state["epochs_done"]) == ("joint", "done", 2)
    pre = json.loads((tmp_path / "run" / "pretrain" / "state.json").read_text())
    assert (pre["status"], pre["epochs_done"]) == ("done", 1)


def test_bench_reference_is_the_shipped_training_scenario():
    """``linksim bench --only systems`` times the link the committed models train on."""
    from pathlib import Path

    from linksim.config import load_scenario
    from linksim.systems.jscbf.throughput import REFERENCE
    shipped = load_scenario(Path(__file__).parents[1] / "scenarios/training/seed000_jscbf.yaml")
    reference = type(shipped).model_validate(REFERENCE)
    for section in ("ofdm", "channel", "bs", "ue", "sounding", "precoder"):
        assert getattr(reference, section) == getattr(shipped, section), section
    for key in ("num_tx_ant", "upa", "num_symbols", "bs_csi", "loss", "train_channels",
                "train_snr_db", "batch_size", "embed_dims", "depths"):
        assert getattr(reference.semantic, key) == getattr(shipped.semantic, key), key
