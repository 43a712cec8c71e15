"""Seed 002's LCFSC system: SVD link, power, NI-CFMA, R-CVAE, NPN vs LS, shapes, save/load, samplers, config errors."""
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
from linksim.nn.channel import ChannelBank, OnlineChannels, training_sampler
from linksim.nn.npn import NoisePurifiedNetwork, npn_pretrain_step
from linksim.nn.swin import WindowAttention, shifted_window_mask
from linksim.phy.p2p import P2PBlockFading, SVDPrecoder, svd_transceive
from linksim.phy.p2p_estimation import LSP2PEstimator, ls_nmse, nmse, p2p_pilots, send_pilots
from linksim.registry import P2P_ESTIMATORS
from linksim.systems.lcfsc import VARIANTS, LCFSCSystem, build_system, stages
from linksim.systems.lcfsc.config import MASK_RATIOS
from linksim.systems.lcfsc.networks import NICFMA, RCVAE, rank_threshold

ARRAYS = {2: (1, 2), 4: (2, 2), 8: (2, 4), 16: (4, 4)}
TINY = {"system": "lcfsc", "embed_dims": [8, 8, 16, 16], "depths": [1, 1, 2, 1],
        "heads": [1, 1, 2, 2], "mlp_ratio": 1.0, "mask_dim": 4, "csi_dim": 4, "cvae_latent": 4,
        "cvae_width": 8, "adjscc_width": 4, "npn_width": 4, "modnet_layers": 1}


def _array(n):
    rows, cols = ARRAYS[n]
    return {"num_rows": rows, "num_cols": cols, "polarization": "single",
            "polarization_type": "V", "pattern": "omni"}


def _scenario(n=2, model="lcfsc", channel="rayleigh", power="per_antenna", **semantic):
    return make_scenario(link="p2p_mimo", channel={"model": channel},
                         ofdm={"fft_size": 8, "cyclic_prefix_length": 4},
                         bs={"array": _array(n)}, ue={"num_users": 1, "array": _array(n)},
                         precoder={"power": power},
                         semantic={**TINY, "model": model, "num_tx_ant": n, "num_rx_ant": n,
                                   **semantic})


def _inputs(n=2, batch=3, snr_db=10.0, seed=4):
    sionna.phy.config.seed = seed
    h = tf.complex(tf.random.stateless_normal([batch, n, n], [seed, 0]),
                   tf.random.stateless_normal([batch, n, n], [seed, 1])) / np.sqrt(2.0)
    images = tf.random.stateless_uniform([batch, 1, 32, 32, 3], [seed, 2])
    return {"images": images, "h": h, "no": tf.fill([batch], 10 ** (-snr_db / 10))}


# --------------------------------------------------------------------------- the P2P link
@pytest.mark.parametrize("n", [2, 4, 8, 16])
def test_the_models_svd_link_diagonalises_h_and_keeps_the_power(n):
    """Noiseless, perfect CSI: every stream comes back alone (off-diagonal energy ~0); E||x||^2 = P."""
    sc = _scenario(n, model="witt", csi="perfect")
    system = build_system(sc, sc.semantic)
    inp = _inputs(n)
    rng = np.random.default_rng(n)
    z = tf.constant((rng.normal(size=(3, system.n_sym)) + 1j * rng.normal(size=(3, system.n_sym)))
                    / np.sqrt(2), tf.complex64)
    z_hat, no_eff, x_tx = system.transceive(z, inp["h"], inp["h"], tf.fill([3], 1e-9))
    assert z_hat.shape == z.shape and no_eff.shape == (3, system.uses, n)
    err = np.abs(z_hat.numpy() - z.numpy()) ** 2
    assert err.sum() / (np.abs(z.numpy()) ** 2).sum() < 1e-6
    per_use = tf.reduce_sum(tf.abs(x_tx) ** 2, axis=-1).numpy()          # [B, U]
    np.testing.assert_allclose(per_use.mean(), n * np.mean(np.abs(z.numpy()) ** 2), rtol=0.05)


