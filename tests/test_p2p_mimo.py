"""Point-to-point MIMO: SVD diagonalisation, power, water-filling, BER vs theory, multi-antenna UE channels."""
from __future__ import annotations

import numpy as np
import pytest
import sionna
import tensorflow as tf
from scipy.stats import norm
from sionna.phy.mapping import QAMSource

from conftest import make_scenario
from linksim.config import MCS
from linksim.phy.channel_apply import ChannelAWGN
from linksim.phy.channels import CHANNELS
from linksim.phy.link import build_link
from linksim.phy.ofdm import resource_grid
from linksim.phy.p2p import (P2PLink, P2PMIMOChannel, SVDPrecoder, svd_transceive,
                             water_filling)

ARRAYS = {2: {"num_rows": 1, "num_cols": 2}, 4: {"num_rows": 2, "num_cols": 2},
          8: {"num_rows": 2, "num_cols": 4}, 16: {"num_rows": 4, "num_cols": 4}}


def _p2p(n_t=4, n_r=4, model="rayleigh", power="per_antenna", **p2p):
    omni = {"polarization": "single", "polarization_type": "V", "pattern": "omni"}
    return make_scenario(link="p2p_mimo", channel={"model": model}, ofdm={"fft_size": 8, "cyclic_prefix_length": 4},
                         bs={"array": {**ARRAYS[n_t], **omni}},
                         ue={"num_users": 1, "array": {**ARRAYS[n_r], **omni}},
                         precoder={"power": power}, p2p=p2p)


@pytest.mark.parametrize("n", [2, 4, 8, 16])
def test_svd_precoding_diagonalises_h(n):
    """U_s^H H V_s diag(sqrt p) = diag(g): off-diagonal energy ~1e-12 of the diagonal's (float32)."""
    sc = _p2p(n, n)
    h = P2PMIMOChannel(sc)(2)
    assert h.shape == (2, 12 * 8, n, n)
    pre = SVDPrecoder(n, total_power=n)
    # send the unit streams e_j (one per batch entry of a leading axis), noiseless
    eff = []
    for j in range(n):
        s = tf.one_hot(tf.fill([2, 96], j), n, dtype=tf.complex64)
        x_hat, _, _ = svd_transceive(s, h, tf.constant(0.0), pre)      # U_s^H y / g
        eff.append(x_hat)
    x_hat = tf.stack(eff, axis=-1).numpy()           # [B, U, i, j] detected stream i from e_j
    off = np.abs(x_hat - x_hat * np.eye(n)) ** 2
    assert off.sum() / (np.abs(np.diagonal(x_hat, axis1=-2, axis2=-1)) ** 2).sum() < 1e-6
    np.testing.assert_allclose(np.diagonal(x_hat, axis1=-2, axis2=-1), 1.0, atol=2e-3)
    _, _, g = pre(s, h, 0.1)
    sigma = np.linalg.svd(h.numpy(), compute_uv=False)
    np.testing.assert_allclose(g.numpy(), np.sqrt(n / n) * sigma, rtol=1e-4)   # p = P/N_s = 1


@pytest.mark.parametrize("allocation", ["equal", "waterfilling"])
@pytest.mark.parametrize("power,total", [("per_antenna", 4.0), ("total", 1.0)])
def test_power_constraint_per_channel_use(allocation, power, total):
    sc = _p2p(4, 4, power=power, power_allocation=allocation, num_streams=3)
    link = P2PLink(sc, MCS(qam=16, rate=0.5))
    h = link.channel(8)
    s = QAMSource(4)([8, link.num_uses, 3])
    x_tx, _, _ = link.precoder(s, h, tf.constant(0.5))
    per_use = tf.reduce_sum(tf.abs(x_tx) ** 2, axis=-1)
    assert float(tf.reduce_mean(per_use)) == pytest.approx(total, rel=0.03)


def test_water_filling_levels():
    gain = tf.constant([[4.0, 1.0]])
    np.testing.assert_allclose(water_filling(gain, 1.0, 1.0).numpy(), [[0.875, 0.125]], rtol=1e-6)
    np.testing.assert_allclose(water_filling(gain, 1.0, 0.5).numpy(), [[0.5, 0.0]], atol=1e-7)
    p = water_filling(tf.constant([[9.0, 3.0, 1.0, 0.0]]), tf.constant([[0.1]]), 2.0).numpy()
    assert p.sum() == pytest.approx(2.0, rel=1e-6) and p[0, -1] == 0.0
    active = p[0, :3]          # equal water level over the active streams
    np.testing.assert_allclose(active + 0.1 / np.array([9.0, 3.0, 1.0]), active[0] + 0.1 / 9, rtol=1e-6)


