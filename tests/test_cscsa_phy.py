"""Seed 001 physical layer: the time-varying sparse multipath uplink, 38.901 uplink, hybrid arrays, feedback, config."""
from __future__ import annotations

import math

import numpy as np
import pytest
import tensorflow as tf
from scipy.special import j0

from conftest import make_scenario
from linksim.cli import main
from linksim.phy.channels import CHANNELS
from linksim.phy.channels.sparse_multipath import ula_response
from linksim.phy.hybrid import (analog_combiner, analog_precoder, bits_to_features,
                                effective_channel, feedback, spectral_efficiency,
                                straight_through_quantize)
from linksim.phy.ofdm import resource_grid

C = 299792458.0


def _ula(n):
    return {"array": {"num_rows": 1, "num_cols": n, "polarization": "single",
                      "polarization_type": "V", "pattern": "omni"}}


def _uplink(k=2, n_t=4, n_r=8, fft=16, paths=3, model="sparse_multipath_uplink", speed=(0, 120),
            symbols=12, normalize=True, cp=4, scs=120e3, **hybrid):
    return make_scenario(
        link="mu_mimo_uplink",
        channel={"model": model, "num_paths": paths, "normalize": normalize,
                 "carrier_frequency": 28e9},
        ue={"num_users": k, **_ula(n_t)}, bs=_ula(n_r),
        ofdm={"fft_size": fft, "num_ofdm_symbols": symbols, "cyclic_prefix_length": cp,
              "subcarrier_spacing": scs, "pilot_ofdm_symbol_indices": [0]},
        hybrid={"speed_kmh": speed, "csi_rs_symbols": min(8, symbols - 1),
                "num_tx_symbols": 1, "num_rf_ue": min(2, n_t), "num_rf_bs": min(2, n_r), **hybrid})


def _channel(sc):
    return CHANNELS[sc.channel.model](sc, resource_grid(sc))


# ---------------------------------------------------------------- sparse multipath uplink

@pytest.mark.parametrize("k,n_t,n_r,fft", [(2, 8, 64, 100), (1, 2, 16, 8), (3, 4, 8, 24)])
def test_uplink_shape_and_energy(k, n_t, n_r, fft):
    h = _channel(_uplink(k=k, n_t=n_t, n_r=n_r, fft=fft))(2)
    assert h.shape == (2, 1, n_r, k, n_t, 12, fft) and h.dtype == tf.complex64
    per_link = np.mean(np.abs(h.numpy()) ** 2, axis=(1, 2, 4, 5, 6))     # [batch, K]
    np.testing.assert_allclose(per_link, 1.0, rtol=1e-4)


def test_uplink_unnormalised_entry_energy_is_one():
    """E|H_rm|^2 = 1 for every antenna pair (unit-modulus ULA responses, alpha ~ CN(0,1)/sqrt(L_p))."""
    h = _channel(_uplink(k=2, n_t=3, n_r=4, fft=8, symbols=4, normalize=False))(1500).numpy()
    per_entry = np.mean(np.abs(h) ** 2, axis=(0, 3, 5, 6))[0]             # [N_r, N_t]
    np.testing.assert_allclose(per_entry, 1.0, atol=0.1)
    links = np.mean(np.abs(h) ** 2, axis=(1, 2, 4, 5, 6))
    assert np.std(links) > 0.2                                              # links do fade


@pytest.mark.parametrize("paths", [1, 2, 3])
def test_uplink_rank_is_path_count(paths):
    h = _channel(_uplink(k=2, n_t=8, n_r=16, fft=16, paths=paths))(2).numpy()
    for b in range(2):
        for k in range(2):
            for q, n in ((0, 0), (5, 7), (11, 15)):
                s = np.linalg.svd(h[b, 0, :, k, :, q, n], compute_uv=False)
                assert np.sum(s > 1e-4 * s[0]) == paths, s


def test_zero_speed_is_constant_over_symbols_and_speed_is_not():
    h = _channel(_uplink(speed=(0, 0)))(2).numpy()
    np.testing.assert_allclose(h, np.broadcast_to(h[..., :1, :], h.shape), atol=1e-5)
    h = _channel(_uplink(speed=(120, 120), scs=15e3))(2).numpy()
    change = np.mean(np.abs(h[..., -1, :] - h[..., 0, :]) ** 2)
    assert change > 0.3                                                     # of mean energy 1