@pytest.mark.parametrize("power,total", [("per_antenna", 4.0), ("total", 1.0)])
def test_the_power_constraint_of_the_p2p_link(power, total):
    """Unit-mean-power codewords -> E||x||^2 = P per channel use (N_T per-antenna, 1 total)."""
    sc = _scenario(4, model="witt", power=power, csi="perfect")
    system = build_system(sc, sc.semantic)
    inp = _inputs(4)
    from linksim.nn.power import unit_mean_power
    z = unit_mean_power(tf.complex(tf.random.normal([3, system.n_sym]) * 5.0,
                                   tf.random.normal([3, system.n_sym])), axes=[1])
    _, _, x_tx = system.transceive(z, inp["h"], inp["h"], inp["no"])
    energy = tf.reduce_sum(tf.abs(x_tx) ** 2, axis=[1, 2]).numpy() / system.uses
    np.testing.assert_allclose(energy, total, rtol=1e-4)


def test_svd_with_estimated_csi_leaks_and_perfect_csi_is_the_default():
    sc = _scenario(4)
    h = P2PBlockFading(sc)(4)[:, None]                                     # [4, 1, 4, 4]
    s = tf.complex(tf.random.normal([4, 1, 4]), tf.random.normal([4, 1, 4]))
    pre = SVDPrecoder(4, 4.0)
    same, _, _ = svd_transceive(s, h, tf.constant(0.0), pre)
    given, _, _ = svd_transceive(s, h, tf.constant(0.0), pre, h_csi=h)
    np.testing.assert_allclose(same.numpy(), given.numpy(), atol=1e-5)
    noisy = h + tf.cast(0.3, tf.complex64) * tf.complex(tf.random.normal(h.shape), tf.random.normal(h.shape))
    leaked, _, _ = svd_transceive(s, h, tf.constant(0.0), pre, h_csi=noisy)
    assert float(tf.reduce_mean(tf.abs(leaked - s) ** 2)) > 1e-3


# --------------------------------------------------------------------------- NI-CFMA
def _pair(dim=8, heads=2, window=4):
    plain, cfma = WindowAttention(dim, heads, window), NICFMA(dim, heads, window, mask_dim=4)
    x = tf.random.normal([4, window * window, dim])
    plain(x)
    cfma(x, csi=tf.random.normal([4, 5]), ratio=tf.fill([4], 0.01))       # builds the masking model
    for name in ("qkv", "proj"):
        getattr(cfma, name).set_weights(getattr(plain, name).get_weights())
    cfma.bias_table.assign(plain.bias_table)
    return plain, cfma, x


def test_nicfma_with_its_mask_off_equals_plain_window_attention():
    plain, cfma, x = _pair()
    np.testing.assert_allclose(cfma.rho.numpy(), np.sqrt(4.0))           # ρ starts at sqrt(d)
    np.testing.assert_allclose(cfma(x).numpy(), plain(x).numpy(), atol=1e-5)
    mask = tf.constant(shifted_window_mask(8, 8, 4, 2))                   # with the SW-MSA mask too
    np.testing.assert_allclose(cfma(x, mask).numpy(), plain(x, mask).numpy(), atol=1e-5)
    off = cfma(x, csi=tf.random.normal([4, 5]), ratio=tf.zeros([4]))     # m = 0: nothing masked
    np.testing.assert_allclose(off.numpy(), plain(x).numpy(), atol=1e-5)
    on = cfma(x, csi=tf.random.normal([4, 5]), ratio=tf.fill([4], 0.015))
    assert np.abs(on.numpy() - plain(x).numpy()).max() > 1e-4


@pytest.mark.parametrize("ratio,masked", [(0.001, 0), (0.005, 1), (0.009, 2), (0.015, 4)])
def test_the_masking_map_masks_round_m_d2_of_each_heads_logits(ratio, masked):
    _, cfma, x = _pair()
    m = cfma.masking_map(x, tf.random.normal([4, 5]), tf.fill([4], ratio)).numpy()
    assert m.shape == (4, 2, 16, 16) and set(np.unique(m)) <= {0.0, 1.0}
    np.testing.assert_array_equal((m == 0).sum(axis=(2, 3)), masked)     # round(m 256)


def test_the_mask_ratio_gets_a_gradient_through_the_straight_through_mask():
    _, cfma, x = _pair()
    ratio = tf.Variable(tf.fill([4], 0.01))
    with tf.GradientTape() as tape:
        y = cfma(x, csi=tf.random.normal([4, 5]), ratio=ratio)
        loss = tf.reduce_sum(y ** 2)
    grad = tape.gradient(loss, ratio)
    assert grad is not None and np.abs(grad.numpy()).max() > 0
    t = rank_threshold(tf.constant([[3.0, 1.0, 2.0, 0.0]]), tf.constant([2.0]))
    assert float(tf.reduce_sum(tf.cast(tf.constant([3.0, 1.0, 2.0, 0.0]) < t, tf.int32))) == 2