@pytest.mark.parametrize("ebno_db", [0.0, 4.0])
def test_uncoded_qpsk_over_identity_svd_link_matches_q_function(ebno_db):
    """H = I (2x2), equal power: each stream is an AWGN channel, BER = Q(sqrt(2 Eb/N0))."""
    sc = _p2p(2, 2, model="awgn")
    link = P2PLink(sc, MCS(qam=4, rate=0.5), coded=False)
    no = link.noise_variance(ebno_db)
    assert float(no) == pytest.approx(1.0 / (2 * 10 ** (ebno_db / 10)), rel=1e-5)  # Es = P/N_s = 1
    bits, bits_hat = link(64, no)
    assert bits.shape == (64, 1, 2, 96 * 2)
    ber = float(tf.reduce_mean(tf.cast(bits != bits_hat, tf.float64)))
    theory = norm.sf(np.sqrt(2 * 10 ** (ebno_db / 10)))
    sigma = np.sqrt(theory * (1 - theory) / bits.shape.num_elements())
    assert abs(ber - theory) < 5 * sigma + 0.02 * theory, (ber, theory)


def test_svd_link_at_high_snr_is_error_free_on_rayleigh():
    sc = _p2p(4, 4, num_streams=2)
    uncoded = P2PLink(sc, MCS(qam=4, rate=0.5), coded=False)
    bits, bits_hat = uncoded(16, tf.constant(1e-3))       # 30 dB
    assert float(tf.reduce_mean(tf.cast(bits != bits_hat, tf.float32))) < 1e-4
    low = uncoded(16, tf.constant(1.0))
    assert float(tf.reduce_mean(tf.cast(low[0] != low[1], tf.float32))) > 1e-3
    coded = build_link(sc, MCS(qam=16, rate=0.5))
    assert isinstance(coded, P2PLink) and coded.codewords_per_slot == 2
    bits, bits_hat = coded(4, tf.constant(1e-3))
    np.testing.assert_array_equal(bits.numpy(), bits_hat.numpy())


def test_water_filling_beats_equal_power_at_low_snr():
    """At low SNR water-filling drops the weak streams' power: higher mean log2(1 + g²/N0) sum."""
    sc = _p2p(4, 4)
    h = P2PMIMOChannel(sc)(8)
    no = tf.constant(10.0)                                  # -10 dB
    rates = {}
    for alloc in ("equal", "waterfilling"):
        _, _, g = SVDPrecoder(4, 4.0, alloc)(tf.zeros([8, 96, 4], tf.complex64), h, no)
        rates[alloc] = float(tf.reduce_mean(tf.reduce_sum(tf.math.log(1 + g ** 2 / no), -1)))
    assert rates["waterfilling"] > rates["equal"] * 1.02, rates


@pytest.mark.parametrize("model", ["umi", "cdl", "tdl", "rayleigh", "awgn"])
def test_multi_antenna_ue_channel_shapes(model):
    sc = make_scenario(link="p2p_mimo", channel={"model": model}, ofdm={"fft_size": 8, "cyclic_prefix_length": 4},
                       ue={"num_users": 1, "array": {"num_rows": 1, "num_cols": 1,
                                                      "polarization": "dual",
                                                      "polarization_type": "cross"}})
    sionna.phy.config.seed = 21
    h = CHANNELS[model](sc, resource_grid(sc))(2)
    assert h.shape == (2, 1, 2, 1, 4, 14, 8)
    if model != "awgn":  # normalised: unit mean energy per entry
        assert float(tf.reduce_mean(tf.abs(h) ** 2)) == pytest.approx(1.0, rel=0.02)
    sionna.phy.config.seed = 21
    hp = P2PMIMOChannel(sc)(2)
    assert hp.shape == (2, 96, 2, 4)
    if model != "rayleigh":  # the narrowband samples are the responses of the data REs
        data = np.delete(h.numpy()[:, 0, :, 0], [2, 11], axis=3)            # [B, N_R, N_T, 12, F]
        np.testing.assert_allclose(hp.numpy(), np.transpose(data, [0, 3, 4, 1, 2]).reshape(
            2, 96, 2, 4), atol=1e-6)


def test_channel_block_is_y_equals_hx_plus_n_per_use():
    sc = _p2p(2, 4)
    h = P2PMIMOChannel(sc)(3)                                # [3, 96, 4, 2]
    x = QAMSource(2)([3, 96, 2])
    from linksim.phy.p2p import _apply

    y = _apply(ChannelAWGN(), x, h, None)
    np.testing.assert_allclose(y.numpy(), np.einsum("burt,but->bur", h.numpy(), x.numpy()),
                               atol=1e-5)


def test_bler_error_counter_runs_the_scenarios_link():
    from linksim.experiments.bler import ErrorCounter

    counter = ErrorCounter(_p2p(4, 2), MCS(qam=4, rate=0.5), batch_size=2)
    assert isinstance(counter.link, P2PLink)
    bit_err, block_err = counter.step(counter.link.noise_variance(-5.0))
    assert 0 < int(block_err) <= 2 * 2 and int(bit_err) > 0
    assert int(counter.step(tf.constant(1e-4))[1]) == 0