def test_speeds_and_doppler_shifts_follow_the_config():
    ch = _channel(_uplink(k=3, fft=24, speed=(30, 90), paths=5))
    p = ch.draw_paths(400)
    v = p["speed"].numpy()
    assert v.shape == (400, 3, 1) and v.min() >= 30 / 3.6 - 1e-4 and v.max() <= 90 / 3.6 + 1e-4
    assert np.ptp(v) > 0.8 * 60 / 3.6                                       # spread over the range
    f_d = v * 28e9 / C
    np.testing.assert_allclose(p["doppler"].numpy(),
                               f_d * np.cos(p["aod"].numpy() - p["psi"].numpy()), rtol=1e-4)


def test_temporal_autocorrelation_is_jakes_j0():
    """R(t_q) = E[h(t_q) h*(0)] / E|h|^2 follows J0(2 pi f_D t_q) through its first two zeros."""
    speed_kmh = 40.0
    sc = _uplink(k=2, n_t=2, n_r=2, fft=8, cp=2, scs=15e3, paths=4, symbols=14,
                 speed=(speed_kmh, speed_kmh), normalize=False)
    ch = _channel(sc)
    h = ch(3000).numpy()                                                    # [B,1,2,2,2,14,8]
    r = np.mean(h * np.conj(h[..., :1, :]), axis=(0, 1, 2, 3, 4, 6))
    r = r / np.mean(np.abs(h) ** 2)
    f_d = speed_kmh / 3.6 * 28e9 / C
    x = 2 * math.pi * f_d * ch.symbol_times.numpy()
    assert x[-1] > 5.6                                                      # past J0's second zero
    assert np.max(np.abs(r.real - j0(x))) < 0.04, np.c_[x, r.real, j0(x)]
    assert np.max(np.abs(r.imag)) < 0.04
    # a model without angle spread (every path at f_D) gives cos(x): far from what we measure
    assert np.max(np.abs(r.real - np.cos(x))) > 0.5


# ---------------------------------------------------------------- 38.901 uplink

@pytest.mark.parametrize("model", ["cdl_uplink", "umi_uplink"])
def test_3gpp_uplink_shape_and_time_variation(model):
    sc = _uplink(k=2, n_t=4, n_r=8, fft=12, model=model, speed=(120, 120), scs=15e3)
    h = _channel(sc)(2).numpy()
    assert h.shape == (2, 1, 8, 2, 4, 12, 12)
    assert np.mean(np.abs(h[..., -1, :] - h[..., 0, :]) ** 2) > 0.05 * np.mean(np.abs(h) ** 2)
    if model == "cdl_uplink":
        still = _channel(_uplink(k=2, n_t=4, n_r=8, fft=12, model=model, speed=(0, 0)))(2).numpy()
        np.testing.assert_allclose(still, np.broadcast_to(still[..., :1, :], still.shape),
                                   atol=1e-4)


# ---------------------------------------------------------------- hybrid arrays

def test_analog_beamformers_are_unit_modulus():
    phases = tf.random.uniform([3, 2, 8, 2], -10.0, 10.0)
    f = analog_precoder(phases).numpy()
    np.testing.assert_allclose(np.abs(f), 1 / math.sqrt(8), rtol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(f, axis=-2), 1.0, rtol=1e-5)
    np.testing.assert_allclose(np.abs(analog_precoder(phases, normalize=False).numpy()), 1.0,
                               rtol=1e-6)
    w = analog_combiner(tf.random.uniform([3, 2, 64], -10.0, 10.0)).numpy()
    assert w.shape == (3, 2, 64)
    np.testing.assert_allclose(np.abs(w), 1 / 8, rtol=1e-6)
    np.testing.assert_allclose(np.angle(f[0, 0, 3, 1]), np.angle(np.exp(1j * phases.numpy()[0, 0, 3, 1])),
                               atol=1e-5)