# --------------------------------------------------------------------------- R-CVAE
def test_rcvae_kl_is_nonnegative_and_its_ratio_stays_in_the_preset_range():
    cvae = RCVAE(6, 16, MASK_RATIOS)
    y = tf.random.normal([64, 40]) * 3.0
    m = tf.fill([64], 0.009)
    for training in (False, True):
        out = cvae(y, m, training=training)
        assert (out["kl"].numpy() >= 0).all() and (out["rec"].numpy() >= 0).all()
        r = out["ratio"].numpy()
        assert (r >= min(MASK_RATIOS) - 1e-7).all() and (r <= max(MASK_RATIOS) + 1e-7).all()
        np.testing.assert_allclose(out["beta"].numpy().sum(-1), 1.0, rtol=1e-5)
    rng = np.random.default_rng(0)
    a, b, c, d = (tf.constant(rng.normal(size=(32, 6)) * 3, tf.float32) for _ in range(4))
    assert (RCVAE.kl(a, b, c, d).numpy() >= 0).all()
    np.testing.assert_allclose(RCVAE.kl(a, b, a, b).numpy(), 0.0, atol=1e-5)   # q = p


# --------------------------------------------------------------------------- estimators
def test_ls_is_exact_without_noise_and_its_nmse_is_n0_over_p():
    h = P2PBlockFading(_scenario(4))(2000)
    ls = LSP2PEstimator(4, 4, 4.0)
    np.testing.assert_allclose(ls(send_pilots(h, ls.pilots, tf.zeros([2000])), None).numpy(),
                               h.numpy(), atol=1e-5)
    no = tf.fill([2000], 0.2)
    measured = float(nmse(ls(send_pilots(h, ls.pilots, no), no), h))
    assert measured == pytest.approx(ls_nmse(0.2, 4.0), rel=0.05)
    pilots = p2p_pilots(4, 4.0)
    np.testing.assert_allclose(pilots @ pilots.conj().T, 4.0 * np.eye(4), atol=1e-5)
    assert list(P2P_ESTIMATORS) == ["ls", "npn"]


def _kronecker(n, rho=0.9):
    """Synthetic spatially correlated Rayleigh channels h = R^1/2 G R^1/2, R_ij = rho^|i-j| (unit-energy entries)."""
    r = rho ** np.abs(np.subtract.outer(np.arange(n), np.arange(n)))
    w, v = np.linalg.eigh(r)
    sq = tf.constant((v * np.sqrt(w)) @ v.T, tf.complex64)

    def draw(batch):
        g = tf.complex(tf.random.normal([batch, n, n]), tf.random.normal([batch, n, n])) / np.sqrt(2.0)
        return sq @ g @ sq

    return draw


def test_npn_beats_ls_after_a_short_training_on_synthetic_channels():
    """Algorithm 1 for 300 steps on correlated 4x4 Rayleigh at 0..20 dB: NMSE below LS's at 0, 10, 20 dB."""
    keras.utils.set_random_seed(1)
    npn = NoisePurifiedNetwork(4, 4, 4.0, width=8, basis=2)
    opt = keras.optimizers.Adam(3e-3)
    draw = _kronecker(4)
    step = tf.function(lambda h, no: npn_pretrain_step(npn, opt, h, no))
    for _ in range(300):
        step(draw(64), 10 ** (-tf.random.uniform([64], 0.0, 20.0) / 10))
    h = draw(4000)
    for snr, factor in ((0.0, 0.6), (10.0, 0.9), (20.0, 1.0)):
        no = tf.fill([4000], 10 ** (-snr / 10))
        y = send_pilots(h, npn.pilots, no)
        ours = float(nmse(npn(y, no), h))
        ls = float(nmse(LSP2PEstimator(4, 4, 4.0)(y, no), h))
        assert ours < factor * ls, (snr, ours, ls)