def test_effective_channel_is_w_h_f_per_resource_element():
    sc = _uplink(k=2, n_t=4, n_r=8, fft=8)
    h = _channel(sc)(2)
    f = analog_precoder(tf.random.uniform([2, 2, 4, 2], -3.0, 3.0))
    w = analog_combiner(tf.random.uniform([2, 2, 8], -3.0, 3.0))
    g = effective_channel(h, f, w).numpy()
    assert g.shape == (2, 1, 2, 2, 2, 12, 8)
    hn, fn, wn = h.numpy(), f.numpy(), w.numpy()
    for b, k, q, n in ((0, 0, 0, 0), (1, 1, 7, 5), (0, 1, 11, 3)):
        np.testing.assert_allclose(g[b, 0, :, k, :, q, n], wn[b] @ hn[b, 0, :, k, :, q, n] @ fn[b, k],
                                   atol=1e-5)


def test_spectral_efficiency_eq_30_and_beam_alignment():
    """Eq. (30) equals numpy's log det; phases matched to a single path beat random ones."""
    sc = _uplink(k=1, n_t=8, n_r=16, fft=8, paths=1, speed=(0, 0))
    ch = _channel(sc)
    p = ch.draw_paths(1)
    h = ch.response(p)
    a_t = ula_response(8, p["aod"])[0, 0, 0].numpy()
    a_r = ula_response(16, p["aoa"])[0, 0, 0].numpy()
    f = analog_precoder(tf.constant(np.angle(a_t)[None, None, :, None].repeat(2, -1), tf.float32))
    w = analog_combiner(tf.constant(np.angle(a_r.conj())[None, None, :].repeat(2, 1), tf.float32))
    snr = 10.0
    eta = spectral_efficiency(effective_channel(h, f, w), snr).numpy()
    assert eta.shape == (1, 1, 12, 8)
    g = effective_channel(h, f, w).numpy()[0, 0, :, 0, :, 3, 2]
    ref = np.log2(np.linalg.det(np.eye(2) + snr * g @ g.conj().T).real)
    assert eta[0, 0, 3, 2] == pytest.approx(ref, rel=1e-4)
    # one path, both chains aligned: every entry of W H F has |alpha|^2 N_r N_t energy and
    # W H F = c 1 1^T is rank 1 with eigenvalue N_RF,r N_RF,t |c|^2 = 4 |c|^2
    gain = abs(p["alpha"].numpy()[0, 0, 0]) ** 2 * 16 * 8
    assert eta[0, 0, 0, 0] == pytest.approx(np.log2(1 + snr * 4 * gain), rel=1e-3)
    rand = spectral_efficiency(effective_channel(
        h, analog_precoder(tf.random.uniform([1, 1, 8, 2], -3.0, 3.0)),
        analog_combiner(tf.random.uniform([1, 2, 16], -3.0, 3.0))), snr).numpy()
    assert eta.mean() > rand.mean() + 1.0


# ---------------------------------------------------------------- quantiser and feedback

@pytest.mark.parametrize("bits", [1, 2, 3, 4])
def test_straight_through_quantizer_levels_and_gradient(bits):
    x = tf.constant(np.linspace(-0.2, 1.2, 4001), tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(x)
        q = straight_through_quantize(x, bits)
        loss = tf.reduce_sum(q * tf.range(4001, dtype=tf.float32))
    levels = np.unique(q.numpy())
    assert levels.size == 2 ** bits
    np.testing.assert_allclose(levels, (np.arange(2 ** bits) + 0.5) / 2 ** bits, atol=1e-6)
    inside = (x.numpy() >= 0) & (x.numpy() <= 1)
    assert np.max(np.abs(q.numpy() - x.numpy())[inside]) <= 0.5 / 2 ** bits + 1e-6
    np.testing.assert_allclose(tape.gradient(loss, x).numpy(), np.arange(4001), rtol=1e-6)
    q2 = straight_through_quantize(4 * x - 1, bits, low=-1.0, high=3.0).numpy()
    assert np.unique(q2).size == 2 ** bits and q2.min() == pytest.approx(-1 + 2 / 2 ** bits)


@pytest.mark.parametrize("num_bits,per", [(1024, 2), (16, 2), (12, 3), (8, 1)])
def test_feedback_has_b_bits_and_round_trips(num_bits, per):
    x = tf.random.uniform([3, 2, num_bits // per])
    with tf.GradientTape() as tape:
        tape.watch(x)
        bits, x_hat = feedback(x, num_bits, per)
        loss = tf.reduce_sum(3.0 * x_hat)
    assert bits.shape == (3, 2, num_bits)
    assert set(np.unique(bits.numpy())) <= {0.0, 1.0}
    assert np.max(np.abs(x_hat.numpy() - x.numpy())) <= 2.0 ** -(per + 1) + 1e-6
    np.testing.assert_allclose(bits_to_features(bits, per).numpy(), x_hat.numpy(), atol=1e-6)
    np.testing.assert_allclose(tape.gradient(loss, x).numpy(), 3.0)
    # MSB first: 0.8 at 2 bits is interval 3 -> bits (1, 1); 0.3 -> interval 1 -> (0, 1)
    if per == 2:
        b, _ = feedback(tf.constant([[0.8, 0.3] + [0.0] * (num_bits // 2 - 2)]), num_bits, 2)
        assert b.numpy()[0, :4].tolist() == [1, 1, 0, 1]
    with pytest.raises(ValueError, match="features"):
        feedback(x, num_bits + per, per)


# ---------------------------------------------------------------- config

PAPER = """\
link: mu_mimo_uplink
channel: {model: sparse_multipath_uplink, carrier_frequency: 28.0e9, num_paths: 4}
ue: {num_users: 2, array: {num_rows: 1, num_cols: 8, polarization: single, polarization_type: V, pattern: omni}}
bs: {array: {num_rows: 1, num_cols: 64, polarization: single, polarization_type: V, pattern: omni}}
ofdm: {fft_size: 100, num_ofdm_symbols: 12, subcarrier_spacing: 120.0e3, cyclic_prefix_length: 7, pilot_ofdm_symbol_indices: [0]}
"""

BAD_HYBRID = {
    "N_RF > N_t": ("hybrid: {num_rf_ue: 9}\n", ["hybrid.num_rf_ue (9)", "N_t", "(8)"]),
    "N_RF > N_r": ("hybrid: {num_rf_bs: 65}\n", ["hybrid.num_rf_bs", "65"]),
    "B = 0": ("hybrid: {feedback_bits: 0}\n", ["hybrid.feedback_bits", "0", "greater than or equal to 1"]),
    "B not whole features": ("hybrid: {feedback_bits: 7}\n", ["hybrid", "multiple of quantizer_bits"]),
    "negative speed": ("hybrid: {speed_kmh: [-5, 120]}\n", ["hybrid.speed_kmh", "-5", "negative"]),
    "frame longer than grid": ("hybrid: {csi_rs_symbols: 10, num_tx_symbols: 4}\n",
                               ["hybrid.csi_rs_symbols + hybrid.num_tx_symbols", "ofdm.num_ofdm_symbols (12)"]),
    "two speed sources": ("channel: {model: sparse_multipath_uplink, max_ut_velocity: 3}\n",
                          ["channel.max_ut_velocity", "hybrid.speed_kmh"]),
    "downlink model on the uplink": ("channel: {model: umi}\n",
                                     ["'umi'", "downlink", "sparse_multipath_uplink", "cdl_uplink"]),
    "planar array for the ULA model": ("ue: {num_users: 2, array: {num_rows: 2, num_cols: 4}}\n",
                                       ["ue.array", "ULA"]),
}


@pytest.mark.parametrize("case", list(BAD_HYBRID))
def test_bad_hybrid_config_one_line_exit_2(case, tmp_path, capsys):
    text, needles = BAD_HYBRID[case]
    path = tmp_path / "s.yaml"
    base = {line.split(":")[0]: line for line in PAPER.splitlines()}
    for line in text.splitlines():                     # the bad section replaces the paper's
        base[line.split(":")[0]] = line
    path.write_text("\n".join(base.values()) + "\n")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err and err.startswith(f"error: {path}")
    for needle in needles:
        assert needle in err, (needle, err)


def test_paper_uplink_validates_and_uplink_model_needs_the_uplink(tmp_path, capsys):
    path = tmp_path / "paper.yaml"
    path.write_text(PAPER)
    assert main(["validate", str(path)]) == 0
    (tmp_path / "down.yaml").write_text("channel: {model: cdl_uplink}\n")
    assert main(["validate", str(tmp_path / "down.yaml")]) == 2
    assert "link is 'mu_mimo_downlink'" in capsys.readouterr().err