# --------------------------------------------------------------------------- the system
@pytest.mark.parametrize("n", [2, 4, 8, 16])
def test_shapes_for_every_antenna_size(n):
    sc = _scenario(n)
    system = build_system(sc, sc.semantic)
    assert system.n_sym == system.uses * n and system.n_sym <= 92
    out = system(_inputs(n))
    assert out["reconstruction"].shape == (3, 1, 32, 32, 3) and out["logits"].shape == (3, 1, 10)
    assert out["h_hat"].shape == (3, n, n) and out["cvae_kl"].shape == (3,)
    r = out["reconstruction"].numpy()
    assert np.isfinite(r).all() and r.min() >= 0 and r.max() <= 1
    assert (min(MASK_RATIOS) <= out["mask_ratio"].numpy()).all()


@pytest.mark.parametrize("model", ["fixed_ratio", "witt", "adjscc"])
def test_the_other_variants_run(model):
    sc = _scenario(2, model=model, csi="ls")
    out = build_system(sc, sc.semantic)(_inputs(2))
    assert out["reconstruction"].shape == (3, 1, 32, 32, 3)
    expected = sc.semantic.fixed_mask_ratio if model == "fixed_ratio" else 0.0
    np.testing.assert_allclose(out["mask_ratio"].numpy(), expected)


def test_save_load_gives_identical_outputs(tmp_path):
    sc = _scenario(2)                                                     # NPN + R-CVAE
    system = build_system(sc, sc.semantic)
    system.phase = "pretrain"                                             # the phase is saved too
    inp = _inputs(2)
    sionna.phy.config.seed = 9
    before = system(inp)["reconstruction"].numpy()
    system.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert isinstance(loaded, LCFSCSystem) and loaded.phase == "pretrain"
    sionna.phy.config.seed = 9
    np.testing.assert_array_equal(loaded(inp)["reconstruction"].numpy(), before)
    system.save_weights(tmp_path / "w.weights.h5")
    fresh = build_system(sc, sc.semantic)
    fresh.load_weights(tmp_path / "w.weights.h5")
    fresh.phase = "pretrain"
    sionna.phy.config.seed = 9
    np.testing.assert_array_equal(fresh(inp)["reconstruction"].numpy(), before)


def test_a_joint_training_step_reaches_the_ratio_generator_and_lowers_the_loss():
    sc = _scenario(2)
    system = build_system(sc, sc.semantic)
    inp = _inputs(2, batch=4, snr_db=20.0)
    system.channel_sampler = FixedSampler(inp["h"], inp["no"])
    with tf.GradientTape() as tape:
        out = system(inp, training=True)
        loss = system.losses_of(inp["images"], inp["h"], out)["loss"]
    grads = dict(zip([v.path for v in system.trainable_variables],
                     tape.gradient(loss, system.trainable_variables)))
    for part in ("rcvae/d_q2", "attn/grn", "attn/score", "csi_estimator/enc1a"):
        hit = [g for p, g in grads.items() if part in p and g is not None]
        assert hit and max(float(tf.reduce_max(tf.abs(g))) for g in hit) > 0, part
    system.compile(optimizer=keras.optimizers.Adam(5e-3), run_eagerly=True)
    data = (inp["images"], tf.zeros([4, 1], tf.int32))

    def val():
        sionna.phy.config.seed = 3
        return system.test_step(data)["loss"].numpy()

    start = val()
    for _ in range(6):
        system.train_step(data)
    assert val() < start


def test_stages_pretrain_then_joint():
    sc = _scenario()
    names = [(s.name, s.epochs(sc.semantic) if s.epochs else None) for s in stages(sc.semantic)]
    assert names == [("pretrain", sc.semantic.pretrain_epochs), ("joint", None)]
    assert list(VARIANTS) == ["lcfsc", "fixed_ratio", "witt", "adjscc"]


# --------------------------------------------------------------------------- training channels
def test_the_training_sampler_draws_p2p_channels_on_the_p2p_link(tmp_path):
    sc = _scenario(4, train_channels=["rayleigh"], bank_size=8)
    bank = training_sampler(sc, sc.semantic, cache_dir=tmp_path)
    assert isinstance(bank, ChannelBank) and bank.bank.shape == (8, 4, 4)
    h, no = bank(5)
    assert h.shape == (5, 4, 4) and no.shape == (5,)
    umi = _scenario(4, train_channels=["umi"], channel_source="online")
    online = training_sampler(umi, umi.semantic)
    assert isinstance(online, OnlineChannels)
    h = online(2)[0]
    assert h.shape == (2, 4, 4) and float(tf.reduce_mean(tf.abs(h) ** 2)) > 0
    # the downlink keeps its per-RE responses and another bank key
    down = make_scenario(channel={"model": "rayleigh"}, ofdm={"fft_size": 8, "cyclic_prefix_length": 4})
    assert OnlineChannels(down, ("rayleigh",))(2)[0].shape == (2, 4, 1, 1, 4, 14, 8)
    other = ChannelBank(down, ("rayleigh",), size=8, cache_dir=None)
    assert other.cache_key() != bank.cache_key() and other.bank.shape == (8, 4, 4, 14, 8)


# --------------------------------------------------------------------------- configuration
BASE = """\
link: p2p_mimo
channel: {model: rayleigh}
bs: {array: {num_rows: 1, num_cols: 2, polarization: single, polarization_type: V, pattern: omni}}
ue: {num_users: 1, array: {num_rows: 1, num_cols: 2, polarization: single, polarization_type: V, pattern: omni}}
"""
BAD = {
    "N_T is not the channel's": ("semantic: {system: lcfsc, num_tx_ant: 4}\n",
                                 ["semantic.num_tx_ant: 4", "N_T = 2", "bs.array"]),
    "N_R is not the channel's": ("semantic: {system: lcfsc, num_rx_ant: 8}\n",
                                 ["semantic.num_rx_ant: 8", "N_R = 2"]),
    "CBR leaves no symbols": ("semantic: {system: lcfsc, cbr: 0.001}\n",
                              ["semantic.cbr: 0.001", "leaves no symbols", "2 streams"]),
    "unknown variant": ("semantic: {system: lcfsc, model: ntscc}\n",
                        ["semantic.model", "'ntscc'", "lcfsc", "adjscc"]),
    "unknown estimator": ("semantic: {system: lcfsc, csi: uce}\n", ["semantic.csi", "'npn'"]),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_lcfsc_config_exits_2_with_one_line(case, tmp_path, capsys):
    text, needles = BAD[case]
    path = tmp_path / "s.yaml"
    path.write_text(BASE + text)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    for needle in needles:
        assert needle in err, (needle, err)


def test_lcfsc_on_the_downlink_is_a_config_error(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text("ue: {num_users: 1}\nsemantic: {system: lcfsc}\n")
    assert main(["validate", str(path)]) == 2
    assert "lcfsc runs over link: p2p_mimo" in capsys.readouterr().err


# --------------------------------------------------------------------------- end to end
def test_the_trainer_pretrains_then_trains_jointly_and_the_evaluation_runs_over_p2p(tmp_path):
    """linksim train (pretrain + joint, P2P bank) on 8 photos, then ``run --quick`` of a semantic sweep."""
    import zipfile

    from linksim.experiments.train import train

    sc = _scenario(2, train_channels=["rayleigh"], bank_size=8, data="samples", num_images=10,
                   batch_size=4, epochs=1, pretrain_epochs=1, depths=[1, 1, 1, 1])
    state = train(sc, tmp_path / "run" / "lcfsc", verbose=0, cache_dir=tmp_path / "cache")
    assert (state["stage"], state["status"], state["epochs_done"]) == ("joint", "done", 1)
    for stage in ("pretrain", "joint"):
        saved = json.loads(zipfile.ZipFile(tmp_path / "run" / "lcfsc" / stage / "last.keras")
                           .read("config.json"))
        assert saved["config"]["phase"] == stage
    yaml = tmp_path / "eval.yaml"
    semantic = {**TINY, "depths": [1, 1, 1, 1], "num_tx_ant": 2, "num_rx_ant": 2}
    yaml.write_text(BASE + textwrap.dedent(f"""\
        name: p2p_eval
        semantic: {json.dumps(semantic)}
        experiments:
          - kind: semantic
            name: sem
            system: lcfsc
            models: [lcfsc]
            weights: {tmp_path}/run/{{model}}/joint
            baseline: null
            snr_db: [0, 20]
            data: samples
            num_images: 4
            batch_size: 2
            visual_snr_db: [20]
        """))
    out = tmp_path / "out"
    assert main(["run", str(yaml), "--quick", "--out", str(out), "--no-progress"]) == 0
    rows = (out / "sem.csv").read_text().strip().splitlines()
    assert len(rows) == 3 and rows[1].split(",")[1] == "lcfsc"
